import assert from "node:assert/strict";
import { clientIp } from "../../src/ingest/client_ip.ts";
import { parseCidrList } from "../../src/net/mod.ts";

const LOOPBACK = parseCidrList("127.0.0.0/8,::1/128");

Deno.test("clientIp() ignores X-Forwarded-For from an untrusted peer", () => {
  assert.equal(clientIp("203.0.113.9", "1.2.3.4", LOOPBACK), "203.0.113.9");
});

Deno.test("clientIp() believes X-Forwarded-For from a local reverse proxy", () => {
  assert.equal(clientIp("127.0.0.1", "198.51.100.7", LOOPBACK), "198.51.100.7");
  // The right-most untrusted hop wins: a client cannot prepend a fake address.
  assert.equal(clientIp("127.0.0.1", "6.6.6.6, 198.51.100.7", LOOPBACK), "198.51.100.7");
  assert.equal(clientIp("::1", "198.51.100.7, 127.0.0.1", LOOPBACK), "198.51.100.7");
});

Deno.test("clientIp() unwraps IPv4-mapped peers and survives garbage", () => {
  assert.equal(clientIp("::ffff:127.0.0.1", "198.51.100.7", LOOPBACK), "198.51.100.7");
  assert.equal(clientIp("127.0.0.1", "not-an-ip", LOOPBACK), "127.0.0.1");
  assert.equal(clientIp(undefined, "1.2.3.4", LOOPBACK), "unknown");
});

Deno.test("clientIp() writes addresses in one canonical form, whatever form the peer or proxy used", () => {
  // The same client is one rate-limit key: IPv4-mapped, short, hex and zero-padded IPv6 forms
  // all read as ipaddr.js read them (src/net/ip_address.ts; tests/net/ip_address_test.ts).
  assert.equal(clientIp("::ffff:203.0.113.7", null, LOOPBACK), "203.0.113.7");
  assert.equal(clientIp("[2001:0DB8:0:0:0:0:0:1]", null, LOOPBACK), "2001:db8::1");
  assert.equal(clientIp("127.0.0.1", "::ffff:198.51.100.7", LOOPBACK), "198.51.100.7");
  assert.equal(clientIp("127.0.0.1", "0xc6.51.100.7", LOOPBACK), "198.51.100.7");
  // A hop that is a trusted proxy in an odd spelling (127.1 is 127.0.0.1) is skipped.
  assert.equal(clientIp("127.0.0.1", "198.51.100.7, 127.1", LOOPBACK), "198.51.100.7");
  assert.equal(clientIp("::1", "198.51.100.7, ::ffff:127.0.0.1", LOOPBACK), "198.51.100.7");
});

Deno.test("parseCidrList() reads ranges and single addresses in any form ipaddr.js read", () => {
  const list = parseCidrList("10.1/16, ::ffff:192.0.2.0/120, 2001:db8::1, 192.0.2.77");
  assert.deepEqual(list.map(([a, bits]) => `${a}/${bits}`), [
    "10.0.0.1/16",
    "192.0.2.0/24", // IPv4-mapped: kept as the IPv4 range it names, the form addresses are compared in
    "2001:db8::1/128",
    "192.0.2.77/32",
  ]);
  assert.throws(() => parseCidrList("10.0.0.0/33"), /"10.0.0.0\/33"/);
});
