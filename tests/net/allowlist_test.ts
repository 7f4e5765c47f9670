import assert from "node:assert/strict";
import { isAddressAllowed, parseAllowlist } from "../../src/net/mod.ts";

Deno.test("parseAllowlist() reads CIDRs, addresses, names and wildcards, normalized", () => {
  const allow = parseAllowlist(
    " 10.0.0.0/8, Grafana.Intra. ,192.168.1.5,fd00::/8, *.Corp.Example,, [fd01::1], bücher.example ",
  );
  assert.deepEqual(allow.entries, [
    "10.0.0.0/8",
    "grafana.intra",
    "192.168.1.5",
    "fd00::/8",
    "*.corp.example",
    "fd01::1",
    "xn--bcher-kva.example",
  ]);
  assert.deepEqual([...allow.hosts], ["grafana.intra", "xn--bcher-kva.example"]);
  assert.deepEqual(allow.suffixes, [".corp.example"]);
  assert.equal(allow.cidrs.length, 4);
});

Deno.test("parseAllowlist() of an empty or blank spec allows nothing extra", async () => {
  for (const spec of ["", "  ", ", ,"]) {
    const allow = parseAllowlist(spec);
    assert.equal(allow.entries.length, 0);
    assert.equal(await isAddressAllowed("10.0.0.1", allow), false);
  }
});

Deno.test("parseAllowlist() throws on a bad entry, naming it", () => {
  const bad = [
    "10.0.0.0/33",
    "300.1.1.1",
    "10.0.0.0/x",
    "fd00::/129",
    "127.1",
    "0x7f000001",
    "*",
    "foo bar",
    "http://grafana.intra",
    "user@host",
    "a..b",
    "-bad.example",
    "grafana.intra:3000",
    "*.",
    "fe80::1%eth0",
  ];
  for (const entry of bad) {
    assert.throws(
      () => parseAllowlist(`10.0.0.0/8, ${entry}`),
      (e: unknown) => e instanceof TypeError && e.message.includes(`"${entry}"`),
      `entry ${entry} should be refused`,
    );
  }
});

Deno.test("isAddressAllowed() allows global unicast only", async () => {
  for (const ok of ["8.8.8.8", "93.184.215.14", "2606:4700:4700::1111", "[2a00:1450:4001::1]"]) {
    assert.equal(await isAddressAllowed(ok), true, ok);
  }
  const blocked = [
    "127.0.0.1",
    "10.1.1.1",
    "172.31.255.255",
    "192.168.0.1",
    "100.64.0.1",
    "169.254.169.254",
    "0.0.0.0",
    "255.255.255.255",
    "224.0.0.251",
    "192.0.2.1",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "fd00::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "2002:c0a8:101::1",
    "64:ff9b::a00:1",
    "2001:db8::1",
    "not an address",
    "127.1",
  ];
  for (const address of blocked) assert.equal(await isAddressAllowed(address), false, address);
});

Deno.test("isAddressAllowed() allows what an allowlist CIDR or address covers, mapped forms too", async () => {
  const allow = parseAllowlist("10.0.0.0/8, 192.168.1.5, fd00::/8, ::ffff:172.16.0.0/108");
  assert.equal(await isAddressAllowed("10.200.0.1", allow), true);
  assert.equal(await isAddressAllowed("::ffff:10.200.0.1", allow), true);
  assert.equal(await isAddressAllowed("192.168.1.5", allow), true);
  assert.equal(await isAddressAllowed("192.168.1.6", allow), false);
  assert.equal(await isAddressAllowed("fd00::1234", allow), true);
  assert.equal(await isAddressAllowed("fc00::1", allow), false);
  assert.equal(await isAddressAllowed("172.16.3.4", allow), true);
  assert.equal(await isAddressAllowed("127.0.0.1", allow), false);
  assert.equal(await isAddressAllowed("8.8.8.8", allow), true);
});
