// The serving bot's commits while another process holds the store's write lock for a moment (an
// operator's `hooks pause`, `import-json`, `hooks queue retry`): Deno KV refuses a commit with
// checks AT ONCE then (src/storage/store_busy.ts), so without waiting a sender's POST was
// answered 503 storage_unavailable and a chat command with an error. The bot waits for the lock
// like a commit without checks does, and the user sees nothing of it.
//
// The whole bot in-process on a store file; the lock is node:sqlite's `BEGIN IMMEDIATE` on a
// second connection (tests/support/store_lock.ts), let go when the bot's debug line says its
// commits wait (the retry's first refusal), never on a timer.
//
// A lock held longer (a backup, sqlite3 left in a transaction) is not waited out by a sender
// whose key must be stored first: it is answered 503 storage_unavailable after
// SENDER_STORE_WAIT_MS (2 s), not after the 5 to 10 s the commit's own retries took. Those
// tests move the bot's manual clock past the bound instead of waiting for it.
import assert from "node:assert/strict";
import { join } from "node:path";
import { createLogger } from "../../src/log.ts";
import { type BotWithFake, startBotWithFake } from "../support/bot_with_fake.ts";
import { otherConnection } from "../support/store_lock.ts";
import { ManualClock } from "../delivery/queue/_manual_clock.ts";

const WAITING = /^commits wait for the store .*: another process .* holds its write lock/;

/**
 * A bot on a store file with one hook in chat "ops", its log collected, and a second connection;
 * `clock`: the bot's (a manual one moves time on by hand).
 */
async function botBesideLock(
  t: (world: BotWithFake, run: Run) => Promise<void>,
  clock?: ManualClock,
) {
  const dir = await Deno.makeTempDir({ prefix: "busy_serve_commit_" });
  const other = await otherConnection(join(dir, "webhooks.kv"));
  const lines: { level: string; msg: string }[] = [];
  const waiters: (() => void)[] = [];
  const logger = createLogger({
    level: "debug",
    write: (line) => {
      lines.push(JSON.parse(line));
      for (const w of waiters.splice(0)) w();
    },
  });
  const world = await startBotWithFake({ dir, logger, ...(clock ? { hooks: { clock } } : {}) });
  try {
    const alice = world.fake.userId("alice");
    world.addGroup({ chatId: "ops", title: "Ops", owner: alice });
    const hook = await world.createHook("ops", "deploys", alice);
    // Its answer in the chat comes after the DM: all answered before the lock.
    await world.fake.waitFor(() =>
      world.fake.messagesIn("ops").some((m) => /deploys<\/b> created/.test(m.text ?? ""))
    );
    const run: Run = {
      alice,
      hookUrl: hook.url,
      lock: other.lock,
      release: other.release,
      lines,
      /** Resolves when the bot logs that its commits wait for the lock. */
      async waiting() {
        while (!lines.some((l) => l.level === "debug" && WAITING.test(l.msg))) {
          await new Promise<void>((resolve) => waiters.push(resolve));
        }
        return "waiting" as const;
      },
    };
    await t(world, run);
    // TrueConf going away is a warning of its own; nothing about the store may be one.
    const bad = lines.filter((l) =>
      l.level === "error" || (l.level === "warn" && /stor|KV|commit|record/i.test(l.msg))
    );
    assert.deepEqual(bad, [], "nothing went wrong as far as the log says");
  } finally {
    other.close();
    await world.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * A sender's JSON POST of `text` to the hook while the store is locked; the lock goes once the
 * bot says its commits wait. Fails when the bot answered before that (without waiting it
 * answered at once: 503 storage_unavailable); else the answer's status.
 */
async function postUnderLock(
  run: Run,
  text: string,
  headers: Record<string, string> = {},
): Promise<number> {
  run.lock();
  const res = fetch(run.hookUrl, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ text }),
  });
  const first = await Promise.race([run.waiting(), res]);
  run.release();
  const r = await res;
  const body = await r.text();
  assert.equal(first, "waiting", `answered before waiting: ${r.status} ${body}`);
  return r.status;
}

interface Run {
  alice: string;
  hookUrl: string;
  lock(): void;
  release(): void;
  lines: { level: string; msg: string }[];
  waiting(): Promise<"waiting">;
}

Deno.test("a sender's POST with an Idempotency-Key while another process holds the store's lock for a moment is delivered once it lets go, not answered 503", async () => {
  await botBesideLock(async ({ fake }, run) => {
    // The key's claim is a commit with a check (one per key, across processes).
    assert.equal(
      await postUnderLock(run, "deploy 42 finished", { "idempotency-key": "deploy-42" }),
      200,
    );
    await fake.waitFor(
      () => fake.messagesIn("ops").some((m) => m.text === "deploy 42 finished"),
      10_000,
    );
  });
});

Deno.test("a sender's POST queued (TrueConf away) while another process holds the store's lock for a moment is answered 202 once it lets go and delivered later, not answered 503", async () => {
  await botBesideLock(async ({ fake, bot }, run) => {
    await fake.refuseConnections(true);
    await fake.waitFor(() => !bot.client.state.authorized, 10_000);
    // The queue's insert is a commit with a check (no entry under its sequence number yet).
    assert.equal(await postUnderLock(run, "sent while TrueConf was away"), 202);
    await fake.refuseConnections(false);
    await fake.waitFor(
      () => fake.messagesIn("ops").some((m) => m.text === "sent while TrueConf was away"),
      30_000,
    );
  });
});

Deno.test("a chat command while another process holds the store's lock for a moment is answered once it lets go, not with an error", async () => {
  await botBesideLock(async ({ fake, mention }, run) => {
    const dm = fake.p2pChatId(run.alice);
    const seen = { ops: fake.messagesIn("ops").length, dm: fake.messagesIn(dm).length };
    run.lock();
    fake.pushMessage({
      chatId: "ops",
      authorId: run.alice,
      text: `${mention} /webhook_create builds`,
    });
    const answered = fake.waitFor(
      () => fake.messagesIn("ops").length > seen.ops || fake.messagesIn(dm).length > seen.dm,
      30_000,
    ).then(() => "answered" as const);
    const first = await Promise.race([run.waiting(), answered]);
    run.release();
    const replies = () =>
      [...fake.messagesIn("ops").slice(seen.ops), ...fake.messagesIn(dm).slice(seen.dm)]
        .map((m) => m.text ?? "");
    // Without waiting, the bot answered at once, with an error.
    assert.equal(first, "waiting", `answered before waiting: ${replies().join("\n")}`);
    await fake.waitFor(
      () => fake.messagesIn(dm).slice(seen.dm).some((m) => /\/hook\//.test(m.text ?? "")),
      10_000,
    );
    assert.ok(replies().some((t) => /builds/.test(t)), replies().join("\n"));
  });
});

/** A sender's JSON request to `url`: a POST unless `method` says otherwise. */
function sendJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
  method = "POST",
): Promise<Response> {
  return fetch(url, {
    method,
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

/**
 * A sender's POST of `text` to the hook while the store stays locked: once the bot says its
 * commits wait, the bot's clock moves past the sender's bound (2 s), and only then does the lock
 * go. The answer, and whether it came before the lock went.
 */
async function postPastBound(
  run: Run,
  clock: ManualClock,
  text: string,
  headers: Record<string, string>,
): Promise<{ status: number; retryAfter: string | null; json: Record<string, unknown> }> {
  run.lock();
  const res = sendJson(run.hookUrl, { text }, headers);
  await run.waiting();
  clock.advance(2_000);
  // Let go at once: a bot that still waited would now store the key and deliver (200).
  run.release();
  const r = await res;
  return { status: r.status, retryAfter: r.headers.get("retry-after"), json: await r.json() };
}

/** The 503 a sender gets for a store locked past the bound: it says why and when to retry. */
function assertLockedPastBound(
  a: { status: number; retryAfter: string | null; json: Record<string, unknown> },
): void {
  assert.equal(a.status, 503, JSON.stringify(a.json));
  assert.equal(a.json.error, "storage_unavailable");
  assert.equal(a.retryAfter, "5");
  assert.match(String(a.json.message), /did not answer within 2 s/);
  assert.match(String(a.json.message), /another process .*lock/);
  assert.match(String(a.json.message), /nothing was posted/i);
}

Deno.test("a sender's POST with an Idempotency-Key while another process keeps the store locked is answered 503 storage_unavailable after 2 s, and its retry posts the message once", async () => {
  const clock = new ManualClock(Date.now());
  await botBesideLock(async ({ fake }, run) => {
    const a = await postPastBound(run, clock, "deploy 43 finished", {
      "idempotency-key": "deploy-43",
    });
    assertLockedPastBound(a);
    assert.ok(!fake.messagesIn("ops").some((m) => m.text === "deploy 43 finished"));
    // The sender's retry with the same key, the lock gone: posted, once; a replay after it
    // answers the same ids.
    const again = () =>
      sendJson(run.hookUrl, { text: "deploy 43 finished" }, { "idempotency-key": "deploy-43" });
    const retry = await again();
    const first = await retry.json();
    assert.equal(retry.status, 200, JSON.stringify(first));
    assert.deepEqual(await (await again()).json(), first);
    assert.equal(
      fake.messagesIn("ops").filter((m) => m.text === "deploy 43 finished").length,
      1,
    );
  }, clock);
});

Deno.test("a sender's POST with X-Message-Key while another process keeps the store locked is answered 503 storage_unavailable after 2 s; its retry posts the message, which the key then edits", async () => {
  const clock = new ManualClock(Date.now());
  await botBesideLock(async ({ fake }, run) => {
    const a = await postPastBound(run, clock, "build 7 started", { "x-message-key": "build-7" });
    assertLockedPastBound(a);
    assert.ok(!fake.messagesIn("ops").some((m) => m.text === "build 7 started"));
    const retry = await sendJson(run.hookUrl, { text: "build 7 started" }, {
      "x-message-key": "build-7",
    });
    assert.equal(retry.status, 200, await retry.text());
    const edit = await sendJson(
      `${run.hookUrl}/messages/build-7`,
      { text: "build 7 finished" },
      {},
      "PATCH",
    );
    assert.equal(edit.status, 200, await edit.text());
    const shown = fake.messagesIn("ops").filter((m) => /^build 7/.test(m.text ?? ""));
    assert.deepEqual(shown.map((m) => m.text), ["build 7 finished"]);
  }, clock);
});
