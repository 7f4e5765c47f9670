/**
 * The outbox: jobs accepted for later, one FIFO line per hook, kept in KV (entries,
 * spooled bytes, final records) with a small in-memory index of every waiting job, so
 * that scheduling, limits, `/readyz` and `/metrics` never read KV.
 *
 * Knows order, limits and storage; nothing about retries or what a job does (that is the
 * scheduler, `job_engine.ts`, and the job types).
 *
 * @module
 */
import {
  type DoneRecord,
  type OutboxEntry,
  type OutboxHook,
  OutboxRepo,
} from "../../storage/mod.ts";
import type { JobError } from "./job_type.ts";

/** What the scheduler knows of a waiting job without reading KV. */
export interface Slot {
  /** Position in the hook's line. */
  readonly seq: number;
  /** The job id. */
  readonly id: string;
  /** Its job type. */
  readonly type: string;
  /** When it was accepted (ms since the epoch). */
  readonly createdAt: number;
  /** Given up at this time (ms since the epoch). */
  readonly deadline: number;
  /** Not tried again before this (ms since the epoch). */
  notBefore: number;
  /** Set aside: it no longer holds up the hook's later jobs. */
  aside: boolean;
  /** Attempts that failed and were retried. */
  attempts: number;
  /** Why the last attempt failed. */
  lastError: JobError | null;
  /** The creator was told that this job waits long. */
  waitNoticeSent: boolean;
  /** Running now (worker). */
  running: boolean;
  /** Has run at least once (so it cannot take a merge any more). */
  started: boolean;
  /** An operator or a revoke asked to drop it; applied when its running attempt ends. */
  dropReason: JobError | null;
  /**
   * Failures of the job's own (`scope: "job"`) since the link last came back, and when the
   * first of them happened: what setting aside counts (in memory; a restart starts over).
   */
  ownFailures: number;
  /** When the first of those failures happened (ms since the epoch). */
  ownSince: number;
  /**
   * A process that stopped uncleanly may have been running it: its next attempt first checks
   * whether its step happened (`JobRun.unrecordedSince`). In memory: set at load.
   */
  resume?: boolean;
}

/** One hook's line. */
export interface Line {
  /** Waiting jobs in order. */
  readonly slots: Slot[];
  /** A worker attempt of this hook is running. */
  busy: boolean;
}

/** Payloads above this size go to the spool (slot -1), so progress updates stay small. */
const INLINE_PAYLOAD_MAX = 48 * 1024;
const enc = new TextEncoder();

/** See the module doc. */
export class Outbox {
  /** The KV side. */
  readonly repo: OutboxRepo;
  /** The waiting entries, one line per hook. */
  readonly lines = new Map<string, Line>();
  /** Sequence numbers of entries being stored right now, per hook (not in a line yet). */
  readonly #reservations = new Map<string, Set<number>>();
  #reserved = 0;
  #depth = 0;
  #lastSeq = 0;
  readonly #limits: { maxPerHook: number; maxTotal: number };
  readonly #now: () => number;
  readonly #onDepth: (depth: number) => void;

  /** An empty outbox over `kv`; load it before use. */
  constructor(
    kv: Deno.Kv,
    options: {
      limits: { maxPerHook: number; maxTotal: number };
      now: () => number;
      onDepth?: (depth: number) => void;
    },
  ) {
    this.repo = new OutboxRepo(kv);
    this.#limits = options.limits;
    this.#now = options.now;
    this.#onDepth = options.onDepth ?? (() => {});
  }

  /** Entries stored (all hooks). */
  get depth(): number {
    return this.#depth;
  }

  /** The per-hook and total caps. */
  get limits(): { maxPerHook: number; maxTotal: number } {
    return this.#limits;
  }

  /** Waiting plus being stored, for one hook. */
  backlog(hookId: string): number {
    return (this.lines.get(hookId)?.slots.length ?? 0) +
      (this.#reservations.get(hookId)?.size ?? 0);
  }

  /** True while an entry of this hook older than `seq` is still being stored. */
  olderBeingStored(hookId: string, seq: number): boolean {
    const r = this.#reservations.get(hookId);
    if (!r) return false;
    for (const s of r) if (s < seq) return true;
    return false;
  }

  /** Why a new job of this hook may not be stored now, or null. */
  full(hookId: string): string | null {
    const hookDepth = this.backlog(hookId);
    const { maxPerHook, maxTotal } = this.#limits;
    if (hookDepth >= maxPerHook) {
      return `this webhook has ${hookDepth} ${
        hookDepth === 1 ? "message" : "messages"
      } waiting (limit ${maxPerHook})`;
    }
    if (this.#depth + this.#reserved >= maxTotal) {
      return `${this.#depth} ${
        this.#depth === 1 ? "message is" : "messages are"
      } waiting in total (limit ${maxTotal})`;
    }
    return null;
  }

  /** Reads every entry into the index and sweeps orphan spool chunks. */
  async load(): Promise<{ swept: number }> {
    const live = new Set<string>();
    for await (const e of this.repo.listAll()) {
      this.#line(e.hookId).slots.push(slotOf(e));
      this.#lastSeq = Math.max(this.#lastSeq, e.seq);
      live.add(`${e.hookId}\u0000${e.seq}`);
    }
    for (const line of this.lines.values()) line.slots.sort((a, b) => a.seq - b.seq);
    this.#setDepth(live.size);
    const swept = await this.repo.sweepSpool((h, s) => live.has(`${h}\u0000${s}`));
    return { swept };
  }

  /**
   * Stores a new entry: spools `blobs` (and the payload when large) first, then inserts the
   * entry (with `alsoWrite` in the same atomic) and adds it to its hook's line. The hook's
   * later jobs wait for it while it is being stored.
   */
  async insert(o: {
    type: string;
    hook: OutboxHook;
    payload: unknown;
    state: unknown;
    blobs: ReadonlyMap<number, Uint8Array> | undefined;
    createdAt: number;
    deadline: number;
    alsoWrite: ((id: string) => Deno.KvMutation) | undefined;
    unrecordedSince?: number | undefined;
  }): Promise<string> {
    const hookId = o.hook.id;
    const now = this.#now();
    const seq = this.#lastSeq = Math.max(this.#lastSeq + 1, now * 1000);
    const id = `${seq.toString(36)}-${crypto.randomUUID().slice(0, 8)}`;
    const reserved = this.#reservations.get(hookId) ?? new Set<number>();
    reserved.add(seq);
    this.#reservations.set(hookId, reserved);
    this.#reserved++;
    try {
      const spooled: number[] = [];
      for (const [slot, bytes] of o.blobs ?? []) {
        await this.repo.writeBlob(hookId, seq, slot, bytes);
        spooled.push(slot);
      }
      let payload: unknown = o.payload;
      const json = enc.encode(JSON.stringify(o.payload));
      if (json.length > INLINE_PAYLOAD_MAX) {
        await this.repo.writeBlob(hookId, seq, -1, json);
        spooled.push(-1);
        payload = null;
      }
      const entry: OutboxEntry = {
        id,
        type: o.type,
        hookId,
        seq,
        hook: { id: hookId, chatId: o.hook.chatId, name: o.hook.name, createdBy: o.hook.createdBy },
        payload,
        state: o.state,
        attempts: 0,
        createdAt: o.createdAt,
        updatedAt: now,
        notBefore: 0,
        deadline: o.deadline,
        aside: false,
        lastError: null,
        spooled,
        waitNoticeSent: false,
        ...(o.unrecordedSince === undefined ? {} : { unrecordedSince: o.unrecordedSince }),
      };
      const ok = await this.repo.insert(entry, o.alsoWrite?.(id));
      if (!ok) throw new Error(`outbox entry ${hookId}/${seq} exists already`);
      insertSorted(this.#line(hookId).slots, slotOf(entry));
      this.#setDepth(this.#depth + 1);
      return id;
    } catch (e) {
      this.repo.deleteSpool(hookId, seq).catch(() => {});
      throw e;
    } finally {
      this.#reserved--;
      reserved.delete(seq);
      if (reserved.size === 0) this.#reservations.delete(hookId);
    }
  }

  /** The stored entry with its payload read back (null when gone). */
  async read(
    hookId: string,
    seq: number,
  ): Promise<{ entry: OutboxEntry; payload: unknown } | null> {
    const entry = await this.repo.get(hookId, seq);
    if (!entry) return null;
    if (entry.payload !== null) return { entry, payload: entry.payload };
    const bytes = await this.repo.readBlob(hookId, seq, -1);
    if (!bytes) throw new Error(`the stored payload of ${entry.id} is missing from the spool`);
    return { entry, payload: JSON.parse(new TextDecoder().decode(bytes)) };
  }

  /** Rewrites an entry (progress, retry schedule, a merged payload). */
  async update(entry: OutboxEntry, payload?: unknown): Promise<void> {
    if (payload === undefined) return await this.repo.update(entry);
    const json = enc.encode(JSON.stringify(payload));
    if (json.length > INLINE_PAYLOAD_MAX) {
      await this.repo.writeBlob(entry.hookId, entry.seq, -1, json);
      const spooled = entry.spooled.includes(-1) ? entry.spooled : [...entry.spooled, -1];
      return await this.repo.update({ ...entry, payload: null, spooled });
    }
    await this.repo.update({ ...entry, payload });
  }

  /** Removes a finished entry from KV (keeping `done`) and from its line. */
  async finish(entry: OutboxEntry, done: DoneRecord): Promise<void> {
    await this.repo.finish(entry, done);
    this.forget(entry.hookId, entry.seq);
  }

  /** Takes a slot out of the index (its entry is gone). */
  forget(hookId: string, seq: number): void {
    const line = this.lines.get(hookId);
    if (!line) return;
    const i = line.slots.findIndex((s) => s.seq === seq);
    if (i < 0) return;
    line.slots.splice(i, 1);
    this.#setDepth(this.#depth - 1);
    if (line.slots.length === 0 && !line.busy) this.lines.delete(hookId);
  }

  /** Finds a waiting job by id. */
  find(id: string): { hookId: string; slot: Slot } | null {
    const seq = parseInt(id.split("-")[0] ?? "", 36);
    if (!Number.isSafeInteger(seq)) return null;
    for (const [hookId, line] of this.lines) {
      const slot = line.slots.find((s) => s.seq === seq && s.id === id);
      if (slot) return { hookId, slot };
    }
    return null;
  }

  /** Creation time of the oldest waiting job, or null. */
  oldest(): number | null {
    let min = Infinity;
    for (const line of this.lines.values()) {
      for (const s of line.slots) min = Math.min(min, s.createdAt);
    }
    return min === Infinity ? null : min;
  }

  #line(hookId: string): Line {
    let line = this.lines.get(hookId);
    if (!line) {
      line = { slots: [], busy: false };
      this.lines.set(hookId, line);
    }
    return line;
  }

  #setDepth(depth: number): void {
    this.#depth = depth;
    this.#onDepth(depth);
  }
}

function slotOf(e: OutboxEntry): Slot {
  const slot: Slot = {
    seq: e.seq,
    id: e.id,
    type: e.type,
    createdAt: e.createdAt,
    deadline: e.deadline,
    notBefore: e.notBefore,
    aside: e.aside,
    attempts: e.attempts,
    lastError: e.lastError,
    waitNoticeSent: e.waitNoticeSent,
    running: false,
    started: e.attempts > 0,
    dropReason: null,
    ownFailures: 0,
    ownSince: 0,
  };
  if (e.unrecordedSince !== undefined) slot.resume = true;
  return slot;
}

function insertSorted(a: Slot[], v: Slot): void {
  let i = a.length;
  while (i > 0 && a[i - 1]!.seq > v.seq) i--;
  a.splice(i, 0, v);
}
