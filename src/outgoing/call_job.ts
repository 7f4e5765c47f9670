/**
 * The `call` job type's name and limits, apart from the service that runs its jobs: the bot
 * registers the type on the job engine at start (queued calls must find it), while the
 * outgoing machinery itself loads with the first chat event or queued call (src/chat_side.ts).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CALL, callJobLimits } from "./call_job.ts";
 *
 * const limits = callJobLimits({ maxAgeMs: 60_000 });
 * assert.equal(limits.name, CALL);
 * assert.deepEqual(limits.backoff, { baseMs: 1_000, capMs: 300_000 });
 * ```
 *
 * @module
 */
import type { BackoffOptions } from "../delivery/queue/mod.ts";

/** The job type's name on the engine. */
export const CALL = "call";

/** Give up a call this long after its event, unless configured (1 h). */
export const DEFAULT_CALL_MAX_AGE_MS = 3_600_000;

/** The name, maximum age and backoff of the `call` job type. */
export function callJobLimits(
  options: { maxAgeMs?: number | undefined; backoff?: BackoffOptions | undefined } = {},
): { name: string; maxAgeMs: number; backoff: BackoffOptions } {
  return {
    name: CALL,
    maxAgeMs: options.maxAgeMs ?? DEFAULT_CALL_MAX_AGE_MS,
    backoff: { baseMs: 1_000, capMs: 5 * 60_000, ...options.backoff },
  };
}
