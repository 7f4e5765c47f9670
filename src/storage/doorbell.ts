/**
 * The store's doorbell: how a serving bot learns at once that the operator CLI, another
 * process, changed the store (a hook revoked or paused, a queue retry waiting for an answer).
 *
 * Deno KV's `watch` does not see other processes' writes to a local file (denoland/deno#21640),
 * so the bot used to poll for them twice a second. An idle bot then woke about five times a
 * second, which after a few minutes made V8 optimise node's timer code and map its optimising
 * compiler: idle RSS went from 57 to 61–63 MiB (issue 16, docs/benchmarks.md). Instead, the CLI
 * writes `<store>.doorbell` after such a change and the bot watches that one file (inotify,
 * through `Deno.watchFs`), with a slow safety poll for an event that never comes (a file
 * system without notifications, a doorbell the CLI could not write).
 *
 * @module
 */

import { errorText } from "../error_text.ts";
import { isStoreFile } from "./_path.ts";

/** The doorbell file of a store at `storePath`. */
export function doorbellPath(storePath: string): string {
  return `${storePath}.doorbell`;
}

const storePaths = new WeakMap<Deno.Kv, string>();

/** Remembers the file `kv` was opened on, so {@link ringDoorbell} finds its doorbell. */
export function rememberStorePath(kv: Deno.Kv, storePath: string): void {
  storePaths.set(kv, storePath);
}

/**
 * Tells a bot serving the store of `kv` to look for changes now. For a CLI, after its change
 * is committed and before it waits for the bot to act on it. Never throws: a doorbell that
 * cannot be written (permissions) only delays the change to the bot's next safety poll.
 */
export async function ringDoorbell(kv: Deno.Kv): Promise<void> {
  const path = storePaths.get(kv);
  if (path === undefined) return; // `:memory:` or a URL: no other process shares it
  try {
    // Written in place (never replaced), so the bot's watch on the file stays on this inode.
    await Deno.writeTextFile(doorbellPath(path), `${Date.now()}\n`);
  } catch { /* the safety poll picks the change up */ }
}

/** Options of {@link watchDoorbell}. */
export interface DoorbellOptions {
  /** The safety poll while the file is watched. Default 5 000 ms. */
  safetyPollMs?: number | undefined;
  /** The poll when the file cannot be watched (`:memory:`, no notifications). Default 500 ms. */
  fallbackPollMs?: number | undefined;
  /** Told when the watch cannot start or ends, and the bot falls back to polling. */
  onFallback?: ((why: string) => void) | undefined;
}

/** A running doorbell watch. */
export interface Doorbell {
  /** Runs the listener now (coalesced with a run in progress); resolves when it has run. */
  ring(): Promise<void>;
  /** Ends the watch and the polls; waits for a listener run in progress. */
  close(): Promise<void>;
}

/**
 * Runs `onRing` once now and then whenever the doorbell of the store at `storePath` rings
 * (or a poll comes due). Runs never overlap: a ring during a run runs the listener once more
 * after it. `onRing`'s errors are the listener's to report; they do not end the watch.
 */
export function watchDoorbell(
  storePath: string,
  onRing: () => Promise<void>,
  options: DoorbellOptions = {},
): Doorbell {
  let closed = false;
  let running: Promise<void> | undefined;
  let again = false;
  let timer: ReturnType<typeof setInterval> | undefined;
  let watcher: Deno.FsWatcher | undefined;

  const run = async (): Promise<void> => {
    do {
      again = false;
      try {
        await onRing();
      } catch { /* reported by the listener */ }
    } while (again && !closed);
  };
  const ring = (): Promise<void> => {
    if (closed) return Promise.resolve();
    if (running) {
      again = true;
      return running;
    }
    running = run().finally(() => running = undefined);
    return running;
  };
  const poll = (ms: number) => {
    clearInterval(timer);
    timer = setInterval(() => void ring(), ms);
    Deno.unrefTimer(timer);
  };
  const fallBack = (why: string) => {
    if (closed) return;
    options.onFallback?.(why);
    poll(options.fallbackPollMs ?? 500);
  };

  const bell = doorbellPath(storePath);
  const closeWatcher = () => {
    try {
      watcher?.close();
    } catch { /* already closed */ }
    watcher = undefined;
  };
  // Watches the file; a doorbell removed or replaced (an operator tidying the folder) is made
  // again and watched anew, once per removal; any other failure falls back to polling.
  const watch = () => {
    try {
      // The file must exist to be watched; an existing one (the CLI's) is left as it is.
      Deno.openSync(bell, { write: true, create: true }).close();
      watcher = Deno.watchFs(bell, { recursive: false });
    } catch (e) {
      closeWatcher();
      return fallBack(`cannot watch ${bell}: ${errorText(e)}`);
    }
    const current = watcher;
    void (async () => {
      try {
        for await (const event of current) {
          if (event.kind === "remove" || event.kind === "rename") {
            closeWatcher();
            if (!closed) watch();
            void ring();
            return;
          }
          if (event.kind !== "access") void ring();
        }
        if (!closed && watcher === current) fallBack(`the watch on ${bell} ended`);
      } catch (e) {
        if (watcher === current) closeWatcher();
        fallBack(`cannot watch ${bell}: ${errorText(e)}`);
      }
    })();
  };

  if (isStoreFile(storePath)) {
    poll(options.safetyPollMs ?? 5_000);
    watch();
  } else {
    poll(options.fallbackPollMs ?? 500); // no file to watch
  }
  void ring(); // what changed while no bot was watching

  return {
    ring,
    async close() {
      closed = true;
      clearInterval(timer);
      closeWatcher();
      await running;
    },
  };
}
