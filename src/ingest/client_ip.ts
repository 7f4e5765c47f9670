/**
 * Which IP a request comes from, for the per-IP rate limit. `X-Forwarded-For` is believed
 * only when the TCP peer is a trusted proxy (by default a reverse proxy on the same host),
 * so a client on the internet cannot pick its own rate-limit key.
 *
 * Addresses are read by `src/net/ip_address.ts` (ipaddr.js's grammar without loading it: the
 * trusted proxies are parsed while `serve` starts and the peer on every request).
 *
 * @module
 */
import { boundedCache } from "../bounded_cache.ts";
import { type IpAddress, parseIp, parseIpCidr, processIp } from "../net/mod.ts";

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
      if (entry.includes("/")) out.push(parseIpCidr(entry));
      else {
        const a = parseIp(entry);
        out.push([a, a.kind() === "ipv4" ? 32 : 128]);
      }
    } catch {
      throw new Error(`"${entry}" is not an IP address or CIDR range`);
    }
  }
  return out;
}

/**
 * Addresses already normalized (`false`: not an address): the peer of every request is parsed
 * here, and parsing was about 1.5 % of the bot's CPU at 3k requests/s (issue 16, ipaddr.js
 * then) while the set of peers is small.
 */
const normalized = boundedCache<string, string | false>(4096);

/** Canonical text of an address, with IPv4-mapped IPv6 unwrapped (`::ffff:1.2.3.4` → `1.2.3.4`). */
export function normalizeIp(address: string): string | null {
  let ip = normalized.get(address);
  if (ip === undefined) {
    try {
      ip = processIp(address.replace(/^\[|\]$/g, "")).toString();
    } catch {
      ip = false;
    }
    normalized.set(address, ip);
  }
  return ip || null;
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
  for (const [range, bits] of list) {
    if (a.kind() === range.kind() && a.match(range, bits)) return true;
  }
  return false;
}

/**
 * The client's IP: the TCP peer, or — when the peer is a trusted proxy — the right-most
 * `X-Forwarded-For` entry that is not itself a trusted proxy.
 */
export function clientIp(
  peer: string | undefined,
  forwardedFor: string | null,
  trusted: CidrList,
): string {
  const direct = (peer && normalizeIp(peer)) ?? peer ?? "unknown";
  if (!forwardedFor || !peer || !inCidrList(peer, trusted)) return direct;
  const hops = forwardedFor.split(",").map((s) => s.trim()).filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) {
    const ip = normalizeIp(hops[i]!);
    if (!ip) return direct;
    if (!inCidrList(ip, trusted)) return ip;
  }
  return direct;
}
