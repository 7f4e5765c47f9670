// Connection errors name their cause and the setting to change (issue 17.1); fetch, which the
// HTTP requests used before, said only "fetch failed" and kept the reason in err.cause. Each class is produced for real on
// loopback: a closed port, a TLS server whose CA is unknown, a plain-HTTP server on the TLS
// setting and the reverse, a name that cannot resolve (.invalid), a web server answering HTML.
// Checked through checkTrueConf, the code check-config runs, and through the client serve runs.
import assert from "node:assert/strict";
import { type CheckReport, checkTrueConf, TrueConfClient } from "../../src/trueconf/mod.ts";
import { FakeTrueConf, makeTestCertificates } from "../support/fake_trueconf.ts";
import { mintJwt } from "../support/_fake_jwt.ts";
import { closedPort } from "../support/closed_port.ts";
import { BOT, clientOptions, CREDS } from "./_helpers.ts";

const certs = await makeTestCertificates();

function check(port: number, https: boolean, extra: Record<string, unknown> = {}) {
  return checkTrueConf({
    server: "127.0.0.1",
    https,
    port,
    verifyTls: true,
    auth: CREDS,
    timeoutMs: 5_000,
    ...extra,
  });
}

/** The failed step's detail; asserts it is one line without "fetch failed". */
function failure(r: CheckReport): string {
  assert.equal(r.ok, false);
  const step = r.steps.find((s) => !s.ok);
  assert.ok(step, JSON.stringify(r));
  assert.ok(!step.detail.includes("fetch failed"), step.detail);
  assert.ok(!step.detail.includes("\n"), step.detail);
  return step.detail;
}

Deno.test("a closed port: 'Connection refused' and check TRUECONF_WEB_PORT", async () => {
  const port = await closedPort();
  for (const verifyTls of [true, false]) { // Deno's TCP, and node:tls when verification is off
    const detail = failure(await check(port, true, { verifyTls }));
    assert.match(detail, /Connection refused|ECONNREFUSED/);
    assert.match(detail, new RegExp(`port ${port}: check TRUECONF_WEB_PORT`));
  }
  const plain = failure(await check(port, false));
  assert.match(plain, /Connection refused .* check TRUECONF_WEB_PORT/);
});

Deno.test("a TLS server with an unknown CA: UnknownIssuer and TRUECONF_CA_FILE or TRUECONF_VERIFY_SSL=false", async () => {
  const fake = await FakeTrueConf.start({
    bot: BOT,
    tls: { certPem: certs.certPem, keyPem: certs.keyPem },
  });
  try {
    const detail = failure(await check(fake.port, true));
    assert.match(
      detail,
      /invalid peer certificate: UnknownIssuer — TrueConf's TLS certificate is not trusted: put the CA that signed it \(PEM\) in TRUECONF_CA_FILE, or set TRUECONF_VERIFY_SSL=false$/,
    );
    // A CA file that does not sign this certificate says so instead.
    const otherCa = (await makeTestCertificatesElsewhere()).caPem;
    const wrong = failure(await check(fake.port, true, { caPem: otherCa }));
    assert.match(wrong, /not signed by the CA in TRUECONF_CA_FILE/);
  } finally {
    await fake.close();
  }
});

Deno.test("a plain-HTTP server on the TLS setting, and a TLS server on the plain setting", async () => {
  const plain = await FakeTrueConf.start({ bot: BOT });
  const tls = await FakeTrueConf.start({
    bot: BOT,
    tls: { certPem: certs.certPem, keyPem: certs.keyPem },
  });
  try {
    const onTls = failure(await check(plain.port, true));
    assert.match(
      onTls,
      /InvalidContentType — port \d+ answered plain HTTP where TLS was expected: set TRUECONF_HTTPS=false/,
    );
    const offTls = failure(await check(plain.port, true, { verifyTls: false }));
    assert.match(offTls, /answered plain HTTP where TLS was expected: set TRUECONF_HTTPS=false/);
    const onPlain = failure(await check(tls.port, false));
    assert.match(onPlain, /speaks TLS but TRUECONF_HTTPS=false: set TRUECONF_HTTPS=true/);
  } finally {
    await plain.close();
    await tls.close();
  }
});

Deno.test("a name that does not resolve: DNS and check TRUECONF_SERVER", async () => {
  const r = await checkTrueConf({
    server: "trueconf.invalid", // RFC 2606: never resolves
    https: true,
    port: 443,
    verifyTls: true,
    auth: CREDS,
    timeoutMs: 5_000,
  });
  assert.match(
    failure(r),
    /failed to lookup address information.* — the host name trueconf\.invalid does not resolve: check TRUECONF_SERVER/,
  );
});

Deno.test("a web server answering HTML: one line naming the page, not the page", async () => {
  const page = (title: string) =>
    `<!DOCTYPE html>\n<html>\n<head><title>${title}</title></head>\n<body>\n<center><h1>${title}</h1></center>\n<hr><center>nginx</center>\n</body>\n</html>\n`;
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) =>
      new URL(req.url).searchParams.has("x")
        ? new Response("", { status: 204 })
        : new Response(page(req.method === "POST" ? "Welcome to nginx!" : "x"), {
          status: 200,
          headers: { "content-type": "text/html" },
        }),
  );
  const ok200 = failure(await check(server.addr.port, false));
  assert.match(
    ok200,
    /HTTP 200 with an HTML page "Welcome to nginx!" instead of JSON — is this TrueConf Server's web port/,
  );
  await using bad = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () =>
      new Response(page("502 Bad Gateway"), {
        status: 502,
        headers: { "content-type": "text/html" },
      }),
  );
  const gateway = failure(await check(bad.addr.port, false));
  assert.match(gateway, /HTTP 502 \(an HTML page "502 Bad Gateway"\)/);
});

Deno.test("static tokens: garbage is refused before connecting; an expired JWT says to set a new one", async () => {
  const garbage = await checkTrueConf({
    server: "127.0.0.1",
    https: false,
    port: await closedPort(),
    verifyTls: true,
    auth: { token: "paste-error" },
  });
  assert.deepEqual(garbage.steps.map((s) => [s.name, s.ok]), [["token", false]]);
  assert.match(garbage.steps[0]!.detail, /^TRUECONF_TOKEN is not a JWT/);
  const expired = await checkTrueConf({
    server: "127.0.0.1",
    https: false,
    port: await closedPort(),
    verifyTls: true,
    auth: { token: mintJwt({ sub: "bot", exp: Math.floor(Date.now() / 1000) - 3600 }) },
  });
  assert.deepEqual(expired.steps.map((s) => [s.name, s.ok]), [["token", false]]);
  assert.match(expired.steps[0]!.detail, /expired .* — set a new TRUECONF_TOKEN/);
  // A valid token against a closed port: the websocket step explains the cause too.
  const ws = await checkTrueConf({
    server: "127.0.0.1",
    https: false,
    port: await closedPort(),
    verifyTls: true,
    auth: { token: mintJwt({ sub: "bot", exp: Math.floor(Date.now() / 1000) + 3600 }) },
    timeoutMs: 5_000,
  });
  assert.equal(ws.steps.at(-1)?.name, "websocket");
  assert.match(failure(ws), /Connection refused .* check TRUECONF_WEB_PORT/);
});

Deno.test("serve's client reports the same cause in its state (what /readyz details and the log show)", async () => {
  const fake = await FakeTrueConf.start({
    bot: BOT,
    tls: { certPem: certs.certPem, keyPem: certs.keyPem },
  });
  const client = new TrueConfClient({ ...clientOptions(fake), https: true });
  try {
    const failed = new Promise<string>((resolve) => {
      const off = client.onStateChange((s) => {
        if (s.lastError) {
          off();
          resolve(s.lastError);
        }
      });
    });
    client.start();
    assert.match(await failed, /UnknownIssuer — .*TRUECONF_CA_FILE/);
  } finally {
    await client.close();
    await fake.close();
  }
});

/** A second, unrelated CA (generated outside the shared cache). */
async function makeTestCertificatesElsewhere(): Promise<{ caPem: string }> {
  const dir = await Deno.makeTempDir();
  try {
    const out = await new Deno.Command("openssl", {
      args: [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        `${dir}/k.pem`,
        "-out",
        `${dir}/c.pem`,
        "-days",
        "2",
        "-subj",
        "/CN=Other CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
      ],
      stdout: "null",
      stderr: "null",
    }).output();
    assert.ok(out.success);
    return { caPem: await Deno.readTextFile(`${dir}/c.pem`) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
