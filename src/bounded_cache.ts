/**
 * Every in-memory cache of the bot: an LRU bounded by its number of entries.
 *
 * lru-cache given `max` allocates all `max` slots when it is built (typed arrays and arrays of
 * that length): the two rate limiters' 100 000-key caches alone took 9.5 MiB of RSS on a bot's
 * first request, which an upload then counted above idle (issue 16). Bounded by `maxSize`
 * with every entry of size 1 instead, the same cache keeps the same count and the same eviction
 * order but grows its arrays as entries arrive.
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
export type BoundedCacheOptions<K extends {}, V extends {}> = Omit<
  LRUCache.Options<K, V, unknown>,
  "max" | "maxSize" | "maxEntrySize" | "sizeCalculation"
>;

const ONE = (): number => 1;

/** An LRU cache of at most `maxEntries` entries, whose memory grows with its entries. */
export function boundedCache<K extends {}, V extends {}>(
  maxEntries: number,
  options: BoundedCacheOptions<K, V> = {},
): LRUCache<K, V> {
  return new LRUCache<K, V>({ ...options, maxSize: maxEntries, sizeCalculation: ONE });
}
