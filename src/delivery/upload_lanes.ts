/**
 * How many files are posted to TrueConf at once (issue 16: "text p99 unaffected while images
 * run").
 *
 * A small file (a chart, a screenshot, a phone photo) costs the bot's one event loop about a
 * millisecond of work in all (its upload's writes and answer, three TrueConf exchanges) and
 * costs TrueConf its own. Eight of them at once each have a step ready on the loop, and every
 * text request waits its turn among them. So small files take turns: at most
 * {@link UploadLaneOptions.smallAtOnce} (3) are being posted at once, the others wait in the
 * order they came. Measured beside 8 loops of 100 KiB photos (docs/benchmarks.md, "Text beside
 * photos (session 11, lanes)").
 *
 * Two things never hold a small file, or a slow link would stall every photo behind one:
 * - **a large file** (over {@link UploadLaneOptions.smallMaxBytes}, 1 MiB with its preview) goes
 *   at once, in a lane of its own without a limit: its time is the link's, not the loop's;
 * - **a slow small one** gives its place up after {@link UploadLaneOptions.holdMs} (0.5 s) and
 *   goes on without it: a post that takes that long is waiting on the link or on TrueConf,
 *   not on this process. A TrueConf that is slow for every upload therefore costs a file at
 *   most half a second per three files ahead of it, and the limit dissolves into posting
 *   everything at once.
 *
 * Nothing is dropped or reordered: a waiting file goes when a place is handed to it, in
 * arrival order; a hook's own files already go one after another (the queue runs one
 * attempt per hook, a message's parts in order). At shutdown's cut a file still waiting is
 * not begun: its delivery stops there, its remainder is stored, and it goes after the restart
 * (begun after the cut, it would be posted a second time then).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { systemClock } from "./clock.ts";
 * const lanes = new UploadLanes({ clock: systemClock });
 * const id = await lanes.post(100 * 1024, () => Promise.resolve("msg-1"));
 * assert.equal(id, "msg-1");
 * ```
 *
 * @module
 */
import type { Clock } from "./clock.ts";

/** Options of {@link UploadLanes}. */
export interface UploadLaneOptions {
  /** Timers for {@link holdMs}. */
  clock: Clock;
  /** A file (its bytes plus its preview's) up to this size is small. Default 1 MiB. */
  smallMaxBytes?: number | undefined;
  /** Small files being posted at once. Default 3. */
  smallAtOnce?: number | undefined;
  /** A small file's post gives its place up after this long. Default 500 ms. */
  holdMs?: number | undefined;
}

/** Turns for posting files to TrueConf: small ones three at a time, large ones at once. */
export class UploadLanes {
  readonly #clock: Clock;
  readonly #smallMax: number;
  readonly #atOnce: number;
  readonly #holdMs: number;
  /** Small posts holding a place now. */
  #holding = 0;
  /** Small posts waiting for a place, oldest first: each is handed one by {@link #giveUp}. */
  readonly #waiting: (() => void)[] = [];

  /** Lanes with the defaults of {@link UploadLaneOptions} unless given. */
  constructor(options: UploadLaneOptions) {
    this.#clock = options.clock;
    this.#smallMax = options.smallMaxBytes ?? 1024 * 1024;
    this.#atOnce = Math.max(1, options.smallAtOnce ?? 3);
    this.#holdMs = options.holdMs ?? 500;
  }

  /** Small posts waiting for their turn now (for tests and metrics). */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Small posts holding a place now (for tests and metrics). */
  get posting(): number {
    return this.#holding;
  }

  /**
   * Runs `send` (the post of a file of `bytes`, preview included) in its lane: a small file
   * when a place is free, a large one at once. Its result or error, unchanged. `cut` (the
   * shutdown's cut) ends a wait with {@link TurnCutError}: a file that has not begun is not
   * begun after the cut, when its delivery's remainder is already stored for the next start.
   */
  async post<T>(bytes: number, send: () => Promise<T>, cut?: AbortSignal): Promise<T> {
    if (bytes > this.#smallMax) return await send();
    if (cut?.aborted) throw new TurnCutError();
    if (this.#holding < this.#atOnce) this.#holding++;
    else await this.#turn(cut);
    let held = true;
    const giveUp = () => {
      if (!held) return;
      held = false;
      timer.cancel();
      this.#giveUp();
    };
    const timer = this.#clock.after(this.#holdMs, giveUp);
    try {
      return await send();
    } finally {
      giveUp();
    }
  }

  /** Resolves when a place is handed over; rejects when `cut` comes first. */
  async #turn(cut: AbortSignal | undefined): Promise<void> {
    let onCut = () => {};
    try {
      await new Promise<void>((resolve, reject) => {
        this.#waiting.push(resolve);
        onCut = () => {
          const at = this.#waiting.indexOf(resolve);
          if (at >= 0) this.#waiting.splice(at, 1);
          reject(new TurnCutError());
        };
        cut?.addEventListener("abort", onCut, { once: true });
      });
    } finally {
      cut?.removeEventListener("abort", onCut);
    }
    // Handed a place as the cut came: it goes to the next one, and this file stays unsent.
    if (cut?.aborted) {
      this.#giveUp();
      throw new TurnCutError();
    }
  }

  /** A place is free: handed to the oldest waiting post, if any (so no later one overtakes it). */
  #giveUp(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#holding--;
  }
}

/** A file still waiting for its turn when the bot began to shut down: posted after the restart. */
export class TurnCutError extends Error {
  override name = "TurnCutError";
  constructor() {
    super("the bot is shutting down; the file is posted after the restart");
  }
}
