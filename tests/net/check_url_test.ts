import assert from "node:assert/strict";
import { checkUrl, parseAllowlist, SafeFetchError } from "../../src/net/mod.ts";
import type { SafeFetchErrorCode } from "../../src/net/mod.ts";

async function assertRefused(url: string, code: SafeFetchErrorCode, allowlist = "") {
  await assert.rejects(
    checkUrl(url, parseAllowlist(allowlist)),
    (e: unknown) => e instanceof SafeFetchError && e.code === code && e.permanent,
    `${url} should be refused with ${code}`,
  );
}

Deno.test("checkUrl() refuses the cloud metadata address 169.254.169.254", async () => {
  await assertRefused("http://169.254.169.254/latest/meta-data/", "unsafe_url");
  await assertRefused("http://[fd00:ec2::254]/latest/meta-data/", "unsafe_url");
});

Deno.test("checkUrl() refuses metadata host names, even under a wildcard allowlist entry", async () => {
  await assertRefused("http://metadata.google.internal/computeMetadata/v1/", "unsafe_url");
  await assertRefused("http://METADATA.google.internal./computeMetadata/v1/", "unsafe_url");
  await assertRefused("http://metadata/computeMetadata/v1/", "unsafe_url");
  await assertRefused("http://instance-data/latest/", "unsafe_url");
  await assertRefused(
    "http://metadata.google.internal/",
    "unsafe_url",
    "*.internal, *.google.internal",
  );
  // Only a deliberate exact entry opens it.
  await checkUrl("http://metadata.google.internal/", parseAllowlist("metadata.google.internal"));
});

Deno.test("checkUrl() refuses localhost and *.localhost", async () => {
  await assertRefused("http://localhost:8080/", "unsafe_url");
  await assertRefused("http://LocalHost./", "unsafe_url");
  await assertRefused("http://app.localhost/", "unsafe_url");
  await assertRefused("http://grafana.corp.internal/", "unsafe_url");
  await assertRefused("http://printer.local/", "unsafe_url");
});

Deno.test("checkUrl() refuses odd spellings of 127.0.0.1 (127.1, 0x7f000001, octal, decimal)", async () => {
  for (const host of ["127.1", "0x7f000001", "0177.0.0.1", "2130706433", "0x7f.1", "127.0.0.1."]) {
    await assertRefused(`http://${host}/`, "unsafe_url");
  }
});

Deno.test("checkUrl() refuses IPv6 loopback [::1] and IPv4-mapped [::ffff:127.0.0.1]", async () => {
  await assertRefused("http://[::1]/", "unsafe_url");
  await assertRefused("http://[::ffff:127.0.0.1]/", "unsafe_url");
  await assertRefused("http://[::ffff:7f00:1]/", "unsafe_url");
  await assertRefused("http://[0:0:0:0:0:ffff:a9fe:a9fe]/", "unsafe_url"); // mapped 169.254.169.254
});

Deno.test("checkUrl() refuses private 10/8, 172.16/12, 192.168/16 and CGNAT 100.64/10", async () => {
  for (const host of ["10.0.0.1", "10.255.255.254", "172.16.0.1", "192.168.1.1", "100.64.0.1"]) {
    await assertRefused(`http://${host}/`, "unsafe_url");
  }
  await checkUrl("http://100.128.0.1/"); // just outside 100.64/10
});

Deno.test("checkUrl() refuses IPv6 unique-local fc00::/7 and link-local", async () => {
  await assertRefused("http://[fc00::1]/", "unsafe_url");
  await assertRefused("http://[fd12:3456::1]/", "unsafe_url");
  await assertRefused("http://[fe80::1]/", "unsafe_url");
});

Deno.test("checkUrl() refuses unspecified, multicast, broadcast and reserved addresses", async () => {
  for (
    const host of [
      "0.0.0.0",
      "0.1.2.3",
      "224.0.0.1",
      "255.255.255.255",
      "240.0.0.1",
      "[::]",
      "[ff02::1]",
    ]
  ) {
    await assertRefused(`http://${host}/`, "unsafe_url");
  }
});

Deno.test("checkUrl() refuses IPv6 forms that embed IPv4: 6to4, Teredo, NAT64 of a private address, IPv4-compatible", async () => {
  await assertRefused("http://[2002:7f00:1::1]/", "unsafe_url"); // 6to4 of 127.0.0.1
  await assertRefused("http://[2002:808:808::1]/", "unsafe_url"); // 6to4 is blocked outright
  await assertRefused("http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", "unsafe_url"); // Teredo
  await assertRefused("http://[64:ff9b::7f00:1]/", "unsafe_url"); // NAT64 of 127.0.0.1
  await assertRefused("http://[64:ff9b::a9fe:a9fe]/", "unsafe_url"); // NAT64 of 169.254.169.254
  await assertRefused("http://[64:ff9b:1::a00:1]/", "unsafe_url"); // local-use NAT64 prefix
  await assertRefused("http://[::127.0.0.1]/", "unsafe_url"); // IPv4-compatible (deprecated)
  await checkUrl("http://[64:ff9b::808:808]/"); // NAT64 of a public address: DNS64 networks need it
});

Deno.test("checkUrl() accepts public names and addresses", async () => {
  assert.equal((await checkUrl("https://example.com/a.png")).hostname, "example.com");
  await checkUrl("http://93.184.215.14:8080/x");
  await checkUrl("http://[2606:4700:4700::1111]/");
  await checkUrl("https://grafana.example.com/render/d-solo/abc?panelId=2&width=1000");
});

Deno.test("checkUrl() refuses schemes other than http(s), credentials and garbage as invalid_url", async () => {
  await assertRefused("file:///etc/passwd", "invalid_url");
  await assertRefused("ftp://example.com/a.png", "invalid_url");
  await assertRefused("gopher://example.com:70/", "invalid_url");
  await assertRefused("data:image/png;base64,AAAA", "invalid_url");
  await assertRefused("http://user:pass@example.com/", "invalid_url");
  await assertRefused("http://user@example.com/", "invalid_url");
  await assertRefused("not a url", "invalid_url");
  await assertRefused("/relative/path.png", "invalid_url");
});

Deno.test("checkUrl() lets allowlisted CIDRs, addresses and names through", async () => {
  const allow = "10.0.0.0/8, grafana.intra, 192.168.1.5, fd00::/8, *.corp.example";
  await checkUrl("http://10.20.30.40:3000/render", parseAllowlist(allow));
  await checkUrl("http://192.168.1.5/", parseAllowlist(allow));
  await checkUrl("http://[fd00::5]/", parseAllowlist(allow));
  await checkUrl("http://[::ffff:10.0.0.1]/", parseAllowlist(allow));
  await checkUrl("http://grafana.intra/", parseAllowlist(allow));
  await checkUrl("http://files.corp.example/a.png", parseAllowlist(allow));
  await assertRefused("http://192.168.1.6/", "unsafe_url", allow);
  await assertRefused("http://[fc00::5]/", "unsafe_url", allow);
  await assertRefused("http://169.254.169.254/", "unsafe_url", allow);
});
