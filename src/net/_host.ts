/**
 * Host-name and address-literal helpers shared inside src/net/.
 *
 * @module
 */

import { type IpAddress, IPv4, isFourPartDecimal, isValidIPv6, processIp } from "./ip_address.ts";

export type { IpAddress };

/** Lower-cases a host name and drops the trailing dot of a fully qualified name. */
export function normalizeHostname(hostname: string): string {
  return hostname.toLowerCase().replace(/\.+$/, "");
}

/** `[::1]` → `::1`; WHATWG URL keeps the brackets of IPv6 hosts. */
export function stripBrackets(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

/**
 * Parses an address the way it will be classified: IPv4-mapped IPv6 (`::ffff:a.b.c.d`) is
 * unwrapped to IPv4, so the mapped form of a blocked address is blocked too. IPv4 must be
 * dotted decimal: resolvers and WHATWG URL never produce the odd forms (`127.1`, `0x7f.1`),
 * so seeing one means the input did not come through them. Returns null when invalid.
 */
export function parseAddress(text: string): IpAddress | null {
  const bare = stripBrackets(text.trim());
  if (bare.includes("%")) return null; // zone ids only make sense for link-local
  if (isFourPartDecimal(bare)) return new IPv4(bare.split(".").map(Number));
  if (isValidIPv6(bare)) return processIp(bare);
  return null;
}
