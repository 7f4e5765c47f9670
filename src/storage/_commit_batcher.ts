/**
 * Groups small independent KV writes into shared atomic commits. KV commits are serialised
 * by one sqlite thread at ~4k/s, but one atomic of 100 sets costs about as much as one set
 * (deno-stack.md §4), so under load (10k queued requests, a backlog draining over many
 * hooks) batching is what keeps the durable queue off that ceiling. With no load a write
 * commits alone, at once.
 *
 * Each write still gets its own answer: when a shared commit fails a check, or KV refuses it
 * (a neighbour's key too long, a limit the estimates missed), the batch is retried one write at
 * a time so a write never fails because of a neighbour.
 *
 * @module
 */

import { commitWhenFree } from "./store_busy.ts";

/** One logical write: checks that must hold and the mutations to apply when they do. */
export interface BatchWrite {
  /** Checks that must all hold for this write. */
  readonly checks: readonly Deno.AtomicCheck[];
  /** What the write sets and deletes. */
  readonly mutations: readonly Deno.KvMutation[];
  /** Approximate bytes of keys + values, to stay under KV's 800 KiB per atomic. */
  readonly bytes: number;
}

interface Pending {
  readonly write: BatchWrite;
  readonly resolve: (ok: boolean) => void;
  readonly reject: (e: unknown) => void;
}

// KV limits per atomic: 100 checks, 1000 mutations, 819 200 bytes of mutations, 81 920 bytes
// of keys (checks' and mutations' together).
const MAX_CHECKS = 100;
const MAX_MUTATIONS = 1000;
const MAX_BYTES = 700 * 1024;
/** The bytes of keys one KV commit may carry (KV: 81 920), as {@link kvKeyBytes} counts them. */
export const KV_MAX_KEY_BYTES = 80_000;

/** Commits {@link BatchWrite}s, one atomic in flight at a time, batching what queued up meanwhile. */
export class CommitBatcher {
  readonly #kv: Deno.Kv;
  #queue: Pending[] = [];
  #running: Promise<void> | null = null;
  /** Atomic commits done, for tests and measurements. */
  commits = 0;

  /** A batcher over `kv`. */
  constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  /** Resolves true when committed, false when a check failed; rejects when KV failed. */
  submit(write: BatchWrite): Promise<boolean> {
    const { promise, resolve, reject } = Promise.withResolvers<boolean>();
    this.#queue.push({ write, resolve, reject });
    this.#kick();
    return promise;
  }

  #kick(): void {
    this.#running ??= this.#drain().finally(() => {
      this.#running = null;
      // A write submitted after the loop saw an empty queue but before this ran (e.g. a
      // retry from a rejection handler) would otherwise wait for the next submit.
      if (this.#queue.length > 0) this.#kick();
    });
  }

  /** Resolves once every submitted write has been answered. */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  async #drain(): Promise<void> {
    // Let writes submitted in the same tick join the first batch.
    await Promise.resolve();
    while (this.#queue.length > 0) {
      const batch = this.#take();
      let ok: boolean;
      try {
        ok = await this.#commit(batch.map((p) => p.write));
      } catch (e) {
        if (batch.length === 1) {
          batch[0]!.reject(e);
          continue;
        }
        ok = false;
      }
      if (ok) {
        for (const p of batch) p.resolve(true);
      } else if (batch.length === 1) {
        batch[0]!.resolve(false);
      } else {
        for (const p of batch) {
          try {
            p.resolve(await this.#commit([p.write]));
          } catch (e) {
            p.reject(e);
          }
        }
      }
    }
  }

  #take(): Pending[] {
    let checks = 0;
    let mutations = 0;
    let bytes = 0;
    let keyBytes = 0;
    let n = 0;
    for (const p of this.#queue) {
      const w = p.write;
      const k = writeKeyBytes(w);
      if (
        n > 0 &&
        (checks + w.checks.length > MAX_CHECKS ||
          mutations + w.mutations.length > MAX_MUTATIONS ||
          bytes + w.bytes > MAX_BYTES ||
          keyBytes + k > KV_MAX_KEY_BYTES)
      ) break;
      checks += w.checks.length;
      mutations += w.mutations.length;
      bytes += w.bytes;
      keyBytes += k;
      n++;
    }
    return this.#queue.splice(0, n);
  }

  async #commit(writes: readonly BatchWrite[]): Promise<boolean> {
    const op = this.#kv.atomic();
    for (const w of writes) {
      if (w.checks.length) op.check(...w.checks);
      if (w.mutations.length) op.mutate(...w.mutations);
    }
    this.commits++;
    return (await commitWhenFree(this.#kv, op)).ok;
  }
}

/** At most the bytes a write's keys take in KV's encoding (a string's UTF-8 is ≤ 3 per unit). */
function writeKeyBytes(w: BatchWrite): number {
  let n = 0;
  for (const c of w.checks) n += kvKeyBytes(c.key);
  for (const m of w.mutations) n += kvKeyBytes(m.key);
  return n;
}

/**
 * At most the bytes `key` takes in KV's encoding (a string's UTF-8 is at most 3 bytes per UTF-16
 * unit): what a commit's key limit counts.
 */
export function kvKeyBytes(key: Deno.KvKey): number {
  let n = 0;
  for (const part of key) {
    n += typeof part === "string"
      ? 2 + 3 * part.length
      : part instanceof Uint8Array
      ? 2 + 2 * part.byteLength
      : 10;
  }
  return n;
}
