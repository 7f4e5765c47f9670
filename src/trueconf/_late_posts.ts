// Posts that TrueConf answered late, or may still answer: what keeps a slow server from
// getting the same message twice.
//
// A `sendMessage` that gets no answer within the request timeout fails, and the delivery
// queue tries it again. When TrueConf was only slow (the socket alive, the request received
// and carried out after the timeout), sending it again posts the message twice: a chaos run
// with TrueConf answering 15 s late against a 10 s timeout left one duplicate per hook in
// flight. TrueConf has no client-side message id to deduplicate by, so the client does it:
// the timed-out post stays listening for its answer (`TrueConfTimeoutError.late`, kept by the
// socket it was sent on), and the next post with the very same request (method, chat,
// content, reply; for files: name, size, caption) takes that answer instead of posting again.
//
// Why a match by content is safe: each late post is taken at most once, and every post that
// does not take one is sent anew, so the chat shows a message as often as it was posted. Two
// hooks posting the same text to one chat while TrueConf is slow may swap ids, never counts.
// A late answer nobody takes within the claim window is dropped: a post of the same text much
// later is a new message, not the old one's retry.
import { TrueConfTimeoutError } from "./errors.ts";
import type { Timers } from "./_timers.ts";

interface Entry {
  readonly method: string;
  readonly late: Promise<unknown>;
  /** The late answer's payload once it came. */
  answer?: { payload: unknown; at: number };
  /** A post is waiting on this entry: nobody else may take it. */
  taken: boolean;
}

/** The identity of a post for {@link LatePosts}: its method and request payload. */
export function postKey(method: string, payload: unknown): string {
  return `${method}\n${JSON.stringify(payload)}`;
}

/** Timed-out posts whose answer may still come, by {@link postKey}. */
export class LatePosts {
  #byKey = new Map<string, Entry[]>();
  readonly #claimMs: number;
  readonly #now: () => number;
  readonly #timers: Timers;

  /** `claimMs`: how long an answer that came late may still be taken by a retry. */
  constructor(options: { claimMs: number; now: () => number; timers: Timers }) {
    this.#claimMs = options.claimMs;
    this.#now = options.now;
    this.#timers = options.timers;
  }

  /** Posts remembered (answered or not yet); 0 on a healthy server, so posts pay nothing. */
  get size(): number {
    return this.#byKey.size;
  }

  /** Remembers the post `key` whose request timed out with `late` to settle later. */
  add(key: string, method: string, late: Promise<unknown>): void {
    this.#sweep();
    const entry: Entry = { method, late, taken: false };
    const list = this.#byKey.get(key);
    if (list) list.push(entry);
    else this.#byKey.set(key, [entry]);
    late.then(
      (payload) => entry.answer = { payload, at: this.#now() },
      // Not carried out (socket lost, TrueConf refused it, or no late answer in time): the
      // retry posts it anew.
      () => this.#remove(key, entry),
    );
  }

  /**
   * The answer of an earlier identical post that timed out, taken for this one: `{payload}`
   * when TrueConf carried it out after all; null when there is none to take (post anew).
   * While the earlier one is still unanswered, waits up to `waitMs` for it, then throws
   * {@link TrueConfTimeoutError} (the entry stays for the next try).
   */
  async take(key: string, waitMs: number): Promise<{ payload: unknown } | null> {
    this.#sweep();
    const entry = this.#byKey.get(key)?.find((e) => !e.taken);
    if (!entry) return null;
    if (entry.answer) {
      this.#remove(key, entry);
      return { payload: entry.answer.payload };
    }
    entry.taken = true;
    let timer: ReturnType<Timers["timeout"]> | undefined;
    try {
      const payload = await Promise.race([
        entry.late,
        new Promise<never>((_, reject) => {
          timer = this.#timers.timeout(
            () =>
              reject(
                new TrueConfTimeoutError(
                  entry.method,
                  waitMs,
                  "an earlier try of this message is still unanswered",
                ),
              ),
            waitMs,
          );
        }),
      ]);
      this.#remove(key, entry);
      return { payload };
    } catch (e) {
      if (e instanceof TrueConfTimeoutError && this.#byKey.get(key)?.includes(entry)) {
        entry.taken = false;
        throw e;
      }
      return null; // the earlier one came to nothing (removed by add's handler): post anew
    } finally {
      this.#timers.clear(timer);
    }
  }

  #remove(key: string, entry: Entry): void {
    const list = this.#byKey.get(key);
    if (!list) return;
    const i = list.indexOf(entry);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.#byKey.delete(key);
  }

  /** Drops answers that came late and were not taken within the claim window. */
  #sweep(): void {
    const before = this.#now() - this.#claimMs;
    for (const [key, list] of this.#byKey) {
      for (const e of [...list]) {
        if (e.answer && !e.taken && e.answer.at < before) this.#remove(key, e);
      }
    }
  }
}
