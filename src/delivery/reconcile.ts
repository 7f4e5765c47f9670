/**
 * The crash window, narrowed: before a delivery that a process which stopped uncleanly may have
 * posted is posted again, the chat's history is read for that post.
 *
 * TrueConf has no client-side message id to deduplicate by, and a post is recorded in KV only
 * after TrueConf answered it. A process killed between the two (SIGKILL, OOM, power loss, a
 * shutdown cut while TrueConf held an answer) leaves a post TrueConf carried out and the store
 * does not know, and the next attempt posts it again (docs/delivery.md, "The crash window").
 *
 * **When.** Only for a run the engine marks as possibly carried out (`JobRun.unrecordedSince`):
 * the waiting job that may have been running in each hook's line at an unclean stop, and a
 * request whose `Idempotency-Key` claim a dead process left pending. Never on the per-delivery
 * path: a run without the mark does not touch this module.
 *
 * **How.** {@link Reconciler.sender} gives such a run a sender that, for each post in order,
 * first looks in the chat's history (read once per run, `getChatHistory`, newest pages back to
 * the mark) for a message that is
 * - the bot's own (its author is the bot's TrueConf id);
 * - the same post: a text with the same text and parse mode (as sent, mentions and button links
 *   applied: the sender sits where the client is called) and the same reply target; a file with
 *   the same name, size and reply target;
 * - from the window the dead process could have made it in: TrueConf's timestamp no earlier than
 *   the mark (the step began after it) and earlier than this process's start;
 * - not another post's: neither taken by another run here nor recorded by the message registry
 *   as another hook's or before the step began (an identical message posted properly before is
 *   not taken; one of this hook recorded after may be this very post: the registry's commit
 *   landed, the job's or the key's did not).
 * Found: the post counts as made with that message's id (the run records it as it records any
 * post: progress, registry, idempotency outcome, metrics) and is not sent. A file sent with a
 * caption on TrueConf Server 5.5.6+ made two messages, the file and, right after it, its caption
 * as a text of its own (`sendFile`'s `captionMessageId`): that text, when it is the next message
 * in the history, the bot's, with the caption's text and parse mode and known to nobody, is
 * answered as the file's `captionMessageId`, so the registry ties it to the file as it does for a
 * post TrueConf answered, and removing the file removes it. Not found, or the
 * history cannot be read: the post is sent as before (at-least-once stays the guarantee), and
 * so is every later post of the run (the dead process posted in order, so nothing after a
 * missing post can be in the chat).
 *
 * **What it cannot tell apart.** Two identical posts to one chat made by the dead process within
 * its last moments, one of which TrueConf never carried out, when the other's registry record
 * was not yet committed (any two hooks) or was committed after the first one's step began (one
 * hook, two requests in flight together, e.g. parallel CI jobs with the same text): the retry
 * of the one not carried out takes the other's message, and the chat shows the text once where
 * two were accepted.
 * Clocks: TrueConf's timestamps are compared with this host's; a TrueConf clock behind ours
 * makes a post look older than the mark (not found: posted again, as before), one ahead only
 * widens the window, where only unknown identical posts of the bot count.
 *
 * @module
 */
import type { ParseMode } from "../message.ts";
import type {
  HistoryMessage,
  OutgoingFile,
  SendMessageOptions,
  SentMessage,
  TrueConfClient,
} from "../trueconf/mod.ts";
import { sameTrueConfId } from "../trueconf/mod.ts";
import type { Logger } from "../log.ts";
import { silentLogger } from "../log.ts";

/**
 * What the reconciler needs of the TrueConf client: the history, the bot's id (`state`), and
 * what a run posts, edits and removes with (passed through).
 */
export type ResumeClient = Pick<
  TrueConfClient,
  | "sendMessage"
  | "sendFile"
  | "editMessage"
  | "removeMessage"
  | "supportsButtons"
  | "getChatHistory"
  | "state"
>;

/** Options of {@link Reconciler}. */
export interface ReconcilerOptions {
  /** The TrueConf client. */
  client: ResumeClient;
  /**
   * Which hook's post the message registry recorded this message as, and when (ms since the
   * epoch); null when it did not: another hook's post, or one recorded before the run's step
   * began, is never taken for it.
   */
  recordOf(
    hookId: string,
    messageId: string,
    timestamp: number,
  ): Promise<{ hookId: string; at: number } | null>;
  /**
   * When this process started (ms since the epoch): a message TrueConf stamped from then on is
   * this process's own, never the dead one's.
   */
  startedAt: number;
  /** Where matches and failures are logged. */
  logger?: Logger | undefined;
  /** Messages per history page (≤ 100: more is not documented to work). Default 100. */
  pageSize?: number | undefined;
  /** Most pages read back per run. Default 5. */
  maxPages?: number | undefined;
}

/** The run a {@link Reconciler.sender} is for. */
export interface ResumedRun {
  /** The hook whose delivery it is. */
  readonly hookId: string;
  /** Its delivery id, for the log ("" for a request's own run). */
  readonly delivery: string;
  /** The run's first step began after this (ms since the epoch). */
  readonly since: number;
}

/** Ids taken by runs of this process, kept this long (a run reads history once at its start). */
const TAKEN_MAX = 10_000;

/** See the module doc. */
export class Reconciler {
  readonly #o: ReconcilerOptions;
  readonly #log: Logger;
  /** Messages already taken for a post here, so that two runs never take one message. */
  readonly #taken = new Set<string>();

  /** A reconciler over a client. */
  constructor(options: ReconcilerOptions) {
    this.#o = options;
    this.#log = options.logger ?? silentLogger;
  }

  /**
   * A client for one resumed run: posts look in the chat's history first (see the module doc);
   * everything else passes through.
   */
  sender(run: ResumedRun): ResumedSender {
    return new ResumedSender(this, run);
  }

  /** The client the sender passes posts to. */
  get client(): ResumeClient {
    return this.#o.client;
  }

  /** The history of `chatId` in the window of `run`, oldest first; null when unreadable. */
  async history(chatId: string, run: ResumedRun): Promise<HistoryMessage[] | null> {
    const size = Math.min(100, this.#o.pageSize ?? 100);
    const out = new Map<string, HistoryMessage>();
    let from: string | null = null;
    try {
      for (let page = 0; page < (this.#o.maxPages ?? 5); page++) {
        const h = await this.#o.client.getChatHistory(chatId, size, from);
        let added = 0;
        for (const m of h.messages) {
          if (!out.has(m.messageId)) {
            out.set(m.messageId, m);
            added++;
          }
        }
        const oldest = h.messages[0];
        // Back far enough (the oldest is before the window), the chat's start, or a server
        // that does not page back as expected.
        if (!oldest || oldest.timestamp < run.since || h.messages.length < size || added === 0) {
          break;
        }
        from = oldest.messageId;
      }
    } catch (e) {
      this.#log.warn(
        "could not read the chat's history to look for a post made before an unclean stop; posting it (again)",
        { hook: run.hookId, chat: chatId, delivery: run.delivery, error: e },
      );
      return null;
    }
    return [...out.values()].sort((a, b) => a.box - b.box || a.timestamp - b.timestamp);
  }

  /**
   * The oldest message of `history` that is this post's (`same`), in the window of `run`, and
   * known to nobody; it is taken (no other run gets it). Null when there is none.
   */
  async take(
    chatId: string,
    history: readonly HistoryMessage[],
    run: ResumedRun,
    same: (m: HistoryMessage) => boolean,
  ): Promise<HistoryMessage | null> {
    const botId = this.#o.client.state.botId;
    if (botId === null) return null;
    for (const m of history) {
      if (m.timestamp < run.since || m.timestamp >= this.#o.startedAt) continue;
      if (this.#taken.has(m.messageId) || !sameTrueConfId(m.authorId, botId) || !same(m)) continue;
      // Taken before the registry is asked: a run looking meanwhile must not take it too.
      this.#take(m.messageId);
      const recorded = await this.#recordOf(chatId, m, run, "a post");
      // Cannot tell whether it was recorded: taking it could lose a post; post again instead.
      if (recorded === undefined) return null;
      // Another hook's post, or this hook's recorded before the step began: not this post.
      // This hook's recorded after it may be this very post (the registry's commit landed,
      // the job's or the Idempotency-Key's did not).
      if (recorded !== null && (recorded.hookId !== run.hookId || recorded.at < run.since)) {
        continue;
      }
      this.#log.info(
        "post found in the chat's history: made before an unclean stop and not recorded; recorded now, not sent again",
        { hook: run.hookId, chat: chatId, delivery: run.delivery, message: m.messageId },
      );
      return m;
    }
    return null;
  }

  /**
   * The caption message of `file` (found in `history` for a post with `caption`): the message
   * right after it in TrueConf's order, the bot's own text with the caption's text and parse mode,
   * before this process started, and known to nobody (not taken here, not in the registry). It
   * is taken. Null when there is none (older servers show the caption on the file itself), or
   * when the registry cannot say: the caption then stays in the chat when the file is removed,
   * as before, rather than a message of another post going with it.
   */
  async captionOf(
    chatId: string,
    history: readonly HistoryMessage[],
    file: HistoryMessage,
    caption: { text: string; parseMode: ParseMode },
    run: ResumedRun,
  ): Promise<HistoryMessage | null> {
    const botId = this.#o.client.state.botId;
    const next = history[history.indexOf(file) + 1];
    if (
      botId === null || next === undefined || this.#taken.has(next.messageId) ||
      !sameTrueConfId(next.authorId, botId) || next.type !== 200 || next.text !== caption.text ||
      next.parseMode !== caption.parseMode || next.timestamp >= this.#o.startedAt
    ) return null;
    this.#take(next.messageId);
    // Recorded (a post of its own), or the registry cannot say: not tied.
    return await this.#recordOf(chatId, next, run, "a file's caption") === null ? next : null;
  }

  /** The registry's record of `m`; undefined (logged) when the registry cannot be asked. */
  async #recordOf(
    chatId: string,
    m: HistoryMessage,
    run: ResumedRun,
    what: string,
  ): Promise<{ hookId: string; at: number } | null | undefined> {
    try {
      return await this.#o.recordOf(run.hookId, m.messageId, m.timestamp);
    } catch (e) {
      this.#log.warn(`could not ask the message registry about ${what} in the history`, {
        hook: run.hookId,
        chat: chatId,
        error: e,
      });
      return undefined;
    }
  }

  #take(messageId: string): void {
    if (this.#taken.size >= TAKEN_MAX) this.#taken.delete(this.#taken.values().next().value!);
    this.#taken.add(messageId);
  }
}

/**
 * The client of one resumed run (see {@link Reconciler.sender}): a post is looked for in the
 * history first, until one is not found; from then on every post is sent.
 */
export class ResumedSender {
  readonly #r: Reconciler;
  readonly #run: ResumedRun;
  #looking = true;
  /** The chat's history in the run's window, read at the first post. */
  #history: Promise<HistoryMessage[] | null> | undefined;

  /** A sender for `run`; made by {@link Reconciler.sender}. */
  constructor(reconciler: Reconciler, run: ResumedRun) {
    this.#r = reconciler;
    this.#run = run;
  }

  /** Posts a text unless the history shows it was posted. */
  async sendMessage(
    chatId: string,
    text: string,
    parseMode: ParseMode,
    opts?: SendMessageOptions,
  ): Promise<SentMessage> {
    const reply = opts?.replyMessageId ?? null;
    const found = await this.#find(
      chatId,
      (m) =>
        m.type === 200 && m.text === text && m.parseMode === parseMode &&
        m.replyMessageId === reply,
    );
    return found ? sentOf(found) : await this.#r.client.sendMessage(chatId, text, parseMode, opts);
  }

  /**
   * Posts a file unless the history shows it was posted (same name, size and reply target); a
   * file found answers its caption's own message too, on servers that make one (5.5.6+).
   */
  async sendFile(chatId: string, file: OutgoingFile): Promise<SentMessage> {
    const reply = file.replyMessageId ?? null;
    const size = file.bytes.byteLength;
    const found = await this.#find(
      chatId,
      (m) =>
        m.file !== null && m.file.name === file.name && m.file.size === size &&
        m.replyMessageId === reply,
    );
    if (!found) return await this.#r.client.sendFile(chatId, file);
    const sent = sentOf(found);
    const history = file.caption?.text ? await this.#history : null;
    const caption = history &&
      await this.#r.captionOf(chatId, history, found, file.caption!, this.#run);
    if (caption) sent.captionMessageId = caption.messageId;
    return sent;
  }

  /** Passed through: an edit is the same edit twice. */
  editMessage(
    ...args: Parameters<ResumeClient["editMessage"]>
  ): ReturnType<ResumeClient["editMessage"]> {
    return this.#r.client.editMessage(...args);
  }

  /** Passed through: a removal of what is gone counts as done. */
  removeMessage(
    ...args: Parameters<ResumeClient["removeMessage"]>
  ): ReturnType<ResumeClient["removeMessage"]> {
    return this.#r.client.removeMessage(...args);
  }

  /** Passed through. */
  supportsButtons(): Promise<boolean> {
    return this.#r.client.supportsButtons();
  }

  async #find(
    chatId: string,
    same: (m: HistoryMessage) => boolean,
  ): Promise<HistoryMessage | null> {
    if (!this.#looking) return null;
    this.#history ??= this.#r.history(chatId, this.#run);
    const history = await this.#history;
    const found = history && await this.#r.take(chatId, history, this.#run, same);
    if (!found) this.#looking = false;
    return found ?? null;
  }
}

/** A history message as the answer to the post that made it. */
function sentOf(m: HistoryMessage): SentMessage {
  return {
    chatId: m.chatId,
    messageId: m.messageId,
    timestamp: m.timestamp,
    serverTime: m.timestamp,
  };
}
