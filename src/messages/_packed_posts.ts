/**
 * The message registry's packed rows: the posts of one commit in one KV row, keyed by the
 * earliest TrueConf timestamp among them (`["posted_b", minTs, rowId]`, src/storage/keys.ts),
 * and how a post is found in them again from its id and timestamp.
 *
 * **Why packed.** One row per post cost KV's writer thread 8–11 µs and the main thread 4–9 µs
 * per delivery; the ~50 posts of a commit in one row cost about 4 and 2 µs per post
 * (docs/benchmarks.md, "Packed registry rows").
 *
 * **Bounded span.** TrueConf answers concurrent sends as they finish, so one commit's posts are
 * not in timestamp order, and a slow answer may carry a timestamp seconds older than its
 * neighbours'. A commit's posts are sorted by timestamp and cut into rows spanning at most
 * {@link MAX_SPAN_MS}; so the row holding a post of timestamp `ts` has its key's timestamp in
 * `[ts − MAX_SPAN_MS, ts]`, and a lookup lists those rows newest first, stopping at the first
 * that holds the id. Commits follow each other in time, so that is the first or one of the first
 * few rows listed; the span bounds the worst case (the rows of one second).
 *
 * **The value.** `{at, p}`: `at` is when the commit's first post was made (this process's
 * clock; the row's 30 days count from it, also after a restore), `p` one JSON string
 * `[hooks, chats, posts]` where each post is `[messageId, ts − minTs, hook index, chat index,
 * kind (0 text, 1 file), key?, caption?]` (a file's caption message on 5.5.6+ servers, with the
 * key `null` when it has none). One string serialises as one copy (V8's serializer walks an
 * array of arrays element by element), hook and chat ids are written once per row, and a lookup
 * skips a row whose string does not contain the id without parsing it.
 *
 * @module
 */
import { postedBatch, postedBatchRange } from "../storage/keys.ts";

/**
 * The widest span of TrueConf timestamps in one packed row, ms: a post whose timestamp lies
 * further than this after its row's earliest starts another row, so a lookup lists at most the
 * rows begun within this span before the post's timestamp.
 */
export const MAX_SPAN_MS = 1_000;

/**
 * Characters of a row's JSON string at which a row is closed. KV takes values up to 64 KiB and
 * V8 writes a string of characters beyond Latin-1 with two bytes each: rows stay far below.
 */
const MAX_ROW_CHARS = 16_000;

/** Rows listed per KV round trip while looking up an id: the first row usually holds it. */
const SCAN_BATCH = 4;

/** A post as the registry knows it: whose, which message, and its record. */
export interface PackedPost {
  readonly hookId: string;
  readonly messageId: string;
  readonly rec: {
    readonly chatId: string;
    readonly kind: "text" | "file";
    readonly key: string | null;
    /** When it was posted (this process's clock). */
    readonly at: number;
    /** TrueConf's timestamp of the post; only posts that have one are packed. */
    readonly ts: number | null;
    /** A file's caption message (5.5.6+). */
    readonly caption?: string | undefined;
  };
}

/** A packed row's KV value. */
export interface PackedValue {
  /** When the row's first post was made (ms since the epoch): its 30 days count from here. */
  readonly at: number;
  /** `[hooks, chats, posts]` as JSON; see the module doc. */
  readonly p: string;
}

/** A row to set: its key and value. */
export interface PackedRow {
  readonly key: Deno.KvKey;
  readonly value: PackedValue;
}

type Tuple = [string, number, number, number, 0 | 1] | [
  string,
  number,
  number,
  number,
  0 | 1,
  string | null,
] | [string, number, number, number, 1, string | null, string];

/**
 * The rows for some posts (each with a timestamp), sorted by it in place and cut by
 * {@link MAX_SPAN_MS} and by size. `rowId` names each new row (unique per process and row).
 */
export function packRows(posts: PackedPost[], rowId: () => string): PackedRow[] {
  posts.sort((a, b) => a.rec.ts! - b.rec.ts!);
  const rows: PackedRow[] = [];
  let from = 0;
  let chars = 0;
  for (let i = 0; i < posts.length; i++) {
    const r = posts[i]!.rec;
    const size = 24 + posts[i]!.messageId.length + r.chatId.length + (r.key?.length ?? 0);
    if (i > from && (r.ts! - posts[from]!.rec.ts! > MAX_SPAN_MS || chars + size > MAX_ROW_CHARS)) {
      rows.push(...rowsOf(posts.slice(from, i), rowId, posts[from]!.rec.ts!));
      from = i;
      chars = 0;
    }
    chars += size;
  }
  if (from < posts.length) {
    rows.push(...rowsOf(from === 0 ? posts : posts.slice(from), rowId, posts[from]!.rec.ts!));
  }
  return rows;
}

/**
 * One row of `posts` keyed at `minTs` (at most their earliest timestamp), or two halves when
 * what the size estimate let through turns out too long (ids full of characters JSON escapes).
 */
function rowsOf(posts: readonly PackedPost[], rowId: () => string, minTs: number): PackedRow[] {
  const p = encode(posts, minTs);
  if (p.length > 2 * MAX_ROW_CHARS && posts.length > 1) {
    const half = posts.length >> 1;
    return [
      ...rowsOf(posts.slice(0, half), rowId, minTs),
      ...rowsOf(posts.slice(half), rowId, posts[half]!.rec.ts!),
    ];
  }
  let at = posts[0]!.rec.at;
  for (const post of posts) if (post.rec.at < at) at = post.rec.at;
  return [{ key: postedBatch(minTs, rowId()), value: { at, p } }];
}

function encode(posts: readonly PackedPost[], minTs: number): string {
  // Maps, not indexOf: with 50 hooks posting, a linear search of the hook table cost ~1 µs per
  // post (36-character ids compared one by one); a map's lookup uses each id's cached hash.
  const hooks = new Map<string, number>();
  const chats = new Map<string, number>();
  const tuples: Tuple[] = [];
  for (const { hookId, messageId, rec } of posts) {
    let h = hooks.get(hookId);
    if (h === undefined) hooks.set(hookId, h = hooks.size);
    let c = chats.get(rec.chatId);
    if (c === undefined) chats.set(rec.chatId, c = chats.size);
    const kind = rec.kind === "file" ? 1 : 0;
    const dt = rec.ts! - minTs;
    tuples.push(
      kind === 1 && rec.caption
        ? [messageId, dt, h, c, 1, rec.key, rec.caption]
        : rec.key === null
        ? [messageId, dt, h, c, kind]
        : [messageId, dt, h, c, kind, rec.key],
    );
  }
  return JSON.stringify([[...hooks.keys()], [...chats.keys()], tuples]);
}

/** The posts of a packed row; throws for a value that is not one. */
export function unpack(key: Deno.KvKey, value: PackedValue): PackedPost[] {
  const minTs = key[1] as number;
  const [hooks, chats, tuples] = JSON.parse(value.p) as [string[], string[], Tuple[]];
  return tuples.map(([messageId, dt, h, c, kind, key = null, caption]) => ({
    hookId: hooks[h]!,
    messageId,
    rec: caption === undefined
      ? { chatId: chats[c]!, kind: kind === 1 ? "file" : "text", key, at: value.at, ts: minTs + dt }
      : { chatId: chats[c]!, kind: "file", key, at: value.at, ts: minTs + dt, caption },
  }));
}

/** A post found in a packed row, with the row as read (for a versionstamp check). */
export interface FoundPost {
  readonly post: PackedPost;
  readonly entry: Deno.KvEntry<PackedValue>;
  readonly posts: PackedPost[];
}

/**
 * The post `messageId` of TrueConf timestamp `ts` in the packed rows, or null. Lists the rows
 * begun within {@link MAX_SPAN_MS} before `ts`, newest first, parsing only a row whose string
 * holds the id.
 */
export async function findPacked(
  kv: Deno.Kv,
  ts: number,
  messageId: string,
): Promise<FoundPost | null> {
  const needle = JSON.stringify(messageId);
  const rows = kv.list<PackedValue>(postedBatchRange(ts - MAX_SPAN_MS, ts), {
    reverse: true,
    batchSize: SCAN_BATCH,
  });
  for await (const entry of rows) {
    if (typeof entry.value?.p !== "string" || !entry.value.p.includes(needle)) continue;
    const posts = unpack(entry.key, entry.value);
    const post = posts.find((p) => p.messageId === messageId && p.rec.ts === ts);
    if (post) return { post, entry, posts };
  }
  return null;
}

/**
 * The row `found` came from without its post, under the same key (its key's timestamp stays
 * at most the earliest left), or null when it held only that post.
 */
export function withoutPost(found: FoundPost): PackedRow | null {
  const left = found.posts.filter((p) => p !== found.post);
  if (left.length === 0) return null;
  const key = found.entry.key;
  return { key, value: { at: found.entry.value.at, p: encode(left, key[1] as number) } };
}
