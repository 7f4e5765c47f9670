// The store's doorbell: a CLI's change reaches the serving bot when the CLI rings, not at a
// poll (an idle bot polling twice a second grew its RSS: src/storage/doorbell.ts).
import assert from "node:assert/strict";
import { doorbellPath, openKv, ringDoorbell, watchDoorbell } from "../../src/storage/mod.ts";

/** Counts the listener's runs; `next()` resolves at the next run. */
function listener() {
  let runs = 0;
  let wake: (() => void) | undefined;
  return {
    get runs() {
      return runs;
    },
    onRing: () => {
      runs++;
      wake?.();
      return Promise.resolve();
    },
    next: () => new Promise<void>((resolve) => wake = resolve),
  };
}

const NEVER = 3_600_000; // a poll that cannot explain a run within a test

Deno.test("a CLI's ring on its own handle of the store runs the bot's listener at once", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/hooks.kv`;
  const bot = await openKv(path);
  const cli = await openKv(path);
  const l = listener();
  const first = l.next();
  const bell = watchDoorbell(path, l.onRing, { safetyPollMs: NEVER, fallbackPollMs: NEVER });
  try {
    await first; // at start: what changed while no bot watched
    assert.ok((await Deno.stat(doorbellPath(path))).isFile);
    for (let i = 2; i <= 3; i++) {
      const rung = l.next();
      await ringDoorbell(cli);
      await rung;
      assert.ok(l.runs >= i);
    }
  } finally {
    await bell.close();
    bot.close();
    cli.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a doorbell removed under the bot is made again and still rings", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/hooks.kv`;
  const cli = await openKv(path);
  const l = listener();
  const first = l.next();
  const fallbacks: string[] = [];
  const bell = watchDoorbell(path, l.onRing, {
    safetyPollMs: NEVER,
    fallbackPollMs: NEVER,
    onFallback: (why) => fallbacks.push(why),
  });
  try {
    await first;
    const afterRemove = l.next();
    await Deno.remove(doorbellPath(path));
    await afterRemove; // the removal itself is a ring (the operator may have moved things)
    const rung = l.next();
    await ringDoorbell(cli);
    await rung;
    assert.deepEqual(fallbacks, []);
  } finally {
    await bell.close();
    cli.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rings during a run coalesce into one more run, never two at once", async () => {
  let running = 0;
  let most = 0;
  let runs = 0;
  let release: (() => void) | undefined;
  let started: (() => void) | undefined;
  const runStarts = () => new Promise<void>((r) => started = r);
  const first = runStarts();
  const bell = watchDoorbell(":memory:", async () => {
    runs++;
    most = Math.max(most, ++running);
    started?.();
    await new Promise<void>((r) => release = r);
    running--;
  }, { fallbackPollMs: NEVER });
  try {
    await first; // the start's run, held
    const second = runStarts();
    const rings = [bell.ring(), bell.ring(), bell.ring()];
    release!();
    await second; // the three rings made one more run
    release!();
    await Promise.all(rings);
    assert.equal(runs, 2);
    assert.equal(most, 1);
  } finally {
    const closing = bell.close();
    release?.();
    await closing;
  }
});

Deno.test("a store no other process can open (:memory:) is polled, and ringing it is a no-op", async () => {
  const kv = await openKv(":memory:");
  const l = listener();
  const first = l.next();
  const bell = watchDoorbell(":memory:", l.onRing, { fallbackPollMs: 20 });
  try {
    await first;
    await ringDoorbell(kv); // nothing to write, nothing thrown
    // The poll's timer does not hold a process open (the bot's server does): this one does.
    const alive = setTimeout(() => {}, 10_000);
    await l.next(); // a run nobody rang for: the poll
    clearTimeout(alive);
    assert.ok(l.runs >= 2);
  } finally {
    await bell.close();
    kv.close();
  }
});

Deno.test({
  name:
    "a doorbell Deno may not write falls back to polling and says why without Deno's --allow advice",
  permissions: { read: true, write: false },
  async fn() {
    const path = "/var/lib/trueconf-webhook-bot-test/hooks.kv"; // never written: refused first
    const why: string[] = [];
    const l = listener();
    const first = l.next();
    const bell = watchDoorbell(path, l.onRing, {
      safetyPollMs: NEVER,
      fallbackPollMs: NEVER,
      onFallback: (w) => void why.push(w),
    });
    try {
      await first;
      assert.deepEqual(why, [
        `cannot watch ${doorbellPath(path)}: Requires write access to "${doorbellPath(path)}"`,
      ]);
    } finally {
      await bell.close();
    }
  },
});
