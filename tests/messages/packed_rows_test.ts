// The registry packs the posts of one commit into time-keyed rows (src/messages/_packed_posts.ts)
// and finds each again by id through TrueConf's timestamp of it, over a real KV file; a
// registry made anew over the same file is what a restarted bot has.
import assert from "node:assert/strict";
import { MessageRegistry } from "../../src/messages/mod.ts";
import { MAX_SPAN_MS } from "../../src/messages/_packed_posts.ts";
import { createLogger } from "../../src/log.ts";
import { exportStore, importStore } from "../../src/storage/backup.ts";
import { POSTED_TTL_MS, restoreExpireIn } from "../../src/storage/keys.ts";
import { TrueConfApiError } from "../../src/trueconf/mod.ts";

/** A KV file in a temp folder, removed afterwards. */
async function withKvFile(fn: (path: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "packed-" });
  try {
    await fn(`${dir}/kv.sqlite`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A registry as a restarted bot has it: TrueConf answers the timestamps in `times`. */
function restarted(kv: Deno.Kv, times: Map<string, number>, asked: string[] = []) {
  return new MessageRegistry(kv, {
    messageTime: (id) => {
      asked.push(id);
      const ts = times.get(id);
      if (ts === undefined) {
        return Promise.reject(new TrueConfApiError("getMessageById", 307, "unknown message"));
      }
      return Promise.resolve(ts);
    },
  });
}

function rows(kv: Deno.Kv, space: string) {
  return Array.fromAsync(kv.list<{ at: number; p: string }>({ prefix: [space] }));
}

Deno.test("the posts of one commit, answered out of timestamp order, are one packed row; after a restart each is found by id, by its own hook only", async () => {
  await withKvFile(async (path) => {
    const t0 = 1_765_000_000_000;
    // TrueConf answers concurrent sends as they finish: timestamps arrive shuffled.
    const offsets = Array.from({ length: 50 }, (_, i) => (i * 37) % 50 * 7);
    const times = new Map<string, number>();
    let kv = await Deno.openKv(path);
    const reg = new MessageRegistry(kv);
    // Remembered in one tick, as the answers of one moment: one commit.
    for (const [i, dt] of offsets.entries()) {
      const id = `m${i}`;
      times.set(id, t0 + dt);
      void reg.remember(i % 2 ? "h1" : "h2", id, {
        chatId: i % 3 ? "c1" : "c2",
        kind: i % 5 ? "text" : "file",
        key: i === 7 ? "deploy" : null,
        ts: t0 + dt,
      });
    }
    await reg.flush();
    const packed = await rows(kv, "posted_b");
    assert.equal(packed.length, 1, "one row for the commit");
    assert.equal(packed[0]!.key[1], t0, "keyed by the earliest timestamp, not the first answer's");
    assert.deepEqual(await rows(kv, "posted_t"), [], "no row per post");
    assert.deepEqual(await rows(kv, "posted"), []);
    kv.close();

    kv = await Deno.openKv(path);
    try {
      const asked: string[] = [];
      const fresh = restarted(kv, times, asked);
      for (const [i, dt] of offsets.entries()) {
        const hook = i % 2 ? "h1" : "h2";
        const got = await fresh.get(hook, `m${i}`);
        assert.deepEqual(
          got && { chatId: got.chatId, kind: got.kind, key: got.key, ts: got.ts },
          {
            chatId: i % 3 ? "c1" : "c2",
            kind: i % 5 ? "text" : "file",
            key: i === 7 ? "deploy" : null,
            ts: t0 + dt,
          },
          `m${i}`,
        );
        assert.equal(
          await restarted(kv, times).get(hook === "h1" ? "h2" : "h1", `m${i}`),
          null,
          `m${i} is not the other hook's`,
        );
      }
      assert.equal(asked.length, 50, "one getMessageById per id, the second look from memory");
      assert.equal((await fresh.get("h1", "m1"))?.chatId, "c1");
      assert.equal(asked.length, 50);
      // The key's row carries the timestamp: found without TrueConf.
      const byKey = restarted(kv, new Map());
      assert.equal((await byKey.resolve("h1", "deploy"))?.messageId, "m7");
      assert.equal((await byKey.resolve("h1", "deploy"))?.message?.ts, t0 + offsets[7]!);
      assert.equal(await fresh.get("h1", "unknown"), null, "TrueConf does not know it");
    } finally {
      kv.close();
    }
  });
});

Deno.test("a commit whose timestamps lie further apart than the span is cut into rows, each found by id", async () => {
  await withKvFile(async (path) => {
    const t0 = 1_765_000_000_000;
    // A slow answer: its timestamp is seconds older than its commit's others.
    const times = new Map([
      ["late", t0 - 5 * MAX_SPAN_MS],
      ["a", t0],
      ["b", t0 + MAX_SPAN_MS],
      ["c", t0 + MAX_SPAN_MS + 1],
    ]);
    const kv = await Deno.openKv(path);
    try {
      const reg = new MessageRegistry(kv);
      for (const id of ["a", "b", "late", "c"]) {
        void reg.remember("h1", id, { chatId: "c1", kind: "text", ts: times.get(id)! });
      }
      await reg.flush();
      const packed = await rows(kv, "posted_b");
      assert.deepEqual(
        packed.map((r) => r.key[1]),
        [t0 - 5 * MAX_SPAN_MS, t0, t0 + MAX_SPAN_MS + 1],
        "a row spans at most MAX_SPAN_MS",
      );
      const fresh = restarted(kv, times);
      for (const id of times.keys()) assert.equal((await fresh.get("h1", id))?.ts, times.get(id));
      // A timestamp TrueConf answers for a message the registry never had finds nothing.
      times.set("other", t0 + 10);
      assert.equal(await fresh.get("h1", "other"), null);
    } finally {
      kv.close();
    }
  });
});

Deno.test("removing a post takes it out of its packed row, also two at once: the others stay, the last one takes the row", async () => {
  await withKvFile(async (path) => {
    const t0 = 1_765_000_000_000;
    const times = new Map(["a", "b", "c", "d"].map((id, i) => [id, t0 + i]));
    let kv = await Deno.openKv(path);
    const reg = new MessageRegistry(kv);
    for (const id of times.keys()) {
      void reg.remember("h1", id, {
        chatId: "c1",
        kind: "text",
        key: `k-${id}`,
        ts: times.get(id)!,
      });
    }
    await reg.flush();
    kv.close();

    // After a restart: found through TrueConf, then removed; two removals race on one row.
    kv = await Deno.openKv(path);
    try {
      const fresh = restarted(kv, times);
      for (const id of ["a", "b", "c"]) assert.ok(await fresh.get("h1", id));
      await Promise.all([fresh.forget("h1", "a"), fresh.forget("h1", "b")]);
      await fresh.forget("h1", "c");
      // TrueConf still answering its timestamp (the removal not seen yet) must not bring it back.
      const later = restarted(kv, times);
      for (const id of ["a", "b", "c"]) {
        assert.equal(await later.get("h1", id), null, `${id} is gone`);
        assert.equal(await later.byKey("h1", `k-${id}`), null, `its key is gone`);
      }
      assert.equal((await later.get("h1", "d"))?.key, "k-d", "its neighbour stays");
      assert.equal((await rows(kv, "posted_b")).length, 1);
      await later.forget("h1", "d");
      assert.deepEqual(await rows(kv, "posted_b"), [], "the emptied row is deleted");
    } finally {
      kv.close();
    }
  });
});

Deno.test("rows of sessions 4–5 (one per post, by timestamp) are still found by id and removed", async () => {
  await withKvFile(async (path) => {
    const kv = await Deno.openKv(path);
    try {
      const at = Date.now() - 86_400_000;
      await kv.set(["posted_t", 5_000, "old"], {
        hook: "h1",
        chatId: "c1",
        kind: "file",
        key: "build",
        at,
      });
      await kv.set(["posted_key", "h1", "build"], { messageId: "old", ts: 5_000 });
      const times = new Map([["old", 5_000]]);
      const fresh = restarted(kv, times);
      assert.deepEqual(await fresh.get("h1", "old"), {
        chatId: "c1",
        kind: "file",
        key: "build",
        at,
        ts: 5_000,
      });
      assert.equal(await restarted(kv, times).get("h2", "old"), null, "another hook's");
      assert.equal((await restarted(kv, new Map()).resolve("h1", "build"))?.messageId, "old");
      await fresh.forget("h1", "old");
      assert.equal((await kv.get(["posted_t", 5_000, "old"])).value, null);
      assert.equal((await kv.get(["posted_key", "h1", "build"])).value, null);
    } finally {
      kv.close();
    }
  });
});

Deno.test("a record KV refuses costs no other post of its commit; it alone is logged and given up", async () => {
  await withKvFile(async (path) => {
    const kv = await Deno.openKv(path);
    const lines: Record<string, unknown>[] = [];
    try {
      const reg = new MessageRegistry(kv, {
        logger: createLogger({ write: (l) => lines.push(JSON.parse(l)) }),
      });
      // KV refuses a key over 2 KiB: this post's key row can never commit.
      void reg.remember("h1", "bad", { chatId: "c1", kind: "text", key: "k".repeat(3000), ts: 1 });
      await reg.remember("h1", "good", { chatId: "c1", kind: "text", key: "fine", ts: 2 });
      await reg.flush();
      assert.deepEqual(lines.filter((l) => l.level === "error").map((l) => l.message), ["bad"]);
      assert.equal(lines.filter((l) => l.level === "warn").length, 1, "the refused commit");
      const fresh = restarted(kv, new Map([["bad", 1], ["good", 2]]));
      assert.equal((await fresh.get("h1", "good"))?.key, "fine");
      assert.equal(await fresh.get("h1", "bad"), null);
      assert.equal((await fresh.resolve("h1", "fine"))?.messageId, "good");
    } finally {
      kv.close();
    }
  });
});

Deno.test("a backup carries packed rows: restored, each post is found by id, and the row expires 30 days after its posts", async () => {
  await withKvFile(async (path) => {
    const now = Date.now();
    const t0 = 1_765_000_000_000;
    const times = new Map([["m1", t0], ["m2", t0 + 3], ["m3", t0 + 1]]);
    const source = await Deno.openKv(":memory:");
    const reg = new MessageRegistry(source, { now: () => now - 86_400_000 });
    for (const [id, ts] of times) {
      void reg.remember("h1", id, { chatId: "c1", kind: "text", key: `k-${id}`, ts });
    }
    await reg.flush();
    const lines = await Array.fromAsync(exportStore(source));
    source.close();
    const packedLine = lines.map((l) => JSON.parse(l)).find((l) => l.key?.[0] === "posted_b");
    assert.equal(
      restoreExpireIn(packedLine.key, packedLine.value, now),
      POSTED_TTL_MS - 86_400_000,
      "its posts were made a day ago",
    );

    const target = await Deno.openKv(path);
    try {
      assert.equal((await importStore(target, lines)).entries, 4, "one packed row, three keys");
      const fresh = restarted(target, times);
      for (const [id, ts] of times) assert.equal((await fresh.get("h1", id))?.ts, ts);
      assert.equal((await fresh.resolve("h1", "k-m2"))?.messageId, "m2");
      assert.equal(await fresh.get("h2", "m1"), null);
    } finally {
      target.close();
    }
  });
});

Deno.test("a burst of 1,000 keyed posts with long keys (more than one KV commit takes) is packed into rows of bounded size, every post found", async () => {
  await withKvFile(async (path) => {
    const t0 = 1_765_000_000_000;
    const kv = await Deno.openKv(path);
    const lines: Record<string, unknown>[] = [];
    try {
      const reg = new MessageRegistry(kv, {
        logger: createLogger({ write: (l) => lines.push(JSON.parse(l)) }),
      });
      const key = (i: number) => `${i}-`.padEnd(128, "é");
      for (let i = 0; i < 1_000; i++) {
        void reg.remember("h1", crypto.randomUUID(), {
          chatId: "c1",
          kind: "text",
          key: key(i),
          ts: t0 + (i % 50),
        });
      }
      await reg.flush();
      const packed = await rows(kv, "posted_b");
      // 1,000 posts of ~300 characters are more than one row may hold (KV values: 64 KiB), and
      // fewer than one row each (what committing them one by one, the fallback, would write).
      assert.ok(packed.length > 1 && packed.length < 100, `${packed.length} rows`);
      assert.ok(packed.every((r) => r.value.p.length <= 32_000));
      assert.deepEqual(lines, [], "no commit refused by KV's limits (then retried one by one)");
      assert.equal(packed.reduce((n, r) => n + JSON.parse(r.value.p)[2].length, 0), 1_000);
      const fresh = restarted(kv, new Map());
      for (const i of [0, 399, 400, 999]) {
        const found = await fresh.resolve("h1", key(i));
        assert.equal(found?.message?.key, key(i), `post ${i} by its key`);
      }
    } finally {
      kv.close();
    }
  });
});
