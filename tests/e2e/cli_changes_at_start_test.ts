// The running bot learns what the operator CLI (another process) changes through the store's
// change feed. Its first read of that feed, at start, failing (a store busy or failing for a
// moment) left it deaf to every later CLI change for its whole life, a revoke among them, with
// the rejection unhandled. The whole bot (createBot as `serve` wires it) on a KV file whose
// feed head cannot be read until the test says so, and the CLI as a real process.
import assert from "node:assert/strict";
import { startBotWithFake } from "../support/bot_with_fake.ts";
import { fullDiskKv } from "../support/full_disk_kv.ts";
import { hooksCommand } from "../support/serve_process.ts";
import { createLogger } from "../../src/log.ts";

Deno.test("the bot's first read of the change feed fails: warned with its step, /readyz says so, and once the store reads again a CLI revoke still reaches the running bot", async () => {
  const dir = await Deno.makeTempDir({ prefix: "e2e-feed-start-" });
  const feed = { failing: true };
  const lines: string[] = [];
  let warned!: () => void;
  const warning = new Promise<void>((resolve) => warned = resolve);
  const lost: string[] = [];
  const w = await startBotWithFake({
    dir,
    lease: { onLost: (why) => void lost.push(why) },
    logger: createLogger({
      level: "info",
      write: (l) => {
        lines.push(l);
        if (l.includes("could not read the hook change feed")) warned();
      },
    }),
    // The head of the change feed: the one read the bot makes to learn where the feed is.
    kv: (raw) =>
      fullDiskKv(
        raw,
        (call, keys) => feed.failing && call === "get" && keys[0]?.[0] === "hook_change_head",
      ),
  });
  try {
    const post = await cachedHook(w);

    // The start's read failed: one warning naming the step, and /readyz (details on loopback)
    // says the bot cannot follow the store, in words that name no path.
    await warning;
    const warn = lines.find((l) => l.includes("could not read the hook change feed"))!;
    assert.match(warn, /"level":"warn"/);
    assert.match(warn, /could not read the hook change feed; retrying/);
    assert.match(warn, /database or disk is full/);
    const notReady = await fetch(`${w.baseUrl}/readyz`);
    const body = await notReady.json();
    assert.equal(notReady.status, 503, JSON.stringify(body));
    assert.ok(
      body.problems.some((p: string) => /hook change feed.*hooks CLI/.test(p)),
      JSON.stringify(body.problems),
    );
    assert.deepEqual(w.bot.readiness().summary?.["problems"], [
      "the store's change feed cannot be read",
    ]);
    // /readyz 503 is not a refusal (docs/deploy.md, "Health endpoints"): hooks are still
    // delivered, and /healthz, what a load balancer watches, stays 200.
    const during = await post();
    assert.ok(during.status < 300, await during.text());
    const live = await fetch(`${w.baseUrl}/healthz`);
    assert.equal(live.status, 200, await live.text());

    // The store reads again; the operator revokes the hook from the CLI. The running bot
    // applies it at once: the CLI is told so, and the next request (the hook was cached) is 404.
    feed.failing = false;
    const revoked = await hooksCommand(dir, "revoke", "--chat", "ops", "--name", "deploys");
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.match(revoked.stdout + revoked.stderr, /The running bot has applied it/);
    const after = await post();
    assert.equal(after.status, 404, await after.text());
    const ready = await fetch(`${w.baseUrl}/readyz`);
    assert.equal(ready.status, 200, await ready.text());
    assert.ok(!lines.some((l) => /unhandled/i.test(l)), lines.join("\n"));
    assert.deepEqual(lost, []);
  } finally {
    feed.failing = false;
    await w.close();
    await Deno.remove(dir, { recursive: true });
  }
});

// docs/deploy.md says what a change feed the bot cannot read costs, as the container health
// check weighs it: the CLI's revoke is not applied at once, yet the revoked URL still stops
// working once the bot's cache of the hook expires (30 s), since a cache miss reads the record.
Deno.test("while the bot cannot read the change feed, a CLI revoke is not confirmed, and the URL answers 404 once the bot's cache of the hook expires (30 s)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "e2e-feed-unread-" });
  let now = Date.now();
  const w = await startBotWithFake({
    dir,
    lease: { onLost: () => {} },
    logger: createLogger({ level: "error", write: () => {} }),
    hooks: { now: () => now },
    kv: (raw) =>
      fullDiskKv(raw, (call, keys) => call === "get" && keys[0]?.[0] === "hook_change_head"),
  });
  try {
    const post = await cachedHook(w);

    const revoked = await hooksCommand(dir, "revoke", "--chat", "ops", "--name", "deploys");
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.match(revoked.stdout, /did not confirm this change within 3 s/);
    const cached = await post();
    assert.ok(cached.status < 300, `still cached: ${cached.status} ${await cached.text()}`);

    now += 30_001;
    const after = await post();
    assert.equal(after.status, 404, await after.text());
  } finally {
    await w.close();
    await Deno.remove(dir, { recursive: true });
  }
});

type BotWithFake = Awaited<ReturnType<typeof startBotWithFake>>;

/**
 * Makes the hook "deploys" in group "ops" and posts to it once, so the bot has it in its cache;
 * returns a function that posts to it again.
 */
async function cachedHook(w: BotWithFake): Promise<() => Promise<Response>> {
  const alice = w.fake.userId("alice");
  w.addGroup({ chatId: "ops", title: "Ops", owner: alice });
  const { token } = await w.createHook("ops", "deploys", alice);
  const post = () =>
    fetch(`${w.baseUrl}/hook/${token}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text: "deployed" }),
    });
  const first = await post();
  assert.ok(first.status < 300, await first.text());
  return post;
}
