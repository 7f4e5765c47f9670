// TLS: a custom CA, verification off, and the default (system roots) refusing a test cert.
import assert from "node:assert/strict";
import { checkTrueConf, fetchOAuthToken, TrueConfTimeoutError } from "../../src/trueconf/mod.ts";
import { FakeTrueConf, makeTestCertificates } from "../support/fake_trueconf.ts";
import { ALICE, BOT, CREDS, withClient } from "./_helpers.ts";
import { mintJwt } from "../support/_fake_jwt.ts";

const certs = await makeTestCertificates();
const tls = { certPem: certs.certPem, keyPem: certs.keyPem };

async function roundTrip(
  fake: FakeTrueConf,
  client: import("../../src/trueconf/mod.ts").TrueConfClient,
) {
  const alice = fake.userId(ALICE.login);
  const chatId = await client.createP2PChat(alice);
  await client.sendMessage(chatId, "over TLS", "text");
  await client.sendFile(chatId, {
    bytes: new Uint8Array([1, 2, 3]),
    name: "a.png",
    mimeType: "image/png",
    preview: { bytes: new Uint8Array([4]), name: "p.jpg", mimeType: "image/jpeg" },
  });
  assert.deepEqual(fake.sent.map((s) => s.kind), ["text", "photo"]);
  const framing = fake.uploadFraming.at(-1);
  assert.equal(framing?.chunked, false, "the upload carries its real Content-Length");
  assert.equal(framing?.contentLength, framing?.bodyBytes);
}

Deno.test("TLS with the test CA: OAuth, socket and upload verified", async () => {
  await withClient({ tls }, { https: true, caPem: certs.caPem }, roundTrip);
});

Deno.test("TLS with verifyTls:false: OAuth, socket and upload without verification", async () => {
  await withClient({ tls }, { https: true, verifyTls: false }, roundTrip);
});

Deno.test("TLS verification on without the CA: refused, reported in lastError", async () => {
  await withClient({ tls }, { https: true, connectTimeoutMs: 1_000 }, async (fake, client) => {
    await assert.rejects(
      fetchOAuthToken(
        { server: "127.0.0.1", https: true, port: fake.port, verifyTls: true },
        CREDS,
      ),
    );
    client.start();
    await assert.rejects(client.ready(300), TrueConfTimeoutError);
    assert.ok(client.state.lastError);
    assert.equal(fake.tokensIssued, 0);
  }, false);
});

Deno.test("checkTrueConf reports each step", async () => {
  const fake = await FakeTrueConf.start({ bot: BOT, tls, userIdSuffix: "/x" });
  try {
    const base = {
      server: "127.0.0.1",
      https: true,
      port: fake.port,
      verifyTls: true,
      caPem: certs.caPem,
    };
    const ok = await checkTrueConf({
      ...base,
      auth: BOT.login ? { username: BOT.login, password: BOT.password } : { token: "" },
    });
    assert.equal(ok.ok, true, JSON.stringify(ok));
    assert.deepEqual(ok.steps.map((s) => s.name), ["oauth", "websocket", "auth"]);
    assert.equal(ok.botId, fake.botId.toLowerCase());
    const bad = await checkTrueConf({ ...base, auth: { username: BOT.login, password: "wrong" } });
    assert.equal(bad.ok, false);
    assert.match(bad.steps[0]!.detail, /OAuth rejected/);
    // A well-formed JWT the server did not issue: refused at the socket's auth.
    const stranger = mintJwt({ sub: "bot", exp: Math.floor(Date.now() / 1000) + 3600 });
    const badTok = await checkTrueConf({ ...base, auth: { token: stranger } });
    assert.equal(badTok.ok, false);
    assert.equal(badTok.steps.at(-1)?.name, "auth");
    const noTls = await checkTrueConf({
      ...base,
      caPem: undefined,
      auth: { username: BOT.login, password: BOT.password },
    });
    assert.equal(noTls.ok, false);
  } finally {
    await fake.close();
  }
});
