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
import { splitText, TEXT_LIMIT } from "./split_text.ts";
import type { PreviewMaker } from "./preview/mod.ts";
import type { FetchedFile } from "../net/mod.ts";
import { cleanFileName, SafeFetchError, sniffImageType } from "../net/mod.ts";
import {
  fitText,
  TrueConfApiError,
  TrueConfDisconnectedError,
  TrueConfHttpError,
  TrueConfTimeoutError,
} from "../trueconf/mod.ts";
import type { OutgoingFile, SentMessage } from "../trueconf/mod.ts";
import type { Logger } from "../log.ts";
import { type Clock, delay, systemClock } from "./clock.ts";
import { silentLogger } from "../log.ts";
import { UploadLanes } from "./upload_lanes.ts";

/** What the deliverer needs from the TrueConf client. */
export interface ChatSender {
  /** Posts a text part. */
  sendMessage(chatId: string, text: string, parseMode: ParseMode): Promise<SentMessage>;
  /** Uploads and posts a photo or document part. */
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
  /**
   * The message a part replies to: its `replyId`, or its `replyTo` (an id or key of the hook)
   * when the hook knows it; null for none.
   */
  replyTarget(op: TextOp): string | null | Promise<string | null>;
  /**
   * A file part with an op was posted (`serverTime`: TrueConf's timestamp from its answer;
   * `captionMessageId`: its caption's own message on 5.5.6+ servers, removed with the file).
   */
  posted(
    op: TextOp,
    chatId: string,
    messageId: string,
    kind: "text" | "file",
    serverTime?: number | null,
    captionMessageId?: string,
  ): Promise<void>;
}

/** Options of {@link Deliverer}. */
export interface DelivererOptions {
  /** Where parts are posted (the TrueConf client). */
  chat: ChatSender;
  /** Fetches an attachment URL (the SSRF-guarded fetcher); `signal` ends the attempt. */
  fetchUrl: (url: string, expect: "image" | "any", signal?: AbortSignal) => Promise<FetchedFile>;
  /** Makes photo previews; null sends every image as a document. */
  previews: Pick<PreviewMaker, "previewFor"> | null;
  /** Called for every chat message posted (the delivered-messages metric). */
  onSent?: (kind: "text" | "photo" | "document") => void;
  /** Runs parts that carry an op (living messages); without it ops are ignored. */
  living?: LivingPoster | undefined;
  /** Where part failures are logged. Default: silent. */
  logger?: Logger;
  /**
   * Time one URL attachment may take in all, quick retries of transient failures
   * (refused, reset, timeout, 5xx, 408/429) included, before the part fails. Default 12 s.
   */
  fetchBudgetMs?: number | undefined;
  /**
   * How long a part waits for its attachment's download when its turn comes; after that it
   * is posted when the download ends, after the parts behind it. Default 1 s.
   */
  deferAfterMs?: number | undefined;
  /** Time for retries and budgets; default the system clock. */
  clock?: Clock | undefined;
  /** Whose turn it is to post a file (upload_lanes.ts); default lanes of their own on `clock`. */
  lanes?: UploadLanes | undefined;
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

/** No parts (the default of a fresh run's sets). */
const NONE: ReadonlySet<number> = new Set();

/** Longest text that rides along as the caption of a single attachment instead of its own message. */
export const CAPTION_MAX = 1024;

/**
 * Most chat messages one text is split into. A longer text (a build log piped into a hook: 1 MB
 * made some 280 messages, the 25 MB body limit would make 6,400) is posted as its beginning with
 * a line saying so, and the whole text as the file {@link TEXT_FILE_NAME} right after it.
 */
export const MAX_TEXT_MESSAGES = 10;
/** The file a text too long for {@link MAX_TEXT_MESSAGES} messages is posted as. */
export const TEXT_FILE_NAME = "message.txt";
/** Room kept in the beginning's message for the line that points to the file. */
const FILE_NOTE_ROOM = 200;

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
export function planParts(
  message: Message,
): Part[] {
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
      op.replyTo !== undefined || op.replyKey !== undefined || op.buttons !== undefined);
  const useCaption = !living && attachments.length === 1 && text.length > 0 &&
    [...text].length <= CAPTION_MAX;
  if (text && !useCaption) {
    // A message a later edit changes (an edit, a key, an alert group or CI run edited in place)
    // must be one TrueConf message: editMessage changes one message, so every edit would post
    // a split's later chunks anew and leave the earlier versions' tails in the chat.
    const edited = op !== undefined &&
      (op.act === "edit" || op.key !== undefined ||
        (op.group !== undefined && (op.alerts ?? "edit") === "edit"));
    const chunks = edited ? [fitText(text)] : splitText(text);
    if (chunks.length > MAX_TEXT_MESSAGES) {
      parts.push(...asFile(text, message.parseMode, op));
    } else {
      for (let i = 0; i < chunks.length; i++) {
        parts.push({
          kind: "text",
          text: chunks[i]!,
          parseMode: message.parseMode,
          label: chunks.length > 1 ? `text ${i + 1}/${chunks.length}` : "text",
          // The first chunk is the message a key, group or edit refers to; the rest only register.
          ...(op ? { op: i === 0 ? op : { hook: op.hook } } : {}),
        });
      }
    }
  }
  // A message without a text part of its own starts with its first file: that file takes the
  // key and the reply target (a plain id, as an outgoing hook's answer to its trigger, or the
  // sender's `reply_to`, an id or key of the hook resolved when the file is posted).
  const fileOp: TextOp | undefined = op
    ? (parts.length === 0 &&
        (op.key !== undefined || op.replyId !== undefined || op.replyTo !== undefined)
      ? {
        hook: op.hook,
        ...(op.key !== undefined ? { key: op.key } : {}),
        ...(op.replyId !== undefined ? { replyId: op.replyId } : {}),
        ...(op.replyTo !== undefined ? { replyTo: op.replyTo } : {}),
      }
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

/**
 * A text too long for {@link MAX_TEXT_MESSAGES} messages: its beginning with a line that says
 * so (the message a key, group or reply refers to), then the whole text as {@link TEXT_FILE_NAME}.
 */
function asFile(text: string, parseMode: ParseMode, op: TextOp | undefined): Part[] {
  // Its first chunk only: a prefix of twice the limit holds it, whatever the text's length.
  const head = splitText(text.slice(0, 2 * TEXT_LIMIT), TEXT_LIMIT - FILE_NOTE_ROOM)[0]!;
  const length = [...text].length.toLocaleString("en-US");
  return [
    {
      kind: "text",
      text: `${head}\n\n… ${length} characters in all: the whole text is in ${TEXT_FILE_NAME}`,
      parseMode,
      label: "text",
      ...(op ? { op } : {}),
    },
    {
      kind: "attachment",
      attachment: {
        kind: "document",
        source: { type: "bytes", bytes: new TextEncoder().encode(text) },
        filename: TEXT_FILE_NAME,
        mimeType: "text/plain; charset=utf-8",
      },
      label: `text as a file (${TEXT_FILE_NAME})`,
      ...(op ? { op: { hook: op.hook } } : {}),
    },
  ];
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
    // Transient, but possibly this file's own: the queue sets it aside if it persists.
    return e.transient
      ? { code: "upload_unavailable", message: e.message, scope: "transient" }
      : { code: "upload_failed", message: e.message, scope: "part" };
  }
  if (e instanceof SafeFetchError) {
    // A download that failed for good (its budget of quick retries spent, or permanent at
    // once) fails only its part; the deliverer never stops a message for a download.
    return { code: fetchCode(e), message: e.message, scope: "part" };
  }
  return {
    code: "internal_error",
    message: e instanceof Error ? e.message : String(e),
    scope: "transient",
  };
}

/** A URL attachment being downloaded (started when the run starts). */
interface Download {
  settled: boolean;
  readonly result: Promise<{ file: FetchedFile } | { error: unknown }>;
}

/** The failed-part code of a download error (kept stable: senders match on it). */
function fetchCode(e: SafeFetchError): string {
  return e.code === "unsafe_url" ? "unsafe_url" : "fetch_failed";
}

/**
 * A download stopped by shutdown's cut: not the attachment's failure (classified transient,
 * so the run stops there and the queue posts the part after the restart).
 */
class DownloadCutError extends Error {
  override name = "DownloadCutError";
  constructor() {
    super("the bot is shutting down; the attachment is downloaded after the restart");
  }
}

/** Posts planned parts into a chat. */
export class Deliverer {
  readonly #opts: DelivererOptions;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #deferAfter: number;
  readonly #lanes: UploadLanes;

  /** A deliverer; it keeps no state between messages but whose turn it is to post a file. */
  constructor(options: DelivererOptions) {
    this.#opts = options;
    this.#log = options.logger ?? silentLogger;
    this.#clock = options.clock ?? systemClock;
    this.#deferAfter = options.deferAfterMs ?? 1_000;
    this.#lanes = options.lanes ?? new UploadLanes({ clock: this.#clock });
  }

  /**
   * Posts every part not in `done` (and not before `from`). `onPosted` runs after each part
   * reached the chat (or failed for good) before the next starts: the queue records progress
   * there. Parts go in order, except that a URL attachment whose download is not finished
   * within `deferAfterMs` when its turn comes is posted when it ends, after the parts behind
   * it (a dead host never holds up the text or the other files); if it carried the text as
   * its caption, the text goes at once on its own (`onCaptionSent`) and the file follows
   * without it.
   */
  async run(
    chatId: string,
    parts: readonly Part[],
    options: {
      from?: number;
      /** Parts already posted or failed for good (a resumed run). */
      done?: ReadonlySet<number> | undefined;
      /** Parts whose caption was already posted as a text of its own. */
      captionsSent?: ReadonlySet<number> | undefined;
      /**
       * `messageId` is "" for a part skipped for good; `failure` says why it failed. The next
       * part waits for the promise returned, if any.
       */
      onPosted?: (
        index: number,
        messageId: string,
        failure?: PartFailure,
      ) => Promise<void> | void;
      /** The caption of a deferred part went out as a text of its own. */
      onCaptionSent?: (index: number, messageId: string) => Promise<void> | void;
      /**
       * Shutdown's cut: downloads still running stop at once, and their parts stop the run
       * as a transient failure (the queue keeps them for the next start), never failed.
       */
      signal?: AbortSignal | undefined;
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
    // The parts to post are those from `from` not in `done`; the loops below walk them by
    // index (no list of them, no iterator objects: this runs for every delivery).
    const from = options.from ?? 0;
    const done = options.done ?? NONE;
    // Copied when a caption is sent on its own (rare): no set to build for most runs.
    let captionsSent = options.captionsSent ?? NONE;
    // Every URL attachment starts downloading now, each within its own budget.
    let downloads: Map<number, Download> | undefined;
    for (let i = from; i < parts.length; i++) {
      const p = parts[i]!;
      if (done.has(i)) continue;
      if (p.kind === "attachment" && p.attachment.source.type === "url") {
        downloads ??= new Map();
        downloads.set(
          i,
          this.#download(p.attachment.source.url, p.attachment.kind, options.signal),
        );
      }
    }
    // `mainAt` and `deferredFrom`: where the run is, for `failed` (below).
    const post = async (
      i: number,
      mainAt: number,
      deferredFrom: number,
    ): Promise<RunResult | null> => {
      const part = parts[i]!;
      try {
        let messageId: string;
        let failure: unknown;
        if (part.kind === "text") {
          messageId = await this.#postText(chatId, part);
          this.#opts.onSent?.("text");
        } else {
          const caption = captionsSent.has(i) ? undefined : part.caption;
          ({ messageId, failure } = await this.#postFile(
            chatId,
            part,
            downloads?.get(i),
            caption,
            options.signal,
          ));
        }
        messageIds.push(messageId);
        const f = failure === undefined ? undefined : record(
          part,
          classifyError(failure),
          "attachment failed, its caption was posted as text",
        );
        // Awaited only when there is something to wait for: no promise per part otherwise.
        const saving = options.onPosted?.(i, messageId, f);
        if (saving) await saving;
        return null;
      } catch (e) {
        return await failed(i, e, mainAt, deferredFrom);
      }
    };
    /**
     * A part threw: stop (transient), fail the rest (chat lost) or skip it (its own fault).
     * The parts not handled yet are the deferred ones from `deferredFrom` and those from
     * `mainAt` on (not done): the run keeps no set of the parts it posted (issue 16).
     */
    const failed = async (
      i: number,
      e: unknown,
      mainAt: number,
      deferredFrom: number,
    ): Promise<RunResult | null> => {
      const part = parts[i]!;
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
        const fail = (j: number) =>
          failures.push({ item: parts[j]!.label, code: c.code, message: c.message });
        // In index order, as the parts are: every deferred part precedes `mainAt`.
        for (let k = deferredFrom; k < deferred.length; k++) fail(deferred[k]!);
        for (let j = mainAt; j < parts.length; j++) if (!done.has(j)) fail(j);
        return {
          messageIds,
          failures,
          stoppedAt: null,
          error: { code: c.code, message: c.message, transient: false },
        };
      }
      const saving = options.onPosted?.(i, "", record(part, c, "attachment skipped"));
      if (saving) await saving;
      return null;
    };
    const deferred: number[] = [];
    for (let i = from; i < parts.length; i++) {
      if (done.has(i)) continue;
      const d = downloads?.get(i);
      if (d && !d.settled) {
        const stop = new AbortController();
        await Promise.race([d.result, delay(this.#clock, this.#deferAfter, stop.signal)]);
        stop.abort();
      }
      if (d && !d.settled) {
        const part = parts[i]!;
        this.#log.info("attachment still downloading: the parts behind it go first", {
          chat: chatId,
          item: part.label,
        });
        if (part.kind === "attachment" && part.caption && !captionsSent.has(i)) {
          let id: string;
          try {
            id = await this.#sendText(
              chatId,
              part.caption.text,
              part.caption.parseMode,
            );
          } catch (e) {
            const r = await failed(i, e, i, 0);
            if (r) return r;
            continue;
          }
          messageIds.push(id);
          captionsSent = new Set(captionsSent).add(i);
          await options.onCaptionSent?.(i, id);
        }
        deferred.push(i);
        continue;
      }
      const r = await post(i, i, 0);
      if (r) return r;
    }
    for (let k = 0; k < deferred.length; k++) {
      const i = deferred[k]!;
      await downloads!.get(i)!.result;
      const r = await post(i, parts.length, k);
      if (r) return r;
    }
    return { messageIds, failures, stoppedAt: null, error: null };
  }

  /**
   * Posts a text part, through the living poster when it carries an op (every part the bot's
   * dispatcher plans): its message id. The caller counts it (`onSent`). Not an async function
   * and no `then` of its own: nothing held or made per part while TrueConf answers (issue 16).
   */
  #postText(chatId: string, part: Extract<Part, { kind: "text" }>): Promise<string> {
    const living = this.#opts.living;
    if (part.op && living) return living.post(chatId, part);
    return this.#opts.chat.sendMessage(chatId, part.text, part.parseMode).then((s) => s.messageId);
  }

  /**
   * Posts an attachment part. When one that carries the sender's text as its caption fails
   * for good, the text still goes out as a message of its own: the text is never lost with
   * a broken file.
   */
  async #postFile(
    chatId: string,
    part: Extract<Part, { kind: "attachment" }>,
    download: Download | undefined,
    caption: { text: string; parseMode: ParseMode } | undefined,
    cut: AbortSignal | undefined,
  ): Promise<{ messageId: string; failure?: unknown }> {
    try {
      const file = await this.#prepare(part, download, caption);
      // Small files take turns, so texts are not queued behind many at once (upload_lanes.ts).
      const size = file.bytes.byteLength + (file.preview?.bytes.byteLength ?? 0);
      const sent = await this.#lanes.post(size, async (): Promise<SentMessage> => {
        try {
          return await this.#opts.chat.sendFile(chatId, file);
        } catch (e) {
          if (!file.replyMessageId || !(e instanceof TrueConfApiError && e.messageGone)) throw e;
          // The message replied to vanished: the file still goes, as a plain post.
          const { replyMessageId: _, ...plain } = file;
          return await this.#opts.chat.sendFile(chatId, plain);
        }
      }, cut);
      this.#opts.onSent?.(file.preview ? "photo" : "document");
      if (part.op) {
        await this.#opts.living?.posted(
          part.op,
          chatId,
          sent.messageId,
          "file",
          sent.serverTime,
          sent.captionMessageId,
        );
      }
      return { messageId: sent.messageId };
    } catch (e) {
      if (!caption || classifyError(e).scope !== "part") throw e;
      const messageId = await this.#sendText(chatId, caption.text, caption.parseMode);
      return { messageId, failure: e };
    }
  }

  async #sendText(chatId: string, text: string, parseMode: ParseMode): Promise<string> {
    const sent = await this.#opts.chat.sendMessage(chatId, text, parseMode);
    this.#opts.onSent?.("text");
    return sent.messageId;
  }

  /**
   * Downloads a URL attachment within the fetch budget: transient failures are retried
   * quickly (0.5 s, 1 s, 2 s, … apart) while the budget lasts, each attempt cut at the
   * budget's end; then, or at once for a permanent failure, the part fails for good.
   */
  #download(url: string, kind: "photo" | "document", cut?: AbortSignal): Download {
    const d: Download = {
      settled: false,
      result: (async () => {
        const budget = this.#opts.fetchBudgetMs ?? 12_000;
        const started = this.#clock.now();
        let pause = 500;
        for (let attempt = 1;; attempt++) {
          if (cut?.aborted) return { error: new DownloadCutError() };
          const left = budget - (this.#clock.now() - started);
          const stop = new AbortController();
          const timer = this.#clock.after(left, () =>
            stop.abort(
              new SafeFetchError(
                "timeout",
                `no complete answer within ${Math.round(budget / 100) / 10} s`,
              ),
            ));
          const onCut = () => stop.abort(new DownloadCutError());
          cut?.addEventListener("abort", onCut, { once: true });
          try {
            return {
              file: await this.#opts.fetchUrl(url, kind === "photo" ? "image" : "any", stop.signal),
            };
          } catch (e) {
            if (cut?.aborted) return { error: new DownloadCutError() };
            if (!(e instanceof SafeFetchError) || e.permanent) return { error: e };
            const elapsed = this.#clock.now() - started;
            if (elapsed + pause >= budget) {
              return {
                error: new SafeFetchError(
                  e.code,
                  `${e.message} (gave up after ${attempt} ${attempt === 1 ? "try" : "tries"} in ${
                    Math.round(elapsed / 100) / 10
                  } s)`,
                  { permanent: true, ...(e.status !== undefined ? { status: e.status } : {}) },
                ),
              };
            }
            this.#log.debug("attachment download failed, retrying", { error: e.code, attempt });
            await delay(this.#clock, pause, cut);
            pause *= 2;
          } finally {
            timer.cancel();
            cut?.removeEventListener("abort", onCut);
          }
        }
      })().finally(() => void (d.settled = true)),
    };
    return d;
  }

  /** Fetches (if needed) and shapes an attachment into an upload, with a preview for photos. */
  async #prepare(
    part: Extract<Part, { kind: "attachment" }>,
    download: Download | undefined,
    caption: { text: string; parseMode: ParseMode } | undefined,
  ): Promise<OutgoingFile> {
    const a = part.attachment;
    let bytes: Uint8Array;
    let declaredType = a.mimeType ?? "";
    let name = a.filename ?? "";
    if (a.source.type === "url") {
      const got = await (download ?? this.#download(a.source.url, a.kind)).result;
      if ("error" in got) throw got.error;
      const fetched = got.file;
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
    const op = part.op;
    const replyTo = op?.replyId ??
      (op?.replyTo !== undefined ? await this.#opts.living?.replyTarget(op) : null);
    const file: OutgoingFile = {
      bytes,
      name,
      mimeType,
      ...(caption ? { caption } : {}),
      ...(replyTo ? { replyMessageId: replyTo } : {}),
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
  let name = cleanFileName(raw) ?? (kind === "photo" ? "image" : "file");
  if (!/\.[A-Za-z0-9]{1,8}$/.test(name)) {
    const ext = EXT[mimeType];
    if (ext) name += `.${ext}`;
  }
  return name;
}
