/**
 * Typed errors of the TrueConf client and the one home of what TrueConf's error codes mean
 * (as grammY keeps its API errors in one file). Callers branch on the class and on the
 * getters, never on code lists of their own: an API error is the server's answer
 * (`transient`, `chatUnavailable`, `messageGone`, `partRejected`, `hint`), a timeout or a
 * disconnect is transient (the delivery queue retries), an auth error needs an operator.
 *
 * @module
 */
import { errorText } from "../error_text.ts";

/**
 * TrueConf `errorCode` values, named as the protocol reference §8 and the official Python
 * SDK (`trueconf/types/responses/api_error.py`) name them. SDK 1.5 (TrueConf Server 5.5.6)
 * gives "text descriptions for API error codes (399, 400–408)" and says "codes 400–408 relate
 * to files and replace the single generic code 310 ('error while sending')" (SDK 1.5.0
 * release notes, `docs/en/release_notes.md`, commit 01c95e7). The descriptions themselves
 * (1.5's `ApiError.message()` in `trueconf/types/responses/api_error.py`) are in no source
 * this project could read: every stored snapshot of that file is the 1.4 one (commits b8d5874,
 * f20c401: codes 100–312 only); 1.5's `client/bot.py` (01c95e7) maps no code itself (an HTTP
 * upload error becomes `FileUploadError` with the cause); TrueConf's openclaw channel and MCP
 * server, and the protocol reference, name none of 399–408 (checked again 2026-12-07). So
 * 400–408 are one family here, the server refusing a file: `partRejected` on `uploadFile` and
 * `sendFile`, the hint from the administrator's limits the file breaks when the client can
 * tell (client.ts), and the code itself in the message so an operator can look it up; the fake
 * answers a 5.5.6+ limit break with any of them (`fileRefusalCode`). 399, which the notes do
 * not call a file code, is an error like any other.
 */
export const TrueConfErrorCode = {
  CONNECTION_ERROR: 100,
  CONNECTION_TIMEOUT: 101,
  NOT_AUTHORIZED: 200,
  INVALID_CREDENTIALS: 201,
  USER_DISABLED: 202,
  CREDENTIALS_EXPIRED: 203,
  UNSUPPORTED_CREDENTIALS: 204,
  INTERNAL_ERROR: 300,
  TIMEOUT: 301,
  ACCESS_DENIED: 302,
  NOT_ENOUGH_RIGHTS: 303,
  CHAT_NOT_FOUND: 304,
  USER_IS_NOT_CHAT_PARTICIPANT: 305,
  MESSAGE_NOT_FOUND: 306,
  UNKNOWN_MESSAGE: 307,
  FILE_NOT_FOUND: 308,
  USER_IS_ALREADY_CHAT_PARTICIPANT: 309,
  FILE_UPLOAD_FAILED: 310,
  FILE_NOT_READY: 311,
  ROLE_NOT_FOUND: 312,
} as const;

/** The server's own trouble (network inside TrueConf, internal error, timeout): try again later. */
const TRANSIENT_CODES: ReadonlySet<number> = new Set([100, 101, 300, 301]);

/** Why the bot cannot post into a chat, by code. */
const CHAT_UNAVAILABLE: ReadonlyMap<number, string> = new Map([
  [302, "access denied"],
  [303, "the bot may not post in this chat (read-only channel?)"],
  [304, "the chat no longer exists"],
  [305, "the bot is no longer a member of this chat"],
]);

/** 310 before TrueConf Server 5.5.6; 400–408 since (SDK 1.5.0 release notes). */
function isFileRefusal(code: number): boolean {
  return code === 310 || (code >= 400 && code <= 408);
}

/** The requests a file code can answer: only there does it mean "this file". */
const FILE_METHODS: ReadonlySet<string> = new Set(["uploadFile", "sendFile"]);

/** The server answered a request with `errorCode` ≠ 0 (for example 303 read-only chat, 304 unknown chat). */
export class TrueConfApiError extends Error {
  /** Always `TrueConfApiError`. */
  override name = "TrueConfApiError";
  /** The TrueConf `errorCode` (see the protocol reference, §8). */
  readonly code: number;
  /** `errorDescription` when the server sent one. */
  readonly description?: string;
  /** The request method that failed. */
  readonly method: string;
  /**
   * Why, in words, when the client could tell more than the code says (a file refusal
   * matched against the server's upload limits: client.ts); it is then the {@link hint}.
   */
  readonly reason?: string;

  /** An error answer (`errorCode` ≠ 0) to `method`. */
  constructor(method: string, code: number, description?: string, reason?: string) {
    super(`TrueConf ${method} failed: error ${code}${description ? ` (${description})` : ""}`);
    this.method = method;
    this.code = code;
    if (description !== undefined) this.description = description;
    if (reason !== undefined) this.reason = reason;
  }

  /** TrueConf's own trouble (100, 101, 300, 301): the same request may work later. */
  get transient(): boolean {
    return TRANSIENT_CODES.has(this.code);
  }

  /**
   * The bot cannot post into this chat (302 access denied, 303 read-only, 304 no such
   * chat, 305 not a member): nothing more goes there until someone fixes the chat.
   */
  get chatUnavailable(): boolean {
    return CHAT_UNAVAILABLE.has(this.code);
  }

  /**
   * The message an edit, removal or reply points at is gone (306 MESSAGE_NOT_FOUND,
   * 307 UNKNOWN_MESSAGE: deleted, the chat cleared, or never known to this server).
   */
  get messageGone(): boolean {
    return this.code === 306 || this.code === 307;
  }

  /**
   * The server refused this file (310 before 5.5.6; 400–408 since, to `uploadFile` or
   * `sendFile`): its size or type breaks the administrator's limits, or the upload went
   * wrong. Only this part fails; the rest still goes.
   */
  get partRejected(): boolean {
    return isFileRefusal(this.code) && FILE_METHODS.has(this.method);
  }

  /** A short human reason for the code, or `null` when there is nothing to add. */
  get hint(): string | null {
    if (this.reason) return this.reason;
    const chat = CHAT_UNAVAILABLE.get(this.code);
    if (chat) return chat;
    if (this.messageGone) return "the message no longer exists";
    // 310 is "error while sending" (limits broken, unknown upload task); 400–408 name the
    // cause on 5.5.6+, but which code is which is not published (SDK 1.5.0 notes).
    if (this.partRejected) {
      return this.code === 310
        ? "TrueConf refused this file (its size or type may break the administrator's limits)"
        : `TrueConf refused this file (a file error of TrueConf Server 5.5.6+: its size or ` +
          `type may break the administrator's limits; the server's log names the cause)`;
    }
    return null;
  }
}

/** No response within the request timeout; the request may or may not have taken effect. */
export class TrueConfTimeoutError extends Error {
  /** Always `TrueConfTimeoutError`. */
  override name = "TrueConfTimeoutError";
  /** The request method that got no answer. */
  readonly method: string;
  /**
   * For a request sent to be answered late too (a post): resolves with the answer's payload if
   * TrueConf answers after all on the same socket, rejects when the socket closes first or
   * the wait for late answers ends. Absent: nothing more will be heard of this request.
   */
  readonly late: Promise<unknown> | undefined;

  /** `method` got no answer within `timeoutMs`; `detail` says what was known then. */
  constructor(method: string, timeoutMs: number, detail?: string, late?: Promise<unknown>) {
    super(`TrueConf ${method}: no response within ${timeoutMs} ms${detail ? ` (${detail})` : ""}`);
    this.method = method;
    this.late = late;
  }
}

/**
 * The socket is not connected and authorised, or dropped while the request was in flight.
 * Raised at once, never after waiting for a reconnect: the caller decides whether to retry.
 */
export class TrueConfDisconnectedError extends Error {
  /** Always `TrueConfDisconnectedError`. */
  override name = "TrueConfDisconnectedError";
}

/**
 * Credentials are wrong or unusable: OAuth 401/403, or `auth` answered 201 (invalid
 * credentials), 202 (user disabled), 204 (unsupported token type), or 203 for a static
 * token. Permanent until an operator fixes the configuration.
 */
export class TrueConfAuthError extends Error {
  /** Always `TrueConfAuthError`. */
  override name = "TrueConfAuthError";
  /** The TrueConf `errorCode` of a failed `auth`, or the HTTP status of a failed OAuth call. */
  readonly code?: number;

  /** Credentials refused; `code` is TrueConf's when it sent one. */
  constructor(message: string, code?: number) {
    super(message);
    if (code !== undefined) this.code = code;
  }
}

/**
 * An HTTP call to TrueConf (OAuth, file upload) failed for a reason other than bad
 * credentials: network error, 5xx, unexpected body. Usually transient.
 */
export class TrueConfHttpError extends Error {
  /** Always `TrueConfHttpError`. */
  override name = "TrueConfHttpError";
  /** HTTP status, or `null` when no response arrived. */
  readonly status: number | null;
  /** TrueConf's `error` code from a JSON error body (for example 310 for an unknown upload task). */
  readonly code?: number;

  /** An HTTP-side failure; `status` is null when no answer came. */
  constructor(message: string, status: number | null, code?: number) {
    super(message);
    this.status = status;
    if (code !== undefined) this.code = code;
  }

  /**
   * No answer, a timeout, 408, 429 or a 5xx: the server's state, not the request's, so the
   * same request may work later.
   */
  get transient(): boolean {
    const s = this.status;
    return s === null || s >= 500 || s === 408 || s === 429;
  }

  /**
   * The upload endpoint refused this file (another 4xx, or a TrueConf file code in the
   * body): it will refuse it again, so only this part fails.
   */
  get partRejected(): boolean {
    return !this.transient || (this.code !== undefined && isFileRefusal(this.code));
  }
}

/** A success response lacked a field the client needs (for example `uploadTaskId`). */
export class TrueConfProtocolError extends Error {
  /** Always `TrueConfProtocolError`. */
  override name = "TrueConfProtocolError";
  /** The request method whose answer was unusable. */
  readonly method: string;

  /** An answer to `method` that breaks the protocol. */
  constructor(method: string, message: string) {
    super(`TrueConf ${method}: ${message}`);
    this.method = method;
  }
}

/** Any error the TrueConf client raises (a KV or programming error is not one). */
export function isTrueConfError(e: unknown): boolean {
  return e instanceof TrueConfApiError || e instanceof TrueConfTimeoutError ||
    e instanceof TrueConfDisconnectedError || e instanceof TrueConfProtocolError ||
    e instanceof TrueConfHttpError || e instanceof TrueConfAuthError;
}

const SERVER_TROUBLE = "TrueConf Server's own trouble: try again later; its log names the cause";

/**
 * What an operator checks when TrueConf's upload endpoint refuses a file with HTTP `status`
 * (_upload.ts puts it in the error's text, read in logs and by `check-config --send-test`).
 */
export function uploadRefusalAdvice(status: number): string {
  if (status === 413) {
    return "the file is larger than TrueConf Server (or a proxy in front of it) takes: the " +
      "administrator's file size limit";
  }
  if (status >= 500 || status === 408 || status === 429) return SERVER_TROUBLE;
  return "TrueConf refused the file: its size or type may break the administrator's limits; " +
    "TrueConf Server's log names the cause";
}

/** What the operator checks when `auth` refuses the bot's token, by TrueConf's code. */
const AUTH_ADVICE: ReadonlyMap<number, string> = new Map([
  [
    201,
    "the server does not accept the bot's token: check TRUECONF_USERNAME and TRUECONF_PASSWORD " +
    "(or TRUECONF_TOKEN), and that TRUECONF_SERVER is the server that issued it",
  ],
  [
    202,
    "the bot's account is disabled on TrueConf Server: enable it in the administrator's panel",
  ],
  [
    203,
    "the token has expired: set a new TRUECONF_TOKEN, or TRUECONF_USERNAME and TRUECONF_PASSWORD " +
    "so the bot renews its token itself",
  ],
  [
    204,
    "the server does not take this kind of token for a chat bot: set TRUECONF_USERNAME and " +
    "TRUECONF_PASSWORD of the bot's account instead of TRUECONF_TOKEN",
  ],
]);

/**
 * The sentence an operator reads for an error of the TrueConf client (`check-config`'s lines):
 * the error's text (errorText) and, where the error tells, what to check. Errors whose text
 * already says what to change keep it as it is: a refused login (oauth.ts), a network or TLS
 * problem (`explainNetworkError`), a refused upload (_upload.ts).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   trueConfErrorSentence(new TrueConfApiError("auth", 202, "User is disabled")),
 *   "TrueConf auth failed: error 202 (User is disabled) — the bot's account is disabled on " +
 *     "TrueConf Server: enable it in the administrator's panel",
 * );
 * ```
 */
export function trueConfErrorSentence(e: unknown): string {
  const text = errorText(e);
  const advice = adviceFor(e);
  return advice ? `${text} — ${advice}` : text;
}

function adviceFor(e: unknown): string | null {
  if (e instanceof TrueConfApiError) {
    if (e.method === "auth" && AUTH_ADVICE.has(e.code)) return AUTH_ADVICE.get(e.code)!;
    return e.hint ?? (e.transient ? SERVER_TROUBLE : null);
  }
  if (e instanceof TrueConfTimeoutError) {
    return "TrueConf Server did not answer in time: check that it runs and is not overloaded, " +
      "and that nothing between this machine and it holds the connection up";
  }
  if (e instanceof TrueConfDisconnectedError) {
    return "the connection to TrueConf closed: check that TrueConf Server runs, then try again";
  }
  if (e instanceof TrueConfProtocolError) {
    return "TrueConf answered in a way this bot does not know: check that TRUECONF_SERVER is " +
      "TrueConf Server 5.5 or later";
  }
  return null;
}
