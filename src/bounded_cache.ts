/**
 * Every in-memory cache of the bot: an LRU bounded by its number of entries, with an optional
 * time to live.
 *
 * Why not lru-cache (a design-card package, used here until session 5): its node build imports
 * `node:diagnostics_channel` and reads `process`, and either loads node's compatibility layer.
 * The hook store and the message registry build their caches while `serve` starts, so the
 * import sat on the start path: 28–56 ms and +9 MiB RSS in an otherwise empty process
 * (docs/benchmarks.md, "Session 5 (boot3)"). Its caches are used synchronously, so a lazy
 * `import()` would not do. What the bot needs of it is small: get, set, has, peek, delete, an
 * entry count and a time to live; a `Map` keeps insertion order, so "most recently used" is
 * "deleted and set again", and the oldest entry is the first key. Memory grows with the
 * entries, not with the bound (lru-cache given `max` allocated every slot up front: the rate
 * limiters' 100 000-key caches held 8.4 MiB from a bot's first request on, issue 16).
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
 * assert.equal(seen.has("b"), false);
 * assert.equal(seen.get("a"), 1);
 * ```
 *
 * @module
 */

/** Options of {@link boundedCache}. */
export interface BoundedCacheOptions {
  /** Milliseconds an entry lives after it was last set; 0 or absent: until evicted. */
  ttl?: number;
  /** The clock the time to live is read from, in ms (tests inject one); `performance.now`. */
  now?: () => number;
}

/** An LRU cache of at most `maxEntries` entries; see {@link boundedCache}. */
export class BoundedCache<K, V extends NonNullable<unknown>> {
  readonly #max: number;
  readonly #ttl: number;
  readonly #now: () => number;
  /** Oldest first: the first key is the least recently used. */
  readonly #entries = new Map<K, V>();
  /** When each entry expires (only with a time to live). */
  readonly #expires: Map<K, number> | undefined;
  /** The most recently used key: using it again needs no reordering (one client's burst). */
  #newest: K | undefined;

  constructor(maxEntries: number, options: BoundedCacheOptions = {}) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError(`a bounded cache needs at least 1 entry, not ${maxEntries}`);
    }
    this.#max = maxEntries;
    this.#ttl = options.ttl ?? 0;
    this.#now = options.now ?? (() => performance.now());
    this.#expires = this.#ttl > 0 ? new Map() : undefined;
  }

  /** Entries held, expired ones not yet dropped included. */
  get size(): number {
    return this.#entries.size;
  }

  /** The value, which becomes the most recently used; undefined when absent or expired. */
  get(key: K): V | undefined {
    const value = this.#entries.get(key);
    if (value === undefined) return undefined;
    if (this.#expired(key)) {
      this.delete(key);
      return undefined;
    }
    if (key !== this.#newest) {
      this.#entries.delete(key);
      this.#entries.set(key, value);
      this.#newest = key;
    }
    return value;
  }

  /** The value without making it the most recently used; undefined when absent or expired. */
  peek(key: K): V | undefined {
    return this.#expired(key) ? undefined : this.#entries.get(key);
  }

  /** Whether the key is held and not expired (does not make it the most recently used). */
  has(key: K): boolean {
    return this.#entries.has(key) && !this.#expired(key);
  }

  /**
   * Stores the value as the most recently used (its time to live starts again), evicting the
   * least recently used entry when the cache is full.
   */
  set(key: K, value: V): this {
    if (key !== this.#newest) {
      if (this.#entries.has(key)) this.#entries.delete(key);
      else if (this.#entries.size >= this.#max) this.delete(this.#entries.keys().next().value!);
      this.#newest = key;
    }
    this.#entries.set(key, value);
    this.#expires?.set(key, this.#now() + this.#ttl);
    return this;
  }

  /** Drops the entry; true when it was held. */
  delete(key: K): boolean {
    if (key === this.#newest) this.#newest = undefined;
    this.#expires?.delete(key);
    return this.#entries.delete(key);
  }

  #expired(key: K): boolean {
    if (this.#expires === undefined) return false;
    const at = this.#expires.get(key);
    return at !== undefined && this.#now() > at;
  }
}

/** An LRU cache of at most `maxEntries` entries, whose memory grows with its entries. */
export function boundedCache<K, V extends NonNullable<unknown>>(
  maxEntries: number,
  options: BoundedCacheOptions = {},
): BoundedCache<K, V> {
  return new BoundedCache<K, V>(maxEntries, options);
}
