import assert from "node:assert/strict";
import { inCidrList, isAddressAllowed, parseAllowlist, parseCidrList } from "../../src/net/mod.ts";

Deno.test("parseCidrList() names the bad entry", () => {
  assert.throws(() => parseCidrList("10.0.0.0/8, nonsense"), /"nonsense"/);
  assert.equal(parseCidrList(" ").length, 0);
});

Deno.test("inCidrList(): ranges, single addresses, IPv4-mapped peers, never across families", () => {
  const list = parseCidrList("10.0.0.0/8, 192.0.2.7, 2001:db8::/32");
  assert.equal(inCidrList("10.200.1.1", list), true);
  assert.equal(inCidrList("192.0.2.7", list), true);
  assert.equal(inCidrList("192.0.2.8", list), false);
  assert.equal(inCidrList("::ffff:10.1.2.3", list), true);
  assert.equal(inCidrList("[2001:db8::5]", list), true);
  assert.equal(inCidrList("::a00:1", list), false); // an IPv6 address is not matched by 10/8
  assert.equal(inCidrList("not an address", list), false);
});

Deno.test("the URL allowlist's ranges match as a trusted-proxy list does", async () => {
  // One reading of "is this address in these ranges" (cidr_list.ts) for both settings.
  const spec = "10.0.0.0/8, 192.0.2.7, 2001:db8::/32";
  const proxies = parseCidrList(spec);
  const allow = parseAllowlist(spec);
  for (const address of ["10.9.9.9", "192.0.2.7", "192.0.2.8", "2001:db8::1", "fd00::1"]) {
    assert.equal(await isAddressAllowed(address, allow), inCidrList(address, proxies), address);
  }
});

Deno.test("parseCidrList(): IPv4-mapped entries are the IPv4 addresses and ranges they name", () => {
  // As a dual-stack log writes an IPv4 proxy; addresses are compared unwrapped, so a list
  // that kept the mapped form matched nothing (WEBHOOK_TRUSTED_PROXIES=::ffff:10.0.0.1).
  const list = parseCidrList("::ffff:10.0.0.1, ::ffff:192.0.2.0/120, ::ffff:0:0/96");
  assert.equal(inCidrList("10.0.0.1", list), true);
  assert.equal(inCidrList("::ffff:10.0.0.1", list), true);
  assert.equal(inCidrList("10.0.0.2", list), true, "::ffff:0:0/96 is all of IPv4");
  const one = parseCidrList("::ffff:10.0.0.1, ::ffff:192.0.2.0/120");
  assert.equal(inCidrList("10.0.0.2", one), false);
  assert.equal(inCidrList("192.0.2.255", one), true);
  assert.equal(inCidrList("192.0.3.0", one), false);
  // Other IPv6 stays IPv6.
  assert.equal(inCidrList("::1", parseCidrList("::1")), true);
});
