/**
 * Retry delays of the durable queue: capped exponential backoff with jitter, so a fleet of
 * hooks that failed together does not retry in lockstep.
 *
 * @module
 */

/** Backoff settings; every field has a default. */
export interface BackoffOptions {
  /** First delay. Default 1 s. */
  baseMs?: number;
  /** Longest delay. Default 5 min. */
  capMs?: number;
}

/**
 * Delay before attempt `attempts + 1`: base·2^(attempts−1), capped, then scaled by a
 * random factor in [0.5, 1).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const first = backoffDelay(1); // 500…1000 ms
 * assert(first >= 500 && first <= 1000);
 * const late = backoffDelay(20); // 150…300 s
 * assert(late >= 150_000 && late <= 300_000);
 * ```
 */
export function backoffDelay(
  attempts: number,
  options: BackoffOptions = {},
  random: () => number = Math.random,
): number {
  const base = options.baseMs ?? 1_000;
  const cap = options.capMs ?? 300_000;
  const raw = Math.min(cap, base * 2 ** Math.max(0, Math.min(30, attempts - 1)));
  return Math.round(raw * (0.5 + random() * 0.5));
}
