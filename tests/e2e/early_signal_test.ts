// SIGTERM before the bot serves (issue 18.1, "a SIGTERM that always finishes": exit 0): a
// `serve --standby` waiting for the store's lease may wait for hours, and a `serve` on a store
// another process keeps locked waits as long as the lock; a supervisor stops either with
// SIGTERM. Nothing was accepted yet, so the stop is clean: exit 0 at once, with a line saying
// so, not the 143 of a process the signal killed. Real `serve` processes against the fake.
import assert from "node:assert/strict";
import { join } from "node:path";
import { FakeTrueConf } from "../support/fake_trueconf.ts";
import { TEST_BOT } from "../support/bot_with_fake.ts";
import { spawnServe } from "../support/serve_process.ts";
import { otherConnection } from "../support/store_lock.ts";

Deno.test("SIGTERM to a standby waiting for the lease: exit 0 at once; the holder serves on", async () => {
  const dir = await Deno.makeTempDir({ prefix: "early_signal_" });
  const fake = await FakeTrueConf.start({ bot: { ...TEST_BOT } });
  try {
    await using holder = spawnServe({ dir, fake });
    await holder.ready();
    await using standby = spawnServe({ dir, fake, args: ["--standby"] });
    await standby.line((l) => l.msg.startsWith("standby:"), "the standby line", 30_000);
    const signalled = performance.now();
    standby.kill("SIGTERM");
    const status = await standby.status;
    const seconds = (performance.now() - signalled) / 1000;
    assert.equal(status.code, 0, standby.text());
    assert.ok(seconds < 2, `exited after ${seconds} s`);
    assert.ok(
      standby.lines.some((l) => l.msg.startsWith("stopped before serving")),
      standby.text(),
    );
    // The holder was not disturbed: it still stops cleanly.
    holder.kill("SIGTERM");
    assert.equal((await holder.status).code, 0, holder.text());
  } finally {
    await fake.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SIGTERM while the store is locked by another process: exit 0 at once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "early_signal_" });
  const path = join(dir, "webhooks.kv");
  const other = await otherConnection(path);
  const fake = await FakeTrueConf.start({ bot: { ...TEST_BOT } });
  try {
    other.lock();
    await using bot = spawnServe({ dir, fake });
    await bot.line(
      (l) => l.msg.startsWith(`the store ${path} has not answered for`),
      "the waiting warning",
      60_000,
    );
    const signalled = performance.now();
    bot.kill("SIGTERM");
    const status = await bot.status;
    const seconds = (performance.now() - signalled) / 1000;
    assert.equal(status.code, 0, bot.text());
    assert.ok(seconds < 2, `exited after ${seconds} s`);
  } finally {
    other.close();
    await fake.close();
    await Deno.remove(dir, { recursive: true });
  }
});
