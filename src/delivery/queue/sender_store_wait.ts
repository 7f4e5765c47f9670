/**
 * How long a sender waits for the bot's store before a request that must be stored first is
 * refused. A request with an `Idempotency-Key` (its claim) or a message key (its reservation)
 * is posted only after that first write commits. While another process keeps the store's
 * write lock (a backup, `sqlite3` left inside a transaction, a long `import-json`), the
 * commit's own retries wait 5 s (`SERVE_COMMIT_WAIT_MS`, src/storage/store_busy.ts). Their
 * last try can itself wait SQLite's 5 s busy timeout (Deno KV commits the writes queued on its
 * handle in one transaction, and one led by a write without checks waits for the lock; every
 * read on the handle waits behind it). So such a sender was answered
 * `503 storage_unavailable` only after 5 to 10 s (measured 9.05 s and 5.0 s), holding a CI
 * job or an alerting pipeline that long for a refusal.
 *
 * The sender gets its answer after {@link SENDER_STORE_WAIT_MS} instead. An operator's
 * command holds the lock for milliseconds (at most 0.3 s measured), so 2 s still waits that
 * out. The write stops trying; a try already under way may still commit once the lock goes.
 * Nothing is lost by answering first: the caller hears of a write that commits late
 * (`onLate`) and takes it back, so the sender's retry (Retry-After: 5) finds the store as if
 * the first try had never happened.
 *
 * @module
 */
import type { Clock, TimerHandle } from "../clock.ts";
import type { DispatchOutcome } from "../dispatch.ts";

/** The longest a sender's first write may take before the request is refused with 503. */
export const SENDER_STORE_WAIT_MS = 2_000;

/** What {@link withinSenderWait} resolves with when the write did not commit in time. */
export const TOO_SLOW: unique symbol = Symbol("the store did not answer in time");

/**
 * The value of the write `start` begins, or {@link TOO_SLOW} once {@link SENDER_STORE_WAIT_MS}
 * have passed on `clock` without it settling. Then `start`'s signal aborts: the write tries no
 * more (a try under way still ends as SQLite ends it), and one that commits after all is
 * handed to `onLate` (a late rejection wrote nothing and is dropped). A rejection in time
 * rejects.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { systemClock } from "../clock.ts";
 *
 * assert.equal(await withinSenderWait(systemClock, () => Promise.resolve(1), () => {}), 1);
 * ```
 */
export function withinSenderWait<T>(
  clock: Clock,
  start: (signal: AbortSignal) => Promise<T>,
  onLate: (value: T) => void,
): Promise<T | typeof TOO_SLOW> {
  let late = false;
  let timer: TimerHandle | undefined;
  const answered = new AbortController();
  const deadline = new Promise<typeof TOO_SLOW>((resolve) => {
    timer = clock.after(SENDER_STORE_WAIT_MS, () => {
      late = true;
      answered.abort();
      resolve(TOO_SLOW);
    });
  });
  const write = start(answered.signal);
  write.then((value) => {
    timer?.cancel();
    if (late) onLate(value);
  }, () => timer?.cancel());
  return Promise.race([write, deadline]);
}

/**
 * The answer to a request whose first write the store did not take within
 * {@link SENDER_STORE_WAIT_MS}: most likely another process holds its write lock. Nothing was
 * posted, so the sender retries later, as after the queue's own `storage_unavailable`.
 */
export function storeTooSlow(): DispatchOutcome {
  return {
    kind: "refused",
    status: 503,
    code: "storage_unavailable",
    message: `The request could not be recorded: the bot's storage did not answer within ${
      SENDER_STORE_WAIT_MS / 1000
    } s (another process most likely holds its write lock: a backup, a hooks command, sqlite3). Nothing was posted; retry later.`,
    // As the queue's own storage_unavailable (durable_queue.ts RETRY_AFTER_SECONDS).
    retryAfterSeconds: 5,
  };
}
