/**
 * Data shapes shared by the fake TrueConf server's parts. Public ones are re-exported from
 * `fake_trueconf.ts`; import them from there.
 *
 * @module
 */

/** A TrueConf text format. */
export type FakeParseMode = "text" | "markdown" | "html";

/** A local account of the fake server. `login` is the local part; its TrueConf id is `${login}@${domain}`. */
export interface FakeUser {
  login: string;
  password: string;
  displayName?: string;
  /** A disabled account gets OAuth 401 and WebSocket `auth` 202 (USER_DISABLED). */
  disabled?: boolean;
}

/** One member of a chat. `role` is stored as given and converted to the server's role encoding on output. */
export interface FakeChatParticipant {
  userId: string;
  role: string | number;
}

/** A chat the test registers (group, channel, favorites…); P2P chats are made by `p2pChatId`/`createP2PChat`. */
export interface FakeChat {
  chatId: string;
  title: string;
  /** 1 P2P, 2 GROUP, 3 SYSTEM, 5 FAVORITES, 6 CHANNEL. */
  chatType: number;
  participants: FakeChatParticipant[];
  /** The bot is a member but may not post: `sendMessage`/`sendFile` answer 303. */
  readOnlyForBot?: boolean;
  /** Default true. When false, posting answers 305 (USER_IS_NOT_CHAT_PARTICIPANT). */
  botIsMember?: boolean;
}

/** Admin file limits, as `getFileUploadLimits` returns them (`null` = unlimited). */
export interface FakeFileLimits {
  maxSize: number | null;
  extensions?: { mode: "allow" | "block"; list: string[] } | null;
}

/** `content` of a plain message envelope (type 200). */
export interface FakeTextContent {
  text: string;
  parseMode: FakeParseMode;
  /** URL buttons (5.5.6+), on the wire as `{type: "url", label, url}`. */
  buttons?: { type: string; label: string; url: string }[][];
}

/** One URL button under a bot message, as the chat shows it. */
export interface ButtonRecord {
  label: string;
  url: string;
}

/** A message envelope as the server pushes it (protocol doc §5.2). */
export interface Envelope<C = FakeTextContent> {
  messageId: string;
  chatId: string;
  /** Unix milliseconds. */
  timestamp: number;
  /** EnvelopeType: 200 plain, 202 attachment, … */
  type: number;
  author: { id: string; type: number };
  box: { id: number; position: string };
  isEdited: boolean;
  replyMessageId: string | null;
  content: C;
}

/** One message the bot posted, as the chat would show it. */
export interface SentRecord {
  /** `photo` iff the upload carried a `preview` part; otherwise files are `document`s. */
  kind: "text" | "photo" | "document";
  chatId: string;
  messageId: string;
  timestamp: number;
  /** Socket that posted it. */
  connectionId: string;
  /** Text messages only. */
  text?: string;
  /** Text messages only, as sent (missing → "text"). */
  parseMode?: string;
  /** Present only when the client set a non-null `replyMessageId`. */
  replyMessageId?: string;
  /** Files only, as sent in `content.caption` (servers before 5.5.6: the file shows it). */
  caption?: { text: string; parseMode?: string };
  /** Files on 5.5.6+ servers sent with a caption: the id of the caption's own text message. */
  captionMessageId?: string;
  /** The caption message of this file (5.5.6+): a text message posted by `sendFile`. */
  captionOf?: string;
  /** Files only: the uploaded `file` part. */
  file?: { name: string; size: number; mimeType: string; bytes: Uint8Array };
  /** Photos only: the uploaded `preview` part. */
  preview?: { name: string; mimeType: string; size: number };
  /** Files only: the id `sendFile` answered with. */
  fileId?: string;
  /** Text messages on 5.5.6+ servers: URL buttons as shown (the latest edit's). */
  buttons?: ButtonRecord[][];
  /** Edited at least once; `text`/`parseMode`/`buttons` are the latest version. */
  edited?: boolean;
  /** Earlier versions, oldest first (present once edited). */
  history?: { text: string; parseMode: string }[];
  /** Removed for everyone (by the bot, a user, or a cleared history). */
  removed?: boolean;
  /** Removed by the bot with `forAll: false`: gone for the bot only, the chat still shows it. */
  removedForBot?: boolean;
}

/** One HTTP upload the fake accepted (protocol doc §4.5 step 2). */
export interface UploadRecord {
  uploadTaskId: string;
  temporalFileId: string;
  /** What `uploadFile` declared; the real server's check of these against the bytes is unknown. */
  declared: { fileSize: number; fileName: string | null };
  file: { name: string; size: number; mimeType: string };
  preview: { name: string; size: number; mimeType: string } | null;
}

/** A client request as received. */
export interface RequestRecord {
  id: number;
  method: string;
  payload: unknown;
  connectionId: string;
}
