// Login through an OAuth application (TRUECONF_CLIENT_ID) for servers where the bot's password
// grant is off, as the official Python SDK's Bot.from_oauth does it (issue 17.10). Against the
// fake TrueConf over real sockets: check-config's path (checkTrueConf) and serve's (the client).
import assert from "node:assert/strict";
import { checkTrueConf, TrueConfClient } from "../../src/trueconf/mod.ts";
import { FakeTrueConf } from "../support/fake_trueconf.ts";
import { ALICE, BOT, clientOptions } from "./_helpers.ts";

const APP = "3f2a9c41d7";

async function withFake(fn: (fake: FakeTrueConf) => Promise<void>) {
  const fake = await FakeTrueConf.start({
    bot: BOT,
    users: [ALICE],
    passwordGrant: false,
    oauthApps: [{ clientId: APP, scopes: ["version:read"] }, { clientId: "bare", scopes: [] }],
  });
  try {
    await fn(fake);
  } finally {
    await fake.close();
  }
}

function check(fake: FakeTrueConf, clientId?: string) {
  return checkTrueConf({
    server: "127.0.0.1",
    https: false,
    port: fake.port,
    verifyTls: true,
    auth: { username: BOT.login, password: BOT.password, ...(clientId ? { clientId } : {}) },
    timeoutMs: 5_000,
  });
}

Deno.test("password login off: the bot grant's 403 auth_method_disabled names TRUECONF_CLIENT_ID", async () => {
  await withFake(async (fake) => {
    const r = await check(fake);
    assert.equal(r.ok, false);
    assert.match(
      r.steps[0]!.detail,
      /HTTP 403 auth_method_disabled\): password login is off on this server — create an OAuth application .* set its client_id as TRUECONF_CLIENT_ID$/,
    );
  });
});

Deno.test("with TRUECONF_CLIENT_ID: web token → authorization code → bot token, then the socket auth", async () => {
  await withFake(async (fake) => {
    const r = await check(fake, APP);
    assert.equal(r.ok, true, JSON.stringify(r.steps));
    assert.deepEqual(r.steps.map((s) => s.name), ["oauth", "websocket", "auth"]);
    assert.equal(r.botId, fake.botId.toLowerCase());
    const paths = fake.oauthRequests.map((q) => (q as { path?: string }).path);
    assert.deepEqual(paths, [
      "/api/v4/oauth2/token",
      "/bridge/api/client/v1/auth/web_rest_api_token",
      "/bridge/api/client/v1/auth/token",
    ]);
    assert.deepEqual((fake.oauthRequests[0] as { body: unknown }).body, {
      client_id: APP,
      grant_type: "password",
      username: BOT.login,
      password: BOT.password,
    });
  });
});

Deno.test("an application without a scope, and an unknown client_id, are told apart", async () => {
  await withFake(async (fake) => {
    const bare = await check(fake, "bare");
    assert.match(
      bare.steps[0]!.detail,
      /invalidScope\): the application of TRUECONF_CLIENT_ID has no scope; give it one \(version:read is enough\)/,
    );
    const unknown = await check(fake, "nope");
    assert.match(
      unknown.steps[0]!.detail,
      /rejected \(HTTP 401\): check TRUECONF_USERNAME, TRUECONF_PASSWORD and TRUECONF_CLIENT_ID$/,
    );
  });
});

Deno.test("serve's client logs in through the application and can send", async () => {
  await withFake(async (fake) => {
    const base = clientOptions(fake);
    const client = new TrueConfClient({
      ...base,
      auth: { username: BOT.login, password: BOT.password, clientId: APP },
    });
    try {
      client.start();
      await client.ready(5_000);
      const chat = await client.createP2PChat(fake.userId("alice"));
      await client.sendMessage(chat, "via the OAuth app", "text");
      assert.deepEqual(fake.messagesIn(chat).map((m) => m.text), ["via the OAuth app"]);
    } finally {
      await client.close();
    }
  });
});
