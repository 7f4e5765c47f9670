// A timer registry: every timer of a client goes through one, so close() can clear what
// is left and the soak bench can prove none leak.
/** What setTimeout returns here (Node typings are in scope through the node: imports). */
export type TimerId = ReturnType<typeof setTimeout>;

export class Timers {
  #live = new Set<TimerId>();

  /** Active timers and intervals. */
  get size(): number {
    return this.#live.size;
  }

  timeout(fn: () => void, ms: number): TimerId {
    const id = setTimeout(() => {
      this.#live.delete(id);
      fn();
    }, Math.max(0, ms));
    this.#live.add(id);
    return id;
  }

  interval(fn: () => void, ms: number): TimerId {
    const id = setInterval(fn, Math.max(1, ms));
    this.#live.add(id);
    return id;
  }

  /** Clears a timeout or interval; `undefined`/`null` is ignored. */
  clear(id: TimerId | null | undefined): void {
    if (id == null) return;
    clearTimeout(id);
    this.#live.delete(id);
  }

  clearAll(): void {
    for (const id of this.#live) clearTimeout(id);
    this.#live.clear();
  }
}
