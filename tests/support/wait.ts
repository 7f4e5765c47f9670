/**
 * The one poll-until helper of the tests (issue 11.5: there were four copies). Use it for
 * conditions that have no event to await: state of another process, a counter read over
 * HTTP. When the thing you wait for has an event (`fake.onSent`, `client.onStateChange`, a
 * promise), await the event instead. Never sleep a fixed time to let something happen.
 *
 * @module
 */

/**
 * Resolves once `pred()` holds (it may be async), checking it now and then every 10 ms; rejects after
 * `timeoutMs` with "timed out waiting for <what>".
 *
 * @example
 * ```ts
 * let n = 0;
 * const timer = setInterval(() => n++, 1);
 * await waitUntil(() => n >= 3, 1_000, "three ticks");
 * clearInterval(timer);
 * ```
 */
export async function waitUntil(
  pred: () => boolean | Promise<boolean>,
  timeoutMs = 5_000,
  what = "condition",
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what} (${timeoutMs} ms)`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
