/**
 * Prometheus Alertmanager `webhook_config` (payload version 4): one readable Markdown message
 * per notification, firing alerts first, resolved ones clearly marked, with source, runbook
 * and silence links.
 *
 * @module
 */
import type { FormatAdapter, ParsedPayload, PayloadInput } from "./types.ts";
import { PayloadError } from "./types.ts";
import {
  alertGroupOf,
  alertsOf,
  firstAlert,
  groupButtons,
  renderAlertGroup,
} from "./_alert_group.ts";
import { optLink } from "./_markup.ts";
import {
  asNumber,
  asObject,
  asString,
  encodeComponent,
  type JsonObject,
  textEntries,
} from "./_read.ts";

/** True for an Alertmanager v4 body: `version` "4", a `groupKey` and an `alerts` array. */
function isAlertmanagerBody(v: unknown): v is JsonObject {
  const o = asObject(v);
  return o !== undefined && o["version"] === "4" && typeof o["groupKey"] === "string" &&
    Array.isArray(o["alerts"]);
}

/**
 * Alertmanager UI link that pre-fills a silence matching every label of the alert.
 * `externalURL` is the Alertmanager's own URL from the payload.
 */
export function silenceUrl(externalURL: string | undefined, labels: unknown): string | undefined {
  if (externalURL === undefined) return undefined;
  const matchers = textEntries(labels, 30).map(([k, v]) =>
    `${k}="${v.replace(/[\\"]/g, (c) => "\\" + c).replace(/\n/g, "\\n")}"`
  );
  if (matchers.length === 0) return undefined;
  const base = externalURL.replace(/\/+$/, "");
  return `${base}/#/silences/new?filter=${encodeComponent(`{${matchers.join(",")}}`)}`;
}

/** The Alertmanager `webhook_config` adapter. */
export const alertmanagerFormat: FormatAdapter = {
  name: "alertmanager",
  detect(input: PayloadInput): boolean {
    return input.body.kind === "json" && isAlertmanagerBody(input.body.value);
  },
  parse(input: PayloadInput): ParsedPayload {
    const value = input.body.kind === "json" ? input.body.value : undefined;
    if (!isAlertmanagerBody(value)) {
      throw new PayloadError(
        "invalid_payload",
        'This is not an Alertmanager webhook body: expected JSON with version "4", groupKey and alerts.',
      );
    }
    const externalURL = asString(value["externalURL"]);
    const text = renderAlertGroup({
      status: asString(value["status"]),
      groupLabels: value["groupLabels"],
      receiver: asString(value["receiver"]),
      alerts: alertsOf(value),
      truncated: Math.max(0, Math.floor(asNumber(value["truncatedAlerts"]) ?? 0)),
      sourceName: "Alertmanager",
      externalURL,
      alertExtras(alert, status) {
        const links = [
          optLink("Source", alert["generatorURL"]),
          // Silencing a resolved alert is pointless; offer it only while it fires.
          status === "firing"
            ? optLink("Silence", silenceUrl(externalURL, alert["labels"]))
            : undefined,
        ].filter((l): l is string => l !== undefined);
        return { lines: [], links };
      },
    });
    const group = alertGroupOf(value, "am");
    const firing = asString(value["status"]) === "firing";
    const first = firstAlert(value, "firing");
    const buttons = groupButtons([
      [
        "Silence",
        firing ? silenceUrl(externalURL, value["commonLabels"] ?? value["groupLabels"]) : undefined,
      ],
      ["Runbook", asObject(first?.["annotations"])?.["runbook_url"]],
      ["Source", first?.["generatorURL"]],
      ["Alertmanager", externalURL],
    ]);
    return {
      format: "alertmanager",
      message: {
        text,
        parseMode: "markdown",
        attachments: [],
        ...(group ? { thread: { group } } : {}),
        ...(buttons.length ? { buttons, buttonFallback: "none" as const } : {}),
      },
      reply: "json",
    };
  },
};
