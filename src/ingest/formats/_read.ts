/**
 * Lenient readers for sender payloads. Notification senders (Alertmanager, Grafana, GitHub,
 * GitLab) add, rename and retype fields across versions; a field of an unexpected type is
 * treated as absent so the rest of the notification still reaches the chat, instead of the
 * whole delivery failing a strict schema. Strict checks (zod) are kept for the fields a
 * sender must get right, such as Apprise attachments.
 *
 * @module
 */

/** A JSON object (not an array, not null). */
export type JsonObject = Readonly<Record<string, unknown>>;

/** A plain JSON object (not an array, not null): the one such check of the formats folder. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** The value as a JSON object, or `undefined`. */
export function asObject(v: unknown): JsonObject | undefined {
  return isRecord(v) ? v : undefined;
}

/** The value as an array, or an empty array. */
export function asArray(v: unknown): readonly unknown[] {
  return Array.isArray(v) ? v : [];
}

/** A non-empty string, or `undefined`. */
export function asString(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** A finite number, or `undefined`. */
export function asNumber(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

/** A string, finite number or boolean shown as text (`undefined` for anything else or empty). */
export function asText(v: unknown): string | undefined {
  if (typeof v === "string") return v === "" ? undefined : v;
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : undefined;
  if (typeof v === "boolean") return String(v);
  return undefined;
}

/** Reads `obj.a.b.c` leniently. */
export function path(v: unknown, ...keys: string[]): unknown {
  let cur: unknown = v;
  for (const k of keys) {
    const o = asObject(cur);
    if (o === undefined || !Object.hasOwn(o, k)) return undefined;
    cur = o[k];
  }
  return cur;
}

/** The own scalar entries of an object as `[key, text]` pairs, at most `max` of them. */
export function textEntries(v: unknown, max = Infinity): [string, string][] {
  const o = asObject(v);
  const out: [string, string][] = [];
  if (o === undefined) return out;
  for (const key in o) {
    if (out.length >= max) break;
    if (!Object.hasOwn(o, key)) continue;
    const text = asText(o[key]);
    if (text !== undefined) out.push([key, text]);
  }
  return out;
}

/** The number of own keys of an object (0 for anything else). */
export function keyCount(v: unknown): number {
  const o = asObject(v);
  return o === undefined ? 0 : Object.keys(o).length;
}

/** A header value, or `undefined` when absent or blank. */
export function header(headers: ReadonlyMap<string, string>, name: string): string | undefined {
  const v = headers.get(name)?.trim();
  return v === undefined || v === "" ? undefined : v;
}

/** Longest URL accepted as a link or attachment; longer ones are dropped, never cut. */
export const MAX_URL_LENGTH = 2048;

/** The normalized href of an absolute http(s) URL, or `undefined` (other schemes, junk, too long). */
export function asHttpUrl(v: unknown): string | undefined {
  if (typeof v !== "string" || v.length === 0 || v.length > MAX_URL_LENGTH) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(v.trim());
  } catch {
    return undefined;
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return undefined;
  return parsed.href.length > MAX_URL_LENGTH ? undefined : parsed.href;
}

/**
 * `encodeURIComponent` that never throws: a lone surrogate (valid in a JSON string, invalid
 * in UTF-8) would make it throw URIError, so such values are made well-formed (U+FFFD) first.
 */
export function encodeComponent(s: string): string {
  return encodeURIComponent(s.toWellFormed());
}
