// The socket's requests awaiting their answers, by request id.
//
// Not a Map: every request adds an entry and its answer deletes it, and a Map with that churn
// rebuilds its hash table each time the deleted slots fill it; each rebuilt table outlives V8's
// scavenges (its Map does) and is promoted, to be collected by the next major collection
// (docs/benchmarks.md, "The old generation's collections"). Ids are handed out in sequence
// (Connection.request), so a request lives in the slot of its id's low bits; one whose slot an
// older request still holds (more than SLOTS in flight, or one of them slow) waits in a Map
// beside, which a healthy socket never touches.

const SLOTS = 1024; // a power of two
const MASK = SLOTS - 1;

/** What a table entry must carry: its own id, so a slot can tell whose it is. */
export interface HasId {
  readonly id: number;
}

/**
 * Requests in flight by id.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const table = new PendingRequests<{ id: number; method: string }>();
 * table.set({ id: 7, method: "sendMessage" });
 * table.set({ id: 7 + 1024, method: "auth" }); // the same slot: kept beside
 * assert.equal(table.get(7)?.method, "sendMessage");
 * assert.equal(table.get(1031)?.method, "auth");
 * assert.equal(table.size, 2);
 * table.delete(7);
 * assert.equal(table.get(7), undefined);
 * assert.deepEqual([...table.values()].map((r) => r.id), [1031]);
 * ```
 */
export class PendingRequests<T extends HasId> {
  readonly #slots: (T | undefined)[] = new Array(SLOTS).fill(undefined);
  readonly #beside = new Map<number, T>();
  #size = 0;

  /** Requests held. */
  get size(): number {
    return this.#size;
  }

  /** Adds `entry` under its id (ids are unique among the requests in flight). */
  set(entry: T): void {
    const i = entry.id & MASK;
    if (this.#slots[i] === undefined) this.#slots[i] = entry;
    else this.#beside.set(entry.id, entry);
    this.#size++;
  }

  /** The request with this id, if it is in flight. */
  get(id: number): T | undefined {
    const slot = this.#slots[id & MASK];
    if (slot !== undefined && slot.id === id) return slot;
    return this.#beside.size > 0 ? this.#beside.get(id) : undefined;
  }

  /** Removes the request with this id; true when it was there. */
  delete(id: number): boolean {
    const i = id & MASK;
    const slot = this.#slots[i];
    if (slot !== undefined && slot.id === id) this.#slots[i] = undefined;
    else if (!this.#beside.delete(id)) return false;
    this.#size--;
    return true;
  }

  /** Every request in flight (deleting the one just given is allowed). */
  *values(): Generator<T> {
    if (this.#size === 0) return;
    for (const slot of this.#slots) if (slot !== undefined) yield slot;
    yield* [...this.#beside.values()];
  }

  /** Forgets every request. */
  clear(): void {
    this.#slots.fill(undefined);
    this.#beside.clear();
    this.#size = 0;
  }
}
