/**
 * Public types of the TrueConf client: options, connection state, and the shapes the
 * typed methods return.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import type { ParseMode } from "../message.ts";
import type { UrlButton } from "./buttons.ts";

export type { ParseMode, UrlButton };

/** Credentials: a static token (`TRUECONF_TOKEN`) or a bot account for the OAuth password grant. */
export type TrueConfAuth = { token: string } | {
  username: string;
  password: string;
  /**
   * An OAuth application's client_id (TrueConf Server 5.5.3+), for servers where the bot's
   * password grant is off; absent or null: the password grant with client_id "chat_bot".
   */
  clientId?: string | null | undefined;
};

/** Where TrueConf is and how to trust it; shared by the client, OAuth and `check-config`. */
export interface TrueConfEndpoint {
  /** Host name or IP, no scheme, no port. */
  server: string;
  /** `wss://` + `https://` when true, `ws://` + `http://` when false. */
  https: boolean;
  /** `TRUECONF_WEB_PORT`; one port serves OAuth, the socket and uploads. */
  port: number;
  /** `false` turns certificate verification off, for the TrueConf connection only. */
  verifyTls: boolean;
  /** Extra CA certificates (PEM) trusted for TrueConf, on top of the system roots. */
  caPem?: string | undefined;
}

/** Options of {@link TrueConfClient}. */
export interface TrueConfClientOptions extends TrueConfEndpoint {
  /** Login and password (OAuth), or a static token. */
  auth: TrueConfAuth;
  /** Budget of every socket request, `auth` included. Default 10 000. */
  requestTimeoutMs?: number;
  /** A WebSocket ping this often. Default 30 000. */
  pingIntervalMs?: number;
  /** The socket is terminated (and reconnected) when a ping gets no pong this fast. Default 10 000. */
  pongTimeoutMs?: number;
  /** Budget of one connect: OAuth (when needed) + WebSocket handshake. Default 15 000. */
  connectTimeoutMs?: number;
  /** Reconnect delay: `initialMs` doubling up to `maxMs`, plus up to 20 % jitter. Default 1 000 → 60 000. */
  backoff?: { initialMs: number; maxMs: number };
  /**
   * Refresh a password-grant token this long before it expires. Default: 10 % of the
   * token's lifetime, at least 1 minute and at most 5 days (a 30-day token is refreshed
   * 3 days early, a 1-hour one 6 minutes early). Clamped to half the lifetime so a
   * short-lived token is still used for a while.
   */
  refreshMarginMs?: number;
  /**
   * Token expiry is re-evaluated at least this often (default 60 000), so a clock jump —
   * suspend/resume, or an injected test clock — is noticed without a long timer.
   */
  tokenCheckIntervalMs?: number;
  /** Budget of one HTTP file upload. Default 120 000. */
  uploadTimeoutMs?: number;
  /** Clock for token expiry and for how long a post TrueConf answered late may be taken by its retry, in ms since the epoch. Default `Date.now`. */
  now?: () => number;
  /**
   * The client authenticates with `receiveUnread: true`, so messages not acked before a crash
   * or sent while the bot was away are pushed again after the next `auth`. A message older
   * than this when it arrives is acked and passed to no handler: a command or trigger word
   * from long ago is not acted on now. Default 3 600 000 (the bot passes
   * `WEBHOOK_OUTGOING_MAX_AGE_SECONDS`: an outgoing call is given up after that anyway).
   */
  unreadMaxAgeMs?: number;
  /**
   * Longest an ack waits for a handler registered with `ackAfter` to store its event; then
   * it goes anyway, with an error logged. Default 10 000.
   */
  ackHoldMs?: number;
  /** Where the client logs. Default: silent. */
  logger?: Logger;
}

/** A snapshot of the connection, for `/readyz`, metrics and logs. */
export interface ConnectionState {
  /** A WebSocket is open. */
  connected: boolean;
  /** The open socket passed `auth`; requests are accepted. */
  authorized: boolean;
  /** The latest connect/auth/OAuth failure, cleared by a successful `auth`. */
  lastError: string | null;
  /** The bot's id from `auth`, bare `login@server` (instance suffix stripped, lower-cased). */
  botId: string | null;
  /** When the current token expires (ms since the epoch), if known. */
  tokenExpiresAt: number | null;
  /** Successful connects after the first one. */
  reconnects: number;
  /** Wall-clock time of the last pong (ms since the epoch). */
  lastPongAt: number | null;
  /** Requests that timed out in a row; reset by any successful response. */
  consecutiveTimeouts: number;
}

/** What `sendMessage` / `sendFile` return. */
export interface SentMessage {
  /** The chat the message went to. */
  chatId: string;
  /** The new message's id: use it to edit, remove or reply to the message later. */
  messageId: string;
  /** Server time, ms since the epoch (this process's clock when the answer had none). */
  timestamp: number;
  /**
   * TrueConf's own timestamp of the message as its answer carried it, `null` when it had none.
   * `getMessageById` answers the same timestamp in the message's envelope, so it can find the
   * message's record again (the message registry keys its rows by it).
   */
  serverTime?: number | null;
  /**
   * `sendFile` with a caption on TrueConf Server 5.5.6+: the id of the caption's own text
   * message (SDK 1.5 `SendFileResponse.caption_message_id`). Removing the file leaves that
   * message in the chat, so whoever removes the file removes it too. Absent on older servers,
   * where the file shows its caption.
   */
  captionMessageId?: string;
}

/** What `editMessage` returns (`{messageId, timestamp}` on the wire, SDK `EditMessageResponse`). */
export interface EditedMessage {
  /** The edited message. */
  messageId: string;
  /** Server time of the edit, ms since the epoch. */
  timestamp: number;
}

/** Options of `sendMessage`. */
export interface SendMessageOptions {
  /** Post as a reply to this message (TrueConf's only threading). */
  replyMessageId?: string | undefined;
  /**
   * URL buttons under the text (TrueConf Server 5.5.6+; check `supportsButtons()` first:
   * older servers ignore or refuse them). Rows of at most 8, at most 64 in all.
   */
  buttons?: readonly (readonly UrlButton[])[] | undefined;
}

/** What `GET /api/v4/server` tells about the server. */
export interface ServerInfo {
  /** `product.version`, e.g. "5.5.6.10902"; null when the server did not say. */
  version: string | null;
  /** `product.display_name`: the server's domain, which qualifies bare user ids. */
  domain: string | null;
}

/** Chat types (`chatType`): 1 P2P, 2 group, 3 system, 5 favorites, 6 channel. */
export const ChatType = {
  UNDEF: 0,
  P2P: 1,
  GROUP: 2,
  SYSTEM: 3,
  FAVORITES: 5,
  CHANNEL: 6,
} as const;

/** What `getChatByID` returns. */
export interface ChatInfo {
  /** The chat's id. */
  chatId: string;
  /** Its title. */
  title: string;
  /** See {@link ChatType}. */
  chatType: number;
}

/** Participant roles, in the order of the numeric enum (0…6) in the TrueConf docs. */
export const CHAT_ROLES = [
  "owner",
  "admin",
  "user",
  "conf_owner",
  "conf_moderator",
  "favorites_owner",
  "writer",
] as const;

/** A participant role, normalized from the string or numeric form. */
export type ChatRole = typeof CHAT_ROLES[number];

/** One chat member. */
export interface Participant {
  /** As sent by the server (compare with `sameTrueConfId`). */
  userId: string;
  /** The member's role. */
  role: ChatRole;
}

/** A file to post with `sendFile`. With a `preview` TrueConf shows it as a photo, without as a document. */
export interface OutgoingFile {
  /** The file's bytes. */
  bytes: Uint8Array;
  /** Its file name in the chat. */
  name: string;
  /** Its media type. */
  mimeType: string;
  /** The preview part (makes it a photo). */
  preview?: { bytes: Uint8Array; name: string; mimeType: string };
  /** Text shown with the file. */
  caption?: { text: string; parseMode: ParseMode };
  /** Posts it as a reply to this message. */
  replyMessageId?: string;
}

/** An incoming chat message (`sendMessage` event). */
export interface IncomingMessage {
  /** The message's id. */
  messageId: string;
  /** The chat it is in. */
  chatId: string;
  /** ms since the epoch. */
  timestamp: number;
  /** Envelope type: 200 plain text, 202 attachment, … */
  type: number;
  /** Author id as sent (compare with `sameTrueConfId`). */
  authorId: string;
  /** 0 system, 1 user. */
  authorType: number;
  /** Text of a type-200 envelope; `""` for other types. */
  text: string;
  /** How `text` is marked up (`text`, `markdown`, `html`). */
  parseMode: string;
  /** Ids from `trueconf:` mention links, normalized with `normalizeTrueConfId`, unique, in order. */
  mentions: string[];
  /** True for an edit of an earlier message. */
  isEdited: boolean;
  /** The message this one replies to. */
  replyMessageId: string | null;
  /** The envelope as received. */
  raw: unknown;
}

/** One message of a chat's history ({@link ChatHistory}): an envelope, like a pushed message. */
export interface HistoryMessage extends IncomingMessage {
  /**
   * A file message's (type 202) `content.name` and `content.size` (bytes, -1 when absent);
   * null for other types.
   */
  file: { name: string; size: number } | null;
  /** The envelope's `box.id`: TrueConf's order of the chat's messages (0 when absent). */
  box: number;
}

/** A page of a chat's history (`getChatHistory`), oldest first. */
export interface ChatHistory {
  /** The chat. */
  chatId: string;
  /** Its messages, oldest first (sorted here: the server's order is not documented). */
  messages: HistoryMessage[];
}
