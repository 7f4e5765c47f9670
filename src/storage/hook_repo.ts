/**
 * Hook records in Deno KV: the atomic writes and reads behind the hook store. Knows key
 * layouts and KV limits, nothing about tokens, names or caching (that is `src/hooks/store.ts`).
 *
 * @module
 */

import * as keys from "./keys.ts";

/** A hook as stored (without its token, which is never stored) and returned. */
export interface HookRecord {
  /** UUID. */
  id: string;
  /** TrueConf chat the hook posts into. */
  chatId: string;
  /** Display name, trimmed and NFC-normalized; unique per chat case-insensitively. */
  name: string;
  /** SHA-256 hex of the token. */
  tokenHash: string;
  /** First and last four characters of the token, for `abcd…wxyz` in lists. */
  tokenHint: { head: string; tail: string };
  /** Creation time, ms since the epoch. */
  createdAt: number;
  /** TrueConf id of the creator ("" when unknown, e.g. imported). */
  createdBy: string;
  /** Last successful delivery, ms since the epoch. */
  lastUsedAt: number | null;
  /** Successful deliveries. */
  deliveryCount: number;
}

/** What is written under {@link keys.hook}: the record plus its name key, for deletes. */
interface StoredHook extends HookRecord {
  nameFolded: string;
}

/** Outcome of {@link HookRepo.insert}. */
export type InsertResult = "ok" | "name_taken" | "token_taken" | "id_taken";

/** Usage to add to one hook (coalesced deliveries). */
export interface UsageDelta {
  id: string;
  count: number;
  lastUsedAt: number;
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

  constructor(kv: Deno.Kv) {
    this.#kv = kv;
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
      const res = await this.#kv.atomic()
        .check({ key: tokenKey, versionstamp: null })
        .check({ key: idKey, versionstamp: null })
        .check({ key: nameKey, versionstamp: null })
        .set(tokenKey, stored)
        .set(idKey, record.tokenHash)
        .set(nameKey, record.tokenHash)
        .set(keys.hookByChat(record.chatId, record.createdAt, record.id), record.tokenHash)
        .commit();
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
    return e.value ? toRecord(e.value) : null;
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
        if (e.value) out.push(toRecord(e.value));
      }
    }
    return out;
  }

  /** Every hook, ordered by chat, then creation. */
  async listAll(): Promise<HookRecord[]> {
    const out: HookRecord[] = [];
    for await (const e of this.#kv.list<StoredHook>({ prefix: keys.hookPrefix() })) {
      out.push(toRecord(e.value));
    }
    return out.sort((a, b) =>
      a.chatId < b.chatId ? -1 : a.chatId > b.chatId ? 1 : a.createdAt - b.createdAt ||
        (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
    );
  }

  /**
   * Deletes a hook and all its index entries in one atomic; returns what was deleted, or
   * null if there was no such hook. Retries when a concurrent write (a usage flush) races.
   */
  async delete(id: string): Promise<HookRecord | null> {
    for (let attempt = 0; attempt < RETRIES; attempt++) {
      const ref = await this.#kv.get<string>(keys.hookId(id));
      if (!ref.value) return null;
      const rec = await this.#kv.get<StoredHook>(keys.hook(ref.value));
      const op = this.#kv.atomic()
        .check(ref)
        .check(rec)
        .delete(ref.key);
      if (rec.value) {
        const v = rec.value;
        op.delete(rec.key)
          .delete(keys.hookName(v.chatId, v.nameFolded))
          .delete(keys.hookByChat(v.chatId, v.createdAt, v.id));
      }
      const res = await op.commit();
      if (res.ok) return rec.value ? toRecord(rec.value) : null;
    }
    throw new Error(`Could not delete hook ${id}: KV kept reporting write conflicts.`);
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
          lastUsedAt: Math.max(v.lastUsedAt ?? 0, delta.lastUsedAt),
        };
        op.check(entry).set(entry.key, next);
        written.push(toRecord(next));
      }
      result.commits++;
      const res = await op.commit();
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

function toRecord(v: StoredHook): HookRecord {
  return {
    id: v.id,
    chatId: v.chatId,
    name: v.name,
    tokenHash: v.tokenHash,
    tokenHint: { head: v.tokenHint.head, tail: v.tokenHint.tail },
    createdAt: v.createdAt,
    createdBy: v.createdBy,
    lastUsedAt: v.lastUsedAt,
    deliveryCount: v.deliveryCount,
  };
}
