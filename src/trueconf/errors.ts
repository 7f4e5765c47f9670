/**
 * Typed errors of the TrueConf client. Callers branch on the class: an API error is the
 * server's answer (retrying the same request rarely helps), a timeout or a disconnect is
 * transient (the delivery queue retries), an auth error needs an operator.
 *
 * @module
 */

/** The server answered a request with `errorCode` ≠ 0 (for example 303 read-only chat, 304 unknown chat). */
export class TrueConfApiError extends Error {
  override name = "TrueConfApiError";
  /** The TrueConf `errorCode` (see the protocol reference, §8). */
  readonly code: number;
  /** `errorDescription` when the server sent one. */
  readonly description?: string;
  /** The request method that failed. */
  readonly method: string;

  constructor(method: string, code: number, description?: string) {
    super(`TrueConf ${method} failed: error ${code}${description ? ` (${description})` : ""}`);
    this.method = method;
    this.code = code;
    if (description !== undefined) this.description = description;
  }
}

/** No response within the request timeout; the request may or may not have taken effect. */
export class TrueConfTimeoutError extends Error {
  override name = "TrueConfTimeoutError";
  readonly method: string;

  constructor(method: string, timeoutMs: number, detail?: string) {
    super(`TrueConf ${method}: no response within ${timeoutMs} ms${detail ? ` (${detail})` : ""}`);
    this.method = method;
  }
}

/**
 * The socket is not connected and authorised, or dropped while the request was in flight.
 * Raised at once, never after waiting for a reconnect: the caller decides whether to retry.
 */
export class TrueConfDisconnectedError extends Error {
  override name = "TrueConfDisconnectedError";
}

/**
 * Credentials are wrong or unusable: OAuth 401/403, or `auth` answered 201 (invalid
 * credentials), 202 (user disabled), 204 (unsupported token type), or 203 for a static
 * token. Permanent until an operator fixes the configuration.
 */
export class TrueConfAuthError extends Error {
  override name = "TrueConfAuthError";
  /** The TrueConf `errorCode` of a failed `auth`, or the HTTP status of a failed OAuth call. */
  readonly code?: number;

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
  override name = "TrueConfHttpError";
  /** HTTP status, or `null` when no response arrived. */
  readonly status: number | null;
  /** TrueConf's `error` code from a JSON error body (for example 310 for an unknown upload task). */
  readonly code?: number;

  constructor(message: string, status: number | null, code?: number) {
    super(message);
    this.status = status;
    if (code !== undefined) this.code = code;
  }
}

/** A success response lacked a field the client needs (for example `uploadTaskId`). */
export class TrueConfProtocolError extends Error {
  override name = "TrueConfProtocolError";
  readonly method: string;

  constructor(method: string, message: string) {
    super(`TrueConf ${method}: ${message}`);
    this.method = method;
  }
}
