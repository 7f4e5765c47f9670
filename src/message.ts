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

/** A URL button under a text message (TrueConf 5.5.6+; an inline link on older servers). */
export interface MessageButton {
  /** Label, 1–32 characters. */
  readonly text: string;
  /** http, https, mailto or trueconf URL. */
  readonly url: string;
}

/**
 * One conversation a sender keeps updating: an alert group (Alertmanager/Grafana `groupKey`)
 * or a CI run. While it is open, later notifications edit its message; when one closes it,
 * the message is edited and `reply` (if any) posted as a reply, because an edit notifies
 * nobody; a notification after that starts a new message.
 */
export interface MessageGroup {
  /** Stable id within the hook, e.g. `am:{}:{alertname="X"}` or `gh:run:owner/repo:42`. */
  readonly id: string;
  /** `open` while firing / running; `closed` when resolved / finished. */
  readonly state: "open" | "closed";
  /** Short title for replies ("✅ Resolved: <title>"). */
  readonly title: string;
  /** Posted as a reply to the group's message when this notification closes it. */
  readonly reply?: string | undefined;
  /** Replies even while open (a CI failure while other jobs still run). */
  readonly replyNow?: string | undefined;
  /**
   * The alerts firing in this notification, each with its start (Unix ms), a short label and
   * an identity (the sender's fingerprint). Those the group's message did not show before are
   * new to the chat, and an edit notifies nobody: the edit is followed by a reply
   * `🔥 Also firing: <labels>`.
   */
  readonly firing?:
    | readonly { readonly since: number; readonly label: string; readonly id: string }[]
    | undefined;
  /** Appended to the edited message when this notification closes the group; `{duration}` = how long it fired. */
  readonly closedNote?: string | undefined;
  /**
   * How long the group fired by its own clock (a closing notification whose alerts carry start
   * and end times: the earliest start to the latest end), for `{duration}`. Without it the note
   * counts from the group's first post, which misses what fired before the bot heard of it.
   */
  readonly firedForMs?: number | undefined;
}

/** A message key (`key` field, `X-Message-Key`): 1–128 characters, no control characters. */
export const MESSAGE_KEY = /^[^\p{Cc}]{1,128}$/u;

/** How a message relates to earlier messages of the same hook (see docs/messages.md). */
export interface MessageThread {
  /** Sender's key (1–128 printable characters): edit the hook's message with this key, else post and remember it. */
  readonly key?: string | undefined;
  /** A message id or key of this hook: post as a reply to that message. */
  readonly replyTo?: string | undefined;
  /**
   * `replyTo` came from the bot's own `reply_to` field: a target this hook does not know is
   * refused (404), as a `PATCH` of it is. Without it (Slack's `thread_ts`, Mattermost's
   * `root_id`, whose senders use ids of their own) an unknown target posts plainly.
   */
  readonly replyRequired?: boolean | undefined;
  /**
   * A thread key (Google Chat's `threadKey`): reply to the hook's message with this key, or,
   * when there is none yet, post and remember this message as the key's.
   */
  readonly replyKey?: string | undefined;
  /** An alert group or CI run this message reports on. */
  readonly group?: MessageGroup | undefined;
}

/**
 * What the living-messages layer (src/messages/) asks delivery to do with a message's text,
 * decided when the message is accepted and carried with its queued parts, so keys and
 * targets are resolved when the part is posted: after every earlier message of the hook.
 * Formats never set it.
 */
export interface TextOp extends MessageThread {
  /** The hook whose messages keys and ids refer to. */
  readonly hook: string;
  /** `post` (default), `edit` or `remove` `target`. */
  readonly act?: "post" | "edit" | "remove" | undefined;
  /** The message id or key an edit or removal is for. */
  readonly target?: string | undefined;
  /** Any message id to reply to, used as is (an outgoing hook's answer to its trigger). */
  readonly replyId?: string | undefined;
  /** The hook's alert setting: edit the group's message, reply to it, or always post new. */
  readonly alerts?: "edit" | "reply" | "new" | undefined;
  /** The hook's mention setting: audience mentions allowed, people only, or none. */
  readonly mentions?: "all" | "people" | "none" | undefined;
  /** URL buttons of the message (on its first text part). */
  readonly buttons?: readonly (readonly MessageButton[])[] | undefined;
  /** `none`: the text already links them, so servers without buttons get nothing more. */
  readonly buttonFallback?: "links" | "none" | undefined;
}

/** A message to post into a hook's chat. */
export interface Message {
  /** The text; may be empty when attachments are present. Split at 4096 characters on delivery. */
  readonly text: string;
  /** How TrueConf renders `text`. */
  readonly parseMode: ParseMode;
  /** Photos and documents, posted after the text in this order. */
  readonly attachments: readonly Attachment[];
  /** Rows of URL buttons under the text (TrueConf 5.5.6+), else links after the text. */
  readonly buttons?: readonly (readonly MessageButton[])[] | undefined;
  /** On servers without buttons: `links` (default) appends them as links; `none` when the text already has them. */
  readonly buttonFallback?: "links" | "none" | undefined;
  /** Keys, replies and groups: how this message relates to the hook's earlier ones. */
  readonly thread?: MessageThread | undefined;
  /** Set by the living-messages layer when the message is accepted (see {@link TextOp}). */
  readonly op?: TextOp | undefined;
}
