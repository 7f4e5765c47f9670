import assert from "node:assert/strict";
import { BoundedCache, boundedCache } from "../src/bounded_cache.ts";

Deno.test("a bounded cache keeps at most its count of entries, evicting the least recently used", () => {
  const cache = boundedCache<string, number>(3);
  for (let i = 0; i < 5; i++) cache.set(`k${i}`, i);
  assert.equal(cache.size, 3);
  assert.deepEqual(["k0", "k1", "k2", "k3", "k4"].filter((k) => cache.has(k)), ["k2", "k3", "k4"]);
  cache.get("k2"); // k3 is now the least recently used
  cache.set("k5", 5);
  assert.equal(cache.has("k3"), false);
  assert.deepEqual([cache.get("k2"), cache.get("k4"), cache.get("k5")], [2, 4, 5]);
});

Deno.test("has and peek do not make an entry recently used; setting an existing key does", () => {
  const cache = boundedCache<string, number>(2);
  cache.set("a", 1).set("b", 2);
  assert.equal(cache.has("a"), true);
  assert.equal(cache.peek("a"), 1);
  cache.set("c", 3); // "a" was still the least recently used
  assert.equal(cache.has("a"), false);
  cache.set("b", 20); // "b" again: now "c" is the oldest
  cache.set("d", 4);
  assert.deepEqual([cache.peek("b"), cache.peek("c"), cache.peek("d")], [20, undefined, 4]);
});

Deno.test("an entry used since it was set gets a second chance: the oldest unused one goes first; deleted, it is gone", () => {
  const cache = boundedCache<string, number>(2);
  cache.set("a", 1).set("b", 2);
  cache.get("b");
  cache.set("b", 3);
  cache.set("c", 4); // "a" was never used: it goes, not "b"
  assert.deepEqual([cache.peek("a"), cache.peek("b"), cache.peek("c")], [undefined, 3, 4]);
  cache.set("d", 5); // "b" (used) is passed over once; "c" (unused) goes
  assert.deepEqual([cache.peek("b"), cache.peek("c"), cache.peek("d")], [3, undefined, 5]);
  cache.set("e", 6); // "b" had its chance and was not used since: now it goes
  assert.deepEqual([cache.peek("b"), cache.peek("d"), cache.peek("e")], [undefined, 5, 6]);
  assert.equal(cache.delete("e"), true);
  assert.equal(cache.delete("e"), false);
  assert.equal(cache.get("e"), undefined);
  cache.set("e", 7); // re-added after a delete: a real entry again
  assert.deepEqual([cache.get("d"), cache.get("e"), cache.size], [5, 7, 2]);
});

Deno.test("a flood of new keys never evicts a hot one: every hit keeps it over the keys that came once", () => {
  const cache = boundedCache<string, number>(100);
  cache.set("hot", 1);
  for (let i = 0; i < 10_000; i++) {
    assert.equal(cache.get("hot"), 1, `lost after ${i} new keys`);
    cache.set(`once-${i}`, i);
  }
  assert.equal(cache.size, 100);
});

Deno.test("a cache of one entry keeps the last one set", () => {
  const cache = boundedCache<string, number>(1);
  cache.set("a", 1).set("b", 2);
  assert.equal(cache.size, 1);
  assert.deepEqual([cache.get("a"), cache.get("b")], [undefined, 2]);
  assert.throws(() => boundedCache(0), RangeError);
});

Deno.test("a bounded cache expires entries by ttl, counted from the last set", () => {
  let now = 1_000;
  const cache = boundedCache<string, true>(10, { ttl: 500, now: () => now });
  cache.set("id", true);
  now += 500; // exactly the ttl: still alive
  assert.equal(cache.has("id"), true);
  cache.set("id", true); // set again: lives 500 ms from now
  now += 499;
  assert.equal(cache.get("id"), true);
  now += 2;
  assert.equal(cache.has("id"), false);
  assert.equal(cache.peek("id"), undefined);
  assert.equal(cache.get("id"), undefined);
  assert.equal(cache.size, 0, "an expired entry read with get is dropped");
});

Deno.test("a 100 000-entry cache costs memory per entry, not per slot (the rate limiters' first request)", () => {
  const before = Deno.memoryUsage().heapUsed;
  const caches = [new BoundedCache<string, object>(100_000), boundedCache<string, object>(100_000)];
  for (const c of caches) c.set("127.0.0.1", { tokens: 1 });
  // lru-cache given `max: 100_000` allocated ~4 MiB of slots per cache here.
  assert.ok(Deno.memoryUsage().heapUsed - before < 1024 * 1024);
});
