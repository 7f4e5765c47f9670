// The socket layer's batching (issue 16), over a real loopback socket to the fake TrueConf:
// one event-loop turn's frames leave in one write, and in-flight requests share one timer.
import assert from "node:assert/strict";
import { TrueConfTimeoutError } from "../../src/trueconf/mod.ts";
import { ALICE, waitUntil, withClient } from "./_helpers.ts";

type Write = (this: Deno.Conn, bytes: Uint8Array) => Promise<number>;

/**
 * Counts the client socket's writes: every write of a Deno TCP or TLS conn goes through the
 * prototype the conns share (found from a throwaway loopback conn). The fake serves with
 * Deno.serve and Deno.upgradeWebSocket, whose writes never pass through it, so every write
 * counted is the client's.
 */
async function countingWrites(fn: (writes: { calls: number }) => Promise<void>): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const probe = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const accepted = await listener.accept();
  const proto = Object.getPrototypeOf(Object.getPrototypeOf(probe)) as { write: Write };
  probe.close();
  accepted.close();
  listener.close();
  const write = proto.write;
  const writes = { calls: 0 };
  proto.write = function (this: Deno.Conn, bytes: Uint8Array) {
    writes.calls++;
    return write.call(this, bytes);
  };
  try {
    await fn(writes);
  } finally {
    proto.write = write;
  }
}

Deno.test("requests made in one turn leave the socket in one write, and each is answered", async () => {
  await withClient({}, {}, async (fake, client) => {
    const chatId = fake.p2pChatId(fake.userId(ALICE.login));
    await countingWrites(async (writes) => {
      const sent = Array.from(
        { length: 20 },
        (_, i) => client.sendMessage(chatId, `m${i}`, "text"),
      );
      const duringTurn = writes.calls;
      const answers = await Promise.all(sent);
      assert.equal(duringTurn, 0, "nothing written before the turn ends");
      assert.equal(writes.calls, 1, "20 frames, one write");
      assert.equal(new Set(answers.map((a) => a.messageId)).size, 20);
    });
    assert.deepEqual(
      fake.messagesIn(chatId).map((m) => m.text),
      Array.from({ length: 20 }, (_, i) => `m${i}`),
    );
    // A later turn writes again: batching never holds a frame past its own turn.
    await countingWrites(async (writes) => {
      await client.sendMessage(chatId, "alone", "text");
      assert.equal(writes.calls, 1);
    });
  });
});

Deno.test("acks of events that arrive together leave together", async () => {
  await withClient({}, {}, async (fake, client) => {
    const alice = fake.userId(ALICE.login);
    const chatId = fake.p2pChatId(alice);
    let got = 0;
    client.onMessage(() => void got++);
    await countingWrites(async (writes) => {
      // Five messages pushed in one turn of the fake reach the client in one or two reads;
      // their acks leave in as many writes, not one each.
      const ids = Array.from(
        { length: 5 },
        (_, i) => fake.pushMessage({ chatId, authorId: alice, text: `e${i}` }).messageId,
      );
      assert.equal(ids.length, 5);
      await waitUntil(() => got === 5 && fake.unackedPushes.length === 0, 3_000, "5 acks");
      assert.ok(writes.calls < 5, `${writes.calls} writes for 5 acks`);
    });
  });
});

Deno.test("in-flight requests share one deadline timer, and each still times out on its own deadline", async () => {
  await withClient({}, { requestTimeoutMs: 300 }, async (fake, client) => {
    fake.addChat({ chatId: "g1", title: "Ops", chatType: 2, participants: [] });
    fake.setMethodDelay("getChatByID", "never");
    // The upper bounds tell "each on its own deadline" from a timer serving one request at a
    // time (30 × 300 ms = 9 s), with seconds to spare for a loaded machine's late timers.
    const before = client.stats.activeTimers;
    const t0 = Date.now();
    const first = Array.from({ length: 30 }, () => client.getChatByID("g1").catch((e) => e));
    assert.ok(client.stats.activeTimers <= before + 1, `${client.stats.activeTimers} timers`);
    const results = await Promise.all(first);
    const took = Date.now() - t0;
    assert.ok(results.every((e) => e instanceof TrueConfTimeoutError), String(results[0]));
    assert.ok(took >= 290 && took < 4_000, `timed out after ${took} ms`);
    // The timer is armed again for a request made after the first batch expired.
    const t1 = Date.now();
    const second = await client.getChatByID("g1").catch((e) => e);
    assert.ok(second instanceof TrueConfTimeoutError);
    const took2 = Date.now() - t1;
    assert.ok(took2 >= 290 && took2 < 4_000, `second timed out after ${took2} ms`);
    assert.equal(client.stats.pendingRequests, 0);
  });
});

Deno.test("TrueConf's echo of the bot's own posts is acked and dropped; other authors still reach handlers", async () => {
  await withClient({ echoOwnMessages: true }, {}, async (fake, client) => {
    const alice = fake.userId(ALICE.login);
    const chatId = fake.p2pChatId(alice);
    const heard: string[] = [];
    const events: string[] = [];
    client.onMessage((m) => void heard.push(m.text));
    client.onEvent((e) => void events.push(e.type));
    for (let i = 0; i < 3; i++) await client.sendMessage(chatId, `own ${i}`, "text");
    // The bot's id as another server instance writes it (`login@server/instance`) is still ours.
    fake.pushMessage({ chatId, authorId: `${fake.botId}/a1b2c3`, text: "own, other instance" });
    fake.pushMessage({ chatId, authorId: alice, text: "from alice" });
    await waitUntil(() => heard.length === 1 && fake.unackedPushes.length === 0, 3_000, "acks");
    assert.deepEqual(heard, ["from alice"]);
    assert.deepEqual(events, ["message.created"]);
    assert.equal(client.stats.ownEchoesDropped, 4);
  });
});

Deno.test("TrueConf's echo of the bot's own edits is dropped too, with or without the message id; a user's edit still arrives", async () => {
  await withClient({ echoOwnMessages: true }, {}, async (fake, client) => {
    const alice = fake.userId(ALICE.login);
    const chatId = fake.p2pChatId(alice);
    const events: string[] = [];
    client.onEvent((e) => {
      if (e.type === "message.edited") events.push(e.message.text);
    });
    const sent = await client.sendMessage(chatId, "deploy started", "text");
    await client.editMessage(sent.messageId, "deploy finished", "text");
    // The SDK's EditedMessage carries no message id: {chatId, timestamp, content}.
    fake.pushEvent("editMessage", {
      chatId,
      timestamp: Date.now(),
      content: { text: "deploy finished", parseMode: "text" },
    });
    const theirs = fake.pushMessage({ chatId, authorId: alice, text: "typo" });
    fake.pushEvent("editMessage", {
      chatId,
      messageId: theirs.messageId,
      timestamp: Date.now(),
      content: { text: "fixed", parseMode: "text" },
    });
    await waitUntil(() => events.length === 1 && fake.unackedPushes.length === 0, 3_000, "acks");
    await waitUntil(() => fake.ackCount === 5, 3_000, "every push acked");
    assert.deepEqual(events, ["fixed"]);
  });
});

Deno.test("an edit push without an id is the bot's own only in the chat the bot edited in: a member's edit to the same text elsewhere still arrives", async () => {
  await withClient({ echoOwnMessages: true }, {}, async (fake, client) => {
    const alice = fake.userId(ALICE.login);
    const dm = fake.p2pChatId(alice);
    fake.addChat({
      chatId: "ops",
      title: "Ops",
      chatType: 2,
      participants: [{ userId: fake.botId, role: "user" }, { userId: alice, role: "owner" }],
    });
    const edits: string[] = [];
    client.onEvent((e) => {
      if (e.type === "message.edited") edits.push(`${e.chatId}: ${e.message.text}`);
    });
    const sent = await client.sendMessage(dm, "deploy started", "text");
    await client.editMessage(sent.messageId, "ok", "text", { chatId: dm });
    // The SDK's EditedMessage is {chatId, timestamp, content}: no message id, no author.
    const edit = (chatId: string) =>
      fake.pushEvent("editMessage", {
        chatId,
        timestamp: Date.now(),
        content: { text: "ok", parseMode: "text" },
      });
    edit(dm); // TrueConf's echo of the bot's own edit
    edit("ops"); // Alice edits her own message in Ops to "ok" a moment later
    await waitUntil(() => fake.ackCount === 4, 3_000, "every push acked (the fake echoes too)");
    await waitUntil(() => edits.length === 1, 3_000, "the member's edit");
    assert.deepEqual(edits, ["ops: ok"]);
  });
});

Deno.test("an edit push that names its author is judged by it: a member's edit to the bot's new text in the same chat arrives, the bot's own without an id is dropped", async () => {
  await withClient({ echoOwnMessages: true }, {}, async (fake, client) => {
    const alice = fake.userId(ALICE.login);
    const dm = fake.p2pChatId(alice);
    const edits: string[] = [];
    client.onEvent((e) => {
      if (e.type === "message.edited") edits.push(`${e.message.authorId}: ${e.message.text}`);
    });
    const sent = await client.sendMessage(dm, "deploy started", "text");
    await client.editMessage(sent.messageId, "ok", "text", { chatId: dm });
    const edit = (by: Record<string, unknown>) =>
      fake.pushEvent("editMessage", {
        chatId: dm,
        timestamp: Date.now(),
        content: { text: "ok", parseMode: "text" },
        ...by,
      });
    // Same chat, same text, within the minute: only the author tells them apart.
    const bob = alice.replace(/^[^@]*/, "bob");
    edit({ author: { id: alice, type: 1 } });
    edit({ editedBy: { id: bob, type: 1 } });
    // The bot's own edit of a message it did not edit in this process (before a restart).
    fake.pushEvent("editMessage", {
      chatId: "elsewhere",
      timestamp: Date.now(),
      content: { text: "edited before the restart", parseMode: "text" },
      author: { id: fake.botId, type: 1 },
    });
    await waitUntil(() => fake.ackCount === 5, 3_000, "every push acked (the fake echoes too)");
    await waitUntil(() => edits.length === 2, 3_000, "the member's edits");
    assert.deepEqual(edits, [`${alice}: ok`, `${bob}: ok`]);
    assert.equal(client.stats.ownEchoesDropped, 3);
  });
});

Deno.test("a server that numbers its pushes from 1 (the ids of the client's own requests in flight): answers still reach their requests, every push is acked", async () => {
  await withClient({ firstPushId: 1 }, {}, async (fake, client) => {
    const alice = fake.userId(ALICE.login);
    const dm = fake.p2pChatId(alice);
    fake.addChat({ chatId: "g1", title: "One", chatType: 2, participants: [] });
    fake.addChat({ chatId: "g2", title: "Two", chatType: 2, participants: [] });
    const heard: string[] = [];
    client.onMessage((m) => void heard.push(m.text));
    fake.setMethodDelay("getChatByID", 100);
    const asked = Promise.all([client.getChatByID("g1"), client.getChatByID("g2")]);
    await fake.waitFor(() => fake.requests.filter((r) => r.method === "getChatByID").length === 2);
    const inFlight = fake.requests.filter((r) => r.method === "getChatByID").map((r) => r.id);
    // Pushes numbered 1, 2, 3…: among them the ids of both requests still unanswered.
    for (let i = 0; i < Math.max(...inFlight) + 2; i++) {
      fake.pushMessage({ chatId: dm, authorId: alice, text: `push ${i}` });
    }
    const [one, two] = await asked;
    assert.equal(one.title, "One");
    assert.equal(two.title, "Two");
    const pushes = Math.max(...inFlight) + 2;
    await waitUntil(() => heard.length === pushes && fake.ackCount === pushes, 3_000, "acks");
    assert.equal(heard[0], "push 0");
  });
});
