/**
 * Hook records in Deno KV: the atomic writes and reads behind the hook store. Knows key
 * layouts and KV limits, nothing about tokens, names or caching (that is `src/hooks/store.ts`).
 *
 * @module
 */

import * as keys from "./keys.ts";
import { commitWhenFree } from "./store_busy.ts";

/** Why a hook is paused. */
export type PauseReason = "user" | "bot_removed" | "chat_removed";

/** A paused hook answers 404 (incoming) or sends nothing (outgoing). */
export interface PauseState {
  /** When, ms since the epoch. */
  at: number;
  /** TrueConf id of who paused it, `cli` for the operator CLI, "" for the bot itself. */
  by: string;
  /** Why: by a person, or because the bot or the chat is gone. */
  reason: PauseReason;
}

/**
 * A rotation's grace period: until `until` the old token (incoming) or the old signing
 * secret (outgoing) keeps working.
 */
export interface RotationState {
  /** End of the grace period, ms since the epoch. */
  until: number;
  /** Incoming: SHA-256 hex of the old token. */
  oldTokenHash?: string;
  /** Incoming: hint of the old token, for `/webhook_info`. */
  oldTokenHint?: { head: string; tail: string };
  /** Outgoing: the old signing secret, sealed (see `secret_box.ts`). */
  oldSecret?: string;
  /** Requests that used the old URL during the grace period. */
  oldUses: number;
  /** Last use of the old URL, ms since the epoch. */
  oldLastUsedAt: number | null;
}

/** Sender verification modes of `/webhook_verify`. */
export type VerifyMode = "github" | "gitlab" | "grafana" | "standard" | "bearer";

/** How senders of an incoming hook must prove themselves. */
export interface VerificationState {
  /** Which scheme senders must pass. */
  mode: VerifyMode;
  /** The shared secret, sealed (see `secret_box.ts`): it must be usable, so it is not hashed. */
  secret: string;
}

/** The outgoing side of a hook (owned by `src/outgoing/`). */
export interface OutgoingTarget {
  /** Where events are POSTed. */
  url: string;
  /** The `whsec_` signing secret, sealed. */
  secret: string;
  /** Trigger words; empty = every event of the chat. */
  triggers: string[];
}

/**
 * `createdBy` of a hook made with `hooks create` without `--owner`: the operator at the shell,
 * no TrueConf user. Such a hook (and an imported one without an author) has nobody to DM.
 */
export const CLI_CREATOR = "cli";

/**
 * The TrueConf user who gets a hook's private notices (expiry, failed parts), or null when it
 * was made by the CLI without `--owner` or imported without an author.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(creatorToNotify({ createdBy: "alice@video.example.com" }), "alice@video.example.com");
 * assert.equal(creatorToNotify({ createdBy: CLI_CREATOR }), null);
 * assert.equal(creatorToNotify({ createdBy: "" }), null);
 * ```
 */
export function creatorToNotify(h: Pick<HookRecord, "createdBy">): string | null {
  return h.createdBy === "" || h.createdBy === CLI_CREATOR ? null : h.createdBy;
}

/** A hook as stored (without its token, which is never stored) and returned. */
export interface HookRecord {
  /** UUID. */
  id: string;
  /** `incoming` posts into the chat; `outgoing` calls a URL with the chat's events. */
  kind: "incoming" | "outgoing";
  /** TrueConf chat the hook posts into. */
  chatId: string;
  /** The chat's title as last seen from TrueConf (null when unknown, e.g. imported). */
  chatTitle: string | null;
  /** Display name, trimmed and NFC-normalized; unique per chat case-insensitively. */
  name: string;
  /** SHA-256 hex of the token. */
  tokenHash: string;
  /** First and last four characters of the token, for `abcd…wxyz` in lists. */
  tokenHint: { head: string; tail: string };
  /** Creation time, ms since the epoch. */
  createdAt: number;
  /** TrueConf id of the creator ("" when unknown, e.g. imported; {@link CLI_CREATOR}: made by the CLI without `--owner`). */
  createdBy: string;
  /** Last successful delivery, ms since the epoch. */
  lastUsedAt: number | null;
  /** Successful deliveries. */
  deliveryCount: number;
  /** Null when active. */
  paused: PauseState | null;
  /** When the hook stops working (behaves as revoked), ms since the epoch; null = never. */
  expiresAt: number | null;
  /** When the creator was warned of the expiry (so the warning goes once). */
  expiryWarnedAt: number | null;
  /**
   * When the current expiry was set, ms since the epoch; null: at creation. The reminder's
   * "half the lifetime" counts from here, so an expiry set on an old hook is not reminded of
   * at once.
   */
  expirySetAt: number | null;
  /** Null when no rotation grace period is running. */
  rotation: RotationState | null;
  /** Null when any sender is accepted. */
  verification: VerificationState | null;
  /** Client addresses or CIDRs allowed to post; null = any. */
  allow: string[] | null;
  /** Small per-hook settings of other features (e.g. `alerts`, `mentions`); absent = default. */
  settings: Record<string, string>;
  /** The target of an outgoing hook; null for incoming ones. */
  outgoing: OutgoingTarget | null;
}

/** The fields every record had before the lifecycle fields; older stored records have only these. */
export type StoredCore = Pick<
  HookRecord,
  | "id"
  | "chatId"
  | "name"
  | "tokenHash"
  | "tokenHint"
  | "createdAt"
  | "createdBy"
  | "lastUsedAt"
  | "deliveryCount"
>;

/** What is written under {@link keys.hook}: the record plus its name key, for deletes. */
type StoredHook = StoredCore & Partial<HookRecord> & { nameFolded: string };

/** The defaults of fields added after the first release, so old records read as complete. */
export function withDefaults(v: StoredCore & Partial<HookRecord>): HookRecord {
  return {
    id: v.id,
    kind: v.kind ?? "incoming",
    chatId: v.chatId,
    chatTitle: v.chatTitle ?? null,
    name: v.name,
    tokenHash: v.tokenHash,
    tokenHint: { head: v.tokenHint.head, tail: v.tokenHint.tail },
    createdAt: v.createdAt,
    createdBy: v.createdBy,
    lastUsedAt: v.lastUsedAt,
    deliveryCount: v.deliveryCount,
    paused: v.paused ?? null,
    expiresAt: v.expiresAt ?? null,
    expiryWarnedAt: v.expiryWarnedAt ?? null,
    expirySetAt: v.expirySetAt ?? null,
    rotation: v.rotation ?? null,
    verification: v.verification ?? null,
    allow: v.allow ?? null,
    settings: v.settings ?? {},
    outgoing: v.outgoing ?? null,
  };
}

/** One request of a hook, as `/webhook_info` shows it (never a secret). */
export interface HistoryEntry {
  /** ms since the epoch. */
  at: number;
  /** HTTP status answered; 0 for the later end of a queued delivery (no HTTP answer). */
  status: number;
  /** Detected body format (`native`, `slack`, …) or "" when refused before parsing. */
  format: string;
  /** `delivered`, `queued`, `partial`, `refused`, … */
  outcome: string;
  /** Machine error code, when there was one. */
  error?: string | undefined;
  /** The client address of a request on a rotated-out URL during its grace (a straggler). */
  oldUrlFrom?: string | undefined;
}

/** Most entries kept per hook in {@link HookRepo.appendHistory}. */
export const HISTORY_MAX = 10;

/**
 * What a change did, in the change feed. `usage_asked` changes no hook: the operator CLI asks
 * the serving bot to write the delivery counts it keeps in memory (`hooks list`, `hooks info`).
 */
export type ChangeKind = "created" | "updated" | "revoked" | "expired" | "usage_asked";

/** One entry of the change feed. */
export interface HookChange {
  /** Time-ordered id (see keys.hookChange). */
  changeId: string;
  /** The hook that changed. */
  hookId: string;
  /** What happened to it. */
  what: ChangeKind;
  /** Token hashes whose cached lookups are stale now. */
  tokenHashes: string[];
}

/** Outcome of {@link HookRepo.update}. */
export type UpdateResult =
  | { ok: true; before: HookRecord; after: HookRecord }
  | { ok: false; reason: "not_found" | "name_taken" };

/** What an update function returns: the next record, and its folded name when it changed. */
export interface HookUpdate {
  /** The record to write. */
  record: HookRecord;
  /** Its folded name, when the name changed (the name key moves). */
  nameFolded?: string;
}

/** Outcome of {@link HookRepo.insert}. */
export type InsertResult = "ok" | "name_taken" | "token_taken" | "id_taken";

/** Usage to add to one hook (coalesced deliveries). */
export interface UsageDelta {
  /** The hook. */
  id: string;
  /** Deliveries to add. */
  count: number;
  /** The latest of them, ms since the epoch. */
  lastUsedAt: number;
  /** Requests that used the old token of a rotation (counted into `rotation.oldUses`). */
  oldUses?: number;
  /** The last of those, ms since the epoch. */
  oldLastUsedAt?: number;
}

/** Outcome of {@link HookRepo.applyUsage}. */
export interface ApplyUsageResult {
  /** Records as written. */
  updated: HookRecord[];
  /** Ids whose hook no longer exists; their usage was dropped. */
  gone: string[];
  /** Deltas not written because of repeated write conflicts; the caller retries later. */
  failed: UsageDelta[];
  /** Atomic commits done (for measurements and metrics). */
  commits: number;
  /** Set when KV failed; the deltas not yet written are in `failed`, written ones are not. */
  error?: unknown;
}

// KV limits (see keys.ts): 10 keys per getMany, 100 checks per atomic.
const GET_MANY_MAX = 10;
const USAGE_BATCH = 100;
const RETRIES = 5;

/**
 * Hook persistence over one KV handle. Every multi-key change is a single atomic, so the
 * record and its three indexes never disagree, even with several processes on one file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const kv = await Deno.openKv(":memory:");
 * const repo = new HookRepo(kv);
 * assert.equal(await repo.getByTokenHash("0".repeat(64)), null);
 * kv.close();
 * ```
 */
export class HookRepo {
  #kv: Deno.Kv;
  #now: () => number;
  // Ids of change feed entries written here (bounded), so a watcher skips its own changes.
  #own = new Set<string>();
  /** The time part of this writer's last change id: ids only grow (see `#feed`). */
  #lastChangeMs = 0;

  /** A repository over `kv`; `now` stamps the change feed. */
  constructor(kv: Deno.Kv, now: () => number = Date.now) {
    this.#kv = kv;
    this.#now = now;
  }

  /**
   * Inserts a hook if its token, id and (chat, folded name) are all unused. The checks and
   * writes are one atomic, so of two concurrent inserts with the same name one fails.
   */
  async insert(record: HookRecord, nameFolded: string): Promise<InsertResult> {
    const tokenKey = keys.hook(record.tokenHash);
    const idKey = keys.hookId(record.id);
    const nameKey = keys.hookName(record.chatId, nameFolded);
    const stored: StoredHook = { ...record, nameFolded };
    for (let attempt = 0; attempt < RETRIES; attempt++) {
      const op = this.#kv.atomic()
        .check({ key: tokenKey, versionstamp: null })
        .check({ key: idKey, versionstamp: null })
        .check({ key: nameKey, versionstamp: null })
        .set(tokenKey, stored)
        .set(idKey, record.tokenHash)
        .set(nameKey, record.tokenHash)
        .set(keys.hookByChat(record.chatId, record.createdAt, record.id), record.tokenHash);
      this.#feed(op, record.id, "created", [record.tokenHash]);
      const res = await commitWhenFree(this.#kv, op);
      if (res.ok) return "ok";
      // KV does not say which check failed; read them. All free again means the blocker
      // was deleted in between, so try once more.
      const [t, i, n] = await this.#kv.getMany([tokenKey, idKey, nameKey]);
      if (t?.versionstamp) return "token_taken";
      if (n?.versionstamp) return "name_taken";
      if (i?.versionstamp) return "id_taken";
    }
    throw new Error(`Could not insert hook ${record.id}: KV kept reporting write conflicts.`);
  }

  /** The record whose token hashes to `tokenHash`: one KV read. */
  async getByTokenHash(tokenHash: string): Promise<HookRecord | null> {
    const e = await this.#kv.get<StoredHook>(keys.hook(tokenHash));
    return e.value ? withDefaults(e.value) : null;
  }

  /**
   * The hook whose rotated-out token hashes to `oldTokenHash`, while its grace period runs
   * (the caller compares `rotation.until` with its clock).
   */
  async getByOldTokenHash(oldTokenHash: string): Promise<HookRecord | null> {
    const e = await this.#kv.get<{ hookId: string }>(keys.hookOldToken(oldTokenHash));
    if (!e.value) return null;
    const rec = await this.getById(e.value.hookId);
    return rec?.rotation?.oldTokenHash === oldTokenHash ? rec : null;
  }

  /** The record with this id (two reads: id index, then record). */
  async getById(id: string): Promise<HookRecord | null> {
    const ref = await this.#kv.get<string>(keys.hookId(id));
    return ref.value ? await this.getByTokenHash(ref.value) : null;
  }

  /** The record named `nameFolded` in a chat. */
  async getByName(chatId: string, nameFolded: string): Promise<HookRecord | null> {
    const ref = await this.#kv.get<string>(keys.hookName(chatId, nameFolded));
    return ref.value ? await this.getByTokenHash(ref.value) : null;
  }

  /** A chat's hooks, oldest first. */
  async listByChat(chatId: string): Promise<HookRecord[]> {
    const hashes: string[] = [];
    for await (const e of this.#kv.list<string>({ prefix: keys.hooksByChatPrefix(chatId) })) {
      hashes.push(e.value);
    }
    const out: HookRecord[] = [];
    for (let i = 0; i < hashes.length; i += GET_MANY_MAX) {
      const batch = hashes.slice(i, i + GET_MANY_MAX).map((h) => keys.hook(h));
      for (const e of await this.#kv.getMany<StoredHook[]>(batch)) {
        if (e.value) out.push(withDefaults(e.value));
      }
    }
    return out;
  }

  /** Every hook, ordered by chat, then creation. */
  async listAll(): Promise<HookRecord[]> {
    const out: HookRecord[] = [];
    for await (const e of this.#kv.list<StoredHook>({ prefix: keys.hookPrefix() })) {
      out.push(withDefaults(e.value));
    }
    return out.sort((a, b) =>
      a.chatId < b.chatId ? -1 : a.chatId > b.chatId ? 1 : a.createdAt - b.createdAt ||
        (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
    );
  }

  /**
   * Changes a hook in one atomic guarded by the record's versionstamp (retried on
   * conflicts, e.g. a usage flush). `change` gets the current record and returns the next
   * one, or null to leave it as it is. A new `nameFolded` moves the unique name key (refused
   * with `name_taken` when used). A new `tokenHash` moves the record to its new key and,
   * when `rotation.oldTokenHash` is set, keeps the old token findable until `rotation.until`.
   */
  async update(
    id: string,
    change: (current: HookRecord) => HookUpdate | null,
  ): Promise<UpdateResult> {
    for (let attempt = 0; attempt < RETRIES; attempt++) {
      const ref = await this.#kv.get<string>(keys.hookId(id));
      if (!ref.value) return { ok: false, reason: "not_found" };
      const entry = await this.#kv.get<StoredHook>(keys.hook(ref.value));
      if (!entry.value) return { ok: false, reason: "not_found" };
      const stored = entry.value;
      const before = withDefaults(stored);
      const next = change(before);
      if (!next) return { ok: true, before, after: before };
      const after = withDefaults(next.record);
      const nameFolded = next.nameFolded ?? stored.nameFolded;
      const op = this.#kv.atomic().check(ref).check(entry);
      const hash = after.tokenHash;
      if (nameFolded !== stored.nameFolded) {
        const newName = keys.hookName(after.chatId, nameFolded);
        op.check({ key: newName, versionstamp: null })
          .delete(keys.hookName(stored.chatId, stored.nameFolded))
          .set(newName, hash);
      }
      const stale = [before.tokenHash];
      if (hash !== before.tokenHash) {
        op.delete(entry.key)
          .set(keys.hookId(id), hash)
          .set(keys.hookByChat(after.chatId, after.createdAt, id), hash);
        if (nameFolded === stored.nameFolded) op.set(keys.hookName(after.chatId, nameFolded), hash);
        stale.push(hash);
      }
      // At most one old token works at a time: a second rotation ends the first one's grace.
      const oldBefore = before.rotation?.oldTokenHash;
      const oldAfter = after.rotation?.oldTokenHash;
      if (oldBefore && oldBefore !== oldAfter) {
        op.delete(keys.hookOldToken(oldBefore));
        stale.push(oldBefore);
      }
      if (oldAfter && after.rotation) {
        const ms = after.rotation.until - this.#now();
        if (ms > 0) {
          op.set(keys.hookOldToken(oldAfter), { hookId: id }, { expireIn: ms + 60_000 });
        }
        stale.push(oldAfter);
      }
      op.set(keys.hook(hash), { ...after, nameFolded } satisfies StoredHook);
      this.#feed(op, id, "updated", stale);
      const res = await commitWhenFree(this.#kv, op);
      if (res.ok) return { ok: true, before, after };
      if (nameFolded !== stored.nameFolded) {
        const taken = await this.#kv.get(keys.hookName(after.chatId, nameFolded));
        if (taken.versionstamp) return { ok: false, reason: "name_taken" };
      }
    }
    throw new Error(`Could not update hook ${id}: KV kept reporting write conflicts.`);
  }

  /**
   * Deletes a hook, all its index entries, its old-token alias and its history in one
   * atomic; returns what was deleted, or null if there was no such hook. Retries when a
   * concurrent write (a usage flush) races. `what` is recorded in the change feed.
   */
  async delete(id: string, what: "revoked" | "expired" = "revoked"): Promise<HookRecord | null> {
    for (let attempt = 0; attempt < RETRIES; attempt++) {
      const ref = await this.#kv.get<string>(keys.hookId(id));
      if (!ref.value) return null;
      const rec = await this.#kv.get<StoredHook>(keys.hook(ref.value));
      const op = this.#kv.atomic()
        .check(ref)
        .check(rec)
        .delete(ref.key)
        .delete(keys.hookHistory(id));
      const stale = [ref.value];
      if (rec.value) {
        const v = rec.value;
        op.delete(rec.key)
          .delete(keys.hookName(v.chatId, v.nameFolded))
          .delete(keys.hookByChat(v.chatId, v.createdAt, v.id));
        const old = v.rotation?.oldTokenHash;
        if (old) {
          op.delete(keys.hookOldToken(old));
          stale.push(old);
        }
      }
      this.#feed(op, id, what, stale);
      const res = await commitWhenFree(this.#kv, op);
      if (res.ok) return rec.value ? withDefaults(rec.value) : null;
    }
    throw new Error(`Could not delete hook ${id}: KV kept reporting write conflicts.`);
  }

  /**
   * Asks the process following the change feed (the serving bot) to write the delivery counts
   * and request history it keeps in memory: a feed entry naming no hook.
   */
  async askForUsage(): Promise<void> {
    const op = this.#kv.atomic();
    this.#feed(op, "", "usage_asked", []);
    await commitWhenFree(this.#kv, op); // no checks: nothing to conflict with
  }

  /** The id of the newest change feed entry ("" when none): one read, for pollers. */
  async changeHead(): Promise<string> {
    return (await this.#kv.get<string>(keys.hookChangeHead())).value ?? "";
  }

  /** Records that the serving bot has applied the change feed up to `changeId`. */
  async markApplied(changeId: string): Promise<void> {
    await this.#kv.set(keys.hookChangeApplied(), changeId);
  }

  /** The change feed head the serving bot has applied ("" when none yet): one read. */
  async appliedChange(): Promise<string> {
    return (await this.#kv.get<string>(keys.hookChangeApplied())).value ?? "";
  }

  /**
   * Change feed entries with an id greater than `afterId`, oldest first (at most 1 000).
   * Entries live for an hour.
   */
  async changesSince(afterId: string): Promise<HookChange[]> {
    const out: HookChange[] = [];
    const iter = this.#kv.list<HookChange>(
      afterId
        ? {
          start: [...keys.hookChangePrefix(), afterId + "\0"],
          end: [...keys.hookChangePrefix(), "\uffff"],
        }
        : { prefix: keys.hookChangePrefix() },
      { limit: 1_000 },
    );
    for await (const e of iter) out.push(e.value);
    return out;
  }

  /** The request history of a hook, oldest first (at most {@link HISTORY_MAX}). */
  async history(id: string): Promise<HistoryEntry[]> {
    return (await this.#kv.get<HistoryEntry[]>(keys.hookHistory(id))).value ?? [];
  }

  /**
   * Appends request history entries per hook, keeping the newest {@link HISTORY_MAX}: one
   * bounded value per hook. A hook deleted meanwhile gets no history back (checked).
   */
  async appendHistory(entries: ReadonlyMap<string, readonly HistoryEntry[]>): Promise<void> {
    const ids = [...entries.keys()];
    for (let i = 0; i < ids.length; i += GET_MANY_MAX / 2) {
      const part = ids.slice(i, i + GET_MANY_MAX / 2);
      const got = await this.#kv.getMany<unknown[]>(
        part.flatMap((id) => [keys.hookId(id), keys.hookHistory(id)]),
      );
      const op = this.#kv.atomic();
      part.forEach((id, j) => {
        const ref = got[2 * j]!;
        const hist = got[2 * j + 1] as Deno.KvEntryMaybe<HistoryEntry[]>;
        if (!ref.versionstamp) return;
        const merged = [...(hist.value ?? []), ...(entries.get(id) ?? [])].slice(-HISTORY_MAX);
        op.check(ref).set(keys.hookHistory(id), merged);
      });
      await commitWhenFree(this.#kv, op); // a conflict (revoke racing) loses only history lines
    }
  }

  /** True for change feed entries this repo wrote (the writer already applied them). */
  isOwnChange(changeId: string): boolean {
    return this.#own.has(changeId);
  }

  #feed(op: Deno.AtomicOperation, hookId: string, what: ChangeKind, tokenHashes: string[]): void {
    // Bumped past this writer's last id (as the outbox's seq is): two changes within one
    // millisecond were ordered by their random tails, and one sorting before the head the bot
    // had applied read as applied at once (HookStore.changesApplied), before the bot had it.
    const ms = Math.max(this.#now(), this.#lastChangeMs + 1);
    this.#lastChangeMs = ms;
    const changeId = `${String(ms).padStart(15, "0")}-${crypto.randomUUID().slice(0, 8)}`;
    this.#own.add(changeId);
    if (this.#own.size > 1_000) this.#own.delete(this.#own.values().next().value!);
    const change: HookChange = { changeId, hookId, what, tokenHashes };
    op.set(keys.hookChange(changeId), change, { expireIn: keys.HOOK_CHANGE_TTL_MS })
      .set(keys.hookChangeHead(), changeId);
  }

  /**
   * Adds coalesced usage to hooks: up to 100 hooks per atomic (KV's check limit), each
   * guarded by a check on the record's versionstamp so a hook revoked meanwhile is not
   * written back to life.
   */
  async applyUsage(deltas: UsageDelta[]): Promise<ApplyUsageResult> {
    const result: ApplyUsageResult = { updated: [], gone: [], failed: [], commits: 0 };
    for (let i = 0; i < deltas.length; i += USAGE_BATCH) {
      const batch = deltas.slice(i, i + USAGE_BATCH);
      try {
        await this.#applyBatch(batch, result);
      } catch (e) {
        // Report exactly what was not written, so the caller neither loses nor
        // double-counts deliveries when it retries.
        result.failed.push(...batch, ...deltas.slice(i + USAGE_BATCH));
        result.error = e;
        break;
      }
    }
    return result;
  }

  async #applyBatch(deltas: UsageDelta[], result: ApplyUsageResult): Promise<void> {
    let batch = deltas;
    for (let attempt = 0; batch.length > 0; attempt++) {
      if (attempt === RETRIES) {
        result.failed.push(...batch);
        break;
      }
      const { present, gone } = await this.#readForUsage(batch);
      result.gone.push(...gone);
      batch = batch.filter((d) => !gone.includes(d.id));
      if (present.length === 0) break;
      const op = this.#kv.atomic();
      const written: HookRecord[] = [];
      for (const { delta, entry } of present) {
        const v = entry.value;
        const next: StoredHook = {
          ...v,
          deliveryCount: v.deliveryCount + delta.count,
          lastUsedAt: delta.count > 0
            ? Math.max(v.lastUsedAt ?? 0, delta.lastUsedAt)
            : v.lastUsedAt,
        };
        if (delta.oldUses && v.rotation) {
          next.rotation = {
            ...v.rotation,
            oldUses: (v.rotation.oldUses ?? 0) + delta.oldUses,
            oldLastUsedAt: Math.max(v.rotation.oldLastUsedAt ?? 0, delta.oldLastUsedAt ?? 0),
          };
        }
        op.check(entry).set(entry.key, next);
        written.push(withDefaults(next));
      }
      result.commits++;
      const res = await commitWhenFree(this.#kv, op);
      if (res.ok) {
        result.updated.push(...written);
        break;
      }
    }
  }

  async #readForUsage(batch: UsageDelta[]) {
    const present: { delta: UsageDelta; entry: Deno.KvEntry<StoredHook> }[] = [];
    const gone: string[] = [];
    for (let i = 0; i < batch.length; i += GET_MANY_MAX) {
      const part = batch.slice(i, i + GET_MANY_MAX);
      const refs = await this.#kv.getMany<string[]>(part.map((d) => keys.hookId(d.id)));
      const withHash = part.flatMap((d, j) => {
        const hash = refs[j]?.value;
        if (!hash) gone.push(d.id);
        return hash ? [{ d, hash }] : [];
      });
      const recs = await this.#kv.getMany<StoredHook[]>(withHash.map((x) => keys.hook(x.hash)));
      withHash.forEach(({ d }, j) => {
        const e = recs[j];
        if (e?.value && e.versionstamp) {
          present.push({ delta: d, entry: e as Deno.KvEntry<StoredHook> });
        } else gone.push(d.id);
      });
    }
    return { present, gone };
  }
}
