/**
 * The chat side of hooks: `/webhook_create`, `/webhook_list`, `/webhook_revoke`,
 * `/webhook_help`, with the addressing and permission rules of the reference bot.
 *
 * Create, in order: permission → hook stored (atomic unique name) → the URL goes to the
 * author's personal chat → acknowledgement (no token) in the origin chat. If the personal
 * message cannot be delivered the hook is removed and the author is told in the origin chat;
 * if the origin chat refuses the bot's messages (read-only channel) the hook would be useless,
 * so it is removed and the author is told by direct message.
 *
 * Edited messages are ignored: editing an old `/webhook_create` must not create a hook again.
 *
 * @module
 */
import { parseCommand, type ParsedCommand } from "./command_parser.ts";
import { isPersonal, Permissions } from "./permissions.ts";
import * as replies from "./replies.ts";
import type { HookStore } from "./store.ts";
import { validateHookName } from "./hook_name.ts";
import { isTrueConfError, TrueConfApiError } from "../trueconf/mod.ts";
import type { ChatInfo, IncomingMessage, Participant, SentMessage } from "../trueconf/mod.ts";
import type { Logger } from "../log.ts";
import { silentLogger } from "../log.ts";

/** What commands need from the TrueConf client. */
export interface CommandClient {
  readonly state: { readonly botId: string | null };
  sendMessage(
    chatId: string,
    text: string,
    parseMode: "text" | "markdown" | "html",
  ): Promise<SentMessage>;
  createP2PChat(userId: string): Promise<string>;
  getChatByID(chatId: string): Promise<ChatInfo>;
  getChatParticipants(chatId: string): Promise<Participant[]>;
}

/** Options of {@link CommandHandler}. */
export interface CommandHandlerOptions {
  client: CommandClient;
  store: HookStore;
  /** `WEBHOOK_PUBLIC_URL` without a trailing slash. */
  publicUrl: string;
  /** `WEBHOOK_ADMIN_ONLY`. */
  adminOnly: boolean;
  /** Chat type cache lifetime; default 300 s. */
  chatCacheTtlMs?: number;
  logger?: Logger;
}

/** The chat's title, or (as the reference bot) the start of its id when the title is unknown. */
function chatTitle(chat: ChatInfo | null, chatId: string): string {
  return chat?.title || `chat ${chatId.slice(0, 12)}…`;
}

/** Longest reply part, in UTF-16 units; markup counts too, so it stays under 4096 visible. */
const MAX_PART = 3_800;

/** Splits a reply at line ends into parts of at most {@link MAX_PART} (a longer line is cut). */
export function splitLines(text: string, max = MAX_PART): string[] {
  const parts: string[] = [];
  let cur = "";
  for (const line of text.split("\n")) {
    for (let piece = line;; piece = piece.slice(max)) {
      const chunk = piece.slice(0, max);
      if (cur !== "" && cur.length + 1 + chunk.length > max) {
        parts.push(cur);
        cur = chunk;
      } else cur = cur === "" ? chunk : `${cur}\n${chunk}`;
      if (piece.length <= max) break;
    }
  }
  if (cur !== "" || parts.length === 0) parts.push(cur);
  return parts;
}

/** Runs chat commands; feed it every incoming message. */
export class CommandHandler {
  readonly #o: CommandHandlerOptions;
  readonly #log: Logger;
  readonly #perms: Permissions;
  readonly #inFlight = new Set<Promise<void>>();
  #closed = false;

  constructor(options: CommandHandlerOptions) {
    this.#o = options;
    this.#log = options.logger ?? silentLogger;
    this.#perms = new Permissions({
      chats: options.client,
      adminOnly: options.adminOnly,
      logger: this.#log,
      ...(options.chatCacheTtlMs !== undefined ? { cacheTtlMs: options.chatCacheTtlMs } : {}),
    });
  }

  /**
   * Handles one message; never rejects. Unexpected failures (KV, a lost connection) are
   * logged and, when the chat can still be reached, answered with a short apology.
   * After {@link close} messages are ignored.
   */
  handle(m: IncomingMessage): Promise<void> {
    if (this.#closed) return Promise.resolve();
    const p = this.#handle(m).catch(async (e) => {
      this.#log.error("command failed", { chat: m.chatId, author: m.authorId, error: e });
      // A TrueConf failure means the chat may not be reachable (or the answer may even have
      // arrived after a timeout); anything else (KV) is worth an apology.
      if (isTrueConfError(e)) return;
      await this.#send(m.chatId, replies.failed()).catch(() => {});
    }).finally(() => this.#inFlight.delete(p));
    this.#inFlight.add(p);
    return p;
  }

  /** Stops taking messages and waits for the commands being handled (call before closing the client). */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#inFlight]);
  }

  async #handle(m: IncomingMessage): Promise<void> {
    if (m.isEdited) return;
    const botId = this.#o.client.state.botId;
    if (!botId || !m.authorId) return;
    const cmd = parseCommand(m, botId);
    if (!cmd) return;
    const chat = await this.#perms.chat(m.chatId);
    const personal = isPersonal(chat?.chatType);
    // In groups and channels only messages that start with a mention of the bot count; an
    // unknown chat type fails closed (mention required).
    if (!cmd.addressed && !personal) return;
    this.#log.info("command", { chat: m.chatId, author: m.authorId, command: cmd.command });
    switch (cmd.command) {
      case "webhook_help":
        return await this.#reply(m, chat, replies.help(!personal));
      case "webhook_list":
        // A long list is split at line ends so each part stays under TrueConf's 4096 characters.
        for (const part of splitLines(replies.list(await this.#o.store.listByChat(m.chatId)))) {
          await this.#reply(m, chat, part);
        }
        return;
      case "webhook_create":
        return await this.#create(m, chat, cmd);
      case "webhook_revoke":
        return await this.#revoke(m, chat, cmd);
    }
  }

  async #create(m: IncomingMessage, chat: ChatInfo | null, cmd: ParsedCommand): Promise<void> {
    // Permission first: a member who may not create learns that before fixing a name.
    const decision = await this.#perms.canManage(m.chatId, m.authorId, "create");
    if (!decision.allowed) return await this.#reply(m, chat, replies.refused(decision.reason));
    const name = validateHookName(cmd.args);
    if (!name.ok) {
      return await this.#reply(m, chat, replies.badName(name.code, [...cmd.args.trim()].length));
    }
    const result = await this.#o.store.create({
      chatId: m.chatId,
      name: name.name,
      createdBy: m.authorId,
    });
    if (!result.ok) {
      const text = result.reason === "duplicate_name"
        ? replies.duplicate(name.name)
        : replies.badName(result.message);
      return await this.#reply(m, chat, text);
    }
    const { hook, token } = result;
    const url = `${this.#o.publicUrl.replace(/\/+$/, "")}/hook/${token}`;
    const title = chatTitle(chat, m.chatId);
    const rollback = async (why: string, error: unknown) => {
      await this.#o.store.revoke(hook.id);
      this.#log.warn("hook removed again", { hook: hook.id, chat: m.chatId, why, error });
    };

    let dmChatId: string;
    try {
      dmChatId = await this.#o.client.createP2PChat(m.authorId);
    } catch (e) {
      await rollback("cannot open a personal chat with the author", e);
      return await this.#reply(m, chat, replies.dmFailed(name.name));
    }
    if (dmChatId === m.chatId) {
      // Created from the personal chat itself: the URL goes right here, and nowhere else.
      try {
        await this.#send(dmChatId, replies.urlMessage(name.name, null, url));
      } catch (e) {
        await rollback("cannot post the URL into the personal chat", e);
      }
      return;
    }
    try {
      await this.#send(dmChatId, replies.urlMessage(name.name, title, url));
    } catch (e) {
      await rollback("cannot send the URL by direct message", e);
      return await this.#reply(m, chat, replies.dmFailed(name.name));
    }
    try {
      await this.#send(m.chatId, replies.created(name.name));
    } catch (e) {
      if (e instanceof TrueConfApiError && e.chatUnavailable) {
        // A hook for a chat the bot cannot post into would only ever fail.
        await rollback("the bot cannot post into the origin chat", e);
        await this.#send(dmChatId, replies.cannotPostThere(name.name, title)).catch((err) =>
          this.#log.warn("could not tell the author", { chat: dmChatId, error: err })
        );
        return;
      }
      this.#log.warn("acknowledgement not posted", { hook: hook.id, chat: m.chatId, error: e });
    }
  }

  async #revoke(m: IncomingMessage, chat: ChatInfo | null, cmd: ParsedCommand): Promise<void> {
    const decision = await this.#perms.canManage(m.chatId, m.authorId, "revoke");
    if (!decision.allowed) return await this.#reply(m, chat, replies.refused(decision.reason));
    const name = cmd.args.trim();
    if (!name) {
      const existing = (await this.#o.store.listByChat(m.chatId)).map((h) => h.name);
      return await this.#reply(m, chat, replies.revokeNeedsName(existing));
    }
    const removed = await this.#o.store.revokeByName(m.chatId, name);
    if (!removed) {
      const existing = (await this.#o.store.listByChat(m.chatId)).map((h) => h.name);
      return await this.#reply(m, chat, replies.notFound(name, existing));
    }
    this.#log.info("hook revoked", { hook: removed.id, chat: m.chatId, by: m.authorId });
    await this.#reply(m, chat, replies.revoked(removed.name));
  }

  #send(chatId: string, text: string): Promise<SentMessage> {
    return this.#o.client.sendMessage(chatId, text, replies.REPLY_MODE);
  }

  /**
   * Answers in the origin chat; if the bot may not post there (a channel where it is only a
   * subscriber), the answer goes to the author's personal chat with a note, as the reference
   * bot does.
   */
  async #reply(m: IncomingMessage, chat: ChatInfo | null, text: string): Promise<void> {
    try {
      await this.#send(m.chatId, text);
      return;
    } catch (e) {
      if (!(e instanceof TrueConfApiError && e.chatUnavailable)) throw e;
      this.#log.info("origin chat refused the reply, answering by direct message", {
        chat: m.chatId,
        code: e.code,
      });
    }
    const dm = await this.#o.client.createP2PChat(m.authorId);
    if (dm === m.chatId) return;
    await this.#send(dm, replies.redirected(chatTitle(chat, m.chatId)) + text);
  }
}
