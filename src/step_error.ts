/**
 * Work of several steps against the store (a poll of the hook change feed, a look at the
 * operator's queue commands) whose failure names the step that failed. Such work reads and
 * also writes, so one sentence for all of it ("could not read …") sent an operator with a full
 * disk looking for the wrong failure. {@link step} wraps each step; {@link warnRetrying} is
 * the one warning a failure gives, with the store's own error beside it.
 *
 * @module
 */
import type { Logger } from "./log.ts";

/** A step that failed: the message names it, `cause` is the error it failed with. */
export class StepError extends Error {
  override name = "StepError";
}

/**
 * Runs one step; its failure becomes a {@link StepError} saying `failed`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const e = await step("could not read the feed", () => Promise.reject(new Error("busy")))
 *   .catch((e) => e);
 * assert.ok(e instanceof StepError);
 * assert.equal(e.message, "could not read the feed");
 * assert.equal((e.cause as Error).message, "busy");
 * ```
 */
export async function step<T>(failed: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (cause) {
    throw new StepError(failed, { cause });
  }
}

/**
 * Warns of a failed run as `<the step that failed>; retrying` (the next run is the retry),
 * with the store's own error; an error not from a {@link step} says `otherwise` instead.
 */
export function warnRetrying(log: Logger, e: unknown, otherwise: string): void {
  const named = e instanceof StepError;
  log.warn(`${named ? e.message : otherwise}; retrying`, { error: named ? e.cause : e });
}
