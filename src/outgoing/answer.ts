/**
 * A service's answer read exactly like an incoming hook POST: the same body decoding
 * (JSON, form, multipart, text/plain, charsets) and the same format detection (native,
 * Slack, Mattermost, Alertmanager, …), so `{"text":"deployed"}`, `text=deployed` and a
 * Slack payload all become the same chat message.
 *
 * One difference: an answer with nothing for the chat is an acknowledgement, and nothing is
 * posted: JSON that no format reads (`{"ok":true}`, `{"status":"queued","id":42}`), JSON that is
 * not an object (`true`, `"queued"`, `[]`) and HTML (a web framework's default for `return "OK"`:
 * Flask, Express, Django). An incoming hook posts an unknown JSON object as a code block and
 * refuses the rest, because a sender writing to the chat must not go unheard; a service
 * answering the bot's call is answering the bot, the way Slack's and Mattermost's outgoing
 * webhooks read an answer without a `text` as nothing to say (and warning the author on every
 * call of a service that answers "OK" would be noise).
 *
 * @module
 */

import { decodeBody, decodeContentEncoding } from "../ingest/mod.ts";
// The adapters load with the first answer or hook request (formats/detector.ts says why).
import { detectPayload } from "../ingest/formats/detector.ts";
import { PayloadError } from "../ingest/formats/types.ts";
import type { Message } from "../message.ts";

/** Most attachments an answer may carry (as a hook POST's default). */
const MAX_FILES = 10;

/** Most bytes of an answer once decoded: the cap the call puts on the bytes it receives. */
const MAX_DECODED_BYTES = 1024 * 1024;

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
 * with neither text nor attachments, JSON no format reads, JSON that is not an object and HTML
 * are `empty`: nothing is posted.
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
  received: Uint8Array,
  contentType: string | null,
  contentEncoding: string | null = null,
): Promise<ReadAnswer> {
  if (isHtml(contentType)) return { kind: "empty" };
  let bytes = received;
  try {
    // Compressed as an incoming POST may be (the calls send no Accept-Encoding, and without one
    // any coding is acceptable, RFC 9110 12.5.3), decoded up to the answer's own cap.
    if (contentEncoding !== null) bytes = await decoded(received, contentEncoding);
    // Only whitespace (a newline a framework adds to an empty answer, of any length) is empty.
    if (bytes.every((b) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09)) {
      return { kind: "empty" };
    }
    const body = await decodeBody(bytes, contentType, { maxFiles: MAX_FILES });
    if (body.kind === "records") return { kind: "empty" };
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
    // JSON that is not an object (`true`, `"queued"`, `42`, `null`) is refused by the endpoint's
    // decoding; as an answer it is an acknowledgement.
    if (e instanceof PayloadError && isJsonButNotObject(bytes)) return { kind: "empty" };
    if (e instanceof PayloadError) return { kind: "unreadable", code: e.code, reason: e.message };
    throw e;
  }
}

/** `bytes` decoded from `contentEncoding`; a PayloadError naming what is wrong otherwise. */
async function decoded(bytes: Uint8Array, contentEncoding: string): Promise<Uint8Array> {
  try {
    return await decodeContentEncoding(bytes, contentEncoding, MAX_DECODED_BYTES);
  } catch (e) {
    // The endpoint's message names the request body and its setting; an answer has its own cap.
    if (e instanceof PayloadError && e.code === "payload_too_large") {
      throw new PayloadError(
        "answer_too_large",
        `The answer is more than 1 MiB once decoded (Content-Encoding: ${contentEncoding}).`,
        413,
      );
    }
    throw e;
  }
}

function isHtml(contentType: string | null): boolean {
  const media = (contentType ?? "").split(";", 1)[0]!.trim().toLowerCase();
  return media === "text/html" || media === "application/xhtml+xml";
}

function isJsonButNotObject(bytes: Uint8Array): boolean {
  try {
    const value: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return typeof value !== "object" || value === null || Array.isArray(value);
  } catch {
    return false;
  }
}
