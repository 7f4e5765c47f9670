/**
 * A logical backup of the whole store, without sqlite3: every KV entry (hooks, names, queued
 * deliveries and their spooled bytes, delivery statuses, idempotency records, request history)
 * as one JSON line, and the way back into an empty store. Tokens are in the store only as
 * hashes, so they are only hashes in the backup too; secrets the bot must keep readable are
 * sealed with the store's key (WEBHOOK_SECRET_KEY or `secret.key` next to the KV file), which
 * a restore needs as well.
 *
 * The format (JSON Lines): a header `{"format":"trueconf-webhook-bot-backup","version":1,…}`,
 * then `{"key":[…],"value":…}` per entry. JSON cannot carry every KV type, so a value or key
 * part that is not plain JSON is tagged: `{"$":"bytes","v":"<base64>"}`, `{"$":"bigint","v":"…"}`,
 * `{"$":"u64","v":"…"}`, `{"$":"date","v":"<ISO>"}`, `{"$":"undefined"}`, and an object that
 * itself has a `$` key as `{"$":"object","v":{…}}`.
 *
 * @module
 */
import { PROCESS_SPACES, restoreExpireIn } from "./keys.ts";

/** The header line's `format`. */
export const BACKUP_FORMAT = "trueconf-webhook-bot-backup";

/** What {@link importStore} did. */
export interface ImportReport {
  /** Records written. */
  readonly entries: number;
  /** Records left out because they had expired by now (finished deliveries, idempotency keys). */
  readonly expired: number;
}

/** A backup line that cannot be read, or a store that cannot take the import. */
export class BackupError extends Error {
  /** Always `BackupError`. */
  override name = "BackupError";
}

/**
 * Every entry of the store as backup lines (header first), in key order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const kv = await Deno.openKv(":memory:");
 * await kv.set(["hook", "h1"], { name: "deploys", bytes: new Uint8Array([1, 2]) });
 * const lines = [];
 * for await (const line of exportStore(kv)) lines.push(line);
 * assert.equal(lines.length, 2);
 * assert.equal(JSON.parse(lines[1]!).value.bytes.$, "bytes");
 * kv.close();
 * ```
 */
export async function* exportStore(kv: Deno.Kv): AsyncGenerator<string> {
  yield JSON.stringify({ format: BACKUP_FORMAT, version: 1, created: new Date().toISOString() });
  for await (const e of kv.list({ prefix: [] })) {
    if (PROCESS_SPACES.has(String(e.key[0]))) continue;
    yield JSON.stringify({
      key: e.key.map((p) => encode(p, e.key)),
      value: encode(e.value, e.key),
    });
  }
}

/**
 * Writes backup lines into a store that holds nothing yet (a lease is allowed: that of the
 * process doing the import, if any). Throws {@link BackupError} for a non-empty store or a
 * line that is not a backup line; nothing is written then.
 */
export async function importStore(
  kv: Deno.Kv,
  lines: AsyncIterable<string> | Iterable<string>,
): Promise<ImportReport> {
  for await (const e of kv.list({ prefix: [] }, { limit: 10 })) {
    // A fresh store may hold its key check already (a serve opened it): the backup's own check
    // replaces it and tells the next start whether it has the key the backup's secrets need.
    if (!PROCESS_SPACES.has(String(e.key[0])) && e.key[0] !== "secret_key_check") {
      throw new BackupError(
        "the store already holds data; restore into a new WEBHOOK_STORAGE_PATH (or move the old file away)",
      );
    }
  }
  const entries: { key: Deno.KvKey; value: unknown }[] = [];
  let n = 0;
  let header = false;
  for await (const raw of lines) {
    n++;
    const line = raw.trim();
    if (!line) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      throw new BackupError(`line ${n} is not JSON`);
    }
    const o = parsed as Record<string, unknown>;
    if (!header) {
      if (o?.format !== BACKUP_FORMAT || o.version !== 1) {
        throw new BackupError(`line ${n} is not a ${BACKUP_FORMAT} version 1 header`);
      }
      header = true;
      continue;
    }
    if (!Array.isArray(o?.key) || !("value" in o)) {
      throw new BackupError(`line ${n}: expected {key, value}`);
    }
    const key = o.key.map((p) => decode(p, n)) as Deno.KvKey;
    entries.push({ key, value: decode(o.value, n) });
  }
  if (!header) throw new BackupError("the file is empty: no backup header");
  // Entries that expire get their lifetime back (KV's own expiry is not in the backup: it
  // cannot be read); those already expired are left out.
  const now = Date.now();
  const kept: { key: Deno.KvKey; value: unknown; expireIn: number | null }[] = [];
  for (const e of entries) {
    const expireIn = restoreExpireIn(e.key, e.value, now);
    if (expireIn !== 0) kept.push({ ...e, expireIn });
  }
  // Small atomic batches: KV allows 1 000 mutations and about 800 KiB per commit.
  for (let i = 0; i < kept.length;) {
    let op = kv.atomic();
    let bytes = 0;
    let count = 0;
    while (i < kept.length && count < 200 && bytes < 400_000) {
      const e = kept[i++]!;
      op = e.expireIn === null
        ? op.set(e.key, e.value)
        : op.set(e.key, e.value, { expireIn: e.expireIn });
      bytes += approxSize(e.value);
      count++;
    }
    const res = await op.commit();
    if (!res.ok) throw new BackupError("a write was refused while restoring");
  }
  return { entries: kept.length, expired: entries.length - kept.length };
}

function approxSize(v: unknown): number {
  if (v instanceof Uint8Array) return v.byteLength;
  try {
    return JSON.stringify(v, (_k, x) => typeof x === "bigint" ? String(x) : x)?.length ?? 8;
  } catch {
    return 1_000;
  }
}

function encode(v: unknown, at: Deno.KvKey): unknown {
  if (v === null || typeof v === "string" || typeof v === "boolean") return v;
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new BackupError(`a non-finite number at ${JSON.stringify(at)}`);
    return v;
  }
  if (v === undefined) return { $: "undefined" };
  if (typeof v === "bigint") return { $: "bigint", v: String(v) };
  if (v instanceof Uint8Array) {
    return { $: "bytes", v: v.toBase64() };
  }
  if (v instanceof Date) return { $: "date", v: v.toISOString() };
  if (v instanceof Deno.KvU64) return { $: "u64", v: String(v.value) };
  if (Array.isArray(v)) return v.map((x) => encode(x, at));
  if (typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = encode(x, at);
    return "$" in out ? { $: "object", v: out } : out;
  }
  throw new BackupError(
    `a value of type ${Object.prototype.toString.call(v)} at ${
      JSON.stringify(at, (_k, x) => typeof x === "bigint" ? String(x) : x)
    } cannot be exported`,
  );
}

function decode(v: unknown, line: number): unknown {
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map((x) => decode(x, line));
  const o = v as Record<string, unknown>;
  if ("$" in o) {
    switch (o.$) {
      case "undefined":
        return undefined;
      case "bigint":
        return BigInt(String(o.v));
      case "bytes":
        try {
          return Uint8Array.fromBase64(String(o.v));
        } catch {
          throw new BackupError(`line ${line}: bytes that are not base64`);
        }
      case "date":
        return new Date(String(o.v));
      case "u64":
        return new Deno.KvU64(BigInt(String(o.v)));
      case "object":
        return decodePlain(o.v as Record<string, unknown>, line);
      default:
        throw new BackupError(`line ${line}: unknown tag ${JSON.stringify(o.$)}`);
    }
  }
  return decodePlain(o, line);
}

function decodePlain(o: Record<string, unknown>, line: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(o)) out[k] = decode(x, line);
  return out;
}
