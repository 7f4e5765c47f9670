/**
 * The synchronous half of the SSRF guard: what can be decided from the URL text alone,
 * before any DNS. Used at request time to answer a bad attachment URL with a 400, and
 * again by `safeFetch` on every redirect hop.
 *
 * @module
 */

import { type Allowlist, matchAllowlistAddress, matchAllowlistHost } from "./allowlist.ts";
import { blockedReason, loadAddressClasses } from "./address_policy.ts";
import { normalizeHostname, parseAddress } from "./_host.ts";
import { SafeFetchError } from "./safe_fetch_error.ts";

// Cloud instance-metadata names. Only an exact allowlist entry opens them; a wildcard
// such as `*.internal` must not open metadata.google.internal by accident.
const METADATA_NAMES = new Set([
  "metadata",
  "metadata.google.internal",
  "instance-data",
  "instance-data.ec2.internal",
]);

// Names that by standard or convention point at this machine or a private network
// (RFC 6761 localhost, ICANN's .internal, mDNS .local, RFC 8375 home.arpa). Their
// addresses would be blocked anyway; refusing the name lets a webhook be rejected with
// a 400 before it is accepted.
const LOCAL_NAMES = new Set(["localhost", "localhost.localdomain", "ip6-localhost"]);
const LOCAL_SUFFIXES = [".localhost", ".internal", ".local", ".localdomain", ".home.arpa"];

/**
 * Why a host name is refused before DNS, or null. Allowlisted names pass (metadata names
 * only through an exact entry).
 */
export function blockedName(hostname: string, allowlist?: Allowlist): string | null {
  const host = normalizeHostname(hostname);
  const match = matchAllowlistHost(allowlist, host);
  if (METADATA_NAMES.has(host)) return match === "exact" ? null : "a cloud metadata host name";
  if (match) return null;
  if (LOCAL_NAMES.has(host) || LOCAL_SUFFIXES.some((s) => host.endsWith(s))) {
    return "a local or internal host name";
  }
  return null;
}

/**
 * Parses and checks a user-supplied URL without touching the network: http or https
 * only, no credentials, no blocked address literal (after WHATWG normalization, so
 * `127.1` and `0x7f000001` are 127.0.0.1), no local or metadata host name. Rejects with a
 * {@link SafeFetchError} (`invalid_url` or `unsafe_url`); resolves with the parsed URL.
 *
 * A name that passes may still resolve to a blocked address: `safeFetch` checks that.
 * Asynchronous because classifying an address needs ipaddr.js, which the first check loads
 * (address_policy.ts says why it is not loaded at start); later checks wait for nothing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal((await checkUrl("https://grafana.example.com/render/d/x.png")).hostname, "grafana.example.com");
 * await assert.rejects(checkUrl("http://169.254.169.254/latest/meta-data/"), /only public addresses/);
 * ```
 */
export async function checkUrl(url: string, allowlist?: Allowlist): Promise<URL> {
  await loadAddressClasses();
  return checkLoadedUrl(url, allowlist);
}

/**
 * {@link checkUrl} once the address classes are loaded, for the guard's own steps that
 * have loaded them (`safeFetch` on every redirect hop, `safeRequest`): no await per hop.
 */
export function checkLoadedUrl(url: string, allowlist?: Allowlist): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new SafeFetchError("invalid_url", "the attachment URL is not a valid absolute URL", {
      cause,
    });
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new SafeFetchError(
      "invalid_url",
      `only http and https URLs can be fetched, not ${parsed.protocol.slice(0, -1)}`,
    );
  }
  if (parsed.username !== "" || parsed.password !== "") {
    throw new SafeFetchError("invalid_url", "URLs with a user name or password are not accepted");
  }
  if (parsed.hostname === "") {
    throw new SafeFetchError("invalid_url", "the URL has no host");
  }
  const literal = parseAddress(parsed.hostname);
  if (literal) {
    const why = blockedReason(literal);
    if (why !== null && !matchAllowlistAddress(allowlist, literal)) {
      throw new SafeFetchError(
        "unsafe_url",
        `${parsed.hostname} is ${why}; only public addresses can be fetched` +
          " (an operator can allow internal ones with WEBHOOK_URL_ALLOWLIST)",
      );
    }
    return parsed;
  }
  const why = blockedName(parsed.hostname, allowlist);
  if (why) {
    throw new SafeFetchError(
      "unsafe_url",
      `${parsed.hostname} is ${why}; only public hosts can be fetched` +
        " (an operator can allow internal ones with WEBHOOK_URL_ALLOWLIST)",
    );
  }
  return parsed;
}
