/**
 * Every in-memory cache of the bot: bounded by its number of entries, with an optional time to
 * live, evicting the oldest entry not used since it was set ("second chance", a close
 * approximation of least recently used).
 *
 * Why not lru-cache (a design-card package, used here until session 5): its node build imports
 * `node:diagnostics_channel` and reads `process`, and either loads node's compatibility layer.
 * The hook store and the message registry build their caches while `serve` starts, so the
 * import sat on the start path: 28–56 ms and +9 MiB RSS in an otherwise empty process
 * (docs/benchmarks.md, "Session 5 (boot3)"). Its caches are used synchronously, so a lazy
 * `import()` would not do. What the bot needs of it is small: get, set, has, peek, delete, an
 * entry count and a time to live; a `Map` keeps insertion order, so the oldest entry is the
 * first key. Memory grows with the entries, not with the bound (lru-cache given `max`
 * allocated every slot up front: the rate limiters' 100 000-key caches held 8.4 MiB from a
 * bot's first request on, issue 16).
 *
 * Why not exact LRU: a hit moved its entry to the newest end (deleted and set again), so with
 * more than one sender (hooks, client addresses) every request rebuilt the token cache's and
 * the rate limiters' hash tables now and then, and the rebuilt tables outlived V8's scavenges
 * and were promoted (docs/benchmarks.md, "The old generation's collections"). A hit now only
 * marks its entry used: the tables change when keys come and go, not per request.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const seen = boundedCache<string, number>(2);
 * seen.set("a", 1);
 * seen.set("b", 2);
 * seen.get("a");
 * seen.set("c", 3); // "b" is the oldest one not used since it was set
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

/** A cache of at most `maxEntries` entries; see {@link boundedCache}. */
export class BoundedCache<K, V extends NonNullable<unknown>> {
  readonly #max: number;
  readonly #ttl: number;
  readonly #now: () => number;
  /** Oldest first (by when each was set, or last given its second chance). */
  readonly #entries = new Map<K, V>();
  /** Whether each entry was used since then: it is passed over once by the eviction. */
  readonly #used = new Map<K, boolean>();
  /** When each entry expires (only with a time to live). */
  readonly #expires: Map<K, number> | undefined;

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

  /** The value, marked used (kept over unused ones); undefined when absent or expired. */
  get(key: K): V | undefined {
    const value = this.#entries.get(key);
    if (value === undefined) return undefined;
    if (this.#expired(key)) {
      this.delete(key);
      return undefined;
    }
    if (this.#used.get(key) === false) this.#used.set(key, true);
    return value;
  }

  /** The value without marking it used; undefined when absent or expired. */
  peek(key: K): V | undefined {
    return this.#expired(key) ? undefined : this.#entries.get(key);
  }

  /** Whether the key is held and not expired (does not mark it used). */
  has(key: K): boolean {
    return this.#entries.has(key) && !this.#expired(key);
  }

  /**
   * Stores the value (its time to live starts again): a held key is marked used, a new one
   * evicts an entry when the cache is full.
   */
  set(key: K, value: V): this {
    if (this.#entries.has(key)) this.#used.set(key, true);
    else {
      if (this.#entries.size >= this.#max) this.#evict();
      this.#used.set(key, false);
    }
    this.#entries.set(key, value);
    this.#expires?.set(key, this.#now() + this.#ttl);
    return this;
  }

  /** Drops the entry; true when it was held. */
  delete(key: K): boolean {
    this.#expires?.delete(key);
    this.#used.delete(key);
    return this.#entries.delete(key);
  }

  /**
   * Drops the oldest entry not used since it was set: an older one that was used is moved to
   * the newest end, unmarked (its second chance). Every entry is moved at most once per pass.
   */
  #evict(): void {
    for (;;) {
      const oldest = this.#entries.keys().next().value!;
      if (!this.#used.get(oldest)) {
        this.delete(oldest);
        return;
      }
      const value = this.#entries.get(oldest)!;
      this.#entries.delete(oldest);
      this.#entries.set(oldest, value);
      this.#used.delete(oldest);
      this.#used.set(oldest, false);
    }
  }

  #expired(key: K): boolean {
    if (this.#expires === undefined) return false;
    const at = this.#expires.get(key);
    return at !== undefined && this.#now() > at;
  }
}

/** A cache of at most `maxEntries` entries, whose memory grows with its entries. */
export function boundedCache<K, V extends NonNullable<unknown>>(
  maxEntries: number,
  options: BoundedCacheOptions = {},
): BoundedCache<K, V> {
  return new BoundedCache<K, V>(maxEntries, options);
}
