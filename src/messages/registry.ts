/**
 * What each hook posted, for 30 days: the ids `PATCH`/`DELETE /hook/<token>/messages/<id>`
 * may touch, the message each sender key names, and the message of each alert group or CI
 * run. Every record carries its own KV `expireIn`, so the registry is bounded by time
 * (30 days) and, through the per-hook rate limit, by size; nothing sweeps it.
 *
 * **A commit's posts in one row, keyed by time.** TrueConf's `sendMessage`/`sendFile` answer
 * `{chatId, messageId, timestamp}` (ms, TrueConf's clock; protocol reference §4.1, §4.5), and
 * `getMessageById` answers the message's envelope with the same `timestamp` (§5.2). Posts are
 * committed in rounds (one commit in flight, what arrived meanwhile is the next, begun at least
 * 20 ms after the previous one: hundreds of posts at c64), and the posts of one commit go into
 * one row `["posted_b", minTimestamp, rowId]` that lists each post with its hook, chat, kind and
 * key (_packed_posts.ts; cut into more rows when their timestamps lie more than a second apart
 * or the row grows long). Time-keyed rows land on the
 * table's last B-tree page (TrueConf's random ids put each row on a page of its own), and one
 * row per commit instead of one per post costs KV's writer thread and the main thread about
 * half as much per post (docs/benchmarks.md, "Packed registry rows"). Sessions 4–5 wrote one
 * row per post, `["posted_t", timestamp, messageId]`: still read until they expire.
 *
 * **Finding an id.** Nothing but the id is known when a `PATCH`/`DELETE`/`reply_to` names
 * one, so a lookup goes, stopping at the first hit:
 * 1. memory: posts whose commit has not landed, and a ring of the recent posts and lookups;
 * 2. `["posted", hookId, messageId]`, the id-keyed row (one `kv.get`): what every post had
 *    before session 4 (those rows are read until they expire, never rewritten), what a post
 *    gets whose answer carried no timestamp (the client then falls back to its own clock, which
 *    `getMessageById` would not repeat), and what an edited post gets (below);
 * 3. for an id given as a sender key, the key's row, which carries the post's timestamp;
 * 4. TrueConf: `getMessageById` for the timestamp, then the packed rows begun within a second
 *    before it, newest first (usually the first holds it), or the `posted_t` row of that
 *    timestamp. At most one such round trip per request: its answer joins the ring, so the
 *    queue's second look (when the edit is posted) is answered from memory. A message TrueConf
 *    says is gone (306/307) or will not show the bot is unknown (404); when TrueConf cannot be
 *    asked (disconnected, timeout, a transient error) the lookup throws, and `PATCH`/`DELETE`
 *    answer `503 trueconf_unavailable` with `Retry-After` (living_dispatcher.ts), since neither
 *    the message's owner nor its kind can be known; ids and keys found locally still queue.
 *
 * **Ownership.** A packed row names the hook of each post in it: a hook finds only its own
 * posts; another hook's id answers 404 like an unknown one.
 *
 * **Removal.** A removed message's id-keyed row, key row and `posted_t` row are deleted, and it
 * is taken out of its packed row (the row rewritten without it under a versionstamp check, or
 * deleted when it was the last), so it is gone from the store, not only unreachable.
 *
 * **Edits.** What `getMessageById` answers as an envelope's `timestamp` after `editMessage` is
 * not documented (TrueConf's docs and SDK 1.5 say only that `isEdited` turns true; the
 * `editMessage` answer carries the edit's own time). So a message the bot edits gets an
 * id-keyed row as well ({@link MessageRegistry.edited}), and later lookups do not depend on it.
 *
 * @module
 */
import { RecentPosts } from "./_recent_posts.ts";
import { posted, POSTED_TTL_MS, postedAt, postedGroup, postedKey } from "../storage/keys.ts";
import { commitWhenFree, KV_MAX_KEY_BYTES, kvKeyBytes } from "../storage/mod.ts";
import { TrueConfApiError } from "../trueconf/mod.ts";
import { type Logger, silentLogger } from "../log.ts";
import {
  findPacked,
  type FoundPost,
  type PackedPost,
  packRows,
  withoutPost,
} from "./_packed_posts.ts";

/** How long a posted message can be edited, removed or replied to by id or key. */
export const REGISTRY_TTL_MS: number = POSTED_TTL_MS;

/**
 * How many recent posts and lookups are kept in memory (a ring, `_recent_posts.ts`): on a quiet
 * bot hours of posts, so a `PATCH` by id needs neither KV nor TrueConf. Kept small: a lookup
 * compares up to this many ids, and at thousands of deliveries a second a record leaves it
 * within tens of milliseconds. What outlives V8's scavenges from this file was 0.20–0.26 KiB
 * per delivery at c64 with 256 or 2,048 entries alike (docs/benchmarks.md).
 */
const RECENT_MAX = 256;

/**
 * The most posts one KV commit carries (each at most two mutations: its key's row and its own
 * row or a share of a packed one; KV takes 1,000 per commit), and the bytes of their rows' keys
 * (the storage's KV limit, less room for the packed rows' own keys, which are not counted per
 * post; a key row is up to ~600 bytes) and of everything (KV: 800 KiB), as estimated by
 * {@link keyBytesOf} and {@link valueBytesOf}.
 */
const COMMIT_MAX_POSTS = 400;

/**
 * The shortest time between the starts of two commit rounds, ms. Each KV commit costs its
 * writer thread about 200 µs however little it holds (docs/benchmarks.md, "Packed registry
 * rows"); without a gap, a round followed the previous commit at once and carried 30–50 posts
 * at c64, so that fixed cost was most of the registry's share of a delivery. With the gap a
 * busy bot commits at most 50 times a second, each round carrying what queued up meanwhile
 * (hundreds of posts at c64); a quiet bot still commits each post at once (its previous round
 * began long ago). The price is the window a SIGKILL can forget: the posts of the last
 * ~20 ms instead of the last commit's few (docs/messages.md). {@link MessageRegistry.flush}
 * skips the gap.
 */
const ROUND_GAP_MS = 20;
const COMMIT_MAX_KEY_BYTES = KV_MAX_KEY_BYTES - 16 * 1024;
const COMMIT_MAX_BYTES = 500 * 1024;

/**
 * The longest id or key a lookup considers: sender keys are at most 128 characters and
 * TrueConf's ids are a few dozen; anything longer is nobody's message, and is neither sent to
 * TrueConf nor made into a KV key (KV refuses keys over 2 KiB).
 */
const MAX_REF_LENGTH = 256;

/** A message one hook posted. */
export interface PostedMessage {
  /** The chat it is in. */
  readonly chatId: string;
  /** A file cannot be edited (TrueConf replaces text only). */
  readonly kind: "text" | "file";
  /** The sender's key that names it, if any. */
  readonly key: string | null;
  /**
   * When it was posted (ms since the epoch, this process's clock); its 30 days count from then.
   * Read back from a packed row: when the first post of its commit was made (moments earlier).
   */
  readonly at: number;
  /**
   * TrueConf's timestamp of the post when its record is time-keyed (packed or `posted_t`);
   * `null` when the record is keyed by the message id (no timestamp in TrueConf's answer,
   * edited, or older).
   */
  readonly ts: number | null;
  /**
   * For an edited post keyed by its id: TrueConf's timestamp of the post, when it was known,
   * so that its removal also takes it out of its packed row.
   */
  readonly postedTs?: number | undefined;
  /**
   * A file's caption posted as a message of its own (TrueConf Server 5.5.6+, `sendFile`'s
   * `captionMessageId`): removing the file removes it too, as the sender posted them as one.
   */
  readonly caption?: string | undefined;
}

/** The message an alert group or CI run is shown in. */
export interface GroupRecord {
  /** The group's message (edited while open). */
  readonly messageId: string;
  /** `closed` once resolved or finished: the next notification starts a new message. */
  readonly state: "open" | "closed";
  /** When the group's message was first posted (for "fired for 12m"). */
  readonly openedAt: number;
  /**
   * When the group's message was last posted or updated: alerts that started later are new to
   * the chat. Records written before it was kept have none; `openedAt` stands in.
   */
  readonly updatedAt?: number | undefined;
  /**
   * The identities of the alerts firing when the message was last posted or updated
   * (`MessageGroup.firing`): a later notification's alerts not among them are new to the chat,
   * whenever they started (an alert can reach the sender after the notification it missed).
   * Records written before it was kept have none; `updatedAt` stands in.
   */
  readonly firing?: readonly string[] | undefined;
}

/** What a sender key names: the message (null while its post is queued) and its timestamp. */
export interface KeyRecord {
  /** The message the key names, null while the post is still queued. */
  readonly messageId: string | null;
  /** TrueConf's timestamp of that post (absent in rows written before session 4). */
  readonly ts?: number | null;
}

/** Options of {@link MessageRegistry}. */
export interface RegistryOptions {
  /** Clock, ms since the epoch. Default `Date.now`. */
  now?: (() => number) | undefined;
  /** Record lifetime. Default {@link REGISTRY_TTL_MS}. */
  ttlMs?: number | undefined;
  /** Where a failed write is reported. Default: silent. */
  logger?: Logger | undefined;
  /**
   * TrueConf's timestamp of a message: `getMessageById`'s envelope `timestamp` (wired in
   * src/bot.ts). Throws {@link TrueConfApiError} for a message TrueConf does not show, another
   * error when TrueConf cannot be asked. Without it, an id found neither in memory nor in an
   * id-keyed row is unknown.
   */
  messageTime?: ((messageId: string) => Promise<number>) | undefined;
}

/** The value of a time-keyed row (sessions 4–5): the record, and whose it is. */
interface TimeRow {
  readonly hook: string;
  readonly chatId: string;
  readonly kind: "text" | "file";
  readonly key: string | null;
  readonly at: number;
}

/** A record of a message and the hook it is of: what the recent-posts ring holds. */
interface Mine extends PackedPost {
  readonly rec: PostedMessage;
}

/** A post or an edit waiting for its commit; readable from memory meanwhile. */
interface Queued extends Mine {
  /** Whether its key's row is written with it (a new post with a key). */
  readonly withKey: boolean;
  /** The `expireIn` of an id-keyed row (a record without a timestamp). */
  readonly expireIn: number;
  /** Settles when its commit is done (or given up); never rejects. */
  readonly committed: Promise<void>;
}

/** See the module doc. */
export class MessageRegistry {
  readonly #kv: Deno.Kv;
  /**
   * Every post is remembered on the delivery path. Awaiting one commit per post capped the
   * bot near 250 deliveries/s on the benchmark machine and cost a delivery at c=1 several
   * milliseconds (KV commits are serialised on one sqlite thread), so posts are committed in
   * batches and the answer to the sender does not wait for them: until its commit lands a
   * post is known from {@link MessageRegistry.#queue}, {@link MessageRegistry.#inflight} and
   * {@link MessageRegistry.#keys}, which every read consults first. The price, documented in
   * docs/messages.md: a post made in the last moments before a SIGKILL (or whose commit
   * failed twice) may be forgotten, so a later PATCH/DELETE by its id answers 404 and a post
   * with its key starts a new message.
   *
   * One commit in flight at a time; what is queued meanwhile is the next commit, begun at least
   * {@link ROUND_GAP_MS} after the previous one (at c64 hundreds of posts), whose timed posts go
   * into packed rows.
   */
  #queue: Queued[] = [];
  /**
   * The round being committed. Arrays, not a map by id: looked through only by lookups (a
   * `PATCH` right after its `POST`), where a map cost a concatenated key, a set and a delete per
   * post on the delivery path.
   */
  #inflight: readonly Queued[] = [];
  /** The commit loop while it runs. */
  #draining: Promise<void> | null = null;
  /** Settles when the posts queued now are committed: they join the next round. */
  #round = Promise.withResolvers<void>();
  /** When the last round began (`performance.now()`): the next waits out {@link ROUND_GAP_MS}. */
  #roundAt = -Infinity;
  /** Ends a round's wait at once: flushes in progress. */
  #hurry: (() => void) | null = null;
  /** Flushes in progress: rounds do not wait while one is. */
  #flushing = 0;
  /** Keys of posts not committed yet, by `hookId\nkey`. */
  readonly #keys = new Map<string, string>();
  /**
   * Committed posts and lookups, newest first, by message id (TrueConf's ids are unique; the
   * record names its hook): spares KV and TrueConf.
   */
  readonly #recent = new RecentPosts<Mine>(RECENT_MAX);
  readonly #now: () => number;
  readonly #ttl: number;
  readonly #log: Logger;
  readonly #messageTime: ((messageId: string) => Promise<number>) | null;
  /** Names this process's packed rows: a random prefix and a counter. */
  readonly #rowPrefix = crypto.randomUUID().slice(0, 8) + ".";
  #rows = 0;
  readonly #rowId = () => this.#rowPrefix + (this.#rows++).toString(36);

  /** A registry over `kv`. */
  constructor(kv: Deno.Kv, options: RegistryOptions = {}) {
    this.#kv = kv;
    this.#now = options.now ?? Date.now;
    this.#ttl = options.ttlMs ?? REGISTRY_TTL_MS;
    this.#log = options.logger ?? silentLogger;
    this.#messageTime = options.messageTime ?? null;
  }

  /**
   * Remembers a message the hook posted, and the key that names it. `ts` is TrueConf's
   * timestamp from the send answer (`SentMessage.serverTime`); without it the record is keyed
   * by the id. Resolves at once: the record is readable right away and committed with the
   * other posts of this moment.
   */
  remember(
    hookId: string,
    messageId: string,
    m: {
      chatId: string;
      kind: "text" | "file";
      key?: string | null | undefined;
      ts?: number | null | undefined;
      caption?: string | undefined;
    },
  ): Promise<void> {
    const rec: PostedMessage = m.caption
      ? {
        chatId: m.chatId,
        kind: m.kind,
        key: m.key ?? null,
        at: this.#now(),
        ts: m.ts ?? null,
        caption: m.caption,
      }
      : { chatId: m.chatId, kind: m.kind, key: m.key ?? null, at: this.#now(), ts: m.ts ?? null };
    this.#enqueue(hookId, messageId, rec, !!m.key, this.#ttl);
    if (m.key) this.#keys.set(`${hookId}\n${m.key}`, messageId);
    return Promise.resolve();
  }

  /**
   * Notes that the bot edited a message of this hook: gives it an id-keyed row (once), so it
   * is found without trusting what `getMessageById` answers as an edited message's timestamp
   * (see the module doc). `hint` is what the caller knows of the message, used when this
   * process does not remember it (after a restart): its chat, key, post time (the edit's
   * time when unknown, so its 30 days count from the edit) and TrueConf's timestamp of the post
   * (from its key's row or its lookup), so that its removal later finds its packed row.
   */
  edited(
    hookId: string,
    messageId: string,
    hint: {
      chatId: string;
      key?: string | null | undefined;
      at?: number | undefined;
      ts?: number | null | undefined;
    },
  ): Promise<void> {
    const known = this.#memory(hookId, messageId);
    if (known?.ts === null) return Promise.resolve();
    const postedTs = known?.ts ?? hint.ts;
    const now = this.#now();
    const rec: PostedMessage = {
      chatId: known?.chatId ?? hint.chatId,
      kind: "text",
      key: known?.key ?? hint.key ?? null,
      at: known?.at ?? hint.at ?? now,
      ts: null,
      ...(postedTs == null ? {} : { postedTs }),
    };
    this.#enqueue(hookId, messageId, rec, false, Math.max(1, rec.at + this.#ttl - now));
    return Promise.resolve();
  }

  /** Queues a record's write: readable from memory at once, committed with the next round. */
  #enqueue(
    hookId: string,
    messageId: string,
    rec: PostedMessage,
    withKey: boolean,
    expireIn: number,
  ): void {
    const q: Queued = {
      hookId,
      messageId,
      rec,
      withKey,
      expireIn,
      committed: this.#round.promise,
    };
    this.#queue.push(q);
    this.#draining ??= this.#drain();
  }

  /**
   * Commits what is queued, round after round: each round takes everything queued during the
   * previous one (in commits of at most {@link COMMIT_MAX_POSTS}), then settles its promise. A
   * later write of the same message is in a later round, so awaiting the newest covers all.
   */
  async #drain(): Promise<void> {
    // Let the posts of this tick join the first round.
    await Promise.resolve();
    while (this.#queue.length > 0) {
      const wait = this.#roundAt + ROUND_GAP_MS - performance.now();
      if (wait > 0 && this.#flushing === 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => this.#hurry?.(), wait);
          this.#hurry = () => {
            clearTimeout(timer);
            this.#hurry = null;
            resolve();
          };
        });
      }
      this.#roundAt = performance.now();
      const queued = this.#queue;
      const round = this.#round;
      this.#inflight = queued;
      this.#queue = [];
      this.#round = Promise.withResolvers<void>();
      try {
        for (let i = 0; i < queued.length;) {
          let keyBytes = 0;
          let bytes = 0;
          let n = 0;
          while (i + n < queued.length && n < COMMIT_MAX_POSTS) {
            const q = queued[i + n]!;
            const k = keyBytesOf(q);
            const all = k + valueBytesOf(q);
            if (n > 0 && (keyBytes + k > COMMIT_MAX_KEY_BYTES || bytes + all > COMMIT_MAX_BYTES)) {
              break;
            }
            keyBytes += k;
            bytes += all;
            n++;
          }
          await this.#commit(n === queued.length ? queued : queued.slice(i, i + n));
          i += n;
        }
      } catch {
        // Only a logger that throws gets here. The round's records not yet committed are lost
        // with it (as in a SIGKILL): later lookups of them ask TrueConf or answer 404.
      } finally {
        this.#inflight = [];
        // Nobody waiting for this round (a removal, a graceful stop) may wait forever.
        round.resolve();
      }
    }
    this.#draining = null;
  }

  /**
   * Commits some queued records in one atomic; when KV refuses it, each on its own, so one
   * record KV cannot take costs no other; a record that fails alone as well is logged and
   * given up. Then moves each from the uncommitted posts to the recent ones.
   */
  async #commit(batch: readonly Queued[]): Promise<void> {
    let failed: Set<Queued> | null = null;
    try {
      await this.#atomic(batch);
    } catch (error) {
      if (batch.length > 1) {
        this.#log.warn("KV refused a commit of posted-message records; writing them one by one", {
          records: batch.length,
          error,
        });
      }
      failed = new Set();
      for (const q of batch) {
        try {
          await this.#atomic([q]);
        } catch (error) {
          failed.add(q);
          this.#log.error("could not remember a posted message; edits of it will answer 404", {
            hook: q.hookId,
            message: q.messageId,
            error,
          });
        }
      }
    }
    for (const q of batch) {
      // A later write of the same message is in a later round (or later in this one) and
      // replaces this entry when it commits; until then it is found in the queue first.
      if (!failed?.has(q)) this.#recent.add(q);
      if (q.withKey) {
        const keyKey = `${q.hookId}\n${q.rec.key}`;
        if (this.#keys.get(keyKey) === q.messageId) this.#keys.delete(keyKey);
      }
    }
  }

  /**
   * One atomic for some records: posts with TrueConf's timestamp packed into time-keyed rows
   * (see _packed_posts.ts), others in rows keyed by their id, keys in their own rows.
   */
  async #atomic(batch: readonly Queued[]): Promise<void> {
    const op = this.#kv.atomic();
    const timed: Queued[] = [];
    for (const q of batch) {
      const { chatId, kind, key, at, ts, postedTs, caption } = q.rec;
      if (ts === null) {
        const value = postedTs === undefined
          ? { chatId, kind, key, at }
          : { chatId, kind, key, at, postedTs };
        op.set(posted(q.hookId, q.messageId), caption ? { ...value, caption } : value, {
          expireIn: q.expireIn,
        });
      } else timed.push(q);
      if (q.withKey) {
        const value: KeyRecord = ts === null
          ? { messageId: q.messageId }
          : { messageId: q.messageId, ts };
        op.set(postedKey(q.hookId, key!), value, { expireIn: this.#ttl });
      }
    }
    if (timed.length > 0) {
      for (const row of packRows(timed, this.#rowId)) {
        op.set(row.key, row.value, { expireIn: this.#ttl });
      }
    }
    await op.commit();
  }

  /** Resolves once every post remembered so far is committed (or given up): at shutdown. */
  async flush(): Promise<void> {
    this.#flushing++;
    this.#hurry?.();
    try {
      while (this.#draining) await this.#draining;
    } finally {
      this.#flushing--;
    }
  }

  /**
   * A message of this hook, or null (never posted by it, or older than 30 days). May ask
   * TrueConf (see the module doc): throws when it cannot.
   */
  async get(hookId: string, messageId: string): Promise<PostedMessage | null> {
    return await this.#local(hookId, messageId, null) ?? await this.#remote(hookId, messageId);
  }

  /**
   * The message a key names: `{messageId}` once posted, `{messageId: null}` while the post
   * is still queued, null for an unknown key.
   */
  async byKey(hookId: string, key: string): Promise<KeyRecord | null> {
    const pending = this.#keys.get(`${hookId}\n${key}`);
    if (pending) return { messageId: pending };
    return (await this.#kv.get<KeyRecord>(postedKey(hookId, key))).value;
  }

  /**
   * Marks a key as taken by a queued post, so a PATCH by that key is accepted at once. The
   * reservation's versionstamp, or null when the key was taken already. `signal`: see
   * commitWhenFree.
   */
  async reserveKey(hookId: string, key: string, signal?: AbortSignal): Promise<string | null> {
    const k = postedKey(hookId, key);
    const res = await commitWhenFree(
      this.#kv,
      this.#kv.atomic().check({ key: k, versionstamp: null })
        .set(k, { messageId: null }, { expireIn: this.#ttl }),
      signal,
    );
    return res.ok ? res.versionstamp : null;
  }

  /**
   * Takes back a reservation whose post was refused before it committed (the store too slow,
   * src/delivery/queue/sender_store_wait.ts): left alone when it changed since
   * (`versionstamp`: the reservation's), e.g. the sender's retry posted by the key meanwhile.
   * Else the key would name a queued post that never comes for 30 days.
   */
  async unreserveKey(hookId: string, key: string, versionstamp: string): Promise<void> {
    const k = postedKey(hookId, key);
    await commitWhenFree(this.#kv, this.#kv.atomic().check({ key: k, versionstamp }).delete(k));
  }

  /**
   * A message id or key of this hook → the message id (null while queued), and whether it
   * is known at all. Ids known here win over keys; TrueConf is asked last (an id that is no
   * key of the hook), at most once.
   */
  async resolve(
    hookId: string,
    idOrKey: string,
  ): Promise<{ messageId: string | null; message: PostedMessage | null } | null> {
    if (idOrKey.length > MAX_REF_LENGTH) return null;
    const local = await this.#local(hookId, idOrKey, null);
    if (local) return { messageId: idOrKey, message: local };
    const k = await this.byKey(hookId, idOrKey);
    if (k) {
      const message = k.messageId ? await this.#local(hookId, k.messageId, k.ts ?? null) : null;
      return { messageId: k.messageId, message };
    }
    const remote = await this.#remote(hookId, idOrKey);
    return remote ? { messageId: idOrKey, message: remote } : null;
  }

  /**
   * Forgets a removed message (and its key): deletes its id-keyed row, and takes it out of its
   * packed row (the others stay), checked against the row's versionstamp so that two removals
   * from one row do not undo each other. `postTs` is TrueConf's timestamp of the post when the
   * caller knows it (it resolved the id or key just before): the recent-posts cache may no
   * longer hold the record.
   */
  async forget(hookId: string, messageId: string, postTs?: number | null): Promise<void> {
    // A commit still in flight would write the record back after this delete.
    await this.#pending(hookId, messageId)?.committed;
    // Never asks TrueConf: the message is gone there. A post's timestamp comes from its record
    // in memory, its id-keyed row (an edited post) or the caller; one known none of these ways
    // stays in its packed row until that expires, unreachable (getMessageById no longer finds
    // its id).
    const rec = await this.#local(hookId, messageId, null);
    const ts = rec?.ts ?? rec?.postedTs ?? postTs ?? null;
    for (let attempt = 1;; attempt++) {
      const op = this.#kv.atomic().delete(posted(hookId, messageId));
      if (rec?.key) op.delete(postedKey(hookId, rec.key));
      if (ts !== null) {
        op.delete(postedAt(ts, messageId));
        const found = await findPacked(this.#kv, ts, messageId);
        if (found?.post.hookId === hookId) {
          op.check(found.entry);
          const left = withoutPost(found);
          if (left === null) op.delete(found.entry.key);
          else {
            op.set(left.key, left.value, {
              expireIn: Math.max(1, left.value.at + this.#ttl - this.#now()),
            });
          }
        }
      }
      if ((await commitWhenFree(this.#kv, op)).ok) break;
      // Another removal rewrote the same packed row meanwhile: read it again.
      if (attempt >= 10) throw new Error("the registry row kept changing while removing a post");
    }
    this.#recent.forget(hookId, messageId);
  }

  /**
   * Which hook's post this id is and when it was recorded (`PostedMessage.at`, ms on the
   * recording process's clock), or null when no hook's is: in memory, its packed or time-keyed
   * row by TrueConf's timestamp `ts`, or `hookId`'s id-keyed row. Never asks TrueConf. For the
   * crash window's check after an unclean stop (src/delivery/reconcile.ts): another hook's post,
   * or one recorded before the step in question began, is never taken for it.
   */
  async recordOf(
    hookId: string,
    messageId: string,
    ts: number,
  ): Promise<{ hookId: string; at: number } | null> {
    for (const list of [this.#queue, this.#inflight]) {
      const q = list.find((q) => q.messageId === messageId);
      if (q) return { hookId: q.hookId, at: q.rec.at };
    }
    const recent = this.#recent.find(messageId);
    if (recent) return { hookId: recent.hookId, at: recent.rec.at };
    const [byTime, byIdRow] = await this.#kv.getMany<[TimeRow, Omit<PostedMessage, "ts">]>([
      postedAt(ts, messageId),
      posted(hookId, messageId),
    ]);
    if (byTime.value) return { hookId: byTime.value.hook, at: byTime.value.at };
    if (byIdRow.value) return { hookId, at: byIdRow.value.at };
    const found = await findPacked(this.#kv, ts, messageId);
    return found ? { hookId: found.post.hookId, at: found.post.rec.at } : null;
  }

  /** The message of an alert group or CI run, or null. */
  async group(hookId: string, groupId: string): Promise<GroupRecord | null> {
    return (await this.#kv.get<GroupRecord>(postedGroup(hookId, groupId))).value;
  }

  /** Records the message and state of an alert group or CI run. */
  async setGroup(hookId: string, groupId: string, rec: GroupRecord): Promise<void> {
    await this.#kv.set(postedGroup(hookId, groupId), rec, { expireIn: this.#ttl });
  }

  /** The newest write of a message of this hook not committed yet. */
  #pending(hookId: string, messageId: string): Queued | undefined {
    for (const list of [this.#queue, this.#inflight]) {
      for (let i = list.length - 1; i >= 0; i--) {
        const q = list[i]!;
        if (q.messageId === messageId && q.hookId === hookId) return q;
      }
    }
    return undefined;
  }

  /** A message of this hook known in memory: not committed yet, or recent. */
  #memory(hookId: string, messageId: string): PostedMessage | undefined {
    const pending = this.#pending(hookId, messageId);
    if (pending) return pending.rec;
    const recent = this.#recent.find(messageId);
    return recent?.hookId === hookId ? recent.rec : undefined;
  }

  /**
   * A message of this hook from memory or KV alone: its id-keyed row, or, when `ts` is known
   * (from its key's row), its packed row or its time-keyed row of sessions 4–5.
   */
  async #local(
    hookId: string,
    messageId: string,
    ts: number | null,
  ): Promise<PostedMessage | null> {
    const known = this.#memory(hookId, messageId);
    if (known) return known;
    let rec: PostedMessage | null;
    if (ts === null) {
      rec = byId(await this.#kv.get<Omit<PostedMessage, "ts">>(posted(hookId, messageId)));
    } else {
      const [byTime, byIdRow] = await this.#kv.getMany<[TimeRow, Omit<PostedMessage, "ts">]>([
        postedAt(ts, messageId),
        posted(hookId, messageId),
      ]);
      rec = byId(byIdRow) ?? ofHook(byTime, hookId, ts) ??
        ofPacked(await findPacked(this.#kv, ts, messageId), hookId);
    }
    if (rec) this.#recent.add({ hookId, messageId, rec });
    return rec;
  }

  /** A message of this hook found through TrueConf's timestamp of it; see the module doc. */
  async #remote(hookId: string, messageId: string): Promise<PostedMessage | null> {
    if (!this.#messageTime) return null;
    let ts: number;
    try {
      ts = await this.#messageTime(messageId);
    } catch (e) {
      // Gone (306/307) or not shown to the bot: no message the hook could change.
      if (e instanceof TrueConfApiError && !e.transient) return null;
      throw e;
    }
    const found = await findPacked(this.#kv, ts, messageId);
    const rec = found
      ? ofPacked(found, hookId)
      : ofHook(await this.#kv.get<TimeRow>(postedAt(ts, messageId)), hookId, ts);
    if (rec) this.#recent.add({ hookId, messageId, rec });
    return rec;
  }
}

function byId(e: Deno.KvEntryMaybe<Omit<PostedMessage, "ts">>): PostedMessage | null {
  return e.value ? { ...e.value, ts: null } : null;
}

/** The record of a time-keyed row, when the row is this hook's. */
function ofHook(e: Deno.KvEntryMaybe<TimeRow>, hookId: string, ts: number): PostedMessage | null {
  const v = e.value;
  if (!v || v.hook !== hookId) return null;
  return { chatId: v.chatId, kind: v.kind, key: v.key, at: v.at, ts };
}

/** The record of a post found in a packed row, when the post is this hook's. */
function ofPacked(found: FoundPost | null, hookId: string): PostedMessage | null {
  return found?.post.hookId === hookId ? found.post.rec : null;
}

/**
 * At most the bytes a queued record's rows add to a commit's keys: its id-keyed row's key (a
 * timed post's share of a packed row's key is left to the limit's room) and its key's row's key.
 */
function keyBytesOf(q: Queued): number {
  return (q.rec.ts !== null ? 0 : kvKeyBytes(posted(q.hookId, q.messageId))) +
    (q.withKey && q.rec.key !== null ? kvKeyBytes(postedKey(q.hookId, q.rec.key)) : 0);
}

/** At most the bytes a queued record adds to a commit besides keys (its share of a row). */
function valueBytesOf(q: Queued): number {
  return 96 + 3 * (q.hookId.length + q.messageId.length + q.rec.chatId.length +
        (q.rec.key?.length ?? 0) + (q.rec.caption?.length ?? 0));
}
