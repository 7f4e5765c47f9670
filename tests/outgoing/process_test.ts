// Outgoing calls across a real process death: `src/main.ts serve` as a subprocess against the
// fake TrueConf, SIGKILLed with calls waiting, restarted on the same KV file: every call is
// made after the restart (at least once, same webhook-id), in order.
import assert from "node:assert/strict";
import { join } from "node:path";
import { FakeTrueConf } from "../support/fake_trueconf.ts";
import { spawnServe } from "../support/serve_process.ts";
import { addGroup, TEST_BOT } from "../support/bot_with_fake.ts";
import { waitUntil } from "../support/wait.ts";
import { HookStore } from "../../src/hooks/mod.ts";
import { openKv, SecretBox } from "../../src/storage/mod.ts";
import { generateSecret } from "../../src/outgoing/mod.ts";
import { startReceiver } from "./_receiver.ts";

const BOT = TEST_BOT; // the login spawnServe gives the bot

interface Child {
  readonly port: number;
  readonly status: Promise<Deno.CommandStatus>;
  kill(signal: Deno.Signal): void;
}

/** `serve` on the store in `dir`, against the fake; resolves once it is authorized there. */
async function startBot(fake: FakeTrueConf, dir: string): Promise<Child> {
  const p = spawnServe({
    dir,
    fake,
    env: {
      WEBHOOK_URL_ALLOWLIST: "127.0.0.1",
      // Long enough that the held call is still running when the process is killed.
      WEBHOOK_OUTGOING_TIMEOUT_SECONDS: "30",
    },
  });
  const { port } = await p.listening();
  await p.ready();
  return { port, status: p.status, kill: (s) => p.kill(s) };
}

async function queueDepth(port: number): Promise<number> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`);
    const body = await res.json() as { queue?: { depth?: number } };
    return body.queue?.depth ?? -1;
  } catch {
    return -1;
  }
}

/**
 * The fake with alice's group "ops", a store in a new folder holding the outgoing hook "ci"
 * (trigger `/job`) to a receiver that answers with `answer`.
 */
async function setUp(answer?: () => Promise<Response>): Promise<{
  dir: string;
  fake: FakeTrueConf;
  alice: string;
  r: ReturnType<typeof startReceiver>;
}> {
  const dir = await Deno.makeTempDir({ prefix: "outgoing_e2e_" });
  const fake = await FakeTrueConf.start({
    bot: BOT,
    users: [{ login: "alice", password: "a", displayName: "Alice" }],
  });
  const alice = fake.userId("alice");
  addGroup(fake, { chatId: "ops", title: "Ops", owner: alice });
  const secret = generateSecret();
  const r = startReceiver(() => secret, answer);
  const storage = join(dir, "webhooks.kv");
  const kv = await openKv(storage);
  const store = new HookStore(kv, { secrets: await SecretBox.forStorage(storage) });
  const made = await store.create({
    chatId: "ops",
    name: "ci",
    createdBy: alice,
    kind: "outgoing",
    outgoing: { url: r.url, secret: await store.sealSecret(secret), triggers: ["/job"] },
  });
  await store.close();
  kv.close();
  assert.ok(made.ok);
  return { dir, fake, alice, r };
}

/** Ends what {@link setUp} and the test started: the bot (if still running), receiver, fake. */
async function tearDown(
  bot: Child | null,
  t: { dir: string; fake: FakeTrueConf; r: { close(): Promise<void> } },
): Promise<void> {
  if (bot) {
    bot.kill("SIGKILL");
    await bot.status;
  }
  await t.r.close();
  await t.fake.close();
  await Deno.remove(t.dir, { recursive: true });
}

Deno.test("SIGKILL with outgoing calls waiting: after the restart every call is made, in order", async () => {
  let release: () => void = () => {};
  const hold = new Promise<void>((resolve) => release = resolve);
  let life = 1;
  const { dir, fake, alice, r } = await setUp(async () => {
    if (life === 1) await hold; // the first life's call never gets an answer
    return new Response(null, { status: 204 });
  });
  let bot: Child | null = null;
  try {
    bot = await startBot(fake, dir);
    for (let i = 1; i <= 5; i++) {
      fake.pushMessage({ chatId: "ops", authorId: alice, text: `/job ${i}` });
    }
    await r.nth(1);
    const port = bot.port;
    await waitUntil(async () => await queueDepth(port) === 5, 10_000, "five calls queued");
    bot.kill("SIGKILL");
    await bot.status;
    bot = null;

    life = 2;
    bot = await startBot(fake, dir);
    await waitUntil(
      () => new Set(r.calls.map((c) => c.body.id)).size === 5 && r.calls.length >= 6,
      20_000,
      "all calls made",
    );
    const second = r.calls.slice(1).map((c) => c.body.args);
    assert.deepEqual(
      second,
      ["1", "2", "3", "4", "5"],
      "the interrupted call again, then the rest in order",
    );
    assert.equal(r.calls[0]!.body.id, r.calls[1]!.body.id, "same webhook-id: receivers can dedupe");
    assert.equal(r.rejected, 0);
    bot.kill("SIGTERM");
    assert.equal((await bot.status).code, 0);
    bot = null;
  } finally {
    release();
    await tearDown(bot, { dir, fake, r });
  }
});

Deno.test("SIGKILL after a trigger arrived but before its call was stored: the restarted bot gets it again and makes the call", async () => {
  const { dir, fake, alice, r } = await setUp();
  let bot: Child | null = null;
  try {
    bot = await startBot(fake, dir);
    // Routing asks TrueConf for the chat's title before it stores the call; that answer never
    // comes, so the bot holds the message, not stored and not acked, when it is killed.
    fake.setMethodDelay("getChatByID", "never");
    const asked = fake.requests.length;
    const m = fake.pushMessage({ chatId: "ops", authorId: alice, text: "/job 1" });
    await fake.waitFor(
      () => fake.requests.slice(asked).some((q) => q.method === "getChatByID"),
      10_000,
    );
    const pushed = fake.pushIdOf(m.messageId)!;
    assert.equal(fake.acks.has(pushed), false, "not acked before the call is stored");
    bot.kill("SIGKILL");
    await bot.status;
    bot = null;
    assert.equal(r.calls.length, 0);

    fake.setMethodDelay("getChatByID", 0);
    bot = await startBot(fake, dir);
    const call = await r.nth(1, 20_000);
    assert.equal(call.body.type, "message.created");
    assert.equal(call.body.trigger, "/job");
    assert.equal(call.body.args, "1");
    assert.equal(call.body.message?.id, m.messageId);
    assert.equal(r.rejected, 0);
    bot.kill("SIGTERM");
    assert.equal((await bot.status).code, 0);
    bot = null;
  } finally {
    await tearDown(bot, { dir, fake, r });
  }
});
