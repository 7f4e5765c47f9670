/**
 * Every in-memory cache of the bot: an LRU bounded by its number of entries.
 *
 * lru-cache given `max` allocates all `max` slots when it is built (typed arrays and arrays of
 * that length): the two rate limiters' 100 000-key caches alone held 8.4 MiB of JS heap from a
 * bot's first request on, though a bot sees a few hundred addresses. That heap is live, and
 * V8 sets the old generation's next limit from the live heap, so under load the bot peaked
 * about 10 MiB higher (issue 16; docs/benchmarks.md). Bounded by `maxSize` with every entry of
 * size 1 instead, the same cache keeps the same count and the same eviction order but grows
 * its arrays as entries arrive.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const seen = boundedCache<string, number>(2);
 * seen.set("a", 1);
 * seen.set("b", 2);
 * seen.get("a");
 * seen.set("c", 3); // "b" was the least recently used
 * assert.deepEqual([...seen.keys()], ["c", "a"]);
 * ```
 *
 * @module
 */
import { LRUCache } from "lru-cache";

/** Options of {@link boundedCache}: lru-cache's own, except how it is bounded. */
export type BoundedCacheOptions<K extends NonNullable<unknown>, V extends NonNullable<unknown>> =
  Omit<
    LRUCache.Options<K, V, unknown>,
    "max" | "maxSize" | "maxEntrySize" | "sizeCalculation"
  >;

const ONE = (): number => 1;

/** An LRU cache of at most `maxEntries` entries, whose memory grows with its entries. */
export function boundedCache<K extends NonNullable<unknown>, V extends NonNullable<unknown>>(
  maxEntries: number,
  options: BoundedCacheOptions<K, V> = {},
): LRUCache<K, V> {
  return new LRUCache<K, V>({ ...options, maxSize: maxEntries, sizeCalculation: ONE });
}
