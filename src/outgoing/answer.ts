/**
 * A service's answer read exactly like an incoming hook POST: the same body decoding
 * (JSON, form, multipart, text/plain, charsets) and the same format detection (native,
 * Slack, Mattermost, Alertmanager, …), so `{"text":"deployed"}`, `text=deployed` and a
 * Slack payload all become the same chat message.
 *
 * One difference: JSON that no format reads (`{"ok":true}`, `{"status":"queued","id":42}`) is
 * an acknowledgement, and nothing is posted. An incoming hook posts such a body as a code block,
 * because a sender writing to the chat must not go unheard; a service answering the bot's call
 * is answering the bot, the way Slack's and Mattermost's outgoing webhooks read an answer
 * without a `text` as nothing to say.
 *
 * @module
 */

import { decodeBody } from "../ingest/mod.ts";
// The adapters load with the first answer or hook request (formats/detector.ts says why).
import { detectPayload } from "../ingest/formats/detector.ts";
import { PayloadError } from "../ingest/formats/types.ts";
import type { Message } from "../message.ts";

/** Most attachments an answer may carry (as a hook POST's default). */
const MAX_FILES = 10;

/** What an answer says. */
export type ReadAnswer =
  | {
    kind: "message";
    message: Message;
    format: string;
    /**
     * For the one who triggered the call alone: Slack's `"response_type": "ephemeral"`
     * (a slash command's answer "only visible to you").
     */
    onlyForAuthor: boolean;
  }
  | { kind: "empty" }
  | { kind: "unreadable"; code: string; reason: string };

/**
 * Reads a 2xx answer. An empty body (or one of only whitespace, however long), a message
 * with neither text nor attachments and JSON no format reads are `empty`: nothing is posted.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const bytes = new TextEncoder().encode('{"text":"deployed **staging**","parse_mode":"markdown"}');
 * const a = await readAnswer(bytes, "application/json");
 * assert(a.kind === "message");
 * assert.equal(a.message.text, "deployed **staging**");
 * assert.equal((await readAnswer(new Uint8Array(), "text/plain")).kind, "empty");
 * ```
 */
export async function readAnswer(
  bytes: Uint8Array,
  contentType: string | null,
): Promise<ReadAnswer> {
  // Only whitespace (a newline a framework adds to an empty answer, of any length) is empty.
  if (bytes.every((b) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09)) {
    return { kind: "empty" };
  }
  try {
    const body = await decodeBody(bytes, contentType, { maxFiles: MAX_FILES });
    const headers = new Map<string, string>();
    if (contentType) headers.set("content-type", contentType);
    const parsed = await detectPayload({ body, headers });
    if (parsed.fallback === "json_code_block") return { kind: "empty" };
    const m = parsed.message;
    if (m.text.trim() === "" && m.attachments.length === 0) return { kind: "empty" };
    const onlyForAuthor = body.kind === "json" && typeof body.value === "object" &&
      body.value !== null && (body.value as Record<string, unknown>).response_type === "ephemeral";
    return { kind: "message", message: m, format: parsed.format, onlyForAuthor };
  } catch (e) {
    // A readable answer with nothing to post (`{"text":""}`) says nothing, like an empty body.
    if (e instanceof PayloadError && e.code === "empty_payload") return { kind: "empty" };
    if (e instanceof PayloadError) return { kind: "unreadable", code: e.code, reason: e.message };
    throw e;
  }
}
