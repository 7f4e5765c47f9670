/**
 * The durable delivery queue: a {@link Dispatcher} that delivers at once when it can and
 * otherwise persists the request in a KV-backed outbox and delivers it later, exactly once
 * as seen in the chat (up to the crash window documented below).
 *
 * - **Sync path.** TrueConf link authorized and no backlog for this hook (an in-memory
 *   lookup): the parts are posted within the request and nothing is written to KV (unless
 *   the sender gave an `Idempotency-Key`). If the run stops on a transient error, the rest
 *   (from the first part not posted, uploads spooled) is persisted before answering 202, so
 *   a partial delivery never re-posts its text.
 * - **Queued path.** Link down or backlog for the hook (per-hook order): persist, answer
 *   202 `{queued:true, delivery}`. The worker delivers each hook's head entry (hooks in
 *   parallel up to `concurrency`, one at a time within a hook), records progress after every
 *   part before the next starts, retries transient failures with capped exponential backoff
 *   and jitter (1 s → 5 min), and gives up after `maxAgeMs` (24 h). Permanent failures
 *   (chat-level 303/304/305, parts failing for good) end the entry at once; the hook's
 *   creator gets a direct message naming the hook and the reason.
 * - **Crash window.** A part posted to the chat but not yet recorded when the process dies
 *   is posted again by the next run: at most one part per hook in flight, between TrueConf's
 *   answer and one KV commit (~1 ms).
 * - **Restart.** Entries live in KV; nothing marks them "delivering" on disk (that state is
 *   in memory), so after a crash they are simply queued. The start-up load rebuilds the
 *   per-hook counts and sweeps spool chunks of entries that no longer exist.
 * - **Limits.** `maxPerHook` and `maxTotal` bound the queue; when full, 503 `queue_full` with
 *   Retry-After. A remainder of a partially posted request is stored even over the limit:
 *   it was accepted, and refusing it would make the sender re-post what already arrived.
 * - **Single process.** Counts and sequence numbers are kept in memory; run one `serve` per
 *   KV file (the CLI commands that share the file do not touch the queue).
 *
 * @module
 */
import type {
  DeliveryStatus,
  Dispatcher,
  DispatchOutcome,
  DispatchRequest,
  HookRef,
  PartFailure,
} from "../dispatch.ts";
import { type Deliverer, type Part, planParts, type RunResult } from "../deliverer.ts";
import { outcomeOf, RETRY_AFTER_SECONDS } from "../sync_dispatcher.ts";
import type { DoneRecord, IdempotencyRecord, OutboxEntry } from "../../storage/mod.ts";
import { OutboxRepo } from "../../storage/mod.ts";
import type { Logger } from "../../log.ts";
import { silentLogger } from "../../log.ts";
import { backoffDelay } from "./_backoff.ts";
import { loadParts, SpoolLostError, type StoredPart, storeParts } from "./_stored_parts.ts";

/** What the queue needs of the TrueConf client. */
export interface QueueClient {
  readonly state: { readonly authorized: boolean };
  createP2PChat(userId: string): Promise<string>;
  sendMessage(chatId: string, text: string, parseMode: "text"): Promise<unknown>;
}

/** Options of {@link DurableQueue}; see `createQueue` in mod.ts. */
export interface DurableQueueOptions {
  kv: Deno.Kv;
  deliverer: Pick<Deliverer, "run">;
  client: QueueClient;
  /** Counts deliveries made by the worker as hook usage (the endpoint counts sync ones). */
  store?: { recordDelivery(hookId: string): void };
  limits: { maxPerHook: number; maxTotal: number };
  logger?: Logger;
  metrics?: { queueDepth: { set(depth: number): void } };
  /** Hooks delivered in parallel by the worker. Default 16. */
  concurrency?: number;
  /** Give up on an entry this long after it was accepted. Default 24 h. */
  maxAgeMs?: number;
  /** Backoff between attempts. Defaults 1 s → 5 min. */
  backoff?: { baseMs?: number; capMs?: number };
  /** How long finished statuses and idempotency outcomes are kept. Default 24 h. */
  retentionMs?: number;
  /** How long a request waits for a concurrent one with the same Idempotency-Key. Default 5 s. */
  idempotencyWaitMs?: number;
  /** At most one failure DM per hook in this window (others are logged). Default 10 min. */
  notifyIntervalMs?: number;
}

/** Numbers for `/readyz` and logs. */
export interface QueueStats {
  /** Deliveries waiting (including those being delivered by the worker). */
  readonly depth: number;
  readonly hooksWithBacklog: number;
  /** Deliveries running now (sync and worker). */
  readonly inFlight: number;
  readonly maxPerHook: number;
  readonly maxTotal: number;
  readonly loaded: boolean;
}

interface HookQueue {
  /** Sequence numbers of committed entries, ascending. */
  readonly seqs: number[];
  busy: boolean;
  notBefore: number;
}

type Entry = OutboxEntry<StoredPart[]>;

const CUT = Symbol("cut");

/** Thrown from `onPosted` to stop a run at once when shutdown cuts it. */
class CutError extends Error {}

/** See the module doc. */
export class DurableQueue implements Dispatcher {
  readonly #repo: OutboxRepo;
  readonly #o: DurableQueueOptions;
  readonly #log: Logger;
  readonly #concurrency: number;
  readonly #maxAge: number;
  readonly #retention: number;
  readonly #owner = crypto.randomUUID();
  readonly #hooks = new Map<string, HookQueue>();
  readonly #delivering = new Set<string>();
  readonly #inflight = new Set<Promise<unknown>>();
  readonly #lastNotified = new Map<string, number>();
  /** Resolvers that cut the synchronous requests running now (shutdown). */
  readonly #cutters = new Set<(v: typeof CUT) => void>();
  #depth = 0;
  #reserved = 0;
  #active = 0;
  #lastSeq = 0;
  #wokeAt = 0;
  #loadedFlag = false;
  readonly #loaded: Promise<void>;
  #started = false;
  #closing = false;
  /** Shutdown's grace period is over: runs stop after their current part. */
  #cutFlag = false;
  /** The KV handle is about to close: nothing may be written any more. */
  #cutDone = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
  #loggedDepth = 0;

  constructor(options: DurableQueueOptions) {
    this.#o = options;
    this.#repo = new OutboxRepo(options.kv);
    this.#log = options.logger ?? silentLogger;
    this.#concurrency = options.concurrency ?? 16;
    this.#maxAge = options.maxAgeMs ?? 24 * 3600_000;
    this.#retention = options.retentionMs ?? 24 * 3600_000;
    this.#loaded = this.#load();
    // Keep an unobserved load failure from crashing the process; dispatch re-awaits it.
    this.#loaded.catch(() => {});
  }

  /** Resolves once the persisted queue has been loaded (counts are right). */
  ready(): Promise<void> {
    return this.#loaded;
  }

  /** Starts the worker. */
  start(): void {
    if (this.#started || this.#closing) return;
    this.#started = true;
    this.#loaded.then(() => this.#pump(), () => {});
  }

  /** The link came back: retry every hook now instead of waiting out its backoff. */
  wake(): void {
    this.#wokeAt = Date.now();
    for (const q of this.#hooks.values()) q.notBefore = 0;
    this.#pump();
  }

  /** Current numbers. */
  stats(): QueueStats {
    return {
      depth: this.#depth,
      hooksWithBacklog: this.#hooks.size,
      inFlight: this.#inflight.size,
      maxPerHook: this.#o.limits.maxPerHook,
      maxTotal: this.#o.limits.maxTotal,
      loaded: this.#loadedFlag,
    };
  }

  /** Atomic commits made by the outbox (measurements). */
  get commits(): number {
    return this.#repo.commits;
  }

  /**
   * Graceful stop: no new work; in-flight deliveries get up to `graceMs`; then synchronous
   * requests still running have their remainder persisted (answered 202) and worker runs
   * stop after their current part. Everything unfinished stays in KV for the next start.
   */
  async close(graceMs = 10_000): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#loaded.catch(() => {});
    const all = () => Promise.allSettled([...this.#inflight]);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((r) => timer = setTimeout(r, graceMs));
    await Promise.race([all(), timeout]);
    clearTimeout(timer);
    if (this.#inflight.size > 0) {
      this.#log.warn("grace period over; unfinished deliveries stay queued", {
        inFlight: this.#inflight.size,
      });
      this.#cutFlag = true;
      for (const cut of this.#cutters) cut(CUT);
      // Cut sync requests persist their remainder now; worker runs stop at their next part.
      const t2 = new Promise<void>((r) => timer = setTimeout(r, 2_000));
      await Promise.race([all(), t2]);
      clearTimeout(timer);
    }
    this.#cutDone = true;
    await this.#repo.idle();
    this.#log.info("queue closed", { depth: this.#depth });
  }

  // ───────────────────────────── dispatch ─────────────────────────────

  async dispatch(request: DispatchRequest): Promise<DispatchOutcome> {
    if (!this.#loadedFlag) await this.#loaded;
    if (this.#closing) return shuttingDown();
    const { hook, idempotencyKey } = request;
    if (idempotencyKey === undefined) return await this.#track(this.#dispatch(request));
    const now = Date.now();
    const claim = await this.#repo.claimIdempotency<DispatchOutcome>(
      hook.id,
      idempotencyKey,
      { owner: this.#owner, at: now, expiresAt: now + this.#retention },
      // Single process per KV file: a claim of another process is one that died.
      (r) => r.owner !== this.#owner || now - r.at > 10 * 60_000,
    );
    if (!claim.claimed) return await this.#replay(hook.id, idempotencyKey, claim.record);
    let outcome: DispatchOutcome;
    try {
      outcome = await this.#track(this.#dispatch(request));
    } catch (e) {
      await this.#repo.releaseIdempotency(hook.id, idempotencyKey).catch(() => {});
      throw e;
    }
    if (outcome.kind === "queued") return outcome; // recorded with the entry, atomically
    if (outcome.kind === "refused" && outcome.status === 503) {
      await this.#repo.releaseIdempotency(hook.id, idempotencyKey);
    } else {
      await this.#repo.recordIdempotency(hook.id, idempotencyKey, {
        state: "done",
        outcome,
        expiresAt: now + this.#retention,
      });
    }
    return outcome;
  }

  async #replay(
    hookId: string,
    key: string,
    record: IdempotencyRecord<DispatchOutcome>,
  ): Promise<DispatchOutcome> {
    const deadline = Date.now() + (this.#o.idempotencyWaitMs ?? 5_000);
    let r: IdempotencyRecord<DispatchOutcome> | null = record;
    while (r?.state === "pending" && Date.now() < deadline && !this.#closing) {
      await new Promise((res) => setTimeout(res, 25));
      r = await this.#repo.getIdempotency<DispatchOutcome>(hookId, key);
    }
    if (r?.state === "done") return r.outcome;
    if (!r) {
      // The first request was refused for a transient reason and released its claim.
      return {
        kind: "refused",
        status: 409,
        code: "idempotency_conflict",
        message: "The first request with this Idempotency-Key did not complete. Retry.",
      };
    }
    return {
      kind: "refused",
      status: 409,
      code: "idempotency_conflict",
      message: "A request with this Idempotency-Key is still being processed. Retry later.",
      retryAfterSeconds: 1,
    };
  }

  async #dispatch({ hook, message, idempotencyKey }: DispatchRequest): Promise<DispatchOutcome> {
    const parts = planParts(message);
    const backlog = (this.#hooks.get(hook.id)?.seqs.length ?? 0) + this.#reservedFor(hook.id);
    if (!this.#o.client.state.authorized || backlog > 0 || !this.#started) {
      return await this.#enqueue(hook, parts, 0, [], [], idempotencyKey, false);
    }
    // Sync path: no KV write unless something goes wrong.
    let next = 0;
    const ids: string[] = [];
    let cut = false;
    const run = this.#o.deliverer.run(hook.chatId, parts, {
      onPosted: (i, id) => {
        if (cut) throw new CutError("shutting down");
        next = i + 1;
        if (id) ids.push(id);
      },
    });
    // A per-request signal, not a race on one shared promise: reactions on a promise that
    // never settles would pile up with every request.
    const cutSignal = Promise.withResolvers<typeof CUT>();
    this.#cutters.add(cutSignal.resolve);
    let r: RunResult | typeof CUT;
    try {
      r = await Promise.race([run, cutSignal.promise]);
    } finally {
      this.#cutters.delete(cutSignal.resolve);
    }
    if (r === CUT) {
      cut = true;
      run.catch(() => {});
      // The part in flight may still land: the documented window for a duplicate.
      return await this.#enqueue(hook, parts, next, ids, [], idempotencyKey, true);
    }
    if (r.stoppedAt !== null) {
      this.#log.info("delivery stopped, the rest is queued", {
        hook: hook.id,
        chat: hook.chatId,
        from: r.stoppedAt,
        error: r.error?.code,
      });
      return await this.#enqueue(
        hook,
        parts,
        r.stoppedAt,
        r.messageIds,
        r.failures,
        idempotencyKey,
        r.stoppedAt > 0,
      );
    }
    return outcomeOf(r);
  }

  /** Sequence numbers of entries of each hook being stored right now (not yet in `seqs`). */
  #reservations = new Map<string, Set<number>>();

  #reservedFor(hookId: string): number {
    return this.#reservations.get(hookId)?.size ?? 0;
  }

  /**
   * True while an entry of this hook older than its head is still being stored (spooling
   * uploads takes many writes): the head must wait for it, or a later request overtakes it.
   */
  #olderBeingStored(hookId: string, head: number): boolean {
    const reserved = this.#reservations.get(hookId);
    if (!reserved) return false;
    for (const seq of reserved) if (seq < head) return true;
    return false;
  }

  /** Persists parts from `from` on; answers `queued`, or 503 when full or storage failed. */
  async #enqueue(
    hook: HookRef,
    parts: readonly Part[],
    from: number,
    messageIds: readonly string[],
    failures: readonly PartFailure[],
    idempotencyKey: string | undefined,
    accepted: boolean,
  ): Promise<DispatchOutcome> {
    const { maxPerHook, maxTotal } = this.#o.limits;
    const hookDepth = (this.#hooks.get(hook.id)?.seqs.length ?? 0) + this.#reservedFor(hook.id);
    if (!accepted && (hookDepth >= maxPerHook || this.#depth + this.#reserved >= maxTotal)) {
      const which = hookDepth >= maxPerHook
        ? `this webhook has ${hookDepth} messages waiting (limit ${maxPerHook})`
        : `${this.#depth} messages are waiting in total (limit ${maxTotal})`;
      this.#log.warn("queue full, request refused", { hook: hook.id, depth: this.#depth });
      return {
        kind: "refused",
        status: 503,
        code: "queue_full",
        message:
          `The chat server is unreachable and ${which}. Retry later; nothing from this request was posted.`,
        retryAfterSeconds: 30,
      };
    }
    this.#reserved++;
    const now = Date.now();
    const seq = this.#nextSeq(now);
    const reserved = this.#reservations.get(hook.id) ?? new Set<number>();
    reserved.add(seq);
    this.#reservations.set(hook.id, reserved);
    const id = `${seq.toString(36)}-${crypto.randomUUID().slice(0, 8)}`;
    try {
      const { stored, blobs } = storeParts(parts, from);
      const spooled: number[] = [];
      for (const [slot, bytes] of blobs) {
        await this.#repo.writeBlob(hook.id, seq, slot, bytes);
        spooled.push(slot);
      }
      let entry: Entry = {
        id,
        hookId: hook.id,
        seq,
        hook: { id: hook.id, chatId: hook.chatId, name: hook.name, createdBy: hook.createdBy },
        parts: stored,
        next: from,
        messageIds: [...messageIds],
        failures: [...failures],
        attempts: 0,
        createdAt: now,
        updatedAt: now,
        notBefore: 0,
        lastError: null,
        spooled,
      };
      const json = new TextEncoder().encode(JSON.stringify(stored));
      if (json.length > 48 * 1024) {
        // Long texts: the part list goes to the spool, the entry stays small to rewrite.
        await this.#repo.writeBlob(hook.id, seq, -1, json);
        entry = { ...entry, parts: null, spooled: [...spooled, -1] };
      }
      const outcome: DispatchOutcome = { kind: "queued", deliveryId: id };
      const ok = await this.#repo.insert(
        entry,
        idempotencyKey === undefined ? undefined : {
          key: idempotencyKey,
          record: { state: "done", outcome, expiresAt: now + this.#retention },
        },
      );
      if (!ok) throw new Error(`outbox entry ${hook.id}/${seq} exists already`);
      const q = this.#hookQueue(hook.id);
      insertSorted(q.seqs, seq);
      this.#setDepth(this.#depth + 1);
      this.#log.info("delivery queued", { hook: hook.id, chat: hook.chatId, delivery: id, from });
      return outcome;
    } catch (e) {
      this.#log.error("could not persist a delivery", { hook: hook.id, error: e });
      this.#repo.deleteSpool(hook.id, seq).catch(() => {});
      return {
        kind: "refused",
        status: 503,
        code: "storage_unavailable",
        message: "The message could not be stored for later delivery. Retry later.",
        retryAfterSeconds: RETRY_AFTER_SECONDS,
      };
    } finally {
      this.#reserved--;
      reserved.delete(seq);
      if (reserved.size === 0) this.#reservations.delete(hook.id);
      // Also after a failed store: a later entry of this hook may have waited for this one.
      queueMicrotask(() => this.#pump());
    }
  }

  // ───────────────────────────── status ─────────────────────────────

  async status(hookId: string, deliveryId: string): Promise<DeliveryStatus | null> {
    const seq = parseInt(deliveryId.split("-")[0] ?? "", 36);
    if (Number.isSafeInteger(seq)) {
      const e = await this.#repo.get(hookId, seq);
      if (e && e.id === deliveryId) {
        return {
          id: e.id,
          state: this.#delivering.has(e.id) ? "delivering" : "queued",
          attempts: e.attempts,
          createdAt: iso(e.createdAt),
          updatedAt: iso(e.updatedAt),
          messageIds: e.messageIds.filter((m) => m !== ""),
          ...(e.lastError ? { error: e.lastError } : {}),
          ...(e.failures.length ? { failures: e.failures } : {}),
        };
      }
    }
    const d = await this.#repo.getDone(hookId, deliveryId);
    if (!d) return null;
    return {
      id: d.id,
      state: d.state,
      attempts: d.attempts,
      createdAt: iso(d.createdAt),
      updatedAt: iso(d.updatedAt),
      messageIds: d.messageIds,
      ...(d.error ? { error: d.error } : {}),
      ...(d.failures.length ? { failures: d.failures } : {}),
    };
  }

  // ───────────────────────────── worker ─────────────────────────────

  async #load(): Promise<void> {
    const started = performance.now();
    const live = new Set<string>();
    for await (const e of this.#repo.listAll()) {
      insertSorted(this.#hookQueue(e.hookId).seqs, e.seq);
      this.#lastSeq = Math.max(this.#lastSeq, e.seq);
      live.add(`${e.hookId}\u0000${e.seq}`);
    }
    this.#setDepth(live.size);
    const swept = await this.#repo.sweepSpool((h, s) => live.has(`${h}\u0000${s}`));
    this.#loadedFlag = true;
    this.#log.info("queue loaded", {
      depth: this.#depth,
      hooks: this.#hooks.size,
      orphanSpoolChunks: swept,
      ms: Math.round(performance.now() - started),
    });
  }

  #pump(): void {
    if (!this.#started || this.#closing || !this.#loadedFlag) return;
    if (!this.#o.client.state.authorized) return;
    const now = Date.now();
    let earliest = Infinity;
    for (const [hookId, q] of this.#hooks) {
      if (this.#active >= this.#concurrency) break;
      if (q.busy || q.seqs.length === 0 || this.#olderBeingStored(hookId, q.seqs[0]!)) continue;
      if (q.notBefore > now) {
        earliest = Math.min(earliest, q.notBefore);
        continue;
      }
      q.busy = true;
      this.#active++;
      // Round robin: a hook that was served goes to the back of the line.
      this.#hooks.delete(hookId);
      this.#hooks.set(hookId, q);
      this.#track(
        this.#deliverHead(hookId, q).catch((e) => {
          this.#log.error("queue worker error", { hook: hookId, error: e });
          q.notBefore = Date.now() + 5_000;
        }).finally(() => {
          q.busy = false;
          this.#active--;
          if (q.seqs.length === 0 && this.#hooks.get(hookId) === q) this.#hooks.delete(hookId);
          this.#pump();
        }),
      );
    }
    if (earliest < Infinity) this.#armTimer(earliest);
  }

  #armTimer(at: number): void {
    if (this.#timer !== undefined && this.#timerAt <= at) return;
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.#pump();
    }, Math.max(0, at - Date.now()));
  }

  async #deliverHead(hookId: string, q: HookQueue): Promise<void> {
    const seq = q.seqs[0]!;
    const stored = await this.#repo.get(hookId, seq) as Entry | null;
    if (!stored) {
      q.seqs.shift();
      this.#setDepth(this.#depth - 1);
      return;
    }
    const now = Date.now();
    if (stored.notBefore > now && stored.updatedAt >= this.#wokeAt) {
      q.notBefore = stored.notBefore;
      return;
    }
    let entry: Entry = stored;
    let parts: Part[];
    try {
      const list = entry.parts ?? JSON.parse(
        new TextDecoder().decode((await this.#repo.readBlob(hookId, seq, -1)) ?? new Uint8Array()),
      ) as StoredPart[];
      parts = await loadParts(list, entry.next, (slot) => this.#repo.readBlob(hookId, seq, slot));
    } catch (e) {
      const message = e instanceof SpoolLostError
        ? e.message
        : "the stored message could not be read back";
      await this.#finish(q, entry, {
        messageIds: [],
        failures: [],
        stoppedAt: null,
        error: { code: "spool_lost", message, transient: false },
      });
      return;
    }
    this.#delivering.add(entry.id);
    let r: RunResult;
    try {
      r = await this.#o.deliverer.run(entry.hook.chatId, parts, {
        from: entry.next,
        onPosted: async (i, messageId) => {
          entry = {
            ...entry,
            next: i + 1,
            messageIds: [...entry.messageIds, messageId],
            updatedAt: Date.now(),
          };
          if (this.#cutDone) throw new CutError("queue closed");
          // The last part is recorded by finish, one commit instead of two.
          if (i + 1 < parts.length || this.#cutFlag) await this.#repo.update(entry);
          if (this.#cutFlag) throw new CutError("shutting down");
        },
      });
    } finally {
      this.#delivering.delete(entry.id);
    }
    if (r.stoppedAt === null) {
      await this.#finish(q, entry, r);
      return;
    }
    if (this.#closing) return; // progress is persisted; the next start resumes
    const attempts = entry.attempts + 1;
    const error = {
      code: r.error?.code ?? "trueconf_unavailable",
      message: r.error?.message ?? "",
    };
    if (Date.now() - entry.createdAt >= this.#maxAge) {
      await this.#finish(q, { ...entry, attempts }, {
        ...r,
        error: {
          code: "gave_up",
          message: `not delivered within ${
            Math.round(this.#maxAge / 3600_000)
          } h; last error: ${error.message}`,
          transient: false,
        },
      });
      return;
    }
    const notBefore = Date.now() + backoffDelay(attempts, this.#o.backoff);
    entry = { ...entry, attempts, lastError: error, notBefore, updatedAt: Date.now() };
    await this.#repo.update(entry);
    q.notBefore = notBefore;
    this.#log.info("delivery will be retried", {
      hook: hookId,
      delivery: entry.id,
      attempts,
      error: error.code,
      inMs: notBefore - Date.now(),
    });
  }

  async #finish(q: HookQueue, entry: Entry, r: RunResult): Promise<void> {
    const failures = [...entry.failures, ...r.failures];
    const ids = entry.messageIds.filter((m) => m !== "");
    const failed = r.error !== null || (ids.length === 0 && failures.length > 0);
    const now = Date.now();
    const done: DoneRecord = {
      id: entry.id,
      state: failed ? "failed" : "delivered",
      attempts: entry.attempts + (r.error?.code === "gave_up" ? 0 : 1),
      createdAt: entry.createdAt,
      updatedAt: now,
      messageIds: ids,
      error: r.error ? { code: r.error.code, message: r.error.message } : null,
      failures,
      expiresAt: now + this.#retention,
    };
    await this.#repo.finish(entry, done);
    if (q.seqs[0] === entry.seq) q.seqs.shift();
    else q.seqs.splice(q.seqs.indexOf(entry.seq), 1);
    this.#setDepth(this.#depth - 1);
    if (ids.length > 0) this.#o.store?.recordDelivery(entry.hookId);
    const fields = {
      hook: entry.hookId,
      chat: entry.hook.chatId,
      delivery: entry.id,
      messages: ids.length,
      waitedMs: now - entry.createdAt,
    };
    if (!failed && failures.length === 0) {
      this.#log.info("queued delivery delivered", fields);
      return;
    }
    this.#log.warn(failed ? "queued delivery failed" : "queued delivery partly failed", {
      ...fields,
      error: done.error?.code,
      failures: failures.length,
    });
    const reason = done.error?.message ??
      failures.map((f) => `${f.item}: ${f.message}`).slice(0, 5).join("; ");
    this.#track(this.#notify(entry, failed, reason, failures.length));
  }

  /** Tells the hook's creator in a direct message; best effort (logged when it fails). */
  async #notify(entry: Entry, failed: boolean, reason: string, failureCount: number) {
    const { createdBy, name, id: hookId } = entry.hook;
    const now = Date.now();
    const last = this.#lastNotified.get(hookId) ?? 0;
    if (now - last < (this.#o.notifyIntervalMs ?? 10 * 60_000)) {
      this.#log.info("failure DM skipped: creator notified recently", { hook: hookId });
      return;
    }
    if (!createdBy) {
      this.#log.warn("failure not reported by DM: the hook has no known creator", {
        hook: hookId,
      });
      return;
    }
    this.#lastNotified.set(hookId, now);
    const text = failed
      ? `Webhook "${name}": a message (delivery ${entry.id}, accepted ${
        iso(entry.createdAt)
      }) could not be delivered to its chat and was dropped. Reason: ${reason}`
      : `Webhook "${name}": ${failureCount} part(s) of a message (delivery ${entry.id}, accepted ${
        iso(entry.createdAt)
      }) could not be posted; the rest reached the chat. ${reason}`;
    try {
      const chat = await this.#o.client.createP2PChat(createdBy);
      await this.#o.client.sendMessage(chat, text, "text");
      this.#log.info("hook creator notified of a failed delivery", { hook: hookId });
    } catch (e) {
      this.#log.warn("could not notify the hook creator", { hook: hookId, error: e });
    }
  }

  // ───────────────────────────── helpers ─────────────────────────────

  #hookQueue(hookId: string): HookQueue {
    let q = this.#hooks.get(hookId);
    if (!q) {
      q = { seqs: [], busy: false, notBefore: 0 };
      this.#hooks.set(hookId, q);
    }
    return q;
  }

  /** Microseconds of now, bumped past the last one: grows across restarts too. */
  #nextSeq(now: number): number {
    this.#lastSeq = Math.max(this.#lastSeq + 1, now * 1000);
    return this.#lastSeq;
  }

  #track<T>(p: Promise<T>): Promise<T> {
    this.#inflight.add(p);
    const done = () => this.#inflight.delete(p);
    p.then(done, done);
    return p;
  }

  #setDepth(depth: number): void {
    this.#depth = depth;
    this.#o.metrics?.queueDepth.set(depth);
    const last = this.#loggedDepth;
    if (
      Math.abs(depth - last) >= Math.max(100, last * 0.1) || (depth === 0 && last > 0) ||
      (last === 0 && depth > 0)
    ) {
      this.#loggedDepth = depth;
      this.#log.info("queue depth", { depth, hooks: this.#hooks.size });
    }
  }
}

function shuttingDown(): DispatchOutcome {
  return {
    kind: "refused",
    status: 503,
    code: "shutting_down",
    message: "The bot is restarting. Retry in a few seconds.",
    retryAfterSeconds: RETRY_AFTER_SECONDS,
  };
}

function insertSorted(a: number[], v: number): void {
  let i = a.length;
  while (i > 0 && a[i - 1]! > v) i--;
  a.splice(i, 0, v);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
