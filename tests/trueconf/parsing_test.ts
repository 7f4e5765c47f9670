// Pure parsing: ids, mentions, envelopes, lenient responses, OAuth bodies, refresh margins.
import assert from "node:assert/strict";
import {
  extractMentions,
  jwtExpiresAt,
  normalizeTrueConfId,
  parseIncomingMessage,
  parseOAuthBody,
  refreshMargin,
  sameTrueConfId,
  trueConfUrls,
} from "../../src/trueconf/mod.ts";
import { normalizeRole, parseParticipantsPage } from "../../src/trueconf/_responses.ts";
import { buildMultipart } from "../../src/trueconf/_upload.ts";

function jwt(payload: Record<string, unknown>): string {
  const b64 = (o: unknown) =>
    btoa(JSON.stringify(o)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  return `${b64({ alg: "HS256", typ: "JWT" })}.${b64(payload)}.sig`;
}

Deno.test("normalizeTrueConfId strips instance, &do, query, scheme and case", () => {
  assert.equal(normalizeTrueConfId("Bot@Video.Example.com/4f2a"), "bot@video.example.com");
  assert.equal(normalizeTrueConfId("trueconf:alice@srv&do=profile"), "alice@srv");
  assert.equal(normalizeTrueConfId("alice@srv?x=1"), "alice@srv");
  assert.equal(normalizeTrueConfId(" alice "), "alice");
  assert.ok(sameTrueConfId("alice@srv/1", "ALICE@srv"));
  assert.ok(sameTrueConfId("alice", "alice@srv"));
  assert.ok(!sameTrueConfId("alice@a", "alice@b"));
  assert.ok(!sameTrueConfId("", "alice"));
});

Deno.test("extractMentions: html anchors with suffixes, markdown, with and without domain", () => {
  const text = '<a href="trueconf:Bot@srv&amp;do=profile">Bot</a> hi ' +
    "<a href='trueconf:alice@srv/inst'>Alice</a> " +
    '<a class="m" href="trueconf:carol?x=1">Carol</a> [Dan](trueconf:dan@srv&do=profile) ' +
    '<a href="https://example.com">not a mention</a> <a href="trueconf:bot@srv">again</a>';
  assert.deepEqual(extractMentions(text), ["bot@srv", "alice@srv", "carol", "dan@srv"]);
  assert.deepEqual(extractMentions("plain @bot text"), []);
});

Deno.test("parseIncomingMessage: type 200 parsed, other types text empty, junk null", () => {
  const env = {
    messageId: "m1",
    chatId: "c1",
    timestamp: 1735314170572,
    type: 200,
    author: { id: "alice@srv/1", type: 1 },
    box: { id: 1, position: "x" },
    isEdited: false,
    replyMessageId: null,
    content: {
      text: '<a href="trueconf:bot@srv&do=profile">Bot</a> /webhook_list',
      parseMode: "html",
    },
  };
  const m = parseIncomingMessage(env);
  assert.ok(m);
  assert.equal(m.authorId, "alice@srv/1");
  assert.equal(m.text, env.content.text);
  assert.equal(m.parseMode, "html");
  assert.deepEqual(m.mentions, ["bot@srv"]);
  assert.equal(m.replyMessageId, null);
  assert.equal(m.raw, env);
  const file = parseIncomingMessage({
    ...env,
    type: 202,
    isEdited: "true",
    content: { name: "a.png", size: 3 },
  });
  assert.ok(file);
  assert.equal(file.text, "");
  assert.equal(file.isEdited, true);
  assert.deepEqual(file.mentions, []);
  assert.equal(parseIncomingMessage({ chatId: "c" }), null);
  assert.equal(parseIncomingMessage("junk"), null);
});

Deno.test("roles: strings, numbers 0..6, numeric strings, unknown → user", () => {
  assert.equal(normalizeRole("owner"), "owner");
  assert.equal(normalizeRole("ADMIN"), "admin");
  assert.equal(normalizeRole(0), "owner");
  assert.equal(normalizeRole(1), "admin");
  assert.equal(normalizeRole(6), "writer");
  assert.equal(normalizeRole("4"), "conf_moderator");
  assert.equal(normalizeRole(9), "user");
  assert.equal(normalizeRole("boss"), "user");
  assert.equal(normalizeRole(undefined), "user");
  assert.deepEqual(
    parseParticipantsPage([{ userId: "a@s", role: 0 }, { id: "b@s", role: "user" }, {}]),
    [
      { userId: "a@s", role: "owner" },
      { userId: "b@s", role: "user" },
    ],
  );
  assert.deepEqual(parseParticipantsPage({ participants: [{ userId: "a@s", role: "writer" }] }), [
    { userId: "a@s", role: "writer" },
  ]);
  assert.deepEqual(parseParticipantsPage({ errorCode: 0 }), []);
});

Deno.test("OAuth body: expires_at (s or ms), expires_in, JWT exp, none", () => {
  const now = () => 1_000_000;
  const exp = 2_000_000_000;
  assert.deepEqual(parseOAuthBody({ access_token: "t", expires_at: exp }, now), {
    token: "t",
    expiresAt: exp * 1000,
  });
  assert.deepEqual(parseOAuthBody({ access_token: "t", expires_at: exp * 1000 }, now), {
    token: "t",
    expiresAt: exp * 1000,
  });
  assert.deepEqual(parseOAuthBody({ access_token: "t", expires_in: 60 }, now), {
    token: "t",
    expiresAt: 1_060_000,
  });
  const tok = jwt({ exp, sub: "bot" });
  assert.equal(jwtExpiresAt(tok), exp * 1000);
  assert.deepEqual(parseOAuthBody({ access_token: tok, token_type: "JWT" }, now), {
    token: tok,
    expiresAt: exp * 1000,
  });
  assert.deepEqual(parseOAuthBody({ access_token: "opaque" }, now), {
    token: "opaque",
    expiresAt: null,
  });
  assert.equal(parseOAuthBody({ error: "x" }, now), null);
  assert.equal(jwtExpiresAt("a.!!!.c"), null);
});

Deno.test("refreshMargin: 10 % within [1 min, 5 days], at most half the lifetime", () => {
  const day = 86_400_000;
  assert.equal(refreshMargin(30 * day), 3 * day);
  assert.equal(refreshMargin(365 * day), 5 * day);
  assert.equal(refreshMargin(3_600_000), 360_000);
  assert.equal(refreshMargin(300_000), 60_000);
  assert.equal(refreshMargin(10_000), 5_000);
  assert.equal(refreshMargin(10_000, 1_000), 1_000);
  assert.equal(refreshMargin(10_000, 60_000), 5_000);
});

Deno.test("trueConfUrls: explicit port, scheme from https, IPv6 brackets, rejects schemes", () => {
  assert.deepEqual(trueConfUrls({ server: "tc.example.com", https: true, port: 443 }), {
    httpBase: "https://tc.example.com:443",
    wsUrl: "wss://tc.example.com:443/websocket/chat_bot",
  });
  assert.equal(
    trueConfUrls({ server: "::1", https: false, port: 4309 }).wsUrl,
    "ws://[::1]:4309/websocket/chat_bot",
  );
  assert.throws(() => trueConfUrls({ server: "https://x", https: true, port: 1 }), TypeError);
});

Deno.test("multipart body: parts, raw UTF-8 filenames, quotes escaped", () => {
  const body = buildMultipart([
    {
      field: "file",
      name: 'отчёт "q".pdf',
      mimeType: "application/pdf",
      bytes: new Uint8Array([1, 2]),
    },
  ], "BB");
  const text = new TextDecoder().decode(body);
  assert.ok(
    text.startsWith(
      '--BB\r\nContent-Disposition: form-data; name="file"; filename="отчёт %22q%22.pdf"\r\n',
    ),
  );
  assert.ok(text.includes("Content-Type: application/pdf\r\n\r\n\x01\x02\r\n--BB--\r\n"));
});
