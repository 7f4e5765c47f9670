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
import { type CidrList, inCidrList, processIp } from "../net/mod.ts";

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
