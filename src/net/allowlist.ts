/**
 * `WEBHOOK_URL_ALLOWLIST`: internal services an operator lets the bot fetch from on
 * purpose (an intranet Grafana, a file server). TrueConf is often on-premises, so the
 * guard that blocks private addresses needs a deliberate way around it.
 *
 * @module
 */

import { type IpAddress, normalizeHostname, parseAddress, stripBrackets } from "./_host.ts";
import { type CidrList, inRanges, mappedAsIPv4 } from "./cidr_list.ts";
import { IPv4, isFourPartDecimal, isValidIp, isValidIPv6, parseIp } from "./ip_address.ts";

/** A parsed allowlist; build it with {@link parseAllowlist}. */
export interface Allowlist {
  /** The entries in normalized form, for logs and error messages. */
  readonly entries: readonly string[];
  /** Address ranges (single addresses are /32 or /128). IPv4-mapped ranges are stored as IPv4. */
  readonly cidrs: CidrList;
  /** Exact host names, lower-case, without trailing dot, IDNs in punycode. */
  readonly hosts: ReadonlySet<string>;
  /** `*.corp.example` entries stored as `.corp.example`. */
  readonly suffixes: readonly string[];
}

/** An allowlist that allows nothing beyond the public internet. */
export const EMPTY_ALLOWLIST: Allowlist = Object.freeze({
  entries: [],
  cidrs: [],
  hosts: new Set<string>(),
  suffixes: [],
});

/**
 * Parses a comma-separated allowlist of CIDRs, single addresses, host names and
 * `*.suffix` wildcards. Whitespace around entries and empty entries are ignored. A
 * wildcard matches sub-domains only (`*.corp.example` matches `a.corp.example`, not
 * `corp.example`).
 *
 * Throws a `TypeError` naming the first bad entry, so configuration validation can show it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isAddressAllowed } from "./address_policy.ts";
 *
 * const allow = parseAllowlist("10.0.0.0/8, grafana.intra, 192.168.1.5, fd00::/8, *.corp.example");
 * assert.equal(await isAddressAllowed("10.1.2.3", allow), true);
 * ```
 */
export function parseAllowlist(spec: string): Allowlist {
  const entries: string[] = [];
  const cidrs: [IpAddress, number][] = [];
  const hosts = new Set<string>();
  const suffixes: string[] = [];
  for (const raw of spec.split(",")) {
    const entry = raw.trim();
    if (entry === "") continue;
    const fail = (why: string): never => {
      throw new TypeError(`WEBHOOK_URL_ALLOWLIST: bad entry "${entry}": ${why}`);
    };
    if (entry.includes("/")) {
      const cidr = parseCidr(entry) ?? fail("expected a CIDR such as 10.0.0.0/8 or fd00::/8");
      cidrs.push(cidr);
      entries.push(`${cidr[0].toString()}/${cidr[1]}`);
      continue;
    }
    const address = parseAddress(entry);
    if (address) {
      cidrs.push([address, address.kind() === "ipv4" ? 32 : 128]);
      entries.push(address.toString());
      continue;
    }
    if (isValidIp(stripBrackets(entry))) {
      fail("write IPv4 addresses in dotted decimal (a.b.c.d)");
    }
    if (entry === "*" || entry === "*.") fail("a bare wildcard would allow every host");
    const wildcard = entry.startsWith("*.");
    const name = parseHostName(wildcard ? entry.slice(2) : entry) ??
      fail("expected a host name, *.domain, an IP address or a CIDR");
    if (wildcard) {
      suffixes.push(`.${name}`);
      entries.push(`*.${name}`);
    } else {
      hosts.add(name);
      entries.push(name);
    }
  }
  return { entries, cidrs, hosts, suffixes };
}

/** How a host name matched the allowlist: exactly, through a wildcard, or not at all. */
export type HostMatch = "exact" | "wildcard" | null;

/** Matches a (normalized or not) host name against the allowlist's names and wildcards. */
export function matchAllowlistHost(allowlist: Allowlist | undefined, hostname: string): HostMatch {
  if (!allowlist) return null;
  const host = normalizeHostname(hostname);
  if (allowlist.hosts.has(host)) return "exact";
  return allowlist.suffixes.some((s) => host.endsWith(s) && host.length > s.length)
    ? "wildcard"
    : null;
}

/** Whether a parsed address lies inside one of the allowlist's ranges. */
export function matchAllowlistAddress(
  allowlist: Allowlist | undefined,
  address: IpAddress,
): boolean {
  return allowlist !== undefined && inRanges(address, allowlist.cidrs);
}

function parseCidr(entry: string): [IpAddress, number] | null {
  const slash = entry.lastIndexOf("/");
  const addressPart = stripBrackets(entry.slice(0, slash).trim());
  const bitsPart = entry.slice(slash + 1).trim();
  if (!/^\d{1,3}$/.test(bitsPart)) return null;
  const bits = Number(bitsPart);
  if (isFourPartDecimal(addressPart)) {
    return bits <= 32 ? [new IPv4(addressPart.split(".").map(Number)), bits] : null;
  }
  if (!isValidIPv6(addressPart) || addressPart.includes("%") || bits > 128) return null;
  return mappedAsIPv4([parseIp(addressPart), bits]);
}

// Labels of letters, digits, '-' and '_' (some intranets use '_'), not starting or ending in '-'.
const HOST_NAME =
  /^(?=.{1,253}$)(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

function parseHostName(text: string): string | null {
  if (/[\s/\\:@?#[\]%*]/.test(text)) return null;
  let host: string;
  try {
    // The same normalization a URL's host gets (lower case, IDN → punycode), so entries
    // compare equal to `new URL(...).hostname`.
    host = normalizeHostname(new URL(`http://${text}/`).hostname);
  } catch {
    return null;
  }
  // A name that the URL parser turns into an address (e.g. "127.1") is not a host name.
  if (parseAddress(host)) return null;
  return HOST_NAME.test(host) ? host : null;
}
