/**
 * The chat side of hooks: `/webhook_create`, `/webhook_list`, `/webhook_revoke`,
 * `/webhook_help` and the lifecycle commands (pause, resume, rename, rotate, expire, info,
 * verify, allow, alerts, mentions, test), with the addressing and permission rules of the
 * reference bot. Every secret goes only by direct message; a rotation or verification whose
 * direct message fails is taken back.
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
import { meantCommand, parseCommand, type ParsedCommand } from "./command_parser.ts";
import { isPersonal, Permissions } from "./permissions.ts";
import * as replies from "./replies.ts";
import type { HookStore } from "./store.ts";
import { unquoteName, validateHookName } from "./hook_name.ts";
import { ChatType, isTrueConfError, sameTrueConfId, TrueConfApiError } from "../trueconf/mod.ts";
import {
  LIVING_SETTINGS,
  type LivingSetting,
  parseSettingWord,
  settingChanged,
  settingExample,
} from "../messages/mod.ts";
import type { ChatInfo, IncomingMessage, Participant, SentMessage } from "../trueconf/mod.ts";
import { splitText } from "../delivery/mod.ts";
import {
  allowSplits,
  holdsUrl,
  parseDuration,
  splitLastWord,
  splitRename,
  takeExpiresOption,
} from "./command_args.ts";
import { type IpAddress, IPv4, IPv6, parseCidrList } from "../net/mod.ts";
import { type HookRecord, MAX_GRACE_MS, type VerifyMode } from "./store.ts";
import { creatorToNotify } from "../storage/mod.ts";
import { VERIFY_MODES } from "./verify.ts";
import type { Logger } from "../log.ts";
import { silentLogger } from "../log.ts";
import { type BoundedCache, boundedCache } from "../bounded_cache.ts";

/** What commands need from the TrueConf client. */
export interface CommandClient {
  /** The bot's own id once authorised (to recognise mentions of it). */
  readonly state: { readonly botId: string | null };
  /** Posts a reply or a DM. */
  sendMessage(
    chatId: string,
    text: string,
    parseMode: "text" | "markdown" | "html",
  ): Promise<SentMessage>;
  /** The personal chat with a user (where secrets go). */
  createP2PChat(userId: string): Promise<string>;
  /** Chat type and title (commands behave per chat type). */
  getChatByID(chatId: string): Promise<ChatInfo>;
  /** Members and roles (the admin rule). */
  getChatParticipants(chatId: string): Promise<Participant[]>;
}

/**
 * Where a command came from and how to answer there (the command handler's `#reply`): what the
 * commands of outgoing hooks (`src/outgoing/commands.ts`) are called with.
 */
export interface CommandContext {
  /** The command message. */
  message: IncomingMessage;
  /** The chat, when known. */
  chat: ChatInfo | null;
  /** Answers in the chat (or by direct message when the chat refuses the bot). */
  reply(text: string): Promise<void>;
}

/** Options of {@link CommandHandler}. */
export interface CommandHandlerOptions {
  /** The TrueConf client. */
  client: CommandClient;
  /** Where hooks live. */
  store: HookStore;
  /** `WEBHOOK_PUBLIC_URL` without a trailing slash. */
  publicUrl: string;
  /** `WEBHOOK_ADMIN_ONLY`. */
  adminOnly: boolean;
  /** Clock for expiries and grace periods (ms since the epoch); tests pass a fake. */
  now?: (() => number) | undefined;
  /** Chat type cache lifetime; default 300 s. */
  chatCacheTtlMs?: number;
  /**
   * Outgoing hooks (`src/outgoing/`): `/webhook_create <name> <url> …`, `/webhook_test`,
   * trigger words that must not be answered with help, and a pause that drops waiting calls.
   */
  outgoing?: {
    create(ctx: CommandContext, args: string, expiresAt: number | null): Promise<void>;
    test(ctx: CommandContext, args: string): Promise<void>;
    /**
     * The outgoing hook (active first, else paused) whose trigger word starts the message, and
     * that word; null when none.
     */
    triggerHook(m: IncomingMessage): Promise<{ hook: HookRecord; trigger: string } | null>;
    /** An outgoing hook was paused: its calls still waiting are dropped now. */
    paused(hookId: string): void;
  } | undefined;
  /** Where commands and refusals are logged. Default: silent. */
  logger?: Logger;
}

/** The chat's title, or (as the reference bot) the start of its id when the title is unknown. */
function chatTitle(chat: ChatInfo | null, chatId: string): string {
  return chat?.title || `chat ${chatId.slice(0, 12)}…`;
}

/** Longest reply part, in code points; markup counts too, so it stays under 4096 visible. */
const MAX_PART = 3_800;

/** Default rotation grace period: 24 h. */
const DEFAULT_GRACE_MS = 86_400_000;
/** Longest expiry: 10 years (3650d). */
const MAX_EXPIRY_MS = 3650 * 86_400_000;
/**
 * A member's personal chat is introduced again only after this much time without an answer
 * from the bot there: a member chatting line after line is not answered every line.
 */
const INTRODUCTION_QUIET_MS = 10 * 60_000;
/** Personal chats remembered as introduced (about 100 bytes each); the oldest go first. */
const INTRODUCED_MAX = 10_000;

/**
 * Validates and normalizes `/webhook_allow` entries to CIDRs, the way they match: a bare address
 * is a single host, host bits are dropped (`10.0.0.5/8` is `10.0.0.0/8`), an IPv4-mapped IPv6
 * entry (`::ffff:10.0.0.1`, as dual-stack logs write clients) is its IPv4 address or range,
 * because client addresses are compared unwrapped, and repeats go. Throws naming the bad entry.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.deepEqual(normalizeAllow(["10.0.0.5/8", "192.168.1.5"]), ["10.0.0.0/8", "192.168.1.5/32"]);
 * assert.deepEqual(normalizeAllow(["::ffff:127.0.0.1", "[2001:db8::1]/32"]), ["127.0.0.1/32", "2001:db8::/32"]);
 * ```
 */
export function normalizeAllow(entries: readonly string[]): string[] {
  if (entries.length > 50) throw new Error("At most 50 addresses or ranges");
  const out = entries.map((e) => {
    let range;
    try {
      // "[2001:db8::1]" and "[2001:db8::]/32": brackets as URLs write IPv6.
      [range] = parseCidrList(e.replace(/^\[([^\]]*)\]/, "$1"));
    } catch {
      range = undefined;
    }
    if (!range) throw new Error(`«${e}» is not an IP address or CIDR range`);
    return networkOf(range[0], range[1]);
  });
  return [...new Set(out)];
}

/**
 * `address/bits` as the network it matches (see {@link normalizeAllow}). An IPv4-mapped entry
 * arrives here as IPv4 already: `parseCidrList` unwraps it (`mappedAsIPv4`, src/net/).
 */
function networkOf(address: IpAddress, bits: number): string {
  const bytes = address.toByteArray().map((b, i) =>
    b & (0xff << (8 - Math.max(0, Math.min(8, bits - 8 * i)))) & 0xff
  );
  const network = address instanceof IPv4
    ? new IPv4(bytes)
    : new IPv6(bytes.filter((_, i) => i % 2 === 0).map((hi, i) => hi << 8 | bytes[2 * i + 1]!));
  return `${network}/${bits}`;
}

/** Runs chat commands; feed it every incoming message. */
export class CommandHandler {
  readonly #o: CommandHandlerOptions;
  readonly #log: Logger;
  readonly #perms: Permissions;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #now: () => number;
  /** Personal chats the bot answered in the last {@link INTRODUCTION_QUIET_MS}. */
  readonly #introduced: BoundedCache<string, true>;
  #closed = false;

  /** A handler; register it with `client.onMessage`. */
  constructor(options: CommandHandlerOptions) {
    this.#o = options;
    this.#log = options.logger ?? silentLogger;
    this.#now = options.now ?? Date.now;
    this.#introduced = boundedCache(INTRODUCED_MAX, {
      ttl: INTRODUCTION_QUIET_MS,
      now: this.#now,
    });
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
      // A TrueConf failure means the chat may not be reachable (or the answer may even have
      // arrived after a timeout): the command itself (a revoke, a rename…) usually took effect
      // and only its reply is missing, so that is a warning. Anything else (KV) failed the
      // command: an error, and worth an apology.
      if (isTrueConfError(e)) {
        this.#log.warn("could not reply to a command (TrueConf refused or is unreachable)", {
          chat: m.chatId,
          author: m.authorId,
          error: e,
        });
        return;
      }
      this.#log.error("command failed", { chat: m.chatId, author: m.authorId, error: e });
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
    if (!cmd) return await this.#chatter(m, botId);
    const chat = await this.#perms.chat(m.chatId);
    const personal = isPersonal(chat?.chatType);
    // In groups and channels only messages that start with a mention of the bot count; an
    // unknown chat type fails closed (mention required).
    if (!cmd.addressed && !personal) return;
    // A member who just used a command knows the bot: their chatter after it needs no
    // introduction.
    if (chat?.chatType === ChatType.P2P) this.#introduced.set(m.chatId, true);
    this.#log.info("command", { chat: m.chatId, author: m.authorId, command: cmd.command });
    // Hooks made without the chat (CLI, import) learn their chat's title for `hooks list`.
    if (chat?.title && cmd.command !== "webhook_help") {
      await this.#o.store.rememberChatTitle(m.chatId, chat.title);
    }
    switch (cmd.command) {
      case "webhook_help":
        // `@bot /deploy` is an outgoing hook's trigger word, not an unknown command; when
        // that hook is paused, the member learns why nothing happens instead of the help.
        if (cmd.foreign && this.#o.outgoing) {
          const t = await this.#o.outgoing.triggerHook(m);
          if (t?.hook.paused) {
            return await this.#reply(m, chat, replies.pausedTrigger(t.trigger, t.hook.name));
          }
          if (t) return;
        }
        return await this.#reply(
          m,
          chat,
          (cmd.unknown === undefined ? "" : replies.unknownCommand(
            cmd.unknown,
            meantCommand(cmd.unknown),
            cmd.args,
            cmd.slashless,
          ) + "\n") +
            replies.help(!personal),
        );
      case "webhook_test":
        return await this.#test(m, chat, cmd);
      case "webhook_list":
        // A long list is split at line ends so each part stays under TrueConf's 4096 characters.
        for (
          const part of splitText(
            replies.list(await this.#o.store.listByChat(m.chatId), this.#now()),
            MAX_PART,
            {
              fences: false,
            },
          )
        ) {
          await this.#reply(m, chat, part);
        }
        return;
      case "webhook_create":
        return await this.#create(m, chat, cmd);
      case "webhook_revoke":
        return await this.#revoke(m, chat, cmd);
      case "webhook_pause":
      case "webhook_resume":
        return await this.#pauseResume(m, chat, cmd);
      case "webhook_rename":
        return await this.#rename(m, chat, cmd);
      case "webhook_rotate":
        return await this.#rotate(m, chat, cmd);
      case "webhook_expire":
        return await this.#expire(m, chat, cmd);
      case "webhook_info":
        return await this.#info(m, chat, cmd);
      case "webhook_verify":
        return await this.#verify(m, chat, cmd);
      case "webhook_allow":
        return await this.#allow(m, chat, cmd);
      case "webhook_alerts":
      case "webhook_mentions":
        return await this.#livingSetting(m, chat, cmd, LIVING_SETTINGS[cmd.command]);
    }
  }

  /**
   * Plain text (no command) from a member. In the member's personal chat with the bot it gets
   * one short introduction (what the bot is, what to type), at most once per
   * {@link INTRODUCTION_QUIET_MS}: without it a member who found the bot and wrote "hello" got
   * no answer at all. Everywhere else chatter is not for the bot: silence in groups and
   * channels (and when the chat type is unknown), for system messages, attachments and the
   * bot's own messages, and where an outgoing hook takes the chat's messages to its service.
   */
  async #chatter(m: IncomingMessage, botId: string): Promise<void> {
    if (m.type !== 200 || m.authorType === 0 || !m.text.trim()) return;
    if (sameTrueConfId(m.authorId, botId) || this.#introduced.has(m.chatId)) return;
    const chat = await this.#perms.chat(m.chatId);
    if (chat?.chatType !== ChatType.P2P) return;
    // Checked again: the lookup let the next lines of a burst through to here.
    if (this.#introduced.has(m.chatId)) return;
    this.#introduced.set(m.chatId, true);
    const hooks = await this.#o.store.listByChat(m.chatId);
    if (hooks.some((h) => h.kind === "outgoing")) return;
    this.#log.info("introduced the bot to plain text in a personal chat", {
      chat: m.chatId,
      author: m.authorId,
    });
    await this.#reply(m, chat, replies.introduction());
  }

  /**
   * The bot was removed from a chat, or the chat was removed: its hooks are paused at once
   * (their URLs answer 404) and each creator is told by direct message which ones.
   */
  async chatLost(chatId: string, reason: "bot_removed" | "chat_removed"): Promise<void> {
    const paused = await this.#o.store.pauseChat(chatId, reason);
    if (paused.length === 0) return;
    for (const h of paused) if (h.kind === "outgoing") this.#o.outgoing?.paused(h.id);
    this.#log.info("chat lost, hooks paused", { chat: chatId, reason, hooks: paused.length });
    const byCreator = new Map<string, HookRecord[]>();
    for (const h of paused) {
      // Nobody to tell for a CLI-made hook without --owner (the bot cannot post in the chat
      // it was removed from); the log line above is the trace.
      const creator = creatorToNotify(h);
      if (creator === null) continue;
      // One member, one notice: `hooks create --owner alice` stores the bare login where the
      // chat stores `alice@server` (and CLIs before session 12 kept its case as typed).
      const same = [...byCreator.keys()].find((k) => sameTrueConfId(k, creator));
      const hooks = [...(same === undefined ? [] : byCreator.get(same)!), h];
      if (same !== undefined) byCreator.delete(same);
      // The id with the server's domain is the one to write to, when there is one.
      byCreator.set(same !== undefined && !creator.includes("@") ? same : creator, hooks);
    }
    for (const [creator, hooks] of byCreator) {
      const title = hooks[0]!.chatTitle || `chat ${chatId.slice(0, 12)}…`;
      await this.#dm(creator, replies.chatLostNotice(hooks, title, reason))
        .catch((e) => this.#log.warn("could not tell the creator", { creator, error: e }));
    }
  }

  /**
   * Expiry work, run every minute by the bot: reminds creators before an expiry and
   * removes expired hooks (as a revoke: 404, waiting deliveries dropped) with a notice.
   */
  async sweepExpiries(): Promise<void> {
    const { expired, warn } = await this.#o.store.dueExpiries();
    for (const h of warn) {
      await this.#o.store.markExpiryWarned(h.id);
      await this.#notifyExpiry(h, replies.expiryWarning).catch((e) =>
        this.#log.warn("expiry reminder not sent", { hook: h.id, error: e })
      );
    }
    for (const h of expired) {
      if (!(await this.#o.store.revoke(h.id, "hook_expired"))) continue;
      await this.#notifyExpiry(h, replies.expiredNotice).catch((e) =>
        this.#log.warn("expiry notice not sent", { hook: h.id, error: e })
      );
    }
  }

  /**
   * An expiry reminder or notice goes to the hook's creator by DM. A hook with no member as its
   * creator (`hooks create` without `--owner`, an import without an author) gets it in its own
   * chat instead: the chat is whom the hook serves, and its managers can keep it with
   * /webhook_expire there. The text names no secret.
   */
  async #notifyExpiry(h: HookRecord, text: (h: HookRecord, here: boolean) => string) {
    const person = creatorToNotify(h);
    if (person !== null) return await this.#dm(person, text(h, false));
    await this.#send(h.chatId, text(h, true));
  }

  /** Sends into the user's personal chat with the bot. */
  async #dm(userId: string, text: string): Promise<void> {
    const dm = await this.#o.client.createP2PChat(userId);
    await this.#send(dm, text);
  }

  /** The management rule (WEBHOOK_ADMIN_ONLY); answers the refusal itself. */
  async #mayManage(m: IncomingMessage, chat: ChatInfo | null): Promise<boolean> {
    const decision = await this.#perms.canManage(m.chatId, m.authorId, "manage");
    if (decision.allowed) return true;
    await this.#reply(m, chat, replies.refused(decision.reason));
    return false;
  }

  /**
   * The permission check and the hook lookup every management command starts with; answers
   * the refusal, the missing name or the unknown name itself and returns null then.
   */
  async #target(
    m: IncomingMessage,
    chat: ChatInfo | null,
    name: string,
    command: string,
    example: string,
    manage = true,
  ): Promise<HookRecord | null> {
    if (manage && !(await this.#mayManage(m, chat))) return null;
    if (!name) {
      // Which hooks there are is what a member who left the name out needs next.
      const existing = (await this.#o.store.listByChat(m.chatId)).map((h) => h.name);
      await this.#reply(m, chat, replies.usage(command, example) + replies.hereList(existing));
      return null;
    }
    const hook = await this.#o.store.findByName(m.chatId, name);
    if (!hook) {
      const existing = (await this.#o.store.listByChat(m.chatId)).map((h) => h.name);
      await this.#reply(m, chat, replies.notFound(name, existing));
      return null;
    }
    // Expired but not yet swept (the sweep runs each minute): it behaves as revoked already,
    // so a resume or a rotation must not claim it works.
    if (hook.expiresAt !== null && hook.expiresAt <= this.#now()) {
      await this.#reply(m, chat, replies.expiredAlready(hook));
      return null;
    }
    return hook;
  }

  async #pauseResume(m: IncomingMessage, chat: ChatInfo | null, cmd: ParsedCommand) {
    const pause = cmd.command === "webhook_pause";
    const hook = await this.#target(m, chat, cmd.args, cmd.command, "<name>");
    if (!hook) return;
    if (Boolean(hook.paused) === pause) {
      return await this.#reply(m, chat, replies.alreadyInState(hook.name, pause));
    }
    const r = pause
      ? await this.#o.store.pause(hook.id, m.authorId)
      : await this.#o.store.resume(hook.id);
    if (!r.ok) return await this.#reply(m, chat, replies.notFound(hook.name, []));
    this.#log.info(pause ? "hook paused" : "hook resumed", { hook: hook.id, by: m.authorId });
    if (pause && hook.kind === "outgoing") this.#o.outgoing?.paused(hook.id);
    await this.#reply(m, chat, pause ? replies.paused(hook) : replies.resumed(hook));
  }

  async #rename(m: IncomingMessage, chat: ChatInfo | null, cmd: ParsedCommand) {
    const example = "<old name> -> <new name>";
    const parts = splitRename(cmd.args);
    if (!parts || !parts.from || !parts.to) {
      if (!(await this.#mayManage(m, chat))) return;
      return await this.#reply(m, chat, replies.usage("webhook_rename", example));
    }
    const hook = await this.#target(m, chat, parts.from, "webhook_rename", example);
    if (!hook) return;
    const name = validateHookName(unquoteName(parts.to));
    if (!name.ok) {
      const text = replies.badName(name.code, [...parts.to].length, hook.name);
      return await this.#reply(m, chat, text);
    }
    const r = await this.#o.store.rename(hook.id, name.name);
    if (!r.ok) {
      const text = r.reason === "name_taken"
        ? replies.duplicate(name.name)
        : replies.badName(r.message, 0, hook.name);
      return await this.#reply(m, chat, text);
    }
    this.#log.info("hook renamed", { hook: hook.id, by: m.authorId });
    await this.#reply(m, chat, replies.renamed(hook.name, r.hook.name));
  }

  async #rotate(m: IncomingMessage, chat: ChatInfo | null, cmd: ParsedCommand) {
    const example = "<name> [grace: 24h by default, 0 = none, at most 7d]";
    // A whole-args match wins, so a hook named "build 2h" can still be rotated.
    let name = cmd.args;
    let graceMs = DEFAULT_GRACE_MS;
    const { head, last } = splitLastWord(cmd.args);
    const exact = head === "" ? null : await this.#o.store.findByName(m.chatId, cmd.args);
    if (!exact && head !== "") {
      const d = parseDuration(last);
      if (d !== null && d <= MAX_GRACE_MS) {
        name = head;
        graceMs = d;
      } else if (
        /^\d/.test(last) || (d === null && await this.#o.store.findByName(m.chatId, head))
      ) {
        // "deploys 9d" or "deploys soon" where "deploys" is a hook: the grace is what is wrong.
        if (!(await this.#mayManage(m, chat))) return;
        return await this.#reply(m, chat, replies.badGrace(last));
      }
    }
    const hook = await this.#target(m, chat, name, "webhook_rotate", example);
    if (!hook) return;
    // The personal chat first: if the bot cannot write there, nothing changes.
    let dmChatId: string;
    try {
      dmChatId = await this.#o.client.createP2PChat(m.authorId);
    } catch {
      return await this.#reply(m, chat, replies.dmFailedFor("rotate", hook));
    }
    const until = this.#now() + graceMs;
    const graceLine = replies.graceText(graceMs, until, hook);
    const r = await this.#o.store.rotate(hook.id, graceMs);
    if (!r.ok || !(r.secret || r.token)) {
      return await this.#reply(m, chat, replies.notFound(hook.name, []));
    }
    const title = dmChatId === m.chatId ? null : chatTitle(chat, m.chatId);
    const secretText =
      (r.secret
        ? replies.rotatedSecretMessage(hook.name, r.secret, graceLine)
        : replies.rotatedUrlMessage(hook.name, title, this.#url(r.token!), graceLine, graceMs)) +
      replies.stillPaused(hook);
    const done = r;
    try {
      await this.#send(dmChatId, secretText);
    } catch (e) {
      // Nobody has the new URL or secret: keep the one the senders use (with grace 0 it would
      // be dead, and a retried rotation would end it at once), as if nothing had been asked.
      await this.#o.store.undoRotation(done.before, done.hook);
      this.#log.warn("rotated secret not delivered; rotation undone", { hook: hook.id, error: e });
      return await this.#reply(m, chat, replies.dmFailedFor("rotate", hook));
    }
    this.#log.info("hook rotated", { hook: hook.id, by: m.authorId, graceMs });
    if (dmChatId !== m.chatId) {
      await this.#reply(m, chat, replies.rotated(hook, graceLine) + replies.stillPaused(hook));
    }
  }

  async #expire(m: IncomingMessage, chat: ChatInfo | null, cmd: ParsedCommand) {
    const example = "<name> <duration, e.g. 30d>|never";
    const { head, last } = splitLastWord(cmd.args);
    const never = last.toLowerCase() === "never";
    const ms = never ? null : parseDuration(last);
    if (head === "" || (!never && (ms === null || ms === 0 || ms > MAX_EXPIRY_MS))) {
      if (!(await this.#mayManage(m, chat))) return;
      return await this.#reply(
        m,
        chat,
        replies.usage("webhook_expire", example) + " Durations: 30m, 12h, 30d (at most 3650d).",
      );
    }
    const hook = await this.#target(m, chat, head, "webhook_expire", example);
    if (!hook) return;
    const expiresAt = ms === null ? null : this.#now() + ms;
    const r = await this.#o.store.setExpiry(hook.id, expiresAt);
    if (!r.ok) return await this.#reply(m, chat, replies.notFound(hook.name, []));
    await this.#reply(m, chat, replies.expirySet(hook.name, expiresAt));
  }

  /** `/webhook_alerts`, `/webhook_mentions`: one word stored in the hook's settings (src/messages/settings.ts). */
  async #livingSetting(
    m: IncomingMessage,
    chat: ChatInfo | null,
    cmd: ParsedCommand,
    s: LivingSetting,
  ) {
    const { head, last } = splitLastWord(cmd.args);
    const value = parseSettingWord(last, s);
    if (head === "" || value === null) {
      if (!(await this.#mayManage(m, chat))) return;
      return await this.#reply(m, chat, replies.usage(cmd.command, settingExample(s)));
    }
    const hook = await this.#target(m, chat, head, cmd.command, settingExample(s));
    if (!hook) return;
    const r = await this.#o.store.setSetting(hook.id, s.key, value);
    if (!r.ok) return await this.#reply(m, chat, replies.notFound(hook.name, []));
    await this.#reply(m, chat, settingChanged(replies.esc(hook.name), s, value));
  }

  async #info(m: IncomingMessage, chat: ChatInfo | null, cmd: ParsedCommand) {
    const hook = await this.#target(m, chat, cmd.args, "webhook_info", "<name>", false);
    if (!hook) return;
    const history = await this.#o.store.history(hook.id);
    const text = replies.info(hook, history, this.#now());
    for (const part of splitText(text, MAX_PART, { fences: false })) {
      await this.#reply(m, chat, part);
    }
  }

  async #verify(m: IncomingMessage, chat: ChatInfo | null, cmd: ParsedCommand) {
    const example = "<name> github|gitlab|grafana|standard|bearer|off";
    const { head, last } = splitLastWord(cmd.args);
    const word = last.toLowerCase();
    const mode = (VERIFY_MODES as readonly string[]).includes(word) ? word as VerifyMode : null;
    if (head === "" || (word !== "off" && mode === null)) {
      if (!(await this.#mayManage(m, chat))) return;
      // "deploys foo": a name and a word that is no mode; say which word was not understood.
      const text = head === ""
        ? replies.usage("webhook_verify", example)
        : replies.badVerifyMode(last, head);
      return await this.#reply(m, chat, text);
    }
    const hook = await this.#target(m, chat, head, "webhook_verify", example);
    if (!hook) return;
    if (hook.kind === "outgoing") {
      return await this.#reply(m, chat, replies.incomingOnly(hook, "webhook_verify"));
    }
    if (mode === null) {
      await this.#o.store.setVerification(hook.id, null);
      return await this.#reply(m, chat, replies.verifyOff(hook.name) + replies.stillPaused(hook));
    }
    let dmChatId: string;
    try {
      dmChatId = await this.#o.client.createP2PChat(m.authorId);
    } catch {
      return await this.#reply(m, chat, replies.dmFailedFor("verify", hook));
    }
    const previous = hook.verification;
    const r = await this.#o.store.setVerification(hook.id, mode);
    if (!r.ok || !r.secret) return await this.#reply(m, chat, replies.notFound(hook.name, []));
    try {
      // The private message is the only answer when the command came from that personal chat,
      // so it carries the paused note itself (as a rotation's does).
      await this.#send(
        dmChatId,
        replies.verifySecretMessage(hook.name, mode, r.secret) + replies.stillPaused(hook),
      );
    } catch (e) {
      // Nobody has the new secret: put the previous state back.
      await this.#o.store.update(hook.id, (h) => ({ ...h, verification: previous }));
      this.#log.warn("verification secret not delivered; reverted", { hook: hook.id, error: e });
      return await this.#reply(m, chat, replies.dmFailedFor("verify", hook));
    }
    this.#log.info("hook verification set", { hook: hook.id, mode, by: m.authorId });
    if (dmChatId !== m.chatId) {
      await this.#reply(m, chat, replies.verifyOn(hook.name, mode) + replies.stillPaused(hook));
    }
  }

  async #allow(m: IncomingMessage, chat: ChatInfo | null, cmd: ParsedCommand) {
    const example = "<name> <CIDR or address>[,…]|any";
    // A name may end in address-like words ("build 2"): the longest name that is a hook wins.
    const splits = allowSplits(cmd.args);
    let chosen = splits[0];
    for (const s of splits.slice(1)) {
      if (await this.#o.store.findByName(m.chatId, s.name)) chosen = s;
    }
    const { name, entries } = chosen ?? { name: "", entries: null };
    if (!name || entries === null) {
      if (!(await this.#mayManage(m, chat))) return;
      return await this.#reply(
        m,
        chat,
        replies.usage("webhook_allow", example) + " For example: 10.0.0.0/8,192.168.1.5",
      );
    }
    const hook = await this.#target(m, chat, name, "webhook_allow", example);
    if (!hook) return;
    if (hook.kind === "outgoing") {
      return await this.#reply(m, chat, replies.incomingOnly(hook, "webhook_allow"));
    }
    let allow: string[] | null = null;
    if (entries !== "any") {
      try {
        allow = normalizeAllow(entries);
      } catch (e) {
        return await this.#reply(
          m,
          chat,
          `⚠️ ${replies.esc((e as Error).message)}. Type /webhook_allow ${replies.esc(example)}.`,
        );
      }
    }
    await this.#o.store.setAllow(hook.id, allow);
    this.#log.info("hook allowlist set", { hook: hook.id, entries: allow?.length ?? 0 });
    await this.#reply(m, chat, replies.allowSet(hook.name, allow) + replies.stillPaused(hook));
  }

  #url(token: string): string {
    return `${this.#o.publicUrl.replace(/\/+$/, "")}/hook/${token}`;
  }

  async #create(m: IncomingMessage, chat: ChatInfo | null, cmd: ParsedCommand): Promise<void> {
    // Permission first: a member who may not create learns that before fixing a name.
    const decision = await this.#perms.canManage(m.chatId, m.authorId, "create");
    if (!decision.allowed) return await this.#reply(m, chat, replies.refused(decision.reason));
    const opt = takeExpiresOption(cmd.args);
    let expiresAt: number | null = null;
    if (opt.expires !== null) {
      const ms = parseDuration(opt.expires);
      if (ms === null || ms === 0 || ms > MAX_EXPIRY_MS) {
        return await this.#reply(m, chat, replies.badExpires(opt.expires, opt.rest));
      }
      expiresAt = this.#now() + ms;
    }
    if (this.#o.outgoing && holdsUrl(opt.rest)) {
      return await this.#o.outgoing.create(this.#context(m, chat), opt.rest, expiresAt);
    }
    // `/webhook_create "Prod deploys"`: the quotes only hold the name together.
    const name = validateHookName(unquoteName(opt.rest));
    if (!name.ok) {
      return await this.#reply(m, chat, replies.badName(name.code, [...opt.rest.trim()].length));
    }
    const result = await this.#o.store.create({
      chatId: m.chatId,
      name: name.name,
      createdBy: m.authorId,
      chatTitle: chat?.title || null,
      expiresAt,
    });
    if (!result.ok) {
      const text = result.reason === "duplicate_name"
        ? replies.duplicateOnCreate(name.name)
        : result.reason === "too_many"
        ? replies.tooMany()
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
        await this.#send(dmChatId, replies.urlMessage(name.name, null, url, expiresAt));
      } catch (e) {
        await rollback("cannot post the URL into the personal chat", e);
      }
      return;
    }
    try {
      await this.#send(dmChatId, replies.urlMessage(name.name, title, url, expiresAt));
    } catch (e) {
      await rollback("cannot send the URL by direct message", e);
      return await this.#reply(m, chat, replies.dmFailed(name.name));
    }
    try {
      await this.#send(m.chatId, replies.created(name.name, expiresAt));
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
    await this.#reply(m, chat, replies.revoked(removed));
  }

  #send(chatId: string, text: string): Promise<SentMessage> {
    return this.#o.client.sendMessage(chatId, replies.htmlLines(text), replies.REPLY_MODE);
  }

  /** `/webhook_test <name> [text]`: same permission as create (it calls the service). */
  async #test(m: IncomingMessage, chat: ChatInfo | null, cmd: ParsedCommand): Promise<void> {
    const decision = await this.#perms.canManage(m.chatId, m.authorId, "manage");
    if (!decision.allowed) return await this.#reply(m, chat, replies.refused(decision.reason));
    if (!this.#o.outgoing) {
      return await this.#reply(m, chat, replies.help(!isPersonal(chat?.chatType)));
    }
    await this.#o.outgoing.test(this.#context(m, chat), cmd.args);
  }

  #context(m: IncomingMessage, chat: ChatInfo | null): CommandContext {
    return { message: m, chat, reply: (text) => this.#reply(m, chat, text) };
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
