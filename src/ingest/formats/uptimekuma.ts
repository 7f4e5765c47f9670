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
    return {
      format: "uptimekuma",
      message: { text, parseMode: "markdown", attachments: [] },
      reply: "json",
    };
  },
};

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
