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
  | { readonly kind: "text"; readonly text: string };

/** What an adapter sees of the request besides the body. */
export interface PayloadInput {
  readonly body: RequestBody;
  /** Lower-cased header names. */
  readonly headers: ReadonlyMap<string, string>;
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
  | "gitlab";

/**
 * How to answer the sender on success. `json`: `{ok:true, messages:[…]}`;
 * `slack_ok`: `200 text/plain` body `ok` exactly (Slack/Mattermost senders check it).
 */
export type ReplyStyle = "json" | "slack_ok";

/** A successfully parsed payload. */
export interface ParsedPayload {
  readonly format: FormatName;
  readonly message: Message;
  readonly reply: ReplyStyle;
}

/** A client error with a stable machine code and a human sentence (HTTP 4xx). */
export class PayloadError extends Error {
  override readonly name = "PayloadError";
  /**
   * @param code stable machine code, e.g. `invalid_json`, `empty_payload`
   * @param message one human sentence saying what is wrong and what to send instead
   * @param status HTTP status, 400 unless said otherwise (413, 415 …)
   */
  constructor(readonly code: string, message: string, readonly status = 400) {
    super(message);
  }
}

/** One input format. `detect` must be cheap and side-effect free. */
export interface FormatAdapter {
  readonly name: FormatName;
  /** True when this body (and headers) look like this format. */
  detect(input: PayloadInput): boolean;
  /** Turns the body into a Message, or throws {@link PayloadError}. */
  parse(input: PayloadInput): ParsedPayload;
}
