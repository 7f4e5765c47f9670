/**
 * The fake TrueConf server's chat world: accounts, chats, P2P chats, upload tasks and
 * temporal files, and the handlers of the client → server methods (protocol doc §4). It
 * knows nothing of sockets; `fake_trueconf.ts` owns transport, auth and fault injection.
 *
 * Where the protocol doc says the real error code is unknown, the choice made here is noted
 * at the spot.
 *
 * @module
 */

import type {
  ButtonRecord,
  Envelope,
  FakeChat,
  FakeChatParticipant,
  FakeFileLimits,
  FakeParseMode,
  FakeTextContent,
  FakeUser,
  SentRecord,
  UploadRecord,
} from "./_fake_types.ts";

/** The outcome of one method: a success payload (object or bare array) or an error. */
export type MethodResult =
  | {
    ok: true;
    payload: unknown;
    sent?: SentRecord;
    envelope?: Envelope<unknown>;
    /** An accepted `editMessage`. */
    edit?: EditRecord;
    /** An accepted `removeMessage` for everyone. */
    removal?: { chatId: string; messageId: string };
    /** The event the server pushes about it (only when echoing the bot's own actions). */
    event?: { method: string; payload: unknown };
    /** A second message the same request posted (a file's caption on 5.5.6+). */
    alsoSent?: { sent: SentRecord; envelope: Envelope<unknown> };
  }
  | {
    ok: false;
    errorCode: number;
    errorDescription: string;
    /** Set when the request itself was malformed: the server records it as a protocol error. */
    invalid?: boolean;
  };

/** Settings the world needs from the server options. */
export interface WorldOptions {
  domain: string;
  bot: FakeUser;
  users: FakeUser[];
  numericRoles: boolean;
  participantsAsBareArray: boolean;
  uploadMode: "5.5.3" | "5.5.2";
  fileLimits: FakeFileLimits;
  /** What `uploadFile` answers for a file over `fileLimits` (FakeTrueConfOptions.fileRefusalCode). */
  fileRefusalCode: number;
  /** An edited envelope's `timestamp`: its post time or its last edit's (FakeTrueConfOptions). */
  editedTimestamp: "post" | "edit";
  /** Send answers without `timestamp`. */
  omitSendTimestamp: boolean;
  /** How an envelope names its chat on the wire (FakeTrueConfOptions.envelopeChat). */
  envelopeChat: "chatId" | "chat" | "both";
  now: () => number;
  /** The server shows URL buttons (version 5.5.6 or newer). */
  buttons: boolean;
  /**
   * A file's caption is a text message of its own, whose id `sendFile` answers as
   * `captionMessageId` (version 5.5.6 or newer; SDK 1.5 `SendFileResponse`).
   */
  captionMessages: boolean;
  /** Records that the client broke the protocol without failing the request. */
  protocolError: (what: string) => void;
}

/** A message the world knows: its envelope (current content) and the bot's record of it. */
interface StoredMessage {
  env: Envelope<unknown>;
  sent: SentRecord | null;
  /** Removed for everyone (by the bot, a user, or a cleared history). */
  removed: boolean;
}

/** One `editMessage` the world accepted. */
export interface EditRecord {
  chatId: string;
  messageId: string;
  text: string;
  parseMode: string;
  buttons?: ButtonRecord[][];
  timestamp: number;
}

/** An uploaded file waiting to be sent (or already sent; temporal files may be reused). */
export interface TemporalFile {
  name: string;
  size: number;
  mimeType: string;
  bytes: Uint8Array;
  preview: { name: string; size: number; mimeType: string; bytes: Uint8Array } | null;
}

/** SDK role names; the docs define the same names as a numeric enum in this order. */
export const ROLE_NAMES = [
  "owner",
  "admin",
  "user",
  "conf_owner",
  "conf_moderator",
  "favorites_owner",
  "writer",
] as const;

/** Error codes of the protocol (§8) that the fake emits. */
export const ErrorCode = {
  ROUTE_NOT_FOUND: 104,
  NOT_AUTHORIZED: 200,
  INVALID_CREDENTIALS: 201,
  USER_DISABLED: 202,
  CREDENTIALS_EXPIRED: 203,
  UNSUPPORTED_CREDENTIALS: 204,
  INTERNAL_ERROR: 300,
  ACCESS_DENIED: 302,
  NOT_ENOUGH_RIGHTS: 303,
  CHAT_NOT_FOUND: 304,
  USER_IS_NOT_CHAT_PARTICIPANT: 305,
  MESSAGE_NOT_FOUND: 306,
  UNKNOWN_MESSAGE: 307,
  FILE_NOT_FOUND: 308,
  FILE_UPLOAD_FAILED: 310,
} as const;

const PARSE_MODES = new Set(["text", "markdown", "html"]);
const NO_BYTES = new Uint8Array(0);
// Bounded so a benchmark that uploads for minutes does not grow without limit.
const MAX_TASKS = 10_000;
const MAX_TEMPORAL_FILES = 10_000;
const MAX_MESSAGES = 20_000;
const BUTTON_SCHEMES = new Set(["http:", "https:", "mailto:", "trueconf:"]);

type Payload = Record<string, unknown>;

function err(errorCode: number, errorDescription: string, invalid = false): MethodResult {
  return invalid
    ? { ok: false, errorCode, errorDescription, invalid }
    : { ok: false, errorCode, errorDescription };
}

function invalid(method: string, why: string): MethodResult {
  // The real code for a malformed payload is unknown; 300 INTERNAL_ERROR is the generic one.
  return err(ErrorCode.INTERNAL_ERROR, `${method}: ${why}`, true);
}

function asObject(value: unknown): Payload | null {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? value as Payload
    : null;
}

function isPositiveInt(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 1;
}

function hexId(): string {
  return crypto.randomUUID().replaceAll("-", "");
}

/**
 * A Map that forgets its oldest entries past `max` (the fake's memory stays flat through a
 * benchmark's hundreds of thousands of posts). Insertion order is kept in a queue of keys rather
 * than read back with `keys().next()`: V8 leaves a deleted Map entry as a hole until the next
 * rehash and that call walks every hole before the first live entry, so eviction cost grew with
 * the holes; it was a third of the bench fake's CPU at c64, CPU the bot's cores then lacked.
 */
export class BoundedMap<K, V> extends Map<K, V> {
  readonly #max: number;
  #order: K[] = [];
  #head = 0;

  constructor(max: number) {
    super();
    this.#max = max;
  }

  override set(key: K, value: V): this {
    if (!this.has(key)) this.#order.push(key);
    super.set(key, value);
    while (this.size > this.#max) this.delete(this.#order[this.#head++] as K);
    // Keys deleted by hand (a finished upload task) stay in the queue: compact it now and then,
    // keeping only live keys, so it never grows past twice the limit.
    if (this.#order.length - this.#head > 2 * this.#max || this.#head > this.#max) {
      this.#order = this.#order.slice(this.#head).filter((k) => this.has(k));
      this.#head = 0;
    }
    return this;
  }
}

/** The state behind the methods; one per fake server. */
export class FakeWorld {
  readonly domain: string;
  readonly botId: string;
  fileLimits: FakeFileLimits;
  /** Files accepted over HTTP, in order (only kept when the server records). */
  readonly uploads: UploadRecord[] = [];
  record = true;

  #opts: WorldOptions;
  #users = new Map<string, FakeUser>(); // key: lower-cased `login@domain`
  #chats = new Map<string, FakeChat>();
  #lastMessage = new Map<string, Envelope<unknown>>();
  #p2p = new Map<string, string>(); // canonical user id → chatId
  #favorites: string | null = null;
  #tasks = new BoundedMap<string, { fileSize: number; fileName: string | null }>(MAX_TASKS);
  #temporal = new BoundedMap<string, TemporalFile>(MAX_TEMPORAL_FILES);
  #messages = new BoundedMap<string, StoredMessage>(MAX_MESSAGES);
  #boxId = 0;

  constructor(opts: WorldOptions) {
    this.#opts = opts;
    this.domain = opts.domain;
    this.botId = this.userId(opts.bot.login);
    this.fileLimits = opts.fileLimits;
    for (const u of [opts.bot, ...opts.users]) {
      this.#users.set(this.userId(u.login).toLowerCase(), u);
    }
  }

  /** `${login}@${domain}`. */
  userId(login: string): string {
    return `${login}@${this.domain}`;
  }

  /** An account by bare login (OAuth `username`). */
  userByLogin(login: string): FakeUser | undefined {
    return this.#users.get(this.userId(login).toLowerCase());
  }

  /**
   * The canonical `login@domain` of a known account, accepting a bare login, any letter case
   * and a `/instance` suffix; null for unknown (including other domains: no federation here).
   */
  resolveUser(id: string): string | null {
    let bare = id.split("/", 1)[0] ?? "";
    if (!bare.includes("@")) bare = this.userId(bare);
    const user = this.#users.get(bare.toLowerCase());
    return user ? this.userId(user.login) : null;
  }

  /** Display name of a canonical id (falls back to the login). */
  displayName(userId: string): string {
    const user = this.#users.get(userId.toLowerCase());
    return user?.displayName ?? user?.login ?? userId;
  }

  /** Adds or replaces an account. */
  addUser(user: FakeUser): void {
    this.#users.set(this.userId(user.login).toLowerCase(), user);
  }

  /** Registers a chat; the object is kept by reference, so later edits take effect. */
  addChat(chat: FakeChat): FakeChat {
    this.#chats.set(chat.chatId, chat);
    return chat;
  }

  /** A chat by id, P2P ones included. */
  chat(chatId: string): FakeChat | undefined {
    return this.#chats.get(chatId);
  }

  /** The DM between the bot and `userId`, created on first use; throws for unknown users. */
  p2pChatId(userId: string): string {
    const canonical = this.resolveUser(userId);
    if (!canonical) {
      throw new Error(`FakeTrueConf: unknown user ${userId}; add it to options.users`);
    }
    return this.#p2pFor(canonical);
  }

  #p2pFor(canonical: string): string {
    let chatId = this.#p2p.get(canonical);
    if (!chatId) {
      chatId = hexId();
      this.#p2p.set(canonical, chatId);
      this.#chats.set(chatId, {
        chatId,
        title: this.displayName(canonical),
        chatType: 1,
        // P2P roles are undocumented; "user" for both sides.
        participants: [{ userId: this.botId, role: "user" }, { userId: canonical, role: "user" }],
      });
    }
    return chatId;
  }

  /** Builds an envelope and makes it the chat's `lastMessage`. */
  envelope<C>(
    chatId: string,
    authorId: string,
    content: C,
    extra: {
      type?: number;
      replyMessageId?: string | null;
      isEdited?: boolean;
      authorType?: number;
    } = {},
  ): Envelope<C> {
    const boxId = ++this.#boxId;
    const env: Envelope<C> = {
      messageId: hexId(),
      chatId,
      timestamp: this.#opts.now(),
      type: extra.type ?? 200,
      author: { id: authorId, type: extra.authorType ?? 1 },
      box: { id: boxId, position: String(boxId) },
      isEdited: extra.isEdited ?? false,
      replyMessageId: extra.replyMessageId ?? null,
      content,
    };
    this.#lastMessage.set(chatId, env);
    this.#messages.set(env.messageId, { env, sent: null, removed: false });
    return env;
  }

  /**
   * An envelope as the server sends it (pushes, `getMessageById`): with its chat named as
   * {@link WorldOptions.envelopeChat} says. A message object like any envelope (`pushEvent`
   * of another shape) passes unchanged.
   */
  wireEnvelope(data: unknown): unknown {
    const mode = this.#opts.envelopeChat;
    const env = data as Envelope<unknown>;
    if (mode === "chatId" || typeof env?.chatId !== "string") return data;
    const c = this.#chats.get(env.chatId);
    const chat = { chatId: env.chatId, chatTitle: c?.title ?? null, chatType: c?.chatType ?? 0 };
    if (mode === "both") return { ...env, chat };
    const { chatId: _named, ...rest } = env;
    return { ...rest, chat };
  }

  /** Links a bot post's record to its stored message, so edits and removals show in it. */
  #attach(sent: SentRecord): void {
    const m = this.#messages.get(sent.messageId);
    if (m) m.sent = sent;
  }

  /**
   * Removes a message for everyone, as a user or an admin deleting it would; false when the
   * id is unknown or already removed.
   */
  removeForAll(messageId: string): boolean {
    const m = this.#messages.get(messageId);
    if (!m || m.removed) return false;
    m.removed = true;
    if (m.sent) m.sent.removed = true;
    return true;
  }

  /** Clears a chat's history for everyone (TrueConf `clearHistory`); returns how many went. */
  clearChat(chatId: string): number {
    let n = 0;
    for (const m of this.#messages.values()) {
      if (m.env.chatId === chatId && this.removeForAll(m.env.messageId)) n++;
    }
    this.#lastMessage.delete(chatId);
    return n;
  }

  /** 307 for an id the server never issued (or forgot), 306 for a removed message. */
  #lookup(messageId: unknown, method: string): StoredMessage | MethodResult {
    if (typeof messageId !== "string" || messageId === "") {
      return invalid(method, "messageId must be a non-empty string");
    }
    const m = this.#messages.get(messageId);
    // The protocol names both codes without saying which applies when; the fake's choice:
    // never-known ids are UNKNOWN_MESSAGE, removed ones MESSAGE_NOT_FOUND.
    if (!m) return err(ErrorCode.UNKNOWN_MESSAGE, `Unknown message ${messageId}`);
    if (m.removed) return err(ErrorCode.MESSAGE_NOT_FOUND, `Message ${messageId} not found`);
    return m;
  }

  /**
   * `content.buttons` of a text message, checked as SDK 1.5 checks them; `null` when absent.
   * A server older than 5.5.6 ignores them (the client should not have sent them, which is
   * recorded as a protocol error).
   */
  #buttons(content: Payload, method: string): ButtonRecord[][] | null | MethodResult {
    const raw = content.buttons;
    if (raw === undefined || raw === null) return null;
    if (!this.#opts.buttons) {
      this.#opts.protocolError(`${method}: buttons sent to a server older than 5.5.6`);
      return null;
    }
    if (!Array.isArray(raw) || raw.length > 8) return invalid(method, "buttons: at most 8 rows");
    const rows: ButtonRecord[][] = [];
    let total = 0;
    for (const row of raw) {
      if (!Array.isArray(row) || row.length > 8) {
        return invalid(method, "buttons: a row is an array of at most 8 buttons");
      }
      const out: ButtonRecord[] = [];
      for (const b of row) {
        const o = asObject(b);
        if (!o || o.type !== "url" || typeof o.label !== "string" || typeof o.url !== "string") {
          return invalid(method, 'buttons: each is {type:"url", label, url}');
        }
        const n = [...o.label].length;
        if (n < 1 || n > 32) return invalid(method, "buttons: label of 1–32 characters");
        let scheme = "";
        try {
          scheme = new URL(o.url).protocol;
        } catch { /* checked below */ }
        // deno-lint-ignore no-control-regex
        if (o.url.length < 8 || o.url.length > 8095 || !/^[\x00-\x7f]*$/.test(o.url)) {
          return invalid(method, "buttons: url of 8–8095 ASCII characters");
        }
        if (!BUTTON_SCHEMES.has(scheme)) return invalid(method, `buttons: scheme ${scheme}`);
        out.push({ label: o.label, url: o.url });
      }
      total += out.length;
      rows.push(out);
    }
    if (total > 64) return invalid(method, "buttons: at most 64");
    return rows;
  }

  /** Registers the upload task that `uploadFile` answers with. */
  #newTask(fileSize: number, fileName: string | null): string {
    const id = hexId();
    this.#tasks.set(id, { fileSize, fileName });
    return id;
  }

  /** Whether `uploadTaskId` is a live (issued, not yet used) upload task. */
  hasTask(uploadTaskId: string): boolean {
    return this.#tasks.has(uploadTaskId);
  }

  /** Consumes a live upload task; null when there is none with that id. */
  acceptUpload(
    uploadTaskId: string,
    file: Omit<TemporalFile, "preview">,
    preview: TemporalFile["preview"],
  ): string | null {
    const task = this.#tasks.get(uploadTaskId);
    if (!task) return null;
    this.#tasks.delete(uploadTaskId);
    const temporalFileId = hexId();
    // Counters only (benchmarks): no bytes are kept. Each file's bytes are a view of its whole
    // upload body, and the messages the world remembers (up to 20,000) held every photo a
    // benchmark posted: gigabytes of heap for this process's collector to walk.
    this.#temporal.set(
      temporalFileId,
      this.record ? { ...file, preview } : {
        ...file,
        bytes: NO_BYTES,
        preview: preview && { ...preview, bytes: NO_BYTES },
      },
    );
    if (this.record) {
      this.uploads.push({
        uploadTaskId,
        temporalFileId,
        declared: { fileSize: task.fileSize, fileName: task.fileName },
        file: { name: file.name, size: file.size, mimeType: file.mimeType },
        preview: preview
          ? { name: preview.name, size: preview.size, mimeType: preview.mimeType }
          : null,
      });
    }
    return temporalFileId;
  }

  /** Runs one client method (any but `auth`) received on connection `connectionId`. */
  handle(method: string, payload: unknown, connectionId: string): MethodResult {
    const p = asObject(payload);
    switch (method) {
      case "sendMessage":
        return this.#sendMessage(p, connectionId);
      case "sendFile":
        return this.#sendFile(p, connectionId);
      case "uploadFile":
        return this.#uploadFile(p);
      case "createP2PChat":
        return this.#createP2PChat(p);
      case "getChatByID":
        return this.#getChatByID(p);
      case "getChatParticipants":
        return this.#getChatParticipants(p);
      case "getChatParticipant":
      case "hasChatParticipant":
        return this.#getChatParticipant(method, p);
      case "getChats":
        return this.#getChats(p);
      case "createFavoritesChat":
        return this.#createFavoritesChat();
      case "getUserDisplayName":
        return this.#getUserDisplayName(p);
      case "getFileUploadLimits":
        return { ok: true, payload: this.#limitsPayload() };
      case "editMessage":
        return this.#editMessage(p);
      case "removeMessage":
        return this.#removeMessage(p);
      case "getMessageById":
        return this.#getMessageById(p);
      case "getChatHistory":
        return this.#getChatHistory(p);
      default:
        // No source shows the real answer to an unknown method; 104 is the nearest code.
        return err(ErrorCode.ROUTE_NOT_FOUND, `Unknown method ${method}`);
    }
  }

  #limitsPayload(): { maxSize: number | null; extensions: FakeFileLimits["extensions"] } {
    return { maxSize: this.fileLimits.maxSize, extensions: this.fileLimits.extensions ?? null };
  }

  /** 304 unknown chat, 305 bot not a member, 303 read-only; null when the bot may post. */
  #postCheck(chatId: string): MethodResult | null {
    const chat = this.#chats.get(chatId);
    if (!chat) return err(ErrorCode.CHAT_NOT_FOUND, `Chat ${chatId} not found`);
    if (chat.botIsMember === false) {
      return err(ErrorCode.USER_IS_NOT_CHAT_PARTICIPANT, "Bot is not a participant of the chat");
    }
    if (chat.readOnlyForBot) return err(ErrorCode.NOT_ENOUGH_RIGHTS, "Not enough rights");
    return null;
  }

  /** The reply target: unknown → 307, removed → 306 (the fake's choice, as for edits). */
  #replyId(p: Payload, method: string): string | null | MethodResult {
    const r = p.replyMessageId;
    if (r === undefined || r === null) return null;
    if (typeof r !== "string") return invalid(method, "replyMessageId must be a string or null");
    const target = this.#lookup(r, method);
    return "env" in target ? r : target;
  }

  #sendMessage(p: Payload | null, connectionId: string): MethodResult {
    if (!p || typeof p.chatId !== "string") {
      return invalid("sendMessage", "chatId must be a string");
    }
    const content = asObject(p.content);
    if (!content || typeof content.text !== "string") {
      return invalid("sendMessage", "content.text must be a string");
    }
    const parseMode = content.parseMode ?? "text";
    if (typeof parseMode !== "string" || !PARSE_MODES.has(parseMode)) {
      return invalid("sendMessage", `unknown parseMode ${JSON.stringify(parseMode)}`);
    }
    const buttons = this.#buttons(content, "sendMessage");
    if (buttons !== null && !Array.isArray(buttons)) return buttons;
    const denied = this.#postCheck(p.chatId);
    if (denied) return denied;
    const reply = this.#replyId(p, "sendMessage");
    if (reply !== null && typeof reply === "object") return reply;
    const env = this.envelope<FakeTextContent>(
      p.chatId,
      this.botId,
      {
        text: content.text,
        parseMode: parseMode as FakeParseMode,
        ...(buttons ? { buttons: buttons.map((r) => r.map((b) => ({ type: "url", ...b }))) } : {}),
      },
      { replyMessageId: reply },
    );
    const sent: SentRecord = {
      kind: "text",
      chatId: p.chatId,
      messageId: env.messageId,
      timestamp: env.timestamp,
      connectionId,
      text: content.text,
      parseMode,
    };
    if (reply !== null) sent.replyMessageId = reply;
    if (buttons) sent.buttons = buttons;
    this.#attach(sent);
    return {
      ok: true,
      payload: this.#sentAnswer({ chatId: p.chatId, messageId: env.messageId }, env.timestamp),
      sent,
      envelope: env,
    };
  }

  /** A `sendMessage`/`sendFile` answer: `{chatId, messageId, timestamp, …}`. */
  #sentAnswer(fields: Payload, timestamp: number): Payload {
    return this.#opts.omitSendTimestamp ? fields : { ...fields, timestamp };
  }

  #editMessage(p: Payload | null): MethodResult {
    const content = asObject(p?.content);
    if (!p || !content || typeof content.text !== "string") {
      return invalid("editMessage", "content.text must be a string");
    }
    const parseMode = content.parseMode ?? "text";
    if (typeof parseMode !== "string" || !PARSE_MODES.has(parseMode)) {
      return invalid("editMessage", `unknown parseMode ${JSON.stringify(parseMode)}`);
    }
    const found = this.#lookup(p.messageId, "editMessage");
    if (!("env" in found)) return found;
    const buttons = this.#buttons(content, "editMessage");
    if (buttons !== null && !Array.isArray(buttons)) return buttons;
    const { env } = found;
    // Bots edit only their own messages (TrueConf's roles page: "own messages" for every role).
    if (env.author.id !== this.botId) {
      return err(ErrorCode.ACCESS_DENIED, "Only the author may edit a message");
    }
    const denied = this.#postCheck(env.chatId);
    if (denied) return denied;
    if (env.type !== 200) {
      // What a server answers for an edit of a file message is unknown; 300 is the generic code.
      return err(ErrorCode.INTERNAL_ERROR, "Only text messages can be edited");
    }
    const timestamp = this.#opts.now();
    // A full overwrite (SDK 1.5): buttons left out are gone.
    env.content = {
      text: content.text,
      parseMode,
      ...(buttons ? { buttons: buttons.map((r) => r.map((b) => ({ type: "url", ...b }))) } : {}),
    };
    env.isEdited = true;
    if (this.#opts.editedTimestamp === "edit") env.timestamp = timestamp;
    const s = found.sent;
    if (s) {
      (s.history ??= []).push({ text: s.text ?? "", parseMode: s.parseMode ?? "text" });
      s.text = content.text;
      s.parseMode = parseMode;
      if (buttons) s.buttons = buttons;
      else delete s.buttons;
      s.edited = true;
    }
    const edit: EditRecord = {
      chatId: env.chatId,
      messageId: env.messageId,
      text: content.text,
      parseMode,
      timestamp,
      ...(buttons ? { buttons } : {}),
    };
    return {
      ok: true,
      payload: { messageId: env.messageId, timestamp },
      edit,
      event: {
        method: "editMessage",
        payload: { chatId: env.chatId, messageId: env.messageId, timestamp, content: env.content },
      },
    };
  }

  #removeMessage(p: Payload | null): MethodResult {
    if (!p || (p.forAll !== undefined && typeof p.forAll !== "boolean")) {
      return invalid("removeMessage", "forAll must be a boolean");
    }
    const found = this.#lookup(p.messageId, "removeMessage");
    if (!("env" in found)) return found;
    const { env } = found;
    const forAll = p.forAll === true;
    if (forAll && env.author.id !== this.botId) {
      // Others' messages go for everyone only by owner/admin (roles page).
      const me = this.#chats.get(env.chatId)?.participants.find((x) =>
        this.resolveUser(x.userId) === this.botId
      );
      const role = typeof me?.role === "number" ? ROLE_NAMES[me.role] : me?.role;
      if (role !== "owner" && role !== "admin") {
        return err(ErrorCode.ACCESS_DENIED, "Not allowed to remove this message for everyone");
      }
    }
    if (!forAll) {
      // Removed for the bot alone: the chat still shows it.
      if (found.sent) found.sent.removedForBot = true;
      return { ok: true, payload: {} };
    }
    this.removeForAll(env.messageId);
    return {
      ok: true,
      payload: {},
      removal: { chatId: env.chatId, messageId: env.messageId },
      event: {
        method: "removeMessage",
        payload: {
          chatId: env.chatId,
          messageId: env.messageId,
          removedBy: { id: this.botId, type: 1 },
        },
      },
    };
  }

  #getMessageById(p: Payload | null): MethodResult {
    const found = this.#lookup(p?.messageId, "getMessageById");
    if (!("env" in found)) return found;
    return { ok: true, payload: structuredClone(this.wireEnvelope(found.env)) };
  }

  /**
   * `getChatHistory` `{chatId, count, fromMessageId|null}` → `{chatId, count, messages}` (SDK 1.5
   * `methods/get_chat_history.py`, `types/responses/get_chat_history_response.py`; protocol doc
   * §4.6). What neither the SDK nor the docs say, the fake decides so that a client cannot lean
   * on it:
   * - **order**: newest first. Undocumented; TrueConf's own Hermes plugin sorts what it gets by
   *   `(box.id, box.position)` before use (its ADR 0007), so a client must sort too;
   * - **`fromMessageId`**: that message and older ones. Whether the anchor itself is included is
   *   undocumented (the Hermes plugin skips it by hand), so the fake includes it: a client paging
   *   back must drop what it already has; an id the server never issued answers 307;
   * - **`count`**: 1–100, more is cut to 100 (the SDK refuses < 1 before sending; the Hermes
   *   plugin never asks more than 100); `count` in the answer is how many messages it holds;
   * - removed messages are left out; an unknown chat answers 304, a chat without the bot 305.
   */
  #getChatHistory(p: Payload | null): MethodResult {
    if (!p || typeof p.chatId !== "string") {
      return invalid("getChatHistory", "chatId must be a string");
    }
    if (!isPositiveInt(p.count)) return invalid("getChatHistory", "count must be an integer ≥ 1");
    const chat = this.#chats.get(p.chatId);
    if (!chat) return err(ErrorCode.CHAT_NOT_FOUND, `Chat ${p.chatId} not found`);
    if (chat.botIsMember === false) {
      return err(ErrorCode.USER_IS_NOT_CHAT_PARTICIPANT, "Bot is not a participant of the chat");
    }
    let from = Infinity;
    if (p.fromMessageId !== undefined && p.fromMessageId !== null) {
      const anchor = this.#lookup(p.fromMessageId, "getChatHistory");
      if (!("env" in anchor)) return anchor;
      from = anchor.env.box.id;
    }
    const mine: Envelope<unknown>[] = [];
    for (const m of this.#messages.values()) {
      if (m.env.chatId === p.chatId && !m.removed && m.env.box.id <= from) mine.push(m.env);
    }
    const messages = mine.sort((a, b) => b.box.id - a.box.id).slice(0, Math.min(p.count, 100))
      .map((env) => structuredClone(this.wireEnvelope(env)));
    return { ok: true, payload: { chatId: p.chatId, count: messages.length, messages } };
  }

  #uploadFile(p: Payload | null): MethodResult {
    const size = p?.fileSize;
    if (!p || typeof size !== "number" || !Number.isInteger(size) || size < 0) {
      return err(ErrorCode.FILE_UPLOAD_FAILED, "uploadFile: fileSize must be an integer", true);
    }
    const name = typeof p.fileName === "string" && p.fileName !== "" ? p.fileName : null;
    if (this.#opts.uploadMode === "5.5.3" && name === null) {
      // 5.5.3 made fileName mandatory; the exact code for its absence is unknown.
      return err(ErrorCode.FILE_UPLOAD_FAILED, "uploadFile: fileName is required", true);
    }
    const { maxSize, extensions } = this.fileLimits;
    if (typeof maxSize === "number" && maxSize > 0 && size > maxSize) {
      return err(this.#opts.fileRefusalCode, `File size ${size} exceeds limit ${maxSize}`);
    }
    if (extensions && name !== null) {
      const dot = name.lastIndexOf(".");
      const ext = dot < 0 ? "" : name.slice(dot + 1).toLowerCase();
      const listed = extensions.list.some((e) => e.replace(/^\./, "").toLowerCase() === ext);
      if (extensions.mode === "allow" ? !listed : listed) {
        return err(this.#opts.fileRefusalCode, `File extension "${ext}" is not allowed`);
      }
    }
    return { ok: true, payload: { uploadTaskId: this.#newTask(size, name) } };
  }

  #sendFile(p: Payload | null, connectionId: string): MethodResult {
    if (!p || typeof p.chatId !== "string") return invalid("sendFile", "chatId must be a string");
    const content = asObject(p.content);
    if (!content) return invalid("sendFile", "content must be an object");
    const reply = this.#replyId(p, "sendFile");
    if (reply !== null && typeof reply === "object") return reply;
    let caption: { text: string; parseMode?: string } | undefined;
    if (content.caption !== undefined && content.caption !== null) {
      const c = asObject(content.caption);
      if (!c || typeof c.text !== "string") {
        return invalid("sendFile", "content.caption.text must be a string");
      }
      if (
        c.parseMode !== undefined &&
        (typeof c.parseMode !== "string" || !PARSE_MODES.has(c.parseMode))
      ) {
        return invalid("sendFile", `unknown caption parseMode ${JSON.stringify(c.parseMode)}`);
      }
      caption = c.parseMode === undefined
        ? { text: c.text }
        : { text: c.text, parseMode: c.parseMode };
    }
    const denied = this.#postCheck(p.chatId);
    if (denied) return denied;
    const tid = content.temporalFileId;
    const file = typeof tid === "string" ? this.#temporal.get(tid) : undefined;
    if (!file) {
      // Real code for an unknown or null temporalFileId is unknown (308 or 310 plausible).
      return err(ErrorCode.FILE_NOT_FOUND, `File ${String(tid)} not found`);
    }
    const isPhoto = file.preview !== null;
    const env = this.envelope(p.chatId, this.botId, {
      name: file.name,
      size: file.size,
      mimeType: file.mimeType,
      fileId: hexId(),
      readyState: 2,
    }, { type: 202, replyMessageId: reply });
    const sent: SentRecord = {
      kind: isPhoto ? "photo" : "document",
      chatId: p.chatId,
      messageId: env.messageId,
      timestamp: env.timestamp,
      connectionId,
      file: { name: file.name, size: file.size, mimeType: file.mimeType, bytes: file.bytes },
      fileId: env.content.fileId,
    };
    if (file.preview) {
      const { name, mimeType, size } = file.preview;
      sent.preview = { name, mimeType, size };
    }
    if (reply !== null) sent.replyMessageId = reply;
    this.#attach(sent);
    const answer: Payload = {
      chatId: p.chatId,
      messageId: env.messageId,
      fileId: env.content.fileId,
    };
    let alsoSent: { sent: SentRecord; envelope: Envelope<unknown> } | undefined;
    if (caption && this.#opts.captionMessages) {
      // 5.5.6+: the caption is a text message of its own after the file, with an id of its own
      // (SDK 1.5: "the ID of the caption message sent with a file; allows changing the file
      // caption via edit_message"). Removing the file leaves it in the chat.
      const parseMode = (caption.parseMode ?? "text") as FakeParseMode;
      const capEnv = this.envelope<FakeTextContent>(p.chatId, this.botId, {
        text: caption.text,
        parseMode,
      });
      const capSent: SentRecord = {
        kind: "text",
        chatId: p.chatId,
        messageId: capEnv.messageId,
        timestamp: capEnv.timestamp,
        connectionId,
        text: caption.text,
        parseMode,
        captionOf: env.messageId,
      };
      this.#attach(capSent);
      sent.captionMessageId = capEnv.messageId;
      answer.captionMessageId = capEnv.messageId;
      alsoSent = { sent: capSent, envelope: capEnv };
    } else if (caption) sent.caption = caption;
    return {
      ok: true,
      payload: this.#sentAnswer(answer, env.timestamp),
      sent,
      envelope: env,
      ...(alsoSent ? { alsoSent } : {}),
    };
  }

  #createP2PChat(p: Payload | null): MethodResult {
    if (!p || typeof p.userId !== "string") {
      return invalid("createP2PChat", "userId must be a string");
    }
    const canonical = this.resolveUser(p.userId);
    if (!canonical || canonical === this.botId) {
      // No "user not found" code exists in §8; 305 is the closest.
      return err(ErrorCode.USER_IS_NOT_CHAT_PARTICIPANT, `User ${p.userId} not found`);
    }
    return { ok: true, payload: { chatId: this.#p2pFor(canonical) } };
  }

  #chatInfo(chat: FakeChat): Payload {
    const last = this.#lastMessage.get(chat.chatId);
    return {
      chatId: chat.chatId,
      title: chat.title,
      chatType: chat.chatType,
      unreadMessages: 0,
      avatarUrl: null,
      lastMessage: last
        ? {
          messageId: last.messageId,
          timestamp: last.timestamp,
          author: last.author,
          type: last.type,
          content: last.content,
        }
        : null,
    };
  }

  #getChatByID(p: Payload | null): MethodResult {
    if (!p || typeof p.chatId !== "string") {
      return invalid("getChatByID", "chatId must be a string");
    }
    const chat = this.#chats.get(p.chatId);
    if (!chat) return err(ErrorCode.CHAT_NOT_FOUND, `Chat ${p.chatId} not found`);
    return { ok: true, payload: this.#chatInfo(chat) };
  }

  #role(role: string | number): string | number {
    if (this.#opts.numericRoles) {
      if (typeof role === "number") return role;
      const i = (ROLE_NAMES as readonly string[]).indexOf(role);
      return i < 0 ? role : i;
    }
    return typeof role === "number" ? ROLE_NAMES[role] ?? role : role;
  }

  #participant(p: FakeChatParticipant): { userId: string; role: string | number } {
    return { userId: p.userId, role: this.#role(p.role) };
  }

  #getChatParticipants(p: Payload | null): MethodResult {
    if (!p || typeof p.chatId !== "string") {
      return invalid("getChatParticipants", "chatId must be a string");
    }
    const pageSize = p.pageSize ?? 100;
    const pageNumber = p.pageNumber ?? 1;
    if (!isPositiveInt(pageSize) || !isPositiveInt(pageNumber)) {
      return invalid("getChatParticipants", "pageSize and pageNumber must be integers ≥ 1");
    }
    const chat = this.#chats.get(p.chatId);
    if (!chat) return err(ErrorCode.CHAT_NOT_FOUND, `Chat ${p.chatId} not found`);
    const start = (pageNumber - 1) * pageSize;
    const participants = chat.participants.slice(start, start + pageSize).map((x) =>
      this.#participant(x)
    );
    return {
      ok: true,
      payload: this.#opts.participantsAsBareArray ? participants : { participants },
    };
  }

  #getChatParticipant(method: string, p: Payload | null): MethodResult {
    if (!p || typeof p.chatId !== "string" || typeof p.userId !== "string") {
      return invalid(method, "chatId and userId must be strings");
    }
    const chat = this.#chats.get(p.chatId);
    if (!chat) return err(ErrorCode.CHAT_NOT_FOUND, `Chat ${p.chatId} not found`);
    const wanted = this.resolveUser(p.userId) ?? p.userId;
    const found = chat.participants.find((x) =>
      (this.resolveUser(x.userId) ?? x.userId) === wanted
    );
    if (method === "hasChatParticipant") {
      return { ok: true, payload: { result: found !== undefined } };
    }
    if (!found) {
      return err(ErrorCode.USER_IS_NOT_CHAT_PARTICIPANT, `${p.userId} is not a participant`);
    }
    return { ok: true, payload: { ...this.#participant(found), type: 1 } };
  }

  #getChats(p: Payload | null): MethodResult {
    const count = p?.count ?? 100;
    const page = p?.page ?? 1;
    if (!isPositiveInt(count) || !isPositiveInt(page)) {
      return invalid("getChats", "count and page must be integers ≥ 1");
    }
    const all = [...this.#chats.values()].slice((page - 1) * count, page * count);
    return { ok: true, payload: all.map((c) => this.#chatInfo(c)) }; // bare array, as the server does
  }

  #createFavoritesChat(): MethodResult {
    if (!this.#favorites) {
      this.#favorites = hexId();
      this.#chats.set(this.#favorites, {
        chatId: this.#favorites,
        title: "Favorites",
        chatType: 5,
        participants: [{ userId: this.botId, role: "favorites_owner" }],
      });
    }
    return { ok: true, payload: { chatId: this.#favorites } };
  }

  #getUserDisplayName(p: Payload | null): MethodResult {
    if (!p || typeof p.userId !== "string") {
      return invalid("getUserDisplayName", "userId must be a string");
    }
    const canonical = this.resolveUser(p.userId);
    if (!canonical) {
      return err(ErrorCode.USER_IS_NOT_CHAT_PARTICIPANT, `User ${p.userId} not found`);
    }
    return { ok: true, payload: { displayName: this.displayName(canonical) } };
  }
}
