// The registry's recent posts and lookups in memory (see registry.ts, RECENT_MAX): a ring of
// the last few, searched newest first.
//
// Not an LRU over a Map: every post would add one entry and evict another, and the Map's
// eviction walked the holes its deletions left at the front (`keys().next()`, 0.8 % of the main
// thread at c64) while its rebuilt hash tables outlived the scavenges and were promoted
// (docs/benchmarks.md, "The old generation's collections"). Posts are many and lookups by id
// few (an edit, a removal, a reply by id): a post is one store into the ring, a lookup compares
// at most `size` ids.

/** What the ring holds: a message id and whose it is. */
export interface RecentPost {
  readonly hookId: string;
  readonly messageId: string;
}

/**
 * The last `size` posts added (a message added again is found as its newest write).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const recent = new RecentPosts<{ hookId: string; messageId: string; text: string }>(2);
 * recent.add({ hookId: "h1", messageId: "m1", text: "deploy started" });
 * recent.add({ hookId: "h1", messageId: "m1", text: "deploy finished" });
 * assert.equal(recent.find("m1")?.text, "deploy finished");
 * recent.add({ hookId: "h1", messageId: "m2", text: "other" });
 * recent.add({ hookId: "h1", messageId: "m3", text: "and another" });
 * assert.equal(recent.find("m1"), undefined); // two newer ones took the ring
 * recent.forget("h1", "m3");
 * assert.equal(recent.find("m3"), undefined);
 * ```
 */
export class RecentPosts<T extends RecentPost> {
  readonly #ring: (T | undefined)[];
  #next = 0;

  constructor(size: number) {
    this.#ring = new Array(size).fill(undefined);
  }

  /** Remembers `post` as the newest, dropping the oldest when the ring is full. */
  add(post: T): void {
    this.#ring[this.#next] = post;
    this.#next = this.#next + 1 === this.#ring.length ? 0 : this.#next + 1;
  }

  /** The newest post of this message id, if it is still in the ring. */
  find(messageId: string): T | undefined {
    const ring = this.#ring;
    for (let k = 1; k <= ring.length; k++) {
      const i = this.#next - k;
      const post = ring[i < 0 ? i + ring.length : i];
      if (post !== undefined && post.messageId === messageId) return post;
    }
    return undefined;
  }

  /** Forgets every post of this message id that is this hook's (a removed message). */
  forget(hookId: string, messageId: string): void {
    const ring = this.#ring;
    for (let i = 0; i < ring.length; i++) {
      const post = ring[i];
      if (post !== undefined && post.messageId === messageId && post.hookId === hookId) {
        ring[i] = undefined;
      }
    }
  }
}
