/**
 * Turns a {@link Message} into TrueConf chat messages: text (split at TrueConf's 4096
 * character limit), then each attachment (fetched through the SSRF guard when given by URL,
 * uploaded as a photo with a preview or as a document).
 *
 * Delivery is a list of numbered parts so that it can be resumed: the durable queue records
 * each part that reached the chat (`onPosted`) and, after a crash or an outage, starts again
 * from the first part that did not — a partial delivery never re-posts the text.
 *
 * @module
 */
import type { Attachment, Message, ParseMode, TextOp } from "../message.ts";
import type { PartFailure } from "./dispatch.ts";
import { splitText } from "./split_text.ts";
import type { PreviewMaker } from "./preview/mod.ts";
import type { FetchedFile } from "../net/mod.ts";
import { SafeFetchError, sniffImageType } from "../net/mod.ts";
import {
  TrueConfApiError,
  TrueConfDisconnectedError,
  TrueConfHttpError,
  TrueConfTimeoutError,
} from "../trueconf/mod.ts";
import type { OutgoingFile, SentMessage } from "../trueconf/mod.ts";
import type { Logger } from "../log.ts";
import { silentLogger } from "../log.ts";

/** What the deliverer needs from the TrueConf client. */
export interface ChatSender {
  sendMessage(chatId: string, text: string, parseMode: ParseMode): Promise<SentMessage>;
  sendFile(chatId: string, file: OutgoingFile): Promise<SentMessage>;
}

/** One part of a planned delivery. */
export type Part =
  | {
    readonly kind: "text";
    readonly text: string;
    readonly parseMode: ParseMode;
    readonly label: string;
    /** Edit/remove/reply/key/group instructions (src/messages/), resolved when posted. */
    readonly op?: TextOp | undefined;
  }
  | {
    readonly kind: "attachment";
    readonly attachment: Attachment;
    readonly caption?: { readonly text: string; readonly parseMode: ParseMode };
    readonly label: string;
    /** The hook (and, for a file-only message, its key), so the registry learns the id. */
    readonly op?: TextOp | undefined;
  };

/**
 * Posts text parts that carry a {@link TextOp} (src/messages/ LivingPoster: edits,
 * removals, replies, keys, alert groups, mentions, buttons) and learns every posted id.
 */
export interface LivingPoster {
  /** Posts (or edits, or removes) one text part; returns the message id it produced or changed. */
  post(chatId: string, part: Extract<Part, { kind: "text" }>): Promise<string>;
  /** A file part with an op was posted. */
  posted(op: TextOp, chatId: string, messageId: string, kind: "text" | "file"): Promise<void>;
}

/** Options of {@link Deliverer}. */
export interface DelivererOptions {
  chat: ChatSender;
  /** Fetches an attachment URL (the SSRF-guarded fetcher). */
  fetchUrl: (url: string, expect: "image" | "any") => Promise<FetchedFile>;
  /** Makes photo previews; null sends every image as a document. */
  previews: PreviewMaker | null;
  /** Called for every chat message posted (the delivered-messages metric). */
  onSent?: (kind: "text" | "photo" | "document") => void;
  /** Runs parts that carry an op (living messages); without it ops are ignored. */
  living?: LivingPoster | undefined;
  logger?: Logger;
}

/** How a run ended. */
export interface RunResult {
  /** Message ids of the parts posted in this run, in order. */
  readonly messageIds: string[];
  /** Parts that failed for good and were skipped. */
  readonly failures: PartFailure[];
  /** Set when a transient problem stopped the run: the index of the first part not posted. */
  readonly stoppedAt: number | null;
  /** Why it stopped (transient) or why everything failed (chat-level permanent error). */
  readonly error:
    | { readonly code: string; readonly message: string; readonly transient: boolean }
    | null;
}

/** Longest text that rides along as the caption of a single attachment instead of its own message. */
export const CAPTION_MAX = 1024;

/**
 * Splits a message into ordered parts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const parts = planParts({ text: "hi", parseMode: "text", attachments: [] });
 * assert.equal(parts.length, 1); // [{ kind: "text", text: "hi", … }]
 * assert.equal(parts[0]?.kind, "text");
 * ```
 */
export function planParts(message: Message): Part[] {
  const parts: Part[] = [];
  const op = message.op;
  if (op?.act === "remove") {
    return [{ kind: "text", text: "", parseMode: "text", label: "removal", op }];
  }
  const text = message.text.trim() ? message.text : "";
  const attachments = message.attachments;
  // A message that may be edited later stays text: TrueConf cannot edit a file's caption.
  const living = op !== undefined &&
    (op.act === "edit" || op.key !== undefined || op.group !== undefined ||
      op.replyTo !== undefined || op.buttons !== undefined);
  const useCaption = !living && attachments.length === 1 && text.length > 0 &&
    [...text].length <= CAPTION_MAX;
  if (text && !useCaption) {
    const chunks = splitText(text);
    chunks.forEach((chunk, i) =>
      parts.push({
        kind: "text",
        text: chunk,
        parseMode: message.parseMode,
        label: chunks.length > 1 ? `text ${i + 1}/${chunks.length}` : "text",
        // The first chunk is the message a key, group or edit refers to; the rest only register.
        ...(op ? { op: i === 0 ? op : { hook: op.hook } } : {}),
      })
    );
  }
  const fileOp: TextOp | undefined = op
    ? (parts.length === 0 && op.key !== undefined
      ? { hook: op.hook, key: op.key }
      : { hook: op.hook })
    : undefined;
  let photos = 0;
  let files = 0;
  for (const a of attachments) {
    const n = a.kind === "photo" ? ++photos : ++files;
    const where = a.source.type === "url" ? a.source.url.slice(0, 200) : (a.filename ?? "upload");
    parts.push({
      kind: "attachment",
      attachment: a,
      label: `${a.kind === "photo" ? "image" : "file"} ${n} (${where})`,
      ...(useCaption ? { caption: { text, parseMode: message.parseMode } } : {}),
      ...(fileOp ? { op: parts.length === 0 ? fileOp : { hook: fileOp.hook } } : {}),
    });
  }
  return parts;
}

/** Classifies an error thrown while posting a part (code meanings live in trueconf/errors.ts). */
export function classifyError(
  e: unknown,
): { code: string; message: string; scope: "transient" | "part" | "chat" } {
  if (e instanceof TrueConfDisconnectedError) {
    return {
      code: "trueconf_unavailable",
      message: "TrueConf connection lost",
      scope: "transient",
    };
  }
  if (e instanceof TrueConfTimeoutError) {
    return {
      code: "trueconf_timeout",
      message: "TrueConf did not answer in time",
      scope: "transient",
    };
  }
  if (e instanceof TrueConfApiError) {
    const text = `TrueConf refused ${e.method} with error ${e.code}${
      e.description ? ` (${e.description})` : ""
    }`;
    const message = e.hint ? `${text}: ${e.hint}` : text;
    if (e.chatUnavailable) return { code: "chat_unavailable", message, scope: "chat" };
    if (e.transient) return { code: "trueconf_error", message, scope: "transient" };
    if (e.partRejected) return { code: "upload_rejected", message, scope: "part" };
    return { code: "trueconf_error", message, scope: "part" };
  }
  if (e instanceof TrueConfHttpError) {
    // The upload endpoint refusing this file (4xx) will refuse it again: fail the part, or a
    // retry asked of the sender would re-post the parts already delivered. No answer, a
    // timeout, 408/429 or a 5xx is the server's state, not the file's.
    return e.transient
      ? { code: "trueconf_unavailable", message: e.message, scope: "transient" }
      : { code: "upload_failed", message: e.message, scope: "part" };
  }
  if (e instanceof SafeFetchError) {
    return {
      code: e.code === "unsafe_url" ? "unsafe_url" : "fetch_failed",
      message: e.message,
      scope: e.permanent ? "part" : "transient",
    };
  }
  return {
    code: "internal_error",
    message: e instanceof Error ? e.message : String(e),
    scope: "transient",
  };
}

/** Posts planned parts into a chat. */
export class Deliverer {
  readonly #opts: DelivererOptions;
  readonly #log: Logger;

  constructor(options: DelivererOptions) {
    this.#opts = options;
    this.#log = options.logger ?? silentLogger;
  }

  /**
   * Posts `parts` from index `from` on. `onPosted` runs after each part reached the chat
   * (the queue persists progress there) before the next part starts.
   */
  async run(
    chatId: string,
    parts: readonly Part[],
    options: {
      from?: number;
      /** `messageId` is "" for a part skipped for good; `failure` says why it failed. */
      onPosted?: (
        index: number,
        messageId: string,
        failure?: PartFailure,
      ) => Promise<void> | void;
    } = {},
  ): Promise<RunResult> {
    const messageIds: string[] = [];
    const failures: PartFailure[] = [];
    // A part that failed for good: logged, reported to the sender, and delivery goes on.
    const record = (part: Part, c: { code: string; message: string }, what: string) => {
      this.#log.warn(what, { chat: chatId, item: part.label, error: c.code, reason: c.message });
      const f = { item: part.label, code: c.code, message: c.message };
      failures.push(f);
      return f;
    };
    for (let i = options.from ?? 0; i < parts.length; i++) {
      const part = parts[i]!;
      try {
        const { messageId, failure } = await this.#post(chatId, part);
        messageIds.push(messageId);
        const f = failure === undefined ? undefined : record(
          part,
          classifyError(failure),
          "attachment failed, its caption was posted as text",
        );
        await options.onPosted?.(i, messageId, f);
      } catch (e) {
        const c = classifyError(e);
        if (c.scope === "transient") {
          return {
            messageIds,
            failures,
            stoppedAt: i,
            error: { code: c.code, message: c.message, transient: true },
          };
        }
        if (c.scope === "chat") {
          for (let j = i; j < parts.length; j++) {
            failures.push({ item: parts[j]!.label, code: c.code, message: c.message });
          }
          return {
            messageIds,
            failures,
            stoppedAt: null,
            error: { code: c.code, message: c.message, transient: false },
          };
        }
        await options.onPosted?.(i, "", record(part, c, "attachment skipped"));
      }
    }
    return { messageIds, failures, stoppedAt: null, error: null };
  }

  /**
   * Posts one part. When an attachment that carries the sender's text as its caption fails
   * for good, the text still goes out as a message of its own: the text is never lost with
   * a broken file.
   */
  async #post(chatId: string, part: Part): Promise<{ messageId: string; failure?: unknown }> {
    if (part.kind === "text") {
      const living = this.#opts.living;
      if (part.op && living) {
        const messageId = await living.post(chatId, part);
        this.#opts.onSent?.("text");
        return { messageId };
      }
      return { messageId: await this.#sendText(chatId, part.text, part.parseMode) };
    }
    try {
      const file = await this.#prepare(part);
      const sent = await this.#opts.chat.sendFile(chatId, file);
      this.#opts.onSent?.(file.preview ? "photo" : "document");
      if (part.op) await this.#opts.living?.posted(part.op, chatId, sent.messageId, "file");
      return { messageId: sent.messageId };
    } catch (e) {
      if (!part.caption || classifyError(e).scope !== "part") throw e;
      const messageId = await this.#sendText(chatId, part.caption.text, part.caption.parseMode);
      return { messageId, failure: e };
    }
  }

  async #sendText(chatId: string, text: string, parseMode: ParseMode): Promise<string> {
    const sent = await this.#opts.chat.sendMessage(chatId, text, parseMode);
    this.#opts.onSent?.("text");
    return sent.messageId;
  }

  /** Fetches (if needed) and shapes an attachment into an upload, with a preview for photos. */
  async #prepare(part: Extract<Part, { kind: "attachment" }>): Promise<OutgoingFile> {
    const a = part.attachment;
    let bytes: Uint8Array;
    let declaredType = a.mimeType ?? "";
    let name = a.filename ?? "";
    if (a.source.type === "url") {
      const fetched = await this.#opts.fetchUrl(a.source.url, a.kind === "photo" ? "image" : "any");
      bytes = fetched.bytes;
      declaredType ||= fetched.contentType;
      name ||= fetched.filename ?? "";
    } else {
      bytes = a.source.bytes;
    }
    const sniffed = sniffImageType(bytes);
    const mimeType = sniffed ??
      (declaredType && declaredType !== "application/octet-stream"
        ? declaredType
        : "application/octet-stream");
    name = safeFileName(name, mimeType, a.kind);
    const file: OutgoingFile = {
      bytes,
      name,
      mimeType,
      ...(part.caption ? { caption: part.caption } : {}),
    };
    if (a.kind !== "photo") return file;
    if (!sniffed || !this.#opts.previews) {
      this.#log.info("image sent as a document", {
        item: part.label,
        reason: sniffed ? "previews disabled" : "not a recognised image format",
      });
      return file;
    }
    // previewFor logs why when it falls back (original as its own preview, or a document).
    const preview = await this.#opts.previews.previewFor(bytes, sniffed);
    return preview ? { ...file, preview } : file;
  }
}

const EXT: Record<string, string> = {
  "image/jpeg": "jpg",
  "image/png": "png",
  "image/gif": "gif",
  "image/webp": "webp",
  "image/bmp": "bmp",
  "image/tiff": "tiff",
  "application/pdf": "pdf",
  "text/plain": "txt",
  "application/json": "json",
};

/** A file name without path parts or control characters, with an extension when we know one. */
export function safeFileName(raw: string, mimeType: string, kind: "photo" | "document"): string {
  // deno-lint-ignore no-control-regex
  let name = raw.replace(/[\x00-\x1f\x7f]/g, "").split(/[\\/]/).pop()!.trim().slice(0, 200);
  if (!name || name === "." || name === "..") name = kind === "photo" ? "image" : "file";
  if (!/\.[A-Za-z0-9]{1,8}$/.test(name)) {
    const ext = EXT[mimeType];
    if (ext) name += `.${ext}`;
  }
  return name;
}
