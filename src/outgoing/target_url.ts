/**
 * An outgoing hook's URL: checked by the SSRF guard when the hook is created (the same
 * rules as every outbound fetch: http/https, no credentials, public unicast addresses only
 * unless `WEBHOOK_URL_ALLOWLIST` opens internal ones, checked again on every call), and
 * shown masked wherever chat members can read it.
 *
 * @module
 */

import { type Allowlist, checkUrl, resolveChecked, SafeFetchError } from "../net/mod.ts";

/**
 * The URL with its query (which often holds a key) replaced by `?…`: scheme, host and path
 * stay, so members can tell hooks apart.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(maskUrl("https://ci.example.com/hooks/chat?key=s3cret"), "https://ci.example.com/hooks/chat?…");
 * assert.equal(maskUrl("http://10.0.0.5:8080/x"), "http://10.0.0.5:8080/x");
 * ```
 */
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}${u.search ? "?…" : ""}`;
  } catch {
    return "(invalid URL)";
  }
}

/** Outcome of {@link checkTargetUrl}. */
export type TargetCheck = { ok: true; url: string } | { ok: false; reason: string };

/**
 * Checks a URL a member gave at creation: the sync rules, then one DNS lookup whose every
 * answer must be allowed. A name that does not exist is refused (most often a typo); a
 * DNS server that does not answer is not (the call will be checked again anyway).
 */
export async function checkTargetUrl(
  url: string,
  options: {
    allowlist?: Allowlist | undefined;
    resolve?: ((host: string) => Promise<string[]>) | undefined;
    timeoutMs?: number;
  } = {},
): Promise<TargetCheck> {
  let parsed: URL;
  try {
    parsed = await checkUrl(url, options.allowlist);
  } catch (e) {
    if (e instanceof SafeFetchError) {
      return { ok: false, reason: e.message.replace("attachment ", "") };
    }
    throw e;
  }
  const signal = AbortSignal.timeout(options.timeoutMs ?? 5_000);
  try {
    await resolveChecked(parsed, {
      maxBytes: 0,
      ...(options.allowlist ? { allowlist: options.allowlist } : {}),
      ...(options.resolve ? { resolve: options.resolve } : {}),
    }, signal);
  } catch (e) {
    if (e instanceof SafeFetchError && (e.code === "unsafe_url" || e.permanent)) {
      return { ok: false, reason: e.message };
    }
    // Timeouts and DNS trouble: the guard runs again on every call.
  }
  return { ok: true, url: parsed.href };
}
