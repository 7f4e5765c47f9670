/**
 * What a client may send, as the official Python SDK 1.5 sends it: the fake server's check
 * of every request's payload against the shape `trueconf/methods/*.py` builds (commit
 * 01c95e7), and of texts against the 4096-character limit the SDK enforces before sending
 * (`visible_len` in `trueconf/utils/split_text.py`; `TextMessageTooLongError`,
 * `FileCaptionTooLongError`). A client that sends what the SDK never sends (a field it does
 * not know, a key it always sets left out, a text the SDK would refuse) is relying on a
 * leniency nobody has seen a real server grant; the fake records each as a protocol error.
 *
 * Fields the SDK sends but the real server may not need (the SDK's `replyMessageId: null`,
 * the 5.5.3 `fileName`) are optional here: sending them or not are both what an SDK did.
 *
 * @module
 */
import { TEXT_LIMIT, visibleLength } from "../../src/trueconf/mod.ts";

/** A field's type; an object shape for nested objects. */
type Field =
  | "string"
  | "string|null"
  | "int"
  | "boolean"
  | "parseMode"
  | "buttons"
  | Shape;

/** Keys an object must carry (`req`) and may carry (`opt`); any other key is a problem. */
interface Shape {
  readonly req?: Readonly<Record<string, Field>>;
  readonly opt?: Readonly<Record<string, Field>>;
}

const TEXT_CONTENT: Shape = {
  // SDK 1.5 SendMessage/EditMessage: `{text, parseMode}` always, `buttons` when given.
  req: { text: "string", parseMode: "parseMode" },
  opt: { buttons: "buttons" },
};

/**
 * Request payloads by method, from the SDK's `payload()` of each method class. Methods not
 * listed here are not checked (the world answers unknown ones with 104).
 */
const METHODS: Readonly<Record<string, Shape>> = {
  // methods/auth.py: all four keys always; receiveSystemMessageEnvelopes since 1.2.0b3
  // (5.5.0–5.5.2 servers predate it, so it stays optional).
  auth: {
    req: { token: "string", tokenType: "string" },
    opt: { receiveUnread: "boolean", receiveSystemMessageEnvelopes: "boolean" },
  },
  // methods/send_message.py: replyMessageId always present, null when unused.
  sendMessage: {
    req: { chatId: "string", content: TEXT_CONTENT },
    opt: { replyMessageId: "string|null" },
  },
  // methods/edit_message.py: a full overwrite of the content.
  editMessage: { req: { messageId: "string", content: TEXT_CONTENT } },
  // methods/remove_message.py: forAll always sent (the SDK's default is false).
  removeMessage: { req: { messageId: "string", forAll: "boolean" } },
  getMessageById: { req: { messageId: "string" } },
  // methods/upload_file.py: fileName since 1.2.0 (5.5.3); 1.1.x sent fileSize only.
  uploadFile: { req: { fileSize: "int" }, opt: { fileName: "string" } },
  // methods/send_file.py: replyMessageId only when set, caption only with a text, and then
  // with its parseMode (the SDK's default is "text").
  sendFile: {
    req: {
      chatId: "string",
      content: {
        req: { temporalFileId: "string" },
        opt: { caption: { req: { text: "string", parseMode: "parseMode" } } },
      },
    },
    opt: { replyMessageId: "string" },
  },
  createP2PChat: { req: { userId: "string" } },
  createFavoritesChat: {},
  getChatByID: { req: { chatId: "string" } },
  getChatParticipants: { req: { chatId: "string", pageSize: "int", pageNumber: "int" } },
  getChatParticipant: { req: { chatId: "string", userId: "string" } },
  hasChatParticipant: { req: { chatId: "string", userId: "string" } },
  getChats: { req: { count: "int", page: "int" } },
  getUserDisplayName: { req: { userId: "string" } },
  getFileUploadLimits: {},
};

const PARSE_MODES = new Set(["text", "markdown", "html"]);

/**
 * Everything in a request that the SDK would never send, as sentences; empty when the
 * request is what an SDK sends. Unknown methods give nothing.
 */
export function wireProblems(method: string, payload: unknown): string[] {
  const shape = METHODS[method];
  if (!shape) return [];
  const out: string[] = [];
  checkObject(shape, payload, "payload", out);
  // Bot.create_personal_chat, get_user_display_name, get_chat_participant… append
  // "@<server display_name>" to a bare login before sending: the wire carries full ids.
  const userId = (payload as { userId?: unknown } | null)?.userId;
  if (typeof userId === "string" && method !== "auth" && !userId.includes("@")) {
    out.push(`payload.userId "${userId}" has no @server (the SDK adds the server's domain)`);
  }
  if (method === "sendMessage" || method === "editMessage") {
    checkText(payloadText(payload, ["content", "text"]), "content.text", out);
  } else if (method === "sendFile") {
    checkText(payloadText(payload, ["content", "caption", "text"]), "content.caption.text", out);
  }
  return out.map((p) => `${method}: ${p}`);
}

function checkObject(shape: Shape, value: unknown, where: string, out: string[]): void {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    out.push(`${where} must be an object`);
    return;
  }
  const o = value as Record<string, unknown>;
  for (const [key, field] of Object.entries(shape.req ?? {})) {
    if (!(key in o)) out.push(`${where}.${key} missing (the SDK always sends it)`);
    else checkField(field, o[key], `${where}.${key}`, out);
  }
  for (const key of Object.keys(o)) {
    if (shape.req && key in shape.req) continue;
    const field = shape.opt?.[key];
    if (field === undefined) out.push(`${where}.${key} is not a field the SDK sends`);
    else checkField(field, o[key], `${where}.${key}`, out);
  }
}

function checkField(field: Field, v: unknown, where: string, out: string[]): void {
  if (typeof field === "object") return checkObject(field, v, where, out);
  const ok = field === "string"
    ? typeof v === "string"
    : field === "string|null"
    ? v === null || typeof v === "string"
    : field === "int"
    ? typeof v === "number" && Number.isInteger(v)
    : field === "boolean"
    ? typeof v === "boolean"
    : field === "parseMode"
    ? typeof v === "string" && PARSE_MODES.has(v)
    : Array.isArray(v); // buttons: their contents are the world's check (5.5.6+ only)
  if (!ok) out.push(`${where} is ${JSON.stringify(v)?.slice(0, 40)}, not a ${field}`);
}

function payloadText(payload: unknown, path: string[]): string | null {
  let v: unknown = payload;
  for (const k of path) {
    if (v === null || typeof v !== "object") return null;
    v = (v as Record<string, unknown>)[k];
  }
  return typeof v === "string" ? v : null;
}

function checkText(text: string | null, where: string, out: string[]): void {
  // UTF-16 length ≥ code points ≥ visible characters: most texts need no count at all.
  if (text === null || text.length <= TEXT_LIMIT) return;
  const n = visibleLength(text);
  if (n > TEXT_LIMIT) {
    out.push(`${where} has ${n} visible characters; the SDK refuses more than ${TEXT_LIMIT}`);
  }
}
