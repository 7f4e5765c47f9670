// An outgoing hook's event is acked to TrueConf only once its call is stored: the ack marks
// the message read, and only an unread message is pushed again after a crash (receiveUnread).
// The whole bot against the fake TrueConf, real KV (read through a second handle at the very
// moment the fake receives each ack, through the bot's own handle: a second one on the same
// file met "database is locked" under load), a loopback receiver. Also the other ways an event
// or its answer could be lost or doubled around a stop: a push repeated after a lost ack, an
// answer that arrives while the bot shuts down.
import assert from "node:assert/strict";
import { type BotWithFake, startBotWithFake } from "../support/bot_with_fake.ts";
import { createLogger, silentLogger } from "../../src/log.ts";
import { makeOutgoingHook, type Receiver, startReceiver } from "./_receiver.ts";
import type { BodyMessage } from "../../src/outgoing/mod.ts";

const USERS = [
  { login: "alice", password: "alice", displayName: "Alice" },
  { login: "bob", password: "bob", displayName: "Bob" },
];

async function withBot(
  trueconf: { ackHoldMs?: number },
  fn: (b: BotWithFake, errors: string[]) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  const errors: string[] = [];
  const b = await startBotWithFake({
    dir,
    env: { WEBHOOK_URL_ALLOWLIST: "127.0.0.1" },
    logger: createLogger({
      level: "error",
      write: (line) => errors.push(JSON.parse(line).msg),
    }),
    trueconf,
    fake: { echoOwnMessages: true, users: USERS },
  });
  try {
    await fn(b, errors);
  } finally {
    await b.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Call jobs of a hook stored in KV right now (read from KV, not the queue's memory). */
async function storedCalls(b: BotWithFake, hookId: string): Promise<number> {
  let n = 0;
  for await (const _ of b.bot.queue.engine.repo.listAll(hookId)) n++;
  return n;
}

Deno.test("a trigger's push is acked only once its call job is in KV; other messages are acked without one", async () => {
  await withBot({}, async (b) => {
    const alice = b.fake.userId("alice");
    b.addGroup({ chatId: "ops", title: "Ops", owner: alice });
    b.addGroup({ chatId: "quiet", title: "Quiet", owner: alice });
    let release = () => {};
    const held = new Promise<void>((r) => release = r);
    let secret = "";
    // The call is held unanswered, so its job stays in KV while the test looks.
    const r = startReceiver(() => secret, async () => {
      await held;
      return new Response(null, { status: 204 });
    });
    try {
      const made = await makeOutgoingHook(b, {
        chatId: "ops",
        name: "deploys",
        url: r.url,
        triggers: ["/deploy"],
      });
      secret = made.secret;
      // At the moment each ack arrives: how many calls of the hook are stored.
      const atAck = new Map<number, Promise<number>>();
      const off = b.fake.onAck((id) => atAck.set(id, storedCalls(b, made.hook.id)));
      try {
        // One at a time, so what is stored at an ack belongs to that message alone.
        const storedAtAck = async (chatId: string, text: string) => {
          const m = b.fake.pushMessage({ chatId, authorId: alice, text });
          const [id] = pushIdsOf(b, [m.messageId]);
          await b.fake.waitFor(() => atAck.has(id!));
          return await atAck.get(id!)!;
        };
        assert.equal(await storedAtAck("quiet", "hello"), 0, "a chat without hooks: acked");
        assert.equal(await storedAtAck("ops", "no trigger"), 0, "not a trigger: acked");
        assert.equal(
          await storedAtAck("ops", "/deploy staging"),
          1,
          "the trigger was acked only after its call was stored",
        );
        await r.nth(1);
      } finally {
        off();
      }
    } finally {
      release();
      await r.close();
    }
  });
});

Deno.test("lookups TrueConf answers slowly never hold the ack: the call is stored first, its body built in the job", async () => {
  // The hold is shorter than TrueConf's answers to every lookup routing could ask for: the
  // ack must still follow the stored call, with nothing logged at error. 1 s, not 0.3: the
  // hold is also all the time storing the call has, a KV write a loaded machine can take
  // longer than 0.3 s over (the ack then goes first, with an error logged).
  await withBot({ ackHoldMs: 1_000 }, async (b, errors) => {
    const alice = b.fake.userId("alice");
    b.addGroup({ chatId: "ops", title: "Ops", owner: alice });
    let secret = "";
    let release = () => {};
    const held = new Promise<void>((r) => release = r);
    const r = startReceiver(() => secret, async () => {
      await held;
      return new Response(null, { status: 204 });
    });
    try {
      const made = await makeOutgoingHook(b, { chatId: "ops", name: "all", url: r.url });
      secret = made.secret;
      const first = b.fake.pushMessage({ chatId: "ops", authorId: alice, text: "first" });
      await r.nth(1); // held: its job stays in KV
      for (const method of ["getChatByID", "getUserDisplayName", "getMessageById"]) {
        b.fake.setMethodDelay(method, 3_000);
      }
      const atAck = new Map<number, Promise<number>>();
      const off = b.fake.onAck((id) => atAck.set(id, storedCalls(b, made.hook.id)));
      const m = b.fake.pushMessage({
        chatId: "ops",
        authorId: b.fake.userId("bob"), // a name routing has not looked up yet
        text: "a reply",
        replyMessageId: first.messageId,
      });
      try {
        const [id] = pushIdsOf(b, [m.messageId]);
        await b.fake.waitFor(() => atAck.has(id!), 5_000);
        assert.equal(await atAck.get(id!)!, 2, "acked before its call was stored");
      } finally {
        off();
      }
      release();
      const call = await r.nth(2);
      assert.equal(call.body.message?.id, m.messageId);
      assert.equal(call.body.chat.title, "Ops", "known from the first call's lookup");
      const message = call.body.message as BodyMessage;
      // Asked in the job, and answered (3 s) after its lookups' 2 s budget: the call went
      // without waiting longer, naming Bob by his id (src/outgoing/service.ts LOOKUP_BUDGET_MS).
      assert.equal(message.author.name, b.fake.userId("bob"));
      assert.equal(message.replyTo?.text, "first");
      assert.deepEqual(errors, []);
    } finally {
      release();
      for (const method of ["getChatByID", "getUserDisplayName", "getMessageById"]) {
        b.fake.setMethodDelay(method, 0);
      }
      await r.close();
    }
  });
});

/** The push ids the fake used for these messages (from the frames it sent). */
function pushIdsOf(b: BotWithFake, messageIds: string[]): number[] {
  return messageIds.map((mid) => {
    const id = b.fake.pushIdOf(mid);
    if (id === undefined) throw new Error(`message ${mid} was not pushed`);
    return id;
  });
}

/**
 * A bot with a `/deploy` hook of chat "ops" calling `answer`'s receiver; `fn` may start the
 * next bot on the same store and TrueConf with `restart` once it has stopped the first.
 */
async function withTwoStarts(
  answer: Parameters<typeof startReceiver>[1],
  fn: (
    first: BotWithFake,
    r: Receiver,
    alice: string,
    restart: () => Promise<BotWithFake>,
  ) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  const env = { WEBHOOK_URL_ALLOWLIST: "127.0.0.1" };
  let secret = "";
  const r = startReceiver(() => secret, answer);
  const first = await startBotWithFake({
    dir,
    env,
    logger: silentLogger,
    fake: { echoOwnMessages: true, users: USERS },
  });
  const fake = first.fake;
  const later: BotWithFake[] = [];
  try {
    const alice = fake.userId("alice");
    first.addGroup({ chatId: "ops", title: "Ops", owner: alice });
    secret = (await makeOutgoingHook(first, {
      chatId: "ops",
      name: "deploys",
      url: r.url,
      triggers: ["/deploy"],
    })).secret;
    await fn(first, r, alice, async () => {
      const next = await startBotWithFake({ dir, env, logger: silentLogger, reuseFake: fake });
      later.push(next);
      return next;
    });
  } finally {
    for (const b of later) await b.closeBot();
    await fake.close();
    await r.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a trigger that arrives while the bot shuts down is left unread and called by the next start", async () => {
  await withTwoStarts(undefined, async (first, r, alice, restart) => {
    const fake = first.fake;
    // A delivery TrueConf answers late keeps the shutdown draining the queue for a while.
    const { url } = await first.createHook("ops", "alerts", alice);
    fake.setMethodDelay("sendMessage", 1_000);
    const asked = fake.requests.length;
    const post = fetch(url, { method: "POST", body: "text=slow" }).then((res) =>
      res.body?.cancel()
    );
    await fake.waitFor(
      () => fake.requests.slice(asked).some((q) => q.method === "sendMessage"),
      5_000,
    );
    const closing = first.closeBot();
    const m = fake.pushMessage({ chatId: "ops", authorId: alice, text: "/deploy late" });
    await closing;
    await post;
    fake.setMethodDelay("sendMessage", 0);
    assert.equal(fake.acks.has(fake.pushIdOf(m.messageId)!), false, "left unread");
    assert.equal(r.calls.length, 0);
    await restart();
    const call = await r.nth(1);
    assert.equal(call.body.args, "late");
    assert.equal(call.body.message?.id, m.messageId);
  });
});

Deno.test("a trigger pushed again after its ack was lost is not called twice: the next start knows its call", async () => {
  // The service answers each call in the chat: a second call would be a second answer.
  await withTwoStarts(
    (body) => Response.json({ text: `deploying ${body.args}` }),
    async (first, r, alice, restart) => {
      const fake = first.fake;
      const m = fake.pushMessage({ chatId: "ops", authorId: alice, text: "/deploy staging" });
      fake.loseAckOf(m.messageId);
      const call = await r.nth(1);
      const answers = () => fake.messagesIn("ops").filter((s) => s.text?.startsWith("deploying"));
      await fake.waitFor(() => answers().length === 1 && fake.lostAcks.size === 1);
      await first.closeBot();
      await restart();
      // Pushed again behind the auth answer, handled before anything pushed later.
      await fake.waitFor(() => fake.acks.has(fake.pushIdOf(m.messageId)!));
      const next = fake.pushMessage({ chatId: "ops", authorId: alice, text: "/deploy prod" });
      const after = await r.nth(2);
      assert.equal(
        after.body.message?.id,
        next.messageId,
        "the re-pushed trigger was called again",
      );
      assert.equal(r.calls.length, 2);
      assert.notEqual(after.headers.get("webhook-id"), call.headers.get("webhook-id"));
      await fake.waitFor(() => answers().length >= 2);
      assert.deepEqual(answers().map((s) => s.text), ["deploying staging", "deploying prod"]);
    },
  );
});

Deno.test("a service's answer that arrives while the bot shuts down is posted, not dropped", async () => {
  let release = () => {};
  const held = new Promise<void>((r) => release = r);
  await withTwoStarts(
    async (body) => {
      await held;
      return Response.json({ text: `deploying ${body.args}` });
    },
    async (first, r, alice, restart) => {
      const fake = first.fake;
      const m = fake.pushMessage({ chatId: "ops", authorId: alice, text: "/deploy staging" });
      await r.nth(1);
      // The answer comes once the queue has begun closing (within its grace period).
      const closing = first.closeBot();
      await fake.waitFor(() => first.bot.queue.engine.closing);
      release();
      await closing;
      await restart();
      const answer = () => fake.messagesIn("ops").find((s) => s.text === "deploying staging");
      await fake.waitFor(() => answer() !== undefined);
      assert.equal(answer()?.replyMessageId, m.messageId);
      assert.equal(r.calls.length, 1, "called once");
    },
  );
});
