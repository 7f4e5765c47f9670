/**
 * The attachment limit (`WEBHOOK_MAX_ATTACHMENTS`) for dialect senders. A native sender lists
 * its attachments on purpose and is refused (`400 too_many_attachments`) when there are too
 * many; a dialect's pictures are decoration of a notification (a graph per Slack attachment,
 * an image per card), and its sender never retries a 4xx, so a refusal would lose the
 * notification for its pictures. Such a message keeps the first `max` attachments and names the
 * rest in its text (links for URLs), so nothing is dropped silently.
 *
 * @module
 */
import type { Attachment, Message } from "../../message.ts";
import { escapeHtml } from "./_markup.ts";
import { escapeMarkdown, markdownLink } from "./_mrkdwn.ts";
import type { ParsedPayload } from "./types.ts";

/**
 * `payload` with at most `max` attachments; the ones over the limit are named in a last
 * paragraph of the text, in the message's parse mode.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fitAttachments } from "./attachment_limit.ts";
 *
 * const photo = (n: number) => ({ kind: "photo" as const, source: { type: "url" as const, url: `https://g.example/${n}.png` } });
 * const fitted = fitAttachments({
 *   format: "slack",
 *   reply: "slack_ok",
 *   message: { text: "graphs", parseMode: "markdown", attachments: [photo(1), photo(2), photo(3)] },
 * }, 2);
 * assert.equal(fitted.message.attachments.length, 2);
 * assert.equal(
 *   fitted.message.text,
 *   "graphs\n\n1 more attachment (at most 2 are posted): [image 3](https://g.example/3.png)",
 * );
 * ```
 */
export function fitAttachments(payload: ParsedPayload, max: number): ParsedPayload {
  const { message } = payload;
  if (message.attachments.length <= max) return payload;
  const rest = message.attachments.slice(max);
  const note = overflowNote(rest, max, message.parseMode, max + 1);
  const text = message.text.trim() === "" ? note : `${message.text}\n\n${note}`;
  return {
    ...payload,
    message: { ...message, text, attachments: message.attachments.slice(0, max) },
  };
}

/** `N more attachments (at most max are posted): link, link, name`. */
function overflowNote(
  rest: readonly Attachment[],
  max: number,
  mode: Message["parseMode"],
  firstNumber: number,
): string {
  const head = `${rest.length} more attachment${rest.length === 1 ? "" : "s"} (at most ${max} ${
    max === 1 ? "is" : "are"
  } posted):`;
  const items = rest.map((a, i) => {
    const label = a.filename ?? `${a.kind === "photo" ? "image" : "file"} ${firstNumber + i}`;
    if (a.source.type !== "url") return plainIn(mode, label);
    const url = a.source.url;
    if (mode === "markdown") return markdownLink(escapeMarkdown(label), url);
    if (mode === "html") return `<a href="${escapeHtml(url)}">${escapeHtml(label)}</a>`;
    return `${label} ${url}`;
  });
  return `${plainIn(mode, head)} ${items.join(", ")}`;
}

function plainIn(mode: Message["parseMode"], s: string): string {
  return mode === "markdown" ? escapeMarkdown(s) : mode === "html" ? escapeHtml(s) : s;
}
