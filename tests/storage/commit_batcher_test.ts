// CommitBatcher over a real KV: writes of one moment share a commit, and a write submitted
// while a batch is finishing (e.g. a retry from a rejection handler) is still committed.
import assert from "node:assert/strict";
import { CommitBatcher } from "../../src/storage/mod.ts";

const set = (key: Deno.KvKey, value: unknown) => ({
  checks: [],
  mutations: [{ type: "set" as const, key, value }],
  bytes: 64,
});

Deno.test("writes submitted together share one commit, each answered", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const b = new CommitBatcher(kv);
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => b.submit(set(["k", i], i))),
    );
    assert.ok(answers.every((ok) => ok));
    assert.equal(b.commits, 1);
    assert.equal((await kv.get(["k", 39])).value, 39);
  } finally {
    kv.close();
  }
});

Deno.test("a write submitted from the rejection of the previous batch is committed", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const b = new CommitBatcher(kv);
    // KV refuses keys over 2 KiB: this batch fails, and its handler submits the next write.
    const retried = b.submit(set(["k", "x".repeat(3000)], 1)).then(
      () => false,
      () => b.submit(set(["k", "after"], 2)),
    );
    assert.equal(await retried, true);
    assert.equal((await kv.get(["k", "after"])).value, 2);
  } finally {
    kv.close();
  }
});
