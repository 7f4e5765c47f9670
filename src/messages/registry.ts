/**
 * What each hook posted, for 30 days: the ids `PATCH`/`DELETE /hook/<token>/messages/<id>`
 * may touch, the message each sender key names, and the message of each alert group or CI
 * run. Every record carries its own KV `expireIn`, so the registry is bounded by time
 * (30 days) and, through the per-hook rate limit, by size; nothing sweeps it.
 *
 * @module
 */
import { posted, postedGroup, postedKey } from "../storage/keys.ts";
import { CommitBatcher } from "../storage/mod.ts";

/** How long a posted message can be edited, removed or replied to by id or key. */
export const REGISTRY_TTL_MS = 30 * 86_400_000;

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
}

/** See the module doc. */
export class MessageRegistry {
  readonly #kv: Deno.Kv;
  /**
   * Every post is remembered on the delivery path: one commit each capped the bot near 250
   * deliveries/s on the benchmark machine (KV commits are serialised on one sqlite thread).
   * Batched, the posts of one event-loop turn share a commit.
   */
  readonly #batcher: CommitBatcher;
  readonly #now: () => number;
  readonly #ttl: number;

  /** A registry over `kv`. */
  constructor(kv: Deno.Kv, options: RegistryOptions = {}) {
    this.#kv = kv;
    this.#batcher = new CommitBatcher(kv);
    this.#now = options.now ?? Date.now;
    this.#ttl = options.ttlMs ?? REGISTRY_TTL_MS;
  }

  /** Remembers a message the hook posted, and the key that names it. */
  async remember(
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
    await this.#batcher.submit({ checks: [], mutations, bytes: 512 + (m.key?.length ?? 0) * 2 });
  }

  /** A message of this hook, or null (never posted by it, or older than 30 days). */
  async get(hookId: string, messageId: string): Promise<PostedMessage | null> {
    return (await this.#kv.get<PostedMessage>(posted(hookId, messageId))).value;
  }

  /**
   * The message a key names: `{messageId}` once posted, `{messageId: null}` while the post
   * is still queued, null for an unknown key.
   */
  async byKey(hookId: string, key: string): Promise<{ messageId: string | null } | null> {
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
