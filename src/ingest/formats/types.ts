/**
 * The contract between the HTTP layer and the payload adapters: the HTTP layer reads
 * the body (with its size limit) and decodes it by content type into a {@link RequestBody};
 * detection picks one adapter; the adapter turns the body into a {@link Message}.
 *
 * @module
 */
import type { Message } from "../../message.ts";

/** An uploaded file part of a multipart body. */
export interface UploadedFile {
  /** The form field name (`image`, `file`, `file01`, …). */
  readonly field: string;
  /** File name from Content-Disposition (`filename*` RFC 5987 preferred); may be empty. */
  readonly filename: string;
  /** Content-Type of the part; empty when absent. */
  readonly contentType: string;
  /** The part's content, exactly as sent. */
  readonly bytes: Uint8Array;
}

/** A request body decoded by content type. */
export type RequestBody =
  | { readonly kind: "json"; readonly value: unknown }
  | {
    readonly kind: "form";
    /** Every value of every non-file field, in order. */
    readonly fields: ReadonlyMap<string, readonly string[]>;
    /** Only for multipart bodies. */
    readonly files: readonly UploadedFile[];
  }
  | { readonly kind: "text"; readonly text: string }
  /**
   * A batch of records, as log shippers send them: a JSON array (Fluent Bit `format json`,
   * Vector's `json` codec), or JSON values one after another (NDJSON, `application/x-ndjson`:
   * Fluent Bit `json_lines`, Vector `newline_delimited`; or concatenated: Fluent Bit
   * `json_stream`). Only the `logs` format reads it.
   */
  | {
    readonly kind: "records";
    readonly records: readonly unknown[];
    /** `array` for a JSON array; `lines` for values one after another. */
    readonly framing: "array" | "lines";
  }
  /**
   * The body exactly as received, not decoded. The HTTP layer passes this for an ntfy publish
   * (see `ntfy.ts` `isNtfyPublish`), whose body may be a binary upload of any type.
   */
  | { readonly kind: "raw"; readonly bytes: Uint8Array; readonly contentType: string };

/**
 * Pseudo-header set by the HTTP layer in {@link PayloadInput.headers}: `hooks` when the
 * request came via the Mattermost-style `/hooks/<token>` (it strips any client-sent header of
 * that name first).
 */
export const ROUTE_HEADER = "x-webhook-route";

/** What an adapter sees of the request besides the body. */
export interface PayloadInput {
  /** The decoded body (or the raw one for an ntfy publish). */
  readonly body: RequestBody;
  /** Lower-cased header names. */
  readonly headers: ReadonlyMap<string, string>;
  /**
   * Query parameters of the request URL (first value of each), for dialects that carry
   * message fields there (ntfy `?title=`, Google Chat `?threadKey=`). Absent in older callers.
   */
  readonly query?: ReadonlyMap<string, string> | undefined;
}

/** Names of the formats the endpoint understands (`?format=<name>` forces one). */
export type FormatName =
  | "native"
  | "slack"
  | "mattermost"
  | "alertmanager"
  | "grafana"
  | "apprise"
  | "github"
  | "gitlab"
  | "jenkins"
  | "uptimekuma"
  | "discord"
  | "teams"
  | "googlechat"
  | "ntfy"
  | "gotify"
  | "rocketchat"
  | "logs";

/**
 * How to answer the sender on success; each sender checks its own service's answer
 * (`answer.ts` builds them). `json`: `{ok:true, messages:[…]}` (202 when queued);
 * `slack_ok`: `200 text/plain` body `ok` exactly (Slack/Mattermost senders check it);
 * `discord`: `204`, or with `?wait=true` `200 {id, channel_id, content, timestamp}`;
 * `teams_connector`: `200 text/plain` `1` (the Office 365 connector's answer);
 * `teams_workflow`: `202` (Power Automate Workflows), body `1` for older Grafana;
 * `googlechat`, `ntfy`, `gotify`: the service's message JSON; `rocketchat`: `{"success":true}`.
 */
export type ReplyStyle =
  | "json"
  | "slack_ok"
  | "discord"
  | "teams_connector"
  | "teams_workflow"
  | "googlechat"
  | "ntfy"
  | "gotify"
  | "rocketchat";

/**
 * What a dialect's answer repeats of the request (ntfy, Gotify and Google Chat answer with the
 * message they stored; Discord's `?wait=true` answer carries `content`). Plain sender values,
 * never rendered Markdown.
 */
export interface ReplyEcho {
  /** The title as sent (ntfy, Gotify). */
  readonly title?: string | undefined;
  /** The message as sent, before rendering (Discord `content`, ntfy/Gotify `message`, Google Chat `text`). */
  readonly message?: string | undefined;
  /** ntfy topic / Gotify has none. */
  readonly topic?: string | undefined;
  /** ntfy 1–5 or Gotify's number. */
  readonly priority?: number | undefined;
  /** ntfy tags as sent. */
  readonly tags?: readonly string[] | undefined;
  /** ntfy `Click` URL. */
  readonly click?: string | undefined;
  /** Google Chat thread key (`?threadKey=`), echoed in the answer's `thread`. */
  readonly threadKey?: string | undefined;
  /** Gotify `extras`, echoed as sent. */
  readonly extras?: Readonly<Record<string, unknown>> | undefined;
  /** ntfy: the attachment of the publish (an upload, or an `Attach` URL). */
  readonly attachment?:
    | {
      readonly name: string;
      readonly type?: string;
      readonly size?: number;
      readonly url?: string;
    }
    | undefined;
  /** ntfy: `text/markdown` for a Markdown publish. */
  readonly contentType?: string | undefined;
  /** Discord `username` (the answer's `author.username`). */
  readonly username?: string | undefined;
  /** Discord embeds as sent (the answer's `embeds`). */
  readonly embeds?: readonly Readonly<Record<string, unknown>>[] | undefined;
  /** Discord uploads (the answer's `attachments`). */
  readonly files?:
    | readonly { readonly filename: string; readonly size: number; readonly type?: string }[]
    | undefined;
}

/** A successfully parsed payload. */
export interface ParsedPayload {
  /** The adapter that read the body. */
  readonly format: FormatName;
  /** What to post. */
  readonly message: Message;
  /** How to answer the sender (see `answer.ts`). */
  readonly reply: ReplyStyle;
  /** What the answer echoes (see {@link ReplyEcho}); only for dialects whose answer needs it. */
  readonly echo?: ReplyEcho | undefined;
  /** Parts of the request that were not read, named in the bot's own JSON answer. */
  readonly ignored?: IgnoredParts | undefined;
}

/**
 * Parts of a request the format does not read (issue 4: "unknown parts ignored"), told to the
 * sender so that an upload under another field name does not vanish without a word.
 */
export interface IgnoredParts {
  /** The ignored parts' names (`["attachment1", "title"]`). */
  readonly parts: readonly string[];
  /** One sentence naming them and what is read instead. */
  readonly note: string;
}

/** A client error with a stable machine code and a human sentence (HTTP 4xx). */
export class PayloadError extends Error {
  /** Always `PayloadError`. */
  override readonly name = "PayloadError";
  /**
   * A refusal of the request with its reason.
   *
   * @param code stable machine code, e.g. `invalid_json`, `empty_payload`
   * @param message one human sentence saying what is wrong and what to send instead
   * @param status HTTP status, 400 unless said otherwise (413, 415 …)
   * @param ignored parts of the request the format did not read, named in the answer
   *   (`ignored`, `note`) when they are the likely cause (nothing else to post)
   */
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    readonly ignored?: IgnoredParts,
  ) {
    super(message);
  }
}

/**
 * The refusal of a batch of records (a JSON array, NDJSON) by a format that reads one message:
 * only the `logs` format reads batches (`?format=<name>` with such a body lands here).
 */
export function batchRefused(format: FormatName): PayloadError {
  return new PayloadError(
    "invalid_payload",
    `The body is a batch of records (a JSON array or NDJSON), which the ${format} format does ` +
      'not read: send one JSON object like {"text":"hello"}, or the batch with ?format=logs.',
  );
}

/** One input format. `detect` must be cheap and side-effect free. */
export interface FormatAdapter {
  /** The `?format=` name. */
  readonly name: FormatName;
  /** True when this body (and headers) look like this format. */
  detect(input: PayloadInput): boolean;
  /** Turns the body into a Message, or throws {@link PayloadError}. */
  parse(input: PayloadInput): ParsedPayload;
}
