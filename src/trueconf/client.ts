/**
 * The TrueConf Chatbot API client: one authorised WebSocket kept alive forever, with
 * OAuth token lifecycle, typed methods and incoming messages.
 *
 * @module
 */
import { errorText } from "../error_text.ts";
import { type Logger, silentLogger } from "../log.ts";
import { formatSize } from "../bytes.ts";
import type { ParseMode } from "../message.ts";
import { Connection } from "./_connection.ts";
import { ownEchoRecogniser } from "./_own_echo.ts";
import { authenticate } from "./_auth_request.ts";
import {
  TrueConfApiError,
  TrueConfAuthError,
  TrueConfDisconnectedError,
  TrueConfProtocolError,
  TrueConfTimeoutError,
} from "./errors.ts";
import { HttpTransport } from "./_http.ts";
import { num, record, str } from "./_json.ts";
import {
  parseChatHistory,
  parseChatInfo,
  parseParticipantsPage,
  parseSentMessage,
} from "./_responses.ts";
import { type TimerId, Timers } from "./_timers.ts";
import { uploadBytes } from "./_upload.ts";
import { LatePosts, postKey } from "./_late_posts.ts";
import { trueConfUrls } from "./endpoints.ts";
import { normalizeTrueConfId, sameTrueConfId } from "./ids.ts";
import { parseIncomingMessage } from "./incoming_message.ts";
import { type ChatEvent, editAuthorOf, parseChatEvent } from "./events.ts";
import { fetchOAuthToken, jwtClaims, jwtExpiresAt, type OAuthToken } from "./oauth.ts";
import type {
  ChatHistory,
  ChatInfo,
  ConnectionState,
  EditedMessage,
  IncomingMessage,
  OutgoingFile,
  Participant,
  SendMessageOptions,
  SentMessage,
  ServerInfo,
  TrueConfClientOptions,
  UrlButton,
} from "./types.ts";
import { buttonRowsProblem, buttonsWire, serverHasButtons } from "./buttons.ts";

const DAY = 86_400_000;
/** Participants page size, as the reference bot uses. */
const PAGE_SIZE = 200;
/** Recently delivered message keys remembered to drop duplicates (see #onEvent). */
const DEDUPE_SIZE = 1024;
/** How long the bot's own edits are remembered to recognise TrueConf's echo of them. */
const OWN_EDIT_MS = 60_000;
/** The bot's own edits remembered at most (a burst of alert updates). */
const OWN_EDITS_MAX = 512;
/** What to do about a static token TrueConf refuses (expired, revoked, not a bot token). */
const STATIC_TOKEN_FIX =
  "set a new TRUECONF_TOKEN, or TRUECONF_USERNAME and TRUECONF_PASSWORD so the bot gets and renews its token itself";

/** Failed first connects logged as warnings before they are errors (a slow start is fine). */
const NEVER_UP_ERROR_AFTER = 2;

/** A static token is warned about this long before it expires, then once a day. */
const STATIC_TOKEN_WARN_MS = 7 * DAY;

/**
 * TrueConf pushes the unread messages right after the `auth` answer; pushes this soon after
 * an `auth` may be such replays (see #stale).
 */
const UNREAD_WINDOW_MS = 60_000;

/** A connection that lasted this long resets the reconnect backoff. */
const STABLE_CONNECTION_MS = 30_000;

/**
 * Default refresh margin for a token of `lifetimeMs`: 10 % of the lifetime, within
 * [1 min, 5 days], and never more than half the lifetime (so a short token is used a while).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(refreshMargin(30 * 86_400_000), 3 * 86_400_000); // 3 days
 * assert.equal(refreshMargin(3_600_000), 6 * 60_000); // 6 minutes
 * assert.equal(refreshMargin(10_000), 5_000); // half of a short lifetime
 * ```
 */
export function refreshMargin(lifetimeMs: number, configured?: number): number {
  const wanted = configured ?? Math.min(Math.max(lifetimeMs * 0.1, 60_000), 5 * DAY);
  return Math.max(0, Math.min(wanted, lifetimeMs / 2));
}

/** Counters for metrics, the soak bench and leak checks. */
export interface TrueConfClientStats {
  /** OAuth tokens obtained (first one included). */
  oauthTokens: number;
  /** Sockets replaced because of a token refresh (make-before-break). */
  rotations: number;
  /** Server requests received (each one acked). */
  eventsReceived: number;
  /** Incoming messages seen twice (on the old and the new socket during a rotation) and delivered once. */
  duplicatesDropped: number;
  /** The server's echoes of the bot's own posts and edits: acked and dropped before any parsing. */
  ownEchoesDropped: number;
  /** Messages pushed again as unread, too old to act on (`unreadMaxAgeMs`): acked and dropped. */
  staleDropped: number;
  /** Scheduled token checks run (refresh due? static token expiring?): lets tests wait for one. */
  tokenChecks: number;
  /** Requests awaiting a response, over every live socket. */
  pendingRequests: number;
  /** Sockets not fully closed yet. */
  liveSockets: number;
  /** Active timers of this client (ping, pong, request, backoff, token). */
  activeTimers: number;
}

interface Resolved {
  requestTimeoutMs: number;
  pingIntervalMs: number;
  pongTimeoutMs: number;
  connectTimeoutMs: number;
  backoff: { initialMs: number; maxMs: number };
  tokenCheckIntervalMs: number;
  uploadTimeoutMs: number;
  unreadMaxAgeMs: number;
}

/**
 * TrueConf bot client. `start()` connects in the background and reconnects forever;
 * requests fail fast with {@link TrueConfDisconnectedError} while not authorised.
 *
 * @example
 * ```ts
 * async function greet(chatId: string): Promise<void> {
 *   const tc = new TrueConfClient({
 *     server: "tc.example.com", https: true, port: 443, verifyTls: true,
 *     auth: { username: "webhook_bot", password: "secret" },
 *   });
 *   tc.onMessage((m) => console.log(m.authorId, m.text));
 *   tc.start();
 *   await tc.ready(30_000);
 *   await tc.sendMessage(chatId, "**hi**", "markdown");
 *   await tc.close();
 * }
 * ```
 */
export class TrueConfClient {
  #opts: TrueConfClientOptions;
  #cfg: Resolved;
  #urls: { httpBase: string; wsUrl: string };
  #log: Logger;
  #now: () => number;
  #http: HttpTransport;
  #timers = new Timers();
  #abort = new AbortController();

  #state: ConnectionState = {
    connected: false,
    authorized: false,
    lastError: null,
    botId: null,
    tokenExpiresAt: null,
    reconnects: 0,
    lastPongAt: null,
    consecutiveTimeouts: 0,
  };
  #published = "";
  #stateListeners = new Set<(s: ConnectionState) => void>();
  #handlers = new Set<(m: IncomingMessage) => void | Promise<void>>();
  #eventHandlers = new Set<(e: ChatEvent) => void | Promise<void>>();
  /** Handlers that store events: the server's push is acked once they are done. */
  #storingHandlers = new Set<(e: ChatEvent) => void | Promise<void>>();
  #readyWaiters = new Set<{ resolve: () => void; reject: (e: Error) => void }>();
  /** Posts that timed out but that TrueConf may still carry out (see _late_posts.ts). */
  #latePosts: LatePosts;
  /**
   * How long a post that timed out still listens for its answer: as long again as the request
   * timeout. Longer would hold a hook whose post TrueConf swallowed for good just as long
   * after TrueConf answers again; shorter would post twice what a slow TrueConf carries out.
   */
  #lateMs: number;

  /** The authorised socket requests go to. */
  #conn: Connection | null = null;
  /** HTTP uploads running for each socket's upload tasks: aborted when that socket closes. */
  readonly #uploadsOf = new WeakMap<Connection, Set<AbortController>>();
  /** Every socket not yet fully closed (current, connecting, draining). */
  #conns = new Set<Connection>();
  #token: OAuthToken | null = null;
  #refreshAt: number | null = null;
  #oauthInFlight: Promise<OAuthToken> | null = null;
  #refreshing: Promise<void> | null = null;
  #tokenTimer: TimerId | null = null;
  #probeTimer: TimerId | null = null;
  /** Cleared for good once a server failed to echo json.v1. */
  #offerSubprotocol = true;
  #tokenAttempt = 0;
  #lastStaticWarnAt: number | null = null;
  #wake: (() => void) | null = null;
  #loop: Promise<void> | null = null;
  #closing = false;
  #closed: Promise<void> | null = null;
  #everAuthorized = false;
  #stats = {
    oauthTokens: 0,
    rotations: 0,
    eventsReceived: 0,
    duplicatesDropped: 0,
    ownEchoesDropped: 0,
    staleDropped: 0,
    tokenChecks: 0,
  };
  #serverInfo: Promise<ServerInfo> | null = null;
  #recent = new Set<string>();
  /** The bot's author id as the server last wrote it (see #isOwnPost). */
  #ownRawId: string | null = null;
  /** Recognises the echoes of #ownRawId's posts unparsed (see #ownEchoAckId). */
  #ownEcho: ((text: string) => number) | null = null;
  /**
   * The bot's recent edits (message id, and `\0chat\0text` for pushes without an id) → when
   * they stop counting: TrueConf's `editMessage` push names no author (see #isOwnEdit).
   */
  #ownEdits = new Map<string, number>();
  /** Until when pushes may be unread ones TrueConf sends again after `auth` (see #stale). */
  #unreadUntil = 0;
  /** Set by {@link stopTaking}: pushes are left unacked for the next start. */
  #notTaking = false;
  /**
   * Pushes read before the bot's id is known (see #connectAndAuth), run once it is: TrueConf
   * sends the unread messages right behind the `auth` answer, often in the same read, before
   * the code awaiting that answer has stored the id the handlers need.
   */
  #early: (() => void)[] | null = null;

  /** A stopped client; call {@link TrueConfClient.start}. */
  constructor(options: TrueConfClientOptions) {
    this.#opts = options;
    this.#cfg = {
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      pingIntervalMs: options.pingIntervalMs ?? 30_000,
      pongTimeoutMs: options.pongTimeoutMs ?? 10_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 15_000,
      backoff: options.backoff ?? { initialMs: 1_000, maxMs: 60_000 },
      tokenCheckIntervalMs: options.tokenCheckIntervalMs ?? 60_000,
      uploadTimeoutMs: options.uploadTimeoutMs ?? 120_000,
      unreadMaxAgeMs: options.unreadMaxAgeMs ?? 3_600_000,
    };
    this.#urls = trueConfUrls(options);
    this.#log = (options.logger ?? silentLogger).child({ component: "trueconf" });
    this.#now = options.now ?? Date.now;
    this.#lateMs = this.#cfg.requestTimeoutMs;
    // An answer that came late stays there for the retry of its post for a minute: the retry
    // comes after the queue's backoff (seconds), or after a reconnect.
    this.#latePosts = new LatePosts({
      claimMs: Math.max(60_000, 6 * this.#cfg.requestTimeoutMs),
      now: this.#now,
      timers: this.#timers,
    });
    // verifyTls only matters over TLS; over plain http/ws there is nothing to verify.
    this.#http = new HttpTransport(options);
    if ("token" in options.auth) {
      this.#token = { token: options.auth.token, expiresAt: jwtExpiresAt(options.auth.token) };
      this.#state.tokenExpiresAt = this.#token.expiresAt;
    }
  }

  /** A snapshot of the connection state. */
  get state(): ConnectionState {
    return { ...this.#state };
  }

  /** Whether requests can be sent now (`state.authorized` without copying the state). */
  get authorized(): boolean {
    return this.#state.authorized;
  }

  /** Counters for metrics and leak checks. */
  get stats(): TrueConfClientStats {
    let pending = 0;
    for (const c of this.#conns) pending += c.pendingCount;
    return {
      ...this.#stats,
      pendingRequests: pending,
      liveSockets: this.#conns.size,
      activeTimers: this.#timers.size,
    };
  }

  /** Calls `listener` with a snapshot whenever the state changes (not on every pong). Returns an unsubscribe. */
  onStateChange(listener: (s: ConnectionState) => void): () => void {
    this.#stateListeners.add(listener);
    return () => this.#stateListeners.delete(listener);
  }

  /**
   * Registers a handler for incoming chat messages. The bot's own posts, which TrueConf
   * pushes back, never reach handlers. Handlers run without being awaited; their errors are
   * logged. Returns an unsubscribe.
   */
  onMessage(handler: (m: IncomingMessage) => void | Promise<void>): () => void {
    this.#handlers.add(handler);
    return () => this.#handlers.delete(handler);
  }

  /**
   * Registers a handler for chat events (messages posted and edited, never the bot's own;
   * messages removed; participants added, removed, given a role; chats renamed or removed):
   * see `events.ts`. Each event is delivered once even when two sockets receive it during a
   * token rotation. Handlers run without being awaited; their errors are logged. Returns an
   * unsubscribe.
   */
  onEvent(
    handler: (e: ChatEvent) => void | Promise<void>,
    options: { ackAfter?: boolean } = {},
  ): () => void {
    // `ackAfter`: the handler stores the event (an outgoing hook's call job). The server's
    // push is acked only once the promise it returns settles (at most 10 s, see
    // _connection.ts): a crash before leaves the message unread, and TrueConf pushes it
    // again after the next `auth`. A handler that returns nothing lets the ack go at once.
    const set = options.ackAfter ? this.#storingHandlers : this.#eventHandlers;
    set.add(handler);
    return () => set.delete(handler);
  }

  /**
   * Asks for the OAuth token now, before {@link start}, and connects nothing: `serve` calls it
   * before it opens the store, so the token's round trip overlaps the store's start-up instead
   * of following it (docs/benchmarks.md, "Memory and start"). {@link start} then uses that
   * token, or waits for the request still in flight; a failure here is not reported, because
   * {@link start} asks again and reports that. Nothing to do with a static token, after
   * {@link start} or {@link close}. The promise settles (never rejects) when the request has
   * ended, whatever TrueConf answered: `serve` does not wait for it; a caller that must know
   * the prefetch is over before it calls {@link start} (which would otherwise join a request
   * still in flight, and report its refusal as its own) awaits it.
   */
  prefetchToken(): Promise<void> {
    if (this.#loop || this.#closing || !("username" in this.#opts.auth)) return Promise.resolve();
    if (this.#token) return Promise.resolve();
    return (this.#oauthInFlight ?? this.#oauth(this.#cfg.connectTimeoutMs)).then(
      () => {},
      () => {},
    );
  }

  /** Connects in the background and keeps reconnecting until {@link close}. Idempotent. */
  start(): void {
    if (this.#loop || this.#closing) return;
    // A static token is checked now (warn at start-up if it expires soon) and then periodically.
    if ("token" in this.#opts.auth) this.#tokenCheck();
    this.#loop = this.#run();
  }

  /**
   * Resolves once the client is authorised. Rejects with {@link TrueConfTimeoutError}
   * (carrying the last error) after `timeoutMs`, or {@link TrueConfDisconnectedError} on close.
   */
  ready(timeoutMs?: number): Promise<void> {
    if (this.#state.authorized) return Promise.resolve();
    if (this.#closing) return Promise.reject(new TrueConfDisconnectedError("client closed"));
    return new Promise<void>((resolve, reject) => {
      let timer: TimerId | null = null;
      const w = {
        resolve: () => {
          this.#timers.clear(timer);
          resolve();
        },
        reject: (e: Error) => {
          this.#timers.clear(timer);
          reject(e);
        },
      };
      this.#readyWaiters.add(w);
      if (timeoutMs !== undefined) {
        timer = this.#timers.timeout(() => {
          this.#readyWaiters.delete(w);
          reject(
            new TrueConfTimeoutError(
              "ready",
              timeoutMs,
              this.#state.lastError ?? "not authorised yet",
            ),
          );
        }, timeoutMs);
      }
    });
  }

  /**
   * Takes no more pushes: from now on a message or event is neither handed to a handler nor
   * acked (the bot's own echoes excepted), so TrueConf keeps a message unread and pushes it
   * again after the next `auth` (receiveUnread). A shutting-down bot calls it first: a message
   * that arrives while it drains its queue is then handled by the next start instead of acked
   * and dropped. Other pushes (edits, removals, participants, titles) are replayed by nothing
   * TrueConf documents: those are lost either way (docs/outgoing.md, "What is durable").
   */
  stopTaking(): void {
    this.#notTaking = true;
  }

  /**
   * Stops everything: timers, sockets, OAuth in flight. Pending requests and `ready()`
   * waiters fail with {@link TrueConfDisconnectedError}. Resolves when every socket is closed.
   */
  close(): Promise<void> {
    if (this.#closed) return this.#closed;
    this.#closing = true;
    this.#closed = (async () => {
      this.#abort.abort(new TrueConfDisconnectedError("client closed"));
      this.#timers.clear(this.#tokenTimer);
      this.#wake?.();
      for (const c of this.#conns) c.terminate("client closed");
      for (const w of this.#readyWaiters) w.reject(new TrueConfDisconnectedError("client closed"));
      this.#readyWaiters.clear();
      await this.#loop?.catch(() => {});
      await this.#refreshing?.catch(() => {});
      await Promise.all([...this.#conns].map((c) => c.closed));
      this.#http.close();
      this.#conn = null;
      this.#timers.clearAll();
      this.#publish();
      this.#stateListeners.clear();
    })();
    return this.#closed;
  }

  /**
   * Sends any method and returns the response payload. Fails fast with
   * {@link TrueConfDisconnectedError} when not authorised; {@link TrueConfTimeoutError}
   * after `requestTimeoutMs`; {@link TrueConfApiError} on errorCode ≠ 0. With a password,
   * an error 203 (credentials expired) triggers a fresh token and one retry.
   */
  request<T = unknown>(method: string, payload: unknown): Promise<T> {
    // Not async: a pass-through needs no frame of its own held for the request (issue 16).
    return this.#send(method, payload, true) as Promise<T>;
  }

  /**
   * Posts a text message, optionally as a reply and with URL buttons (5.5.6+). The payload
   * is the SDK's: `{chatId, replyMessageId (null when unused), content: {text, parseMode,
   * buttons?}}`. Bad buttons throw a `RangeError` before anything is sent.
   *
   * @example
   * ```ts
   * async function demo(tc: TrueConfClient, chatId: string) {
   *   const sent = await tc.sendMessage(chatId, "deploy **started**", "markdown");
   *   await tc.sendMessage(chatId, "logs are in", "text", { replyMessageId: sent.messageId });
   * }
   * ```
   */
  async sendMessage(
    chatId: string,
    text: string,
    parseMode: ParseMode,
    opts?: SendMessageOptions,
  ): Promise<SentMessage> {
    const payload = {
      chatId,
      replyMessageId: opts?.replyMessageId ?? null,
      content: textContent(text, parseMode, opts?.buttons),
    };
    // Nothing to take on a server that answers in time: no key is built then (issue 16).
    const key = this.#latePosts.size > 0 ? postKey("sendMessage", payload) : null;
    const taken = key === null ? null : await this.#takeLate(key, chatId);
    const res = taken ? taken.payload : await this.#send("sendMessage", payload, true, key ?? true);
    return parseSentMessage(res, chatId, Date.now);
  }

  /** The late answer of an earlier identical post (see `#send`'s `post`), if any. */
  async #takeLate(key: string, chatId: string): Promise<{ payload: unknown } | null> {
    const taken = await this.#latePosts.take(key, this.#cfg.requestTimeoutMs);
    if (taken) {
      this.#log.info("post carried out late by TrueConf: taken, not sent again", { chat: chatId });
    }
    return taken;
  }

  /**
   * Replaces a message's text (`editMessage`). TrueConf treats an edit as a full overwrite
   * of the content (SDK 1.5 `Bot.edit_message`): text, parse mode and buttons; buttons left
   * out are removed. A message that is gone answers 306/307
   * ({@link TrueConfApiError.messageGone}). Edits notify nobody; envelopes carry `isEdited`.
   *
   * @example
   * ```ts
   * async function demo(tc: TrueConfClient, messageId: string) {
   *   await tc.editMessage(messageId, "deploy **finished** ✅", "markdown");
   * }
   * ```
   */
  async editMessage(
    messageId: string,
    text: string,
    parseMode: ParseMode,
    opts?: {
      buttons?: readonly (readonly UrlButton[])[] | undefined;
      /**
       * The message's chat, when the caller knows it: TrueConf's push of this edit may carry
       * neither the message id nor an author, and is then told from a member's edit by its chat
       * and text (see #isOwnEdit); without it, by its text alone.
       */
      chatId?: string | undefined;
    },
  ): Promise<EditedMessage> {
    this.#rememberOwnEdit(messageId, opts?.chatId ?? "", text);
    const res = record(
      await this.request("editMessage", {
        messageId,
        content: textContent(text, parseMode, opts?.buttons),
      }),
    );
    return {
      messageId: str(res.messageId, messageId) || messageId,
      timestamp: num(res.timestamp, Date.now()),
    };
  }

  /**
   * Removes a message (`removeMessage`), for everyone by default. The bot may remove its
   * own messages for everyone in any role (TrueConf's roles page).
   */
  async removeMessage(messageId: string, opts?: { forAll?: boolean }): Promise<void> {
    await this.request("removeMessage", { messageId, forAll: opts?.forAll ?? true });
  }

  /**
   * One message by id (`getMessageById` answers a full envelope, §5.2). Throws
   * {@link TrueConfApiError} with `messageGone` for a removed or unknown message.
   */
  async getMessageById(messageId: string): Promise<IncomingMessage> {
    const p = record(await this.request("getMessageById", { messageId }));
    const msg = parseIncomingMessage({ ...p, messageId: str(p.messageId) || messageId });
    if (!msg) throw new TrueConfProtocolError("getMessageById", "response is not a message");
    return msg;
  }

  /**
   * A page of a chat's history, oldest first: `getChatHistory` `{chatId, count, fromMessageId}`
   * → `{chatId, count, messages:[envelope…]}` (SDK 1.5 `Bot.get_chat_history`, protocol
   * reference §4.6). Without `fromMessageId` the newest `count` messages; with it, messages from
   * that one back (whether the anchor itself comes with them is not documented: a caller paging
   * back drops what it already has). `count` must be at least 1 (the SDK refuses less before
   * sending; how many a server gives at most is not documented, TrueConf's own Hermes plugin asks
   * at most 100). Errors as any request: {@link TrueConfApiError} (304 unknown chat, 305 the bot
   * is not in it), {@link TrueConfTimeoutError}, {@link TrueConfDisconnectedError}.
   *
   * @example
   * ```ts
   * async function lastBotPost(tc: TrueConfClient, chatId: string, botId: string) {
   *   const { messages } = await tc.getChatHistory(chatId, 20);
   *   return messages.findLast((m) => m.authorId === botId) ?? null;
   * }
   * ```
   */
  async getChatHistory(
    chatId: string,
    count: number,
    fromMessageId?: string | null,
  ): Promise<ChatHistory> {
    if (!Number.isInteger(count) || count < 1) {
      throw new RangeError(`getChatHistory: count must be an integer of at least 1, not ${count}`);
    }
    const payload = { chatId, count, fromMessageId: fromMessageId ?? null };
    return parseChatHistory(await this.request("getChatHistory", payload), chatId);
  }

  /**
   * The server's version and domain from `GET /api/v4/server` (the SDK asks the same at
   * start), the version from the service's status page when that names none (as the SDK
   * does). Remembered until the next reconnect, as the server may be upgraded meanwhile; an
   * unreachable `/api/v4/server` gives nulls (asked again next time).
   */
  serverInfo(): Promise<ServerInfo> {
    this.#serverInfo ??= this.#fetchServerInfo().then(([info, answered]) => {
      if (!answered) this.#serverInfo = null;
      return info;
    });
    return this.#serverInfo;
  }

  /** Whether this server shows URL buttons (version 5.5.6 or newer). */
  async supportsButtons(): Promise<boolean> {
    return serverHasButtons((await this.serverInfo()).version);
  }

  /** The server's info, and whether `/api/v4/server` answered at all. */
  async #fetchServerInfo(): Promise<[ServerInfo, boolean]> {
    let product: Record<string, unknown>;
    try {
      const res = await this.#get(`${this.#urls.httpBase}/api/v4/server`);
      if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
      product = record(record(JSON.parse(res.text)).product);
    } catch (err) {
      const what = "trueconf: /api/v4/server unanswered: no buttons, bare logins sent as they are";
      this.#log.warn(what, { error: err });
      return [{ version: null, domain: null }, false];
    }
    const domain = str(product.display_name) || null;
    const version = str(product.version) || await this.#serviceVersion();
    if (version === null) {
      this.#log.warn("trueconf: the server names no version: no buttons (as before 5.5.6)");
    }
    return [{ version, domain }, true];
  }

  /**
   * The version from the TrueConf service's status page, for servers whose `/api/v4/server`
   * leaves `version` empty: as python-trueconf-bot finds it since 1.4.3
   * (`Bot.__get_server_version`), the service's port from the first of
   * `/api/v4/endpoints/connects`' `connects` (4307 when that fails), then
   * `http://<server>:<port>/vsstatus`, which reads "TrueConf Server 5.5.6.10902". Null when
   * neither answers.
   */
  async #serviceVersion(): Promise<string | null> {
    const base = new URL(this.#urls.httpBase);
    let port = "4307";
    try {
      const res = await this.#get(`${base.origin}/api/v4/endpoints/connects`);
      const first = res.status === 200 ? record(JSON.parse(res.text)).connects : undefined;
      const named = Array.isArray(first) ? str(first[0]).split(":").at(-1) ?? "" : "";
      if (/^\d{1,5}$/.test(named)) port = named;
    } catch { /* the SDK's default port */ }
    try {
      const res = await this.#get(`http://${base.hostname}:${port}/vsstatus`);
      const m = /TrueConf Server \b(\d{1,2}\.\d{1,2}\.\d{1,2}\.\d{1,5})\b/.exec(res.text);
      return m?.[1] ?? null;
    } catch {
      return null;
    }
  }

  #get(url: string) {
    return this.#http.request(url, {
      method: "GET",
      headers: { accept: "application/json" },
      timeoutMs: this.#cfg.requestTimeoutMs,
      signal: this.#abort.signal,
    });
  }

  /**
   * A user id as the SDK sends it: `login@server`. A bare login gets the server's domain
   * (`display_name` of `GET /api/v4/server`), as `Bot.create_personal_chat`,
   * `get_user_display_name` and `get_chat_participant` do (SDK 1.5); when the server cannot
   * say, the id goes as it is.
   */
  async #qualified(userId: string): Promise<string> {
    if (userId.includes("@")) return userId;
    const domain = (await this.serverInfo()).domain;
    return domain ? `${userId}@${domain}` : userId;
  }

  /** Opens (or finds) the personal chat with a user; returns its chatId. */
  async createP2PChat(userId: string): Promise<string> {
    const chatId = str(
      record(await this.request("createP2PChat", { userId: await this.#qualified(userId) }))
        .chatId,
    );
    if (!chatId) throw new TrueConfProtocolError("createP2PChat", "response has no chatId");
    return chatId;
  }

  /**
   * Opens (or finds) the bot's own Favorites chat (TrueConf Server 5.5.2+); returns its chatId.
   * A place to post test messages that bother nobody (check-config --send-test).
   */
  async createFavoritesChat(): Promise<string> {
    const chatId = str(record(await this.request("createFavoritesChat", {})).chatId);
    if (!chatId) throw new TrueConfProtocolError("createFavoritesChat", "response has no chatId");
    return chatId;
  }

  /** Title and type of a chat (304 → {@link TrueConfApiError} for an unknown chat). */
  async getChatByID(chatId: string): Promise<ChatInfo> {
    return parseChatInfo(await this.request("getChatByID", { chatId }), chatId);
  }

  /** A user's display name (`getUserDisplayName`); a bare login gets the server's domain. */
  async getUserDisplayName(userId: string): Promise<string> {
    const res = await this.request("getUserDisplayName", {
      userId: await this.#qualified(userId),
    });
    return str(record(res).displayName);
  }

  /**
   * Every participant of a chat, fetched in pages of 200 until a short or empty page (or
   * a page with nobody new, in case a server ignores paging).
   */
  async getChatParticipants(chatId: string): Promise<Participant[]> {
    const out: Participant[] = [];
    const seen = new Set<string>();
    for (let pageNumber = 1;; pageNumber++) {
      const page = parseParticipantsPage(
        await this.request("getChatParticipants", { chatId, pageSize: PAGE_SIZE, pageNumber }),
      );
      let added = 0;
      for (const p of page) {
        if (seen.has(p.userId)) continue;
        seen.add(p.userId);
        out.push(p);
        added++;
      }
      if (page.length < PAGE_SIZE || added === 0) return out;
    }
  }

  /**
   * Posts a file: `uploadFile` → HTTP upload (with the preview part when given, which
   * makes TrueConf show a photo) → `sendFile`. A failed upload throws; `sendFile` is never
   * sent without a `temporalFileId`. With a caption, 5.5.6+ servers post it as a message of
   * its own: its id is {@link SentMessage.captionMessageId}.
   */
  async sendFile(chatId: string, file: OutgoingFile): Promise<SentMessage> {
    try {
      return await this.#sendFile(chatId, file);
    } catch (e) {
      if (e instanceof TrueConfApiError && e.partRejected) throw await this.#explained(e, file);
      throw e;
    }
  }

  /**
   * A file refusal (310; 400–408 on 5.5.6+) with the limit the file breaks in words, when the
   * server's upload limits (`getFileUploadLimits`, 5.5.3+, `{maxSize, extensions: {mode,
   * list}}`: the checks SDK 1.5 makes before uploading) show it: what each code means is not
   * published (errors.ts). Asked only after a refusal, so a file that goes through costs no
   * request more. The error as it was when the limits cannot be read or do not explain it.
   */
  async #explained(e: TrueConfApiError, file: OutgoingFile): Promise<TrueConfApiError> {
    let limits: Record<string, unknown>;
    try {
      limits = record(await this.request("getFileUploadLimits", {}));
    } catch {
      return e;
    }
    const size = file.bytes.byteLength;
    const max = num(limits.maxSize, 0);
    let reason: string | null = null;
    if (max > 0 && size > max) {
      reason = `the file is ${formatSize(size)}; this TrueConf Server takes files up to ${
        formatSize(max)
      } (the administrator's limit)`;
    } else {
      const ext = record(limits.extensions);
      const list = Array.isArray(ext.list)
        ? ext.list.map((x) => String(x).replace(/^\./, "").toLowerCase())
        : [];
      const dot = file.name.lastIndexOf(".");
      const mine = dot < 0 ? "" : file.name.slice(dot + 1).toLowerCase();
      const listed = list.includes(mine);
      if ((ext.mode === "allow" && !listed) || (ext.mode === "block" && listed)) {
        reason = `this TrueConf Server does not take ${
          mine ? `.${mine} files` : "files without an extension"
        } (the administrator's list of file types)`;
      }
    }
    return reason ? new TrueConfApiError(e.method, e.code, e.description, reason) : e;
  }

  async #sendFile(chatId: string, file: OutgoingFile): Promise<SentMessage> {
    // A retry uploads the file again (a new temporalFileId), so the post is known by what the
    // chat would show: its name, size, caption and reply.
    const key = postKey("sendFile", [
      chatId,
      file.name,
      file.bytes.byteLength,
      file.caption ?? null,
      file.replyMessageId ?? null,
    ]);
    const taken = this.#latePosts.size > 0 ? await this.#takeLate(key, chatId) : null;
    if (taken) return sentFile(taken.payload, chatId, Boolean(file.caption?.text));
    const task = record(
      await this.request("uploadFile", { fileSize: file.bytes.byteLength, fileName: file.name }),
    );
    const uploadTaskId = str(task.uploadTaskId);
    if (!uploadTaskId) {
      throw new TrueConfProtocolError("uploadFile", "response has no uploadTaskId");
    }
    // The upload task belongs to the session of the socket that asked for it. When that
    // socket drops, the HTTP upload is aborted with it instead of running on to its timeout
    // (30 s and more) while the message's later parts and the hook's later messages wait
    // (issue 10.8: files held long after TrueConf came back).
    const conn = this.#conn;
    const lost = new AbortController();
    let running = conn ? this.#uploadsOf.get(conn) : undefined;
    if (conn && !running) this.#uploadsOf.set(conn, running = new Set());
    running?.add(lost);
    let temporalFileId: string;
    try {
      temporalFileId = await uploadBytes(this.#http, this.#urls.httpBase, uploadTaskId, file, {
        timeoutMs: this.#cfg.uploadTimeoutMs,
        signal: AbortSignal.any([this.#abort.signal, lost.signal]),
      });
    } catch (e) {
      if (lost.signal.aborted && !this.#abort.signal.aborted) {
        throw new TrueConfDisconnectedError(
          "the connection to TrueConf dropped during a file upload",
        );
      }
      throw e;
    } finally {
      running?.delete(lost);
    }
    const content: Record<string, unknown> = { temporalFileId };
    if (file.caption?.text) content.caption = file.caption;
    const res = await this.#send(
      "sendFile",
      {
        chatId,
        content,
        ...(file.replyMessageId ? { replyMessageId: file.replyMessageId } : {}),
      },
      true,
      key,
    );
    return sentFile(res, chatId, Boolean(content.caption));
  }

  // ---- requests -------------------------------------------------------------------

  /**
   * `post`: the request posts a message (`sendMessage`, `sendFile`): a timeout leaves it
   * listening for a late answer, which a retry of the very same post takes instead of posting
   * it twice (_late_posts.ts); its key for that, or `true` for one made of `payload`.
   */
  async #send(
    method: string,
    payload: unknown,
    retry203: boolean,
    post?: string | true,
  ): Promise<unknown> {
    const conn = this.#conn;
    if (this.#closing || !conn || !conn.authorized || !conn.isOpen) {
      throw new TrueConfDisconnectedError(
        `not connected to TrueConf, ${method} not sent${
          this.#state.lastError ? ` (${this.#state.lastError})` : ""
        }`,
      );
    }
    try {
      return await conn.request(
        method,
        payload,
        this.#cfg.requestTimeoutMs,
        post ? this.#lateMs : 0,
      );
    } catch (err) {
      if (err instanceof TrueConfTimeoutError) {
        this.#state.consecutiveTimeouts++;
        this.#publish();
        this.#scheduleProbe();
        if (post && err.late) {
          this.#latePosts.add(post === true ? postKey(method, payload) : post, method, err.late);
        }
      }
      if (
        err instanceof TrueConfApiError && err.code === 203 && retry203 &&
        "username" in this.#opts.auth
      ) {
        this.#log.warn("trueconf: credentials expired on a request, refreshing token", { method });
        // Another request may have rotated already; only the first 203 of a socket refreshes.
        if (this.#conn === conn) {
          try {
            await this.#refreshToken("error 203 on " + method);
          } catch (refreshErr) {
            this.#log.warn("trueconf: token refresh after 203 failed", { error: refreshErr });
            throw err;
          }
        }
        return await this.#send(method, payload, false, post);
      }
      throw err;
    }
  }

  // ---- connection loop -----------------------------------------------------------

  async #run(): Promise<void> {
    let attempt = 0;
    while (!this.#closing) {
      try {
        const conn = await this.#connectAndAuth();
        const upAt = Date.now();
        if (this.#everAuthorized) this.#state.reconnects++;
        this.#everAuthorized = true;
        this.#conn = conn;
        this.#serverInfo = null; // a reconnect may follow a server upgrade
        this.#state.lastError = null;
        this.#publish();
        // Wait for the current socket to close; a rotation swaps #conn and we follow it.
        for (;;) {
          const c: Connection | null = this.#conn;
          if (!c) break;
          await c.closed;
          if (this.#conn === c) {
            this.#conn = null;
            if (!this.#closing) {
              this.#state.lastError = c.closeReason;
              this.#log.warn("trueconf connection lost", { reason: c.closeReason });
            }
            // Back off from scratch only after a connection that held: a server that drops
            // every socket right after auth must not be hammered once a second forever.
            if (Date.now() - upAt >= STABLE_CONNECTION_MS) attempt = 0;
            break;
          }
        }
      } catch (err) {
        if (this.#closing) break;
        this.#state.lastError = errorText(err);
        // Credentials need an operator; so does a server the bot has never reached since it
        // started (a wrong TRUECONF_SERVER or TRUECONF_WEB_PORT, DNS, an unknown CA) once a few
        // tries failed: errors, so `journalctl -p err` shows them. A server lost after it was
        // up is the usual weather: warnings while the bot reconnects.
        const level = err instanceof TrueConfAuthError ||
            (!this.#everAuthorized && attempt >= NEVER_UP_ERROR_AFTER)
          ? "error"
          : "warn";
        this.#log[level]("trueconf connect failed", { error: err, attempt });
      }
      this.#publish();
      if (this.#closing) break;
      await this.#sleep(this.#backoffDelay(attempt++));
    }
  }

  /**
   * After a request timed out, asks TrueConf something cheap every few seconds until it
   * answers (every 2–5 s): any answer (even an error) clears `consecutiveTimeouts`, so readiness recovers
   * on an idle bot too instead of waiting for the next real request. Stops while
   * disconnected; a fresh socket starts with a clean count.
   */
  #scheduleProbe(): void {
    if (this.#probeTimer !== null || this.#closing) return;
    this.#probeTimer = this.#timers.timeout(() => {
      this.#probeTimer = null;
      if (this.#state.consecutiveTimeouts === 0 || this.#closing || !this.#state.authorized) return;
      this.#send("getFileUploadLimits", {}, false).catch(() => {}).finally(() => {
        if (this.#state.consecutiveTimeouts > 0) this.#scheduleProbe();
      });
    }, Math.min(Math.max(this.#cfg.requestTimeoutMs, 2_000), 5_000));
  }

  /** Full connect: token (OAuth when needed) → WebSocket → auth. Returns an authorised socket. */
  async #connectAndAuth(): Promise<Connection> {
    const started = Date.now();
    const token = await this.#ensureToken(this.#cfg.connectTimeoutMs);
    const remaining = Math.max(1, this.#cfg.connectTimeoutMs - (Date.now() - started));
    const conn = new Connection({
      url: this.#urls.wsUrl,
      verifyTls: this.#opts.verifyTls,
      ...(this.#opts.caPem ? { caPem: this.#opts.caPem } : {}),
      handshakeTimeoutMs: remaining,
      offerSubprotocol: this.#offerSubprotocol,
      pingIntervalMs: this.#cfg.pingIntervalMs,
      pongTimeoutMs: this.#cfg.pongTimeoutMs,
      timers: this.#timers,
      logger: this.#log,
      ...(this.#opts.ackHoldMs !== undefined ? { ackHoldMs: this.#opts.ackHoldMs } : {}),
      onEvent: (method, payload) => this.#onEvent(method, payload),
      ackUnparsed: (text) => this.#ownEchoAckId(text),
      onResponse: () => {
        if (this.#state.consecutiveTimeouts === 0) return;
        this.#state.consecutiveTimeouts = 0;
        this.#publish();
      },
      onPong: (at) => {
        this.#state.lastPongAt = at;
      },
    });
    this.#conns.add(conn);
    conn.closed.then(() => {
      this.#conns.delete(conn);
      for (const upload of this.#uploadsOf.get(conn) ?? []) upload.abort();
      this.#publish();
    });
    if (this.#closing) conn.terminate("client closed");
    try {
      try {
        await conn.opened;
      } catch (err) {
        if (this.#offerSubprotocol && /no subprotocol/i.test(errorText(err))) {
          this.#offerSubprotocol = false;
          this.#log.warn(
            "trueconf: server did not echo json.v1; connecting without the header",
            {},
          );
          return await this.#connectAndAuth();
        }
        throw err;
      }
      this.#publish();
      this.#unreadUntil = this.#now() + UNREAD_WINDOW_MS;
      if (this.#state.botId === null) this.#early ??= [];
      const userId = await authenticate(conn, token, this.#cfg.requestTimeoutMs, true);
      conn.authorized = true;
      this.#state.consecutiveTimeouts = 0;
      // The auth answer names the bot; a server that leaves userId out still gets a usable id
      // (the login, or the token's subject), so mentions of the bot keep working.
      this.#state.botId = userId ?? this.#state.botId ?? fallbackBotId(
        this.#opts.auth,
        token,
      );
      this.#log.info("trueconf authorised", { botId: this.#state.botId, socket: conn.serial });
      const early = this.#early;
      this.#early = null;
      for (const run of early ?? []) run();
      return conn;
    } catch (err) {
      // Pushes held for the id are dropped unacked with their socket: TrueConf keeps them
      // unread for the next connection.
      this.#early = null;
      conn.terminate(errorText(err));
      throw this.#authFailure(err);
    }
  }

  /** Maps an `auth` failure: credentials problems become TrueConfAuthError; 203 drops the token. */
  #authFailure(err: unknown): unknown {
    if (!(err instanceof TrueConfApiError)) return err;
    if (err.code === 203) {
      if ("username" in this.#opts.auth) {
        this.#token = null; // the next connect fetches a fresh one
        this.#refreshAt = null;
        return err;
      }
      return new TrueConfAuthError(
        `TrueConf rejected the static token as expired (203${
          err.description ? `: ${err.description}` : ""
        }); ${STATIC_TOKEN_FIX}`,
        203,
      );
    }
    if (err.code === 201 && "username" in this.#opts.auth) {
      // A token the server no longer accepts (revoked when the bot's password changed, a
      // server reinstalled or restored from a backup) is never offered again: the next
      // connect asks OAuth for a fresh one. Only if that one is refused too is it the
      // credentials (the error below either way, for the log and readiness).
      this.#token = null;
      this.#refreshAt = null;
    }
    if (err.code === 201 || err.code === 202 || err.code === 204) {
      const what = err.code === 201
        ? "invalid credentials"
        : err.code === 202
        ? "bot user disabled"
        : "unsupported token type";
      // What the operator changes: the token the bot was given, or the bot's account.
      const fix = err.code === 202
        ? "enable the bot's user in TrueConf Server's admin panel"
        : "username" in this.#opts.auth
        ? "the token TrueConf issued for TRUECONF_USERNAME is dropped; the bot asks for a new one"
        : `TrueConf refused TRUECONF_TOKEN; ${STATIC_TOKEN_FIX}`;
      return new TrueConfAuthError(
        `TrueConf auth failed: ${what} (${err.code}${
          err.description ? `: ${err.description}` : ""
        }): ${fix}`,
        err.code,
      );
    }
    return err;
  }

  #backoffDelay(attempt: number): number {
    const { initialMs, maxMs } = this.#cfg.backoff;
    const base = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
    return base + Math.random() * base * 0.2;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = this.#timers.timeout(() => {
        this.#wake = null;
        resolve();
      }, ms);
      this.#wake = () => {
        this.#timers.clear(t);
        this.#wake = null;
        resolve();
      };
    });
  }

  // ---- tokens ---------------------------------------------------------------------

  /** The token to authenticate with; fetches one with OAuth when missing or due for refresh. */
  async #ensureToken(timeoutMs: number): Promise<string> {
    const auth = this.#opts.auth;
    if ("token" in auth) return auth.token;
    const t = this.#token;
    if (t && (this.#refreshAt === null || this.#now() < this.#refreshAt)) return t.token;
    try {
      return (await this.#oauth(timeoutMs)).token;
    } catch (err) {
      // A refresh that fails while the old token is still valid is no reason to stay offline.
      if (
        t && !(err instanceof TrueConfAuthError) &&
        (t.expiresAt === null || this.#now() < t.expiresAt)
      ) {
        this.#log.warn("trueconf token refresh failed, using the current token", { error: err });
        return t.token;
      }
      throw err;
    }
  }

  /** One OAuth call at a time; stores the token and schedules its refresh. */
  #oauth(timeoutMs: number): Promise<OAuthToken> {
    const auth = this.#opts.auth;
    if (!("username" in auth)) return Promise.reject(new Error("static token: no OAuth"));
    this.#oauthInFlight ??= (async () => {
      try {
        const tok = await fetchOAuthToken(this.#opts, auth, {
          timeoutMs,
          signal: this.#abort.signal,
          now: this.#now,
          transport: this.#http,
        });
        const obtainedAt = this.#now();
        this.#token = tok;
        this.#refreshAt = tok.expiresAt === null
          ? null
          : tok.expiresAt - refreshMargin(tok.expiresAt - obtainedAt, this.#opts.refreshMarginMs);
        this.#stats.oauthTokens++;
        this.#tokenAttempt = 0;
        this.#state.tokenExpiresAt = tok.expiresAt;
        this.#log.info("trueconf token obtained", {
          expiresAt: tok.expiresAt === null ? null : new Date(tok.expiresAt).toISOString(),
          refreshAt: this.#refreshAt === null ? null : new Date(this.#refreshAt).toISOString(),
        });
        this.#publish();
        this.#scheduleTokenCheck();
        return tok;
      } finally {
        this.#oauthInFlight = null;
      }
    })();
    return this.#oauthInFlight;
  }

  /**
   * Fresh token, then make-before-break rotation: a new socket is authorised with it and
   * takes over; the old one closes once its in-flight requests are answered. If no socket
   * is up, the reconnect loop simply uses the new token.
   */
  #refreshToken(reason: string): Promise<void> {
    this.#refreshing ??= (async () => {
      try {
        this.#log.info("trueconf token refresh", { reason });
        await this.#oauth(this.#cfg.connectTimeoutMs);
        await this.#rotate();
      } finally {
        this.#refreshing = null;
      }
    })();
    return this.#refreshing;
  }

  async #rotate(): Promise<void> {
    const old = this.#conn;
    if (!old || !old.isOpen || this.#closing) return;
    let next: Connection;
    try {
      next = await this.#connectAndAuth();
    } catch (err) {
      // The old socket stays authorised; the new token is used on the next reconnect.
      this.#log.warn("trueconf socket rotation failed, keeping the current socket", { error: err });
      return;
    }
    if (this.#closing || this.#conn !== old || !old.isOpen) {
      next.terminate("rotation superseded");
      return;
    }
    this.#conn = next;
    this.#stats.rotations++;
    this.#publish();
    void old.drainAndClose("replaced after token refresh", this.#cfg.requestTimeoutMs);
  }

  #scheduleTokenCheck(): void {
    this.#timers.clear(this.#tokenTimer);
    this.#tokenTimer = null;
    if (this.#closing) return;
    const password = "username" in this.#opts.auth;
    const due = password ? this.#refreshAt : this.#token?.expiresAt ?? null;
    if (due === null) return;
    const delay = password
      ? Math.min(Math.max(due - this.#now(), 0), this.#cfg.tokenCheckIntervalMs)
      : this.#cfg.tokenCheckIntervalMs;
    this.#tokenTimer = this.#timers.timeout(() => {
      this.#tokenTimer = null;
      this.#tokenCheck();
    }, delay);
  }

  #tokenCheck(): void {
    if (this.#closing) return;
    this.#stats.tokenChecks++;
    const now = this.#now();
    if (!("username" in this.#opts.auth)) {
      this.#staticTokenWarning(now);
      this.#scheduleTokenCheck();
      return;
    }
    if (this.#refreshAt === null || now < this.#refreshAt) {
      this.#scheduleTokenCheck();
      return;
    }
    this.#refreshToken("token expires soon").catch((err) => {
      if (this.#closing) return;
      const delay = this.#backoffDelay(this.#tokenAttempt++);
      this.#log.warn("trueconf token refresh failed, will retry", {
        error: err,
        retryInMs: Math.round(delay),
      });
      this.#timers.clear(this.#tokenTimer);
      this.#tokenTimer = this.#timers.timeout(() => {
        this.#tokenTimer = null;
        this.#tokenCheck();
      }, delay);
    });
  }

  #staticTokenWarning(now: number): void {
    const exp = this.#token?.expiresAt ?? null;
    if (exp === null || exp - now > STATIC_TOKEN_WARN_MS) return;
    if (this.#lastStaticWarnAt !== null && now - this.#lastStaticWarnAt < DAY) return;
    this.#lastStaticWarnAt = now;
    const fields = {
      expiresAt: new Date(exp).toISOString(),
      daysLeft: Math.round(((exp - now) / DAY) * 10) / 10,
    };
    if (exp <= now) {
      this.#log.error("trueconf static token has expired; set a new TRUECONF_TOKEN", fields);
    } else this.#log.warn("trueconf static token expires soon; set a new TRUECONF_TOKEN", fields);
  }

  // ---- events and state -----------------------------------------------------------

  /**
   * One server push; returns what the ack waits for (see {@link onEvent}), if anything, or
   * `false` to leave it unacked (see {@link stopTaking}).
   */
  #onEvent(method: string, payload: unknown): Promise<unknown> | false | undefined {
    const early = this.#early;
    if (early) {
      // Acked once handled, after the `auth` answer (see #early).
      return new Promise((resolve) => early.push(() => resolve(this.#onEvent(method, payload))));
    }
    this.#stats.eventsReceived++;
    if (
      method === "sendMessage" ? this.#isOwnPost(payload) : method === "editMessage" &&
        this.#isOwnEdit(payload)
    ) {
      this.#stats.ownEchoesDropped++;
      return;
    }
    if (this.#notTaking) return false;
    const event = parseChatEvent(method, payload, this.#now);
    if (!event) {
      this.#log.debug("trueconf event ignored", { method });
      return;
    }
    if (event.type === "message.created" && this.#stale(event.message.timestamp)) {
      this.#stats.staleDropped++;
      this.#log.info("trueconf message too old to act on; left alone", {
        chatId: event.chatId,
        messageId: event.message.messageId,
        ageSeconds: Math.round((this.#now() - event.message.timestamp) / 1000),
      });
      return;
    }
    // The server pushes to every authorised socket of the bot; while a rotated-out socket
    // drains, an event can arrive twice. Handlers must see it once (a command runs once).
    const key = "message" in event
      ? `${event.chatId}|${event.message.messageId}|${event.message.isEdited}|${
        event.type === "message.edited" ? `${event.message.authorId}|${event.message.text}` : ""
      }`
      : `${method}|${JSON.stringify(payload)}`;
    if (this.#recent.has(key)) {
      this.#stats.duplicatesDropped++;
      return;
    }
    this.#recent.add(key);
    if (this.#recent.size > DEDUPE_SIZE) {
      this.#recent.delete(this.#recent.values().next().value as string);
    }
    if (method === "sendMessage" && "message" in event) {
      for (const h of this.#handlers) this.#call(h, event.message, event);
    }
    for (const h of this.#eventHandlers) this.#call(h, event, event);
    if (this.#storingHandlers.size === 0) return;
    let stored: Promise<unknown>[] | undefined;
    for (const h of this.#storingHandlers) {
      const p = this.#call(h, event, event);
      if (p) (stored ??= []).push(p);
    }
    return stored && (stored.length === 1 ? stored[0] : Promise.all(stored));
  }

  /**
   * The push id of an own post's echo recognised from the frame's text (`_own_echo.ts`), which
   * {@link #onEvent} would drop: counted as it would count it, and acked without parsing. Only
   * once the full path has matched the raw author id, and not before the `auth` answer (#early).
   */
  #ownEchoAckId(text: string): number {
    if (this.#ownEcho === null || this.#early) return -1;
    const id = this.#ownEcho(text);
    if (id >= 0) {
      this.#stats.eventsReceived++;
      this.#stats.ownEchoesDropped++;
    }
    return id;
  }

  /**
   * A message older than `unreadMaxAgeMs` pushed in the burst of unread ones that follows an
   * `auth` (see `TrueConfClientOptions.unreadMaxAgeMs`). Only then: a live message is never
   * judged by timestamps, so a bot whose clock is off by hours still acts on what arrives.
   * A message without a timestamp is never stale.
   */
  #stale(timestamp: number): boolean {
    const now = this.#now();
    return now < this.#unreadUntil && timestamp > 0 &&
      now - timestamp > this.#cfg.unreadMaxAgeMs;
  }

  /**
   * Whether a `sendMessage` event is TrueConf pushing one of the bot's own posts back (both
   * official clients drop these; issue 12 wants them never passed on). Checked on the raw
   * author id before any parsing: under load every delivery comes back once, and parsing the
   * echo cost a few percent of the bot's CPU. The last matching raw id is remembered, so the
   * usual check is one string comparison.
   */
  #isOwnPost(payload: unknown): boolean {
    const botId = this.#state.botId;
    if (botId === null) return false;
    const author = (payload as { author?: { id?: unknown } } | null)?.author?.id;
    if (typeof author !== "string") return false;
    if (author === this.#ownRawId) return true;
    if (!sameTrueConfId(author, botId)) return false;
    this.#ownRawId = author;
    this.#ownEcho = ownEchoRecogniser(author);
    return true;
  }

  /**
   * Remembers an edit of the bot's own, before it is sent: the server's push of it may come
   * before the answer (protocol reference §3, "Ordering").
   */
  #rememberOwnEdit(messageId: string, chatId: string, text: string): void {
    const until = this.#now() + OWN_EDIT_MS;
    for (const key of [messageId, `\0${chatId}\0${text}`]) {
      this.#ownEdits.delete(key); // re-inserted last: the map stays in expiry order
      this.#ownEdits.set(key, until);
    }
    for (const [key, at] of this.#ownEdits) {
      if (at > this.#now() && this.#ownEdits.size <= OWN_EDITS_MAX) break;
      this.#ownEdits.delete(key);
    }
  }

  /**
   * Whether an `editMessage` push is TrueConf telling the bot of its own edit (issue 12 wants
   * the bot's own doings never passed on, and an alert edited in place must not reach outgoing
   * hooks as a chat member's edit). A push that names the edit's author (`author.id` or
   * `editedBy.id`, see `editAuthorOf`) is judged by it alone. The SDK 1.5's `EditedMessage` is
   * `{chatId, timestamp, content}`, with no author and no message id, so otherwise an own
   * edit is known by its id when the push has one, else by its chat and text within
   * {@link OWN_EDIT_MS} of the bot's edit (by its text alone when the bot's caller did not name
   * the chat). The push's `timestamp` is not used: that it equals the `editMessage` answer's is
   * documented nowhere, and the push may come before the answer. So, on a server that names
   * neither, a member's edit to exactly the bot's new text, in the same chat, within that
   * minute is still taken for the bot's own (docs/outgoing.md says so).
   */
  #isOwnEdit(payload: unknown): boolean {
    const p = record(payload);
    const by = editAuthorOf(p);
    if (by) return this.#state.botId !== null && sameTrueConfId(by, this.#state.botId);
    if (this.#ownEdits.size === 0) return false;
    const id = str(p.messageId);
    const now = this.#now();
    const live = (key: string) => (this.#ownEdits.get(key) ?? 0) > now;
    if (id) return live(id);
    const text = str(record(p.content).text);
    return live(`\0${str(p.chatId)}\0${text}`) || live(`\0\0${text}`);
  }

  /** Runs a handler; its promise, if it returned one, settles once it is done (never rejects). */
  #call<T>(
    handler: (x: T) => void | Promise<void>,
    arg: T,
    event: ChatEvent,
  ): Promise<void> | undefined {
    try {
      const r = handler(arg);
      if (r && typeof (r as Promise<void>).then === "function") {
        return (r as Promise<void>).catch((err) => this.#handlerError(err, event));
      }
    } catch (err) {
      this.#handlerError(err, event);
    }
    return undefined;
  }

  #handlerError(err: unknown, event: ChatEvent): void {
    const what = "message" in event ? "message" : "event";
    this.#log.error(`trueconf ${what} handler failed`, {
      error: err,
      event: event.type,
      chatId: event.chatId,
      ...("message" in event ? { messageId: event.message.messageId } : {}),
    });
  }

  /** Recomputes derived state and notifies listeners when something changed. */
  #publish(): void {
    const c = this.#conn;
    this.#state.authorized = !this.#closing && !!c && c.authorized && c.isOpen;
    this.#state.connected = !this.#closing && [...this.#conns].some((x) => x.isOpen);
    if (this.#state.authorized) {
      for (const w of this.#readyWaiters) w.resolve();
      this.#readyWaiters.clear();
    }
    const { lastPongAt: _ignored, ...rest } = this.#state;
    const key = JSON.stringify(rest);
    if (key === this.#published) return;
    this.#published = key;
    const snap = this.state;
    for (const l of this.#stateListeners) {
      try {
        l(snap);
      } catch (err) {
        this.#log.error("trueconf state listener failed", { error: err });
      }
    }
  }
}

/** `content` of a text message; `buttons` only when there are some (5.5.6+ servers). */
function textContent(
  text: string,
  parseMode: ParseMode,
  buttons: readonly (readonly UrlButton[])[] | undefined,
): Record<string, unknown> {
  if (!buttons) return { text, parseMode }; // most texts: no empty list made to check
  const rows = buttonsWire(buttons);
  if (rows.length === 0) return { text, parseMode };
  const problem = buttonRowsProblem(rows.map((r) => r.map((b) => ({ text: b.label, url: b.url }))));
  if (problem) throw new RangeError(`TrueConf buttons: ${problem}`);
  return { text, parseMode, buttons: rows };
}

/** The bot's id when the auth answer has none: the configured login, else the JWT subject. */
function fallbackBotId(auth: TrueConfClientOptions["auth"], token: string): string | null {
  if ("username" in auth) return normalizeTrueConfId(auth.username);
  const claims = jwtClaims(token);
  const sub = claims?.["sub"] ?? claims?.["preferred_username"];
  return typeof sub === "string" && sub ? normalizeTrueConfId(sub) : null;
}

/** A `sendFile` answer: the file's message, and on 5.5.6+ its caption's own (SDK 1.5 `SendFileResponse`). */
function sentFile(res: unknown, chatId: string, captioned: boolean): SentMessage {
  const sent = parseSentMessage(res, chatId, Date.now);
  const captionMessageId = captioned ? str(record(res).captionMessageId) : "";
  if (captionMessageId) sent.captionMessageId = captionMessageId;
  return sent;
}
