// The job engine's work in flight: the attempts, stores and notices that close() and settled()
// wait for, and the shutdown cut of the inline runs among them.
//
// A doubly linked list rather than a Set: every delivery adds one entry and deletes it again,
// and a Set with that churn rebuilds its hash table each time its deleted slots fill it. Each
// rebuilt table outlives V8's scavenges (its Set does) and is promoted, to be collected by the
// next major collection: the engine's two sets were about 0.14 KiB of the 1.57 KiB per delivery
// promoted at c64 (docs/benchmarks.md, "The old generation's collections"). An entry here lives
// as long as its work, like the rest of the delivery's objects.

/** One piece of work in flight; see {@link InFlight.add}. */
export interface InFlightEntry {
  readonly promise: Promise<unknown>;
  /** Settles an inline run as cut by the shutdown (at most once); undefined when not one. */
  cut: ((why: "cut") => void) | undefined;
  prev: InFlightEntry | null;
  next: InFlightEntry | null;
  linked: boolean;
}

/**
 * Work in flight, in the order it started.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const work = new InFlight();
 * let cutWith = "";
 * const run = work.add(new Promise(() => {}), (why) => cutWith = why);
 * const store = work.add(Promise.resolve());
 * assert.equal(work.size, 2);
 * work.cutAll();
 * assert.equal(cutWith, "cut");
 * work.delete(store);
 * work.delete(store); // twice is once
 * assert.deepEqual(work.promises(), [run.promise]);
 * ```
 */
export class InFlight {
  #head: InFlightEntry | null = null;
  #tail: InFlightEntry | null = null;
  #size = 0;

  /** Entries not deleted yet. */
  get size(): number {
    return this.#size;
  }

  /** Adds `promise` (an inline run's with its `cut`); delete the entry when it settles. */
  add(promise: Promise<unknown>, cut?: (why: "cut") => void): InFlightEntry {
    const entry: InFlightEntry = { promise, cut, prev: this.#tail, next: null, linked: true };
    if (this.#tail) this.#tail.next = entry;
    else this.#head = entry;
    this.#tail = entry;
    this.#size++;
    return entry;
  }

  /** Removes `entry`; again for one removed already does nothing. */
  delete(entry: InFlightEntry): void {
    if (!entry.linked) return;
    entry.linked = false;
    if (entry.prev) entry.prev.next = entry.next;
    else this.#head = entry.next;
    if (entry.next) entry.next.prev = entry.prev;
    else this.#tail = entry.prev;
    entry.prev = entry.next = null;
    entry.cut = undefined;
    this.#size--;
  }

  /** The promises of the entries, for `Promise.allSettled`. */
  promises(): Promise<unknown>[] {
    const out: Promise<unknown>[] = [];
    for (let e = this.#head; e; e = e.next) out.push(e.promise);
    return out;
  }

  /** Cuts every inline run in flight (the shutdown's cut), each once. */
  cutAll(): void {
    for (let e = this.#head; e; e = e.next) {
      const cut = e.cut;
      e.cut = undefined;
      cut?.("cut");
    }
  }
}
