/**
 * The one error type of the safe fetcher, with a stable machine code and a flag that
 * tells the delivery queue whether a retry could help.
 *
 * @module
 */

import { formatSize } from "../bytes.ts";

/** Stable machine codes of {@link SafeFetchError}. */
export type SafeFetchErrorCode =
  | "invalid_url"
  | "unsafe_url"
  | "dns_failed"
  | "connect_failed"
  | "timeout"
  | "too_many_redirects"
  | "http_error"
  | "too_large"
  | "not_an_image";

// What a retry can change: the network can come back, a policy or a file size cannot.
const PERMANENT_BY_DEFAULT: Record<SafeFetchErrorCode, boolean> = {
  invalid_url: true,
  unsafe_url: true,
  dns_failed: false,
  connect_failed: false,
  timeout: false,
  too_many_redirects: true,
  http_error: true,
  too_large: true,
  not_an_image: true,
};

/** Options of the {@link SafeFetchError} constructor. */
export interface SafeFetchErrorOptions {
  /** Overrides the code's default (see {@link SafeFetchError.permanent}). */
  permanent?: boolean;
  /** HTTP status, for `http_error`. */
  status?: number;
  /** The underlying error (network, DNS, …), kept for logs. */
  cause?: unknown;
}

/**
 * Why a URL was refused or could not be fetched.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { safeFetch } from "./safe_fetch.ts";
 *
 * try {
 *   await safeFetch("http://169.254.169.254/latest/meta-data/", { maxBytes: 1 << 20 });
 *   assert.fail("the metadata address is refused before any connection");
 * } catch (e) {
 *   assert(e instanceof SafeFetchError);
 *   assert.equal(e.code, "unsafe_url");
 *   assert.equal(e.permanent, true); // a transient one (timeout, 5xx) is worth a retry
 * }
 * ```
 */
export class SafeFetchError extends Error {
  /** Always `SafeFetchError`. */
  override readonly name = "SafeFetchError";
  /** Stable machine code. */
  readonly code: SafeFetchErrorCode;
  /**
   * `true`: retrying won't help (unsafe URL, 404, too large, not an image);
   * `false`: transient (timeouts, 5xx, 408/429, connection failures).
   */
  readonly permanent: boolean;
  /** The HTTP status of an `http_error`. */
  readonly status?: number;

  /** An error with a stable `code` and a sentence a user can act on. */
  constructor(code: SafeFetchErrorCode, message: string, options: SafeFetchErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.permanent = options.permanent ?? PERMANENT_BY_DEFAULT[code];
    if (options.status !== undefined) this.status = options.status;
  }
}

/**
 * `too_large` for `what` ("the file", "the answer"): of `size` bytes when it was declared, or
 * of a size not known until the stream crossed `max`.
 */
export function tooLarge(what: string, size: number | null, max: number): SafeFetchError {
  const limit = `the limit of ${formatSize(max)}`;
  return new SafeFetchError(
    "too_large",
    size === null
      ? `${what} is larger than ${limit}`
      : `${what} is ${formatSize(size)}${size < 1024 ? "" : ` (${size} bytes)`}, over ${limit}`,
  );
}
