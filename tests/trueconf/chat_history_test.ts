// getChatHistory: the client against the fake TrueConf over real loopback sockets. The wire
// shape is the Python SDK 1.5's (`methods/get_chat_history.py`); what the protocol leaves open
// (order, whether `fromMessageId` is included, the largest count) the fake decides so that the
// client cannot lean on it (tests/support/_fake_world.ts).
import assert from "node:assert/strict";
import { TrueConfApiError } from "../../src/trueconf/mod.ts";
import { ALICE, BOT, withClient } from "./_helpers.ts";

Deno.test("getChatHistory: the SDK's payload, the newest messages oldest first, the bot's and users' alike, files with name and size, removed ones left out", async () => {
  await withClient({}, {}, async (fake, client) => {
    const chat = fake.p2pChatId(fake.userId(ALICE.login));
    const a = await client.sendMessage(chat, "deploy **started**", "markdown");
    fake.pushMessage({ chatId: chat, authorId: fake.userId(ALICE.login), text: "thanks" });
    const gone = await client.sendMessage(chat, "oops", "text");
    await client.removeMessage(gone.messageId);
    const file = await client.sendFile(chat, {
      bytes: new TextEncoder().encode("log line\n"),
      name: "build.log",
      mimeType: "text/plain",
    });

    const h = await client.getChatHistory(chat, 10);
    assert.deepEqual(fake.requests.find((r) => r.method === "getChatHistory")?.payload, {
      chatId: chat,
      count: 10,
      fromMessageId: null,
    });
    assert.equal(h.chatId, chat);
    assert.deepEqual(
      h.messages.map((m) => [m.messageId, m.authorId, m.type, m.text, m.parseMode, m.file]),
      [
        [a.messageId, fake.userId(BOT.login), 200, "deploy **started**", "markdown", null],
        [h.messages[1]!.messageId, fake.userId(ALICE.login), 200, "thanks", "text", null],
        [file.messageId, fake.userId(BOT.login), 202, "", "text", { name: "build.log", size: 9 }],
      ],
    );
    // The timestamp is the one sendMessage answered (what the message registry keys rows by).
    assert.equal(h.messages[0]!.timestamp, a.serverTime);
  });
});

Deno.test("getChatHistory pages back with fromMessageId (the anchor included), at most 100 a page; count < 1 is refused before sending; an unknown chat is 304", async () => {
  await withClient({}, {}, async (fake, client) => {
    const chat = fake.p2pChatId(fake.userId(ALICE.login));
    const ids: string[] = [];
    for (let i = 0; i < 120; i++) {
      ids.push((await client.sendMessage(chat, `m${i}`, "text")).messageId);
    }

    const newest = await client.getChatHistory(chat, 500);
    assert.equal(newest.messages.length, 100, "a page holds at most 100");
    assert.equal(newest.messages[0]!.text, "m20");
    assert.equal(newest.messages.at(-1)!.text, "m119");

    const older = await client.getChatHistory(chat, 5, newest.messages[0]!.messageId);
    assert.deepEqual(older.messages.map((m) => m.text), ["m16", "m17", "m18", "m19", "m20"]);

    const asked = fake.requests.filter((r) => r.method === "getChatHistory").length;
    await assert.rejects(client.getChatHistory(chat, 0), RangeError);
    assert.equal(fake.requests.filter((r) => r.method === "getChatHistory").length, asked);

    await assert.rejects(
      client.getChatHistory("no-such-chat", 10),
      (e) => e instanceof TrueConfApiError && e.code === 304,
    );
    await assert.rejects(
      client.getChatHistory(chat, 10, "never-issued"),
      (e) => e instanceof TrueConfApiError && e.code === 307,
    );
  });
});
