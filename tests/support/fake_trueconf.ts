/**
 * A fake TrueConf Server for tests, benchmarks and the demo: the Chatbot WebSocket API plus
 * the HTTP endpoints it depends on, following `shared/trueconf-chatbot-api.md` (§10 "Fake
 * server fidelity checklist"), quirks included. Production code never imports it.
 *
 * One `Deno.serve` on 127.0.0.1 (port 0 unless `port` is given; TLS when `tls` is given)
 * serves, like the real Bridge service, on one host:port:
 *
 * - `POST /bridge/api/client/v1/oauth/token` — JSON password grant → JWT (`exp` in seconds)
 * - `GET  /websocket/chat_bot` and `/websocket/chat_bot/` — the socket; `json.v1` echoed
 *   when offered
 * - `POST /bridge/api/client/v1/files` — multipart upload keyed by `Upload-Task-Id`
 * - `GET  /api/v4/server` — product version and display name (the domain)
 *
 * Messages live: `editMessage` (a full overwrite of text, parse mode and buttons),
 * `removeMessage` (for everyone or for the bot), `getMessageById`, `getChatHistory` (newest
 * first, 1–100, `fromMessageId` included: see `_fake_world.ts`) and `replyMessageId` work
 * on the messages the world knows; an id never issued answers 307 UNKNOWN_MESSAGE, a
 * removed one (`deleteMessage`, `clearChat`) 306 MESSAGE_NOT_FOUND. From `serverVersion`
 * 5.5.6 on, text messages carry URL buttons checked as the Python SDK 1.5 checks them, and a
 * file's caption is a text message of its own (`sendFile` answers its `captionMessageId`).
 *
 * ```ts
 * async function commandRoundTrip(startBot: (fake: FakeTrueConf) => void): Promise<void> {
 *   const fake = await FakeTrueConf.start({ users: [{ login: "alice", password: "x" }] });
 *   try {
 *     const alice = fake.userId("alice");
 *     startBot(fake); // the client against fake.baseUrl / fake.wsUrl, login webhook_bot / secret
 *     await fake.waitFor(() => fake.authorizedConnections === 1);
 *     fake.pushMessage({ chatId: fake.p2pChatId(alice), authorId: alice, text: "/webhook_list" });
 *     await fake.waitFor(() => fake.messagesIn(fake.p2pChatId(alice)).length > 0);
 *   } finally {
 *     await fake.close(); // closes sockets, timers and the listener: sanitizer-clean
 *   }
 * }
 * ```
 *
 * Limits of the model, all from Deno.serve: WebSocket ping frames are answered by the
 * runtime and are invisible here, so `idleTimeoutMs` counts only data frames as activity;
 * sockets can only be closed with a close frame, so `dropAll()` and idle drops send 1001
 * (a real crash or proxy FIN gives the client 1006).
 *
 * @module
 */

import { type Logger, silentLogger } from "../../src/log.ts";
import { mintJwt } from "./_fake_jwt.ts";
import { boundaryOf, type MultipartPart, parseMultipart } from "./_fake_multipart.ts";
import type {
  Envelope,
  FakeChat,
  FakeFileLimits,
  FakeParseMode,
  FakeTextContent,
  FakeUser,
  RequestRecord,
  SentRecord,
  UploadRecord,
} from "./_fake_types.ts";
import {
  BoundedMap,
  type EditRecord,
  ErrorCode,
  FakeWorld,
  type MethodResult,
} from "./_fake_world.ts";
import { compareVersions } from "../../src/trueconf/buttons.ts";
import { wireProblems } from "./_fake_wire.ts";
import { listenOnSteadyPort } from "./steady_port.ts";

export type { EditRecord } from "./_fake_world.ts";
export type {
  ButtonRecord,
  Envelope,
  FakeChat,
  FakeChatParticipant,
  FakeFileLimits,
  FakeParseMode,
  FakeTextContent,
  FakeUser,
  RequestRecord,
  SentRecord,
  UploadRecord,
} from "./_fake_types.ts";
export { makeTestCertificates, type TestCertificates } from "./_fake_certs.ts";
export { ErrorCode, ROLE_NAMES } from "./_fake_world.ts";

/** OAuth token endpoint path. */
export const OAUTH_PATH = "/bridge/api/client/v1/oauth/token";
/**
 * How an upload request arrived: its Content-Length (null when absent), chunking, and the
 * client's port (the same port twice: one kept-alive connection carried both).
 */
export interface UploadFraming {
  readonly contentLength: number | null;
  readonly chunked: boolean;
  readonly bodyBytes: number;
  readonly clientPort: number;
}

/** File upload endpoint path. */
export const UPLOAD_PATH = "/bridge/api/client/v1/files";
/** First id of server-pushed requests by default (a separate id space from the client's). */
export const FIRST_PUSH_ID = 10_000;

/** Options of {@link FakeTrueConf.start}. Every field is optional. */
export interface FakeTrueConfOptions {
  /** Server domain; TrueConf ids are `login@domain`. Default "video.example.com". */
  domain?: string;
  /** The bot account. Default `{login: "webhook_bot", password: "secret"}`. */
  bot?: FakeUser;
  /** Other accounts (DM partners, message authors). */
  users?: FakeUser[];
  /** Serve HTTPS/WSS with this PEM pair (see {@link makeTestCertificates}). */
  tls?: { certPem: string; keyPem: string };
  /** Port to listen on; default 0 (any free port). */
  port?: number;
  /** JWT lifetime in seconds; default 30 days. */
  tokenTtlSeconds?: number;
  /** Which expiry fields OAuth returns; "none" leaves only the JWT `exp`. Default "both". */
  oauthFields?: "both" | "expires_at" | "expires_in" | "none";
  /** OAuth success status; docs show 201. Default 201. */
  oauthStatus?: 200 | 201;
  /**
   * False: the bot's password grant is off (TrueConf Server 5.5.3+ setting): it answers
   * `403 {"error":"auth_method_disabled"}` and only OAuth applications can log in. Default true.
   */
  passwordGrant?: boolean;
  /**
   * OAuth applications (client_id and scopes) for the application login the Python SDK's
   * `Bot.from_oauth` performs; an application without a scope is refused `400 invalidScope`.
   */
  oauthApps?: { clientId: string; scopes: string[] }[];
  /** Appended to `userId` in the auth response, e.g. "/4f2a". */
  userIdSuffix?: string;
  /** The auth response carries only `connectionId` (openclaw reads only `userId`; a server may omit it). */
  omitAuthUserId?: boolean;
  /** Success payloads omit `errorCode` instead of carrying `errorCode: 0` (servers differ). */
  omitErrorCode?: boolean;
  /** `getChatParticipants` roles as numbers 0…6 (docs) instead of strings (SDK). */
  numericRoles?: boolean;
  /** `getChatParticipants` answers a bare array instead of `{participants}`. */
  participantsAsBareArray?: boolean;
  /**
   * First id of server pushes; default {@link FIRST_PUSH_ID}. The server numbers its own
   * requests in its own space (protocol reference §3), which may well start at 1 and so
   * repeat the ids of the client's requests in flight: 1 tests that a client routes by
   * `type`, never by id alone.
   */
  firstPushId?: number;
  /** Push the bot's own posts back to every authorized socket as events. */
  echoOwnMessages?: boolean;
  /** "5.5.3" (default) requires `fileName` on `uploadFile`; "5.5.2" needs only `fileSize`. */
  uploadMode?: "5.5.3" | "5.5.2";
  /** Admin upload limits; default unlimited. */
  fileLimits?: FakeFileLimits;
  /**
   * The `errorCode` a 5.5.6+ server (`serverVersion`) answers `uploadFile` with for a file that
   * breaks `fileLimits` (size, extension); older servers answer 310 FILE_UPLOAD_FAILED. SDK
   * 1.5.0's release notes (TrueConf/python-trueconf-bot `docs/en/release_notes.md`, commit
   * 01c95e7) say codes 400–408 "relate to files and replace the single generic code 310" from
   * 5.5.6 on, but which of them names which cause is in no source we could read (SDK 1.5's
   * `ApiError.message()`, `trueconf/types/responses/api_error.py`, is stored only in its 1.4
   * form, which stops at 312), so tests run each one. Default 400.
   */
  fileRefusalCode?: number;
  /**
   * The `timestamp` of an edited message's envelope (`getMessageById`, history): `"post"`
   * (default) keeps its post time, `"edit"` gives the last edit's time. TrueConf's docs and
   * SDK 1.5 do not say which; the bot must work with both.
   */
  editedTimestamp?: "post" | "edit";
  /** `sendMessage`/`sendFile` answers leave out `timestamp` (the docs show it; a server may not). */
  omitSendTimestamp?: boolean;
  /**
   * How a message envelope (pushes, `getMessageById`) names its chat: `"chatId"`, the
   * top-level `chatId` that SDK 1.4 and the protocol reference read; `"chat"`, only the object
   * `chat: {chatId, chatTitle, chatType}` that SDK 1.5 reads instead (`types/message.py`,
   * `types/chat.py`, commit 01c95e7; `Message.chat_id` deprecated); `"both"`. Default: `"both"`
   * from `serverVersion` 5.5.6 on, `"chatId"` before.
   */
  envelopeChat?: "chatId" | "chat" | "both";
  /**
   * Echo `json.v1` in the handshake when the client offers it (default true). False models a
   * server or proxy that leaves `Sec-WebSocket-Protocol` out of its answer — openclaw's `ws`
   * client then failed with "Server sent no subprotocol" (protocol reference §1.2).
   */
  echoSubprotocol?: boolean;
  /** Close sockets that carried no data frame for this long (models the ~41 s proxy FIN). */
  idleTimeoutMs?: number;
  /** Concurrent WebSocket cap; further handshakes get 503. Default 128. */
  maxConnections?: number;
  /** Clock in ms for token issue/expiry and message timestamps. Default `Date.now`. */
  now?: () => number;
  /** Keep per-message history (`sent`, `requests`, `acks`, `uploads`, `uploadFraming`, files' bytes). False keeps counters only, for benchmarks. Default true. */
  record?: boolean;
  /**
   * `product.version` of `/api/v4/server`; defaults from `uploadMode` ("5.5.3.10765" or
   * "5.5.2.10510"). From "5.5.6" on, text messages take URL buttons (`content.buttons`);
   * older versions ignore them and record a protocol error. From "5.5.6" on, a file sent with
   * a caption is two messages: the file, then the caption as a text message whose id the
   * `sendFile` answer carries as `captionMessageId` (SDK 1.5 `SendFileResponse`).
   */
  serverVersion?: string;
  /**
   * Where the version can be read: `"api"` (default), `/api/v4/server`'s `product.version`;
   * `"vsstatus"`, only the TrueConf service's status page, as on servers whose
   * `/api/v4/server` leaves `version` empty (python-trueconf-bot 1.4.2 "bot crash when server
   * version field is empty", 1.4.3 "the check is based on the TrueConf service status" when
   * the API fails). `/api/v4/endpoints/connects` then names this server's own port and
   * `GET /vsstatus` answers "TrueConf Server <version>" on it; the SDK asks it over plain
   * http, so this needs a fake without `tls`. `"none"`: neither names it.
   */
  versionIn?: "api" | "vsstatus" | "none";
  /** Where protocol violations and lifecycle events are logged. Default silent. */
  logger?: Logger;
}

/** Behaviour of the OAuth endpoint. */
export type OAuthMode = "ok" | "wrong_password" | "server_error" | "non_json" | "hang";

interface Conn {
  readonly id: string;
  readonly ws: WebSocket;
  /** True from open until dropped; frames to and from a dead socket are ignored. */
  live: boolean;
  opened: boolean;
  authorized: boolean;
  userId: string | null;
  token: string | null;
  readonly timers: Set<Timer>;
  readonly inflight: Set<number>;
  /** Ids pushed to this socket and not acked on it yet (tracked while recording). */
  readonly unacked: Set<number>;
  lastActivity: number;
  readonly closed: Promise<void>;
}

interface TokenInfo {
  userId: string;
  login: string;
  issuedAt: number;
  expMs: number;
}

// @types/node (pulled in by ws) makes setTimeout return a Timeout object, Deno a number.
type Timer = ReturnType<typeof setTimeout>;

const MAX_UNREAD = 10_000;
const MAX_PROTOCOL_ERRORS = 1_000;
const WS_PATHS = new Set(["/websocket/chat_bot", "/websocket/chat_bot/"]);

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });
}

function asObject(value: unknown): Record<string, unknown> | null {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? value as Record<string, unknown>
    : null;
}

/** A running fake server. Create with {@link FakeTrueConf.start}; always {@link close} it. */
export class FakeTrueConf {
  /** Starts listening; resolves once the port is bound. */
  static start(options: FakeTrueConfOptions = {}): Promise<FakeTrueConf> {
    const fake = new FakeTrueConf(options);
    // A port of its own outside the ephemeral range: `refuseConnections` closes the listener and
    // opens it again on the same number, which another process's socket could take meanwhile.
    if (options.port === undefined) listenOnSteadyPort((port) => fake.#listen(port));
    else fake.#listen(options.port);
    return Promise.resolve(fake);
  }

  readonly hostname = "127.0.0.1" as const;
  #port = 0;
  readonly domain: string;
  /** `${bot.login}@${domain}` (without the auth `userIdSuffix`). */
  readonly botId: string;
  readonly tls: boolean;
  /** What `GET /api/v4/server` reports as `product.version`. */
  readonly serverVersion: string;

  /** Every message the bot posted, in order (empty when `record: false`). */
  readonly sent: SentRecord[] = [];
  /** Server-pushed ids the client acknowledged (empty when `record: false`; see `ackCount`). */
  readonly acks = new Set<number>();
  /** Every client request, in order, auth included (empty when `record: false`). */
  readonly requests: RequestRecord[] = [];
  /** Bodies the OAuth endpoint received (parsed JSON, or the raw text). */
  readonly oauthRequests: unknown[] = [];
  /** Paths of the plain HTTP requests (not socket upgrades), in order (empty when `record: false`). */
  readonly httpPaths: string[] = [];
  /** WebSocket handshakes accepted: path, subprotocols offered, subprotocol echoed (empty when `record: false`). */
  readonly handshakes: { path: string; offered: string[]; protocol: string | null }[] = [];
  /** Client behaviour that breaks the protocol (bad frames, acks of unknown ids, bad payloads). */
  readonly protocolErrors: string[] = [];
  /** Every accepted `editMessage`, in order (empty when `record: false`). */
  readonly edits: EditRecord[] = [];
  /** Every message the bot removed for everyone, in order (empty when `record: false`). */
  readonly removals: { chatId: string; messageId: string }[] = [];
  /** Tokens handed out by the OAuth endpoint. */
  tokensIssued = 0;
  /** Acks received (counted also when `record: false`). */
  ackCount = 0;
  /** Handshakes refused because `maxConnections` was reached. */
  rejectedConnections = 0;

  #opts: FakeTrueConfOptions;
  #world: FakeWorld;
  #log: Logger;
  #now: () => number;
  #record: boolean;
  #server: Deno.HttpServer<Deno.NetAddr> | null = null;
  #conns = new Set<Conn>();
  #authorized = new Set<Conn>();
  #tokens = new Map<string, TokenInfo>();
  #firstPushId: number;
  #nextPushId: number;
  #unread: Envelope<unknown>[] = [];
  #sentCount = 0;
  #sentPerChat = new Map<string, number>();
  #listeners = new Set<(r: SentRecord) => void>();
  #ackListeners = new Set<(id: number) => void>();
  /** Message id → the id of its last push (bounded like the unread list). */
  #pushIds = new BoundedMap<string, number>(MAX_UNREAD);
  /**
   * Messages pushed and not acked yet (push id → envelope): unread until acked. When the last
   * authorized socket goes, they are unread again, for the next `auth` with receiveUnread.
   */
  #awaitingRead = new BoundedMap<number, Envelope<unknown>>(MAX_UNREAD);
  #waiters = new Map<() => void, (err: Error) => void>();
  #hangs = new Set<() => void>();
  #delays = new Map<string, number | "never">();
  /** Methods carried out whose answers are never sent ({@link FakeTrueConf.muteAnswers}). */
  #muted = new Set<string>();
  #uploadFailure: { fileName: string; status: number } | null = null;
  /** File names whose uploads are held unanswered, each with the releases of those held. */
  readonly #uploadHolds = new Map<string, Set<() => void>>();
  readonly #uploadFraming: UploadFraming[] = [];
  #errors = new Map<string, { code: number; remaining: number }>();
  #authFailures: { code: number; description: string }[] = [];
  #oauthMode: OAuthMode = "ok";
  #emit203 = false;
  /** Push ids whose ack is lost on the way (see {@link loseAckOf}). */
  #losing = new Set<number>();
  /** Push ids whose ack was lost: it arrived, and the message stayed unread. */
  readonly lostAcks = new Set<number>();
  #repushAfter: number | null = null;
  #repush = new Map<number, Timer>(); // push id → timer
  #idleTimer: ReturnType<typeof setInterval> | undefined;
  #refusing = false;
  #transition: Promise<void> = Promise.resolve();
  #closed = false;
  #closing: Promise<void> | null = null;

  private constructor(opts: FakeTrueConfOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    this.#record = opts.record ?? true;
    this.#firstPushId = this.#nextPushId = opts.firstPushId ?? FIRST_PUSH_ID;
    this.#log = opts.logger ?? silentLogger;
    this.domain = opts.domain ?? "video.example.com";
    this.tls = opts.tls !== undefined;
    const since556 = compareVersions(
      opts.serverVersion ?? (opts.uploadMode === "5.5.2" ? "5.5.2.10510" : "5.5.3.10765"),
      "5.5.6",
    ) >= 0;
    this.#world = new FakeWorld({
      domain: this.domain,
      bot: opts.bot ?? { login: "webhook_bot", password: "secret" },
      users: opts.users ?? [],
      numericRoles: opts.numericRoles ?? false,
      participantsAsBareArray: opts.participantsAsBareArray ?? false,
      uploadMode: opts.uploadMode ?? "5.5.3",
      fileLimits: opts.fileLimits ?? { maxSize: null, extensions: null },
      fileRefusalCode: since556 ? opts.fileRefusalCode ?? 400 : ErrorCode.FILE_UPLOAD_FAILED,
      editedTimestamp: opts.editedTimestamp ?? "post",
      omitSendTimestamp: opts.omitSendTimestamp ?? false,
      now: this.#now,
      buttons: since556,
      captionMessages: since556,
      envelopeChat: opts.envelopeChat ?? (since556 ? "both" : "chatId"),
      protocolError: (what) => this.#protocolError(null, what),
    });
    this.#world.record = this.#record;
    this.botId = this.#world.botId;
    this.serverVersion = opts.serverVersion ??
      (opts.uploadMode === "5.5.2" ? "5.5.2.10510" : "5.5.3.10765");
    const idle = opts.idleTimeoutMs;
    if (idle !== undefined && idle > 0) {
      this.#idleTimer = setInterval(
        () => this.#dropIdle(idle),
        Math.max(5, Math.min(1000, idle / 4)),
      );
    }
  }

  // ───────────────────────── addresses and world ─────────────────────────

  /** The listening port; fixed for the server's life, also across `refuseConnections`. */
  get port(): number {
    return this.#port;
  }

  /** `http(s)://127.0.0.1:PORT` — base for OAuth, upload and `/api/v4`. */
  get baseUrl(): string {
    return `${this.tls ? "https" : "http"}://${this.hostname}:${this.port}`;
  }

  /** `ws(s)://127.0.0.1:PORT/websocket/chat_bot` (the SDK's form, no trailing slash). */
  get wsUrl(): string {
    return `${this.tls ? "wss" : "ws"}://${this.hostname}:${this.port}/websocket/chat_bot`;
  }

  /** `${login}@${domain}`. */
  userId(login: string): string {
    return this.#world.userId(login);
  }

  /** Adds or replaces an account after start. */
  addUser(user: FakeUser): void {
    this.#world.addUser(user);
  }

  /** Registers a chat (group, channel, favorites…); kept by reference, so later edits apply. */
  addChat(chat: FakeChat): FakeChat {
    return this.#world.addChat(chat);
  }

  /** A registered or P2P chat by id. */
  chat(chatId: string): FakeChat | undefined {
    return this.#world.chat(chatId);
  }

  /** The idempotent DM between the bot and `userId` (created on first use), as `createP2PChat` returns it. */
  p2pChatId(userId: string): string {
    return this.#world.p2pChatId(userId);
  }

  /**
   * How each upload request was framed on the wire (every request, accepted or not; empty
   * when `record: false`): TrueConf needs the real `Content-Length`, which `fetch` with a
   * stream body never sends.
   */
  get uploadFraming(): readonly UploadFraming[] {
    return this.#uploadFraming;
  }

  /** Files accepted by the upload endpoint (empty when `record: false`). */
  get uploads(): readonly UploadRecord[] {
    return this.#world.uploads;
  }

  /** Changes the admin limits; unless `push` is false, announces them as a `getFileUploadLimits` event. */
  setFileLimits(limits: FakeFileLimits, push = true): void {
    this.#world.fileLimits = limits;
    if (push) {
      this.pushEvent("getFileUploadLimits", {
        maxSize: limits.maxSize,
        extensions: limits.extensions ?? null,
      });
    }
  }

  // ───────────────────────── what the chat shows ─────────────────────────

  /**
   * Posts the chat shows in `chatId`, in order: edits applied (`text`, `buttons` are the
   * latest; `history` the earlier versions), messages removed for everyone left out (they
   * stay in `sent` with `removed: true`).
   */
  messagesIn(chatId: string): SentRecord[] {
    return this.sent.filter((r) => r.chatId === chatId && !r.removed);
  }

  /** A bot post by message id (removed ones included), or undefined. */
  message(messageId: string): SentRecord | undefined {
    return this.sent.find((r) => r.messageId === messageId);
  }

  /**
   * Removes a message for everyone as a user or an admin would (a later edit of it answers
   * 306); false when unknown or already removed. Pushes nothing.
   */
  deleteMessage(messageId: string): boolean {
    const done = this.#world.removeForAll(messageId);
    this.#notify();
    return done;
  }

  /** Clears a chat's history for everyone (every message in it answers 306 from now on). */
  clearChat(chatId: string): number {
    const n = this.#world.clearChat(chatId);
    this.#notify();
    return n;
  }

  /** Posts counted so far, in one chat or overall (works when `record: false`). */
  sentCount(chatId?: string): number {
    return chatId === undefined ? this.#sentCount : this.#sentPerChat.get(chatId) ?? 0;
  }

  /** Calls `listener` for every post; returns the unsubscribe function. */
  onSent(listener: (r: SentRecord) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Resolves once `predicate()` is true. Checked on every change inside the fake and every
   * 10 ms (so predicates on client state work too); rejects after `timeoutMs` (default 5000)
   * with a summary of the fake's state, or when the fake closes.
   */
  waitFor(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
    if (predicate()) return Promise.resolve();
    if (this.#closed) return Promise.reject(new Error("FakeTrueConf.waitFor: fake is closed"));
    return new Promise((resolve, reject) => {
      const finish = (error?: Error) => {
        clearTimeout(timer);
        clearInterval(poll);
        this.#waiters.delete(check);
        if (error) reject(error);
        else resolve();
      };
      const check = () => {
        try {
          if (predicate()) finish();
        } catch (e) {
          finish(e instanceof Error ? e : new Error(String(e)));
        }
      };
      const timer = setTimeout(
        () =>
          finish(
            new Error(
              `FakeTrueConf.waitFor: condition not met within ${timeoutMs} ms (${this.#summary()})`,
            ),
          ),
        timeoutMs,
      );
      const poll = setInterval(check, 10);
      this.#waiters.set(check, finish);
    });
  }

  /** Currently open sockets. */
  get connections(): number {
    let n = 0;
    for (const c of this.#conns) if (c.opened && c.live) n++;
    return n;
  }

  /** Open sockets that passed `auth`. */
  get authorizedConnections(): number {
    return this.#authorized.size;
  }

  // ───────────────────────── inbound: server → bot ─────────────────────────

  /** `<a href="trueconf:${userId}${suffix}">${displayName}</a>`, as TrueConf clients send mentions (parseMode html). */
  mention(userId: string, displayName: string, suffix = ""): string {
    return `<a href="trueconf:${userId}${suffix}">${displayName}</a>`;
  }

  /**
   * Pushes a user's message (envelope type 200) to every authorized socket as a
   * `sendMessage` request. With no authorized socket it is kept as unread, replayed to the
   * next `auth` that sets `receiveUnread: true` and dropped by one that does not. One pushed
   * and never acked is unread again once no authorized socket is left (a client that died
   * before its ack).
   * `parseMode` defaults to "html" when the text holds a `trueconf:` mention, else "text".
   */
  pushMessage(m: {
    chatId: string;
    authorId: string;
    text: string;
    parseMode?: FakeParseMode;
    replyMessageId?: string | null;
    isEdited?: boolean;
  }): Envelope {
    const parseMode = m.parseMode ?? (m.text.includes('href="trueconf:') ? "html" : "text");
    const env = this.#world.envelope<FakeTextContent>(
      m.chatId,
      m.authorId,
      { text: m.text, parseMode },
      { replyMessageId: m.replyMessageId ?? null, isEdited: m.isEdited ?? false },
    );
    this.#deliver(env);
    return env;
  }

  /**
   * Pushes any envelope (attachment 202, system types 1/2/21…, forwarded 201…) the way
   * {@link pushMessage} does. `authorType` 0 = system, 1 = user (default).
   */
  pushEnvelope<C>(e: {
    chatId: string;
    authorId: string;
    type: number;
    content: C;
    authorType?: number;
    replyMessageId?: string | null;
  }): Envelope<C> {
    const env = this.#world.envelope(e.chatId, e.authorId, e.content, {
      type: e.type,
      authorType: e.authorType ?? 1,
      replyMessageId: e.replyMessageId ?? null,
    });
    this.#deliver(env);
    return env;
  }

  /** Pushes any other event (§5.5, or an unknown method) to every authorized socket; returns its id. Not queued when nobody is connected. */
  pushEvent(method: string, payload: unknown): number {
    return this.#push(method, payload, this.#authorized);
  }

  /**
   * Sends `data` as it is — a text or a binary frame, valid or not — to every authorized
   * socket, for tests of how a client copes with frames a server should never send (not JSON,
   * binary, huge, a request without an id). Nothing is recorded or re-pushed.
   */
  pushRaw(data: string | Uint8Array<ArrayBuffer>): void {
    for (const conn of this.#authorized) {
      if (conn.live && conn.ws.readyState === WebSocket.OPEN) conn.ws.send(data);
    }
  }

  /**
   * Calls `listener` with each push id the client acks, as the ack arrives (before anything
   * else sees it): a test can look at what the client had done by then. Returns an unsubscribe.
   */
  onAck(listener: (id: number) => void): () => void {
    this.#ackListeners.add(listener);
    return () => this.#ackListeners.delete(listener);
  }

  /** The id of the last push of a message (by its `messageId`), if it was pushed. */
  pushIdOf(messageId: string): number | undefined {
    return this.#pushIds.get(messageId);
  }

  /**
   * The client's ack of this message's last push is lost on the way, as when the bot dies
   * right after writing it: the message stays unread (pushed again after the next `auth` with
   * receiveUnread once no socket is left). The ack shows in {@link lostAcks}, not in `acks`.
   */
  loseAckOf(messageId: string): void {
    const id = this.#pushIds.get(messageId);
    if (id === undefined) throw new Error(`message ${messageId} was not pushed`);
    this.#losing.add(id);
  }

  /** Pushed ids not acknowledged yet (only tracked while `repushUnacked` is on). */
  get unackedPushes(): number[] {
    return [...this.#repush.keys()];
  }

  // ───────────────────────── fault injection ─────────────────────────

  /**
   * Drops every socket at once: their pending (delayed) responses are never sent and frames
   * still arriving are ignored. Deno can only close with a close frame, so clients see 1001.
   */
  dropAll(code = 1001, reason = "server restart"): void {
    for (const conn of this.#conns) this.#kill(conn, code, reason);
  }

  /**
   * While on, nothing listens on the port (connection refused) and all sockets are dropped;
   * turning it off listens again on the same port. The promise settles when the change is
   * done; awaiting it is optional.
   */
  refuseConnections(on: boolean): Promise<void> {
    this.#refusing = on;
    const step = this.#transition.then(() => on ? this.#stopListening() : this.#startListening());
    this.#transition = step.catch(() => {});
    return step;
  }

  /** The next `auth` fails with `code` (201 invalid, 202 disabled, 203 expired, 204 bad type). */
  failNextAuth(code: 201 | 202 | 203 | 204, description?: string): void {
    this.#authFailures.push({ code, description: description ?? defaultAuthError(code) });
  }

  /** How the OAuth endpoint answers from now on. */
  setOAuthMode(mode: OAuthMode): void {
    this.#oauthMode = mode;
  }

  /**
   * Delays the answer to `method` (processing happens when the answer is due); "never"
   * swallows the request and keeps the socket open; 0 clears. The HTTP endpoints take the
   * pseudo-methods "oauth" and "upload".
   */
  /** HTTP requests (OAuth, uploads) held by a delay right now. */
  get heldHttpRequests(): number {
    return this.#hangs.size;
  }

  setMethodDelay(method: string, delayMs: number | "never"): void {
    if (delayMs === 0) this.#delays.delete(method);
    else this.#delays.set(method, delayMs);
  }

  /**
   * While on, `method` is carried out at once (a message is posted, the chat shows it) but its
   * answer is never sent: what the bot sees when TrueConf acted and the answer was lost on the
   * way back, or when the bot dies between the two. Unlike a `"never"` delay, which holds the
   * request itself, the effect is there.
   */
  muteAnswers(method: string, on: boolean): void {
    if (on) this.#muted.add(method);
    else this.#muted.delete(method);
  }

  /**
   * The HTTP upload of a file with this name answers `status` (a server choking on one
   * file); null clears it. Other files upload normally.
   */
  failUploadsNamed(fileName: string | null, status = 500): void {
    this.#uploadFailure = fileName === null ? null : { fileName, status };
  }

  /**
   * HTTP uploads of a file with this name are held unanswered (a slow link, a server stuck on
   * one file; they count in {@link heldHttpRequests}) until the returned function is called,
   * then answered as usual. Other files upload normally. Close and refuse answer them 503.
   */
  holdUploadsNamed(fileName: string): () => void {
    const held = new Set<() => void>();
    this.#uploadHolds.set(fileName, held);
    return () => {
      if (this.#uploadHolds.get(fileName) === held) this.#uploadHolds.delete(fileName);
      for (const release of [...held]) release();
    };
  }

  /** Answers `method` with `{errorCode}` for the next `times` requests (default: until cleared with null). Applies after the authorization check; "auth" works too. */
  setMethodError(method: string, errorCode: number | null, times = Infinity): void {
    if (errorCode === null) this.#errors.delete(method);
    else this.#errors.set(method, { code: errorCode, remaining: times });
  }

  /** While on, requests on an authorized socket whose token has expired get 203 (openclaw-style recovery); off by default, as real sessions outlive their token. */
  emit203OnRequests(on: boolean): void {
    this.#emit203 = on;
  }

  /** Re-push events not acked within `afterMs`, repeatedly, until acked; null turns it off. */
  repushUnacked(afterMs: number | null): void {
    this.#repushAfter = afterMs;
    if (afterMs === null) {
      for (const t of this.#repush.values()) clearTimeout(t);
      this.#repush.clear();
    }
  }

  /** Tokens issued at or before `ms` (by the fake's clock) count as expired from now on: `auth` gives 203. The JWT `exp` inside is unchanged. */
  expireTokensIssuedBefore(ms: number): void {
    for (const info of this.#tokens.values()) {
      if (info.issuedAt <= ms) info.expMs = -Infinity;
    }
  }

  /** Every token issued so far counts as expired. */
  expireAllTokens(): void {
    this.expireTokensIssuedBefore(Infinity);
  }

  /**
   * Forgets every token issued so far: `auth` with one answers 201 INVALID_CREDENTIALS, as a
   * server does for a token it no longer accepts (the bot's password changed, the server was
   * reinstalled or restored). Sockets already authorised stay so. New OAuth tokens work.
   */
  revokeAllTokens(): void {
    this.#tokens.clear();
  }

  /** Disables or re-enables an account: OAuth 401, WebSocket `auth` 202. */
  setUserDisabled(login: string, disabled: boolean): void {
    const user = this.#world.userByLogin(login);
    if (!user) throw new Error(`FakeTrueConf: unknown login ${login}`);
    user.disabled = disabled;
  }

  /** Stops everything: sockets, timers, waiters, the listener. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    this.#closed = true;
    for (const fail of [...this.#waiters.values()]) {
      fail(new Error("FakeTrueConf.waitFor: fake closed"));
    }
    clearInterval(this.#idleTimer);
    this.repushUnacked(null);
    this.#releaseHangs();
    this.dropAll(1001, "server shutting down");
    await this.#awaitConnsClosed(2000);
    await this.#transition;
    const server = this.#server;
    this.#server = null;
    if (server) await server.shutdown();
  }

  // ───────────────────────── listener ─────────────────────────

  #listen(port: number): void {
    const base = {
      hostname: this.hostname,
      port,
      onListen: () => {},
      onError: (e: unknown) => {
        this.#log.error("fake trueconf handler error", { error: e });
        return new Response("internal error", { status: 500 });
      },
    };
    const tls = this.#opts.tls;
    this.#server = tls
      ? Deno.serve({ ...base, cert: tls.certPem, key: tls.keyPem }, this.#handle)
      : Deno.serve(base, this.#handle);
    this.#port = this.#server.addr.port;
  }

  async #stopListening(): Promise<void> {
    this.#releaseHangs();
    this.dropAll(1001, "server restart");
    await this.#awaitConnsClosed(2000);
    const server = this.#server;
    this.#server = null;
    if (server) await server.shutdown();
  }

  async #startListening(): Promise<void> {
    if (this.#server || this.#closed || this.#refusing) return;
    for (let attempt = 0;; attempt++) {
      try {
        this.#listen(this.#port);
        return;
      } catch (e) {
        // Up to 10 s, not 1: on a machine other test suites share, the port let go may be
        // taken by one of their sockets for a while.
        if (!(e instanceof Deno.errors.AddrInUse) || attempt >= 500) throw e;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }

  async #awaitConnsClosed(limitMs: number): Promise<void> {
    if (this.#conns.size === 0) return;
    let timer: Timer | undefined;
    await Promise.race([
      Promise.all([...this.#conns].map((c) => c.closed)),
      new Promise((r) => timer = setTimeout(r, limitMs)),
    ]);
    clearTimeout(timer);
  }

  #handle = async (req: Request, info: Deno.ServeHandlerInfo): Promise<Response> => {
    const path = new URL(req.url).pathname;
    if (WS_PATHS.has(path)) return this.#upgrade(req, path);
    if (this.#record) this.httpPaths.push(path);
    const inApi = (this.#opts.versionIn ?? "api") === "api";
    switch (path) {
      case OAUTH_PATH:
        return req.method === "POST" ? await this.#oauth(req) : json(405, { error: "method" });
      case "/api/v4/oauth2/token":
      case "/bridge/api/client/v1/auth/web_rest_api_token":
      case "/bridge/api/client/v1/auth/token":
        return req.method === "POST"
          ? await this.#appLogin(req, path)
          : json(405, { error: "method" });
      case UPLOAD_PATH:
        return req.method === "POST"
          ? await this.#upload(req, info)
          : json(405, { error: "method" });
      case "/api/v4/server":
        return json(200, {
          product: { version: inApi ? this.serverVersion : "", display_name: this.domain },
        });
      case "/api/v4/endpoints/connects":
        return json(200, { connects: [`${this.domain}:${this.port}`] });
      case "/vsstatus":
        return this.#opts.versionIn !== "vsstatus"
          ? json(404, { error: "not_found" })
          : new Response(
            `<html><body><h1>TrueConf Server ${this.serverVersion} is running</h1></body></html>`,
            { headers: { "content-type": "text/html" } },
          );
      default:
        return json(404, { error: "not_found", error_description: `No route ${path}` });
    }
  };

  // ───────────────────────── HTTP: OAuth and upload ─────────────────────────

  async #oauth(req: Request): Promise<Response> {
    const text = await req.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch { /* recorded as raw text */ }
    this.oauthRequests.push(body);
    this.#notify();
    if (!(await this.#httpDelay("oauth"))) return new Response(null, { status: 503 });
    const bad = (status: number, error: string, description = error) =>
      json(status, { error, error_description: description });
    switch (this.#oauthMode) {
      case "hang":
        await this.#hang();
        return new Response(null, { status: 503 });
      case "server_error":
        return bad(500, "server_error", "Internal Server Error");
      case "non_json":
        return new Response(
          "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>",
          { status: 502, headers: { "content-type": "text/html" } },
        );
      case "wrong_password":
        return bad(401, "invalid_grant");
      case "ok":
        break;
    }
    if (!/application\/json/i.test(req.headers.get("content-type") ?? "")) {
      this.#protocolError(null, "OAuth request without Content-Type: application/json");
      return bad(400, "invalid_request", "Content-Type must be application/json");
    }
    const p = asObject(body);
    if (!p) return bad(400, "invalid_request", "Body must be a JSON object");
    if (this.#opts.passwordGrant === false) {
      return bad(403, "auth_method_disabled", "Login and password authentication is disabled");
    }
    if (p.client_id !== "chat_bot") return bad(401, "invalid_client");
    if (p.grant_type !== "password") return bad(400, "unsupported_grant_type");
    // A numeric password was a real 400 (Python SDK 1.1.1 fix): credentials must be strings.
    if (typeof p.username !== "string" || typeof p.password !== "string") {
      return bad(400, "invalid_request", "username and password must be strings");
    }
    const user = this.#world.userByLogin(p.username); // bare login only, no @domain
    if (!user || p.username.includes("@") || user.password !== p.password || user.disabled) {
      return bad(401, "invalid_grant");
    }
    return json(this.#opts.oauthStatus ?? 201, this.#issueBotToken(user.login));
  }

  /** Mints a bot JWT the socket's `auth` accepts, as the OAuth endpoints answer it. */
  #issueBotToken(login: string): Record<string, unknown> {
    const ttl = this.#opts.tokenTtlSeconds ?? 30 * 24 * 3600;
    const nowMs = this.#now();
    const iat = Math.floor(nowMs / 1000);
    const exp = iat + ttl;
    const userId = this.userId(login);
    const token = mintJwt({ iss: this.domain, sub: userId, iat, exp, jti: crypto.randomUUID() });
    this.#tokens.set(token, { userId, login, issuedAt: nowMs, expMs: exp * 1000 });
    this.tokensIssued++;
    const fields = this.#opts.oauthFields ?? "both";
    const out: Record<string, unknown> = { access_token: token, token_type: "JWT" };
    if (fields === "both" || fields === "expires_in") out.expires_in = ttl;
    if (fields === "both" || fields === "expires_at") out.expires_at = exp;
    this.#notify();
    return out;
  }

  /** Web API tokens and authorization codes of the application login, by value → login. */
  #webTokens = new Map<string, string>();
  #authCodes = new Map<string, string>();

  /**
   * The application login of python-trueconf-bot's `_get_auth_token_via_oauth` (SDK 1.5,
   * trueconf/utils/_auth/_token.py): password grant with an application's client_id at
   * /api/v4/oauth2/token (400 `invalidScope` when the application has no scope), the web
   * token traded for an authorization code, the code for the chat-bot token (single use).
   */
  async #appLogin(req: Request, path: string): Promise<Response> {
    let body: unknown = undefined;
    try {
      body = JSON.parse(await req.text());
    } catch { /* not JSON: refused below */ }
    this.oauthRequests.push({ path, body });
    const p = asObject(body);
    if (!p) return json(400, { error: "invalid_request" });
    if (path === "/api/v4/oauth2/token") {
      const app = (this.#opts.oauthApps ?? []).find((a) => a.clientId === p.client_id);
      if (!app) return json(401, { error: "invalid_client" });
      if (app.scopes.length === 0) {
        return json(400, {
          error: { code: 400, message: "Invalid scope", errors: [{ reason: "invalidScope" }] },
        });
      }
      const user = typeof p.username === "string" ? this.#world.userByLogin(p.username) : null;
      if (p.grant_type !== "password" || !user || user.password !== p.password || user.disabled) {
        return json(401, { error: "invalid_grant" });
      }
      const web = crypto.randomUUID();
      this.#webTokens.set(web, user.login);
      return json(200, { access_token: web, token_type: "bearer", expires_in: 3600 });
    }
    if (path === "/bridge/api/client/v1/auth/web_rest_api_token") {
      const login = typeof p.token === "string" ? this.#webTokens.get(p.token) : undefined;
      if (!login || p.client_id !== login) return json(401, { error: "invalid_token" });
      const code = crypto.randomUUID();
      this.#authCodes.set(code, login);
      return json(200, { authorization_code: code });
    }
    const login = typeof p.code === "string" ? this.#authCodes.get(p.code) : undefined;
    if (p.client_id !== "user" || p.grant_type !== "authorization_code" || !login) {
      return json(400, { error: "invalid_grant" });
    }
    this.#authCodes.delete(p.code as string);
    return json(200, this.#issueBotToken(login));
  }

  async #upload(req: Request, info: Deno.ServeHandlerInfo): Promise<Response> {
    const taskId = req.headers.get("upload-task-id") ?? "";
    const body = new Uint8Array(await req.arrayBuffer());
    const length = req.headers.get("content-length");
    if (this.#record) {
      this.#uploadFraming.push({
        contentLength: length === null ? null : Number(length),
        chunked: /chunked/i.test(req.headers.get("transfer-encoding") ?? ""),
        bodyBytes: body.length,
        clientPort: (info.remoteAddr as Deno.NetAddr).port,
      });
    }
    if (!(await this.#httpDelay("upload"))) return new Response(null, { status: 503 });
    const fail = (description: string) => json(400, { error: 310, error_description: description });
    const forced = this.#takeForcedError("upload");
    if (forced !== null) return json(400, { error: forced, error_description: "Forced error" });
    if (!this.#world.hasTask(taskId)) return fail(`No task found for request_id: ${taskId}`);
    const boundary = boundaryOf(req.headers.get("content-type"));
    if (!boundary) {
      this.#protocolError(null, "upload is not multipart/form-data with a boundary");
      return fail("Expected multipart/form-data");
    }
    let parts: MultipartPart[];
    try {
      parts = parseMultipart(body, boundary);
    } catch (e) {
      this.#protocolError(null, `upload: ${(e as Error).message}`);
      return fail("Malformed multipart body");
    }
    const file = parts.find((p) => p.name === "file" && p.filename !== null);
    if (!file) {
      this.#protocolError(null, "upload without a `file` part carrying a filename");
      return fail("No file in request");
    }
    if (this.#uploadFailure && file.filename === this.#uploadFailure.fileName) {
      return new Response("upload failed", { status: this.#uploadFailure.status });
    }
    const hold = this.#uploadHolds.get(file.filename!);
    if (hold && !(await this.#heldUntilReleased(hold))) {
      return new Response(null, { status: 503 });
    }
    const preview = parts.find((p) => p.name === "preview" && p.filename !== null) ?? null;
    const temporalFileId = this.#world.acceptUpload(
      taskId,
      {
        name: file.filename!,
        size: file.data.length,
        mimeType: file.contentType ?? "application/octet-stream",
        bytes: file.data,
      },
      preview && {
        name: preview.filename!,
        size: preview.data.length,
        mimeType: preview.contentType ?? "application/octet-stream",
        bytes: preview.data,
      },
    );
    this.#notify();
    return json(200, { temporalFileId });
  }

  /**
   * Waits out an HTTP delay; false when the wait was cut short by close/refuse. (Client
   * aborts are not watched: touching `req.signal` makes Deno print a legacy-behaviour
   * warning, and close/refuse release every wait anyway.)
   */
  async #httpDelay(name: string): Promise<boolean> {
    const delay = this.#delays.get(name);
    if (delay === undefined) return true;
    await this.#hang(delay === "never" ? undefined : delay);
    return delay !== "never" && !this.#closed && !this.#refusing;
  }

  /** Resolves after `ms` (or never), or early on close/refuse. */
  #hang(ms?: number): Promise<void> {
    return new Promise((resolve) => {
      let timer: Timer | undefined;
      const done = () => {
        clearTimeout(timer);
        this.#hangs.delete(done);
        resolve();
      };
      // Entered after close/refuse began: nothing would release it later.
      if (this.#closed || this.#refusing) return resolve();
      if (ms !== undefined) timer = setTimeout(done, ms);
      this.#hangs.add(done);
    });
  }

  /** Waits for `holds`' release (true) or for close/refuse (false), counted as a hang meanwhile. */
  #heldUntilReleased(holds: Set<() => void>): Promise<boolean> {
    return new Promise((resolve) => {
      if (this.#closed || this.#refusing) return resolve(false);
      const done = () => {
        holds.delete(done);
        this.#hangs.delete(done);
        resolve(!this.#closed && !this.#refusing);
      };
      holds.add(done);
      this.#hangs.add(done);
    });
  }

  #releaseHangs(): void {
    for (const done of [...this.#hangs]) done();
  }

  // ───────────────────────── WebSocket ─────────────────────────

  #upgrade(req: Request, path: string): Response {
    if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("Expected a WebSocket upgrade", { status: 426 });
    }
    if (this.#closed || this.#refusing) return new Response("Restarting", { status: 503 });
    if (this.#conns.size >= (this.#opts.maxConnections ?? 128)) {
      this.rejectedConnections++;
      return new Response("Too many connections", { status: 503 });
    }
    // Headers must be read before upgrading: afterwards the request is closed.
    const offered = (req.headers.get("sec-websocket-protocol") ?? "")
      .split(",").map((s) => s.trim()).filter(Boolean);
    const protocol = offered.includes("json.v1") && this.#opts.echoSubprotocol !== false
      ? "json.v1"
      : null;
    // idleTimeout 0: no server-initiated pings; the real server's are not documented.
    const { socket, response } = Deno.upgradeWebSocket(
      req,
      protocol ? { protocol, idleTimeout: 0 } : { idleTimeout: 0 },
    );
    let resolveClosed!: () => void;
    const conn: Conn = {
      id: crypto.randomUUID(),
      ws: socket,
      live: true,
      opened: false,
      authorized: false,
      userId: null,
      token: null,
      timers: new Set(),
      inflight: new Set(),
      unacked: new Set(),
      lastActivity: performance.now(),
      closed: new Promise<void>((r) => resolveClosed = r),
    };
    this.#conns.add(conn);
    if (this.#record) this.handshakes.push({ path, offered, protocol });
    socket.onopen = () => {
      conn.opened = true;
      // Dropped while the handshake was finishing: close now that closing is possible.
      if (!conn.live) socket.close(1001, "server restart");
      this.#log.debug("fake trueconf socket open", { connectionId: conn.id });
      this.#notify();
    };
    socket.onmessage = (e) => this.#onFrame(conn, e.data);
    socket.onerror = () => {}; // the close event follows; nothing to add
    socket.onclose = () => {
      this.#forget(conn);
      resolveClosed();
      this.#notify();
    };
    return response;
  }

  #forget(conn: Conn): void {
    conn.live = false;
    for (const t of conn.timers) clearTimeout(t);
    conn.timers.clear();
    this.#conns.delete(conn);
    this.#authorized.delete(conn);
    this.#unreadAgain();
  }

  /**
   * No authorized socket is left: messages pushed and never acked are unread again, before
   * those that arrived since (they are older). The ack is what marks a message read
   * (reference §3), and an `auth` with receiveUnread pushes the unread ones (§2.2); that an
   * unacked push counts as unread is this fake's reading of those two (§11.4: undocumented).
   */
  #unreadAgain(): void {
    if (this.#authorized.size > 0 || this.#awaitingRead.size === 0) return;
    this.#unread = [...this.#awaitingRead.values(), ...this.#unread].slice(-MAX_UNREAD);
    this.#awaitingRead.clear();
  }

  #kill(conn: Conn, code: number, reason: string): void {
    const wasLive = conn.live;
    conn.live = false;
    for (const t of conn.timers) clearTimeout(t);
    conn.timers.clear();
    this.#authorized.delete(conn);
    this.#unreadAgain();
    if (wasLive && conn.opened && conn.ws.readyState === WebSocket.OPEN) {
      conn.ws.close(code, reason);
    }
    this.#notify();
  }

  #dropIdle(idleMs: number): void {
    const now = performance.now();
    for (const conn of this.#conns) {
      if (conn.live && conn.opened && now - conn.lastActivity >= idleMs) {
        this.#log.debug("fake trueconf dropping idle socket", { connectionId: conn.id });
        this.#kill(conn, 1001, "idle timeout");
      }
    }
  }

  #send(conn: Conn, frame: string): void {
    if (!conn.live || conn.ws.readyState !== WebSocket.OPEN) return;
    conn.ws.send(frame);
    conn.lastActivity = performance.now();
  }

  #onFrame(conn: Conn, data: unknown): void {
    if (!conn.live) return;
    conn.lastActivity = performance.now();
    if (typeof data !== "string") {
      this.#protocolError(conn, "binary frame (the protocol is JSON text frames)");
      return;
    }
    let msg: Record<string, unknown> | null;
    try {
      msg = asObject(JSON.parse(data));
    } catch {
      msg = null;
    }
    if (!msg) {
      this.#protocolError(conn, `frame is not a JSON object: ${data.slice(0, 80)}`);
      return;
    }
    const { type, id } = msg;
    if (type === 2) {
      this.#onAck(conn, msg);
      return;
    }
    // The SDK's request frame is exactly {type, id, method, payload} (methods/base.py).
    for (const key in msg) {
      if (key !== "type" && key !== "id" && key !== "method" && key !== "payload") {
        this.#protocolError(conn, `request frame carries ${key}, which no request has`);
      }
    }
    if (!("payload" in msg)) {
      this.#protocolError(
        conn,
        `request ${JSON.stringify(id)} without a payload (the SDK sends {} at least)`,
      );
    }
    if (type !== 1) {
      this.#protocolError(conn, `unknown frame type ${JSON.stringify(type)}`);
      return;
    }
    if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id > 0xffff_ffff) {
      this.#protocolError(conn, `request id must be a uint32, got ${JSON.stringify(id)}`);
      return;
    }
    const method = msg.method;
    if (typeof method !== "string") {
      this.#protocolError(conn, `request ${id} without a method`);
      this.#respondError(conn, id, ErrorCode.ROUTE_NOT_FOUND, "Missing method");
      return;
    }
    if (this.#record) {
      this.requests.push({ id, method, payload: msg.payload, connectionId: conn.id });
    }
    const delay = this.#delays.get(method);
    if (delay === undefined) {
      this.#process(conn, id, method, msg.payload);
    } else {
      if (conn.inflight.has(id)) {
        this.#protocolError(conn, `request id ${id} reused while in flight`);
      }
      conn.inflight.add(id);
      if (delay !== "never") {
        const timer = setTimeout(() => {
          conn.timers.delete(timer);
          conn.inflight.delete(id);
          this.#process(conn, id, method, msg.payload);
        }, delay);
        conn.timers.add(timer);
      }
    }
    this.#notify();
  }

  #onAck(conn: Conn, msg: Record<string, unknown>): void {
    const id = msg.id;
    if (typeof id !== "number" || id < this.#firstPushId || id >= this.#nextPushId) {
      this.#protocolError(
        conn,
        `response/ack for an id the server never pushed: ${JSON.stringify(id)}`,
      );
      return;
    }
    if ("payload" in msg) this.#protocolError(conn, `ack ${id} carries a payload (acks have none)`);
    if (this.#record) {
      // Acked on the socket it came on, once (the SDK acks each frame as it arrives).
      if (!conn.unacked.delete(id)) {
        this.#protocolError(conn, `ack ${id} on a socket that has no unacked push ${id}`);
      }
    }
    if (this.#losing.delete(id)) {
      this.lostAcks.add(id);
      this.#notify();
      return;
    }
    this.ackCount++;
    if (this.#record) this.acks.add(id);
    this.#awaitingRead.delete(id);
    for (const listener of this.#ackListeners) listener(id);
    const timer = this.#repush.get(id);
    if (timer !== undefined) {
      clearTimeout(timer);
      this.#repush.delete(id);
    }
    this.#notify();
  }

  #takeForcedError(method: string): number | null {
    const forced = this.#errors.get(method);
    if (!forced) return null;
    if (--forced.remaining <= 0) this.#errors.delete(method);
    return forced.code;
  }

  #process(conn: Conn, id: number, method: string, payload: unknown): void {
    if (!conn.live) return; // dropped meanwhile: the answer is lost, as on a real restart
    if (this.#record) {
      for (const problem of wireProblems(method, payload)) this.#protocolError(conn, problem);
    }
    if (method === "auth") {
      const forced = this.#takeForcedError("auth");
      if (forced !== null) this.#respondError(conn, id, forced, "Forced error");
      else this.#auth(conn, id, payload);
      return;
    }
    if (!conn.authorized) {
      // `auth` must be the first request on every socket (docs: connect-and-auth): a client
      // that sends anything before its answer is racing its own login.
      this.#protocolError(conn, `${method} sent before a successful auth on this socket`);
      this.#respondError(conn, id, ErrorCode.NOT_AUTHORIZED, "Not authorized");
      return;
    }
    if (this.#emit203 && this.#tokenExpired(conn.token)) {
      this.#respondError(conn, id, ErrorCode.CREDENTIALS_EXPIRED, "Credentials expired");
      return;
    }
    const forced = this.#takeForcedError(method);
    if (forced !== null) {
      this.#respondError(conn, id, forced, "Forced error");
      return;
    }
    const result: MethodResult = this.#world.handle(method, payload, conn.id);
    if (!result.ok) {
      if (result.invalid) this.#protocolError(conn, result.errorDescription);
      this.#respondError(conn, id, result.errorCode, result.errorDescription);
      return;
    }
    if (!this.#muted.has(method)) this.#respond(conn, id, result.payload);
    if (result.sent) this.#recordSent(result.sent);
    if (result.alsoSent) this.#recordSent(result.alsoSent.sent);
    if (result.edit && this.#record) this.edits.push(result.edit);
    if (result.removal && this.#record) this.removals.push(result.removal);
    if (result.edit || result.removal) this.#notify();
    if (result.envelope && this.#opts.echoOwnMessages) {
      this.#push("sendMessage", result.envelope, this.#authorized);
      if (result.alsoSent) this.#push("sendMessage", result.alsoSent.envelope, this.#authorized);
    }
    if (result.event && this.#opts.echoOwnMessages) {
      this.#push(result.event.method, result.event.payload, this.#authorized);
    }
  }

  #tokenExpired(token: string | null): boolean {
    const info = token === null ? undefined : this.#tokens.get(token);
    return !info || info.expMs <= this.#now();
  }

  #auth(conn: Conn, id: number, payload: unknown): void {
    const fail = this.#authFailures.shift();
    if (fail) {
      this.#respondError(conn, id, fail.code, fail.description);
      return;
    }
    const p = asObject(payload);
    if (!p || p.tokenType !== "JWT") {
      this.#respondError(conn, id, ErrorCode.UNSUPPORTED_CREDENTIALS, defaultAuthError(204));
      return;
    }
    const token = typeof p.token === "string" ? p.token : null;
    const info = token === null ? undefined : this.#tokens.get(token);
    if (!info || token === null) {
      this.#respondError(conn, id, ErrorCode.INVALID_CREDENTIALS, defaultAuthError(201));
      return;
    }
    if (this.#world.userByLogin(info.login)?.disabled) {
      this.#respondError(conn, id, ErrorCode.USER_DISABLED, defaultAuthError(202));
      return;
    }
    if (info.expMs <= this.#now()) {
      this.#respondError(conn, id, ErrorCode.CREDENTIALS_EXPIRED, defaultAuthError(203));
      return;
    }
    conn.authorized = true;
    conn.userId = info.userId;
    conn.token = token;
    this.#authorized.add(conn);
    this.#respond(conn, id, {
      ...(this.#opts.omitAuthUserId
        ? {}
        : { userId: info.userId + (this.#opts.userIdSuffix ?? "") }),
      connectionId: conn.id,
    });
    const unread = this.#unread;
    this.#unread = [];
    if (p.receiveUnread === true) {
      for (const env of unread) this.#push("sendMessage", env, [conn]);
    }
    this.#log.debug("fake trueconf auth ok", { connectionId: conn.id, replayed: unread.length });
    this.#notify();
  }

  #respond(conn: Conn, id: number, payload: unknown): void {
    const body = this.#opts.omitErrorCode || Array.isArray(payload) || !asObject(payload)
      ? payload
      : { errorCode: 0, ...(payload as Record<string, unknown>) };
    this.#send(conn, JSON.stringify({ type: 2, id, payload: body }));
  }

  #respondError(conn: Conn, id: number, errorCode: number, errorDescription: string): void {
    this.#send(conn, JSON.stringify({ type: 2, id, payload: { errorCode, errorDescription } }));
  }

  #recordSent(r: SentRecord): void {
    this.#sentCount++;
    this.#sentPerChat.set(r.chatId, (this.#sentPerChat.get(r.chatId) ?? 0) + 1);
    if (this.#record) this.sent.push(r);
    for (const listener of this.#listeners) {
      try {
        listener(r);
      } catch (e) {
        this.#log.error("fake trueconf onSent listener threw", { error: e });
      }
    }
  }

  // ───────────────────────── pushes ─────────────────────────

  #deliver(env: Envelope<unknown>): void {
    if (this.#authorized.size === 0) {
      this.#unread.push(env);
      if (this.#unread.length > MAX_UNREAD) this.#unread.shift();
      return;
    }
    this.#push("sendMessage", env, this.#authorized);
  }

  #push(method: string, data: unknown, targets: Iterable<Conn>): number {
    const id = this.#nextPushId++;
    const payload = method === "sendMessage" ? this.#world.wireEnvelope(data) : data;
    const frame = JSON.stringify({ type: 1, id, method, payload });
    let delivered = false;
    for (const conn of targets) {
      this.#send(conn, frame);
      if (this.#record && conn.live) conn.unacked.add(id);
      delivered = true;
    }
    if (delivered && this.#repushAfter !== null) this.#armRepush(id, frame);
    if (method === "sendMessage") {
      // Bounded maps: evicting with `keys().next()` walked the holes deleted entries leave,
      // a fifth of the bench fake's CPU at c64 (see BoundedMap).
      this.#pushIds.delete((data as Envelope<unknown>).messageId);
      this.#pushIds.set((data as Envelope<unknown>).messageId, id);
    }
    if (delivered && method === "sendMessage") {
      this.#awaitingRead.set(id, data as Envelope<unknown>);
    }
    return id;
  }

  #armRepush(id: number, frame: string): void {
    const after = this.#repushAfter;
    if (after === null) return;
    const timer = setTimeout(() => {
      this.#repush.delete(id);
      if (this.#authorized.size === 0) return;
      this.#log.debug("fake trueconf re-pushing unacked event", { id });
      for (const conn of this.#authorized) {
        this.#send(conn, frame);
        if (this.#record) conn.unacked.add(id);
      }
      this.#armRepush(id, frame);
    }, after);
    this.#repush.set(id, timer);
  }

  // ───────────────────────── misc ─────────────────────────

  #protocolError(conn: Conn | null, what: string): void {
    if (this.protocolErrors.length < MAX_PROTOCOL_ERRORS) this.protocolErrors.push(what);
    this.#log.warn("fake trueconf: client broke the protocol", {
      what,
      connectionId: conn?.id,
    });
  }

  #notify(): void {
    for (const check of this.#waiters.keys()) check();
  }

  #summary(): string {
    const last = this.requests.slice(-5).map((r) => r.method).join(",");
    return `connections=${this.connections} authorized=${this.authorizedConnections} ` +
      `tokensIssued=${this.tokensIssued} requests=${this.requests.length} [last: ${last}] ` +
      `sent=${this.#sentCount} acks=${this.ackCount} protocolErrors=${this.protocolErrors.length}`;
  }
}

function defaultAuthError(code: number): string {
  switch (code) {
    case 201:
      return "Invalid credentials";
    case 202:
      return "User is disabled";
    case 203:
      return "Credentials expired";
    case 204:
      return "Unsupported credentials type";
    default:
      return "Authorization failed";
  }
}
