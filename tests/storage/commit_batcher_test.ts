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

Deno.test("writes whose keys add up past KV's 80 KiB per commit are split into commits KV takes", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const b = new CommitBatcher(kv);
    // An Idempotency-Key may be 255 characters: 400 such keys are ~110 KB, more than KV takes
    // in one commit ("Total key size too large").
    const key = (i: number) => ["idem", "hook-1", `${i}-`.padEnd(255, "k")];
    const answers = await Promise.all(
      Array.from({ length: 400 }, (_, i) => b.submit(set(key(i), i))),
    );
    assert.ok(answers.every((ok) => ok));
    // Split before KV refuses (the key estimate is an upper bound), not retried one by one after.
    assert.ok(b.commits > 1 && b.commits <= 5, `${b.commits} commits`);
    assert.equal((await kv.get(key(399))).value, 399);
  } finally {
    kv.close();
  }
});

Deno.test("a write KV refuses fails alone: its neighbours in the batch are committed", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const b = new CommitBatcher(kv);
    const [before, bad, after] = await Promise.allSettled([
      b.submit(set(["k", "before"], 1)),
      b.submit(set(["k", "x".repeat(3000)], 2)), // KV refuses keys over 2 KiB
      b.submit(set(["k", "after"], 3)),
    ]);
    assert.deepEqual(before, { status: "fulfilled", value: true });
    assert.equal(bad.status, "rejected");
    assert.deepEqual(after, { status: "fulfilled", value: true });
    assert.equal((await kv.get(["k", "after"])).value, 3);
  } finally {
    kv.close();
  }
});
