/**
 * Grafana webhook contact point: unified alerting (`version` "1", an Alertmanager-like group
 * with `values`, dashboard/panel/silence links and `imageURL` screenshots) and the legacy
 * pre-unified notifier (`ruleName`, `state`, `evalMatches`, `imageUrl`). Screenshots become
 * photo attachments fetched by URL at delivery time.
 *
 * `title` (the contact point's Title template, e.g. `Alerts firing: 2`) is the heading when
 * present; the computed `[FIRING:n] name` heading is used only without one.
 *
 * About `message`: Grafana fills it from a template. The default template (it starts with
 * `**Firing**` or `**Resolved**`) repeats what the alert list already shows, so it is dropped;
 * a custom message is shown, escaped as plain text, because label values interpolated into it
 * are as untrusted as any other payload value.
 *
 * @module
 */
import type { Attachment } from "../../message.ts";
import type { FormatAdapter, ParsedPayload, PayloadInput } from "./types.ts";
import { PayloadError } from "./types.ts";
import {
  alertGroupOf,
  alertsOf,
  firstAlert,
  groupButtons,
  labelList,
  MAX_ALERT_TEXT,
  renderAlertGroup,
} from "./_alert_group.ts";
import { block, bold, limitText, optLink, plain } from "./_markup.ts";
import {
  asArray,
  asHttpUrl,
  asNumber,
  asObject,
  asString,
  asText,
  type JsonObject,
  textEntries,
} from "./_read.ts";

/** Screenshots attached per notification at most. */
export const MAX_GRAFANA_IMAGES = 10;
const MAX_EVAL_MATCHES = 20;

function isUnified(o: JsonObject): boolean {
  return Array.isArray(o["alerts"]) &&
    (o["orgId"] !== undefined || o["version"] === "1");
}

function isLegacy(o: JsonObject): boolean {
  return typeof o["state"] === "string" &&
    (typeof o["ruleUrl"] === "string" || Array.isArray(o["evalMatches"]) ||
      (o["orgId"] !== undefined && typeof o["ruleName"] === "string"));
}

function grafanaBody(v: unknown): JsonObject | undefined {
  const o = asObject(v);
  return o !== undefined && (isUnified(o) || isLegacy(o)) ? o : undefined;
}

/** Emoji for a legacy `state` or a unified `status`. */
function stateEmoji(state: string | undefined): string {
  switch (state) {
    case "alerting":
    case "firing":
      return "🔥";
    case "ok":
    case "resolved":
      return "✅";
    case "no_data":
      return "❓";
    case "paused":
      return "⏸️";
    case "pending":
      return "⏳";
    default:
      return "❔";
  }
}

/** True when `message` is Grafana's default template, which repeats the alert list. */
function isDefaultMessage(message: string): boolean {
  return /^\s*\*\*(Firing|Resolved)\*\*/.test(message);
}

/** Photo attachments for the screenshot URLs: http(s) only, deduplicated, capped. */
function imageAttachments(urls: readonly unknown[]): Attachment[] {
  const seen = new Set<string>();
  const out: Attachment[] = [];
  for (const u of urls) {
    if (out.length >= MAX_GRAFANA_IMAGES) break;
    const url = asHttpUrl(u);
    if (url === undefined || seen.has(url)) continue;
    seen.add(url);
    out.push({ kind: "photo", source: { type: "url", url } });
  }
  return out;
}

/** `A=93.2, B=1` from a unified alert's `values` map. */
function valuesLine(alert: JsonObject): string | undefined {
  const values = textEntries(alert["values"], 20);
  if (values.length > 0) return `Values: ${labelList(values, 20)}`;
  const valueString = asString(alert["valueString"]);
  return valueString === undefined ? undefined : `Value: ${plain(valueString, 300)}`;
}

function renderUnified(body: JsonObject): { text: string; attachments: Attachment[] } {
  const alerts = alertsOf(body);
  const message = asString(body["message"]);
  const intro = message !== undefined && !isDefaultMessage(message) ? block(message, 1500) : "";
  const text = renderAlertGroup({
    status: asString(body["status"]),
    groupLabels: body["groupLabels"],
    receiver: asString(body["receiver"]),
    alerts,
    truncated: Math.max(0, Math.floor(asNumber(body["truncatedAlerts"]) ?? 0)),
    sourceName: "Grafana",
    externalURL: asString(body["externalURL"]),
    // The contact point's Title template (default `[FIRING:n] …`, or the user's own).
    heading: asText(body["title"]),
    intro,
    alertExtras(alert, status) {
      const values = valuesLine(alert);
      const links = [
        optLink("Source", alert["generatorURL"]),
        optLink("Dashboard", alert["dashboardURL"]),
        optLink("Panel", alert["panelURL"]),
        status === "firing" ? optLink("Silence", alert["silenceURL"]) : undefined,
      ].filter((l): l is string => l !== undefined);
      return { lines: values === undefined ? [] : [values], links };
    },
  });
  // Screenshots of firing alerts first, matching the text's order.
  const firing: unknown[] = [];
  const others: unknown[] = [];
  for (const item of alerts) {
    if (firing.length + others.length >= MAX_GRAFANA_IMAGES * 4) break;
    const alert = asObject(item);
    const url = alert?.["imageURL"];
    if (url === undefined) continue;
    (alert?.["status"] === "resolved" ? others : firing).push(url);
  }
  return { text, attachments: imageAttachments([...firing, ...others]) };
}

function renderLegacy(body: JsonObject): { text: string; attachments: Attachment[] } {
  const state = asString(body["state"]);
  const title = asText(body["title"]) ?? asText(body["ruleName"]) ?? "Grafana alert";
  const out: string[] = [`${stateEmoji(state)} ${bold(title, 300)}`];
  const message = asString(body["message"]);
  if (message !== undefined) out.push(block(message, 1500));

  const matches = asArray(body["evalMatches"]);
  const lines: string[] = [];
  for (const item of matches) {
    if (lines.length >= MAX_EVAL_MATCHES) break;
    const m = asObject(item);
    if (m === undefined) continue;
    const metric = asText(m["metric"]) ?? "value";
    const value = asText(m["value"]) ?? (m["value"] === null ? "null" : "?");
    const tags = textEntries(m["tags"], 10);
    lines.push(
      `• ${plain(metric, 150)}: ${plain(value, 50)}${
        tags.length > 0 ? ` (${labelList(tags, 5)})` : ""
      }`,
    );
  }
  if (lines.length > 0) {
    const more = matches.length - lines.length;
    out.push("", ...lines);
    if (more > 0) out.push(`… and ${more} more`);
  }
  const tags = textEntries(body["tags"], 50);
  if (tags.length > 0) out.push(`Tags: ${labelList(tags)}`);
  const link = optLink("Open in Grafana", body["ruleUrl"]);
  if (link !== undefined) out.push(link);
  return {
    text: limitText(out.join("\n"), MAX_ALERT_TEXT),
    attachments: imageAttachments([body["imageUrl"]]),
  };
}

/** The Grafana webhook contact point adapter (unified and legacy alerting). */
export const grafanaFormat: FormatAdapter = {
  name: "grafana",
  detect(input: PayloadInput): boolean {
    return input.body.kind === "json" && grafanaBody(input.body.value) !== undefined;
  },
  parse(input: PayloadInput): ParsedPayload {
    const body = input.body.kind === "json" ? grafanaBody(input.body.value) : undefined;
    if (body === undefined) {
      throw new PayloadError(
        "invalid_payload",
        'This is not a Grafana webhook body: expected JSON with an alerts array and orgId or version "1", or a legacy alert with state and ruleUrl.',
      );
    }
    const unified = Array.isArray(body["alerts"]);
    const { text, attachments } = unified ? renderUnified(body) : renderLegacy(body);
    const group = unified ? alertGroupOf(body, "grafana") : undefined;
    const firing = asString(body["status"]) === "firing";
    const first = unified ? firstAlert(body, "firing") : undefined;
    const buttons = unified
      ? groupButtons([
        ["Silence", firing ? first?.["silenceURL"] : undefined],
        ["Dashboard", first?.["dashboardURL"]],
        ["Panel", first?.["panelURL"]],
        ["Runbook", asObject(first?.["annotations"])?.["runbook_url"]],
        ["Grafana", body["externalURL"]],
      ])
      : groupButtons([["Open in Grafana", body["ruleUrl"]]]);
    return {
      format: "grafana",
      message: {
        text,
        parseMode: "markdown",
        attachments,
        ...(group ? { thread: { group } } : {}),
        ...(buttons.length ? { buttons, buttonFallback: "none" as const } : {}),
      },
      reply: "json",
    };
  },
};
