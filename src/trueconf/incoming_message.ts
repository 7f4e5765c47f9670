/**
 * Parsing of pushed `sendMessage` envelopes into {@link IncomingMessage}, mentions included.
 *
 * @module
 */
import { bool, num, record, str } from "./_json.ts";
import { normalizeTrueConfId } from "./ids.ts";
import type { IncomingMessage } from "./types.ts";

/** Envelope type of a plain text message. */
export const PLAIN_MESSAGE = 200;

// HTML anchors (what TrueConf clients send) and Markdown links (valid when sending).
// The id ends at the first quote, `&` (`&do=profile`, also `&amp;`), `/` (instance) or `?`.
const HTML_MENTION = /<a\s[^>]*?href\s*=\s*(["'])\s*trueconf:([^"'&/?\s>]+)/gi;
const MD_MENTION = /\]\(\s*trueconf:([^)&/?\s]+)/gi;

/**
 * The TrueConf ids mentioned in a message text, normalized and unique, in order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const text = '<a href="trueconf:Bot@srv&do=profile">Bot</a> /webhook_list';
 * assert.deepEqual(extractMentions(text), ["bot@srv"]);
 * ```
 */
export function extractMentions(text: string): string[] {
  const found: { at: number; id: string }[] = [];
  for (const m of text.matchAll(HTML_MENTION)) found.push({ at: m.index, id: m[2] ?? "" });
  for (const m of text.matchAll(MD_MENTION)) found.push({ at: m.index, id: m[1] ?? "" });
  found.sort((a, b) => a.at - b.at);
  const out: string[] = [];
  for (const { id } of found) {
    const n = normalizeTrueConfId(safeDecode(id));
    if (n && !out.includes(n)) out.push(n);
  }
  return out;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * An {@link IncomingMessage} from a `sendMessage` event payload, or `null` when the
 * payload has no message or chat id (nothing a handler could act on).
 */
export function parseIncomingMessage(payload: unknown): IncomingMessage | null {
  const p = record(payload);
  const messageId = str(p.messageId);
  const chatId = str(p.chatId);
  if (!messageId || !chatId) return null;
  const author = record(p.author);
  const content = record(p.content);
  const type = num(p.type, 0);
  const text = type === PLAIN_MESSAGE ? str(content.text) : "";
  const reply = str(p.replyMessageId);
  return {
    messageId,
    chatId,
    timestamp: num(p.timestamp, 0),
    type,
    authorId: str(author.id),
    authorType: num(author.type, 1),
    text,
    parseMode: str(content.parseMode, "text") || "text",
    mentions: text ? extractMentions(text) : [],
    isEdited: bool(p.isEdited),
    replyMessageId: reply || null,
    raw: payload,
  };
}
