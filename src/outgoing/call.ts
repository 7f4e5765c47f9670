/**
 * One attempt of an outgoing call: sign, POST through the SSRF guard (no redirects, answer
 * capped at 1 MiB, one time limit for everything), and classify what happened the way the
 * retry policy needs it:
 *
 * - `answered`: a 2xx; its body is the service's answer;
 * - `retry`: network errors (DNS included), timeouts, 5xx, 408 and 429 (with `Retry-After`,
 *   at most 10 min);
 * - `refused`: any other status (3xx included: redirects are not followed; 4xx): never retried;
 * - `failed`: retrying cannot help (the URL became unsafe, the answer is too large).
 *
 * Every attempt, an event's call or a `/webhook_test` ping, is reported the same way
 * ({@link reportAttempt}): one log line, `/metrics`, the hook's `/webhook_info` history.
 *
 * @module
 */

import type { Logger } from "../log.ts";
import { type Allowlist, SafeFetchError, safeRequest } from "../net/mod.ts";
import { maskUrl } from "../hooks/replies.ts";
import { VERSION } from "../version.ts";
import { signatureHeaders } from "./signing.ts";

/** Largest answer read from a service. */
export const MAX_ANSWER_BYTES = 1024 * 1024;
/** Longest `Retry-After` honoured. */
export const MAX_RETRY_AFTER_MS = 10 * 60_000;

/** What one attempt needs. */
export interface CallRequest {
  /** Where to POST. */
  url: string;
  /** The event id (`webhook-id`), stable across retries. */
  id: string;
  /** The JSON body, byte for byte the same on every attempt. */
  body: string;
  /** Current secret first, then the old one during a rotation. */
  secrets: readonly string[];
}

/** Options of {@link callOnce}. */
export interface CallOptions {
  /** Per-attempt limit (`WEBHOOK_OUTGOING_TIMEOUT_SECONDS`). */
  timeoutMs: number;
  /** `WEBHOOK_URL_ALLOWLIST`. */
  allowlist?: Allowlist | undefined;
  /** Resolver for tests. */
  resolve?: ((host: string) => Promise<string[]>) | undefined;
  /** Clock; signs with its time. */
  now?: () => number;
  /** Cancels the attempt (revoke, shutdown). */
  signal?: AbortSignal | undefined;
}

/** How an attempt ended. */
export type CallResult =
  | {
    kind: "answered";
    status: number;
    latencyMs: number;
    body: Uint8Array;
    contentType: string | null;
    /** The answer's `Content-Encoding` (gzip, …), or null: the body is as received. */
    contentEncoding: string | null;
  }
  | {
    kind: "retry";
    status: number | null;
    latencyMs: number;
    reason: string;
    retryAfterMs: number | null;
  }
  | { kind: "refused"; status: number; latencyMs: number; reason: string; body: Uint8Array }
  | { kind: "failed"; status: number | null; latencyMs: number; reason: string };

/**
 * `Retry-After` in ms (delta seconds or an HTTP date), capped at 10 min; null when absent
 * or unreadable.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(retryAfterMs("30", 0), 30_000);
 * assert.equal(retryAfterMs("86400", 0), 600_000);
 * assert.equal(retryAfterMs(new Date(90_000).toUTCString(), 60_000), 30_000);
 * assert.equal(retryAfterMs("soon", 0), null);
 * ```
 */
export function retryAfterMs(value: string | undefined | null, now: number): number | null {
  if (!value) return null;
  const v = value.trim();
  let ms: number;
  if (/^\d+$/.test(v)) ms = Number(v) * 1000;
  else {
    const at = Date.parse(v);
    if (!Number.isFinite(at)) return null;
    ms = at - now;
  }
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}

/** The first line of a body as text, at most 200 characters (for status replies). */
export function firstLine(body: Uint8Array): string {
  const text = new TextDecoder().decode(body.subarray(0, 4096)).trim();
  const line = text.split(/\r?\n/, 1)[0] ?? "";
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}

/**
 * Makes one signed attempt. Never throws for what the service or the network does (that
 * is in the result); rethrows only the caller's own abort.
 */
export async function callOnce(req: CallRequest, options: CallOptions): Promise<CallResult> {
  const now = options.now ?? Date.now;
  const started = performance.now();
  const body = new TextEncoder().encode(req.body);
  const headers = {
    "Content-Type": "application/json",
    "User-Agent": `trueconf-webhook-bot/${VERSION}`,
    ...signatureHeaders(req.id, new Date(now()), body, req.secrets),
  };
  const elapsed = () => Math.round(performance.now() - started);
  let res;
  try {
    res = await safeRequest(req.url, {
      method: "POST",
      headers,
      body,
      allowlist: options.allowlist,
      resolve: options.resolve,
      maxResponseBytes: MAX_ANSWER_BYTES,
      timeoutMs: options.timeoutMs,
      signal: options.signal,
    });
  } catch (e) {
    if (options.signal?.aborted) throw options.signal.reason;
    if (!(e instanceof SafeFetchError)) throw e;
    const latencyMs = elapsed();
    if (e.code === "timeout") {
      return {
        kind: "retry",
        status: null,
        latencyMs,
        reason: `did not answer within ${Math.round(options.timeoutMs / 1000)} s`,
        retryAfterMs: null,
      };
    }
    if (e.code === "too_large") {
      return { kind: "failed", status: null, latencyMs, reason: "answered with more than 1 MiB" };
    }
    // A name that stops resolving is a network error here (issue 12 retries those): the URL
    // resolved when the hook was created, so DNS trouble now (a record moved during a deploy,
    // a resolver answering NXDOMAIN for a while) passes, unlike a mistyped attachment host.
    if (e.permanent && e.code !== "dns_failed") {
      return { kind: "failed", status: null, latencyMs, reason: e.message };
    }
    return { kind: "retry", status: null, latencyMs, reason: e.message, retryAfterMs: null };
  }
  const latencyMs = elapsed();
  const status = res.status;
  const contentType = headerValue(res.headers["content-type"]);
  if (status >= 200 && status <= 299) {
    const contentEncoding = headerValue(res.headers["content-encoding"]);
    return { kind: "answered", status, latencyMs, body: res.body, contentType, contentEncoding };
  }
  if (status >= 500 || status === 408 || status === 429) {
    return {
      kind: "retry",
      status,
      latencyMs,
      reason: `answered ${status}`,
      retryAfterMs: retryAfterMs(headerValue(res.headers["retry-after"]), now()),
    };
  }
  const reason = status >= 300 && status <= 399
    ? `answered ${status} (a redirect; redirects are not followed)`
    : `answered ${status}`;
  return { kind: "refused", status, latencyMs, reason, body: res.body };
}

function headerValue(v: string | string[] | undefined): string | null {
  if (v === undefined) return null;
  return Array.isArray(v) ? v[0] ?? null : v;
}

/** Counters for `/metrics`. */
export interface OutgoingMetrics {
  /** One finished attempt: outcome and seconds. */
  observe(outcome: "answered" | "retry" | "refused" | "failed", seconds: number): void;
}

/** Where an attempt is reported. */
export interface AttemptSinks {
  /** The operator's log: one `outgoing call` line per attempt. */
  logger: Logger;
  /** `/metrics`: attempts by outcome, with their latency. */
  metrics?: OutgoingMetrics | undefined;
  /** The hook's `/webhook_info` history (status 0: no answer). */
  recordRequest?:
    | ((
      hookId: string,
      entry: { status: number; format: string; outcome: string; error?: string | undefined },
    ) => void)
    | undefined;
}

/**
 * Reports one attempt: a log line with hook id, masked URL, event type and id, status,
 * duration, attempt and outcome (and the reason when it failed), the `/metrics` counters, and
 * an entry in the hook's history. `outcome` is what became of the attempt (a ping is never
 * retried: its retryable failure is `failed`); the error code says why (`http_503`,
 * `unreachable`, `call_failed`).
 */
export function reportAttempt(
  to: AttemptSinks,
  a: { hookId: string; url: string; event: string; id: string; attempt: number },
  res: CallResult,
  outcome: CallResult["kind"] = res.kind,
): void {
  to.metrics?.observe(outcome, res.latencyMs / 1000);
  to.logger[outcome === "answered" ? "info" : "warn"]("outgoing call", {
    hook: a.hookId,
    url: maskUrl(a.url),
    event: a.event,
    id: a.id,
    status: res.status,
    durationMs: res.latencyMs,
    attempt: a.attempt,
    outcome,
    ...(res.kind !== "answered" ? { reason: res.reason } : {}),
  });
  to.recordRequest?.(a.hookId, {
    status: res.status ?? 0,
    format: a.event,
    outcome,
    error: attemptError(res),
  });
}

/** The error code of an attempt (none when answered). */
export function attemptError(res: CallResult): string | undefined {
  return res.kind === "answered"
    ? undefined
    : res.kind === "failed"
    ? "call_failed"
    : res.status
    ? `http_${res.status}`
    : "unreachable";
}
