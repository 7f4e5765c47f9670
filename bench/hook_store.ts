/**
 * Hook store throughput on a KV file: create, findByToken uncached vs cached, unknown
 * tokens, and usage flushing. Run: `./deno run -A bench/hook_store.ts [hooks]`.
 *
 * Results (Deno 2.9.6, 2 cores, temp-file KV, 5 000 hooks, two runs):
 * - create, sequential: ~2.4–2.6k/s (~400 µs: one atomic of 3 checks + 4 sets);
 *   1 000 concurrent: ~3.1–3.7k/s (KV serialises writes on one sqlite thread).
 * - findByToken, uncached (one KV get): ~9.1–10.6k/s (~100 µs).
 * - findByToken, cached: ~0.68–0.70 M/s (~1.5 µs). With the hash computed through
 *   crypto.subtle.digest it was ~57k/s (~17.5 µs): the async op dominated, hence node:crypto.
 * - unknown token: uncached ~11k/s, cached ~0.6 M/s.
 * - recordDelivery: ~10 M/s (memory only). Flushing 5 000 hooks: ~370–460 ms in 51
 *   commits (100 hooks per atomic; ~75–95 µs per hook, mostly the reads that guard
 *   against resurrecting revoked hooks). Flushing 10 hooks: ~3 ms, 1 commit.
 * - listAll of 6 000: ~40–50 ms; listByChat of 50: ~1.3–1.7 ms.
 */

import { HookStore } from "../src/hooks/mod.ts";
import { openKv } from "../src/storage/mod.ts";

const N = Number(Deno.args[0] ?? 5_000);
const dir = await Deno.makeTempDir();
const kv = await openKv(`${dir}/bench.kv`);

function rate(label: string, count: number, ms: number) {
  const perSec = Math.round((count / ms) * 1000);
  console.log(
    `${label.padEnd(44)} ${String(count).padStart(7)} in ${ms.toFixed(0).padStart(6)} ms  ${
      String(perSec).padStart(8)
    }/s  ${(ms * 1000 / count).toFixed(1)} µs/op`,
  );
}

try {
  const store = new HookStore(kv, { cacheMax: N * 2 });
  const tokens: string[] = [];
  const ids: string[] = [];
  let t = performance.now();
  for (let i = 0; i < N; i++) {
    const r = await store.create({
      chatId: `chat${i % 1000}`, // at most MAX_HOOKS_PER_CHAT (100) in one chat
      name: `hook ${i}`,
      createdBy: "bench",
    });
    if (!r.ok) throw new Error(r.message);
    tokens.push(r.token);
    ids.push(r.hook.id);
  }
  rate("create (sequential)", N, performance.now() - t);

  t = performance.now();
  const rs = await Promise.all(
    Array.from(
      { length: 1000 },
      (_, i) => store.create({ chatId: `c${i % 100}`, name: `p${i}`, createdBy: "b" }),
    ),
  );
  rate("create (1000 concurrent)", rs.length, performance.now() - t);

  // A fresh store has an empty cache: every lookup is a KV read.
  const cold = new HookStore(kv, { cacheMax: N * 2 });
  t = performance.now();
  for (const tok of tokens) if (!(await cold.findByToken(tok))) throw new Error("miss");
  rate("findByToken uncached (1 KV read each)", N, performance.now() - t);

  t = performance.now();
  for (let round = 0; round < 10; round++) {
    for (const tok of tokens) if (!(await cold.findByToken(tok))) throw new Error("miss");
  }
  rate("findByToken cached", N * 10, performance.now() - t);

  const ghosts = Array.from({ length: N }, (_, i) => `${i}`.padStart(43, "Z"));
  t = performance.now();
  for (const g of ghosts) await cold.findByToken(g);
  rate("findByToken unknown, uncached", N, performance.now() - t);
  t = performance.now();
  for (const g of ghosts) await cold.findByToken(g);
  rate("findByToken unknown, cached", N, performance.now() - t);

  t = performance.now();
  for (let i = 0; i < 100_000; i++) store.recordDelivery(ids[i % 10]!);
  rate("recordDelivery (10 hooks, in memory)", 100_000, performance.now() - t);
  t = performance.now();
  await store.flush();
  console.log(
    `flush of 10 hooks: ${
      (performance.now() - t).toFixed(1)
    } ms, commits ${store.stats().usageCommits}`,
  );

  for (const id of ids) store.recordDelivery(id);
  t = performance.now();
  await store.flush();
  const ms = performance.now() - t;
  console.log(
    `flush of ${N} hooks: ${ms.toFixed(0)} ms (${
      (ms * 1000 / N).toFixed(0)
    } µs/hook), commits ${store.stats().usageCommits}`,
  );

  t = performance.now();
  const all = await store.listAll();
  rate("listAll", all.length, performance.now() - t);
  t = performance.now();
  for (let i = 0; i < 100; i++) await store.listByChat(`chat${i}`);
  console.log(`listByChat of ${N / 100} hooks: ${((performance.now() - t) / 100).toFixed(2)} ms`);

  await cold.close();
  await store.close();
} finally {
  kv.close();
  await Deno.remove(dir, { recursive: true });
}
