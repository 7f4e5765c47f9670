// The maximum age and the 10-second promise with the clock injected: the real job engine,
// hook store (KV), TrueConf client against the fake server and a loopback receiver; only
// time is moved by hand.
import assert from "node:assert/strict";
import { FakeTrueConf } from "../support/fake_trueconf.ts";
import { addGroup, loopbackClientOptions, TEST_BOT as BOT } from "../support/bot_with_fake.ts";
import { waitUntil } from "../support/wait.ts";
import { ManualClock } from "../delivery/queue/_manual_clock.ts";
import { TrueConfClient } from "../../src/trueconf/mod.ts";
import { JobEngine } from "../../src/delivery/queue/mod.ts";
import { HookStore } from "../../src/hooks/mod.ts";
import { SecretBox } from "../../src/storage/mod.ts";
import { parseAllowlist } from "../../src/net/mod.ts";
import { generateSecret, OutgoingHooks } from "../../src/outgoing/mod.ts";

async function world(answer: (n: number) => Response | Promise<Response>) {
  const fake = await FakeTrueConf.start({ bot: BOT, users: [{ login: "alice", password: "a" }] });
  const alice = fake.userId("alice");
  addGroup(fake, { chatId: "ops", title: "Ops", owner: alice });
  const client = new TrueConfClient(loopbackClientOptions(fake, BOT));
  client.start();
  await client.ready(5_000);
  let calls = 0;
  const bodies: string[] = [];
  const receiver = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    bodies.push(await req.text());
    calls++;
    return await answer(calls);
  });
  const kv = await Deno.openKv(":memory:");
  const store = new HookStore(kv, { secrets: await SecretBox.forStorage(":memory:") });
  const clock = new ManualClock(Date.now());
  const engine = new JobEngine({ kv, limits: { maxPerHook: 100, maxTotal: 1000 }, clock });
  const reports: string[] = [];
  const outgoing = new OutgoingHooks({
    client,
    store,
    engine,
    notifier: { report: (_hook, line) => void reports.push(line) },
    postAnswer: () => Promise.resolve(),
    maxAgeMs: 60_000,
    timeoutMs: 2_000,
    allowlist: parseAllowlist("127.0.0.1"),
    clock,
  });
  engine.register(outgoing.jobType());
  engine.start();
  const unsubscribe = client.onEvent((e) => outgoing.onEvent(e));
  const made = await store.create({
    chatId: "ops",
    name: "ci",
    createdBy: alice,
    kind: "outgoing",
    outgoing: {
      url: `http://127.0.0.1:${receiver.addr.port}/x`,
      secret: await store.sealSecret(generateSecret()),
      triggers: ["/job"],
    },
  });
  assert.ok(made.ok);
  return {
    fake,
    alice,
    clock,
    client,
    bodies,
    /** Resolves once the call waits for its next attempt, `attempts` made. */
    waiting: (attempts: number) =>
      waitUntil(
        () => {
          const j = engine.list()[0];
          return j !== undefined && !j.running && j.attempts === attempts;
        },
        5_000,
        `the call waiting after ${attempts} attempts`,
      ),
    calls: () => calls,
    jobs: () => engine.list().length,
    replies: () => fake.messagesIn("ops").map((m) => m.text ?? ""),
    async close() {
      unsubscribe();
      await outgoing.close();
      await engine.close(0);
      await store.close();
      kv.close();
      await client.close();
      await receiver.shutdown();
      await fake.close();
    },
  };
}

/** A world whose service holds every call until the world closes (then answers 204). */
async function heldWorld() {
  let release: () => void = () => {};
  const hold = new Promise<void>((resolve) => release = resolve);
  const w = await world(async () => {
    await hold;
    return new Response(null, { status: 204 });
  });
  return {
    ...w,
    async close() {
      release();
      await w.close();
    },
  };
}

Deno.test("a call still failing at WEBHOOK_OUTGOING_MAX_AGE_SECONDS is given up and the author told, once", async () => {
  const w = await world(() =>
    new Response("busy", { status: 503, headers: { "Retry-After": "25" } })
  );
  try {
    w.fake.pushMessage({ chatId: "ops", authorId: w.alice, text: "/job 1" });
    await w.waiting(1);
    assert.ok(w.replies().some((t) => /answered 503, retrying/.test(t)));
    assert.equal(w.calls(), 1);
    // The watchdog (8 s) stays silent: the author was already told.
    w.clock.advance(8_000);
    // Retry-After 25 s: attempts at 25 s and 50 s; the next would be past the 60 s deadline,
    // so the engine makes a last one at the deadline, then gives up.
    w.clock.advance(17_000);
    await w.waiting(2);
    assert.equal(w.calls(), 2);
    w.clock.advance(25_000);
    await w.waiting(3);
    assert.equal(w.calls(), 3);
    w.clock.advance(10_000);
    await w.fake.waitFor(() => w.replies().some((t) => /gave up after 1 min/.test(t)));
    assert.deepEqual(
      w.replies().map((t) => t.replace(/http:\/\/127\.0\.0\.1:\d+/, "URL")),
      [
        "⚠️ ci: URL/x answered 503, retrying",
        "❌ ci: gave up after 1 min; the service never took the call.",
      ],
    );
    assert.equal(w.calls(), 4);
  } finally {
    await w.close();
  }
});

Deno.test("a first attempt still running after 8 s gets a 'still waiting' reply (the 10-second promise)", async () => {
  const w = await heldWorld();
  try {
    w.fake.pushMessage({ chatId: "ops", authorId: w.alice, text: "/job 1" });
    await waitUntil(() => w.calls() === 1, 5_000, "the call");
    w.clock.advance(8_000);
    await w.fake.waitFor(() => w.replies().length === 1);
    assert.match(
      w.replies()[0]!,
      /^⏳ ci: URL|^⏳ ci: http:\/\/127\.0\.0\.1:\d+\/x has not answered yet; still trying$/,
    );
  } finally {
    await w.close();
  }
});

Deno.test("a slow TrueConf holds a call at most 2 s (the body names ids), and '⏳ has not answered yet' counts from the call", async () => {
  const w = await heldWorld();
  try {
    // TrueConf takes its full 10 s request timeout over the chat's title and people's names.
    w.fake.setMethodDelay("getChatByID", "never");
    w.fake.setMethodDelay("getUserDisplayName", "never");
    w.fake.pushMessage({ chatId: "ops", authorId: w.alice, text: "/job 1" });
    await waitUntil(
      () => w.fake.requests.some((r) => r.method === "getChatByID"),
      5_000,
      "the chat lookup",
    );
    w.clock.advance(2_000);
    await waitUntil(() => w.calls() === 1, 5_000, "the call, 2 s after its event");
    const body = JSON.parse(w.bodies[0]!);
    assert.deepEqual(body.chat, { id: "ops", title: "", type: "group" });
    assert.deepEqual(body.message.author, { id: w.alice, name: w.alice });
    // 9 s after the event but 7 s after the call: the service has had less than 8 s.
    w.clock.advance(7_000);
    // A line of the bot's own behind anything the watchdog might have sent (one socket, in order).
    await w.client.sendMessage("ops", "marker", "text");
    await w.fake.waitFor(() => w.replies().includes("marker"));
    assert.deepEqual(w.replies(), ["marker"]);
    w.clock.advance(1_000);
    await w.fake.waitFor(() => w.replies().length === 2);
    assert.match(
      w.replies()[1]!,
      /^⏳ ci: http:\/\/127\.0\.0\.1:\d+\/x has not answered yet; still trying$/,
    );
  } finally {
    await w.close();
  }
});

Deno.test("a trigger call still queued behind the hook's earlier one after 8 s is told so, not that the service has not answered", async () => {
  const w = await heldWorld();
  try {
    w.fake.pushMessage({ chatId: "ops", authorId: w.alice, text: "/job 1" });
    await waitUntil(() => w.calls() === 1, 5_000, "the first call");
    w.fake.pushMessage({ chatId: "ops", authorId: w.alice, text: "/job 2" });
    await waitUntil(() => w.jobs() === 2, 5_000, "the second call queued");
    w.clock.advance(8_000);
    await w.fake.waitFor(() => w.replies().length === 2);
    const shown = w.replies().map((t) => t.replace(/http:\/\/127\.0\.0\.1:\d+/, "URL")).sort();
    assert.deepEqual(shown, [
      "⏳ ci: URL/x has not answered yet; still trying",
      "⏳ ci: your call to URL/x waits behind earlier ones; it will be sent",
    ]);
    assert.equal(w.calls(), 1);
  } finally {
    await w.close();
  }
});
