import assert from "node:assert/strict";
import { clientIp, parseCidrList } from "../../src/ingest/client_ip.ts";

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

Deno.test("parseCidrList() names the bad entry", () => {
  assert.throws(() => parseCidrList("10.0.0.0/8, nonsense"), /"nonsense"/);
  assert.equal(parseCidrList(" ").length, 0);
});
