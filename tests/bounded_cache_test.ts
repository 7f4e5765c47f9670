import assert from "node:assert/strict";
import { boundedCache } from "../src/bounded_cache.ts";

Deno.test("a bounded cache keeps at most its count of entries, evicting the least recently used", () => {
  const cache = boundedCache<string, number>(3);
  for (let i = 0; i < 5; i++) cache.set(`k${i}`, i);
  assert.equal(cache.size, 3);
  cache.get("k2");
  cache.set("k5", 5);
  assert.deepEqual([...cache.keys()], ["k5", "k2", "k4"]);
});

Deno.test("a bounded cache still expires entries by ttl", () => {
  let now = 1_000;
  const cache = boundedCache<string, true>(10, {
    ttl: 500,
    ttlResolution: 0, // read the injected clock on every look, not once a millisecond
    perf: { now: () => now },
  });
  cache.set("id", true);
  now += 499;
  assert.equal(cache.has("id"), true);
  now += 2;
  assert.equal(cache.has("id"), false);
});

Deno.test("a 100 000-entry cache costs memory per entry, not per slot (the rate limiters' first request)", () => {
  const before = Deno.memoryUsage().heapUsed;
  const caches = [boundedCache<string, object>(100_000), boundedCache<string, object>(100_000)];
  for (const c of caches) c.set("127.0.0.1", { tokens: 1 });
  // lru-cache given `max: 100_000` allocated ~4 MiB of slots per cache here.
  assert.ok(Deno.memoryUsage().heapUsed - before < 1024 * 1024);
});
