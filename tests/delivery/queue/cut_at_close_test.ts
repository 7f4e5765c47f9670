// A worker run whose post TrueConf held past the shutdown's cut ended only when the socket closed,
// after the queue had closed: it then wrote to the closed store ("queue worker error BadResource:
// Bad resource ID" at error level), and a drop the operator had been told of was lost. The bot
// runs as `serve` wires it (createBot, a KV file, the fake TrueConf over real sockets).
import assert from "node:assert/strict";
import { join } from "node:path";
import { startBotWithFake } from "../../support/bot_with_fake.ts";
import { waitUntil } from "../../support/wait.ts";
import { createLogger } from "../../../src/log.ts";
import { openKv, OutboxRepo } from "../../../src/storage/mod.ts";
import { JobEngine } from "../../../src/delivery/queue/mod.ts";

Deno.test("a delivery dropped while TrueConf holds its post, then a shutdown: no error at close, and it ends failed as the operator was told", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cut_at_close_test_" });
  const logs: { level: string; msg: string }[] = [];
  const w = await startBotWithFake({
    dir,
    logger: createLogger({ level: "info", write: (l) => void logs.push(JSON.parse(l)) }),
  });
  let botClosed = false;
  try {
    const alice = w.fake.userId("alice");
    w.addGroup({ chatId: "ops", title: "Ops", owner: alice });
    const { token } = await w.createHook("ops", "deploys", alice);
    const hookId = (await w.bot.store.findByToken(token))!.id;
    // The chat refuses for now (TrueConf error 300, transient): the delivery waits in the queue.
    w.fake.setMethodError("sendMessage", 300);
    const res = await fetch(`${w.baseUrl}/hook/${token}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text: "held by TrueConf" }),
    });
    assert.equal(res.status, 202);
    const id = (await res.json()).delivery as string;
    await w.fake.waitFor(() => (w.bot.queue.engine.list()[0]?.attempts ?? 0) >= 1);
    // Its next try: TrueConf takes the post and never answers.
    w.fake.setMethodError("sendMessage", null);
    w.fake.setMethodDelay("sendMessage", "never");
    const sends = () => w.fake.requests.filter((r) => r.method === "sendMessage").length;
    const before = sends();
    assert.ok(await w.bot.queue.engine.retry(id));
    await w.fake.waitFor(() => sends() > before);
    assert.ok(w.bot.queue.engine.isRunning(id));
    // The operator drops it (`hooks queue drop`, answered "dropped"): it ends when its post
    // returns, which is at the shutdown, after the cut.
    assert.ok(await w.bot.queue.engine.drop(id));
    await w.closeBot();
    botClosed = true;
    // Its run has ended (it may end after close returned: that was the trouble).
    await waitUntil(() => !w.bot.queue.engine.isRunning(id), 10_000, "the cut run's end");
    assert.deepEqual(logs.filter((l) => l.level === "error"), []);
    const kv = await openKv(join(dir, "webhooks.kv"));
    try {
      const repo = new OutboxRepo(kv);
      const done = await repo.getDone(hookId, id);
      assert.equal(done?.state, "failed");
      assert.equal(done?.error?.code, "dropped_by_operator");
      // Not queued any more: the next start does not post it after all.
      const waiting: string[] = [];
      for await (const e of repo.listAll(hookId)) waiting.push(e.id);
      assert.deepEqual(waiting, []);
    } finally {
      kv.close();
    }
    assert.ok(!w.fake.messagesIn("ops").some((m) => m.text === "held by TrueConf"));
  } finally {
    if (botClosed) await w.fake.close();
    else await w.close();
    await Deno.remove(dir, { recursive: true });
  }
});

// The engine on its own: a run that outlives even settle()'s wait (a step no socket close
// ends) finds the store closed under it. It writes nothing and logs no error; its job stays
// queued from its last recorded part, for the next start.
Deno.test("engine: a run that ends after settle() writes nothing and logs no error; its job stays queued", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cut_at_close_test_" });
  const path = join(dir, "q.kv");
  const kv = await openKv(path);
  const logs: { level: string; msg: string }[] = [];
  const started = Promise.withResolvers<void>();
  const gate = Promise.withResolvers<void>();
  const engine = new JobEngine({
    kv,
    limits: { maxPerHook: 10, maxTotal: 10 },
    logger: createLogger({ level: "info", write: (l) => void logs.push(JSON.parse(l)) }),
  });
  engine.register<Record<string, never>, Record<string, never>>({
    name: "task",
    maxAgeMs: 60_000,
    async run(job) {
      started.resolve();
      await gate.promise;
      return { kind: "done", state: job.state, result: null };
    },
  });
  try {
    engine.start();
    await engine.ready();
    const hook = { id: "h1", chatId: "c1", name: "ci", createdBy: "alice" };
    const queued = await engine.enqueue({ type: "task", hook, payload: {}, state: {} });
    assert.ok(queued.ok);
    await started.promise;
    assert.ok(await engine.drop(queued.id)); // ends with its run, which outlives the store
    await engine.close(0, 0);
    await engine.settle(0);
    kv.close();
    gate.resolve();
    await waitUntil(() => !engine.isRunning(queued.id), 10_000, "the run's end");
    assert.deepEqual(logs.filter((l) => l.level === "error"), []);
    const again = await openKv(path);
    try {
      const waiting: string[] = [];
      for await (const e of new OutboxRepo(again).listAll(hook.id)) waiting.push(e.id);
      assert.deepEqual(waiting, [queued.id]);
    } finally {
      again.close();
    }
  } finally {
    gate.resolve();
    await Deno.remove(dir, { recursive: true });
  }
});
