/**
 * Which addresses the bot may connect to: global unicast only, classified by ipaddr.js,
 * unless the operator's allowlist says otherwise.
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

import ipaddr from "ipaddr.js";
import { type Allowlist, matchAllowlistAddress } from "./allowlist.ts";
import { type IpAddress, parseAddress } from "./_host.ts";

// IANA's global unicast block; anything outside it (e.g. ::/8 with IPv4-compatible
// addresses, which ipaddr.js calls "unicast") is not a public destination.
const GLOBAL_UNICAST_V6 = ipaddr.IPv6.parseCIDR("2000::/3");
const NAT64_WELL_KNOWN = ipaddr.IPv6.parseCIDR("64:ff9b::/96");

/**
 * Why an address is blocked, as an ipaddr.js range name (`loopback`, `private`,
 * `linkLocal`, `carrierGradeNat`, `uniqueLocal`, `6to4`…), or null when it is global
 * unicast.
 */
export function blockedRange(address: IpAddress): string | null {
  if (address.kind() === "ipv4") {
    const range = address.range();
    return range === "unicast" ? null : range;
  }
  const v6 = address as ipaddr.IPv6;
  if (v6.match(NAT64_WELL_KNOWN)) {
    const embedded = ipaddr.IPv4.parse(v6.toByteArray().slice(12).join("."));
    const inner = blockedRange(embedded);
    return inner === null ? null : `rfc6052 (${inner} ${embedded.toString()})`;
  }
  const range = v6.range();
  if (range !== "unicast") return range;
  return v6.match(GLOBAL_UNICAST_V6) ? null : "reserved";
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
 * assert.equal(isAddressAllowed("93.184.215.14"), true);
 * assert.equal(isAddressAllowed("[::ffff:127.0.0.1]"), false);
 * assert.equal(isAddressAllowed("10.1.2.3", parseAllowlist("10.0.0.0/8")), true);
 * ```
 */
export function isAddressAllowed(address: string, allowlist?: Allowlist): boolean {
  const parsed = parseAddress(address);
  if (!parsed) return false;
  return matchAllowlistAddress(allowlist, parsed) || blockedRange(parsed) === null;
}
