/**
 * A length of time as people write it in a chat line: `3d 4h`, `2h 5m`, `12m 5s`, `42s`. One
 * owner for every "lasted …", "after …" and "fired for …" the bot writes (alert groups, CI
 * runs, Jenkins builds).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(spanText(90_000), "1m 30s");
 * assert.equal(spanText(26 * 3_600_000), "1d 2h");
 * ```
 *
 * @module
 */

/** `ms` rounded to seconds, in its two largest units (negative counts as 0). */
export function spanText(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return h > 0 ? `${d}d ${h}h` : `${d}d`;
  if (h > 0) return m > 0 ? `${h}h ${m}m` : `${h}h`;
  if (m > 0) return s % 60 > 0 ? `${m}m ${s % 60}s` : `${m}m`;
  return `${s % 60}s`;
}
