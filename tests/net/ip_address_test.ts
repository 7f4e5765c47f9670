/**
 * `src/net/ip_address.ts` reads the language ipaddr.js reads, with the same results: compared
 * here with ipaddr.js itself, on the forms a proxy, a resolver or an operator writes and on
 * generated odd ones (inet_aton's short, hex and octal IPv4, embedded IPv4, zone ids, broken
 * `::`), so the client address, the trusted proxies, the allowlists and the SSRF guard read
 * every text as they did with ipaddr.js.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import ipaddr from "ipaddr.js";
import {
  isFourPartDecimal,
  isValidIp,
  isValidIPv4,
  isValidIPv6,
  parseIp,
  parseIpCidr,
  processIp,
} from "../../src/net/ip_address.ts";

/** What a call returned, or that it threw, comparable with deepEqual. */
function outcome<T>(f: () => T): { ok: T } | { threw: true } {
  try {
    return { ok: f() };
  } catch {
    return { threw: true };
  }
}

type Address = ipaddr.IPv4 | ipaddr.IPv6 | ReturnType<typeof parseIp>;
const show = (a: Address) => ({
  kind: a.kind(),
  text: a.toString(),
  bytes: a.toByteArray(),
  mapped: a.kind() === "ipv6" && (a as { isIPv4MappedAddress(): boolean }).isIPv4MappedAddress(),
});

/** Every reading of `text` by ipaddr.js and by ours, side by side. */
function compare(text: string): void {
  const ours = {
    parse: outcome(() => show(parseIp(text))),
    process: outcome(() => show(processIp(text))),
    cidr: outcome(() => {
      const [a, bits] = parseIpCidr(text);
      return [show(a), bits];
    }),
    valid: isValidIp(text),
    v4: isValidIPv4(text),
    v6: isValidIPv6(text),
    fourPart: isFourPartDecimal(text),
  };
  const theirs = {
    parse: outcome(() => show(ipaddr.parse(text))),
    process: outcome(() => show(ipaddr.process(text))),
    cidr: outcome(() => {
      const [a, bits] = ipaddr.parseCIDR(text);
      return [show(a), bits];
    }),
    valid: ipaddr.isValid(text),
    v4: ipaddr.IPv4.isValid(text),
    v6: ipaddr.IPv6.isValid(text),
    fourPart: ipaddr.IPv4.isValidFourPartDecimal(text),
  };
  assert.deepEqual(ours, theirs, JSON.stringify(text));
}

Deno.test("addresses as proxies, resolvers and operators write them read as ipaddr.js reads them", () => {
  const texts = [
    "127.0.0.1",
    "0.0.0.0",
    "255.255.255.255",
    "256.0.0.1",
    "203.0.113.7",
    "::",
    "::1",
    "::ffff:203.0.113.7",
    "::ffff:cb00:7107",
    "::203.0.113.7",
    "64:ff9b::192.0.2.1",
    "2001:db8::1",
    "2001:0DB8:0000:0000:0000:0000:0000:0001",
    "2001:db8:0:0:1:0:0:1",
    "2001:db8::1:0:0:1",
    "1:0:0:1:0:0:0:1",
    "fe80::1%eth0",
    "fe80::1%",
    "fe80::1%eth-0",
    "1:2:3:4:5:6:7:8",
    "1:2:3:4:5:6:7::",
    "::2:3:4:5:6:7:8",
    "1:2:3:4::5:6:7:8",
    "1:2:3:4:5:6:7:8:9",
    "1::2::3",
    ":::1",
    "1:::2",
    ":1::",
    "1::2:",
    "12345::1",
    "1:2:3:4:5:6:1.2.3.4",
    "1:2:3:4:5::1.2.3.4",
    "::ffff:1.2.3",
    "::ffff:1.2.3.256",
    "::ffff:0x7f.0.0.1",
    "::ffff:010.0.0.1%z1",
    ":1.2.3.4",
    "127.1",
    "127.0.1",
    "1",
    "4294967295",
    "4294967296",
    "0x7f.0.0.1",
    "0X7F.1",
    "010.0.0.1",
    "08.0.0.1",
    "00.0.0.0",
    "1.2.3.4.5",
    "1..2.3",
    " 1.2.3.4",
    "unknown",
    "cafe.babe",
    "",
    "10.0.0.0/8",
    "10.0.0.0/33",
    "10.0.0.0/008",
    "::1/128",
    "::1/129",
    "::ffff:10.0.0.0/104",
    "fe80::%eth0/64",
    "127.1/8",
    "1.2.3.4/",
    "/24",
    "1.2.3.4/24/24",
  ];
  for (const text of texts) compare(text);
});

const hexChar = fc.constantFrom(..."0123456789abcdefABCDEF");
const hexGroup = fc.string({ unit: hexChar, minLength: 0, maxLength: 5 });
const v4Piece = fc.oneof(
  fc.integer({ min: 0, max: 300 }).map(String),
  fc.integer({ min: 0, max: 2 ** 33 }).map(String),
  fc.string({ unit: fc.constantFrom(..."01234567"), minLength: 1, maxLength: 4 }).map((s) =>
    `0${s}`
  ),
  fc.string({ unit: fc.constantFrom(..."0123456789"), minLength: 1, maxLength: 4 }).map((s) =>
    `0${s}`
  ),
  fc.tuple(fc.constantFrom("0x", "0X"), fc.string({ unit: hexChar, minLength: 0, maxLength: 9 }))
    .map(([x, s]) => x + s),
  fc.constantFrom("", "x", "-1", "1e2", " 1"),
);
const v4Text = fc.array(v4Piece, { minLength: 1, maxLength: 5 }).map((p) => p.join("."));
const zone = fc.oneof(
  fc.constant(""),
  fc.string({ unit: fc.constantFrom(..."az09-%"), minLength: 0, maxLength: 4 }).map((z) => `%${z}`),
);
const v6Text = fc.tuple(
  fc.array(hexGroup, { minLength: 0, maxLength: 9 }),
  fc.array(fc.constantFrom(":", ":", ":", "::", ":::"), { minLength: 9, maxLength: 9 }),
  fc.constantFrom("", ":", "::"),
  fc.constantFrom("", "", ":", "::"),
  fc.option(v4Text, { nil: undefined }),
  zone,
).map(([groups, seps, lead, trail, v4, z]) => {
  let text = lead;
  groups.forEach((g, i) => text += (i ? seps[i]! : "") + g);
  text += trail;
  if (v4 !== undefined) text += (text.endsWith(":") ? "" : ":") + v4;
  return text + z;
});
// Mostly valid IPv6: eight groups (zeros often, so RFC 5952's `::` has runs to choose from),
// one run written `::`, sometimes an embedded IPv4 address and a zone.
const wellFormedV6 = fc.tuple(
  fc.array(
    fc.oneof(
      fc.constant("0"),
      fc.constant("0000"),
      fc.string({ unit: hexChar, minLength: 1, maxLength: 4 }),
    ),
    { minLength: 8, maxLength: 8 },
  ),
  fc.nat(8),
  fc.nat(8),
  fc.option(fc.array(v4Piece, { minLength: 4, maxLength: 4 }).map((p) => p.join(".")), {
    nil: undefined,
  }),
  fc.oneof(fc.constant(""), fc.constant(""), fc.constantFrom("%eth0", "%1", "%")),
).map(([groups, a, b, v4, z]) => {
  const g = v4 === undefined ? groups : groups.slice(0, 6);
  const [from, to] = [Math.min(a, b, g.length), Math.min(Math.max(a, b), g.length)];
  let text = to > from ? `${g.slice(0, from).join(":")}::${g.slice(to).join(":")}` : g.join(":");
  if (v4 !== undefined) text += (text.endsWith(":") ? "" : ":") + v4;
  return text + z;
});
const anyText = fc.string({ unit: fc.constantFrom(..."0123456789abcfx.:%/ "), maxLength: 20 });
const withBits = (text: fc.Arbitrary<string>) =>
  fc.tuple(text, fc.oneof(fc.integer({ min: 0, max: 140 }).map(String), fc.constantFrom("007", "")))
    .map(([t, b]) => `${t}/${b}`);

Deno.test("generated IPv4 texts (short, hex, octal, out of range) read as ipaddr.js reads them", () => {
  fc.assert(fc.property(fc.oneof(v4Text, withBits(v4Text)), (t) => compare(t)), {
    numRuns: 4_000,
  });
});

Deno.test("generated IPv6 texts (::, embedded IPv4, zones, broken forms) read as ipaddr.js reads them", () => {
  const v6 = fc.oneof(v6Text, wellFormedV6, wellFormedV6);
  fc.assert(fc.property(fc.oneof(v6, withBits(v6)), (t) => compare(t)), {
    numRuns: 4_000,
  });
});

Deno.test("arbitrary short texts read as ipaddr.js reads them", () => {
  fc.assert(fc.property(anyText, (t) => compare(t)), { numRuns: 4_000 });
});

Deno.test("an address lies in a range exactly when ipaddr.js says so", () => {
  // An address and the same address with one bit flipped: the prefix length decides.
  const v4 = fc.tuple(
    fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 }),
    fc.integer({ min: 0, max: 31 }),
    fc.integer({ min: 0, max: 32 }),
  ).map(([o, bit, bits]) => {
    const other = [...o];
    other[bit >> 3] = other[bit >> 3]! ^ (0x80 >> (bit & 7));
    return [o.join("."), other.join("."), bits] as const;
  });
  const v6 = fc.tuple(
    fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }),
    fc.integer({ min: 0, max: 127 }),
    fc.integer({ min: 0, max: 128 }),
  ).map(([p, bit, bits]) => {
    const other = [...p];
    other[bit >> 4] = other[bit >> 4]! ^ (0x8000 >> (bit & 15));
    const hex = (ps: number[]) => ps.map((x) => x.toString(16)).join(":");
    return [hex(p), hex(other), bits] as const;
  });
  fc.assert(
    fc.property(fc.oneof(v4, v6), ([a, b, bits]) => {
      const theirs = ipaddr.parse(a).match(ipaddr.parse(b), bits);
      assert.equal(parseIp(a).match(parseIp(b), bits), theirs, `${a} in ${b}/${bits}`);
    }),
    { numRuns: 5_000 },
  );
  assert.equal(parseIp("10.1.2.3").match(...parseIpCidr("10.0.0.0/8")), true);
  assert.equal(parseIp("11.1.2.3").match(...parseIpCidr("10.0.0.0/8")), false);
  assert.equal(parseIp("10.1.2.3").match(...parseIpCidr("0.0.0.0/0")), true);
  assert.throws(() => parseIp("10.1.2.3").match(...parseIpCidr("::/0")));
});
