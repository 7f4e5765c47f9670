// Issue 10.4: `hooks queue` lists, retries and drops deliveries of a RUNNING bot, within a
// second. The bot runs as `serve` wires it (createBot, a KV file, the fake TrueConf over
// real sockets); the CLI opens the same file through its own KV handle, as a second process
// does.
import assert from "node:assert/strict";
import { join } from "node:path";
import { startBotWithFake } from "../../support/bot_with_fake.ts";
import { HookStore } from "../../../src/hooks/mod.ts";
import { openKv } from "../../../src/storage/mod.ts";
import { type QueueRow, runQueueCli } from "../../../src/cli/queue_cli.ts";
import { createLogger } from "../../../src/log.ts";
import { fullDiskKv } from "../../support/full_disk_kv.ts";

// The bot applies a command when the CLI rings the store's doorbell: milliseconds when idle.
// Without the ring it would wait for the doorbell's safety poll (every 5 s, at any phase), so
// 3 s still catches a lost ring at most checks (tests/storage/doorbell_test.ts proves the
// ring itself without the poll) while a bot kept off the CPU for 2 s passes.
const ANSWER_WITHIN_MS = 3_000;

/** The real store, counting how often a command reads the whole hook list. */
class CountingStore extends HookStore {
  listAllReads = 0;
  override listAll(): ReturnType<HookStore["listAll"]> {
    this.listAllReads++;
    return super.listAll();
  }
}

Deno.test("hooks queue: list, drop, retry and drop --hook act on a running bot at once (it rings the bot's doorbell)", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "queue_cli_test_" });
  const logs: string[] = [];
  const w = await startBotWithFake({
    dir,
    logger: createLogger({ level: "info", write: (l) => void logs.push(l) }),
  });
  const path = join(dir, "webhooks.kv");
  const cli = async (...args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    let listAllReads = 0;
    const started = performance.now();
    // runQueueCli as `hooks queue` runs it (runHooksCli passes its context through), so the
    // test can set how long the CLI waits for the bot.
    const code = await runQueueCli(args, {
      openQueue: async (fn) => {
        const kv = await openKv(path);
        const store = new CountingStore(kv);
        try {
          return await fn(kv, store);
        } finally {
          listAllReads += store.listAllReads;
          await store.close();
          kv.close();
        }
      },
      // The bot's answer is the event the steps wait for; the CLI's own 2 s would call a bot
      // kept off the CPU for 2 s "not running" (ANSWER_WITHIN_MS bounds the wait instead).
      answerWaitMs: 30_000,
      out: (l) => void out.push(l),
      err: (l) => void err.push(l),
    });
    return {
      code,
      out: out.join("\n"),
      err: err.join("\n"),
      ms: performance.now() - started,
      listAllReads,
    };
  };
  const post = async (token: string, text: string) => {
    const res = await fetch(`${w.baseUrl}/hook/${token}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text }),
    });
    const body = await res.json();
    assert.equal(res.status, 202, JSON.stringify(body));
    return body.delivery as string;
  };
  const status = async (token: string, id: string) =>
    (await (await fetch(`${w.baseUrl}/hook/${token}/deliveries/${id}`)).json()).delivery;
  try {
    const alice = w.fake.userId("alice");
    w.addGroup({ chatId: "ops", title: "Ops", owner: alice });
    const { token } = await w.createHook("ops", "deploys", alice);
    // The chat refuses for now (TrueConf error 300, transient): deliveries wait and retry.
    w.fake.setMethodError("sendMessage", 300);
    const ids = [await post(token, "one"), await post(token, "two"), await post(token, "three")];

    await t.step(
      "list: every waiting delivery with hook, chat, age, attempts, next try, error",
      async () => {
        await w.fake.waitFor(() => (w.bot.queue.engine.list()[0]?.attempts ?? 0) >= 1);
        const r = await cli("--json");
        assert.equal(r.code, 0, r.err);
        const rows = JSON.parse(r.out) as QueueRow[];
        assert.deepEqual(rows.map((x) => x.id), ids);
        assert.ok(rows.every((x) => x.hook.name === "deploys" && x.chat === "ops"));
        assert.equal(rows[0]!.lastError?.code, "trueconf_error");
        const byName = await cli("--hook", "deploys");
        assert.equal(byName.code, 0);
        for (const id of ids) assert.ok(byName.out.includes(id), byName.out);
        assert.match(byName.out, /3 waiting/);
        // The whole hook list is read once to find the name (a store of thousands of hooks),
        // not a second time for the rows' names; an id reads its one record only.
        assert.equal(byName.listAllReads, 1);
        const hookId = rows[0]!.hook.id;
        const byId = await cli("--hook", hookId);
        assert.equal(byId.out, byName.out);
        assert.equal(byId.listAllReads, 0);
        const unknown = await cli("--hook", "nope");
        assert.equal(unknown.code, 1);
        assert.match(unknown.err, /no webhook with id or name "nope"/);
      },
    );

    await t.step(
      "drop <id>: applied by the running bot at once, status failed",
      async () => {
        const r = await cli("drop", ids[2]!);
        assert.equal(r.code, 0, r.err);
        assert.match(r.out, /dropped/);
        assert.ok(r.ms < ANSWER_WITHIN_MS, `answered after ${r.ms} ms`);
        const st = await status(token, ids[2]!);
        assert.equal(st.state, "failed");
        assert.equal(st.error.code, "dropped_by_operator");
        assert.equal((await cli("drop", ids[2]!)).code, 1, "no longer waiting");
      },
    );

    await t.step("retry <id>: tried again at once instead of after its backoff", async () => {
      // After 4 attempts the backoff is 4–8 s (after 3 it was 2–4 s: a CLI slowed by a loaded
      // machine could see "one" delivered by the backoff and the check below pass or fail by
      // chance).
      await w.fake.waitFor(() => (w.bot.queue.engine.list()[0]?.attempts ?? 0) >= 4, 20_000);
      const head = w.bot.queue.engine.list()[0]!;
      w.fake.setMethodError("sendMessage", null);
      const r = await cli("retry", ids[0]!);
      assert.equal(r.code, 0, r.err);
      assert.ok(r.ms < ANSWER_WITHIN_MS, `answered after ${r.ms} ms`);
      // No time window on the delivery itself (load decides it): what proves the retry is that
      // it came before the backoff the worker had set (4–8 s away after 4 attempts).
      await w.fake.waitFor(() => w.fake.messagesIn("ops").some((m) => m.text === "one"), 10_000);
      assert.ok(Date.now() < head.notBefore, "delivered before its backoff was over");
      // "two" follows it now that the chat takes messages: the next step starts from an empty
      // queue (under load "two" was still waiting when it made the chat refuse again, and its
      // drop --hook dropped 3).
      await w.fake.waitFor(() => w.bot.queue.stats().depth === 0, 10_000);
      assert.deepEqual(w.fake.messagesIn("ops").map((m) => m.text), ["one", "two"]);
    });

    await t.step("drop --hook: every waiting delivery of the hook", async () => {
      w.fake.setMethodError("sendMessage", 300);
      const more = [await post(token, "four"), await post(token, "five")];
      const r = await cli("drop", "--hook", "deploys");
      assert.equal(r.code, 0, r.err);
      assert.ok(r.ms < ANSWER_WITHIN_MS, `answered after ${r.ms} ms`);
      assert.match(r.out, /^2 waiting deliveries of hook "deploys" \([0-9a-f-]{36}\) dropped$/m);
      for (const id of more) assert.equal((await status(token, id)).state, "failed");
      assert.equal(w.bot.queue.stats().depth, 0);
      w.fake.setMethodError("sendMessage", null);
      assert.ok(!w.fake.messagesIn("ops").some((m) => m.text === "four" || m.text === "five"));
    });

    await t.step("retry while TrueConf is unreachable says the delivery waits for it", async () => {
      await w.fake.refuseConnections(true);
      w.fake.dropAll();
      await w.fake.waitFor(() => !w.bot.client.authorized, 5_000);
      const id = await post(token, "six");
      const r = await cli("retry", id);
      assert.equal(r.code, 0, r.err);
      assert.equal(
        r.out,
        `delivery ${id} is tried as soon as TrueConf takes messages again (it is unreachable now)`,
      );
      await w.fake.refuseConnections(false);
    });

    await t.step("bad command lines: exit 2 with usage", async () => {
      assert.equal((await cli("retry")).code, 2);
      assert.equal((await cli("drop", "a", "--hook", "b")).code, 2);
      assert.equal((await cli("frobnicate")).code, 2);
    });

    await t.step(
      "--hook with a name two chats use: exit 2, one command per hook by its id, nothing dropped",
      async () => {
        w.addGroup({ chatId: "dev", title: "Dev", owner: alice });
        const made = await w.createHook("dev", "Deploys", alice);
        const other = (await w.bot.store.findByToken(made.token))!.id;
        const mine = (await w.bot.store.findByToken(token))!.id;
        w.fake.setMethodError("sendMessage", 300);
        const waiting = await post(token, "seven");
        for (
          const [args, line] of <[string[], (id: string) => string][]> [
            [["--hook", "deploys"], (id) => `hooks queue --hook ${id}`],
            [["drop", "--hook=DEPLOYS"], (id) => `hooks queue drop --hook ${id}`],
          ]
        ) {
          const r = await cli(...args);
          assert.equal(r.code, 2, args.join(" "));
          assert.deepEqual(r.err.split("\n").slice(1), [
            `  ${line(other)}   # "Deploys" in chat dev`,
            `  ${line(mine)}   # "deploys" in chat ops`,
          ]);
        }
        assert.notEqual((await status(token, waiting)).state, "failed");
        // Not dropped: it goes out once the chat takes messages.
        w.fake.setMethodError("sendMessage", null);
        await w.fake.waitFor(
          () => w.fake.messagesIn("ops").some((m) => m.text === "seven"),
          30_000,
        );
      },
    );
  } finally {
    await w.close();
    await Deno.remove(dir, { recursive: true });
  }
});

// The bot applied the operator's commands in order and stopped at the first that failed, to
// keep that order: one that always failed (its delivery's record could not be written) left
// the CLI saying "busy or stuck" and every later command waiting behind it for its 24 h.
Deno.test("hooks queue: a command the bot cannot carry out is answered as failed with the reason, and the next one goes through", async () => {
  const dir = await Deno.makeTempDir({ prefix: "queue_cli_fail_test_" });
  const stuck = { id: "" };
  const w = await startBotWithFake({
    dir,
    logger: createLogger({ level: "error", write: () => {} }),
    // The store refuses to record this one delivery as ended (a full disk for its write).
    kv: (kv) =>
      fullDiskKv(
        kv,
        (call, keys) =>
          call === "commit" && keys.some((k) => k[0] === "outbox_done" && k[2] === stuck.id),
      ),
  });
  const path = join(dir, "webhooks.kv");
  const cli = async (...args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runQueueCli(args, {
      openQueue: async (fn) => {
        const kv = await openKv(path);
        const store = new HookStore(kv);
        try {
          return await fn(kv, store);
        } finally {
          await store.close();
          kv.close();
        }
      },
      // Bounds the test before the change (the CLI gave up, "busy or stuck"): the bot's
      // answer, not this wait, ends each command.
      answerWaitMs: 15_000,
      out: (l) => void out.push(l),
      err: (l) => void err.push(l),
    });
    return { code, out: out.join("\n"), err: err.join("\n") };
  };
  try {
    const alice = w.fake.userId("alice");
    w.addGroup({ chatId: "ops", title: "Ops", owner: alice });
    const { token } = await w.createHook("ops", "deploys", alice);
    w.fake.setMethodError("sendMessage", 300); // deliveries wait and retry
    const post = async (text: string) => {
      const res = await fetch(`${w.baseUrl}/hook/${token}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ text }),
      });
      assert.equal(res.status, 202);
      return (await res.json()).delivery as string;
    };
    const [one, two] = [await post("one"), await post("two")];
    stuck.id = one;

    const failed = await cli("drop", one);
    assert.equal(failed.code, 1, failed.out);
    assert.equal(
      failed.err,
      `error: the bot could not carry out 'hooks queue drop ${one}' (database or disk is full; tried 3 times): nothing was changed, the delivery still waits. Run the command again once the bot's store is healthy (its log says more).`,
    );
    assert.deepEqual(w.bot.queue.engine.list().map((j) => j.id), [one, two], "both still wait");
    // With --json the same answer is the JSON on standard output (docs/delivery.md), exit 1.
    const failedJson = await cli("drop", one, "--json");
    assert.equal(failedJson.code, 1, failedJson.err);
    const answer = JSON.parse(failedJson.out);
    assert.equal(answer.ok, false);
    assert.equal(answer.code, "not_carried_out");
    assert.equal(answer.applied, true);
    assert.match(answer.message, /could not carry out 'hooks queue drop /);

    const next = await cli("drop", two);
    assert.equal(next.code, 0, next.err);
    assert.equal(next.out, `delivery ${two} dropped (status failed, dropped_by_operator)`);

    stuck.id = ""; // the store is healthy again: the same command now works
    const again = await cli("drop", one, "--json");
    assert.equal(again.code, 0, again.err);
    assert.equal(JSON.parse(again.out).ok, true);
    assert.equal(w.bot.queue.stats().depth, 0);
  } finally {
    w.fake.setMethodError("sendMessage", null);
    await w.close();
    await Deno.remove(dir, { recursive: true });
  }
});
