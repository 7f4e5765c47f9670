/**
 * What a kind of durable work (a *job type*) tells the {@link JobEngine}: how to run one
 * attempt, how long it may keep trying, and when it can run at all. The engine does the
 * rest: persistence in the KV outbox, per-hook order, retries with backoff, setting aside,
 * deadlines, shutdown and the operator's `hooks queue` commands.
 *
 * A job has a **payload** (what to do: written once, may be large, spilled to the spool)
 * and a **state** (progress: small JSON, rewritten by {@link JobRun.progress} after each
 * step that must not be repeated). Both must be JSON; bytes go to the spool through
 * `blobs` on enqueue and come back through {@link JobRun.readBlob}.
 *
 * Order: jobs of one hook run one at a time, in the order they were enqueued, whatever
 * their type (a "call a URL" and a "post" of the same hook share one line). Hooks run in
 * parallel. A job failing for its own reason (`scope: "job"`) is set aside after a few
 * attempts: it stops holding up the jobs behind it and is retried beside them until its
 * deadline. `scope: "hook"` (the chat or the receiver refuses) keeps the line waiting;
 * `scope: "link"` (TrueConf unreachable) waits for {@link JobEngine.wake}.
 *
 * @example Registering a job type and enqueueing a job
 * ```ts
 * import type { JobEngine, JobType } from "./mod.ts";
 *
 * interface Ping { url: string }
 * const pingType: JobType<Ping, { tries: number }> = {
 *   name: "ping",
 *   maxAgeMs: 3600_000,
 *   async run(job) {
 *     const res = await fetch(job.payload.url, { signal: job.signal }).catch(() => null);
 *     await res?.body?.cancel();
 *     if (res?.ok) return { kind: "done", state: job.state, result: { status: res.status } };
 *     if (res && res.status < 500) {
 *       return { kind: "failed", state: job.state, error: { code: "refused", message: `${res.status}` } };
 *     }
 *     return {
 *       kind: "retry",
 *       state: { tries: job.state.tries + 1 },
 *       scope: "hook",
 *       error: { code: "unavailable", message: res ? `${res.status}` : "no answer" },
 *     };
 *   },
 * };
 *
 * async function wire(engine: JobEngine) {
 *   engine.register(pingType);
 *   const hook = { id: "h1", chatId: "c1", name: "ci", createdBy: "alice" };
 *   const r = await engine.enqueue({ type: "ping", hook, payload: { url: "https://x" }, state: { tries: 0 } });
 *   if (r.ok) console.log("queued as", r.id);
 * }
 * void wire;
 * ```
 *
 * @module
 */
import type { OutboxHook } from "../../storage/mod.ts";
import type { BackoffOptions } from "./_backoff.ts";

/** The hook a job belongs to (its line of order). */
export type JobHook = OutboxHook;

/** Why an attempt did not finish: a stable machine code and a sentence. */
export interface JobError {
  /** Stable machine code, e.g. `fetch_failed`. */
  readonly code: string;
  /** One human sentence. */
  readonly message: string;
}

/**
 * How an attempt ended.
 * - `done`: finished; `result` (JSON) is kept as the job's final record for status queries.
 * - `failed`: will never succeed; the job ends now.
 * - `retry`: try again later. `scope` says whose trouble it is: `job` (this job's own,
 *   e.g. one file the server chokes on: set aside after a few attempts), `hook` (the chat
 *   or the receiver refuses: the hook's line waits), `link` (TrueConf unreachable: every
 *   job of the type waits for a wake-up). `retryAfterMs` overrides the backoff (e.g. a
 *   `Retry-After` header), capped by the job's deadline.
 */
export type Attempt<S> =
  | { readonly kind: "done"; readonly state: S; readonly result?: unknown }
  | {
    readonly kind: "failed";
    readonly state: S;
    readonly error: JobError;
    readonly result?: unknown;
  }
  | {
    readonly kind: "retry";
    readonly state: S;
    readonly error: JobError;
    readonly scope: "job" | "hook" | "link";
    readonly retryAfterMs?: number | undefined;
  };

/** One attempt of a job, as the job type sees it. */
export interface JobRun<P, S> {
  /** The job id ("" for a run inside the request, which has none yet). */
  readonly id: string;
  /** The hook the job belongs to. */
  readonly hook: JobHook;
  /** What to do, as enqueued. */
  readonly payload: P;
  /** Progress so far (the state of the last {@link JobRun.progress} or of the enqueue). */
  readonly state: S;
  /** Attempts that ended in `retry` before this one. */
  readonly attempts: number;
  /** When it was accepted (ms since the epoch). */
  readonly createdAt: number;
  /** False for a run inside the request (nothing stored yet). */
  readonly persisted: boolean;
  /**
   * Set when a process that stopped uncleanly may have carried out this job's next step
   * without recording it (it died between the step and its {@link JobRun.progress}): the step
   * began after this time (ms since the epoch). A job type whose steps show outside (a post in
   * a chat) checks whether the step happened before doing it again. Set only for the
   * job that may have been running in each hook's line when the last process died
   * (or when a shutdown cut it), a request's remainder stored at that cut, and a request whose
   * `Idempotency-Key` a dead process left claimed.
   */
  readonly unrecordedSince?: number | undefined;
  /**
   * Aborted when shutdown's grace period is over: finish or record the current step, then
   * return `retry` (scope `link`) at once. The rest stays queued for the next start.
   */
  readonly signal: AbortSignal;
  /**
   * For a run inside the request, the enqueue's {@link EnqueueOptions.live}: the payload as
   * `run` works on it, before it was converted to its stored form (a run that never leaves
   * memory need not read that form back). Undefined for stored jobs.
   */
  readonly live?: unknown;
  /** Bytes given at enqueue in `blobs`; null when missing. */
  readBlob(slot: number): Promise<Uint8Array | null>;
  /**
   * Records progress before the next step starts, so a crash or a retry resumes after the
   * step (the durable queue's "each part once" promise). Cheap for a run inside the request.
   */
  progress(state: S): Promise<void>;
}

/** A kind of durable work; see the module doc. */
export interface JobType<P = unknown, S = unknown> {
  /** Unique, stored with each job: `post`, `call`, `edit`… */
  readonly name: string;
  /** Give up this long after the job was accepted. Default: the engine's (24 h). */
  readonly maxAgeMs?: number;
  /** Backoff between attempts. Default: the engine's (1 s → 5 min). */
  readonly backoff?: BackoffOptions;
  /** Whether jobs of this type can run now (e.g. TrueConf authorized). Default: always. */
  ready?(): boolean;
  /** Runs one attempt. Should not throw; a throw counts as `retry` with scope `job`. */
  run(job: JobRun<P, S>): Promise<Attempt<S>>;
  /**
   * Before a run inside the request stores its remainder: the payload without the steps
   * already done (so their content is never stored) and which blobs are still needed.
   */
  compact?(payload: P, state: S): { payload: P; keepBlob(slot: number): boolean };
  /** Told once when a job ends for good (done, failed, gave up or dropped). */
  finished?(end: JobEnd<P, S>): void;
}

/** How a job ended, for {@link JobType.finished} and engine listeners. */
export interface JobEnd<P = unknown, S = unknown> {
  /** The job id ("" for one that ended inside the request). */
  readonly id: string;
  /** Its job type. */
  readonly type: string;
  /** The hook it belonged to. */
  readonly hook: JobHook;
  /** Null when the payload could not be read back (dropped after a lost spool). */
  readonly payload: P | null;
  /** Its last progress. */
  readonly state: S;
  /** Done, or given up. */
  readonly outcome: "done" | "failed";
  /** Why it was given up, for a failed job. */
  readonly error: JobError | null;
  /** The job type's summary (for a post: message ids and failed parts). */
  readonly result: unknown;
  /** Attempts that failed and were retried. */
  readonly attempts: number;
  /** When it was accepted (ms since the epoch). */
  readonly createdAt: number;
  /** True when this ended inside the request (never stored). */
  readonly inline: boolean;
}

/** Options of {@link JobEngine.enqueue}. */
export interface EnqueueOptions<P = unknown, S = unknown> {
  /** The job type that runs it (registered with the engine). */
  readonly type: string;
  /** The hook: jobs of one hook run one at a time, oldest first. */
  readonly hook: JobHook;
  /** What to do (JSON; large payloads spill to the spool). */
  readonly payload: P;
  /** The starting progress. */
  readonly state: S;
  /** Bytes the job reads back with `readBlob(slot)`; slots ≥ 0 (-1 is the engine's). */
  readonly blobs?: ReadonlyMap<number, Uint8Array> | undefined;
  /**
   * The payload in the form the job type's `run` works on, for a run inside the request
   * ({@link JobRun.live}); never stored. Default: none (the run reads `payload`).
   */
  readonly live?: unknown;
  /**
   * A process that died (or a shutdown that cut the run) may have carried out this job's steps
   * after this time ({@link JobRun.unrecordedSince}): its next attempt, inside the request or
   * from the queue (stored with the entry then), checks them first. Default: none.
   */
  readonly unrecordedSince?: number | undefined;
  /** Accepted at (ms); default now. A remainder of a run inside the request keeps its time. */
  readonly createdAt?: number | undefined;
  /**
   * Store even over the queue limits: part of it already happened, and refusing would make
   * the sender send again what already arrived.
   */
  readonly accepted?: boolean | undefined;
  /** Written in the same atomic as the entry (the `Idempotency-Key` outcome). */
  readonly alsoWrite?: ((id: string) => Deno.KvMutation) | undefined;
  /**
   * Merging into a job still waiting: called with each waiting (not yet started) job of the
   * hook, newest first; return a new payload to fold this job into that one (nothing new is
   * queued), or undefined to look further. E.g. an edit of a message still queued.
   */
  readonly mergeInto?: ((waiting: WaitingJob) => unknown | undefined) | undefined;
}

/** A waiting job offered to {@link EnqueueOptions.mergeInto}. */
export interface WaitingJob {
  /** Its id. */
  readonly id: string;
  /** Its job type. */
  readonly type: string;
  /** Its payload. */
  readonly payload: unknown;
  /** Its state. */
  readonly state: unknown;
}

/** Answer of {@link JobEngine.enqueue}. */
export type EnqueueResult =
  | { readonly ok: true; readonly id: string; readonly merged: boolean }
  | { readonly ok: false; readonly reason: "full"; readonly message: string }
  | { readonly ok: false; readonly reason: "closing" }
  | { readonly ok: false; readonly reason: "storage"; readonly error: unknown };
