/**
 * What an event body needs to know beyond the event: the chat's title and type, users'
 * display names, and the message a reply refers to. Each is cached in memory (bounded):
 * the bot sees every message of its chats, so a replied-to message is nearly always known
 * without asking TrueConf; otherwise `getMessageById` (Python SDK `get_message_by_id`) is
 * asked once. Lookup failures degrade (the id for a name, "" for a text), never block a call;
 * nor does a slow TrueConf: each lookup takes a `deadline` (the call's lookup budget), after
 * which it answers with what is known (the cache, else the id or ""), while TrueConf's answer,
 * when it comes, still fills the cache for the calls after.
 *
 * @module
 */

import { type BoundedCache, boundedCache } from "../bounded_cache.ts";
import { type ChatInfo, type IncomingMessage, parseIncomingMessage } from "../trueconf/mod.ts";
import { type ChatKind, chatKind } from "./event_body.ts";

/** What lookups need of the TrueConf client. */
export interface LookupClient {
  getChatByID(chatId: string): Promise<ChatInfo>;
  request(method: string, payload: unknown): Promise<unknown>;
}

const CHAT_TTL_MS = 5 * 60_000;
const NAME_TTL_MS = 10 * 60_000;

/** Cached chat, user and message lookups for event bodies. */
export class Lookups {
  readonly #client: LookupClient;
  // Made on first use; they grow with their entries (src/bounded_cache.ts).
  #chatsCache: BoundedCache<string, { title: string; type: ChatKind; at: number }> | undefined;
  get #chats(): BoundedCache<string, { title: string; type: ChatKind; at: number }> {
    return this.#chatsCache ??= boundedCache(5_000);
  }
  #namesCache: BoundedCache<string, { name: string; at: number }> | undefined;
  get #names(): BoundedCache<string, { name: string; at: number }> {
    return this.#namesCache ??= boundedCache(10_000);
  }
  #messagesCache: BoundedCache<string, IncomingMessage> | undefined;
  get #messages(): BoundedCache<string, IncomingMessage> {
    return this.#messagesCache ??= boundedCache(5_000);
  }
  readonly #now: () => number;

  constructor(client: LookupClient, now: () => number = Date.now) {
    this.#client = client;
    this.#now = now;
  }

  /** Remembers a message seen in a chat (for later replies to it). */
  rememberMessage(m: IncomingMessage): void {
    if (m.messageId) this.#messages.set(m.messageId, m);
  }

  /** A message the bot saw, without asking TrueConf; null when not seen. */
  known(messageId: string): IncomingMessage | null {
    return this.#messages.get(messageId) ?? null;
  }

  /** A chat renamed: the cached title follows at once. */
  renamed(chatId: string, title: string): void {
    const c = this.#chats.get(chatId);
    if (c) this.#chats.set(chatId, { ...c, title });
  }

  /** Title and type of a chat; an unknown chat reads as an untitled group. */
  chat(chatId: string, deadline?: Promise<void>): Promise<{ title: string; type: ChatKind }> {
    const c = this.#chats.get(chatId);
    if (c && this.#now() - c.at < CHAT_TTL_MS) return Promise.resolve(c);
    const known = () => c ?? { title: "", type: "group" as const };
    return by(
      deadline,
      known,
      (async () => {
        try {
          const info = await this.#client.getChatByID(chatId);
          const v = { title: info.title, type: chatKind(info.chatType), at: this.#now() };
          this.#chats.set(chatId, v);
          return v;
        } catch {
          return known();
        }
      })(),
    );
  }

  /** Display names of users, fetched in parallel; the id stands in when unknown. */
  async names(
    userIds: readonly string[],
    deadline?: Promise<void>,
  ): Promise<(id: string) => string> {
    const want = [...new Set(userIds.filter((id) => id !== ""))];
    await by<unknown>(
      deadline,
      () => null,
      Promise.all(want.map(async (id) => {
        const c = this.#names.get(id);
        if (c && this.#now() - c.at < NAME_TTL_MS) return;
        try {
          const res = await this.#client.request("getUserDisplayName", { userId: id });
          const name = (res as { displayName?: unknown } | null)?.displayName;
          if (typeof name === "string" && name !== "") {
            this.#names.set(id, { name, at: this.#now() });
          }
        } catch {
          // The id stands in.
        }
      })),
    );
    return (id) => this.#names.get(id)?.name ?? id;
  }

  /** A message by id: from what the bot saw, else asked once; null when unknown. */
  message(messageId: string, deadline?: Promise<void>): Promise<IncomingMessage | null> {
    const known = this.#messages.get(messageId);
    if (known) return Promise.resolve(known);
    return by(
      deadline,
      () => null,
      (async () => {
        try {
          const m = parseIncomingMessage(
            await this.#client.request("getMessageById", { messageId }),
          );
          if (m) this.#messages.set(messageId, m);
          return m;
        } catch {
          return null;
        }
      })(),
    );
  }
}

/** `asked` (which never rejects), or `fallback()` once `deadline` comes first. */
function by<T>(
  deadline: Promise<void> | undefined,
  fallback: () => T,
  asked: Promise<T>,
): Promise<T> {
  return deadline ? Promise.race([asked, deadline.then(fallback)]) : asked;
}
