/**
 * Chat events: every server push that says something happened in a chat (a message posted,
 * edited or removed, a participant added, removed or given a new role, a chat renamed or
 * removed), parsed into one typed {@link ChatEvent} union. Subscribe with
 * `TrueConfClient.onEvent`.
 *
 * Method names and payloads follow the official Python SDK (python-trueconf-bot,
 * `trueconf/enums/incoming_update_method.py` and `trueconf/types/requests/*.py`) and the
 * protocol reference §5.5:
 *
 * | push method | payload | event |
 * |---|---|---|
 * | `sendMessage` | envelope (§5.2), `isEdited` false / true | `message.created` / `message.edited` |
 * | `editMessage` | `{chatId, timestamp, content:{text,parseMode}}` (+ `messageId` where sent) | `message.edited` |
 * | `removeMessage` | `{chatId, messageId, removedBy:{id,type}}` | `message.removed` |
 * | `addChatParticipant` | `{timestamp, chatId, userId, addedBy:{id,type}}` | `participant.added` |
 * | `removeChatParticipant` | `{timestamp, chatId, userId, removedBy:{id,type}}` | `participant.removed` |
 * | `changeParticipantRole` | `{timestamp, chatId, userId, role}` | `participant.role_changed` |
 * | `editChatTitle` | `{chatId, title}` | `chat.title_changed` |
 * | `removeChat` | `{chatId}` | `chat.removed` |
 *
 * The SDK's `EditedMessage` (1.5) has no message id and no author: `{chatId, timestamp,
 * content}`. A server that sends either is honoured: `messageId`, and the author as `author.id`
 * (an envelope's field) or `editedBy.id` (as `removeMessage` names its `removedBy`), see
 * {@link editAuthorOf}. Otherwise `message.messageId` and `message.authorId` are `""`.
 *
 * @module
 */
import { num, record, str } from "./_json.ts";
import { normalizeRole } from "./_responses.ts";
import { envelopeChatId, parseIncomingMessage, PLAIN_MESSAGE } from "./incoming_message.ts";
import type { ChatRole, IncomingMessage } from "./types.ts";

/** Names of {@link ChatEvent} types, as outgoing webhooks send them in `type`. */
export type ChatEventType = ChatEvent["type"];

/** A message posted (`message.created`) or edited (`message.edited`). */
export interface MessageEvent {
  /** What happened. */
  readonly type: "message.created" | "message.edited";
  /** The chat it happened in. */
  readonly chatId: string;
  /** The message (for an `editMessage` push: the new text, id and author as far as known). */
  readonly message: IncomingMessage;
}

/** A message removed for everyone. */
export interface MessageRemovedEvent {
  /** What happened. */
  readonly type: "message.removed";
  /** The chat it happened in. */
  readonly chatId: string;
  /** The removed message. */
  readonly messageId: string;
  /** Who removed it, when the server says. */
  readonly by: string | null;
  /** ms since the epoch (the time of receipt when the server sends none). */
  readonly timestamp: number;
}

/** A participant added to or removed from a chat. */
export interface ParticipantEvent {
  /** What happened. */
  readonly type: "participant.added" | "participant.removed";
  /** The chat it happened in. */
  readonly chatId: string;
  /** The participant added or removed (the bot itself when the bot was removed). */
  readonly userId: string;
  /** Who did it, when the server says. */
  readonly by: string | null;
  /** ms since the epoch. */
  readonly timestamp: number;
}

/** A participant's role changed. */
export interface RoleChangedEvent {
  /** What happened. */
  readonly type: "participant.role_changed";
  /** The chat it happened in. */
  readonly chatId: string;
  /** Whose role changed. */
  readonly userId: string;
  /** The new role. */
  readonly role: ChatRole;
  /** ms since the epoch. */
  readonly timestamp: number;
}

/** A chat renamed. */
export interface TitleChangedEvent {
  /** What happened. */
  readonly type: "chat.title_changed";
  /** The chat renamed. */
  readonly chatId: string;
  /** The new title. */
  readonly title: string;
  /** ms since the epoch (time of receipt: the push carries none). */
  readonly timestamp: number;
}

/** A chat removed. */
export interface ChatRemovedEvent {
  /** What happened. */
  readonly type: "chat.removed";
  /** The removed chat. */
  readonly chatId: string;
  /** ms since the epoch (time of receipt: the push carries none). */
  readonly timestamp: number;
}

/** Something that happened in a chat. */
export type ChatEvent =
  | MessageEvent
  | MessageRemovedEvent
  | ParticipantEvent
  | RoleChangedEvent
  | TitleChangedEvent
  | ChatRemovedEvent;

/**
 * Reads a server push as a {@link ChatEvent}, or null for pushes that are not chat events
 * (upload progress, limits) or lack a chat id. `now` stamps events the server sends without
 * a time.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const e = parseChatEvent("removeChatParticipant", {
 *   timestamp: 1735314170572, chatId: "c1", userId: "bot@srv", removedBy: { id: "alice@srv", type: 1 },
 * });
 * assert.deepEqual(e, {
 *   type: "participant.removed", chatId: "c1", userId: "bot@srv", by: "alice@srv", timestamp: 1735314170572,
 * });
 * assert.equal(parseChatEvent("uploadFileProgress", { fileId: "f", progress: 10 }), null);
 * ```
 */
export function parseChatEvent(
  method: string,
  payload: unknown,
  now: () => number = Date.now,
): ChatEvent | null {
  const p = record(payload);
  // A message envelope may name its chat only in `chat` (SDK 1.5); other events use `chatId`.
  const chatId = method === "sendMessage" ? envelopeChatId(p) : str(p.chatId);
  if (!chatId) return null;
  const at = () => num(p.timestamp, 0) || now();
  switch (method) {
    case "sendMessage": {
      const message = parseIncomingMessage(payload);
      if (!message) return null;
      return { type: message.isEdited ? "message.edited" : "message.created", chatId, message };
    }
    case "editMessage": {
      const content = record(p.content);
      const message: IncomingMessage = {
        messageId: str(p.messageId),
        chatId,
        timestamp: at(),
        type: PLAIN_MESSAGE,
        authorId: editAuthorOf(p),
        authorType: 1,
        text: str(content.text),
        parseMode: str(content.parseMode, "text") || "text",
        mentions: [],
        isEdited: true,
        replyMessageId: null,
        raw: payload,
      };
      return { type: "message.edited", chatId, message };
    }
    case "removeMessage": {
      const messageId = str(p.messageId);
      if (!messageId) return null;
      return { type: "message.removed", chatId, messageId, by: byOf(p.removedBy), timestamp: at() };
    }
    case "addChatParticipant":
    case "removeChatParticipant": {
      const userId = str(p.userId);
      if (!userId) return null;
      const added = method === "addChatParticipant";
      return {
        type: added ? "participant.added" : "participant.removed",
        chatId,
        userId,
        by: byOf(added ? p.addedBy : p.removedBy),
        timestamp: at(),
      };
    }
    case "changeParticipantRole": {
      const userId = str(p.userId);
      if (!userId) return null;
      return {
        type: "participant.role_changed",
        chatId,
        userId,
        role: normalizeRole(p.role),
        timestamp: at(),
      };
    }
    case "editChatTitle":
      return { type: "chat.title_changed", chatId, title: str(p.title), timestamp: at() };
    case "removeChat":
      return { type: "chat.removed", chatId, timestamp: at() };
    default:
      return null;
  }
}

/** The id in an `addedBy`/`removedBy` author object, or null. */
/**
 * Who made an `editMessage` push's edit, `""` when the push does not say (the SDK 1.5 shape
 * never does): `author.id`, else `editedBy.id`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(editAuthorOf({ chatId: "c", author: { id: "alice@srv", type: 1 } }), "alice@srv");
 * assert.equal(editAuthorOf({ chatId: "c", editedBy: { id: "bob@srv", type: 1 } }), "bob@srv");
 * assert.equal(editAuthorOf({ chatId: "c", timestamp: 1, content: { text: "x" } }), "");
 * ```
 */
export function editAuthorOf(payload: Record<string, unknown>): string {
  return str(record(payload.author).id) || str(record(payload.editedBy).id);
}

function byOf(v: unknown): string | null {
  return str(record(v).id) || null;
}
