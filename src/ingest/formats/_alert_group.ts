/**
 * Renders an Alertmanager-style alert group (Alertmanager `webhook_config` v4 and Grafana's
 * unified-alerting webhook share the shape) as one readable Markdown message: a header with
 * status and counts, firing alerts before resolved ones, a bounded number of alerts, and
 * links. Format-specific details (Grafana values, dashboard links, silence URLs) come in
 * through {@link GroupView.alertExtras}.
 *
 * @module
 */
import { block, bold, joinParts, limitText, optLink, plain } from "./_markup.ts";
import type { MessageButton, MessageGroup } from "../../message.ts";
import { buttonUrlProblem } from "../../trueconf/mod.ts";
import { asArray, asObject, asString, asText, type JsonObject, textEntries } from "./_read.ts";
import { spanText } from "../../span_text.ts";

/** At most this many alerts are rendered; the rest are counted. */
export const MAX_ALERTS_SHOWN = 20;
/** Rendered alert messages are capped here (about three TrueConf messages of 4096). */
export const MAX_ALERT_TEXT = 12_000;
const MAX_LABELS_SHOWN = 12;

/** Extra per-alert content a format adds (already-safe Markdown). */
export interface AlertExtras {
  /** Lines after the annotations (e.g. `Values: A=1`). */
  readonly lines: readonly string[];
  /** Links shown on the last line of the alert (e.g. `[Dashboard](…)`). */
  readonly links: readonly string[];
}

/** What {@link renderAlertGroup} needs to know about a group. */
export interface GroupView {
  /** Group status (`firing` / `resolved`); alerts without a status inherit it. */
  readonly status: string | undefined;
  readonly groupLabels: unknown;
  readonly receiver: string | undefined;
  readonly alerts: readonly unknown[];
  /** Alerts the sender left out (`truncatedAlerts`). */
  readonly truncated: number;
  /** Sender name for the footer, e.g. `Alertmanager`. */
  readonly sourceName: string;
  readonly externalURL: string | undefined;
  /**
   * The sender's own title for the group (Grafana's templated `title`), shown as the heading
   * instead of the computed `[FIRING:n] name (labels)`.
   */
  readonly heading?: string | undefined;
  /** Already-safe Markdown shown between the header and the alerts (e.g. a custom message). */
  readonly intro?: string;
  /** Per-alert links and lines specific to the format. */
  alertExtras(alert: JsonObject, status: string): AlertExtras;
}

/** The emoji for an alert or group status. */
export function statusEmoji(status: string | undefined): string {
  switch (status) {
    case "firing":
      return "🔥";
    case "resolved":
      return "✅";
    default:
      return "❔";
  }
}

/**
 * `2024-05-01 10:00:00 UTC` for an RFC 3339 time; `undefined` for Go's zero time (Alertmanager
 * sends `0001-01-01T00:00:00Z` as `endsAt` of firing alerts) or anything unparseable.
 */
export function formatTime(s: string | undefined): string | undefined {
  if (s === undefined || s.length > 64) return undefined;
  const ms = Date.parse(s);
  if (!Number.isFinite(ms)) return undefined;
  const d = new Date(ms);
  if (d.getUTCFullYear() <= 1) return undefined;
  return d.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC").replace(/Z$/, " UTC");
}

/** The alert's status, falling back to the group's. */
function alertStatus(alert: JsonObject, groupStatus: string | undefined): string {
  return asString(alert["status"]) ?? groupStatus ?? "firing";
}

/** `[FIRING:2, RESOLVED:1]` */
function countsLabel(firing: number, resolved: number, other: number): string {
  const parts: string[] = [];
  if (firing > 0) parts.push(`FIRING:${firing}`);
  if (resolved > 0) parts.push(`RESOLVED:${resolved}`);
  if (other > 0) parts.push(`OTHER:${other}`);
  return parts.length === 0 ? "[NO ALERTS]" : `[${parts.join(", ")}]`;
}

/** `k=v, k2=v2` from label pairs, escaped and capped. */
export function labelList(pairs: readonly [string, string][], max = MAX_LABELS_SHOWN): string {
  const shown = pairs.slice(0, max).map(([k, v]) => `${plain(k, 60)}=${plain(v, 100)}`);
  const more = pairs.length - shown.length;
  return shown.join(", ") + (more > 0 ? `, +${more} more` : "");
}

function renderAlert(
  view: GroupView,
  alert: JsonObject,
  status: string,
  groupLabels: Map<string, string>,
): string {
  const labels = textEntries(alert["labels"], 200);
  const labelMap = new Map(labels);
  const annotations = asObject(alert["annotations"]) ?? {};
  const lines: string[] = [];

  const name = labelMap.get("alertname") ?? "(unnamed alert)";
  lines.push(joinParts([
    `${statusEmoji(status)} ${bold(name, 150)}`,
    labelMap.has("severity") ? plain(labelMap.get("severity") ?? "", 40) : undefined,
    labelMap.has("instance") ? plain(labelMap.get("instance") ?? "", 120) : undefined,
  ]));

  const summary = asText(annotations["summary"]);
  if (summary !== undefined) lines.push(`Summary: ${plain(summary, 300)}`);
  const description = asText(annotations["description"]) ?? asText(annotations["message"]);
  if (description !== undefined) lines.push(block(description, 800));

  // `mention` (label or annotation, e.g. "@alice @oncall-bob"): who to notify. Only the
  // @-tokens are kept, unescaped, so the living-messages layer can turn them into mentions.
  const mention = asText(annotations["mention"]) ?? labelMap.get("mention");
  const who = mention?.match(/@[\p{L}\p{N}_.@-]+/gu)?.slice(0, 50) ?? [];
  if (who.length > 0) lines.push(`Notify: ${who.join(" ")}`);

  const rest = labels.filter(([k, v]) =>
    k !== "alertname" && k !== "severity" && k !== "instance" && k !== "mention" &&
    !k.startsWith("__") && groupLabels.get(k) !== v
  );
  if (rest.length > 0) lines.push(`Labels: ${labelList(rest)}`);

  const extras = view.alertExtras(alert, status);
  lines.push(...extras.lines);

  const started = formatTime(asString(alert["startsAt"]));
  const ended = status === "resolved" ? formatTime(asString(alert["endsAt"])) : undefined;
  if (ended !== undefined) {
    const lasted = started !== undefined
      ? ` (lasted ${
        spanText(
          Date.parse(asString(alert["endsAt"]) ?? "") -
            Date.parse(asString(alert["startsAt"]) ?? ""),
        )
      })`
      : "";
    lines.push(`Resolved ${ended}${lasted}`);
  } else if (started !== undefined) {
    lines.push(`Started ${started}`);
  }

  const linkLine = joinParts([...extras.links, optLink("Runbook", annotations["runbook_url"])]);
  if (linkLine !== "") lines.push(linkLine);
  return lines.join("\n");
}

/** The alertname every alert shares, when the group labels do not name one. */
function commonAlertName(alerts: readonly unknown[]): string | undefined {
  let name: string | undefined;
  for (const item of alerts) {
    const alert = asObject(item);
    if (alert === undefined) continue;
    const n = asText(asObject(alert["labels"])?.["alertname"]);
    if (n === undefined || (name !== undefined && n !== name)) return undefined;
    name = n;
  }
  return name;
}

/**
 * `A, B, C and 2 more`: the distinct alertnames of a group that has no group labels to name it
 * (Grafana's documented example groups by nothing), so its resolved reply says what resolved.
 */
function alertNames(alerts: readonly unknown[]): string {
  const names = new Set<string>();
  for (const item of alerts) {
    const n = asText(asObject(asObject(item)?.["labels"])?.["alertname"]);
    if (n !== undefined) names.add(n);
  }
  const list = [...names];
  const shown = list.slice(0, 3).join(", ");
  return list.length > 3 ? `${shown} and ${list.length - 3} more` : shown;
}

/** Renders the whole group; the result is capped at {@link MAX_ALERT_TEXT}. */
export function renderAlertGroup(view: GroupView): string {
  const groupLabels = new Map(textEntries(view.groupLabels, 50));
  let firing = 0;
  let resolved = 0;
  let other = 0;
  const shownFiring: [JsonObject, string][] = [];
  const shownResolved: [JsonObject, string][] = [];
  const shownOther: [JsonObject, string][] = [];
  for (const item of view.alerts) {
    const alert = asObject(item);
    if (alert === undefined) continue;
    const status = alertStatus(alert, view.status);
    if (status === "firing") {
      firing++;
      if (shownFiring.length < MAX_ALERTS_SHOWN) shownFiring.push([alert, status]);
    } else if (status === "resolved") {
      resolved++;
      if (shownResolved.length < MAX_ALERTS_SHOWN) shownResolved.push([alert, status]);
    } else {
      other++;
      if (shownOther.length < MAX_ALERTS_SHOWN) shownOther.push([alert, status]);
    }
  }
  const total = firing + resolved + other;
  const groupStatus = firing > 0
    ? "firing"
    : total > 0 && resolved === total
    ? "resolved"
    : view.status;

  const name = groupLabels.get("alertname") ?? commonAlertName(view.alerts);
  const otherGroupLabels = [...groupLabels].filter(([k]) => k !== "alertname");
  const headline = `${countsLabel(firing, resolved, other)}${
    name !== undefined ? " " + plain(name, 150) : ""
  }`;
  let header = `${statusEmoji(groupStatus)} **${headline}**`;
  if (otherGroupLabels.length > 0) header += ` (${labelList(otherGroupLabels)})`;
  const heading = view.heading?.trim() ?? "";
  if (heading !== "") header = `${statusEmoji(groupStatus)} ${bold(heading, 300)}`;
  const out: string[] = [header];
  if (view.receiver !== undefined) out.push(`Receiver: ${plain(view.receiver, 100)}`);
  if (view.intro !== undefined && view.intro !== "") out.push("", view.intro);

  // Firing first: what needs attention leads. Budget the shown alerts across sections.
  let budget = MAX_ALERTS_SHOWN;
  let shown = 0;
  const sections: [string, [JsonObject, string][], number][] = [
    ["Firing", shownFiring, firing],
    ["Resolved", shownResolved, resolved],
    ["Other", shownOther, other],
  ];
  const nonEmpty = sections.filter(([, , n]) => n > 0).length;
  for (const [title, alerts, count] of sections) {
    if (count === 0 || budget === 0) continue;
    const take = alerts.slice(0, budget);
    budget -= take.length;
    shown += take.length;
    if (nonEmpty > 1) out.push("", `**${title} (${count})**`);
    for (const [alert, status] of take) {
      out.push("", renderAlert(view, alert, status, groupLabels));
    }
  }

  const notes: string[] = [];
  if (total > shown) {
    notes.push(`… and ${total - shown} more alert${total - shown === 1 ? "" : "s"} not shown`);
  }
  if (view.truncated > 0) {
    notes.push(
      `${view.truncated} more alert${view.truncated === 1 ? "" : "s"} left out by ${
        plain(view.sourceName)
      } (max_alerts)`,
    );
  }
  const footer = joinParts([
    notes.length > 0 ? notes.join("; ") : undefined,
    optLink(`Open ${view.sourceName}`, view.externalURL),
  ]);
  if (footer !== "") out.push("", footer);
  return limitText(out.join("\n"), MAX_ALERT_TEXT);
}

/** Reads the alerts array of a group. */
export function alertsOf(body: JsonObject): readonly unknown[] {
  return asArray(body["alerts"]);
}

/**
 * The alert group a notification reports on (living messages, docs/messages.md): one chat
 * message per `groupKey`, edited while it fires; `resolved` closes it with a short reply.
 */
export function alertGroupOf(body: JsonObject, source: "am" | "grafana"): MessageGroup | undefined {
  const key = asString(body["groupKey"]);
  if (key === undefined || key === "") return undefined;
  const groupLabels = new Map(textEntries(body["groupLabels"], 50));
  const name = groupLabels.get("alertname") ?? commonAlertName(alertsOf(body)) ??
    ([...groupLabels].map(([k, v]) => `${k}=${v}`).join(", ") || alertNames(alertsOf(body)) ||
      "alerts");
  const title = name.length > 150 ? `${name.slice(0, 149)}…` : name;
  const open = asString(body["status"]) !== "resolved";
  return {
    id: `${source}:${key.slice(0, 900)}`,
    state: open ? "open" : "closed",
    title,
    reply: `✅ Resolved: ${title}`,
    closedNote: "✅ Resolved, fired for {duration}",
    firedForMs: open ? undefined : firedFor(alertsOf(body)),
    ...(open ? { firing: firingAlerts(alertsOf(body), asString(body["status"])) } : {}),
  };
}

/** Most firing alerts a group carries to the poster (its reply names five, counts the rest). */
const MAX_FIRING_TRACKED = 100;

/**
 * The firing alerts of a notification with their `alertname · instance` labels and an identity
 * (the sender's `fingerprint`, else the label set and start), so the poster can tell which
 * were not in the group's message before.
 */
function firingAlerts(
  alerts: readonly unknown[],
  groupStatus: string | undefined,
): { since: number; label: string; id: string }[] {
  const out: { since: number; label: string; id: string }[] = [];
  for (const item of alerts) {
    const alert = asObject(item);
    if (alert === undefined || alertStatus(alert, groupStatus) !== "firing") continue;
    const since = alertTime(alert["startsAt"]);
    if (since === undefined) continue;
    const labels = asObject(alert["labels"]);
    const label = [asText(labels?.["alertname"]), asText(labels?.["instance"])]
      .filter((p) => p !== undefined).join(" · ") || "alert";
    const fingerprint = asText(alert["fingerprint"]);
    out.push({
      since,
      label: label.length > 120 ? `${label.slice(0, 119)}…` : label,
      // Bounded: the group's record keeps up to MAX_FIRING_TRACKED of these.
      id: (fingerprint ?? `${JSON.stringify(labels ?? {})}@${since}`).slice(0, 200),
    });
    if (out.length === MAX_FIRING_TRACKED) break;
  }
  return out;
}

/** The earliest `startsAt` to the latest `endsAt` of resolved alerts, or undefined. */
function firedFor(alerts: readonly unknown[]): number | undefined {
  let from = Infinity;
  let to = -Infinity;
  for (const a of alerts) {
    const alert = asObject(a);
    if (!alert) continue;
    const starts = alertTime(alert["startsAt"]);
    const ends = alertTime(alert["endsAt"]);
    if (starts === undefined || ends === undefined) return undefined; // an alert without both
    from = Math.min(from, starts);
    to = Math.max(to, ends);
  }
  return Number.isFinite(from) && to >= from ? to - from : undefined;
}

/** An alert time in ms; undefined for none, unparsable or Alertmanager's "0001-01-01" (unset). */
function alertTime(value: unknown): number | undefined {
  const ms = Date.parse(asString(value) ?? "");
  return Number.isFinite(ms) && new Date(ms).getUTCFullYear() > 1 ? ms : undefined;
}

/**
 * URL buttons (TrueConf 5.5.6+) for a group: at most one of each label, in this order, only
 * URLs a button may carry. The text keeps its inline links, so older servers lose nothing.
 */
export function groupButtons(
  candidates: readonly [string, unknown][],
): MessageButton[][] {
  const seen = new Set<string>();
  const row: MessageButton[] = [];
  for (const [text, url] of candidates) {
    if (seen.has(text) || typeof url !== "string" || buttonUrlProblem(url) !== null) continue;
    seen.add(text);
    row.push({ text, url });
  }
  return row.length > 0 ? [row.slice(0, 8)] : [];
}

/** The first alert with `status` (or any, when none has it). */
export function firstAlert(body: JsonObject, status: string): JsonObject | undefined {
  let any: JsonObject | undefined;
  for (const item of alertsOf(body)) {
    const a = asObject(item);
    if (a === undefined) continue;
    any ??= a;
    if (asString(a["status"]) === status) return a;
  }
  return any;
}
