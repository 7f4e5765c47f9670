/**
 * The hook store: create, resolve, list and revoke hooks, with a bounded cache in front of
 * token lookups and coalesced usage counters behind deliveries. Persistence is
 * `src/storage/hook_repo.ts`; this file never touches KV keys itself.
 *
 * @module
 */

import { LRUCache } from "lru-cache";
import { type Logger, silentLogger } from "../log.ts";
import { type HookRecord, HookRepo, type UsageDelta } from "../storage/mod.ts";
import { foldHookName, validateHookName } from "./hook_name.ts";
import { type ImportSkip, parseReferenceFile } from "./reference_import.ts";
import { generateToken, hashToken, looksLikeToken, tokenHint } from "./token.ts";

export type { HookRecord } from "../storage/mod.ts";
export type { ImportSkip } from "./reference_import.ts";

/** Options of {@link HookStore}. */
export interface HookStoreOptions {
  /** How long a found hook stays cached. Default 30 000 ms. Bounds how long a revoke done
   * by another process (the sysadmin CLI) takes to reach this one. */
  cacheTtlMs?: number;
  /** Most cached hooks (found ones and, separately, unknown tokens). Default 10 000. */
  cacheMax?: number;
  /** How long an unknown token stays cached. Default min(5 000, cacheTtlMs): short, so a
   * hook created or imported by another process works within seconds. */
  negativeCacheTtlMs?: number;
  /** Delay between the first unflushed delivery and the flush. Default 5 000 ms. */
  usageFlushIntervalMs?: number;
  /** Clock, ms since the epoch; tests pass a fake. */
  now?: () => number;
  logger?: Logger;
}

/** Result of {@link HookStore.create}. */
export type CreateResult =
  | { ok: true; hook: HookRecord; token: string }
  | { ok: false; reason: "duplicate_name" | "invalid_name"; message: string };

/** Result of {@link HookStore.importReferenceJson}. */
export interface ImportResult {
  imported: number;
  /** The hooks imported (no tokens). */
  importedHooks: HookRecord[];
  skipped: ImportSkip[];
}

/** Counters for metrics and benchmarks. */
export interface HookStoreStats {
  cacheHits: number;
  cacheMisses: number;
  usageFlushes: number;
  usageCommits: number;
}

interface Cached {
  record: HookRecord;
  expiresAt: number;
}

/**
 * Hooks of all chats.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const kv = await Deno.openKv(":memory:");
 * const store = new HookStore(kv);
 * const made = await store.create({ chatId: "c1", name: "deploys", createdBy: "alice@srv" });
 * assert(made.ok); // DM `${publicUrl}/hook/${made.token}` to alice: shown once, never stored
 * const hook = await store.findByToken(made.token);
 * assert.equal(hook?.name, "deploys");
 * store.recordDelivery(hook.id);
 * await store.close(); // at shutdown: flushes usage
 * kv.close();
 * ```
 */
export class HookStore {
  #repo: HookRepo;
  #now: () => number;
  #log: Logger;
  #ttl: number;
  #negativeTtl: number;
  #interval: number;
  // Found hooks and unknown tokens live in separate caches, so a flood of random tokens
  // can only evict other unknown tokens, never the hooks real senders use. Entries expire
  // lazily on read (no timers; lru-cache's autopurge would leave one running).
  #found: LRUCache<string, Cached>;
  #unknown: LRUCache<string, number>;
  // Bumped by every create, import and revoke. A lookup caches its KV answer only if no
  // such change happened while it was reading, so a revoke racing with a lookup cannot
  // leave the revoked hook cached, and a create cannot be hidden by a stale "unknown".
  #generation = 0;
  #pending = new Map<string, { count: number; lastUsedAt: number }>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #flushChain: Promise<void> = Promise.resolve();
  #closed = false;
  #warnedClosed = false;
  #stats: HookStoreStats = { cacheHits: 0, cacheMisses: 0, usageFlushes: 0, usageCommits: 0 };

  constructor(kv: Deno.Kv, options: HookStoreOptions = {}) {
    this.#repo = new HookRepo(kv);
    this.#now = options.now ?? Date.now;
    this.#log = options.logger ?? silentLogger;
    this.#ttl = options.cacheTtlMs ?? 30_000;
    this.#negativeTtl = options.negativeCacheTtlMs ?? Math.min(5_000, this.#ttl);
    this.#interval = options.usageFlushIntervalMs ?? 5_000;
    const max = options.cacheMax ?? 10_000;
    this.#found = new LRUCache({ max });
    this.#unknown = new LRUCache({ max });
  }

  /**
   * Creates a hook. The plaintext token is in the result once and is never stored.
   * Name uniqueness per chat is enforced by the KV atomic, not by a prior read.
   */
  async create(input: { chatId: string; name: string; createdBy: string }): Promise<CreateResult> {
    if (input.chatId === "") throw new TypeError("create: chatId is empty");
    const name = validateHookName(input.name);
    if (!name.ok) return { ok: false, reason: "invalid_name", message: name.reason };
    for (let attempt = 0; attempt < 3; attempt++) {
      const token = generateToken();
      const record: HookRecord = {
        id: crypto.randomUUID(),
        chatId: input.chatId,
        name: name.name,
        tokenHash: await hashToken(token),
        tokenHint: tokenHint(token),
        createdAt: this.#now(),
        createdBy: input.createdBy,
        lastUsedAt: null,
        deliveryCount: 0,
      };
      const res = await this.#repo.insert(record, name.folded);
      if (res === "ok") {
        this.#changed(record.tokenHash);
        this.#log.info("hook created", { hook: record.id, chat: record.chatId });
        return { ok: true, hook: freeze(record), token };
      }
      if (res === "name_taken") {
        return {
          ok: false,
          reason: "duplicate_name",
          message: `A webhook named "${name.name}" already exists in this chat. ` +
            `Pick another name, or revoke the old one with /webhook_revoke ${name.name}.`,
        };
      }
      // token or id collision: 2^-128 territory, but a fresh draw costs nothing
    }
    throw new Error("create: could not draw an unused token and id");
  }

  /**
   * Resolves a token to its hook: a cache hit, else one KV read by the token's hash.
   * Strings that cannot be tokens return null without hashing.
   */
  async findByToken(token: string): Promise<HookRecord | null> {
    if (!looksLikeToken(token)) return null;
    const hash = await hashToken(token);
    const now = this.#now();
    const hit = this.#found.get(hash);
    if (hit && hit.expiresAt > now) {
      this.#stats.cacheHits++;
      return this.#withPending(hit.record);
    }
    const miss = this.#unknown.get(hash);
    if (miss !== undefined && miss > now) {
      this.#stats.cacheHits++;
      return null;
    }
    this.#stats.cacheMisses++;
    const generation = this.#generation;
    const record = await this.#repo.getByTokenHash(hash);
    if (generation === this.#generation) {
      if (record) {
        this.#found.set(hash, { record: freeze(record), expiresAt: now + this.#ttl });
        this.#unknown.delete(hash);
      } else {
        this.#found.delete(hash);
        this.#unknown.set(hash, now + this.#negativeTtl);
      }
    }
    return record ? this.#withPending(record) : null;
  }

  /** The hook with this id. */
  async get(id: string): Promise<HookRecord | null> {
    return this.#withPending(await this.#repo.getById(id));
  }

  /** The hook named `name` in a chat (trimmed, case-insensitive). */
  async findByName(chatId: string, name: string): Promise<HookRecord | null> {
    const folded = foldHookName(name);
    if (folded === "") return null;
    return this.#withPending(await this.#repo.getByName(chatId, folded));
  }

  /** A chat's hooks, oldest first, usage including deliveries not yet flushed. */
  async listByChat(chatId: string): Promise<HookRecord[]> {
    return (await this.#repo.listByChat(chatId)).map((r) => this.#withPending(r));
  }

  /** Every hook, by chat then creation (for the sysadmin CLI). */
  async listAll(): Promise<HookRecord[]> {
    return (await this.#repo.listAll()).map((r) => this.#withPending(r));
  }

  /**
   * Deletes a hook and its indexes atomically. The very next {@link findByToken} in this
   * process returns null; other processes see it within `cacheTtlMs`.
   */
  async revoke(id: string): Promise<boolean> {
    const gone = await this.#repo.delete(id);
    this.#pending.delete(id);
    if (!gone) return false;
    this.#changed(gone.tokenHash, true);
    this.#log.info("hook revoked", { hook: gone.id, chat: gone.chatId });
    return true;
  }

  /** Revokes the hook named `name` in a chat; returns it, or null if there was none. */
  async revokeByName(chatId: string, name: string): Promise<HookRecord | null> {
    const hook = await this.findByName(chatId, name);
    if (!hook) return null;
    return (await this.revoke(hook.id)) ? hook : null;
  }

  /**
   * Counts one successful delivery. Only memory is touched; the sums are written in
   * batches by a flush `usageFlushIntervalMs` after the first unflushed delivery, by
   * {@link flush}, and by {@link close}.
   */
  recordDelivery(hookId: string, at: number = this.#now()): void {
    const p = this.#pending.get(hookId);
    if (p) {
      p.count++;
      if (at > p.lastUsedAt) p.lastUsedAt = at;
    } else {
      this.#pending.set(hookId, { count: 1, lastUsedAt: at });
    }
    if (this.#closed) {
      if (!this.#warnedClosed) {
        this.#warnedClosed = true;
        this.#log.warn("delivery recorded after the hook store was closed; call flush()", {
          hook: hookId,
        });
      }
      return;
    }
    this.#schedule();
  }

  /** Writes all pending usage now. Concurrent calls run one after another. */
  flush(): Promise<void> {
    const run = this.#flushChain.then(() => this.#flushOnce());
    this.#flushChain = run.catch(() => {});
    return run;
  }

  /** Flushes usage and stops the flush timer. Does not close the KV handle (its owner does). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#unschedule();
    await this.flush();
  }

  /**
   * Imports the reference Python bot's `webhooks.json` (already parsed). Keeps each token
   * working by storing its hash; idempotent (a token already present is skipped as
   * "already imported"); bad records are skipped with a reason, never fatal. Throws
   * {@link ReferenceFormatError} only when the top level is not `{"webhooks": [...]}`.
   */
  async importReferenceJson(json: unknown): Promise<ImportResult> {
    const { hooks, skipped } = parseReferenceFile(json, this.#now());
    const importedHooks: HookRecord[] = [];
    for (const h of hooks) {
      const tokenHash = await hashToken(h.token);
      let id = h.id ?? crypto.randomUUID();
      for (let attempt = 0;; attempt++) {
        const record: HookRecord = {
          id,
          chatId: h.chatId,
          name: h.name,
          tokenHash,
          tokenHint: tokenHint(h.token),
          createdAt: h.createdAt,
          createdBy: h.createdBy,
          lastUsedAt: h.lastUsedAt,
          deliveryCount: h.usageCount,
        };
        const res = await this.#repo.insert(record, h.nameFolded);
        if (res === "ok") {
          this.#changed(tokenHash);
          importedHooks.push(freeze(record));
        } else if (res === "id_taken" && attempt < 3) {
          id = crypto.randomUUID(); // same id, different token: keep the hook, new id
          continue;
        } else {
          skipped.push({
            index: h.index,
            name: h.name,
            chatId: h.chatId,
            reason: res === "token_taken"
              ? "already imported"
              : res === "name_taken"
              ? `a hook with this name and a different token already exists in this chat`
              : "could not find a free id",
          });
        }
        break;
      }
    }
    skipped.sort((a, b) => a.index - b.index);
    this.#log.info("reference import", { imported: importedHooks.length, skipped: skipped.length });
    return { imported: importedHooks.length, importedHooks, skipped };
  }

  /** Cache and usage counters (a copy). */
  stats(): HookStoreStats {
    return { ...this.#stats };
  }

  #changed(tokenHash: string, revoked = false): void {
    this.#generation++;
    this.#found.delete(tokenHash);
    if (revoked) this.#unknown.set(tokenHash, this.#now() + this.#negativeTtl);
    else this.#unknown.delete(tokenHash);
  }

  #withPending(record: HookRecord): HookRecord;
  #withPending(record: HookRecord | null): HookRecord | null;
  #withPending(record: HookRecord | null): HookRecord | null {
    if (!record) return null;
    const p = this.#pending.get(record.id);
    if (!p) return record;
    return freeze({
      ...record,
      deliveryCount: record.deliveryCount + p.count,
      lastUsedAt: Math.max(record.lastUsedAt ?? 0, p.lastUsedAt),
    });
  }

  #schedule(): void {
    if (this.#timer !== undefined) return;
    const timer = setTimeout(() => {
      this.#timer = undefined;
      this.flush().catch((e) => this.#log.error("usage flush failed; will retry", { error: e }));
    }, this.#interval);
    // Never keep the process alive for counters; shutdown calls close(), which flushes.
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  #unschedule(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async #flushOnce(): Promise<void> {
    this.#unschedule();
    if (this.#pending.size === 0) return;
    const deltas: UsageDelta[] = [...this.#pending].map(([id, p]) => ({ id, ...p }));
    this.#pending = new Map();
    try {
      const res = await this.#repo.applyUsage(deltas);
      this.#stats.usageFlushes++;
      this.#stats.usageCommits += res.commits;
      for (const r of res.updated) {
        // Refresh cached copies in place, keeping their expiry; never add new entries here.
        const c = this.#found.peek(r.tokenHash);
        if (c) c.record = freeze(r);
      }
      if (res.gone.length > 0) {
        this.#log.debug("usage dropped for revoked hooks", { hooks: res.gone.length });
      }
      // Only what was not written goes back, so a retry neither loses nor double-counts.
      this.#restore(res.failed);
      if (res.error !== undefined) throw res.error;
      if (res.failed.length > 0) {
        this.#log.warn("usage flush deferred by write conflicts", { hooks: res.failed.length });
      }
    } finally {
      if (this.#pending.size > 0 && !this.#closed) this.#schedule();
    }
  }

  #restore(deltas: UsageDelta[]): void {
    for (const d of deltas) {
      const p = this.#pending.get(d.id);
      if (p) {
        p.count += d.count;
        if (d.lastUsedAt > p.lastUsedAt) p.lastUsedAt = d.lastUsedAt;
      } else this.#pending.set(d.id, { count: d.count, lastUsedAt: d.lastUsedAt });
    }
  }
}

function freeze(r: HookRecord): HookRecord {
  Object.freeze(r.tokenHint);
  return Object.freeze(r);
}
