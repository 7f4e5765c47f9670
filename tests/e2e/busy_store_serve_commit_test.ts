// The serving bot's commits while another process holds the store's write lock for a moment (an
// operator's `hooks pause`, `import-json`, `hooks queue retry`): Deno KV refuses a commit with
// checks AT ONCE then (src/storage/store_busy.ts), so without waiting a sender's POST was
// answered 503 storage_unavailable and a chat command with an error. The bot waits for the lock
// like a commit without checks does, and the user sees nothing of it.
//
// The whole bot in-process on a store file; the lock is node:sqlite's `BEGIN IMMEDIATE` on a
// second connection (tests/support/store_lock.ts), let go when the bot's debug line says its
// commits wait (the retry's first refusal), never on a timer.
import assert from "node:assert/strict";
import { join } from "node:path";
import { createLogger } from "../../src/log.ts";
import { type BotWithFake, startBotWithFake } from "../support/bot_with_fake.ts";
import { otherConnection } from "../support/store_lock.ts";

const WAITING = /^commits wait for the store .*: another process .* holds its write lock/;

/** A bot on a store file with one hook in chat "ops", its log collected, and a second connection. */
async function botBesideLock(t: (world: BotWithFake, run: Run) => Promise<void>) {
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
  const world = await startBotWithFake({ dir, logger });
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
