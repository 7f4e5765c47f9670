/**
 * The `Idempotency-Key` wrapper around a dispatch: the first request with a key runs, its
 * outcome is stored (for a queued one in the same atomic as the outbox entry), and every
 * later request with that key gets the same outcome marked `replay: true`, so nothing
 * counts it as a second delivery. A request arriving while the first one still runs waits
 * for it (up to `waitMs`) instead of running again.
 *
 * The first request's payload digest is stored with the key: the key reused with another
 * payload is refused (`422 idempotency_key_reused`, as draft-ietf-httpapi-idempotency-key-header
 * and Stripe answer) instead of being told the first message's outcome — its own message was
 * never posted. Records stored before the digest existed have none, and replay as before.
 *
 * One process per store (the KV lease): a pending claim that is not this process's is one
 * that died with its process, and is taken over.
 *
 * @module
 */
import type { DispatchOutcome } from "../dispatch.ts";
import type { OutboxRepo } from "../../storage/mod.ts";
import { type Clock, delay } from "../clock.ts";
import { storeTooSlow, TOO_SLOW, withinSenderWait } from "./sender_store_wait.ts";

/** Options of {@link Idempotency}. */
export interface IdempotencyOptions {
  repo: OutboxRepo;
  clock: Clock;
  /** How long outcomes are kept. */
  retentionMs: number;
  /** How long a replay waits for a first request still running. */
  waitMs: number;
}

/** Runs dispatches at most once per (hook, key); see the module doc. */
export class Idempotency {
  readonly #o: IdempotencyOptions;
  readonly #owner = crypto.randomUUID();
  /** First requests running in this process (and their payload digests), by hook and key. */
  readonly #running = new Map<
    string,
    { outcome: Promise<DispatchOutcome>; digest: string | undefined }
  >();

  constructor(options: IdempotencyOptions) {
    this.#o = options;
  }

  /**
   * Runs `first` unless this key was seen. `first` gets `alsoWrite`: the mutation that
   * stores a queued outcome with the outbox entry (pass it to the enqueue), and `deadSince`
   * when the key was claimed by a process that died (a SIGKILL while its request ran): the time
   * of that claim, after which the dead process may have posted the message without recording
   * it (the run then looks in the chat first, src/delivery/reconcile.ts). `digest`: the
   * request's payload digest, if it has one.
   */
  async run(
    hookId: string,
    key: string,
    digest: string | undefined,
    first: (
      alsoWrite: (deliveryId: string) => Deno.KvMutation,
      deadSince: number | undefined,
    ) => Promise<DispatchOutcome>,
  ): Promise<DispatchOutcome> {
    const { repo, clock, retentionMs } = this.#o;
    const local = `${hookId}\u0000${key}`;
    // A first request with this key running in this process: wait for it, no KV needed.
    const running = this.#running.get(local);
    if (running) {
      return differs(running.digest, digest)
        ? reused(retentionMs)
        : await this.#waitFor(running.outcome);
    }
    const done = Promise.withResolvers<DispatchOutcome>();
    done.promise.catch(() => {});
    this.#running.set(local, { outcome: done.promise, digest });
    const now = clock.now();
    const withDigest = digest === undefined ? {} : { digest };
    let claim;
    try {
      // A store another process keeps locked: the sender hears so within 2 s, not 5 to 10.
      const claiming = (signal: AbortSignal) =>
        repo.claimIdempotency<DispatchOutcome>(
          hookId,
          key,
          { owner: this.#owner, at: now, expiresAt: now + retentionMs, ...withDigest },
          // Not running here: a claim left by a process that died (one process per store), or
          // one whose request was answered before it committed (below).
          () => true,
          signal,
        );
      const c = await withinSenderWait(clock, claiming, (late) => {
        // Committed after the answer: taken back, so the retry runs as a first request. One
        // that took over a dead process's claim stays: the retry takes it over in turn and
        // looks in the chat first, as that claim's request may have been carried out.
        if (late.claimed && !late.takenOver && late.versionstamp) {
          repo.dropClaim(hookId, key, late.versionstamp).catch(() => {});
        }
      });
      if (c === TOO_SLOW) {
        this.#running.delete(local);
        done.resolve(storeTooSlow());
        return storeTooSlow();
      }
      claim = c;
    } catch {
      // The store refuses writes (a full disk, a deleted file): the same answer the queue
      // gives when it cannot persist, so the sender retries later (issue 18.5).
      this.#running.delete(local);
      done.resolve(storageUnavailable());
      return storageUnavailable();
    }
    if (!claim.claimed) {
      this.#running.delete(local);
      if (differs(claim.record.digest, digest)) {
        done.resolve(reused(retentionMs));
        return reused(retentionMs);
      }
      if (claim.record.state === "done") {
        done.resolve(replay(claim.record.outcome));
        return replay(claim.record.outcome);
      }
      done.resolve(
        conflict("The first request with this Idempotency-Key did not complete. Retry."),
      );
      return conflict("The first request with this Idempotency-Key did not complete. Retry.");
    }
    try {
      const outcome = await first(
        (deliveryId) =>
          repo.idempotencyMutation(hookId, key, {
            state: "done",
            outcome: { kind: "queued", deliveryId },
            expiresAt: now + retentionMs,
            ...withDigest,
          }),
        claim.takenOver?.at,
      );
      if (outcome.kind === "refused" && outcome.status === 503) {
        // Nothing happened: a retry with this key must run again.
        await repo.releaseIdempotency(hookId, key);
      } else if (outcome.kind !== "queued") {
        await repo.recordIdempotency(hookId, key, {
          state: "done",
          outcome,
          expiresAt: now + retentionMs,
          ...withDigest,
        });
      }
      done.resolve(outcome);
      return outcome;
    } catch (e) {
      await repo.releaseIdempotency(hookId, key).catch(() => {});
      done.reject(e);
      throw e;
    } finally {
      this.#running.delete(local);
    }
  }

  async #waitFor(running: Promise<DispatchOutcome>): Promise<DispatchOutcome> {
    const timeout = new AbortController();
    const r = await Promise.race([
      running.then((o) => o, () => null),
      delay(this.#o.clock, this.#o.waitMs, timeout.signal).then(() => "timeout" as const),
    ]);
    timeout.abort();
    if (r === null) {
      return conflict("The first request with this Idempotency-Key did not complete. Retry.");
    }
    if (r !== "timeout") {
      // The first request met a stored record (a replay, or this refusal): the same answer.
      if (r.replay || (r.kind === "refused" && r.code === REUSED)) return r;
      if (r.kind === "refused" && r.status === 503) {
        return conflict("The first request with this Idempotency-Key did not complete. Retry.");
      }
      return replay(r);
    }
    return {
      kind: "refused",
      status: 409,
      code: "idempotency_conflict",
      message: "A request with this Idempotency-Key is still being processed. Retry later.",
      retryAfterSeconds: 1,
    };
  }
}

/** The machine code of a key reused with another payload. */
const REUSED = "idempotency_key_reused";

/** Both digests known and not the same (a record from before digests has none). */
function differs(stored: string | undefined, given: string | undefined): boolean {
  return stored !== undefined && given !== undefined && stored !== given;
}

/** The refusal of a key reused with another payload; `retentionMs`: how long keys are kept. */
function reused(retentionMs: number): DispatchOutcome {
  const hours = Math.round(retentionMs / 3_600_000);
  const within = hours >= 1 ? `${hours} hour${hours === 1 ? "" : "s"}` : "minutes";
  return {
    kind: "refused",
    status: 422,
    code: REUSED,
    message:
      `This Idempotency-Key was already used on this webhook, in the last ${within}, for a different request body: nothing was posted. Use a new Idempotency-Key for a new message; a retry sends the same body with the same key.`,
  };
}

function replay(outcome: DispatchOutcome): DispatchOutcome {
  return { ...outcome, replay: true };
}

/**
 * The answer to a request whose first write to the store failed (a full disk, a deleted
 * file): nothing was done, so the sender retries later. A store another process keeps locked
 * is answered sooner, by {@link storeTooSlow}.
 * Also the living-messages face's, when a keyed post cannot reserve its key.
 */
export function storageUnavailable(): DispatchOutcome {
  return {
    kind: "refused",
    status: 503,
    code: "storage_unavailable",
    message: "The request could not be recorded (the bot's storage refuses writes). Retry later.",
    // As the queue's own storage_unavailable (durable_queue.ts RETRY_AFTER_SECONDS).
    retryAfterSeconds: 5,
  };
}

function conflict(message: string): DispatchOutcome {
  return { kind: "refused", status: 409, code: "idempotency_conflict", message };
}
