/**
 * The JSON body of an outgoing call (the contract of issue 12, docs/outgoing.md):
 *
 * ```json
 * {"type", "id", "timestamp", "hook": {"id", "name"},
 *  "chat": {"id", "title", "type": "p2p"|"group"|"channel"|"favorites"},
 *  "message": {"id", "text", "parseMode", "author": {"id", "name"},
 *              "replyTo": {"id", "text", "author"} | null, "files": [{"name", "size", "mimeType"}]},
 *  "trigger", "args"}
 * ```
 *
 * `trigger`/`args` only for trigger-word hooks; participant and title events carry
 * `participant`/`by`/`title` instead of `message`. Built once, at the call's first attempt
 * (src/outgoing/service.ts), so every retry sends the same bytes under the same `webhook-id`.
 *
 * @module
 */

import { plainText } from "./plain_text.ts";
import type { ChatEvent, IncomingMessage } from "../trueconf/mod.ts";

/** `chat.type` values. */
export type ChatKind = "p2p" | "group" | "channel" | "favorites";

/** A user as the body names them. */
export interface BodyUser {
  /** TrueConf id. */
  id: string;
  /** Display name (the id when unknown). */
  name: string;
}

/** `message` of a message event. */
export interface BodyMessage {
  /** TrueConf message id. */
  id: string;
  /** The plain text a reader sees (markup rendered away, mentions as `@Display Name`); "" for a file. */
  text: string;
  /** How the author formatted it: `text`, `markdown` or `html`. */
  parseMode: string;
  /** The text as sent, in `parseMode`'s markup (the same as `text` in text mode). */
  markup: string;
  /** Who wrote it. */
  author: BodyUser;
  /** The message this one replies to, or null. */
  replyTo: { id: string; text: string; author: BodyUser | null } | null;
  /** Attached files. */
  files: { name: string; size: number; mimeType: string }[];
}

/** The body of an outgoing call. */
export interface OutgoingBody {
  /** Event type (`message.created` …) or `ping`. */
  type: string;
  /** The event id; equals the `webhook-id` header. */
  id: string;
  /** When it happened, ISO 8601. */
  timestamp: string;
  /** The hook that sends it. */
  hook: { id: string; name: string };
  /** Where it happened. */
  chat: { id: string; title: string; type: ChatKind };
  /** Message events (and `ping`). */
  message?: BodyMessage | { id: string };
  /** Participant events. */
  participant?: { id: string; role: string | null };
  /** Who did it (participant events, removals), when the server says. */
  by?: { id: string } | null;
  /** `chat.title_changed`: the new title. */
  title?: string;
  /** Trigger-word hooks: the trigger word that matched. */
  trigger?: string;
  /** Trigger-word hooks: the text after the trigger word. */
  args?: string;
}

/** Maps TrueConf's numeric `chatType` (1 P2P, 2 group, 5 favorites, 6 channel) to `chat.type`. */
export function chatKind(chatType: number): ChatKind {
  switch (chatType) {
    case 1:
      return "p2p";
    case 5:
      return "favorites";
    case 6:
      return "channel";
    default:
      return "group";
  }
}

/** What the builder needs besides the event. */
export interface BodyContext {
  /** The event id (`webhook-id`). */
  id: string;
  /** The hook. */
  hook: { id: string; name: string };
  /** The chat. */
  chat: { id: string; title: string; type: ChatKind };
  /** Display name of a user id (cached lookups done before building). */
  nameOf: (userId: string) => string;
  /** The replied-to message, when the event's message replies to one and it is known. */
  replyTo?: IncomingMessage | null;
  /** For trigger-word hooks: the matched trigger and the text after it. */
  trigger?: { trigger: string; args: string } | null;
  /** Used when the event carries no time. */
  now?: () => number;
}

/** The attachment of a file envelope (type 202), as the body lists it. */
function filesOf(m: IncomingMessage): BodyMessage["files"] {
  if (m.type !== 202) return [];
  const c = (m.raw as { content?: Record<string, unknown> } | null)?.content ?? {};
  return [{
    name: typeof c.name === "string" ? c.name : "",
    size: typeof c.size === "number" ? c.size : 0,
    mimeType: typeof c.mimeType === "string" ? c.mimeType : "application/octet-stream",
  }];
}

function user(id: string, nameOf: (id: string) => string): BodyUser {
  return { id, name: nameOf(id) };
}

/** The body of `message` for one message. */
function bodyMessage(m: IncomingMessage, ctx: BodyContext): BodyMessage {
  const r = ctx.replyTo;
  return {
    id: m.messageId,
    text: plainText(m.text, m.parseMode),
    parseMode: m.parseMode,
    markup: m.text,
    author: user(m.authorId, ctx.nameOf),
    replyTo: m.replyMessageId
      ? {
        id: m.replyMessageId,
        text: r ? plainText(r.text, r.parseMode) : "",
        author: r ? user(r.authorId, ctx.nameOf) : null,
      }
      : null,
    files: filesOf(m),
  };
}

/**
 * Builds the body of a call for a chat event.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const body = buildEventBody({ type: "chat.title_changed", chatId: "c1", title: "Ops", timestamp: 1735689600000 }, {
 *   id: "evt_1", hook: { id: "h1", name: "audit" }, chat: { id: "c1", title: "Ops", type: "group" },
 *   nameOf: (id) => id,
 * });
 * assert.equal(body.title, "Ops");
 * assert.equal(body.timestamp, "2025-01-01T00:00:00.000Z");
 * assert.equal("message" in body, false);
 * ```
 */
export function buildEventBody(event: ChatEvent, ctx: BodyContext): OutgoingBody {
  const base = {
    type: event.type,
    id: ctx.id,
    timestamp: "",
    hook: { id: ctx.hook.id, name: ctx.hook.name },
    chat: { id: ctx.chat.id, title: ctx.chat.title, type: ctx.chat.type },
  };
  let at: number;
  let rest: Partial<OutgoingBody>;
  switch (event.type) {
    case "message.created":
    case "message.edited":
      at = event.message.timestamp;
      rest = { message: bodyMessage(event.message, ctx) };
      break;
    case "message.removed":
      at = event.timestamp;
      rest = { message: { id: event.messageId }, by: event.by ? { id: event.by } : null };
      break;
    case "participant.added":
    case "participant.removed":
      at = event.timestamp;
      rest = {
        participant: { id: event.userId, role: null },
        by: event.by ? { id: event.by } : null,
      };
      break;
    case "participant.role_changed":
      at = event.timestamp;
      rest = { participant: { id: event.userId, role: event.role }, by: null };
      break;
    case "chat.title_changed":
      at = event.timestamp;
      rest = { title: event.title, by: null };
      break;
    case "chat.removed":
      at = event.timestamp;
      rest = {};
      break;
  }
  const body: OutgoingBody = {
    ...base,
    timestamp: new Date(at || (ctx.now ?? Date.now)()).toISOString(),
    ...rest,
  };
  if (ctx.trigger) {
    body.trigger = ctx.trigger.trigger;
    body.args = ctx.trigger.args;
  }
  return body;
}
