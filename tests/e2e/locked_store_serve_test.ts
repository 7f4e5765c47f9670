// `serve` on a store another process keeps locked (a long `hooks import`, a backup tool, SQLite
// opened by hand): Deno KV's first read waits for the lock without limit, so the bot waits too,
// and says why after a few seconds instead of starting in silence; once the lock is gone it
// starts. A real `serve` process; the lock is held with node:sqlite in this test's process.
import assert from "node:assert/strict";
import { join } from "node:path";
import { STORE_SLOW_MS } from "../../src/storage/mod.ts";
import { FakeTrueConf } from "../support/fake_trueconf.ts";
import { TEST_BOT } from "../support/bot_with_fake.ts";
import { spawnServe } from "../support/serve_process.ts";
import { otherConnection } from "../support/store_lock.ts";

Deno.test("serve on a store another process keeps locked says so, waits, and starts once it is free", async () => {
  const dir = await Deno.makeTempDir({ prefix: "locked_store_" });
  const path = join(dir, "webhooks.kv");
  // A store made by a first run, so the lock is on a real KV file.
  const other = await otherConnection(path);
  const fake = await FakeTrueConf.start({ bot: { ...TEST_BOT } });
  try {
    other.lock();
    await using bot = spawnServe({ dir, fake });
    // Without the warning the bot would wait in silence: give up on it after a generous minute.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const waiting = await Promise.race([
      bot.line(
        (l) => l.level === "warn" && l.msg.startsWith(`the store ${path} has not answered for`),
        "the waiting warning",
      ),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no warning within 60 s:\n${bot.text()}`)),
          60_000,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    assert.equal(
      waiting.msg,
      `the store ${path} has not answered for ${
        STORE_SLOW_MS / 1000
      } s: another process (a hooks ` +
        "command, a backup, another bot) keeps it locked; still waiting, and starting once it is free",
    );
    assert.ok(!bot.lines.some((l) => l.msg === "listening"), bot.text());
    // The other process lets go (its connection closed, as when it exits: Deno KV's start-up
    // work on the file waits for every other connection's lock, not only a writer's).
    other.close();
    await bot.listening();
    await bot.ready();
    bot.kill("SIGTERM");
    assert.equal((await bot.status).code, 0, bot.text());
  } finally {
    other.close();
    await fake.close();
    await Deno.remove(dir, { recursive: true });
  }
});
