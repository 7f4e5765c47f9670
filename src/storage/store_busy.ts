/**
 * A store another process keeps locked (a serving bot in the middle of a commit, a backup,
 * sqlite3 by hand): how long the bot's processes wait for it, what they tell the operator
 * meanwhile and when they give up.
 *
 * Deno KV keeps one SQLite connection per handle, in WAL mode: reads never wait for another
 * process's write lock (except a new handle's first one, see `openKv`), commits do. A commit
 * that finds the write lock held is refused with `TypeError: database is locked`: after about
 * 5 s (SQLite's busy timeout, which rusqlite sets) when it has no checks, and AT ONCE when it
 * has checks, because the checks' read has begun a read transaction and SQLite does not wait
 * for a lock it would have to upgrade to (measured with Deno 2.9.6: 5036 ms for a `set`, 1 ms
 * for `atomic().check(…).set(…)`). So without retries an operator's `hooks pause` failed on any
 * commit of a serving bot that happened to be in flight, however short, and the serving bot's
 * commits with checks (a queued message, an Idempotency-Key's claim, a chat command's change)
 * failed whenever such a command held the lock for a few milliseconds. Offline commands retry
 * every commit ({@link patientCommits}); the serving bot's commit owners retry theirs through
 * {@link commitWhenFree}, without a Proxy on the delivery path's handle.
 *
 * @module
 */

/** When `serve` says that its store has not answered yet (Deno KV's commits give up at ~5 s). */
export const STORE_SLOW_MS = 5_000;

/**
 * How long an offline command waits for a store another process keeps locked, for its first
 * read and for each of its commits: a few seconds more than Deno KV's own wait for SQLite's
 * write lock before a commit without checks is refused (about 5 s).
 */
export const STORE_WAIT_MS = 10_000;

/**
 * When a command whose commit is refused for a busy store tells the operator it keeps trying:
 * a lock that goes within a second (a serving bot's commit) is not worth a line.
 */
export const STORE_NOTICE_MS = 1_000;

/**
 * A store that stayed locked past an offline command's bound: its first read did not answer,
 * or a commit was refused for `waitedMs`. After a first read the KV handle is left open:
 * closing it would block this thread until the stuck read ends, so the process that gets this
 * error should exit.
 */
export class StoreBusyError extends Error {
  /** The store `path` stayed locked for `waitedMs`. */
  constructor(readonly path: string, readonly waitedMs: number, options?: ErrorOptions) {
    super(
      `database is locked: the store ${path} stayed locked for ${Math.round(waitedMs)} ms`,
      options,
    );
    this.name = "StoreBusyError";
  }
}

/** Whether `e` is Deno KV's refusal for a store another connection keeps locked. */
export function isStoreLocked(e: unknown): boolean {
  return e instanceof Error && /database is locked/i.test(e.message);
}

/**
 * The sentence for an offline command (`hooks …`, `import-json`, `check-config`) that found
 * the store locked, or null for any other error. It states the wait a {@link StoreBusyError}
 * measured; a bare "database is locked" from Deno KV says nothing of how long it waited (a
 * commit with checks is refused at once), so neither does the sentence.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.match(storeBusySentence(new StoreBusyError("/var/lib/x.kv", 10_400), "/var/lib/x.kv")!, /more than 10 s/);
 * assert.equal(storeBusySentence(new Error("disk full"), "/var/lib/x.kv"), null);
 * ```
 */
export function storeBusySentence(e: unknown, path: string): string | null {
  if (!isStoreLocked(e)) return null;
  const howLong = e instanceof StoreBusyError
    ? ` for more than ${Math.floor(e.waitedMs / 1000)} s`
    : "";
  return `the store ${path} is busy: another process (most likely the running bot) kept it ` +
    `locked${howLong}; what this command had not saved by then is not saved. Run the command ` +
    `again; if it keeps happening, run it while the bot is less busy or stopped.`;
}

/** What an offline command prints when {@link patientCommits} starts waiting for `path`. */
export function storeWaitingSentence(path: string): string {
  return `the store ${path} is busy: another process (most likely the running bot) keeps it ` +
    `locked; still trying, for up to ${STORE_WAIT_MS / 1000} s`;
}

/** Options of {@link patientCommits}. */
export interface PatientCommitOptions {
  /** The store's path, for the {@link StoreBusyError}. */
  readonly path: string;
  /** How long one commit keeps trying in total before it fails with a StoreBusyError. */
  readonly withinMs: number;
  /** Called once per handle, when a commit has been refused for {@link STORE_NOTICE_MS}. */
  readonly onWaiting: () => void;
}

// Pauses between tries: a refusal with checks comes at once, so without a pause the loop would
// spin; short at first (a serving bot's commit takes milliseconds), longer while it lasts.
const FIRST_PAUSE_MS = 10;
const MAX_PAUSE_MS = 250;

/**
 * Tries `attempt` again while it is refused for a store another process keeps locked, until
 * `withinMs` have passed since `start`; then (or on any other error) throws what it threw last.
 * `onRefused` hears each refusal that will be tried again, with the time waited so far.
 * A {@link StoreBusyError} (an offline command's handle gave up already) is not tried again.
 */
async function retryWhileLocked<T>(
  attempt: () => Promise<T>,
  withinMs: number,
  start: number,
  onRefused: (waitedMs: number) => void,
  signal?: AbortSignal,
): Promise<T> {
  let pause = FIRST_PAUSE_MS;
  for (;;) {
    try {
      return await attempt();
    } catch (e) {
      if (!isStoreLocked(e) || e instanceof StoreBusyError || signal?.aborted) throw e;
      const waited = Date.now() - start;
      if (waited >= withinMs) throw e;
      onRefused(waited);
      const ms = Math.min(pause * (0.5 + Math.random()), withinMs - waited);
      await pauseFor(ms, signal);
      if (signal?.aborted) throw e;
      pause = Math.min(pause * 2, MAX_PAUSE_MS);
    }
  }
}

/** Resolves after `ms`, or at once when `signal` aborts (its timer cleared). */
function pauseFor(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(id);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const id = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * How long a serving bot's commit with checks waits for a store another process keeps locked
 * (an operator's `hooks pause`, `import-json`, `hooks queue retry`): as long as Deno KV itself
 * lets a commit without checks wait, SQLite's busy timeout.
 */
export const SERVE_COMMIT_WAIT_MS = 5_000;

// Per serving bot's handle: who hears that its commits started waiting, and how many wait.
const waits = new WeakMap<Deno.Kv, { onWaiting: () => void; waiting: number }>();

/**
 * Tells `onWaiting` when a {@link commitWhenFree} commit on `kv` is refused for a locked store
 * while no other one on `kv` waits already: once per spell of waiting, not once per commit.
 */
export function onCommitsWaiting(kv: Deno.Kv, onWaiting: () => void): void {
  waits.set(kv, { onWaiting, waiting: 0 });
}

/**
 * Commits `op` on the serving bot's `kv`, waiting up to {@link SERVE_COMMIT_WAIT_MS} for a
 * store another process keeps locked, as Deno KV already does for a commit without checks; a
 * commit with checks is refused at once instead (see the module comment), which answered a
 * sender 503 or a chat command with an error whenever an operator's command held the lock
 * for a few milliseconds. Only a thrown "database is locked" is tried again (safe: a refused
 * commit wrote nothing, see {@link patientCommits}); `{ ok: false }` is the caller's, as
 * before. Costs nothing more than the commit while the store is free. A lock held past the
 * wait ends it after 5 to 10 s, not 5: most tries are refused at once, but one can wait
 * SQLite's busy timeout itself (measured under a held `BEGIN IMMEDIATE`: tries refused within
 * 0-7 ms up to 4.3 s, then one started at 4.46 s waited 5.06 s; docs/deploy.md). `signal`:
 * once it aborts (the sender was answered, src/delivery/queue/sender_store_wait.ts), a refused
 * try is not tried again; a try under way still ends as SQLite ends it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const kv = await Deno.openKv(":memory:");
 * const op = kv.atomic().check({ key: ["x"], versionstamp: null }).set(["x"], 1);
 * assert.ok((await commitWhenFree(kv, op)).ok);
 * kv.close();
 * ```
 */
export function commitWhenFree(
  kv: Deno.Kv,
  op: Deno.AtomicOperation,
  signal?: AbortSignal,
): Promise<Deno.KvCommitResult | Deno.KvCommitError> {
  const start = Date.now();
  return op.commit().catch(async (e) => {
    if (!isStoreLocked(e) || e instanceof StoreBusyError) throw e;
    const w = waits.get(kv);
    let counted = false;
    try {
      return await retryWhileLocked(() => op.commit(), SERVE_COMMIT_WAIT_MS, start, () => {
        if (!w || counted) return;
        counted = true;
        if (w.waiting++ === 0) w.onWaiting();
      }, signal);
    } finally {
      if (counted) w!.waiting--;
    }
  });
}

/**
 * `kv` whose commits (`atomic().commit()`, `set`, `delete`, `enqueue`) are tried again while
 * another process keeps the store locked, for `withinMs` in total each, then fail with a
 * {@link StoreBusyError} stating how long they waited. For offline commands: `serve` waits at
 * its commit owners ({@link commitWhenFree}), sparing every other call on its handle a Proxy.
 *
 * Trying again is safe because a commit refused for the lock wrote nothing. denokv's SQLite
 * backend runs a commit in one transaction; SQLite takes the write lock at the transaction's
 * first write statement (denokv_sqlite's bump of the data version, before any of the commit's
 * mutations), so a refusal comes before anything is written, and a lock once taken is not
 * refused again within the transaction. Checked with Deno 2.9.6: a refused `set` left the old
 * value, and the same refused AtomicOperation committed again once the lock was gone wrote
 * once (its checks are evaluated afresh, so a change made meanwhile fails them as usual:
 * `{ ok: false }`, which callers already retry). Only this refusal is retried: a commit that
 * fails on a later mutation is NOT all-or-nothing in Deno 2.9.6 (`atomic().set(a).sum(b)` with
 * a string at `b` throws, and `a` is written), so it must not be repeated blindly.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const kv = patientCommits(await Deno.openKv(":memory:"), {
 *   path: ":memory:",
 *   withinMs: 10_000,
 *   onWaiting: () => console.error("still trying"),
 * });
 * assert.ok((await kv.atomic().check({ key: ["x"], versionstamp: null }).set(["x"], 1).commit()).ok);
 * kv.close();
 * ```
 */
export function patientCommits(kv: Deno.Kv, options: PatientCommitOptions): Deno.Kv {
  let told = false;
  const patiently = async <T>(attempt: () => Promise<T>): Promise<T> => {
    const start = Date.now();
    try {
      return await retryWhileLocked(attempt, options.withinMs, start, (waited) => {
        if (!told && waited >= STORE_NOTICE_MS) {
          told = true;
          options.onWaiting();
        }
      });
    } catch (e) {
      if (!isStoreLocked(e)) throw e;
      throw new StoreBusyError(options.path, Date.now() - start, { cause: e });
    }
  };
  return new Proxy(kv, {
    get(target, prop) {
      if (prop === "atomic") {
        return () => {
          const op = target.atomic();
          // The builder methods return `op` itself, so chained calls keep this commit.
          const commit = op.commit.bind(op);
          op.commit = () => patiently(commit);
          return op;
        };
      }
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      const call = (...args: unknown[]) =>
        (value as (...a: unknown[]) => unknown).apply(target, args);
      return prop === "set" || prop === "delete" || prop === "enqueue"
        ? (...args: unknown[]) => patiently(() => call(...args) as Promise<unknown>)
        : call;
    },
  });
}
