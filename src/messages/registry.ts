/**
 * What each hook posted, for 30 days: the ids `PATCH`/`DELETE /hook/<token>/messages/<id>`
 * may touch, the message each sender key names, and the message of each alert group or CI
 * run. Every record carries its own KV `expireIn`, so the registry is bounded by time
 * (30 days) and, through the per-hook rate limit, by size; nothing sweeps it.
 *
 * One row per post, keyed by TrueConf's (random) message id, is the registry's whole KV cost
 * per delivery: ~30–45 µs on KV's writer thread, because each id lands on a B-tree page of
 * its own. Packing posts into time-ordered rows would cost a tenth, but then an id could not
 * be found in O(1) reads after a restart; value encodings and larger batches measured at
 * most 10–15 % (docs/benchmarks.md, "KV per delivery", and `bench/kv_rows.ts`).
 *
 * @module
 */
import { posted, POSTED_TTL_MS, postedGroup, postedKey } from "../storage/keys.ts";
import { CommitBatcher } from "../storage/mod.ts";
import { type Logger, silentLogger } from "../log.ts";

/** How long a posted message can be edited, removed or replied to by id or key. */
export const REGISTRY_TTL_MS: number = POSTED_TTL_MS;

/** A message one hook posted. */
export interface PostedMessage {
  /** The chat it is in. */
  readonly chatId: string;
  /** A file cannot be edited (TrueConf replaces text only). */
  readonly kind: "text" | "file";
  /** The sender's key that names it, if any. */
  readonly key: string | null;
  /** When it was posted (ms since the epoch). */
  readonly at: number;
}

/** The message an alert group or CI run is shown in. */
export interface GroupRecord {
  /** The group's message (edited while open). */
  readonly messageId: string;
  /** `closed` once resolved or finished: the next notification starts a new message. */
  readonly state: "open" | "closed";
  /** When the group's message was first posted (for "fired for 12m"). */
  readonly openedAt: number;
}

/** Options of {@link MessageRegistry}. */
export interface RegistryOptions {
  /** Clock, ms since the epoch. Default `Date.now`. */
  now?: (() => number) | undefined;
  /** Record lifetime. Default {@link REGISTRY_TTL_MS}. */
  ttlMs?: number | undefined;
  /** Where a failed write is reported. Default: silent. */
  logger?: Logger | undefined;
}

/** A remembered post whose commit has not landed yet. */
interface Pending {
  readonly rec: PostedMessage;
  /** Settles when the commit is done (or given up); never rejects. */
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
   * post is known from {@link MessageRegistry.#posted} and {@link MessageRegistry.#keys},
   * which every read consults first. The price, documented in docs/messages.md: a post made
   * in the last moments before a SIGKILL (or whose commit failed twice) may be forgotten, so
   * a later PATCH/DELETE by its id answers 404 and a post with its key starts a new message.
   */
  readonly #batcher: CommitBatcher;
  /** Posts not committed yet, by `hookId\nmessageId`. */
  readonly #posted = new Map<string, Pending>();
  /** Keys of those posts, by `hookId\nkey`. */
  readonly #keys = new Map<string, string>();
  readonly #now: () => number;
  readonly #ttl: number;
  readonly #log: Logger;

  /** A registry over `kv`. */
  constructor(kv: Deno.Kv, options: RegistryOptions = {}) {
    this.#kv = kv;
    this.#batcher = new CommitBatcher(kv);
    this.#now = options.now ?? Date.now;
    this.#ttl = options.ttlMs ?? REGISTRY_TTL_MS;
    this.#log = options.logger ?? silentLogger;
  }

  /**
   * Remembers a message the hook posted, and the key that names it. Resolves at once: the
   * record is readable right away and committed with the other posts of this moment.
   */
  remember(
    hookId: string,
    messageId: string,
    m: { chatId: string; kind: "text" | "file"; key?: string | null | undefined },
  ): Promise<void> {
    const rec: PostedMessage = {
      chatId: m.chatId,
      kind: m.kind,
      key: m.key ?? null,
      at: this.#now(),
    };
    const expireIn = this.#ttl;
    const mutations: Deno.KvMutation[] = [
      { type: "set", key: posted(hookId, messageId), value: rec, expireIn },
    ];
    if (m.key) {
      mutations.push({
        type: "set",
        key: postedKey(hookId, m.key),
        value: { messageId },
        expireIn,
      });
    }
    const write = { checks: [], mutations, bytes: 512 + (m.key?.length ?? 0) * 2 };
    const idKey = `${hookId}\n${messageId}`;
    const keyKey = m.key ? `${hookId}\n${m.key}` : null;
    const committed = this.#commit(write, { hook: hookId, message: messageId }).finally(() => {
      if (this.#posted.get(idKey)?.rec === rec) this.#posted.delete(idKey);
      if (keyKey && this.#keys.get(keyKey) === messageId) this.#keys.delete(keyKey);
    });
    this.#posted.set(idKey, { rec, committed });
    if (keyKey) this.#keys.set(keyKey, messageId);
    return Promise.resolve();
  }

  /** Commits one post's write, retrying once; a second failure is logged and given up. */
  async #commit(
    write: { checks: never[]; mutations: Deno.KvMutation[]; bytes: number },
    fields: { hook: string; message: string },
  ): Promise<void> {
    for (let attempt = 1;; attempt++) {
      try {
        await this.#batcher.submit(write);
        return;
      } catch (error) {
        if (attempt >= 2) {
          this.#log.error("could not remember a posted message; edits of it will answer 404", {
            ...fields,
            error,
          });
          return;
        }
      }
    }
  }

  /** Resolves once every post remembered so far is committed (or given up): at shutdown. */
  async flush(): Promise<void> {
    await Promise.all([...this.#posted.values()].map((p) => p.committed));
  }

  /** A message of this hook, or null (never posted by it, or older than 30 days). */
  async get(hookId: string, messageId: string): Promise<PostedMessage | null> {
    const pending = this.#posted.get(`${hookId}\n${messageId}`);
    if (pending) return pending.rec;
    return (await this.#kv.get<PostedMessage>(posted(hookId, messageId))).value;
  }

  /**
   * The message a key names: `{messageId}` once posted, `{messageId: null}` while the post
   * is still queued, null for an unknown key.
   */
  async byKey(hookId: string, key: string): Promise<{ messageId: string | null } | null> {
    const pending = this.#keys.get(`${hookId}\n${key}`);
    if (pending) return { messageId: pending };
    return (await this.#kv.get<{ messageId: string | null }>(postedKey(hookId, key))).value;
  }

  /** Marks a key as taken by a queued post, so a PATCH by that key is accepted at once. */
  async reserveKey(hookId: string, key: string): Promise<void> {
    const k = postedKey(hookId, key);
    await this.#kv.atomic().check({ key: k, versionstamp: null })
      .set(k, { messageId: null }, { expireIn: this.#ttl }).commit();
  }

  /**
   * A message id or key of this hook → the message id (null while queued), and whether it
   * is known at all. Ids win over keys.
   */
  async resolve(
    hookId: string,
    idOrKey: string,
  ): Promise<{ messageId: string | null; message: PostedMessage | null } | null> {
    const byId = await this.get(hookId, idOrKey);
    if (byId) return { messageId: idOrKey, message: byId };
    const k = await this.byKey(hookId, idOrKey);
    if (!k) return null;
    return {
      messageId: k.messageId,
      message: k.messageId ? await this.get(hookId, k.messageId) : null,
    };
  }

  /** Forgets a removed message (and its key). */
  async forget(hookId: string, messageId: string): Promise<void> {
    // A commit still in flight would write the record back after this delete.
    await this.#posted.get(`${hookId}\n${messageId}`)?.committed;
    const rec = await this.get(hookId, messageId);
    const op = this.#kv.atomic().delete(posted(hookId, messageId));
    if (rec?.key) op.delete(postedKey(hookId, rec.key));
    await op.commit();
  }

  /** The message of an alert group or CI run, or null. */
  async group(hookId: string, groupId: string): Promise<GroupRecord | null> {
    return (await this.#kv.get<GroupRecord>(postedGroup(hookId, groupId))).value;
  }

  /** Records the message and state of an alert group or CI run. */
  async setGroup(hookId: string, groupId: string, rec: GroupRecord): Promise<void> {
    await this.#kv.set(postedGroup(hookId, groupId), rec, { expireIn: this.#ttl });
  }
}
