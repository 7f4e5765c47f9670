// The job engine on its own: a test job type on a real KV file, time moved by hand.
import assert from "node:assert/strict";
import { type EngineEvent, JobEngine, type JobType } from "../../../src/delivery/queue/mod.ts";
import { openKv } from "../../../src/storage/mod.ts";
import { createLogger, type Logger } from "../../../src/log.ts";
import { fullDiskKv } from "../../support/full_disk_kv.ts";
import { ManualClock } from "./_manual_clock.ts";

interface Task {
  name: string;
  /** How its attempts end. */
  mode: "ok" | "own" | "hook" | "fatal";
}

const HOOK = { id: "h1", chatId: "c1", name: "ci", createdBy: "alice" };
const OTHER = { id: "h2", chatId: "c2", name: "cd", createdBy: "bob" };

async function withEngine(
  fn: (t: {
    engine: JobEngine;
    clock: ManualClock;
    runs: string[];
    events: EngineEvent[];
    kv: Deno.Kv;
    restart(): Promise<void>;
  }) => Promise<void>,
  type: Partial<JobType<Task, { tries: number }>> = {},
  options: {
    /** The engine's KV handle made from the opened one (a failing store); `kv` stays the opened. */
    wrap?: (kv: Deno.Kv) => Deno.Kv;
    logger?: Logger;
  } = {},
) {
  const dir = await Deno.makeTempDir({ prefix: "engine_test_" });
  const clock = new ManualClock();
  const runs: string[] = [];
  const events: EngineEvent[] = [];
  let kv = await openKv(`${dir}/q.kv`);
  const make = () => {
    const engine = new JobEngine({
      kv: options.wrap ? options.wrap(kv) : kv,
      ...(options.logger ? { logger: options.logger } : {}),
      limits: { maxPerHook: 100, maxTotal: 1000 },
      clock,
      backoff: { baseMs: 1_000, capMs: 1_000 },
      onEvent: (e) => events.push(e),
    });
    engine.register<Task, { tries: number }>({
      name: "task",
      maxAgeMs: 60_000,
      run(job) {
        runs.push(job.payload.name);
        const state = { tries: job.state.tries + 1 };
        switch (job.payload.mode) {
          case "ok":
            return Promise.resolve({ kind: "done", state, result: { ran: job.payload.name } });
          case "fatal":
            return Promise.resolve({
              kind: "failed",
              state,
              error: { code: "refused", message: "no" },
            });
          default:
            return Promise.resolve({
              kind: "retry",
              state,
              scope: job.payload.mode === "own" ? "job" : "hook",
              error: { code: "flaky", message: `${job.payload.name} failed` },
            });
        }
      },
      ...type,
    });
    return engine;
  };
  const t = { engine: make(), clock, runs, events, kv, restart: async () => {} };
  t.restart = async () => {
    await t.engine.close(0);
    kv.close();
    kv = await openKv(`${dir}/q.kv`);
    t.kv = kv;
    t.engine = make();
    t.engine.start();
    await t.engine.ready();
    await t.engine.settled();
  };
  try {
    t.engine.start();
    await t.engine.ready();
    await fn(t);
  } finally {
    await t.engine.close(0);
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const task = (name: string, mode: Task["mode"] = "ok", hook = HOOK) => ({
  type: "task",
  hook,
  payload: { name, mode },
  state: { tries: 0 },
});

Deno.test("engine: a hook's jobs run one at a time in order; hooks do not wait for each other", async () => {
  await withEngine(async ({ engine, runs }) => {
    for (const n of ["a1", "a2", "a3"]) assert.ok((await engine.enqueue(task(n))).ok);
    assert.ok((await engine.enqueue(task("b1", "hook", OTHER))).ok);
    await engine.settled();
    assert.deepEqual(runs.filter((r) => r.startsWith("a")), ["a1", "a2", "a3"]);
    assert.deepEqual(engine.list().map((w) => w.hookId), ["h2"]);
  });
});

Deno.test("engine: a job failing on its own is set aside after 3 attempts; later jobs go on; retried until its deadline", async () => {
  await withEngine(async ({ engine, clock, runs, events, kv }) => {
    const bad = await engine.enqueue(task("bad", "own"));
    await engine.enqueue(task("next"));
    await engine.settled();
    assert.deepEqual(runs, ["bad"], "the line waits behind a job that just failed");
    clock.advance(1_000);
    await engine.settled();
    assert.deepEqual(runs, ["bad", "bad"]);
    clock.advance(1_000);
    await engine.settled();
    assert.deepEqual(runs, ["bad", "bad", "bad", "next"], "set aside after the third attempt");
    assert.ok(events.some((e) => e.kind === "set_aside" && bad.ok && e.id === bad.id));
    // A job arriving now does not wait either; the one set aside keeps being retried.
    await engine.enqueue(task("later"));
    await engine.settled();
    assert.equal(runs.at(-1), "later");
    clock.advance(1_000);
    await engine.settled();
    assert.equal(runs.at(-1), "bad");
    assert.deepEqual(engine.list().map((w) => [w.id, w.aside]), [[bad.ok && bad.id, true]]);
    // Its deadline (60 s after acceptance) ends it.
    for (let i = 0; i < 60; i++) {
      clock.advance(1_000);
      await engine.settled();
    }
    const end = events.find((e) =>
      e.kind === "ended" && e.end.payload && e.end.outcome === "failed"
    );
    assert.ok(end && end.kind === "ended");
    assert.equal(end.end.error?.code, "gave_up");
    assert.equal(engine.stats().depth, 0);
    const done = await engine.repo.getDone(HOOK.id, bad.ok ? bad.id : "", clock.now());
    assert.equal(done?.state, "failed");
    assert.equal(done?.error?.code, "gave_up");
    assert.equal((await Array.fromAsync(kv.list({ prefix: ["outbox"] }))).length, 0);
  });
});

Deno.test("engine: a failure of the hook's own target (scope hook) keeps the order: nothing overtakes", async () => {
  await withEngine(async ({ engine, clock, runs }) => {
    await engine.enqueue(task("first", "hook"));
    await engine.enqueue(task("second"));
    for (let i = 0; i < 6; i++) {
      clock.advance(1_000);
      await engine.settled();
    }
    assert.ok(runs.every((r) => r === "first"), runs.join());
    assert.ok(runs.length >= 6);
    const w = engine.list();
    assert.deepEqual(w.map((x) => x.aside), [false, false]);
    assert.equal(w[0]!.lastError?.code, "flaky");
    assert.ok(engine.stats().oldestAgeMs >= 6_000);
  });
});

Deno.test("engine: dropHook ends every waiting job of the hook as failed with the reason; other hooks untouched", async () => {
  await withEngine(async ({ engine, clock, runs }) => {
    const ids = [];
    for (const n of ["x1", "x2", "x3"]) {
      const r = await engine.enqueue(task(n, "hook"));
      assert.ok(r.ok);
      ids.push(r.id);
    }
    await engine.enqueue(task("y", "hook", OTHER));
    await engine.settled();
    assert.equal(await engine.dropHook(HOOK.id, "hook_revoked"), 3);
    for (const id of ids) {
      const d = await engine.repo.getDone(HOOK.id, id, clock.now());
      assert.equal(d?.state, "failed");
      assert.equal(d?.error?.code, "hook_revoked");
    }
    assert.deepEqual(engine.list().map((w) => w.hookId), [OTHER.id]);
    const before = runs.length;
    clock.advance(5_000);
    await engine.settled();
    assert.ok(runs.slice(before).every((r) => r === "y"));
  });
});

Deno.test("engine: a hook dropped twice at once (a revoke seen in-process and by the change feed) ends each job once", async () => {
  await withEngine(async ({ engine, events }) => {
    for (const n of ["x1", "x2", "x3"]) assert.ok((await engine.enqueue(task(n, "hook"))).ok);
    await engine.settled();
    const counts = await Promise.all([
      engine.dropHook(HOOK.id, "hook_revoked"),
      engine.dropHook(HOOK.id, "hook_revoked"),
    ]);
    assert.equal(counts[0], 3);
    await engine.settled();
    const ended = events.filter((e) => e.kind === "ended");
    assert.equal(ended.length, 3, "each job ends once: its type's finished() runs once");
    assert.equal(new Set(ended.map((e) => e.kind === "ended" && e.end.id)).size, 3);
  });
});

Deno.test("engine: retry(id) runs a waiting job now; drop(id) ends one job", async () => {
  await withEngine(async ({ engine, clock, runs }) => {
    const a = await engine.enqueue(task("a", "hook"));
    await engine.settled();
    assert.ok(a.ok);
    assert.equal(runs.length, 1);
    assert.equal(await engine.retry(a.id), true);
    await engine.settled();
    assert.equal(runs.length, 2, "ran again without waiting out its backoff");
    assert.equal(await engine.retry("zz-unknown"), false);
    assert.equal(await engine.drop(a.id), true);
    const d = await engine.repo.getDone(HOOK.id, a.id, clock.now());
    assert.equal(d?.error?.code, "dropped_by_operator");
    assert.equal(engine.stats().depth, 0);
  });
});

// `hooks queue retry|drop` leave a command in KV; the engine reads it, applies it and writes its
// answer, which the CLI waits for. Every failure was logged "could not read queue commands", a
// write refused on a full disk included; and a command whose answer could not be written was
// applied again at the next look: a drop made the first time answered "no waiting delivery".
Deno.test("engine: queue commands: a failed read and a failed answer each log their own step; the answer is written again, the command not applied twice", async () => {
  const failing = { read: false, answer: false };
  const lines: string[] = [];
  await withEngine(
    async ({ engine }) => {
      const stuck = await engine.enqueue(task("stuck", "own"));
      assert.ok(stuck.ok);
      await engine.settled(); // failed once, waits for its retry
      const command = await engine.repo.putCommand({ op: "drop", id: stuck.id });
      const warnings = () => lines.filter((l) => l.includes('"level":"warn"'));

      failing.read = true;
      await engine.applyCommandsOrWarn(); // never throws: the doorbell's listener
      failing.read = false;
      assert.equal(warnings().length, 1, lines.join("\n"));
      assert.match(warnings()[0]!, /could not read the operator's queue commands; retrying/);
      assert.match(warnings()[0]!, /database or disk is full/);
      assert.deepEqual(engine.list().map((w) => w.id), [stuck.id], "nothing applied");

      failing.answer = true;
      await engine.applyCommandsOrWarn();
      failing.answer = false;
      assert.equal(warnings().length, 2, lines.join("\n"));
      assert.match(
        warnings()[1]!,
        new RegExp(
          `could not write the answer to 'hooks queue drop ${stuck.id}' \\(the command waits for it\\); retrying`,
        ),
      );
      assert.doesNotMatch(warnings()[1]!, /could not read/);
      assert.deepEqual(engine.list(), [], "the drop itself was made");
      assert.equal(await engine.repo.commandResult(command), null, "no answer yet");

      await engine.applyCommandsOrWarn(); // the retry: the answer of the drop that was made
      assert.deepEqual(await engine.repo.commandResult(command), {
        ok: true,
        message: `delivery ${stuck.id} dropped (status failed, dropped_by_operator)`,
      });
      assert.equal(warnings().length, 2, lines.join("\n"));
      assert.equal(await engine.applyCommands(), 0, "nothing left to apply");
    },
    {},
    {
      wrap: (kv) =>
        fullDiskKv(
          kv,
          (call, keys) =>
            (failing.read && call === "list" && keys[0]?.[0] === "queue_cmd") ||
            (failing.answer && call === "commit" && keys.some((k) => k[0] === "queue_cmd_done")),
        ),
      logger: createLogger({ level: "info", write: (l) => void lines.push(l) }),
    },
  );
});

// The bot looks at the queue commands on every doorbell poll (5 s): a command list that could
// not be read warned twelve times a minute, as the hook change feed's poll did (one owner:
// src/step_error.ts, RetryWarnings).
Deno.test("engine: queue commands unreadable for minutes: one warning when it starts, reminders after 1 and 3 minutes, one info line when they are applied again", async () => {
  const failing = { read: false };
  const lines: string[] = [];
  await withEngine(
    async ({ engine, clock }) => {
      await engine.settled();
      const before = lines.length;
      failing.read = true;
      for (let ms = 0; ms < 4 * 60_000; ms += 5_000) {
        await engine.applyCommandsOrWarn();
        clock.advance(5_000);
        await engine.settled();
      }
      failing.read = false;
      await engine.applyCommandsOrWarn();
      const said = lines.slice(before).map((l) => JSON.parse(l) as { level: string; msg: string })
        .filter((l) => l.level !== "debug");
      assert.deepEqual(said.map((l) => l.level), ["warn", "warn", "warn", "info"]);
      assert.equal(said[0]!.msg, "could not read the operator's queue commands; retrying");
      assert.match(said[1]!.msg, /; still failing after 1m 0s \(\d+ tries\); retrying$/);
      assert.match(said[2]!.msg, /; still failing after 3m 0s \(\d+ tries\); retrying$/);
      assert.equal(said[3]!.msg, "the operator's queue commands are applied again after 4m 0s");
    },
    {},
    {
      wrap: (kv) =>
        fullDiskKv(
          kv,
          (call, keys) => failing.read && call === "list" && keys[0]?.[0] === "queue_cmd",
        ),
      logger: createLogger({ level: "info", write: (l) => void lines.push(l) }),
    },
  );
});

// Commands are carried out in the operator's order; one that cannot be carried out held every
// later one until it expired (24 h). Now it is tried again a second later, and after three
// failed tries answered as failed, so the next goes on; none is carried out before it.
Deno.test("engine: a queue command that keeps failing is answered as failed after 3 tries a second apart; the one after it waits for that answer, then goes through", async () => {
  const failing = { id: "" };
  const lines: string[] = [];
  await withEngine(
    async ({ engine, clock }) => {
      const a = await engine.enqueue(task("a", "own"));
      const b = await engine.enqueue(task("b", "own", OTHER));
      assert.ok(a.ok && b.ok);
      await engine.settled(); // both failed once, wait for their retries
      failing.id = a.id;
      const first = await engine.repo.putCommand({ op: "drop", id: a.id }, clock.now());
      const second = await engine.repo.putCommand({ op: "drop", id: b.id }, clock.now() + 1);

      await engine.applyCommandsOrWarn();
      // The next tries come without a ring (the engine's own look, every 500 ms here, counts
      // too); the second command waits until the first is answered.
      let waited = 0;
      while (await engine.repo.commandResult(first) === null) {
        assert.equal(await engine.repo.commandResult(second), null, "not before the first");
        assert.equal(engine.list().length, 2);
        assert.ok(waited < 2_000, lines.join("\n"));
        clock.advance(250);
        waited += 250;
        await engine.settled();
      }
      assert.deepEqual(await engine.repo.commandResult(first), {
        ok: false,
        code: "not_carried_out",
        message:
          `the bot could not carry out 'hooks queue drop ${a.id}' (database or disk is full; tried 3 times): nothing was changed, the delivery still waits. Run the command again once the bot's store is healthy (its log says more).`,
      });
      assert.deepEqual(await engine.repo.commandResult(second), {
        ok: true,
        message: `delivery ${b.id} dropped (status failed, dropped_by_operator)`,
      });
      assert.deepEqual(engine.list().map((j) => j.id), [a.id], "the first still waits");
      const warned = lines.map((l) => JSON.parse(l) as { level: string; msg: string })
        .filter((l) => l.level === "warn").map((l) => l.msg);
      assert.deepEqual(warned, [
        `could not apply 'hooks queue drop ${a.id}'; retrying`,
        `gave up on 'hooks queue drop ${a.id}' after 3 failed tries; the operator is told it failed`,
      ]);
      clock.advance(5_000);
      await engine.settled();
      assert.equal(engine.list().length, 1, "no try after the answer");
    },
    {
      // Each job waits an hour for its next attempt: no attempt runs while the test moves time.
      run: (job) =>
        Promise.resolve({
          kind: "retry",
          state: { tries: job.state.tries + 1 },
          scope: "job",
          retryAfterMs: 3_600_000,
          error: { code: "flaky", message: "later" },
        }),
    },
    {
      wrap: (kv) =>
        fullDiskKv(
          kv,
          (call, keys) =>
            call === "commit" && keys.some((k) => k[0] === "outbox_done" && k[2] === failing.id),
        ),
      logger: createLogger({ level: "info", write: (l) => void lines.push(l) }),
    },
  );
});

// A drop reads the stored entry before it records it failed. A read that failed counted as "no
// such entry": the delivery was forgotten in memory only, the operator told it was dropped, and
// it came back at the next start (still in KV) and was delivered after all.
Deno.test("engine: an operator's drop whose read of the entry fails is not reported done: warned, the delivery kept, dropped at the next look", async () => {
  const failing = { on: false };
  const lines: string[] = [];
  await withEngine(
    async (t) => {
      const { engine, clock } = t;
      const stuck = await engine.enqueue(task("stuck", "own"));
      assert.ok(stuck.ok);
      await engine.settled(); // failed once, waits for its retry
      const command = await engine.repo.putCommand({ op: "drop", id: stuck.id });

      failing.on = true;
      await engine.applyCommandsOrWarn();
      failing.on = false;
      const warnings = lines.filter((l) => l.includes('"level":"warn"'));
      assert.equal(warnings.length, 1, lines.join("\n"));
      assert.match(
        warnings[0]!,
        new RegExp(`could not apply 'hooks queue drop ${stuck.id}'; retrying`),
      );
      assert.equal(await engine.repo.commandResult(command), null, "not told it was dropped");
      assert.deepEqual(engine.list().map((w) => w.id), [stuck.id], "still waiting");

      await engine.applyCommandsOrWarn(); // the retry
      assert.deepEqual(await engine.repo.commandResult(command), {
        ok: true,
        message: `delivery ${stuck.id} dropped (status failed, dropped_by_operator)`,
      });
      assert.equal(
        (await engine.repo.getDone("h1", stuck.id, clock.now()))?.error?.code,
        "dropped_by_operator",
      );
      await t.restart();
      assert.deepEqual(t.engine.list(), [], "it does not come back at the next start");
    },
    {},
    {
      wrap: (kv) =>
        fullDiskKv(kv, (call, keys) => failing.on && call === "get" && keys[0]?.[0] === "outbox"),
      logger: createLogger({ level: "info", write: (l) => void lines.push(l) }),
    },
  );
});

Deno.test("engine: a job type not ready holds its jobs; mergeInto folds a new job into a waiting one", async () => {
  let up = false;
  await withEngine(async ({ engine, runs }) => {
    const first = await engine.enqueue(task("v1"));
    assert.ok(first.ok);
    const merged = await engine.enqueue({
      ...task("v2"),
      mergeInto: (w) => w.id === first.id ? { name: "v1+v2", mode: "ok" } : undefined,
    });
    assert.deepEqual(merged, { ok: true, id: first.id, merged: true });
    await engine.settled();
    assert.deepEqual(runs, []);
    up = true;
    engine.wake();
    await engine.settled();
    assert.deepEqual(runs, ["v1+v2"]);
  }, { ready: () => up });
});

Deno.test("engine: waiting jobs and their set-aside state survive a restart", async () => {
  await withEngine(async (t) => {
    await t.engine.enqueue(task("bad", "own"));
    await t.engine.enqueue(task("after", "hook"));
    for (let i = 0; i < 2; i++) {
      await t.engine.settled();
      t.clock.advance(1_000);
    }
    await t.engine.settled();
    assert.deepEqual(t.engine.list().map((w) => w.aside), [true, false]);
    await t.restart();
    const w = t.engine.list();
    assert.deepEqual(w.map((x) => [x.aside, x.attempts > 0]), [[true, true], [false, true]]);
  });
});
