// Edits, removals, replies, getMessageById, the server version and URL buttons: the client
// against the fake TrueConf over real loopback sockets, wire shapes as the Python SDK 1.5
// sends them.
import assert from "node:assert/strict";
import {
  isTrueConfError,
  TrueConfApiError,
  TrueConfDisconnectedError,
  TrueConfErrorCode,
  TrueConfHttpError,
  TrueConfTimeoutError,
} from "../../src/trueconf/mod.ts";
import { ALICE, withClient } from "./_helpers.ts";

const gone = (code: number) => (e: unknown) =>
  e instanceof TrueConfApiError && e.code === code && e.messageGone;

Deno.test("editMessage overwrites text and parse mode; the wire payload is the SDK's", async () => {
  await withClient({}, {}, async (fake, client) => {
    const chat = fake.p2pChatId(fake.userId(ALICE.login));
    const sent = await client.sendMessage(chat, "Deploy started…", "text");
    const edited = await client.editMessage(sent.messageId, "Deploy **finished** ✅", "markdown");
    assert.equal(edited.messageId, sent.messageId);
    assert.ok(edited.timestamp > 0);
    const req = fake.requests.find((r) => r.method === "editMessage");
    assert.deepEqual(req?.payload, {
      messageId: sent.messageId,
      content: { text: "Deploy **finished** ✅", parseMode: "markdown" },
    });
    const shown = fake.messagesIn(chat);
    assert.equal(shown.length, 1);
    assert.equal(shown[0]?.text, "Deploy **finished** ✅");
    assert.equal(shown[0]?.edited, true);
    assert.deepEqual(shown[0]?.history, [{ text: "Deploy started…", parseMode: "text" }]);
    const back = await client.getMessageById(sent.messageId);
    assert.equal(back.chatId, chat);
    assert.equal(back.text, "Deploy **finished** ✅");
    assert.equal(back.isEdited, true);
    assert.deepEqual(fake.protocolErrors, []);
  });
});

Deno.test("removeMessage removes for everyone; edits, replies and lookups of it answer 306, unknown ids 307", async () => {
  await withClient({}, {}, async (fake, client) => {
    const chat = fake.p2pChatId(fake.userId(ALICE.login));
    const a = await client.sendMessage(chat, "one", "text");
    const b = await client.sendMessage(chat, "two", "text");
    await client.removeMessage(a.messageId);
    assert.deepEqual(fake.requests.find((r) => r.method === "removeMessage")?.payload, {
      messageId: a.messageId,
      forAll: true,
    });
    assert.deepEqual(fake.messagesIn(chat).map((m) => m.text), ["two"]);
    await assert.rejects(client.editMessage(a.messageId, "x", "text"), gone(306));
    await assert.rejects(client.getMessageById(a.messageId), gone(306));
    await assert.rejects(
      client.sendMessage(chat, "re", "text", { replyMessageId: a.messageId }),
      gone(306),
    );
    await assert.rejects(client.editMessage("never-issued", "x", "text"), gone(307));
    fake.clearChat(chat);
    await assert.rejects(client.editMessage(b.messageId, "x", "text"), gone(306));
  });
});

Deno.test("a reply carries replyMessageId; a message without one sends null as the SDK does", async () => {
  await withClient({}, {}, async (fake, client) => {
    const chat = fake.p2pChatId(fake.userId(ALICE.login));
    const root = await client.sendMessage(chat, "🔥 firing", "text");
    const reply = await client.sendMessage(chat, "✅ Resolved", "text", {
      replyMessageId: root.messageId,
    });
    const payloads = fake.requests.filter((r) => r.method === "sendMessage").map((r) =>
      (r.payload as { replyMessageId: unknown }).replyMessageId
    );
    assert.deepEqual(payloads, [null, root.messageId]);
    assert.equal(fake.message(reply.messageId)?.replyMessageId, root.messageId);
  });
});

Deno.test("server version from /api/v4/server decides buttons: a 5.5.6 server shows them, 5.5.3 does not", async () => {
  await withClient({ serverVersion: "5.5.6.10902" }, {}, async (fake, client) => {
    assert.deepEqual(await client.serverInfo(), {
      version: "5.5.6.10902",
      domain: fake.domain,
    });
    assert.equal(await client.supportsButtons(), true);
    const chat = fake.p2pChatId(fake.userId(ALICE.login));
    const rows = [[{ text: "Silence", url: "https://am.example.com/#/silences/new" }], [
      { text: "Runbook", url: "https://wiki.example.com/rb" },
      { text: "Mail", url: "mailto:ops@example.com" },
    ]];
    const sent = await client.sendMessage(chat, "🔥 disk full", "text", { buttons: rows });
    const req = fake.requests.find((r) => r.method === "sendMessage");
    assert.deepEqual((req?.payload as { content: unknown }).content, {
      text: "🔥 disk full",
      parseMode: "text",
      buttons: [[{ type: "url", label: "Silence", url: "https://am.example.com/#/silences/new" }], [
        { type: "url", label: "Runbook", url: "https://wiki.example.com/rb" },
        { type: "url", label: "Mail", url: "mailto:ops@example.com" },
      ]],
    });
    assert.deepEqual(fake.message(sent.messageId)?.buttons, [
      [{ label: "Silence", url: "https://am.example.com/#/silences/new" }],
      [{ label: "Runbook", url: "https://wiki.example.com/rb" }, {
        label: "Mail",
        url: "mailto:ops@example.com",
      }],
    ]);
    // An edit is a full overwrite: without buttons they are gone.
    await client.editMessage(sent.messageId, "✅ disk ok", "text");
    assert.equal(fake.message(sent.messageId)?.buttons, undefined);
    assert.deepEqual(fake.protocolErrors, []);
  });
  await withClient({}, {}, async (_fake, client) => {
    assert.equal((await client.serverInfo()).version, "5.5.3.10765");
    assert.equal(await client.supportsButtons(), false);
  });
});

Deno.test("a server whose /api/v4/server names no version: the version comes from the service's /vsstatus, as the SDK finds it", async () => {
  await withClient(
    { serverVersion: "5.5.6.10902", versionIn: "vsstatus" },
    {},
    async (fake, client) => {
      assert.deepEqual(await client.serverInfo(), {
        version: "5.5.6.10902",
        domain: fake.domain,
      });
      assert.equal(await client.supportsButtons(), true);
      assert.deepEqual(fake.httpPaths.filter((p) => !p.startsWith("/bridge")), [
        "/api/v4/server",
        "/api/v4/endpoints/connects",
        "/vsstatus",
      ]);
    },
  );
  // Named nowhere: no buttons, and not asked again on every message until a reconnect.
  await withClient({ serverVersion: "5.5.6.10902", versionIn: "none" }, {}, async (fake, c) => {
    assert.equal(await c.supportsButtons(), false);
    assert.equal(await c.supportsButtons(), false);
    assert.deepEqual((await c.serverInfo()).domain, fake.domain);
    assert.equal(fake.httpPaths.filter((p) => p === "/vsstatus").length, 1);
  });
});

Deno.test("buttons outside the SDK's limits are refused before anything is sent", async () => {
  await withClient({ serverVersion: "5.5.6.1" }, {}, async (fake, client) => {
    const chat = fake.p2pChatId(fake.userId(ALICE.login));
    const ok = { text: "x", url: "https://example.com" };
    const cases: [string, { text: string; url: string }[][]][] = [
      ["rows", Array.from({ length: 9 }, () => [ok])],
      ["in a row", [Array.from({ length: 9 }, () => ok)]],
      ["label", [[{ text: "x".repeat(33), url: ok.url }]]],
      ["label", [[{ text: "", url: ok.url }]]],
      ["scheme", [[{ text: "x", url: "javascript:alert(1)" }]]],
      ["ASCII", [[{ text: "x", url: "https://пример.рф/путь" }]]],
    ];
    for (const [what, rows] of cases) {
      await assert.rejects(
        client.sendMessage(chat, "t", "text", { buttons: rows }),
        (e: unknown) => e instanceof RangeError && e.message.includes(what),
        what,
      );
    }
    assert.equal(fake.requests.filter((r) => r.method === "sendMessage").length, 0);
  });
});

Deno.test("an unreachable /api/v4/server means no buttons, and is asked again later", async () => {
  await withClient({}, {}, async (fake, client) => {
    await fake.refuseConnections(true);
    assert.deepEqual(await client.serverInfo(), { version: null, domain: null });
    await fake.refuseConnections(false);
    await client.ready(5_000);
    assert.equal((await client.serverInfo()).version, "5.5.3.10765");
  });
});

Deno.test("errors.ts is the one home of TrueConf code meanings", () => {
  const api = (code: number) => new TrueConfApiError("sendMessage", code);
  for (const c of [100, 101, 300, 301]) assert.equal(api(c).transient, true, `${c}`);
  for (const c of [302, 303, 304, 305]) {
    assert.equal(api(c).chatUnavailable, true, `${c}`);
    assert.ok(api(c).hint);
  }
  assert.equal(api(306).messageGone, true);
  assert.equal(api(TrueConfErrorCode.UNKNOWN_MESSAGE).messageGone, true);
  const file = (code: number) => new TrueConfApiError("sendFile", code);
  for (const c of [310, 400, 404, 408]) {
    assert.equal(file(c).partRejected, true, `${c}`);
    assert.equal(file(c).transient, false, `${c}`);
    assert.match(file(c).hint ?? "", /refused this file/);
    // A file code answering a text names no file.
    assert.equal(api(c).partRejected, false, `${c} on sendMessage`);
  }
  for (const c of [303, 306, 399, 409, 311]) {
    assert.equal(file(c).partRejected, false, `${c}`);
  }
  assert.equal(api(399).hint, null);
  assert.equal(new TrueConfHttpError("upload", 503).transient, true);
  assert.equal(new TrueConfHttpError("upload", null).transient, true);
  assert.equal(new TrueConfHttpError("upload", 429).transient, true);
  assert.equal(new TrueConfHttpError("upload", 400, 310).partRejected, true);
  assert.equal(new TrueConfHttpError("upload", 413).partRejected, true);
  assert.equal(isTrueConfError(new TrueConfTimeoutError("x", 1)), true);
  assert.equal(isTrueConfError(new TrueConfDisconnectedError("x")), true);
  assert.equal(isTrueConfError(new Error("kv")), false);
});

Deno.test("the fake holds the client to the protocol: buttons to an old server, editing others' messages", async () => {
  await withClient({}, {}, async (fake, client) => {
    const alice = fake.userId(ALICE.login);
    const chat = fake.p2pChatId(alice);
    // A raw request, past the client's own checks: a 5.5.3 server ignores buttons, and a
    // client that sends them anyway is recorded as breaking the protocol.
    await client.request("sendMessage", {
      chatId: chat,
      replyMessageId: null,
      content: {
        text: "t",
        parseMode: "text",
        buttons: [[{ type: "url", label: "x", url: "https://e.x" }]],
      },
    });
    assert.deepEqual(fake.protocolErrors.splice(0), [
      "sendMessage: buttons sent to a server older than 5.5.6",
    ]);
    assert.equal(fake.messagesIn(chat)[0]?.buttons, undefined);
    // What the SDK never sends: a field it does not know, a key it always sets left out, a
    // text over its 4096-character limit (the markup of a link is not counted, its URL is).
    await client.request("sendMessage", {
      chatId: chat,
      content: { text: "t", format: "text" },
    });
    await client.request("removeMessage", { messageId: fake.messagesIn(chat)[0]!.messageId });
    const link = "[x](https://example.com/)"; // 1 + 1 + 20 visible
    await client.sendMessage(chat, link.repeat(186), "markdown"); // 4092
    await client.sendMessage(chat, link.repeat(187), "markdown"); // 4114
    assert.deepEqual(fake.protocolErrors.splice(0), [
      "sendMessage: payload.content.parseMode missing (the SDK always sends it)",
      "sendMessage: payload.content.format is not a field the SDK sends",
      "removeMessage: payload.forAll missing (the SDK always sends it)",
      "sendMessage: content.text has 4114 visible characters; the SDK refuses more than 4096",
    ]);
    const theirs = fake.pushMessage({ chatId: chat, authorId: alice, text: "mine" });
    await assert.rejects(
      client.editMessage(theirs.messageId, "hijack", "text"),
      (e: unknown) => e instanceof TrueConfApiError && e.code === 302 && e.chatUnavailable,
    );
    await assert.rejects(
      client.removeMessage(theirs.messageId),
      (e: unknown) => e instanceof TrueConfApiError && e.code === 302,
    );
  });
});

Deno.test("a bare login is sent as login@server, with the domain /api/v4/server names, as the SDK sends it", async () => {
  await withClient({}, {}, async (fake, client) => {
    const dm = await client.createP2PChat(ALICE.login);
    assert.equal(dm, fake.p2pChatId(fake.userId(ALICE.login)));
    assert.equal(await client.getUserDisplayName(ALICE.login), ALICE.displayName);
    const sent = fake.requests.filter((r) =>
      r.method === "createP2PChat" || r.method === "getUserDisplayName"
    ).map((r) => (r.payload as { userId: string }).userId);
    assert.deepEqual(sent, [fake.userId(ALICE.login), fake.userId(ALICE.login)]);
  });
});
