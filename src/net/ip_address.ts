/**
 * IP addresses and CIDR ranges read from text: the language ipaddr.js accepts (its `parse`,
 * `process`, `parseCIDR`, `isValid`…), the same results and text forms, without loading it.
 *
 * Why not ipaddr.js itself here: it is CommonJS, and Deno loads CommonJS through node's module
 * loader, i.e. node's whole compatibility layer: 33–43 ms and +10 MiB RSS in an otherwise empty
 * process (docs/benchmarks.md, "Session 5 (boot3)"). Text is read into addresses while `serve`
 * starts (`WEBHOOK_TRUSTED_PROXIES`, `WEBHOOK_URL_ALLOWLIST`) and on every request (the client's
 * address, `X-Forwarded-For`), synchronously, so a lazily loaded parser would not do. ipaddr.js
 * still names address ranges (loopback, private, 6to4…) for the SSRF guard
 * (`address_policy.ts`), loaded with the first outbound fetch; and it is what
 * `tests/net/ip_address_test.ts` compares this module with, string for string, odd forms
 * included (`127.1`, `0x7f.0.0.1`, `010.0.0.1`, `::1.2.3.4`, zone ids).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(processIp("::ffff:203.0.113.7").toString(), "203.0.113.7");
 * assert.equal(parseIp("2001:0db8:0:0:0:0:0:1").toString(), "2001:db8::1");
 * const [net, bits] = parseIpCidr("10.0.0.0/8");
 * assert.equal(parseIp("10.1.2.3").match(net, bits), true);
 * ```
 *
 * @module
 */

/** An IPv4 address: four octets, most significant first. */
export class IPv4 {
  /** The four octets. */
  readonly octets: readonly number[];

  /** Throws when there are not four octets of 0–255. */
  constructor(octets: readonly number[]) {
    if (octets.length !== 4 || !octets.every((o) => o >= 0 && o <= 255)) {
      throw new Error("an IPv4 address is four octets of 0-255");
    }
    this.octets = octets;
  }

  /** `"ipv4"`. */
  kind(): "ipv4" {
    return "ipv4";
  }

  /** Whether this address lies in `range/bits` (an IPv4 range). */
  match(range: IpAddress, bits: number): boolean {
    if (range.kind() !== "ipv4") throw new Error("cannot match an IPv4 address with an IPv6 range");
    return prefixMatch(this.octets, (range as IPv4).octets, 8, bits);
  }

  /** The octets, a copy. */
  toByteArray(): number[] {
    return [...this.octets];
  }

  /** Dotted decimal: `192.0.2.1`. */
  toString(): string {
    return this.octets.join(".");
  }
}

/** An IPv6 address: eight 16-bit groups, most significant first, and its zone id if any. */
export class IPv6 {
  /** The eight groups. */
  readonly parts: readonly number[];
  /** The zone (`eth0` of `fe80::1%eth0`). */
  readonly zoneId: string | undefined;

  /** Throws when there are not eight groups of 0–0xffff. */
  constructor(parts: readonly number[], zoneId?: string) {
    if (parts.length !== 8 || !parts.every((p) => p >= 0 && p <= 0xffff)) {
      throw new Error("an IPv6 address is eight groups of 0-ffff");
    }
    this.parts = parts;
    this.zoneId = zoneId || undefined;
  }

  /** `"ipv6"`. */
  kind(): "ipv6" {
    return "ipv6";
  }

  /** Whether this address lies in `range/bits` (an IPv6 range). */
  match(range: IpAddress, bits: number): boolean {
    if (range.kind() !== "ipv6") throw new Error("cannot match an IPv6 address with an IPv4 range");
    return prefixMatch(this.parts, (range as IPv6).parts, 16, bits);
  }

  /** `::ffff:a.b.c.d`. */
  isIPv4MappedAddress(): boolean {
    const p = this.parts;
    return p[0] === 0 && p[1] === 0 && p[2] === 0 && p[3] === 0 && p[4] === 0 && p[5] === 0xffff;
  }

  /** The IPv4 address of an IPv4-mapped one; throws for any other. */
  toIPv4Address(): IPv4 {
    if (!this.isIPv4MappedAddress()) throw new Error("not an IPv4-mapped IPv6 address");
    const [high, low] = [this.parts[6]!, this.parts[7]!];
    return new IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
  }

  /** The sixteen bytes. */
  toByteArray(): number[] {
    return this.parts.flatMap((p) => [p >> 8, p & 0xff]);
  }

  /**
   * RFC 5952's text: lower-case hex without leading zeros, the longest run of two or more
   * zero groups (the first of equal ones) written `::`, then `%zone`.
   */
  toString(): string {
    let runAt = -1;
    let runLength = 1;
    for (let i = 0; i < 8;) {
      if (this.parts[i] !== 0) {
        i++;
        continue;
      }
      let end = i;
      while (end < 8 && this.parts[end] === 0) end++;
      if (end - i > runLength) [runAt, runLength] = [i, end - i];
      i = end;
    }
    const hex = (ps: readonly number[]) => ps.map((p) => p.toString(16)).join(":");
    const text = runAt < 0
      ? hex(this.parts)
      : `${hex(this.parts.slice(0, runAt))}::${hex(this.parts.slice(runAt + runLength))}`;
    return this.zoneId ? `${text}%${this.zoneId}` : text;
  }
}

/** A parsed address. */
export type IpAddress = IPv4 | IPv6;

function prefixMatch(a: readonly number[], b: readonly number[], size: number, bits: number) {
  for (let i = 0; bits > 0; i++, bits -= size) {
    const shift = Math.max(size - bits, 0);
    if (a[i]! >> shift !== b[i]! >> shift) return false;
  }
  return true;
}

// IPv4 as ipaddr.js reads it (and inet_aton): one to four dot-separated numbers, each decimal,
// 0x-hex or 0-octal; the last one fills the remaining octets (`127.1` is 127.0.0.1).
const V4_NUMBER = /^(?:\d+|0x[0-9a-f]+)$/i;

/** A number of the IPv4 grammar, or NaN: `08` is neither octal nor allowed as decimal. */
function v4Number(text: string): number {
  if (/^0x/i.test(text)) return parseInt(text, 16);
  if (text.length > 1 && text[0] === "0") return /^0[0-7]+$/.test(text) ? parseInt(text, 8) : NaN;
  return parseInt(text, 10);
}

/**
 * `a.b.c.d`, each 0–255 in decimal without a leading zero (the form resolvers, proxies and
 * `Deno.serve` write), read without the general grammar's regular expressions and arrays: the
 * peer and X-Forwarded-For of every request behind a proxy pass here. Null for anything else,
 * which the general grammar then reads (a leading zero means octal there).
 */
function plainV4(text: string): number[] | null {
  const octets: number[] = [];
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 46; // the end closes the last number
    if (c === 46) {
      if (digits === 0 || value > 255 || octets.length === 4) return null;
      octets.push(value);
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57 && digits < 3 && !(digits === 1 && value === 0)) {
      value = value * 10 + c - 48;
      digits++;
    } else {
      return null;
    }
  }
  return octets.length === 4 ? octets : null;
}

/** The octets of an IPv4 text, or null when it is none. */
function v4Octets(text: string): number[] | null {
  const plain = plainV4(text);
  if (plain) return plain;
  const pieces = text.split(".");
  if (pieces.length > 4 || !pieces.every((p) => V4_NUMBER.test(p))) return null;
  const n = pieces.map(v4Number);
  const last = n.at(-1)!;
  // Each number but the last is one octet; the last fills the rest (checked by the caller).
  const width = 2 ** (8 * (5 - n.length)) - 1;
  if (!(last <= width)) return null;
  const octets = n.slice(0, -1);
  for (let shift = 8 * (4 - n.length); shift >= 0; shift -= 8) {
    octets.push(Math.floor(last / 2 ** shift) % 256);
  }
  return octets.some((o) => !(o >= 0 && o <= 255)) ? null : octets;
}

const ZONE = /^[0-9a-z]+$/i;
const HEX_GROUP = /^[0-9a-f]+$/i;

/**
 * Groups of an IPv6 text without zone: `count` groups (8, or 6 before an embedded IPv4),
 * with at most one `::` standing for one or more zero groups. Null when it is no such text.
 */
function v6Groups(text: string, count: number): number[] | null {
  const gap = text.indexOf("::");
  if (gap !== text.lastIndexOf("::")) return null;
  const [head, tail] = gap < 0 ? [text, undefined] : [text.slice(0, gap), text.slice(gap + 2)];
  const split = (s: string) => (s === "" ? [] : s.split(":"));
  const before = split(head);
  const after = tail === undefined ? [] : split(tail);
  const given = before.length + after.length;
  if (tail === undefined ? given !== count : given >= count) return null;
  const groups = [...before, ...Array(count - given).fill("0"), ...after];
  if (!groups.every((g) => HEX_GROUP.test(g) && g.length <= 4)) return null;
  return groups.map((g) => parseInt(g, 16));
}

/** An IPv6 text (no brackets), or null when it is none. */
function v6FromText(text: string): IPv6 | null {
  if (!text.includes(":")) return null;
  const percent = text.indexOf("%");
  const zone = percent < 0 ? undefined : text.slice(percent + 1);
  if (zone !== undefined && !ZONE.test(zone)) return null;
  const address = percent < 0 ? text : text.slice(0, percent);
  const lastColon = address.lastIndexOf(":");
  const dotted = address.slice(lastColon + 1);
  if (!dotted.includes(".")) {
    const groups = v6Groups(address, 8);
    return groups && new IPv6(groups, zone);
  }
  // An embedded IPv4 address in its last 32 bits: `::ffff:192.0.2.1`, `64:ff9b::192.0.2.1`.
  // Its four numbers are read as JavaScript's parseInt reads them (0x-hex, else decimal);
  // `::a.b.c.d` alone is read as the IPv4-mapped `::ffff:a.b.c.d`.
  const pieces = dotted.split(".");
  if (pieces.length !== 4 || !pieces.every((p) => V4_NUMBER.test(p))) return null;
  const octets = pieces.map((p) => parseInt(p));
  if (octets.some((o) => !(o >= 0 && o <= 255))) return null;
  const head = address.slice(0, lastColon + 1);
  if (head === ":") return null;
  const prefix = head === "::" ? [0, 0, 0, 0, 0, 0xffff] : v6Groups(
    head.endsWith("::") ? head : head.slice(0, -1),
    6,
  );
  if (!prefix) return null;
  const [a, b, c, d] = octets as [number, number, number, number];
  return new IPv6([...prefix, (a << 8) | b, (c << 8) | d], zone);
}

/** Whether the text is an IPv6 address (no brackets, a zone id allowed). */
export function isValidIPv6(text: string): boolean {
  return v6FromText(text) !== null;
}

/** Whether the text is an IPv4 address in any of ipaddr.js's forms (`127.1`, `0x7f.0.0.1`…). */
export function isValidIPv4(text: string): boolean {
  return v4Octets(text) !== null;
}

/** Whether the text is an IPv4 address written as four decimal numbers without leading zeros. */
export function isFourPartDecimal(text: string): boolean {
  return /^(0|[1-9]\d*)(\.(0|[1-9]\d*)){3}$/.test(text) && isValidIPv4(text);
}

/** Whether the text is an IP address of either kind. */
export function isValidIp(text: string): boolean {
  return isValidIPv6(text) || isValidIPv4(text);
}

/** Parses an IPv4 or IPv6 address (IPv6 tried first); throws when it is neither. */
export function parseIp(text: string): IpAddress {
  const v6 = v6FromText(text);
  if (v6) return v6;
  const octets = v4Octets(text);
  if (octets) return new IPv4(octets);
  throw new Error(`"${text}" is not an IP address`);
}

/** {@link parseIp}, with an IPv4-mapped IPv6 address unwrapped to its IPv4 address. */
export function processIp(text: string): IpAddress {
  const address = parseIp(text);
  return address instanceof IPv6 && address.isIPv4MappedAddress()
    ? address.toIPv4Address()
    : address;
}

/** Parses `address/bits` (0–32 for IPv4, 0–128 for IPv6); throws when it is no such range. */
export function parseIpCidr(text: string): [IpAddress, number] {
  const match = /^(.+)\/(\d+)$/.exec(text);
  if (match) {
    const bits = parseInt(match[2]!, 10);
    const v6 = bits <= 128 ? v6FromText(match[1]!) : null;
    if (v6) return [v6, bits];
    const octets = bits <= 32 ? v4Octets(match[1]!) : null;
    if (octets) return [new IPv4(octets), bits];
  }
  throw new Error(`"${text}" is not a CIDR range`);
}
