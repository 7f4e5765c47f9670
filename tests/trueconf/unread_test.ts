// Messages TrueConf keeps unread (sent while the bot was away, or pushed and never acked) are
// pushed again after `auth`: the client asks for them, acts on recent ones, and acks but
// ignores those older than `unreadMaxAgeMs`. The client against the fake over real sockets.
import assert from "node:assert/strict";
import { type IncomingMessage, TrueConfClient } from "../../src/trueconf/mod.ts";
import { ALICE, clientOptions, memoryLogger, waitUntil, withClient } from "./_helpers.ts";

Deno.test("unread messages are asked for at auth; recent ones reach handlers, those older than unreadMaxAgeMs are acked and ignored", async () => {
  let now = Date.now();
  const clock = () => now;
  await withClient(
    { now: clock },
    { now: clock, unreadMaxAgeMs: 3_600_000 },
    async (fake, client) => {
      const alice = fake.userId(ALICE.login);
      const chatId = fake.p2pChatId(alice);
      // Pushed while nobody is connected: unread.
      now -= 2 * 3_600_000;
      fake.pushMessage({ chatId, authorId: alice, text: "/webhook_list from two hours ago" });
      now += 2 * 3_600_000 - 60_000;
      fake.pushMessage({ chatId, authorId: alice, text: "a minute ago" });
      now += 60_000;
      const seen: IncomingMessage[] = [];
      client.onMessage((m) => {
        seen.push(m);
      });
      client.start();
      await client.ready(3_000);
      const auth = fake.requests.find((r) => r.method === "auth");
      assert.equal((auth?.payload as { receiveUnread?: unknown }).receiveUnread, true);
      await waitUntil(() => fake.ackCount >= 2, 3_000, "both unread messages acked");
      assert.deepEqual(seen.map((m) => m.text), ["a minute ago"]);
      assert.equal(client.stats.staleDropped, 1);
      // A live message is judged by nothing but being new: even one whose timestamp says it is
      // old (a server clock behind) reaches handlers once the unread burst is over.
      now += 61_000;
      now -= 2 * 3_600_000;
      const late = fake.pushMessage({ chatId, authorId: alice, text: "live, old clock" });
      now += 2 * 3_600_000;
      await waitUntil(() => seen.length === 2, 3_000, "the live message");
      assert.equal(seen[1]!.messageId, late.messageId);
    },
    false,
  );
});

Deno.test("stopTaking: later pushes reach no handler and are not acked; the next client gets them as unread", async () => {
  await withClient({}, {}, async (fake, client) => {
    const alice = fake.userId(ALICE.login);
    const chatId = fake.p2pChatId(alice);
    const seen: string[] = [];
    client.onMessage((m) => void seen.push(m.text));
    fake.pushMessage({ chatId, authorId: alice, text: "before" });
    await waitUntil(() => seen.length === 1 && fake.ackCount === 1, 3_000, "taken and acked");
    client.stopTaking();
    const later = fake.pushMessage({ chatId, authorId: alice, text: "while stopping" });
    const id = fake.pushIdOf(later.messageId)!;
    // Frames are read in order: the answer to a request sent now comes after the push, and an
    // ack written for the push would reach the fake before a second request does.
    await client.getChatByID(chatId);
    await client.getChatByID(chatId);
    assert.equal(fake.acks.has(id), false, "not acked");
    assert.deepEqual(seen, ["before"]);
    await client.close();
    const next = new TrueConfClient(clientOptions(fake));
    const heard: string[] = [];
    next.onMessage((m) => void heard.push(m.text));
    try {
      next.start();
      await next.ready(3_000);
      await waitUntil(() => heard.length === 1, 3_000, "the unread message");
      assert.deepEqual(heard, ["while stopping"]);
    } finally {
      await next.close();
    }
  });
});

Deno.test("unread messages pushed right behind the first auth answer reach handlers with the bot's id known", async () => {
  await withClient({}, {}, async (fake, client) => {
    const alice = fake.userId(ALICE.login);
    const chatId = fake.p2pChatId(alice);
    for (let i = 0; i < 5; i++) fake.pushMessage({ chatId, authorId: alice, text: `m${i}` });
    const ids: (string | null)[] = [];
    client.onEvent(() => void ids.push(client.state.botId), { ackAfter: true });
    client.start();
    await client.ready(3_000);
    await waitUntil(() => fake.ackCount === 5, 3_000, "all five acked");
    assert.equal(ids.length, 5);
    assert.ok(ids.every((id) => id === fake.botId.toLowerCase()), JSON.stringify(ids));
  }, false);
});

Deno.test("a storing handler that hangs does not keep the ack: it goes after ackHoldMs, with an error logged", async () => {
  const { logger, lines } = memoryLogger();
  await withClient({}, { ackHoldMs: 200, logger }, async (fake, client) => {
    const alice = fake.userId(ALICE.login);
    const chatId = fake.p2pChatId(alice);
    const never = new Promise<void>(() => {});
    client.onEvent(() => never, { ackAfter: true });
    const m = fake.pushMessage({ chatId, authorId: alice, text: "stored never" });
    await waitUntil(() => fake.acks.has(fake.pushIdOf(m.messageId)!), 3_000, "acked anyway");
    assert.ok(
      lines.some((l) => /not stored within 200 ms; acknowledged anyway/.test(String(l.msg))),
      JSON.stringify(lines),
    );
  });
});
