/**
 * An outgoing hook's URL, checked by the SSRF guard when the hook is created: the same rules
 * as every outbound fetch (http/https, no credentials, public unicast addresses only unless
 * `WEBHOOK_URL_ALLOWLIST` opens internal ones), checked again on every call. How it is shown
 * (masked) is the hook domain's: `maskUrl` in `src/hooks/replies.ts`.
 *
 * @module
 */

import { type Allowlist, checkUrl, resolveChecked, SafeFetchError } from "../net/mod.ts";

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
