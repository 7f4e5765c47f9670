/**
 * `safeRequest`: one request with a body (an outgoing webhook's POST) to a user-supplied URL
 * through the same SSRF guard as {@link safeFetch}: {@link checkUrl}, one checked DNS answer,
 * a socket pinned to a checked address, a total time limit and a cap on the answer. Unlike
 * `safeFetch` it never follows a redirect (a 3xx is returned as it is, for the caller to call
 * a failure) and returns any status with its headers and body, since the caller decides what
 * a 4xx or 5xx means.
 *
 * @module
 */

import type { IncomingHttpHeaders } from "node:http";
import type { Allowlist } from "./allowlist.ts";
import { loadAddressClasses } from "./address_policy.ts";
import { checkLoadedUrl } from "./check_url.ts";
import { readBody, requestFirstReachable } from "./_pinned_request.ts";
import { abortable, resolveChecked } from "./safe_fetch.ts";
import { SafeFetchError } from "./safe_fetch_error.ts";

/** Options of {@link safeRequest}. */
export interface SafeRequestOptions {
  /** Default `POST`. */
  method?: string;
  /** Request headers (Host, Content-Length and Connection are set here). */
  headers: Record<string, string>;
  /** The body. */
  body?: Uint8Array;
  /** Internal hosts and ranges the operator allows (`WEBHOOK_URL_ALLOWLIST`). */
  allowlist?: Allowlist | undefined;
  /** Largest answer body read; a longer one fails with `too_large`. */
  maxResponseBytes: number;
  /** Time for everything: DNS, connect, the answer's headers and body. */
  timeoutMs: number;
  /** Time to establish the TCP connection. Default min(5 000, timeoutMs). */
  connectTimeoutMs?: number;
  /** Host name resolver (tests); default the system resolver, as `safeFetch`. */
  resolve?: ((hostname: string) => Promise<string[]>) | undefined;
  /** Cancels the request; the promise then rejects with `signal.reason`. */
  signal?: AbortSignal | undefined;
}

/** An answer of any status. */
export interface SafeResponse {
  /** HTTP status. */
  status: number;
  /** Response headers, lower-case names (node's shape: `set-cookie` is a list). */
  headers: IncomingHttpHeaders;
  /** The body, at most `maxResponseBytes`. */
  body: Uint8Array;
}

/**
 * Sends one request through the SSRF guard and returns the answer, whatever its status.
 * Throws {@link SafeFetchError} (`invalid_url`, `unsafe_url`, `dns_failed`,
 * `connect_failed`, `timeout`, `too_large`) or `signal.reason`.
 *
 * @example
 * ```ts
 * async function notify(body: Uint8Array): Promise<number> {
 *   const res = await safeRequest("https://ci.example.com/hooks/chat", {
 *     headers: { "Content-Type": "application/json" },
 *     body,
 *     maxResponseBytes: 1 << 20,
 *     timeoutMs: 5_000,
 *   });
 *   return res.status; // a 302 is returned as 302, never followed
 * }
 * ```
 */
export async function safeRequest(url: string, options: SafeRequestOptions): Promise<SafeResponse> {
  const outer = options.signal;
  if (outer?.aborted) throw outer.reason;
  const controller = new AbortController();
  const timer = setTimeout(() => {
    controller.abort(
      new SafeFetchError("timeout", `no complete answer within ${options.timeoutMs} ms`),
    );
  }, options.timeoutMs);
  const onOuterAbort = () => controller.abort(outer?.reason);
  outer?.addEventListener("abort", onOuterAbort, { once: true });
  const signal = controller.signal;
  try {
    await loadAddressClasses(); // the first request loads ipaddr.js (address_policy.ts says why)
    const target = checkLoadedUrl(url, options.allowlist);
    const addresses = await abortable(
      resolveChecked(target, {
        maxBytes: options.maxResponseBytes,
        ...(options.allowlist ? { allowlist: options.allowlist } : {}),
        ...(options.resolve ? { resolve: options.resolve } : {}),
      }, signal),
      signal,
    );
    const headers = { ...options.headers, "Host": target.host, "Connection": "close" };
    const res = await requestFirstReachable(target, addresses, {
      headers,
      method: options.method ?? "POST",
      ...(options.body ? { body: options.body } : {}),
      connectTimeoutMs: options.connectTimeoutMs ?? Math.min(5_000, options.timeoutMs),
      signal,
    });
    const body = await readBody(res, options.maxResponseBytes, signal, "the answer");
    return { status: res.statusCode ?? 0, headers: res.headers, body };
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener("abort", onOuterAbort);
  }
}
