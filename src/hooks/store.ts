/**
 * The hook store: create, resolve, list and revoke hooks, with a bounded cache in front of
 * token lookups and coalesced usage counters behind deliveries. Persistence is
 * `src/storage/hook_repo.ts`; this file never touches KV keys itself.
 *
 * @module
 */

import { generateSecret as generateWhsecSecret } from "./signing_secret.ts";
import { type BoundedCache, boundedCache } from "../bounded_cache.ts";
import { type Logger, silentLogger } from "../log.ts";
import { errorText } from "../error_text.ts";
import { RetryWarnings, step, StepError } from "../step_error.ts";
import {
  HISTORY_MAX,
  type HistoryEntry,
  type HookChange,
  type HookRecord,
  HookRepo,
  type PauseReason,
  SecretBox,
  type UsageDelta,
  type VerifyMode,
  withDefaults,
} from "../storage/mod.ts";
import { foldHookName, HOOK_NAME_MAX_LENGTH, unquoteName, validateHookName } from "./hook_name.ts";
import { type ImportSkip, parseReferenceFile } from "./reference_import.ts";
import { generateToken, hashToken, looksLikeToken, tokenHint } from "./token.ts";

export type {
  HistoryEntry,
  HookRecord,
  PauseReason,
  PauseState,
  RotationState,
  VerificationState,
  VerifyMode,
} from "../storage/mod.ts";
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
  now?: (() => number) | undefined;
  /** Where creations, revocations and flush failures are logged. Default: silent. */
  logger?: Logger;
  /** Seals verification secrets. Default: a random in-memory key (tests only; production
   * passes the storage's box so secrets survive restarts and are readable by the CLI). */
  secrets?: SecretBox;
  /**
   * How often {@link HookStore.watch} polls for changes made by other processes. Default 500 ms.
   * 0: no poll of its own, the caller runs {@link HookStore.pollChanges} when told (the bot
   * does on the store's doorbell, which the CLI rings: src/storage/doorbell.ts says why).
   */
  pollIntervalMs?: number;
  /** Called with the hook's id on each request that used a rotated-out token during its grace
   * (the bot counts it in `trueconf_webhook_rotated_token_uses_total{hook}`). */
  onOldTokenUse?: ((hookId: string) => void) | undefined;
}

/** Why a hook stopped working for good: revoked by a person, or its expiry passed. */
export type EndReason = "hook_revoked" | "hook_expired";

/** A hook found by its token; `viaOldToken` when the token is a rotated-out one in its grace. */
export type FoundHook = HookRecord & { readonly viaOldToken?: boolean };

/** Result of the lifecycle changes that can fail. */
export type ChangeResult =
  | {
    ok: true;
    /** The hook after the change, usage including deliveries not yet flushed. */
    hook: HookRecord;
    /** The hook as it was stored before the change (for {@link HookStore.undoRotation}). */
    before: HookRecord;
  }
  | { ok: false; reason: "not_found" | "name_taken" | "invalid_name" | "invalid"; message: string };

/** Longest rotation grace period: 7 days. */
export const MAX_GRACE_MS = 7 * 86_400_000;

/** Result of {@link HookStore.create}. */
export type CreateResult =
  | { ok: true; hook: HookRecord; token: string }
  | { ok: false; reason: "duplicate_name" | "invalid_name" | "too_many"; message: string };

/**
 * The most hooks (incoming and outgoing together) one chat may have. Any member may create
 * hooks when `WEBHOOK_ADMIN_ONLY` is off, and each is a KV record, a token lookup and a line in
 * every list: a bound keeps one member (or a script in a chat) from growing the store without
 * end. Checked before the insert, not inside its atomic: creates racing each other at the
 * limit each see the count before the others land and may all pass (docs/limits.md).
 */
export const MAX_HOOKS_PER_CHAT = 100;

/** `name (n)`, cut so it stays a valid name. */
function numberedName(base: string, n: number): { name: string; folded: string } {
  const suffix = ` (${n})`;
  const head = [...base].slice(0, HOOK_NAME_MAX_LENGTH - suffix.length).join("").trim();
  const v = validateHookName(`${head}${suffix}`);
  if (!v.ok) throw new Error(`unreachable: a numbered name is invalid (${v.code})`);
  return v;
}

/** Result of {@link HookStore.importReferenceJson}. */
export interface ImportResult {
  /** Hooks imported. */
  imported: number;
  /** The hooks imported (no tokens). */
  importedHooks: HookRecord[];
  /** Records not imported, with the reason. */
  skipped: ImportSkip[];
  /** Imported hooks whose record broke a rule, and what was stored instead. */
  adjusted: { index: number; hookId: string; notes: string[] }[];
}

/** Counters for metrics and benchmarks. */
export interface HookStoreStats {
  /** Token lookups answered from memory. */
  cacheHits: number;
  /** Token lookups that read KV. */
  cacheMisses: number;
  /** Usage flushes run. */
  usageFlushes: number;
  /** KV commits those flushes made. */
  usageCommits: number;
}

interface Cached {
  record: HookRecord;
  /** True when this cache entry is for the hook's rotated-out token. */
  old: boolean;
  expiresAt: number;
}

/** A chat's outgoing hooks as cached: read, or being read (see HookStore.outgoingByChat). */
interface ChatOutgoing {
  hooks: readonly HookRecord[] | Promise<readonly HookRecord[]>;
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
  #onOldTokenUse: (hookId: string) => void;
  #ttl: number;
  #negativeTtl: number;
  #interval: number;
  // Found hooks and unknown tokens live in separate caches, so a flood of random tokens
  // can only evict other unknown tokens, never the hooks real senders use. Entries expire
  // lazily on read (no timers sweep them). Both are made on first use and grow with their
  // entries (src/bounded_cache.ts says why).
  #cacheMax: number;
  #foundCache: BoundedCache<string, Cached> | undefined;
  #unknownCache: BoundedCache<string, number> | undefined;
  get #found(): BoundedCache<string, Cached> {
    return this.#foundCache ??= boundedCache(this.#cacheMax);
  }
  get #unknown(): BoundedCache<string, number> {
    return this.#unknownCache ??= boundedCache(this.#cacheMax);
  }
  // Each chat's outgoing hooks (none, for most chats), by chat id: the outgoing service asks on
  // every chat message. Emptied by any hook change (#changed), here or seen in the change feed.
  #chatOutgoingCache: BoundedCache<string, ChatOutgoing> | undefined;
  // Bumped by every create, import and revoke. A lookup caches its KV answer only if no
  // such change happened while it was reading, so a revoke racing with a lookup cannot
  // leave the revoked hook cached, and a create cannot be hidden by a stale "unknown".
  #generation = 0;
  #pending = new Map<string, Pending>();
  #history = new Map<string, HistoryEntry[]>();
  #secrets: SecretBox | Promise<SecretBox>;
  #ended = new Set<(hookId: string, reason: EndReason, hook: HookRecord | null) => void>();
  #pollMs: number;
  #poll: ReturnType<typeof setTimeout> | undefined;
  #cursor = "";
  /** The change id last recorded as applied for the CLI (undefined: none yet). */
  #marked: string | undefined;
  /** Since when and why the change feed cannot be read (see {@link feedUnread}). */
  #unread: FeedUnread | null = null;
  /** The change feed poll's warnings: one when a failure starts, a few while it lasts. */
  #pollWarnings: RetryWarnings;
  /** The operator CLI asked for the delivery counts; written before the feed is marked applied. */
  #usageAsked = false;
  #seen = new Set<string>();
  #polling: Promise<void> | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #flushChain: Promise<void> = Promise.resolve();
  #closed = false;
  #warnedClosed = false;
  #stats: HookStoreStats = { cacheHits: 0, cacheMisses: 0, usageFlushes: 0, usageCommits: 0 };

  /** A store over `kv`; nothing is read until the first call. */
  constructor(kv: Deno.Kv, options: HookStoreOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#repo = new HookRepo(kv, this.#now);
    this.#secrets = options.secrets ?? SecretBox.forStorage(":memory:");
    this.#pollMs = options.pollIntervalMs ?? 500;
    this.#log = options.logger ?? silentLogger;
    this.#pollWarnings = new RetryWarnings(this.#log, {
      otherwise: "could not follow the hook change feed",
      recovered: "hook change feed readable again",
      now: this.#now,
    });
    this.#onOldTokenUse = options.onOldTokenUse ?? (() => {});
    this.#ttl = options.cacheTtlMs ?? 30_000;
    this.#negativeTtl = options.negativeCacheTtlMs ?? Math.min(5_000, this.#ttl);
    this.#interval = options.usageFlushIntervalMs ?? 5_000;
    this.#cacheMax = options.cacheMax ?? 10_000;
  }

  /**
   * Creates a hook. The plaintext token is in the result once and is never stored.
   * Name uniqueness per chat is enforced by the KV atomic, not by a prior read.
   */
  async create(input: {
    chatId: string;
    name: string;
    createdBy: string;
    chatTitle?: string | null | undefined;
    /** ms since the epoch; null or absent = never. */
    expiresAt?: number | null | undefined;
    /** `outgoing` for outgoing hooks (then give `outgoing`); default `incoming`. */
    kind?: HookRecord["kind"] | undefined;
    /** The target of an outgoing hook. */
    outgoing?: HookRecord["outgoing"] | undefined;
  }): Promise<CreateResult> {
    if (input.chatId === "") throw new TypeError("create: chatId is empty");
    const name = validateHookName(input.name);
    if (!name.ok) return { ok: false, reason: "invalid_name", message: name.reason };
    if ((await this.#repo.listByChat(input.chatId)).length >= MAX_HOOKS_PER_CHAT) {
      return {
        ok: false,
        reason: "too_many",
        message:
          `this chat has ${MAX_HOOKS_PER_CHAT} webhooks already, the most one chat may have; revoke one it no longer needs first`,
      };
    }
    for (let attempt = 0; attempt < 3; attempt++) {
      const token = generateToken();
      const record: HookRecord = {
        id: crypto.randomUUID(),
        kind: "incoming",
        chatId: input.chatId,
        chatTitle: input.chatTitle ?? null,
        name: name.name,
        tokenHash: await hashToken(token),
        tokenHint: tokenHint(token),
        createdAt: this.#now(),
        createdBy: input.createdBy,
        lastUsedAt: null,
        deliveryCount: 0,
        paused: null,
        expiresAt: input.expiresAt ?? null,
        expiryWarnedAt: null,
        expirySetAt: null,
        rotation: null,
        verification: null,
        allow: null,
        settings: {},
        outgoing: input.outgoing ?? null,
      };
      if (input.kind) record.kind = input.kind;
      const res = await this.#repo.insert(record, name.folded);
      if (res === "ok") {
        this.#changed([record.tokenHash]);
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
   * Resolves a token to a working hook: a cache hit, else one KV read by the token's hash
   * (and a second one, for the rotated-out tokens in their grace period, when the first
   * finds nothing). Paused and expired hooks, and old tokens whose grace ended, are null:
   * a sender cannot tell them from unknown tokens. Strings that cannot be tokens return
   * null without hashing. Each use of an old token is logged and counted. A cached answer
   * comes at once, not as a promise: no promise or frame per request (issue 16).
   */
  findByToken(token: string): FoundHook | null | Promise<FoundHook | null> {
    if (!looksLikeToken(token)) return null;
    const hash = hashToken(token);
    return hash instanceof Promise ? hash.then((h) => this.#find(h)) : this.#find(hash);
  }

  /** {@link findByToken} by hash: at once from the caches, a promise when KV must be read. */
  #find(hash: string): FoundHook | null | Promise<FoundHook | null> {
    const now = this.#now();
    const hit = this.#found.get(hash);
    if (hit && hit.expiresAt > now) {
      this.#stats.cacheHits++;
      return this.#usable(hit.record, hit.old, now);
    }
    const miss = this.#unknown.get(hash);
    if (miss !== undefined && miss > now) {
      this.#stats.cacheHits++;
      return null;
    }
    return this.#read(hash, now);
  }

  async #read(hash: string, now: number): Promise<FoundHook | null> {
    this.#stats.cacheMisses++;
    const generation = this.#generation;
    let record = await this.#repo.getByTokenHash(hash);
    let old = false;
    if (!record) {
      record = await this.#repo.getByOldTokenHash(hash);
      old = record !== null;
    }
    if (generation === this.#generation) {
      if (record) {
        this.#found.set(hash, { record: freeze(record), old, expiresAt: now + this.#ttl });
        this.#unknown.delete(hash);
      } else {
        this.#found.delete(hash);
        this.#unknown.set(hash, now + this.#negativeTtl);
      }
    }
    return record ? this.#usable(record, old, now) : null;
  }

  /** The hook with this id. */
  async get(id: string): Promise<HookRecord | null> {
    return this.#withPending(await this.#repo.getById(id));
  }

  /**
   * The hook named `name` in a chat (trimmed, case-insensitive); a name in quotes that no hook
   * has with them is looked up without them (`"Prod deploys"`, see {@link unquoteName}).
   */
  async findByName(chatId: string, name: string): Promise<HookRecord | null> {
    const folded = foldHookName(name);
    if (folded === "") return null;
    const found = await this.#repo.getByName(chatId, folded);
    if (found) return this.#withPending(found);
    const bare = unquoteName(name);
    return bare === name ? null : await this.findByName(chatId, bare);
  }

  /** A chat's hooks, oldest first, usage including deliveries not yet flushed. */
  async listByChat(chatId: string): Promise<HookRecord[]> {
    return (await this.#repo.listByChat(chatId)).map((r) => this.#withPending(r));
  }

  /**
   * A chat's outgoing hooks (paused and expired ones included), for the outgoing service, which
   * asks on every message of every chat the bot is in. It read the chat's hook list from KV each
   * time; the answer is now cached per chat (a chat without any too) until a hook changes, in
   * this process or in another one (the operator CLI: the change feed this store follows, on
   * the bot's doorbell, empties it as it drops stale tokens), or `cacheTtlMs` passes: the bound
   * a token lookup has too, should the feed be unreadable. The records are as read: their
   * delivery counts are not the latest (ask {@link listByChat} or {@link get} for those).
   */
  outgoingByChat(chatId: string): readonly HookRecord[] | Promise<readonly HookRecord[]> {
    const now = this.#now();
    const hit = this.#chatOutgoingCache?.get(chatId);
    if (hit && hit.expiresAt > now) return hit.hooks;
    return this.#readOutgoing(chatId, now);
  }

  /**
   * Reads a chat's outgoing hooks once for everyone who asks meanwhile: a burst of messages in
   * a chat not asked about yet (its events, and a command's trigger, handled side by side) is
   * one KV read, not one per message in flight. The read is kept only if no hook changed while
   * it ran (#changed empties the cache, read in flight included); a failed one is not kept.
   */
  #readOutgoing(chatId: string, now: number): Promise<readonly HookRecord[]> {
    const cache = this.#chatOutgoingCache ??= boundedCache(this.#cacheMax);
    const entry: ChatOutgoing = { hooks: [], expiresAt: now + this.#ttl };
    const reading = this.#repo.listByChat(chatId).then(
      (records) => {
        const hooks = Object.freeze(records.filter((h) => h.kind === "outgoing").map(freeze));
        if (cache.get(chatId) === entry) entry.hooks = hooks;
        return hooks;
      },
      (err) => {
        if (cache.get(chatId) === entry) cache.delete(chatId);
        throw err;
      },
    );
    entry.hooks = reading;
    cache.set(chatId, entry);
    return reading;
  }

  /** Every hook, by chat then creation (for the sysadmin CLI). */
  async listAll(): Promise<HookRecord[]> {
    return (await this.#repo.listAll()).map((r) => this.#withPending(r));
  }

  /**
   * Deletes a hook and its indexes atomically. The very next {@link findByToken} in this
   * process returns null, and {@link onRevoked} listeners run (here at once; in a process
   * that {@link watch}es, within a poll interval).
   */
  async revoke(id: string, reason: EndReason = "hook_revoked"): Promise<boolean> {
    const gone = await this.#repo.delete(id, reason === "hook_expired" ? "expired" : "revoked");
    this.#pending.delete(id);
    this.#history.delete(id);
    if (!gone) return false;
    this.#changed([
      gone.tokenHash,
      ...(gone.rotation?.oldTokenHash ? [gone.rotation.oldTokenHash] : []),
    ], true);
    this.#log.info(reason === "hook_expired" ? "hook expired" : "hook revoked", {
      hook: gone.id,
      chat: gone.chatId,
    });
    this.#emitEnded(id, reason, gone);
    return true;
  }

  /** Revokes the hook named `name` in a chat; returns it, or null if there was none. */
  async revokeByName(chatId: string, name: string): Promise<HookRecord | null> {
    const hook = await this.findByName(chatId, name);
    if (!hook) return null;
    return (await this.revoke(hook.id)) ? hook : null;
  }

  /**
   * Calls `listener(hookId, reason, hook)` whenever a hook ends (revoked or expired), in this
   * process or, while {@link watch} runs, in another one (then `hook` is null). Returns an
   * unsubscribe function. Listeners may be called twice for one hook; make them idempotent.
   */
  onRevoked(
    listener: (hookId: string, reason: EndReason, hook: HookRecord | null) => void,
  ): () => void {
    this.#ended.add(listener);
    return () => this.#ended.delete(listener);
  }

  /** Pauses a hook (a paused incoming hook answers 404; an outgoing one sends nothing). */
  pause(id: string, by: string, reason: PauseReason = "user"): Promise<ChangeResult> {
    return this.#update(
      id,
      (h) => h.paused ? null : { ...h, paused: { at: this.#now(), by, reason } },
    );
  }

  /** Resumes a paused hook (no-op when it is not paused). */
  resume(id: string): Promise<ChangeResult> {
    return this.#update(id, (h) => h.paused ? { ...h, paused: null } : null);
  }

  /**
   * Pauses every active hook of a chat (the bot was removed from it, or the chat was);
   * returns the hooks paused now (already paused ones are left as they are).
   */
  async pauseChat(chatId: string, reason: Exclude<PauseReason, "user">): Promise<HookRecord[]> {
    const paused: HookRecord[] = [];
    for (const h of await this.#repo.listByChat(chatId)) {
      if (h.paused) continue;
      const r = await this.pause(h.id, "", reason);
      if (r.ok) paused.push(r.hook);
    }
    return paused;
  }

  /** Renames a hook (same rules as create; its URL is unchanged). */
  async rename(id: string, newName: string): Promise<ChangeResult> {
    const name = validateHookName(newName);
    if (!name.ok) return { ok: false, reason: "invalid_name", message: name.reason };
    return await this.#update(id, (h) => ({ ...h, name: name.name }), name.folded);
  }

  /**
   * Rotates a hook's secret part: an incoming hook gets a new token (its URL), an outgoing hook
   * a new signing secret. The old one keeps working for `graceMs` (0: stops at once; at most
   * {@link MAX_GRACE_MS}): the old URL is still accepted, or every call carries both
   * signatures. The new token or secret is in the result once, to be shown once (by DM, or on
   * standard output); `undoRotation` takes it back when it could not be handed over.
   */
  async rotate(
    id: string,
    graceMs: number,
  ): Promise<ChangeResult & { token?: string; secret?: string }> {
    if (!(graceMs >= 0 && graceMs <= MAX_GRACE_MS)) {
      return {
        ok: false,
        reason: "invalid",
        message: "The grace period must be between 0 and 7 days.",
      };
    }
    const current = await this.get(id);
    if (current?.kind === "outgoing" && current.outgoing) {
      return await this.#rotateSigningSecret(id, graceMs);
    }
    const token = generateToken();
    const tokenHash = await hashToken(token);
    const now = this.#now();
    const res = await this.#update(id, (h) => ({
      ...h,
      tokenHash,
      tokenHint: tokenHint(token),
      rotation: graceMs > 0
        ? {
          until: now + graceMs,
          oldTokenHash: h.tokenHash,
          oldTokenHint: h.tokenHint,
          oldUses: 0,
          oldLastUsedAt: null,
        }
        : null,
    }));
    if (!res.ok) return res;
    this.#log.info("hook token rotated", { hook: id, graceMs });
    return { ...res, token };
  }

  /** An outgoing hook's new signing secret; during the grace the old one signs too. */
  async #rotateSigningSecret(
    id: string,
    graceMs: number,
  ): Promise<ChangeResult & { secret?: string }> {
    const secret = generateWhsecSecret();
    const sealed = await this.sealSecret(secret);
    const now = this.#now();
    const res = await this.#update(id, (h) =>
      h.kind === "outgoing" && h.outgoing
        ? {
          ...h,
          outgoing: { ...h.outgoing, secret: sealed },
          rotation: graceMs > 0
            ? {
              until: now + graceMs,
              oldSecret: h.outgoing.secret,
              oldUses: 0,
              oldLastUsedAt: null,
            }
            : null,
        }
        : null);
    if (!res.ok) return res;
    if (res.hook.outgoing?.secret !== sealed) {
      return { ok: false, reason: "not_found", message: `No outgoing webhook with id ${id}.` };
    }
    this.#log.info("hook signing secret rotated", { hook: id, graceMs });
    return { ...res, secret };
  }

  /**
   * Takes back a rotation whose new URL or signing secret could not be handed over (the
   * private message failed): the token, the signing secret and the rotation state return to
   * `before`, so the URL or secret the senders have keeps working with no grace running out.
   * Does nothing when the hook changed again since (it no longer holds `after`'s token or
   * secret).
   */
  undoRotation(
    before: HookRecord,
    after: Pick<HookRecord, "tokenHash" | "outgoing">,
  ): Promise<ChangeResult> {
    return this.#update(
      before.id,
      (h) =>
        h.tokenHash !== after.tokenHash || h.outgoing?.secret !== after.outgoing?.secret ? null : {
          ...h,
          tokenHash: before.tokenHash,
          tokenHint: before.tokenHint,
          rotation: before.rotation,
          outgoing: h.outgoing && before.outgoing
            ? { ...h.outgoing, secret: before.outgoing.secret }
            : h.outgoing,
        },
    );
  }

  /**
   * Rotation bookkeeping for kinds whose secret lives elsewhere (outgoing signing secrets):
   * sets `rotation` as given (or null to end it).
   */
  setRotation(id: string, rotation: HookRecord["rotation"]): Promise<ChangeResult> {
    return this.#update(id, (h) => ({ ...h, rotation }));
  }

  /**
   * Sets (ms since the epoch) or clears (null) a hook's expiry; the warning is due again, at
   * half the time from now or three days before, whichever is later.
   */
  setExpiry(id: string, expiresAt: number | null): Promise<ChangeResult> {
    const now = this.#now();
    return this.#update(id, (h) => ({ ...h, expiresAt, expiryWarnedAt: null, expirySetAt: now }));
  }

  /** Notes that the creator was warned of the expiry. */
  markExpiryWarned(id: string): Promise<ChangeResult> {
    return this.#update(id, (h) => ({ ...h, expiryWarnedAt: this.#now() }));
  }

  /**
   * Turns sender verification on with a new generated secret (returned once, stored
   * sealed), or off with `null`.
   */
  async setVerification(
    id: string,
    mode: VerifyMode | null,
  ): Promise<ChangeResult & { secret?: string }> {
    if (mode === null) return await this.#update(id, (h) => ({ ...h, verification: null }));
    const secret = generateSecret(mode);
    const sealed = await (await this.#secrets).seal(secret);
    const res = await this.#update(id, (h) => ({ ...h, verification: { mode, secret: sealed } }));
    return res.ok ? { ...res, secret } : res;
  }

  /** Opens a sealed secret of a record (verification or outgoing signing secrets). */
  async openSecret(sealed: string): Promise<string> {
    return await (await this.#secrets).open(sealed);
  }

  /** Seals a secret with the store's key (for fields other modules own, e.g. `outgoing`). */
  async sealSecret(plain: string): Promise<string> {
    return await (await this.#secrets).seal(plain);
  }

  /** Sets the client addresses allowed to post (already validated), or null for any. */
  setAllow(id: string, allow: string[] | null): Promise<ChangeResult> {
    return this.#update(id, (h) => ({ ...h, allow }));
  }

  /** Sets one small per-hook setting of another feature (`alerts`, `mentions`); null removes it. */
  setSetting(id: string, key: string, value: string | null): Promise<ChangeResult> {
    return this.#update(id, (h) => {
      const settings = { ...h.settings };
      if (value === null) delete settings[key];
      else settings[key] = value;
      return { ...h, settings };
    });
  }

  /** Remembers a chat's title (for `hooks list`) on its hooks when it changed. */
  async rememberChatTitle(chatId: string, title: string): Promise<void> {
    for (const h of await this.#repo.listByChat(chatId)) {
      if (h.chatTitle !== title) await this.#update(h.id, (r) => ({ ...r, chatTitle: title }));
    }
  }

  /**
   * A generic change for fields owned by other modules (e.g. `outgoing`): `change` gets
   * the current record and returns the next one, or null to keep it.
   */
  update(id: string, change: (current: HookRecord) => HookRecord | null): Promise<ChangeResult> {
    return this.#update(id, change);
  }

  /**
   * Remembers one request of a hook for `/webhook_info` (kept in memory, written with the
   * usage flush; at most {@link HISTORY_MAX} per hook in KV).
   */
  recordRequest(hookId: string, entry: Omit<HistoryEntry, "at"> & { at?: number }): void {
    const list = this.#history.get(hookId) ?? [];
    list.push({ ...entry, at: entry.at ?? this.#now() });
    if (list.length > HISTORY_MAX) list.splice(0, list.length - HISTORY_MAX);
    this.#history.set(hookId, list);
    if (!this.#closed) this.#schedule();
  }

  /** The last requests of a hook, oldest first, including ones not yet written. */
  async history(hookId: string): Promise<HistoryEntry[]> {
    const stored = await this.#repo.history(hookId);
    return [...stored, ...(this.#history.get(hookId) ?? [])].slice(-HISTORY_MAX);
  }

  /**
   * Hooks whose expiry is due (`expiresAt <= now`) and hooks whose creator should be warned
   * now: three days before the expiry, or at half the lifetime when that is shorter.
   */
  async dueExpiries(): Promise<{ expired: HookRecord[]; warn: HookRecord[] }> {
    const now = this.#now();
    const expired: HookRecord[] = [];
    const warn: HookRecord[] = [];
    for (const h of await this.#repo.listAll()) {
      if (h.expiresAt === null) continue;
      if (h.expiresAt <= now) expired.push(h);
      else if (h.expiryWarnedAt === null && now >= warnAt(h)) warn.push(h);
    }
    return { expired, warn };
  }

  /**
   * Follows changes made by other processes (the operator CLI): polls one KV key every
   * `pollIntervalMs` and, when it moved, drops the stale cache entries and tells
   * {@link onRevoked} listeners about hooks revoked elsewhere. Stopped by {@link close}.
   *
   * Never throws: a first read of the feed that fails (a store busy or failing for a moment)
   * is warned of like any poll's, {@link feedUnread} says so, and the next poll is its retry.
   * That poll reads the feed from the time of this call, so a change another process made
   * meanwhile (a revoke) is applied then, not taken as seen. It threw before, and the bot,
   * which starts its doorbell after it, followed none of the CLI's changes for its whole life.
   */
  async watch(): Promise<void> {
    if (this.#poll !== undefined || this.#closed) return;
    // Other processes stamp their changes with their own clocks: the earlier of this store's
    // (a test's) and the system's, so no change made after this call sorts before it.
    const startedAt = Math.min(this.#now(), Date.now());
    try {
      this.#cursor = await this.#readFeed(() => this.#repo.changeHead());
    } catch (e) {
      // A cursor of this time (no change has this id): the next poll re-reads from 2 s before.
      this.#cursor = String(startedAt).padStart(15, "0");
      this.#marked = this.#cursor; // nothing was applied yet to tell the CLI about
      this.#warnPoll(e);
    }
    // What is in the store at the start is applied (a CLI command racing the start waits on it);
    // a write that fails is warned of and made again at the next poll.
    await this.#markApplied().then(
      () => this.#unread === null && this.#pollWarnings.succeeded(),
      (e) => this.#warnPoll(e),
    );
    if (this.#pollMs <= 0) return; // the caller runs pollChangesOrWarn (the bot: on its doorbell)
    const tick = () => {
      this.#polling = this.pollChangesOrWarn()
        .finally(() => {
          this.#polling = undefined;
          if (this.#closed) return;
          this.#poll = setTimeout(tick, this.#pollMs);
          Deno.unrefTimer(this.#poll);
        });
    };
    this.#poll = setTimeout(tick, this.#pollMs);
    Deno.unrefTimer(this.#poll);
  }

  /**
   * One poll of the change feed; throws a {@link StepError} naming the step that failed
   * (the read of the feed, or the write that tells the CLI how far this process got).
   */
  async pollChanges(): Promise<void> {
    const head = await this.#readFeed(() => this.#repo.changeHead());
    if (head !== this.#cursor) {
      // Change ids are time-ordered per writer, but a slow commit can land after a newer
      // one: re-read the last 2 s on every poll and skip the entries already applied.
      const ms = Number(this.#cursor.slice(0, 15)) || 0;
      const from = this.#cursor === "" ? "" : String(Math.max(0, ms - 2_000)).padStart(15, "0");
      for (const c of await this.#readFeed(() => this.#repo.changesSince(from))) {
        if (this.#seen.has(c.changeId)) continue;
        this.#seen.add(c.changeId);
        if (this.#seen.size > 10_000) this.#seen.delete(this.#seen.values().next().value!);
        this.#applyRemote(c);
      }
      this.#cursor = head;
    }
    // Counts the CLI asked for are written before it is told the feed was applied.
    if (this.#usageAsked) {
      await step(FLUSH_FAILED, () => this.flush());
      this.#usageAsked = false;
    }
    await this.#markApplied();
  }

  /**
   * {@link pollChanges}, its failure logged as a warning that names the failed step; never
   * throws. What {@link watch} runs on its timer and the bot on its doorbell; the next poll is
   * the retry.
   */
  async pollChangesOrWarn(): Promise<void> {
    try {
      await this.pollChanges();
      this.#pollWarnings.succeeded();
    } catch (e) {
      this.#warnPoll(e);
    }
  }

  /**
   * Tells the CLI the changes up to the cursor have reached this process (see changesApplied):
   * one write per poll that saw changes, none while nothing changes, and the write that failed
   * is made again at the next poll (the cursor moved on; the CLI would wait in vain).
   */
  async #markApplied(): Promise<void> {
    const head = this.#cursor;
    if (this.#marked === head) return;
    await step(WRITE_FAILED, () => this.#repo.markApplied(head));
    this.#marked = head;
  }

  /**
   * Since when (ms, this store's clock) the change feed cannot be read, and the last error;
   * null while it is read. Meanwhile what other processes change (the operator CLI's revokes,
   * pauses and asks for counts) does not reach this one: the bot reports it on `/readyz`.
   */
  get feedUnread(): FeedUnread | null {
    return this.#unread;
  }

  /** One read of the change feed: its failure is a {@link StepError} and {@link feedUnread}. */
  async #readFeed<T>(read: () => Promise<T>): Promise<T> {
    try {
      const value = await step(READ_FAILED, read);
      this.#unread = null;
      return value;
    } catch (e) {
      const error = errorText(e instanceof StepError ? e.cause : e);
      this.#unread = { since: this.#unread?.since ?? this.#now(), error };
      throw e;
    }
  }

  #warnPoll(e: unknown): void {
    this.#pollWarnings.failed(e);
  }

  /**
   * Asks the bot that {@link watch}es this store (another process: the CLI's `hooks list` and
   * `hooks info`) to write the delivery counts and request history it keeps in memory, which
   * it otherwise writes every `usageFlushIntervalMs`; {@link changesApplied} says when it has.
   * Nothing more per delivery: the bot writes on the ask, as it does on its timer.
   */
  async askForUsage(): Promise<void> {
    await this.#repo.askForUsage();
  }

  /**
   * Waits until the bot that {@link watch}es this store (another process: the CLI asks) has
   * applied every change made so far, polling every `pollMs`; false after `timeoutMs`. Ask it
   * only while such a bot runs (its lease is live), or it waits the whole time.
   */
  async changesApplied(timeoutMs = 3_000, pollMs = 25): Promise<boolean> {
    const head = await this.#repo.changeHead();
    const end = Date.now() + timeoutMs;
    while ((await this.#repo.appliedChange()) < head) {
      if (Date.now() >= end) return false;
      await new Promise((r) => setTimeout(r, pollMs));
    }
    return true;
  }

  /**
   * Counts one successful delivery. Only memory is touched; the sums are written in
   * batches by a flush `usageFlushIntervalMs` after the first unflushed delivery, by
   * {@link flush}, and by {@link close}.
   */
  recordDelivery(hookId: string, at: number = this.#now()): void {
    const p = this.#pendingFor(hookId);
    p.count++;
    if (at > p.lastUsedAt) p.lastUsedAt = at;
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
    if (this.#poll !== undefined) clearTimeout(this.#poll);
    this.#poll = undefined;
    await this.#polling;
    try {
      await this.flush();
    } catch (error) {
      // A full disk at shutdown: the counters since the last flush are lost, nothing else is;
      // the shutdown must go on (release the lease, close KV).
      this.#log.error("hook usage could not be written at shutdown; the last counts are lost", {
        error,
      });
    }
  }

  /**
   * Imports the reference Python bot's `webhooks.json` (already parsed). Keeps each token
   * working by storing its hash; idempotent (a token already present is skipped as
   * "already imported"); records without a chat or a usable token are skipped with a reason,
   * never fatal. A name another hook of the chat has gets a number (`Deploys (2)`), reported
   * in `adjusted` with the record's other mended fields: the URL is what senders use. Throws
   * {@link ReferenceFormatError} only when the top level is not `{"webhooks": [...]}`.
   */
  async importReferenceJson(json: unknown): Promise<ImportResult> {
    const { hooks, skipped } = await parseReferenceFile(json, this.#now());
    const importedHooks: HookRecord[] = [];
    const adjusted: ImportResult["adjusted"] = [];
    for (const h of hooks) {
      const tokenHash = await hashToken(h.token);
      let id = h.id ?? crypto.randomUUID();
      let name = { name: h.name, folded: h.nameFolded };
      for (let attempt = 0, number = 1;;) {
        const record: HookRecord = withDefaults({
          id,
          chatId: h.chatId,
          name: name.name,
          tokenHash,
          tokenHint: tokenHint(h.token),
          createdAt: h.createdAt,
          createdBy: h.createdBy,
          lastUsedAt: h.lastUsedAt,
          deliveryCount: h.usageCount,
        });
        const res = await this.#repo.insert(record, name.folded);
        if (res === "ok") {
          this.#changed([tokenHash]);
          importedHooks.push(freeze(record));
          const notes = number > 1
            ? [...h.adjusted, `name "${h.name}" is another hook's in this chat → "${name.name}"`]
            : h.adjusted;
          if (notes.length) adjusted.push({ index: h.index, hookId: id, notes });
        } else if (res === "id_taken" && attempt++ < 3) {
          id = crypto.randomUUID(); // same id, different token: keep the hook, new id
          continue;
        } else if (res === "name_taken" && number++ < 20) {
          name = numberedName(h.name, number);
          continue;
        } else {
          skipped.push({
            index: h.index,
            name: h.name,
            chatId: h.chatId,
            reason: res === "token_taken"
              ? "already imported"
              : res === "name_taken"
              ? `the name and ${number - 1} numbered forms of it are taken in this chat`
              : "could not find a free id",
          });
        }
        break;
      }
    }
    skipped.sort((a, b) => a.index - b.index);
    this.#log.info("reference import", { imported: importedHooks.length, skipped: skipped.length });
    return { imported: importedHooks.length, importedHooks, skipped, adjusted };
  }

  /** Cache and usage counters (a copy). */
  stats(): HookStoreStats {
    return { ...this.#stats };
  }

  #changed(tokenHashes: readonly string[], revoked = false): void {
    this.#generation++;
    // Hook changes are rare (an operator's command): every chat's outgoing hooks are read
    // again, rather than finding which chat a change from another process was in.
    this.#chatOutgoingCache = undefined;
    for (const hash of tokenHashes) {
      this.#found.delete(hash);
      if (revoked) this.#unknown.set(hash, this.#now() + this.#negativeTtl);
      else this.#unknown.delete(hash);
    }
  }

  /** A found record as the endpoint may use it now, or null (paused, expired, grace over). */
  #usable(record: HookRecord, old: boolean, now: number): FoundHook | null {
    // Outgoing hooks have a (never shown) token only for the key layout: nothing may POST.
    if (record.kind !== "incoming" || record.paused) return null;
    if (record.expiresAt !== null && record.expiresAt <= now) return null;
    if (!old) return this.#withPending(record);
    if (!record.rotation || record.rotation.until <= now) return null;
    this.#log.info("old webhook URL used during its grace period", {
      hook: record.id,
      chat: record.chatId,
      graceUntil: new Date(record.rotation.until).toISOString(),
    });
    this.#pendingFor(record.id).oldUses++;
    this.#pendingFor(record.id).oldLastUsedAt = now;
    this.#onOldTokenUse(record.id);
    this.#schedule();
    return Object.freeze({ ...this.#withPending(record), viaOldToken: true });
  }

  async #update(
    id: string,
    change: (current: HookRecord) => HookRecord | null,
    nameFolded?: string,
  ): Promise<ChangeResult> {
    const res = await this.#repo.update(id, (cur) => {
      const next = change(cur);
      if (!next) return null;
      return nameFolded === undefined ? { record: next } : { record: next, nameFolded };
    });
    if (!res.ok) {
      return res.reason === "name_taken"
        ? {
          ok: false,
          reason: "name_taken",
          message: "Another webhook in this chat already has that name.",
        }
        : { ok: false, reason: "not_found", message: `No webhook with id ${id}.` };
    }
    const hashes = [res.before.tokenHash, res.after.tokenHash];
    if (res.before.rotation?.oldTokenHash) hashes.push(res.before.rotation.oldTokenHash);
    if (res.after.rotation?.oldTokenHash) hashes.push(res.after.rotation.oldTokenHash);
    // The replaced token of a rotation without grace must not linger as "found" anywhere.
    this.#changed(hashes);
    if (res.before.tokenHash !== res.after.tokenHash && !res.after.rotation?.oldTokenHash) {
      this.#unknown.set(res.before.tokenHash, this.#now() + this.#negativeTtl);
    }
    return { ok: true, hook: this.#withPending(freeze(res.after)), before: freeze(res.before) };
  }

  #applyRemote(c: HookChange): void {
    if (this.#repo.isOwnChange(c.changeId)) return;
    if (c.what === "usage_asked") {
      this.#usageAsked = true;
      return;
    }
    this.#changed(c.tokenHashes, c.what === "revoked" || c.what === "expired");
    if (c.what === "revoked" || c.what === "expired") {
      this.#pending.delete(c.hookId);
      this.#history.delete(c.hookId);
      this.#log.info("hook ended elsewhere", { hook: c.hookId, what: c.what });
      this.#emitEnded(c.hookId, c.what === "expired" ? "hook_expired" : "hook_revoked", null);
    }
  }

  #emitEnded(id: string, reason: EndReason, hook: HookRecord | null): void {
    for (const l of this.#ended) {
      try {
        l(id, reason, hook);
      } catch (e) {
        this.#log.error("hook end listener failed", { hook: id, error: e });
      }
    }
  }

  #pendingFor(id: string): Pending {
    let p = this.#pending.get(id);
    if (!p) {
      p = { count: 0, lastUsedAt: 0, oldUses: 0, oldLastUsedAt: 0 };
      this.#pending.set(id, p);
    }
    return p;
  }

  #withPending(record: HookRecord): HookRecord;
  #withPending(record: HookRecord | null): HookRecord | null;
  #withPending(record: HookRecord | null): HookRecord | null {
    if (!record) return null;
    const p = this.#pending.get(record.id);
    if (!p) return record;
    const rotation = record.rotation && p.oldUses > 0
      ? {
        ...record.rotation,
        oldUses: record.rotation.oldUses + p.oldUses,
        oldLastUsedAt: Math.max(record.rotation.oldLastUsedAt ?? 0, p.oldLastUsedAt),
      }
      : record.rotation;
    return freeze({
      ...record,
      rotation,
      deliveryCount: record.deliveryCount + p.count,
      lastUsedAt: p.count > 0 ? Math.max(record.lastUsedAt ?? 0, p.lastUsedAt) : record.lastUsedAt,
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
    if (this.#history.size > 0) {
      const history = this.#history;
      this.#history = new Map();
      try {
        await this.#repo.appendHistory(history);
      } catch (e) {
        this.#log.warn("request history not written", { hooks: history.size, error: e });
      }
    }
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
      const p = this.#pendingFor(d.id);
      p.count += d.count;
      if (d.lastUsedAt > p.lastUsedAt) p.lastUsedAt = d.lastUsedAt;
      p.oldUses += d.oldUses ?? 0;
      if ((d.oldLastUsedAt ?? 0) > p.oldLastUsedAt) p.oldLastUsedAt = d.oldLastUsedAt ?? 0;
    }
  }
}

interface Pending {
  count: number;
  lastUsedAt: number;
  oldUses: number;
  oldLastUsedAt: number;
}

const DAY = 86_400_000;

/**
 * When the creator is warned: three days before expiry, or at half the lifetime if shorter.
 * The lifetime starts when the expiry was set (at creation, or by `/webhook_expire`).
 */
export function warnAt(
  h: Pick<HookRecord, "createdAt" | "expiresAt"> & Partial<Pick<HookRecord, "expirySetAt">>,
): number {
  if (h.expiresAt === null) return Infinity;
  const from = h.expirySetAt ?? h.createdAt;
  return Math.max(h.expiresAt - 3 * DAY, from + (h.expiresAt - from) / 2);
}

/**
 * A new verification secret in the form each sender expects: Standard Webhooks (and GitLab,
 * whose signing uses it) a `whsec_` secret, the others a URL-safe random string.
 */
function generateSecret(mode: VerifyMode): string {
  return mode === "standard" || mode === "gitlab" ? generateWhsecSecret() : generateToken();
}

function freeze<T extends HookRecord>(r: T): T {
  Object.freeze(r.tokenHint);
  return Object.freeze(r);
}

/** The change feed cannot be read: see {@link HookStore.feedUnread}. */
export interface FeedUnread {
  /** The first failed read of this spell (ms since the epoch, the store's clock). */
  readonly since: number;
  /** The last failed read's error, as text. */
  readonly error: string;
}

const READ_FAILED = "could not read the hook change feed";
const WRITE_FAILED = "could not record that the hook changes were applied";
const FLUSH_FAILED = "could not write the delivery counts the operator CLI asked for";
