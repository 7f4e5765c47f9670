/**
 * The queue's sense of time: `now()` and one-shot timers. Production uses
 * {@link systemClock}; tests pass a manual clock and move time on instead of sleeping.
 *
 * @module
 */

/** A cancellable one-shot timer. */
export interface TimerHandle {
  /** Stops the timer; it never fires afterwards. */
  cancel(): void;
}

/** Time as the queue sees it. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `fn` once after `ms` (at least 0). */
  after(ms: number, fn: () => void): TimerHandle;
}

/**
 * The real clock.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const t = systemClock.after(10_000, () => {});
 * t.cancel();
 * assert.ok(systemClock.now() > 0);
 * ```
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  after(ms, fn) {
    const id = setTimeout(fn, Math.max(0, ms));
    return { cancel: () => clearTimeout(id) };
  },
};

/** Resolves after `ms` on `clock`, or at once when `signal` aborts. */
export function delay(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      t.cancel();
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const t = clock.after(ms, done);
    signal?.addEventListener("abort", done, { once: true });
  });
}
