/**
 * Which addresses the bot may connect to: global unicast only, classified by ipaddr.js,
 * unless the operator's allowlist says otherwise.
 *
 * ipaddr.js is loaded with the first classification ({@link loadAddressClasses}: `safeFetch`
 * and `safeRequest` await it before their first check), not while `serve` starts: it is
 * CommonJS, and its import loads node's compatibility layer (docs/benchmarks.md, "Session 5
 * (boot3)"). Addresses themselves are parsed by `ip_address.ts`, which needs no loading.
 *
 * Embedded-IPv4 forms of IPv6: IPv4-mapped (`::ffff:a.b.c.d`) is unwrapped and the IPv4
 * address is checked. NAT64 with the well-known prefix (`64:ff9b::/96`, what DNS64
 * synthesizes on IPv6-only networks) is allowed only when the embedded IPv4 address is
 * itself global unicast. Everything else that embeds or translates IPv4 (6to4 `2002::/16`,
 * Teredo `2001::/32`, local-use NAT64 `64:ff9b:1::/48` whose embedding position depends on
 * the prefix length, IPv4-translated `::ffff:0:0:0/96`, IPv4-compatible `::a.b.c.d`) is
 * blocked outright: they are deprecated or unneeded for a public fetch, and checking them
 * would mean guessing.
 *
 * @module
 */

import type Ipaddr from "ipaddr.js";
import { type Allowlist, matchAllowlistAddress } from "./allowlist.ts";
import { parseAddress } from "./_host.ts";
import { type IpAddress, IPv4, parseIpCidr } from "./ip_address.ts";

let ipaddr: typeof Ipaddr | undefined;
let loading: Promise<void> | undefined;

/**
 * Loads what names address ranges (ipaddr.js). Every function here that classifies an
 * address needs it loaded: the SSRF guard's entry points (`checkUrl`, `safeFetch`,
 * `safeRequest`, `resolveChecked`, {@link isAddressAllowed}) await this first, and only they
 * are the `net/` face, so no caller outside can classify before the load.
 */
export function loadAddressClasses(): Promise<void> {
  return loading ??= import("ipaddr.js").then(
    (m) => void (ipaddr = m.default),
    (e) => {
      loading = undefined; // a failed load is retried by the next fetch
      throw e;
    },
  );
}

/** ipaddr.js's name of the address's range (`loopback`, `private`, `unicast`…). */
function rangeName(address: IpAddress): string {
  if (!ipaddr) throw new Error("address classes are not loaded: await loadAddressClasses()");
  return ipaddr.fromByteArray(address.toByteArray()).range();
}

// IANA's global unicast block; anything outside it (e.g. ::/8 with IPv4-compatible
// addresses, which ipaddr.js calls "unicast") is not a public destination.
const [GLOBAL_UNICAST_V6, GLOBAL_UNICAST_V6_BITS] = parseIpCidr("2000::/3");
const [NAT64_WELL_KNOWN, NAT64_WELL_KNOWN_BITS] = parseIpCidr("64:ff9b::/96");

/**
 * Why an address is blocked, as an ipaddr.js range name (`loopback`, `private`,
 * `linkLocal`, `carrierGradeNat`, `uniqueLocal`, `6to4`…; `rfc6052` for NAT64 of a blocked
 * IPv4 address), or null when it is global unicast.
 */
export function blockedRange(address: IpAddress): string | null {
  if (address.kind() === "ipv4") {
    const range = rangeName(address);
    return range === "unicast" ? null : range;
  }
  const embedded = nat64Embedded(address);
  if (embedded) return blockedRange(embedded) === null ? null : "rfc6052";
  const range = rangeName(address);
  if (range !== "unicast") return range;
  return address.match(GLOBAL_UNICAST_V6, GLOBAL_UNICAST_V6_BITS) ? null : "reserved";
}

/** The IPv4 address inside a well-known-prefix NAT64 address, or null for any other. */
function nat64Embedded(address: IpAddress): IPv4 | null {
  if (address.kind() !== "ipv6" || !address.match(NAT64_WELL_KNOWN, NAT64_WELL_KNOWN_BITS)) {
    return null;
  }
  return new IPv4(address.toByteArray().slice(12));
}

// The refusal sentence reaches the hook's sender (400 unsafe_url, a failed part): ipaddr.js's
// identifiers (`linkLocal`, `carrierGradeNat`) are not words, and a few ranges are known only
// by their prefix, so it is named too.
const RANGE_WORDS: Readonly<Record<string, string>> = {
  unspecified: "an unspecified address",
  broadcast: "the broadcast address",
  multicast: "a multicast address",
  linkLocal: "a link-local address",
  loopback: "a loopback address",
  carrierGradeNat: "a carrier-grade NAT address (100.64.0.0/10)",
  private: "a private address",
  reserved: "a reserved address",
  uniqueLocal: "a unique local address (fc00::/7)",
  deprecatedSiteLocal: "a site-local address (fec0::/10)",
  ipv4Mapped: "an IPv4-mapped address",
  rfc6145: "an IPv4-translated address (::ffff:0:0:0/96)",
  "6to4": "a 6to4 address (2002::/16)",
  teredo: "a Teredo address (2001::/32)",
  discard: "a discard-only address (100::/64)",
  benchmarking: "a benchmarking address (2001:2::/48)",
};

/**
 * Why an address is blocked, in words for the refusal a sender reads (`a link-local address
 * (…)`, `a NAT64 address of 10.0.0.1, a private address`), or null when it is global unicast.
 */
export function blockedReason(address: IpAddress): string | null {
  const range = blockedRange(address);
  if (range === null) return null;
  const embedded = range === "rfc6052" ? nat64Embedded(address) : null;
  if (embedded) {
    return `a NAT64 address of ${embedded.toString()}, ${blockedReason(embedded)}`;
  }
  if (range === "rfc6052") return "a local-use NAT64 address (64:ff9b:1::/48)";
  return RANGE_WORDS[range] ?? `a special-purpose address (${range})`;
}

// Classes that no intranet service lives on: a host-name allowlist entry does not open
// them (169.254.169.254 is the cloud metadata service). A CIDR entry still can.
const NEVER_BY_NAME = new Set(["unspecified", "broadcast", "multicast", "linkLocal"]);

/**
 * Whether an address of a host that is allowlisted *by name* may be connected to: any
 * address except unspecified, broadcast, multicast and link-local ones (unless a CIDR
 * entry covers them).
 */
export function isAllowedForAllowlistedName(address: IpAddress, allowlist?: Allowlist): boolean {
  if (matchAllowlistAddress(allowlist, address)) return true;
  // NAT64 of 169.254.169.254 reaches the metadata service as surely as the address itself.
  const embedded = nat64Embedded(address);
  if (embedded) return isAllowedForAllowlistedName(embedded, allowlist);
  const range = blockedRange(address);
  return range === null || !NEVER_BY_NAME.has(range);
}

/**
 * Whether the bot may connect to this address: global unicast only, unless a CIDR or
 * address entry of the allowlist covers it. Accepts bracketed IPv6; an invalid address
 * is not allowed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseAllowlist } from "./allowlist.ts";
 *
 * assert.equal(await isAddressAllowed("93.184.215.14"), true);
 * assert.equal(await isAddressAllowed("[::ffff:127.0.0.1]"), false);
 * assert.equal(await isAddressAllowed("10.1.2.3", parseAllowlist("10.0.0.0/8")), true);
 * ```
 */
export async function isAddressAllowed(address: string, allowlist?: Allowlist): Promise<boolean> {
  await loadAddressClasses();
  const parsed = parseAddress(address);
  if (!parsed) return false;
  return matchAllowlistAddress(allowlist, parsed) || blockedRange(parsed) === null;
}
