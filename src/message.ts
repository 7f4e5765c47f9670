/**
 * The one normalized type in the middle of the bot: every input format becomes a
 * {@link Message}; delivery turns a Message into TrueConf chat messages and knows
 * nothing of formats.
 *
 * @module
 */

/** How TrueConf renders a text: verbatim, Markdown (`**b**`, `*i*`, `~~s~~`, `[t](url)`) or a small HTML subset. */
export type ParseMode = "text" | "markdown" | "html";

/** Every parse mode TrueConf understands, in the order shown in error messages. */
export const PARSE_MODES: readonly ParseMode[] = ["text", "markdown", "html"];

/** Where an attachment's bytes come from. */
export type AttachmentSource =
  /** Fetched by the bot through the SSRF-guarded fetcher at delivery time. */
  | { readonly type: "url"; readonly url: string }
  /** Sent in the request itself (multipart upload, base64 in JSON). */
  | { readonly type: "bytes"; readonly bytes: Uint8Array };

/**
 * A picture or a file to post. `photo` is shown inline (uploaded with a preview);
 * `document` is a downloadable file.
 */
export interface Attachment {
  /** A photo is shown inline (with a preview); a document is a file to download. */
  readonly kind: "photo" | "document";
  /** Where the bytes come from: a URL to fetch or bytes uploaded with the request. */
  readonly source: AttachmentSource;
  /** File name shown in the chat; derived from the URL or content type when absent. */
  readonly filename?: string;
  /** MIME type as declared by the sender; sniffed from the bytes when absent. */
  readonly mimeType?: string;
}

/** A message to post into a hook's chat. */
export interface Message {
  /** The text; may be empty when attachments are present. Split at 4096 characters on delivery. */
  readonly text: string;
  /** How TrueConf renders `text`. */
  readonly parseMode: ParseMode;
  /** Photos and documents, posted after the text in this order. */
  readonly attachments: readonly Attachment[];
}
