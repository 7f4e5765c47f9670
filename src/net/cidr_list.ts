/**
 * Lists of address ranges, the one reading of them: `WEBHOOK_TRUSTED_PROXIES`, a hook's
 * `/webhook_allow` list, and the address entries of `WEBHOOK_URL_ALLOWLIST` (allowlist.ts)
 * are all asked "is this address in one of these ranges" here.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const proxies = parseCidrList("127.0.0.0/8, ::1/128, 10.1.2.3");
 * assert.equal(inCidrList("::ffff:127.0.0.1", proxies), true);
 * assert.equal(inCidrList("10.1.2.4", proxies), false);
 * ```
 *
 * @module
 */
import { type IpAddress, IPv6, parseIp, parseIpCidr, processIp } from "./ip_address.ts";

/** A parsed list of CIDR ranges. */
export type CidrList = ReadonlyArray<[IpAddress, number]>;

/**
 * Parses `"127.0.0.0/8, ::1/128, 10.1.2.3"` (a bare address means a single host).
 * Throws an Error naming the bad entry.
 */
export function parseCidrList(spec: string): CidrList {
  const out: [IpAddress, number][] = [];
  for (const raw of spec.split(",")) {
    const entry = raw.trim();
    if (!entry) continue;
    try {
      if (entry.includes("/")) out.push(mappedAsIPv4(parseIpCidr(entry)));
      else {
        const a = parseIp(entry);
        out.push(mappedAsIPv4([a, a.kind() === "ipv4" ? 32 : 128]));
      }
    } catch {
      throw new Error(`"${entry}" is not an IP address or CIDR range`);
    }
  }
  return out;
}

/**
 * A range of IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`, `::ffff:10.0.0.0/104`, as dual-stack
 * logs write IPv4 clients) as the IPv4 range it covers. Addresses are compared after unwrapping
 * (`processIp`), so a range kept in its mapped form would never match anything.
 */
export function mappedAsIPv4(range: [IpAddress, number]): [IpAddress, number] {
  const [address, bits] = range;
  return address instanceof IPv6 && bits >= 96 && address.isIPv4MappedAddress()
    ? [address.toIPv4Address(), bits - 96]
    : range;
}

/** True when `address` lies in one of the ranges. */
export function inCidrList(address: string, list: CidrList): boolean {
  if (list.length === 0) return false;
  let a: IpAddress;
  try {
    a = processIp(address.replace(/^\[|\]$/g, ""));
  } catch {
    return false;
  }
  return inRanges(a, list);
}

/** True when the parsed `address` lies in one of the ranges (same family only). */
export function inRanges(address: IpAddress, list: CidrList): boolean {
  for (const [range, bits] of list) {
    if (address.kind() === range.kind() && address.match(range, bits)) return true;
  }
  return false;
}
