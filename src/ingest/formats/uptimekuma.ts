/**
 * Uptime Kuma's generic "Webhook" notification (server/notification-providers/webhook.js):
 * `POST` JSON `{heartbeat, monitor, msg}`, or form-data with that JSON as the field `data`; its
 * test button sends `heartbeat` and `monitor` as null. Without this adapter the body was posted
 * as raw JSON cut at 3000 characters, and `msg`, the one line a reader needs, comes after the
 * long `monitor` object and was cut away.
 *
 * Rendering: `msg` (Uptime Kuma's own sentence, `[name] [🔴 Down] reason`), then the
 * monitor's URL as a link when it has an http(s) one. Answered with the bot's JSON (Uptime
 * Kuma reads only the status).
 *
 * @module
 */
import { block, mdLink } from "./_markup.ts";
import { parseJsonLenient } from "../decode_body.ts";
import { asHttpUrl, asObject, asText, isRecord, type JsonObject } from "./_read.ts";
import { type FormatAdapter, PayloadError, type PayloadInput } from "./types.ts";
import type { MessageGroup } from "../../message.ts";

const KEYS = new Set(["heartbeat", "monitor", "msg"]);

/** The Uptime Kuma adapter. */
export const uptimeKumaFormat: FormatAdapter = {
  name: "uptimekuma",
  detect: (input) => kumaBody(input) !== undefined,
  parse(input) {
    const body = kumaBody(input);
    const msg = asText(body?.["msg"])?.trim();
    if (body === undefined || !msg) {
      throw new PayloadError(
        "empty_payload",
        'An Uptime Kuma webhook body is {"heartbeat", "monitor", "msg"} with a non-empty msg.',
      );
    }
    const url = asHttpUrl(asObject(body["monitor"])?.["url"]);
    const link = url === undefined ? undefined : mdLink(new URL(url).host, url);
    const text = [block(msg, 4000), link].filter((l) => l !== undefined).join("\n");
    const group = monitorGroup(body);
    return {
      format: "uptimekuma",
      message: {
        text,
        parseMode: "markdown",
        attachments: [],
        ...(group !== undefined ? { thread: { group } } : {}),
      },
      reply: "json",
    };
  },
};

/** Uptime Kuma's heartbeat status for a monitor that is up again (`UP` in its `util.ts`). */
const UP = 1;

/**
 * A monitor's outage as a living message (docs/messages.md, "Alerts and CI"): a Down opens one
 * message per monitor, the Up that follows edits it and replies `✅ Up: <name>`. The test
 * button's body names no monitor and stays a plain message.
 */
function monitorGroup(body: JsonObject): MessageGroup | undefined {
  const monitor = asObject(body["monitor"]);
  const heartbeat = asObject(body["heartbeat"]);
  const id = asText(monitor?.["id"]) ?? asText(heartbeat?.["monitorID"]);
  if (monitor === undefined || heartbeat === undefined || id === undefined) return undefined;
  const name = asText(monitor["name"]) ?? `monitor ${id}`;
  const title = name.length > 150 ? `${name.slice(0, 149)}…` : name;
  const up = heartbeat["status"] === UP;
  return {
    id: `kuma:${id}`.slice(0, 900),
    state: up ? "closed" : "open",
    title,
    reply: `✅ Up: ${title}`,
    closedNote: "✅ Up again after {duration}",
  };
}

/** The `{heartbeat, monitor, msg}` object of a JSON or form-data body, if it is one. */
function kumaBody(input: PayloadInput): JsonObject | undefined {
  const { body } = input;
  let value: unknown;
  if (body.kind === "json") value = body.value;
  else if (body.kind === "form" && body.fields.size === 1 && body.fields.has("data")) {
    try {
      value = parseJsonLenient(body.fields.get("data")?.[0] ?? "");
    } catch {
      return undefined;
    }
  }
  if (!isRecord(value) || typeof value.msg !== "string") return undefined;
  if (!("heartbeat" in value) || !("monitor" in value)) return undefined;
  for (const k in value) if (!KEYS.has(k)) return undefined;
  return value;
}
