/**
 * Work of several steps against the store (a poll of the hook change feed, a look at the
 * operator's queue commands) whose failure names the step that failed. Such work reads and
 * also writes, so one sentence for all of it ("could not read …") sent an operator with a full
 * disk looking for the wrong failure. {@link step} wraps each step; {@link RetryWarnings} says
 * what a failure gives (the store's own error beside it) without a line per retry.
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

/** Options of {@link RetryWarnings}. */
export interface RetryWarningsOptions {
  /** What a failure not from a {@link step} says (`could not follow the hook change feed`). */
  otherwise: string;
  /** The info line of a success after failures, followed by ` after <how long>`. */
  recovered: string;
  /** The clock (ms). Default `Date.now`. */
  now?: (() => number) | undefined;
  /** The first repeat of a lasting failure, after its start. Default one minute. */
  firstRepeatMs?: number | undefined;
  /** Repeats come twice as far apart each time, up to this. Default one hour. */
  maxRepeatMs?: number | undefined;
}

/**
 * The warnings of work retried until it succeeds (the bot's poll of the hook change feed, its
 * look at the operator's queue commands, each run every 5 s by the doorbell's safety poll).
 * Each failed run warned as `<step>; retrying`, so a store unreadable for an hour wrote 720 of
 * the same line. Now a spell of failures is warned of when it starts, then again after one
 * minute, three, seven … (the gaps doubling, at most an hour) saying how long and how many
 * tries, and its end is one info line saying how long it lasted. A step that had not failed yet
 * in the spell (a write after a read that recovered) is news and is warned of at once.
 */
export class RetryWarnings {
  readonly #log: Logger;
  readonly #o: RetryWarningsOptions;
  readonly #now: () => number;
  /** The spell of failures under way, or null. */
  #spell:
    | { since: number; tries: number; nextAt: number; gapMs: number; told: Set<string> }
    | null = null;

  constructor(log: Logger, options: RetryWarningsOptions) {
    this.#log = log;
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Warns of a failed run as `<the step that failed>; retrying` (the next run is the retry),
   * with the store's own error, when the spell starts or the step is new in it; later, as the
   * repeats come due, with `still failing after <how long> (<n> tries)`.
   */
  failed(e: unknown): void {
    const named = e instanceof StepError;
    const what = named ? e.message : this.#o.otherwise;
    const error = named ? e.cause : e;
    const now = this.#now();
    const first = this.#o.firstRepeatMs ?? 60_000;
    const s = this.#spell ??= {
      since: now,
      tries: 0,
      nextAt: now + first,
      gapMs: first,
      told: new Set(),
    };
    s.tries++;
    if (!s.told.has(what)) {
      s.told.add(what);
      this.#log.warn(`${what}; retrying`, { error });
      return;
    }
    if (now < s.nextAt) return;
    s.gapMs = Math.min(s.gapMs * 2, this.#o.maxRepeatMs ?? 3_600_000);
    s.nextAt += s.gapMs;
    if (s.nextAt <= now) s.nextAt = now + s.gapMs; // past due by more than a gap (a process asleep)
    const failingForMs = now - s.since;
    this.#log.warn(
      `${what}; still failing after ${spellLength(failingForMs)} (${s.tries} tries); retrying`,
      { error, failingForMs, tries: s.tries },
    );
  }

  /** A run succeeded: after failures, one info line saying how long they lasted. */
  succeeded(): void {
    const s = this.#spell;
    if (s === null) return;
    this.#spell = null;
    const failedForMs = this.#now() - s.since;
    this.#log.info(`${this.#o.recovered} after ${spellLength(failedForMs)}`, {
      failedForMs,
      failedTries: s.tries,
    });
  }
}

/** `45s`, `3m 12s`, `2h 5m`: how long a spell lasted, for an operator reading the log. */
function spellLength(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}
