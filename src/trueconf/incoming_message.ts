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

// The one home of TrueConf mention syntax (issue 11.5): command parsing, trigger words and
// `IncomingMessage.mentions` all read mentions through the helpers below.
// A mention link: an HTML anchor (what TrueConf clients send; target in group 1) or a
// Markdown link (valid when sending; group 2). The target is matched, never the display name.
const LINK = String
  .raw`<a\b[^>]*?\bhref\s*=\s*["']\s*trueconf:([^"']*)["'][^>]*>[\s\S]*?<\/a>|\[[^\]]*\]\(\s*trueconf:([^)\s]*)\s*\)`;
const LINKS = new RegExp(LINK, "gi");
// One leading mention: a link, or a plain "@login" token (group 3).
const LEADING = new RegExp(String.raw`^\s*(?:${LINK}|@([^\s<]+))\s*`, "i");
// Every mention: links and plain "@login" tokens not inside a word or an address.
const ANY = new RegExp(String.raw`${LINK}|(?<![\w.])@[^\s<]+`, "gi");

/**
 * A mention target (`trueconf:` href or `@token`) as a normalized id: URI-decoded, suffixes
 * (`&do=profile`, `/instance`, `?query`) dropped, lower-cased.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(mentionTarget("Bot%40srv&amp;do=profile"), "bot@srv");
 * ```
 */
export function mentionTarget(raw: string): string {
  return normalizeTrueConfId(safeDecode(raw));
}

/**
 * The mention a text starts with (after blanks): its normalized target and the length to
 * skip (the mention and the blanks after it), or null.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.deepEqual(leadingMention("@bot /webhook_list"), { target: "bot", length: 5 });
 * ```
 */
export function leadingMention(text: string): { target: string; length: number } | null {
  const m = LEADING.exec(text);
  if (!m) return null;
  return { target: mentionTarget(m[1] ?? m[2] ?? m[3] ?? ""), length: m[0].length };
}

/** The text with every mention (links and `@tokens`) replaced by `by`. */
export function replaceMentions(text: string, by: string): string {
  return text.replace(ANY, by);
}

/**
 * The TrueConf ids mentioned in a message text (mention links), normalized and unique, in
 * order.
 *
 * @example
 * ```ts
 * extractMentions('<a href="trueconf:Bot@srv&do=profile">Bot</a> /webhook_list'); // ["bot@srv"]
 * ```
 */
export function extractMentions(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(LINKS)) {
    const n = mentionTarget(m[1] ?? m[2] ?? "");
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
 * The chat an envelope is in: its `chatId`, or, as Python SDK 1.5 reads it, `chat.chatId`
 * (`types/message.py` has `chat: {chatId, chatTitle, chatType}` and no `chatId` of its own,
 * commit 01c95e7); "" when neither is there.
 */
export function envelopeChatId(p: Record<string, unknown>): string {
  return str(p.chatId) || str(record(p.chat).chatId);
}

/**
 * An {@link IncomingMessage} from a `sendMessage` event payload, or `null` when the
 * payload has no message or chat id (nothing a handler could act on).
 */
export function parseIncomingMessage(payload: unknown): IncomingMessage | null {
  const p = record(payload);
  const messageId = str(p.messageId);
  const chatId = envelopeChatId(p);
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
