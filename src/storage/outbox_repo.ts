/**
 * The durable delivery queue's KV records: outbox entries (one per accepted delivery, by
 * hook and sequence number), spooled blobs (uploaded bytes and oversized part lists, in
 * ≤ 60 KiB chunks because a KV value holds at most 64 KiB), final statuses of finished
 * deliveries, and `Idempotency-Key` records. Knows key layouts and KV limits, nothing about
 * TrueConf or retry policy (that is `src/delivery/queue/`).
 *
 * Small writes go through a {@link CommitBatcher}, so concurrent requests and workers
 * share atomic commits. Expiry: `expireIn` is lazy in Deno KV (keys linger ~1 min past it),
 * so every record that expires also carries its own `expiresAt`, checked on read.
 *
 * @module
 */

import * as keys from "./keys.ts";
import { type BatchWrite, CommitBatcher } from "./_commit_batcher.ts";
import { commitWhenFree } from "./store_busy.ts";
import { concatBytes } from "../bytes.ts";

/** The hook a job belongs to, as it was when the job was accepted. */
export interface OutboxHook {
  /** The hook's id. */
  readonly id: string;
  /** The chat it posts into. */
  readonly chatId: string;
  /** Its name then. */
  readonly name: string;
  /** Its creator, told about failures. */
  readonly createdBy: string;
}

/**
 * One queued job as stored. `payload` (what to do, written once) and `state` (progress,
 * rewritten after each step) are opaque JSON owned by the job type named in `type`.
 */
export interface OutboxEntry<P = unknown, S = unknown> {
  /** The id callers see (`<seq base36>-<random>`). */
  readonly id: string;
  /** The job type (`post`, `call`, …) that runs this entry. */
  readonly type: string;
  /** The hook: entries of one hook run in `seq` order. */
  readonly hookId: string;
  /** Position in the hook's line (monotonic). */
  readonly seq: number;
  /** The hook as it was when the job was accepted. */
  readonly hook: OutboxHook;
  /** The payload, or null when it is spooled in slot -1 (too big for this value). */
  readonly payload: P | null;
  /** Progress, owned by the job type. */
  readonly state: S;
  /** Attempts that ended in a retryable failure. */
  readonly attempts: number;
  /** When it was accepted (ms since the epoch). */
  readonly createdAt: number;
  /** When it last changed (ms since the epoch). */
  readonly updatedAt: number;
  /** Not before this time (ms): the backoff after a failed attempt. */
  readonly notBefore: number;
  /** Given up at this time (ms). */
  readonly deadline: number;
  /** Set aside: failing for its own reason, it no longer holds up later jobs of its hook. */
  readonly aside: boolean;
  /** Why the last attempt failed, if it did. */
  readonly lastError: { code: string; message: string } | null;
  /** Spool slots written for this entry (-1 for the payload). */
  readonly spooled: readonly number[];
  /** The hook's creator was told that this entry has been waiting long. */
  readonly waitNoticeSent: boolean;
  /**
   * A process that died may have carried out this job's next step after this time (ms) without
   * recording it: set for the request of an `Idempotency-Key` a dead process had claimed, when
   * it is queued; its next attempt checks first (src/delivery/reconcile.ts). Absent otherwise.
   */
  readonly unrecordedSince?: number | undefined;
}

/** Final record of a finished job. */
export interface DoneRecord {
  /** The job id. */
  readonly id: string;
  /** Its job type. */
  readonly type: string;
  /** How it ended. */
  readonly state: "done" | "failed";
  /** Attempts that failed and were retried. */
  readonly attempts: number;
  /** When it was accepted (ms since the epoch). */
  readonly createdAt: number;
  /** When it ended (ms since the epoch). */
  readonly updatedAt: number;
  /** Why it failed, for a failed job. */
  readonly error: { code: string; message: string } | null;
  /** The job type's summary (for a post: message ids and failed parts). */
  readonly result: unknown;
  /** When this record is dropped (ms since the epoch). */
  readonly expiresAt: number;
}

/** Entries written before the job engine (one fixed shape, posts only) read as `post` jobs. */
function normalizeEntry(raw: Record<string, unknown>): OutboxEntry {
  if (typeof raw.type === "string") return raw as unknown as OutboxEntry;
  const createdAt = raw.createdAt as number;
  return {
    id: raw.id as string,
    type: "post",
    hookId: raw.hookId as string,
    seq: raw.seq as number,
    hook: raw.hook as OutboxHook,
    payload: (raw.parts ?? null) as unknown,
    state: { next: raw.next, messageIds: raw.messageIds, failures: raw.failures },
    attempts: raw.attempts as number,
    createdAt,
    updatedAt: raw.updatedAt as number,
    notBefore: raw.notBefore as number,
    deadline: createdAt + 24 * 3600_000,
    aside: false,
    lastError: (raw.lastError ?? null) as OutboxEntry["lastError"],
    spooled: (raw.spooled ?? []) as number[],
    waitNoticeSent: false,
  };
}

function normalizeDone(raw: Record<string, unknown>): DoneRecord {
  if (typeof raw.type === "string") return raw as unknown as DoneRecord;
  return {
    id: raw.id as string,
    type: "post",
    state: raw.state === "delivered" ? "done" : "failed",
    attempts: raw.attempts as number,
    createdAt: raw.createdAt as number,
    updatedAt: raw.updatedAt as number,
    error: (raw.error ?? null) as DoneRecord["error"],
    result: { messageIds: raw.messageIds, failures: raw.failures },
    expiresAt: raw.expiresAt as number,
  };
}

/**
 * An `Idempotency-Key` record: a claim while the first request runs, then its outcome. Both
 * carry the first request's payload `digest` (records stored before it existed have none).
 */
export type IdempotencyRecord<O = unknown> =
  | {
    readonly state: "pending";
    readonly owner: string;
    readonly at: number;
    readonly expiresAt: number;
    readonly digest?: string | undefined;
  }
  | {
    readonly state: "done";
    readonly outcome: O;
    readonly expiresAt: number;
    readonly digest?: string | undefined;
  };

/** Outcome of {@link OutboxRepo.claimIdempotency}. */
export type ClaimResult<O> =
  /**
   * `takenOver`: the claim replaced one a process that died left pending (`at`: when that one
   * claimed the key; it may have carried the request out since).
   */
  | {
    readonly claimed: true;
    readonly takenOver?: { readonly at: number };
    /** The claim's versionstamp, to take it back ({@link OutboxRepo.dropClaim}). */
    readonly versionstamp?: string;
  }
  | { readonly claimed: false; readonly record: IdempotencyRecord<O> };

/** An operator's command for the running bot's queue (`hooks queue retry|drop`). */
export type QueueCommand =
  | { readonly op: "retry"; readonly id: string }
  | { readonly op: "drop"; readonly id: string }
  /** `hookName`: how the operator named it, for the answer (commands of older CLIs lack it). */
  | { readonly op: "drop_hook"; readonly hookId: string; readonly hookName?: string };

/** The bot's answer to a {@link QueueCommand}. */
export interface QueueCommandResult {
  /** Whether the command did something. */
  readonly ok: boolean;
  /** What happened, in one sentence for the CLI. */
  readonly message: string;
  /**
   * `not_carried_out`: the bot tried the command a few times and could not (a store error,
   * named in `message`); absent on answers the command itself gave.
   */
  readonly code?: "not_carried_out" | undefined;
}

/** Largest spool chunk; a KV value holds at most 65 536 bytes. */
export const SPOOL_CHUNK = 60 * 1024;
/** Chunks per atomic: KV allows 819 200 bytes of mutations per atomic. */
const CHUNKS_PER_ATOMIC = 12;

const enc = new TextEncoder();

/** Rough size of a JSON-able value once stored, for batch sizing. */
function sizeOf(value: unknown): number {
  return enc.encode(JSON.stringify(value)).length + 64;
}

/**
 * Outbox persistence over one KV handle.
 *
 * @example
 * ```ts
 * async function dump(kv: Deno.Kv): Promise<void> {
 *   const repo = new OutboxRepo(kv);
 *   for await (const e of repo.listAll()) console.log(e.hookId, e.seq);
 * }
 * ```
 */
export class OutboxRepo {
  readonly #kv: Deno.Kv;
  readonly #batcher: CommitBatcher;

  /** A repository over `kv`; small writes share commits. */
  constructor(kv: Deno.Kv) {
    this.#kv = kv;
    this.#batcher = new CommitBatcher(kv);
  }

  /** Atomic commits made through the batcher (measurements). */
  get commits(): number {
    return this.#batcher.commits;
  }

  /** Every queued entry (of one hook when given), hook by hook, each in sequence order. */
  async *listAll(hookId?: string): AsyncIterable<OutboxEntry> {
    const prefix = keys.outboxPrefix(hookId);
    for await (const e of this.#kv.list<Record<string, unknown>>({ prefix })) {
      yield normalizeEntry(e.value);
    }
  }

  /** One entry, or null when it is gone (finished). */
  async get(hookId: string, seq: number): Promise<OutboxEntry | null> {
    const v = (await this.#kv.get<Record<string, unknown>>(keys.outbox(hookId, seq))).value;
    return v ? normalizeEntry(v) : null;
  }

  /**
   * Stores a new entry; false when an entry with this (hook, seq) exists already. `extra`
   * (the `Idempotency-Key` outcome, see {@link idempotencyMutation}) is written in the same
   * atomic, so a replay can never see the key without the entry or the other way round.
   */
  insert(entry: OutboxEntry, extra?: Deno.KvMutation): Promise<boolean> {
    const key = keys.outbox(entry.hookId, entry.seq);
    const mutations: Deno.KvMutation[] = [{ type: "set", key, value: entry }];
    let bytes = sizeOf(entry);
    if (extra) {
      mutations.push(extra);
      bytes += sizeOf(extra);
    }
    return this.#batcher.submit({ checks: [{ key, versionstamp: null }], mutations, bytes });
  }

  /** Overwrites an entry (progress, retry schedule). */
  async update(entry: OutboxEntry): Promise<void> {
    await this.#batcher.submit({
      checks: [],
      mutations: [{ type: "set", key: keys.outbox(entry.hookId, entry.seq), value: entry }],
      bytes: sizeOf(entry),
    });
  }

  /**
   * Removes a finished entry and stores its final status in one atomic (kept until
   * `done.expiresAt`), then deletes its spooled blobs. A crash between the two leaves
   * orphan chunks, which {@link sweepSpool} removes at the next start.
   */
  async finish(entry: OutboxEntry, done: DoneRecord): Promise<void> {
    const write: BatchWrite = {
      checks: [],
      mutations: [
        { type: "delete", key: keys.outbox(entry.hookId, entry.seq) },
        {
          type: "set",
          key: keys.outboxDone(entry.hookId, entry.id),
          value: done,
          expireIn: Math.max(1, done.expiresAt - Date.now()),
        },
      ],
      bytes: sizeOf(done) + 128,
    };
    await this.#batcher.submit(write);
    if (entry.spooled.length > 0) await this.deleteSpool(entry.hookId, entry.seq);
  }

  /**
   * Stores the final status of a run that was never an entry (a message answered within its
   * request whose parts failed), kept until `done.expiresAt`.
   */
  async recordDone(hookId: string, done: DoneRecord): Promise<void> {
    await this.#batcher.submit({
      checks: [],
      mutations: [{
        type: "set",
        key: keys.outboxDone(hookId, done.id),
        value: done,
        expireIn: Math.max(1, done.expiresAt - Date.now()),
      }],
      bytes: sizeOf(done) + 128,
    });
  }

  /** The final status of a finished delivery, or null (unknown or expired). */
  async getDone(hookId: string, id: string, now = Date.now()): Promise<DoneRecord | null> {
    const v = (await this.#kv.get<Record<string, unknown>>(keys.outboxDone(hookId, id))).value;
    const r = v ? normalizeDone(v) : null;
    return r && r.expiresAt > now ? r : null;
  }

  /**
   * Writes a blob in chunks (several atomics when it is over ~720 KiB). Must complete
   * before the entry that refers to it is inserted.
   */
  async writeBlob(hookId: string, seq: number, slot: number, bytes: Uint8Array): Promise<void> {
    const count = Math.max(1, Math.ceil(bytes.length / SPOOL_CHUNK));
    for (let first = 0; first < count; first += CHUNKS_PER_ATOMIC) {
      const op = this.#kv.atomic();
      for (let c = first; c < Math.min(count, first + CHUNKS_PER_ATOMIC); c++) {
        op.set(
          keys.outboxSpool(hookId, seq, slot, c),
          bytes.subarray(c * SPOOL_CHUNK, (c + 1) * SPOOL_CHUNK),
        );
      }
      const r = await op.commit();
      if (!r.ok) throw new Error("spool write failed");
    }
  }

  /** Reads a blob back; null when its chunks are missing. */
  async readBlob(hookId: string, seq: number, slot: number): Promise<Uint8Array | null> {
    const chunks: Uint8Array[] = [];
    for await (
      const e of this.#kv.list<Uint8Array>({ prefix: keys.outboxSpoolPrefix(hookId, seq, slot) })
    ) {
      chunks.push(e.value);
    }
    if (chunks.length === 0) return null;
    return concatBytes(chunks);
  }

  /** Deletes every spooled blob of one entry. */
  async deleteSpool(hookId: string, seq: number): Promise<void> {
    await this.#deleteKeys(this.#kv.list({ prefix: keys.outboxSpoolPrefix(hookId, seq) }));
  }

  /**
   * Deletes spool chunks whose entry is gone (crash between finish and spool cleanup, or
   * between spooling and inserting). `live(hookId, seq)` says whether an entry exists.
   * Returns the number of chunks deleted.
   */
  async sweepSpool(live: (hookId: string, seq: number) => boolean): Promise<number> {
    const orphans: Deno.KvKey[] = [];
    for await (const e of this.#kv.list({ prefix: keys.outboxSpoolPrefix() })) {
      const [, hookId, seq] = e.key;
      if (typeof hookId !== "string" || typeof seq !== "number" || !live(hookId, seq)) {
        orphans.push(e.key);
      }
    }
    await this.#deleteKeys(orphans);
    return orphans.length;
  }

  /**
   * Claims an `Idempotency-Key` for this process (`owner`), atomically: of two concurrent
   * requests with the same key only one gets `claimed: true`. An expired record, or a
   * pending claim `isStale` says belongs to a dead process, is taken over.
   */
  async claimIdempotency<O>(
    hookId: string,
    key: string,
    claim: { owner: string; at: number; expiresAt: number; digest?: string | undefined },
    isStale: (r: Extract<IdempotencyRecord<O>, { state: "pending" }>) => boolean,
    signal?: AbortSignal,
  ): Promise<ClaimResult<O>> {
    const k = keys.idempotency(hookId, key);
    for (let attempt = 0; attempt < 5; attempt++) {
      const cur = await this.#kv.get<IdempotencyRecord<O>>(k);
      const r = cur.value;
      if (r && r.expiresAt > claim.at && !(r.state === "pending" && isStale(r))) {
        return { claimed: false, record: r };
      }
      // A claim taking over a dead one keeps the earlier time: the request may have been
      // carried out unrecorded since then, also when this claim is itself taken over later
      // (its request answered 503 before it committed, src/delivery/queue/sender_store_wait.ts).
      const taking = r?.state === "pending" ? { at: Math.min(r.at, claim.at) } : {};
      const op = this.#kv.atomic()
        .check({ key: k, versionstamp: cur.versionstamp })
        .set(k, { state: "pending", ...claim, ...taking }, {
          expireIn: claim.expiresAt - claim.at,
        });
      const res = await commitWhenFree(this.#kv, op, signal);
      if (res.ok) {
        const versionstamp = res.versionstamp;
        return r?.state === "pending"
          ? { claimed: true, takenOver: { at: r.at }, versionstamp }
          : { claimed: true, versionstamp };
      }
    }
    const r = (await this.#kv.get<IdempotencyRecord<O>>(k)).value;
    return r ? { claimed: false, record: r } : { claimed: true };
  }

  /** Reads an idempotency record (null when absent or expired). */
  async getIdempotency<O>(
    hookId: string,
    key: string,
    now = Date.now(),
  ): Promise<IdempotencyRecord<O> | null> {
    const r = (await this.#kv.get<IdempotencyRecord<O>>(keys.idempotency(hookId, key))).value;
    return r && r.expiresAt > now ? r : null;
  }

  /** Stores the first outcome for a key. */
  async recordIdempotency(hookId: string, key: string, record: IdempotencyRecord): Promise<void> {
    await this.#batcher.submit({
      checks: [],
      mutations: [this.idempotencyMutation(hookId, key, record)],
      bytes: sizeOf(record),
    });
  }

  /** Drops a claim (the request was refused for a transient reason; a retry may run again). */
  async releaseIdempotency(hookId: string, key: string): Promise<void> {
    await this.#batcher.submit({
      checks: [],
      mutations: [{ type: "delete", key: keys.idempotency(hookId, key) }],
      bytes: 128,
    });
  }

  /**
   * Takes back a claim whose request was answered before the claim committed (503, the store
   * too slow): deleted unless it changed since (`versionstamp`: the claim's), so a retry's own
   * claim or record is never removed. Resolves false when it had changed.
   */
  dropClaim(hookId: string, key: string, versionstamp: string): Promise<boolean> {
    const k = keys.idempotency(hookId, key);
    return this.#batcher.submit({
      checks: [{ key: k, versionstamp }],
      mutations: [{ type: "delete", key: k }],
      bytes: 128,
    });
  }

  /** Leaves a command for the running bot; returns its id (time-ordered). */
  async putCommand(command: QueueCommand, now = Date.now()): Promise<string> {
    const id = `${String(now).padStart(15, "0")}-${crypto.randomUUID().slice(0, 8)}`;
    await this.#kv.set(keys.queueCommand(id), command, { expireIn: 24 * 3600_000 });
    return id;
  }

  /** Commands waiting, oldest first. */
  async listCommands(): Promise<{ id: string; command: QueueCommand }[]> {
    const out: { id: string; command: QueueCommand }[] = [];
    for await (const e of this.#kv.list<QueueCommand>({ prefix: keys.queueCommand() })) {
      out.push({ id: String(e.key[1]), command: e.value });
    }
    return out;
  }

  /** Replaces a command by its answer, in one atomic. */
  async answerCommand(id: string, result: QueueCommandResult): Promise<void> {
    await this.#kv.atomic()
      .delete(keys.queueCommand(id))
      .set(keys.queueCommandDone(id), result, { expireIn: 10 * 60_000 })
      .commit();
  }

  /** The answer to a command, or null while it waits. */
  async commandResult(id: string): Promise<QueueCommandResult | null> {
    return (await this.#kv.get<QueueCommandResult>(keys.queueCommandDone(id))).value;
  }

  /**
   * Leaves the mark of a shutdown that cut a worker's post TrueConf may have carried out
   * without its answer reaching us: the next start treats the stop as unclean.
   */
  async markUncleanStop(at: number): Promise<void> {
    await this.#kv.set(keys.queueUnclean(), { at });
  }

  /** Whether the last shutdown left that mark; the mark is removed. */
  async takeUncleanStop(): Promise<boolean> {
    const e = await this.#kv.get(keys.queueUnclean());
    if (e.versionstamp === null) return false;
    await this.#kv.delete(keys.queueUnclean());
    return true;
  }

  /** Resolves once every batched write has committed (before closing the KV handle). */
  idle(): Promise<void> {
    return this.#batcher.idle();
  }

  /** The write that stores an idempotency record, for {@link insert}'s `extra`. */
  idempotencyMutation(hookId: string, key: string, record: IdempotencyRecord): Deno.KvMutation {
    return {
      type: "set",
      key: keys.idempotency(hookId, key),
      value: record,
      expireIn: Math.max(1, record.expiresAt - Date.now()),
    };
  }

  /**
   * The call job an outgoing hook made for an event, if one was made and its record has not
   * expired (see {@link callEventMutation}).
   */
  async callOfEvent(hookId: string, eventId: string, now = Date.now()): Promise<string | null> {
    const v = (await this.#kv.get<{ job?: unknown; expiresAt?: unknown }>(
      keys.callEvent(hookId, eventId),
    )).value;
    if (!v || typeof v.job !== "string") return null;
    return typeof v.expiresAt === "number" && v.expiresAt <= now ? null : v.job;
  }

  /**
   * The write that records the call job made for an outgoing hook's event, for
   * {@link insert}'s `extra`: the job and the record are stored together, so an event pushed
   * again (its ack lost in a crash) finds its call and makes no second one.
   */
  callEventMutation(
    hookId: string,
    eventId: string,
    job: string,
    expiresAt: number,
    now = Date.now(),
  ): Deno.KvMutation {
    return {
      type: "set",
      key: keys.callEvent(hookId, eventId),
      value: { job, expiresAt },
      expireIn: Math.max(1, expiresAt - now),
    };
  }

  async #deleteKeys(
    source: Iterable<Deno.KvKey> | AsyncIterable<Deno.KvEntry<unknown>>,
  ): Promise<void> {
    let op = this.#kv.atomic();
    let n = 0;
    const flush = async () => {
      if (n > 0) await op.commit();
      op = this.#kv.atomic();
      n = 0;
    };
    for await (const item of source) {
      op.delete(Array.isArray(item) ? item as Deno.KvKey : (item as Deno.KvEntry<unknown>).key);
      if (++n === 500) await flush();
    }
    await flush();
  }
}
