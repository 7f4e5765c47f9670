/**
 * The scheduler of the job engine: runs the outbox's jobs through their {@link JobType}s.
 *
 * - **Order.** One attempt per hook at a time, oldest job first; hooks in parallel up to
 *   `concurrency`, served round robin.
 * - **Retries.** Capped exponential backoff with jitter (the type's or the engine's), or
 *   the attempt's `retryAfterMs`; never past the job's deadline (the type's `maxAgeMs`,
 *   default 24 h), where the job fails with `gave_up`.
 * - **Setting aside.** A job whose attempts fail for its own reason (`scope: "job"`) is set
 *   aside after `asideAfterAttempts` such failures in a row, or `asideAfterMs` after the first
 *   of them, whichever comes first (a wake-up of the link starts the count again: failures
 *   while TrueConf was going down were not the job's own): the hook's later jobs go on; it is retried between them.
 *   Failures of scope `hook` and `link` never reorder.
 * - **Inline runs.** {@link JobEngine.runInline} runs a job within the caller's request
 *   when its hook has nothing waiting, storing nothing unless it stops halfway (then its
 *   remainder is stored, even over the limits).
 * - **Shutdown.** {@link JobEngine.close}: no new work; running attempts get the grace
 *   period; then the one cut signal aborts: inline runs store their remainder, worker runs
 *   stop after their current step. Everything unfinished stays in KV for the next start.
 * - **Operator.** {@link JobEngine.dropHook}, {@link JobEngine.drop}, {@link JobEngine.retry}
 *   act on waiting jobs at once; a job running now is dropped when its attempt ends.
 *
 * @module
 */
import type {
  DoneRecord,
  OutboxEntry,
  OutboxRepo,
  QueueCommand,
  QueueCommandResult,
} from "../../storage/mod.ts";
import type { Logger } from "../../log.ts";
import { silentLogger } from "../../log.ts";
import { errorText } from "../../error_text.ts";
import { RetryWarnings, step, StepError } from "../../step_error.ts";
import { backoffDelay, type BackoffOptions } from "./_backoff.ts";
import { type Clock, delay, systemClock, type TimerHandle } from "../clock.ts";
import { type Line, Outbox, type Slot } from "./outbox.ts";
import { InFlight } from "./_in_flight.ts";
import type {
  Attempt,
  EnqueueOptions,
  EnqueueResult,
  JobEnd,
  JobError,
  JobHook,
  JobRun,
  JobType,
} from "./job_type.ts";

/** Options of {@link JobEngine}. */
export interface JobEngineOptions {
  /** Where jobs are kept. */
  kv: Deno.Kv;
  /** Most jobs waiting per hook and in all. */
  limits: { maxPerHook: number; maxTotal: number };
  /** Where the engine logs. Default: silent. */
  logger?: Logger | undefined;
  /** Time for backoff, deadlines and wake-ups. Default: the system clock. */
  clock?: Clock | undefined;
  /** Hooks run in parallel by the worker. Default 16. */
  concurrency?: number | undefined;
  /** Default deadline after acceptance. Default 24 h. */
  maxAgeMs?: number | undefined;
  /** Default backoff. 1 s → 5 min. */
  backoff?: BackoffOptions | undefined;
  /** Set a job failing on its own aside after this many such failures in a row. Default 3. */
  asideAfterAttempts?: number | undefined;
  /** … or this long after the first of them. Default 2 min. */
  asideAfterMs?: number | undefined;
  /** How long final records are kept. Default 24 h. */
  retentionMs?: number | undefined;
  /** A job waiting this long is reported once through `onEvent` (`waiting`). Default 10 min. */
  waitNoticeMs?: number | undefined;
  /** Called with the number of waiting jobs whenever it changes. */
  onDepth?: ((depth: number) => void) | undefined;
  /** Engine events (job ended, job waiting long) for notifications and metrics. */
  onEvent?: ((event: EngineEvent) => void) | undefined;
  /**
   * How often the operator's commands (`hooks queue retry|drop`, left in KV by another
   * process) are looked for. Default 500 ms; 0 turns it off and the caller runs
   * {@link JobEngine.applyCommands} when told (the bot does on the store's doorbell, which the
   * CLI rings: src/storage/doorbell.ts says why).
   */
  commandPollMs?: number | undefined;
  /**
   * Whether a hook with waiting jobs has ended while no engine ran (revoked or expired through
   * the CLI on a stopped bot): the reason to drop its jobs with (`hook_revoked`), or null while
   * it lives. Asked once per such hook at {@link JobEngine.start}, before the worker runs, so
   * nothing of an ended hook is posted after a restart.
   */
  endedHook?: ((hookId: string) => Promise<string | null>) | undefined;
  /**
   * The last process on this store stopped uncleanly (its lease was found, not released): the
   * job of each hook that may have been running then (the line's head, and the set-aside jobs
   * before it) gets {@link JobRun.unrecordedSince} on its next attempt, so a post it made and
   * did not record is found in the chat instead of made again (src/delivery/reconcile.ts).
   * A shutdown that cut a worker's post leaves a mark in the store that the next start takes
   * the same way by itself (`queue_unclean`).
   */
  uncleanStart?: boolean | undefined;
}

/** What the engine reports outside (notifications, metrics, logs). */
export type EngineEvent =
  | { readonly kind: "ended"; readonly end: JobEnd }
  | {
    readonly kind: "waiting";
    readonly id: string;
    readonly type: string;
    readonly hook: JobHook;
    readonly createdAt: number;
    readonly attempts: number;
    readonly lastError: JobError | null;
  }
  | {
    readonly kind: "set_aside";
    readonly id: string;
    readonly hook: JobHook;
    readonly error: JobError;
  };

/** Answer of {@link JobEngine.runInline}. */
export type InlineResult<S> =
  /** The attempt ended within the call (done or failed); nothing was stored. */
  | { readonly kind: "ran"; readonly attempt: Extract<Attempt<S>, { kind: "done" | "failed" }> }
  /**
   * Stored for later: the hook had a backlog, the type was not ready, or the attempt
   * stopped (`stopped` holds the attempt then).
   */
  | {
    readonly kind: "queued";
    readonly enqueued: EnqueueResult;
    readonly stopped?: Extract<Attempt<S>, { kind: "retry" }> | undefined;
  };

/** A waiting job, for listings. */
export interface WaitingInfo {
  /** The job id. */
  readonly id: string;
  /** Its job type. */
  readonly type: string;
  /** Its hook. */
  readonly hookId: string;
  /** When it was accepted (ms since the epoch). */
  readonly createdAt: number;
  /** Attempts that failed and were retried. */
  readonly attempts: number;
  /** Not tried again before this (ms since the epoch). */
  readonly notBefore: number;
  /** Set aside: it no longer holds up the hook's later jobs. */
  readonly aside: boolean;
  /** An attempt is running now. */
  readonly running: boolean;
  /** Why the last attempt failed. */
  readonly lastError: JobError | null;
}

/** Engine numbers for `/readyz`, `/metrics` and logs. */
export interface EngineStats {
  /** Jobs stored. */
  readonly depth: number;
  /** Hooks with jobs waiting. */
  readonly hooksWithBacklog: number;
  /** Attempts running now (inline and worker). */
  readonly inFlight: number;
  /** Most jobs waiting per hook. */
  readonly maxPerHook: number;
  /** Most jobs waiting in all. */
  readonly maxTotal: number;
  /** The stored jobs have been loaded. */
  readonly loaded: boolean;
  /** Age of the oldest waiting job in ms (0 when none). */
  readonly oldestAgeMs: number;
}

const TICK_MS = 30_000;
/** Longest pause after a failure of the link (TrueConf unreachable); see #runSlot. */
const LINK_RETRY_MS = 2_000;

/** See the module doc. */
export class JobEngine {
  readonly #o: JobEngineOptions;
  readonly #log: Logger;
  readonly #clock: Clock;
  /** The queue commands' warnings: one when a failure starts, a few while it lasts. */
  readonly #commandWarnings: RetryWarnings;
  readonly #outbox: Outbox;
  readonly #types = new Map<string, JobType<unknown, unknown>>();
  /**
   * Waiting jobs being dropped now: a second drop of one (a revoke is seen by this process and
   * again through the change feed) and the worker leave it alone, so it ends exactly once.
   */
  readonly #dropping = new Set<string>();
  /** Attempts, stores and notices under way (close() waits for them), inline runs with their cut. */
  readonly #inflight = new InFlight();
  readonly #loaded: Promise<void>;
  #loadedFlag = false;
  #started = false;
  /** The worker runs: started, loaded, and the jobs of hooks that ended meanwhile dropped. */
  #working = false;
  #closing = false;
  /**
   * Set by {@link JobEngine.settle}: the store is about to close, so a run ending after this
   * writes nothing (its job stays queued from its last recorded part for the next start).
   */
  #sealed = false;
  /** The one shutdown cut: aborted when the grace period is over. */
  readonly #cut = new AbortController();
  #active = 0;
  #timer: TimerHandle | undefined;
  #timerAt = Infinity;
  #tick: TimerHandle | undefined;
  #commandTimer: TimerHandle | undefined;
  /** Answers of commands applied whose write failed, by command id: written at the next look. */
  #unanswered = new Map<string, QueueCommandResult>();
  /** Failed tries of commands not carried out yet, by command id (see applyCommands). */
  #commandFailures = new Map<string, number>();
  /** The next try of a command that failed, sooner than the next look. */
  #commandRetry: TimerHandle | undefined;
  /** The looks at the commands, one after another (a ring, the retry timer, the start). */
  #commandLooks: Promise<unknown> = Promise.resolve();
  /** Wake-ups so far: an attempt that began before the latest one failed on the old link. */
  #wakes = 0;
  /** The depth the last `queue depth` log line told. */
  #loggedDepth = 0;

  /** An engine; the stored jobs start loading at once. */
  constructor(options: JobEngineOptions) {
    this.#o = options;
    this.#log = options.logger ?? silentLogger;
    this.#commandWarnings = new RetryWarnings(this.#log, {
      otherwise: "could not apply the queue commands",
      recovered: "the operator's queue commands are applied again",
      now: () => this.#clock.now(),
    });
    this.#clock = options.clock ?? systemClock;
    this.#outbox = new Outbox(options.kv, {
      limits: options.limits,
      now: () => this.#clock.now(),
      onDepth: (depth) => {
        this.#logDepth(depth);
        options.onDepth?.(depth);
      },
    });
    this.#loaded = this.#load();
    this.#loaded.catch(() => {});
    this.#cut.signal.addEventListener("abort", () => {
      this.#inflight.cutAll();
    }, { once: true });
  }

  /** The outbox's repository (status records, idempotency records, measurements). */
  get repo(): OutboxRepo {
    return this.#outbox.repo;
  }

  /** The clock the engine runs on. */
  get clock(): Clock {
    return this.#clock;
  }

  /**
   * How long final records (a delivery's status, an `Idempotency-Key`'s outcome) are kept:
   * `retentionMs`, default 24 h (issue 5's window). The one place that default is decided.
   */
  get retentionMs(): number {
    return this.#o.retentionMs ?? 24 * 3600_000;
  }

  /** Adds a job type. Register types before {@link start}, so stored jobs find theirs. */
  register<P, S>(type: JobType<P, S>): void {
    if (this.#types.has(type.name)) throw new Error(`job type ${type.name} registered twice`);
    this.#types.set(type.name, type as JobType<unknown, unknown>);
  }

  /** Resolves once the persisted jobs are loaded. */
  ready(): Promise<void> {
    return this.#loaded;
  }

  /** The stored jobs have been loaded. */
  get loaded(): boolean {
    return this.#loadedFlag;
  }

  /** Shutting down: no new work is taken. */
  get closing(): boolean {
    return this.#closing;
  }

  /** Starts the worker. */
  start(): void {
    if (this.#started || this.#closing) return;
    this.#started = true;
    // What the operator left for this start (hooks that ended, `hooks queue drop|retry` run
    // while no bot was serving) is applied before the worker takes its first job: a drop
    // applied after it raced the delivery it was meant to stop. Tracked: `settled()` and
    // `close()` wait for the start too. Whatever `commandPollMs` says: 0 only means no
    // periodic look (the bot's doorbell drives it, and its first look would race the worker).
    this.track(
      this.#loaded.then(() => this.#dropEnded()).then(() => this.applyCommandsOrWarn()).then(() => {
        this.#working = true;
        this.#pump();
        this.#housekeeping();
        this.#pollCommands();
      }, () => {}),
    );
  }

  /**
   * Something every waiting job may have waited for came back (TrueConf): retry every job
   * now, also those set aside (one attempt each; they are set aside again if they fail).
   */
  wake(): void {
    this.#wakes++;
    for (const line of this.#outbox.lines.values()) {
      for (const s of line.slots) {
        s.notBefore = 0;
        // Failures while the link was going down may not have been the job's own.
        s.ownFailures = 0;
      }
    }
    this.#pump();
  }

  /** Waiting jobs plus jobs being stored for this hook. */
  backlog(hookId: string): number {
    return this.#outbox.backlog(hookId);
  }

  /** Numbers for `/readyz`, `/metrics` and logs. */
  stats(): EngineStats {
    const oldest = this.#outbox.oldest();
    return {
      depth: this.#outbox.depth,
      hooksWithBacklog: this.#hooksWithBacklog(),
      inFlight: this.#inflight.size,
      maxPerHook: this.#outbox.limits.maxPerHook,
      maxTotal: this.#outbox.limits.maxTotal,
      loaded: this.#loadedFlag,
      oldestAgeMs: oldest === null ? 0 : Math.max(0, this.#clock.now() - oldest),
    };
  }

  /** Waiting jobs (of one hook when given), in order. */
  list(hookId?: string): WaitingInfo[] {
    const out: WaitingInfo[] = [];
    for (const [h, line] of this.#outbox.lines) {
      if (hookId !== undefined && h !== hookId) continue;
      for (const s of line.slots) {
        out.push({
          id: s.id,
          type: s.type,
          hookId: h,
          createdAt: s.createdAt,
          attempts: s.attempts,
          notBefore: s.notBefore,
          aside: s.aside,
          running: s.running,
          lastError: s.lastError,
        });
      }
    }
    return out;
  }

  /** Whether a waiting job is running right now. */
  isRunning(id: string): boolean {
    return this.#outbox.find(id)?.slot.running ?? false;
  }

  /**
   * Resolves once no attempt, store or notice is running (new ones started meanwhile
   * included): the point where tests look at the result of what they triggered.
   */
  async settled(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.allSettled(this.#inflight.promises());
  }

  /** Tracks a promise so that {@link close} waits for it. */
  track<T>(p: Promise<T>): Promise<T> {
    const entry = this.#inflight.add(p);
    const done = () => this.#inflight.delete(entry);
    p.then(done, done);
    return p;
  }

  // ───────────────────────────── enqueue ─────────────────────────────

  /** Stores a job for the worker. See {@link EnqueueOptions}. */
  enqueue<P, S>(o: EnqueueOptions<P, S>): Promise<EnqueueResult> {
    return this.track(this.#enqueue(o));
  }

  async #enqueue<P, S>(o: EnqueueOptions<P, S>): Promise<EnqueueResult> {
    if (!this.#loadedFlag) await this.#loaded;
    const type = this.#type(o.type);
    if (this.#closing && !o.accepted) return { ok: false, reason: "closing" };
    if (o.mergeInto) {
      const merged = await this.#merge(o.hook.id, o.mergeInto);
      if (merged) return { ok: true, id: merged, merged: true };
    }
    const full = o.accepted ? null : this.#outbox.full(o.hook.id);
    if (full) {
      // Named like the other delivery lines (hook, chat), with the limit in words: an operator
      // reading the log finds which chat's sender is being refused and why.
      this.#log.warn("queue full, request refused", {
        hook: o.hook.id,
        name: o.hook.name,
        chat: o.hook.chatId,
        depth: this.#outbox.depth,
        reason: full,
      });
      return { ok: false, reason: "full", message: full };
    }
    const createdAt = o.createdAt ?? this.#clock.now();
    try {
      const id = await this.#outbox.insert({
        type: type.name,
        hook: o.hook,
        payload: o.payload,
        state: o.state,
        blobs: o.blobs,
        createdAt,
        deadline: createdAt + (type.maxAgeMs ?? this.#o.maxAgeMs ?? 24 * 3600_000),
        alsoWrite: o.alsoWrite,
        unrecordedSince: o.unrecordedSince,
      });
      this.#log.info("job queued", { hook: o.hook.id, type: type.name, delivery: id });
      return { ok: true, id, merged: false };
    } catch (error) {
      this.#log.error("could not store a job", { hook: o.hook.id, type: type.name, error });
      return { ok: false, reason: "storage", error };
    } finally {
      // Also after a failed store: a later job of this hook may have waited for this one.
      queueMicrotask(() => this.#pump());
    }
  }

  async #merge(
    hookId: string,
    mergeInto: NonNullable<EnqueueOptions["mergeInto"]>,
  ): Promise<string | null> {
    const line = this.#outbox.lines.get(hookId);
    if (!line) return null;
    for (const s of [...line.slots].reverse()) {
      if (s.running || s.started) continue;
      const read = await this.#outbox.read(hookId, s.seq).catch(() => null);
      if (!read || s.running || s.started) continue;
      const payload = mergeInto({
        id: s.id,
        type: s.type,
        payload: read.payload,
        state: read.entry.state,
      });
      if (payload === undefined) continue;
      await this.#outbox.update({ ...read.entry, updatedAt: this.#clock.now() }, payload);
      this.#log.info("job merged into a waiting one", { hook: hookId, delivery: s.id });
      return s.id;
    }
    return null;
  }

  /**
   * Runs a job within the caller's request when its hook has nothing waiting and its type
   * is ready; otherwise (or when the attempt stops with `retry`) stores it like
   * {@link enqueue}. A run cut by shutdown stores its remainder from the last progress.
   */
  async runInline<P, S>(o: EnqueueOptions<P, S>): Promise<InlineResult<S>> {
    if (!this.#loadedFlag) await this.#loaded;
    const type = this.#type(o.type) as JobType<P, S>;
    if (
      this.#closing || !this.#started || this.#outbox.backlog(o.hook.id) > 0 ||
      !(type.ready?.() ?? true)
    ) {
      return { kind: "queued", enqueued: await this.enqueue(o) };
    }
    const createdAt = this.#clock.now();
    const run = o.unrecordedSince === undefined
      ? new InlineRun(o, createdAt, this.#cut.signal)
      : new ResumedInlineRun(o, createdAt, this.#cut.signal, o.unrecordedSince);
    // The attempt's end or the shutdown cut, whichever comes first, settles one promise:
    // the cut resolves it through a set of resolvers, not an abort listener per run (adding
    // and removing an EventTarget listener cost more than the rest of this bookkeeping), and
    // not a race (its own promises and reactions on every delivery, issue 16).
    let cut!: (why: "cut") => void;
    const ended = new Promise<Attempt<S> | "cut">((resolve, reject) => {
      cut = resolve;
      // #attempt turns a job's error into a retry; reject only if even that failed.
      this.#attempt(type, run).then(resolve, reject);
    });
    const aborted = this.#cut.signal.aborted;
    if (aborted) cut("cut");
    // Tracked for close() by hand, untracked in the finally: no reaction per delivery.
    const entry = this.#inflight.add(ended, aborted ? undefined : cut);
    let a: Attempt<S> | "cut";
    try {
      a = await ended;
    } finally {
      this.#inflight.delete(entry);
    }
    if (a === "cut") {
      // The step in flight may still land: the documented window for a duplicate. Storing the
      // remainder (files spooled included) is in flight in turn, added in the same turn as
      // `ended` left: close() waits for it before the store is closed under it.
      const storing = this.enqueue({
        ...o,
        ...compacted(type, o, run.latest),
        state: run.latest,
        createdAt,
        accepted: true,
        // Its step in flight may be carried out yet: the next start looks for it in the chat.
        unrecordedSince: o.unrecordedSince ?? createdAt,
      });
      const storingEntry = this.#inflight.add(storing);
      try {
        return { kind: "queued", enqueued: await storing };
      } finally {
        this.#inflight.delete(storingEntry);
      }
    }
    if (a.kind !== "retry") {
      this.#ended({
        id: "",
        type: type.name,
        hook: o.hook,
        payload: o.payload,
        state: a.state,
        outcome: a.kind,
        error: a.kind === "failed" ? a.error : null,
        result: a.result ?? null,
        attempts: 0,
        createdAt,
        inline: true,
      });
      return { kind: "ran", attempt: a };
    }
    this.#log.info("delivery stopped, the rest is queued", {
      hook: o.hook.id,
      type: type.name,
      error: a.error.code,
    });
    const enqueued = await this.enqueue({
      ...o,
      ...compacted(type, o, a.state),
      state: a.state,
      createdAt,
      accepted: run.progressed || o.accepted,
    });
    return { kind: "queued", enqueued, stopped: a };
  }

  // ───────────────────────────── operator ─────────────────────────────

  /**
   * Drops every waiting job of a hook (e.g. revoked): each ends `failed` with `reason` as
   * its error code. A job running now ends the same way when its attempt returns.
   * Returns how many jobs were dropped (or marked).
   */
  async dropHook(hookId: string, reason: string, message?: string): Promise<number> {
    await this.#loaded;
    const line = this.#outbox.lines.get(hookId);
    if (!line) return 0;
    const error = { code: reason, message: message ?? dropMessage(reason) };
    let n = 0;
    for (const s of [...line.slots]) {
      n++;
      await this.#dropSlot(hookId, s, error);
    }
    if (n > 0) this.#log.info("hook's waiting jobs dropped", { hook: hookId, reason, count: n });
    return n;
  }

  /** Drops one waiting job; false when no waiting job has this id. */
  async drop(id: string, reason = "dropped_by_operator", message?: string): Promise<boolean> {
    await this.#loaded;
    const found = this.#outbox.find(id);
    if (!found) return false;
    await this.#dropSlot(found.hookId, found.slot, {
      code: reason,
      message: message ?? dropMessage(reason),
    });
    return true;
  }

  /** Tries a waiting job again now (also one set aside); false when unknown. */
  async retry(id: string): Promise<boolean> {
    await this.#loaded;
    const found = this.#outbox.find(id);
    if (!found) return false;
    found.slot.notBefore = 0;
    this.#log.info("retry requested", { hook: found.hookId, delivery: id });
    this.#pump();
    return true;
  }

  /**
   * Applies the operator's commands waiting in KV (from `hooks queue …` in another process),
   * oldest first, and answers each; throws a {@link StepError} naming the step that
   * failed (reading the commands, applying one, writing its answer), after which the commands
   * left wait for the next look. A command applied whose answer could not be written is
   * answered at the next look with the same answer, not applied again: a drop made twice
   * would answer "no waiting delivery has the id" for the delivery it dropped.
   *
   * A command that cannot be carried out is tried again {@link COMMAND_RETRY_MS} later, and
   * after {@link COMMAND_TRIES} failed tries is answered as failed (`code: "not_carried_out"`,
   * the store's error in the sentence), so the commands after it go on. It used to wait for the
   * next look each time, the later ones behind it: one that always failed (a full disk for its
   * delivery's record) held every later command until it expired after 24 h, while the CLI said
   * the bot was "busy or stuck". Three tries a second apart fit in the CLI's 10 s wait, and the
   * operator's order holds: no command is carried out before one typed earlier is answered.
   * Looks never overlap (a ring during the retry's look waits for it).
   */
  applyCommands(): Promise<number> {
    const look = this.#commandLooks.then(() => this.#applyCommandsNow());
    this.#commandLooks = look.catch(() => {});
    return look;
  }

  async #applyCommandsNow(): Promise<number> {
    await this.#loaded;
    const repo = this.#outbox.repo;
    const commands = await step(READ_COMMANDS_FAILED, () => repo.listCommands());
    // Answers of commands no longer waiting (expired after 24 h) are not kept.
    const waiting = new Set(commands.map((c) => c.id));
    for (const id of this.#unanswered.keys()) if (!waiting.has(id)) this.#unanswered.delete(id);
    for (const id of this.#commandFailures.keys()) {
      if (!waiting.has(id)) this.#commandFailures.delete(id);
    }
    for (const { id, command } of commands) {
      let result = this.#unanswered.get(id);
      if (result === undefined) {
        try {
          result = await step(
            `could not apply '${commandLine(command)}'`,
            () => this.#applyCommand(command),
          );
          this.#log.info("queue command applied", { command: command.op, ok: result.ok });
        } catch (e) {
          const tries = (this.#commandFailures.get(id) ?? 0) + 1;
          if (tries < COMMAND_TRIES) {
            this.#commandFailures.set(id, tries);
            this.#retryCommandsSoon();
            throw e; // the commands after it wait for its next try: the operator's order
          }
          const cause = e instanceof StepError ? e.cause : e;
          result = { ok: false, code: "not_carried_out", message: notCarriedOut(command, cause) };
          this.#log.warn(
            `gave up on '${
              commandLine(command)
            }' after ${tries} failed tries; the operator is told it failed`,
            { error: cause },
          );
        }
        this.#commandFailures.delete(id);
        this.#unanswered.set(id, result);
      }
      const answer = result;
      await step(
        `could not write the answer to '${commandLine(command)}' (the command waits for it)`,
        () => repo.answerCommand(id, answer),
      );
      this.#unanswered.delete(id);
    }
    return commands.length;
  }

  /**
   * {@link applyCommands}, its failure logged as a warning that names the failed step; never
   * throws. What the engine runs at start and every `commandPollMs`, and the bot on its
   * doorbell; the next look is the retry.
   */
  async applyCommandsOrWarn(): Promise<void> {
    try {
      await this.applyCommands();
      this.#commandWarnings.succeeded();
    } catch (e) {
      this.#commandWarnings.failed(e);
    }
  }

  /** Carries out one command and says how it went, in a sentence for the CLI. */
  async #applyCommand(command: QueueCommand): Promise<QueueCommandResult> {
    switch (command.op) {
      case "retry": {
        const found = this.#outbox.find(command.id);
        // Its type not ready (a post while TrueConf is unreachable): nothing is tried now,
        // and "being tried again now" would send the operator looking for an attempt.
        const waits = found !== null && !(this.#types.get(found.slot.type)?.ready?.() ?? true);
        return await this.retry(command.id)
          ? {
            ok: true,
            message: waits
              ? `delivery ${command.id} is tried as soon as TrueConf takes messages again (it is unreachable now)`
              : `delivery ${command.id} is being tried again now`,
          }
          : { ok: false, message: `no waiting delivery has the id ${command.id}` };
      }
      case "drop":
        return await this.drop(command.id)
          ? {
            ok: true,
            message: `delivery ${command.id} dropped (status failed, dropped_by_operator)`,
          }
          : { ok: false, message: `no waiting delivery has the id ${command.id}` };
      case "drop_hook": {
        const n = await this.dropHook(command.hookId, "dropped_by_operator");
        return {
          ok: true,
          message: `${n} waiting ${n === 1 ? "delivery" : "deliveries"} of hook ${
            command.hookName === undefined
              ? command.hookId
              : `"${command.hookName}" (${command.hookId})`
          } dropped`,
        };
      }
      default:
        return { ok: false, message: "unknown command" };
    }
  }

  /** Looks at the commands again {@link COMMAND_RETRY_MS} from now (once, however asked). */
  #retryCommandsSoon(): void {
    if (this.#closing || this.#commandRetry !== undefined) return;
    this.#commandRetry = this.#clock.after(COMMAND_RETRY_MS, () => {
      this.#commandRetry = undefined;
      if (!this.#closing) this.track(this.applyCommandsOrWarn());
    });
  }

  #pollCommands(): void {
    const every = this.#o.commandPollMs ?? 500;
    if (this.#closing || every <= 0) return;
    this.track(
      this.applyCommandsOrWarn().finally(() => {
        if (this.#closing) return;
        this.#commandTimer = this.#clock.after(every, () => this.#pollCommands());
      }),
    );
  }

  async #dropSlot(hookId: string, s: Slot, error: JobError): Promise<void> {
    if (s.running) {
      s.dropReason = error;
      return;
    }
    if (this.#dropping.has(s.id)) return;
    this.#dropping.add(s.id);
    try {
      const read = await this.#outbox.read(hookId, s.seq).catch(async (e) => {
        // Not an ended hook's (an operator's drop): a store that cannot be read fails the drop,
        // tried again at the next look. Taken as "no such entry", the delivery was forgotten
        // here, reported dropped, and came back (still stored) at the next start to be posted.
        // An ended hook's is forgotten, as nothing posts for it, and dropped at the next start
        // (endedHook). A payload missing from the spool, its entry read, is forgotten too.
        if (ENDED_HOOK.has(error.code)) return null;
        const entry = await this.#outbox.repo.get(hookId, s.seq).then(() => true, () => false);
        if (!entry) throw e;
        return null;
      });
      if (!read) {
        this.#outbox.forget(hookId, s.seq);
        return;
      }
      await this.#finish(read.entry, read.payload, "failed", error, null);
    } finally {
      this.#dropping.delete(s.id);
    }
  }

  // ───────────────────────────── shutdown ─────────────────────────────

  /**
   * Graceful stop: no new work; running attempts get up to `graceMs`; then the cut: inline
   * runs store their remainder (answered 202) and worker runs stop after their current
   * step, waited for at most `cutWaitMs` (a step waiting on a silent TrueConf never ends by
   * itself: it stays queued from its last recorded part). Unfinished jobs stay in KV. Call
   * before closing the KV handle.
   */
  async close(graceMs = 10_000, cutWaitMs = 2_000): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#tick?.cancel();
    this.#commandTimer?.cancel();
    this.#commandRetry?.cancel();
    await this.#loaded.catch(() => {});
    // Until nothing is in flight (a cut inline run replaces itself with the store of its
    // remainder: one more round) or the time is up.
    const waitAll = async (clock: Clock, ms: number) => {
      const stop = new AbortController();
      let over = false;
      const timeUp = delay(clock, ms, stop.signal).then(() => over = true);
      while (this.#inflight.size > 0 && !over) {
        await Promise.race([Promise.allSettled(this.#inflight.promises()), timeUp]);
      }
      stop.abort();
    };
    if (this.#inflight.size > 0) await waitAll(this.#clock, graceMs);
    if (this.#inflight.size > 0) {
      this.#log.warn("grace period over; unfinished deliveries stay queued", {
        inFlight: this.#inflight.size,
      });
      this.#cut.abort();
      // Cut inline runs store their remainder now (and are waited for until it is stored);
      // worker runs stop at their next step.
      await waitAll(systemClock, cutWaitMs);
      // A worker run still going waits on TrueConf for a post it may carry out: the next start
      // looks for it in the chat before posting it again, as after a crash.
      const cut = [...this.#outbox.lines.values()].filter((l) => l.busy).length;
      if (cut > 0) {
        await this.#outbox.repo.markUncleanStop(this.#clock.now()).then(
          () =>
            this.#log.info("posts left unconfirmed at the cut are checked at the next start", {
              cut,
            }),
          (error) => this.#log.warn("could not mark the cut for the next start", { error }),
        );
      }
    }
    this.#cut.abort();
    await this.#outbox.repo.idle();
    this.#log.info("queue closed", { depth: this.#outbox.depth });
  }

  /**
   * The last step before the store closes, after {@link close} and after the TrueConf client
   * is closed (which ends the steps a cut run still waited on): waits up to `waitMs` for those
   * runs to record how they ended (a drop the operator asked for while the post was in
   * TrueConf's hands ends `failed` as answered), then seals the engine: a run ending later
   * writes nothing, quietly (it used to write to a closed store: "queue worker error
   * BadResource"). Its job stays queued from its last recorded part, and the start after
   * finds the `queue_unclean` mark {@link close} left and checks the chat first.
   */
  async settle(waitMs: number): Promise<void> {
    if (this.#inflight.size > 0) {
      const stop = new AbortController();
      const timeUp = delay(systemClock, waitMs, stop.signal);
      await Promise.race([Promise.allSettled(this.#inflight.promises()), timeUp]);
      stop.abort();
    }
    this.#sealed = true;
    await this.#outbox.repo.idle();
  }

  // ───────────────────────────── worker ─────────────────────────────

  async #load(): Promise<void> {
    const started = performance.now();
    const { swept } = await this.#outbox.load();
    // A crash (the lease was not released), or a shutdown that cut a worker's post TrueConf
    // may have carried out (close() left the mark).
    const unclean = this.#o.uncleanStart || await this.#outbox.repo.takeUncleanStop();
    let resumed = 0;
    if (unclean) {
      // One attempt ran per hook at a time: the first job not set aside, or one set aside
      // before it (#pick). Jobs behind it never started.
      for (const line of this.#outbox.lines.values()) {
        for (const s of line.slots) {
          s.resume = true;
          // It may have run: no edit is merged into it any more.
          s.started = true;
          resumed++;
          if (!s.aside) break;
        }
      }
    }
    this.#loadedFlag = true;
    this.#log.info("queue loaded", {
      depth: this.#outbox.depth,
      hooks: this.#outbox.lines.size,
      orphanSpoolChunks: swept,
      ...(unclean ? { uncleanStop: true, checkedInChat: resumed } : {}),
      ms: Math.round(performance.now() - started),
    });
  }

  /** Drops the waiting jobs of hooks that ended while no engine ran (`endedHook`). */
  async #dropEnded(): Promise<void> {
    const ended = this.#o.endedHook;
    if (!ended) return;
    for (const hookId of [...this.#outbox.lines.keys()]) {
      try {
        const reason = await ended(hookId);
        if (reason !== null) await this.dropHook(hookId, reason);
      } catch (e) {
        this.#log.warn("could not check whether a hook with waiting jobs still exists", {
          hook: hookId,
          error: e,
        });
      }
    }
  }

  #type(name: string): JobType<unknown, unknown> {
    const t = this.#types.get(name);
    if (!t) throw new Error(`unknown job type ${name}; register it first`);
    return t;
  }

  #pump(): void {
    if (!this.#working || this.#closing) return;
    const now = this.#clock.now();
    let earliest = Infinity;
    for (const [hookId, line] of this.#outbox.lines) {
      if (this.#active >= (this.#o.concurrency ?? 16)) break;
      if (line.busy) continue;
      const pick = this.#pick(hookId, line, now);
      if (pick.wakeAt !== undefined) earliest = Math.min(earliest, pick.wakeAt);
      if (!pick.slot) continue;
      const slot = pick.slot;
      line.busy = true;
      slot.running = true;
      this.#active++;
      // Round robin: a hook that was served goes to the back of the line.
      this.#outbox.lines.delete(hookId);
      this.#outbox.lines.set(hookId, line);
      this.track(
        this.#runSlot(hookId, slot).catch((e) => {
          // After settle(): the store is closed under it; the next start picks the job up.
          if (this.#sealed) {
            return this.#log.debug("run ended after the queue closed", { error: e });
          }
          this.#log.error("queue worker error", { hook: hookId, error: e });
          slot.notBefore = this.#clock.now() + 5_000;
        }).finally(() => {
          slot.running = false;
          line.busy = false;
          this.#active--;
          if (line.slots.length === 0 && this.#outbox.lines.get(hookId) === line) {
            this.#outbox.lines.delete(hookId);
          }
          this.#pump();
        }),
      );
    }
    if (earliest < Infinity) this.#armTimer(earliest);
  }

  /** The job of this hook to run now, or when to look again. */
  #pick(hookId: string, line: Line, now: number): { slot?: Slot; wakeAt?: number } {
    let wakeAt: number | undefined;
    for (const s of line.slots) {
      if (this.#outbox.olderBeingStored(hookId, s.seq)) break;
      if (this.#dropping.has(s.id)) continue; // ending now (#dropSlot)
      const type = this.#types.get(s.type);
      const ready = type !== undefined && (type.ready?.() ?? true);
      const due = s.notBefore <= now;
      if (ready && due) return { slot: s };
      if (ready && !due) wakeAt = Math.min(wakeAt ?? Infinity, s.notBefore);
      // A job not set aside holds the jobs behind it; one set aside does not.
      if (!s.aside) break;
    }
    return wakeAt === undefined ? {} : { wakeAt };
  }

  #armTimer(at: number): void {
    if (this.#timer !== undefined && this.#timerAt <= at) return;
    this.#timer?.cancel();
    this.#timerAt = at;
    this.#timer = this.#clock.after(Math.max(0, at - this.#clock.now()), () => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.#pump();
    });
  }

  /** Every 30 s: long-waiting notices (and a pump, in case a type became ready silently). */
  #housekeeping(): void {
    if (this.#closing) return;
    this.#tick = this.#clock.after(TICK_MS, () => this.#housekeeping());
    this.#noticeWaiting();
    this.#pump();
  }

  #noticeWaiting(): void {
    const limit = this.#o.waitNoticeMs ?? 10 * 60_000;
    const now = this.#clock.now();
    for (const line of this.#outbox.lines.values()) {
      for (const s of line.slots) {
        if (s.waitNoticeSent || now - s.createdAt < limit) continue;
        s.waitNoticeSent = true;
        this.track(this.#markNoticed(line, s));
      }
    }
  }

  async #markNoticed(line: Line, s: Slot): Promise<void> {
    const hookId = [...this.#outbox.lines].find(([, l]) => l === line)?.[0];
    if (hookId === undefined) return;
    const read = await this.#outbox.read(hookId, s.seq).catch(() => null);
    if (!read) return;
    // A running attempt writes the flag with its own update (see #runSlot).
    if (!s.running) {
      await this.#outbox.repo.update({ ...read.entry, waitNoticeSent: true }).catch(() => {});
    }
    this.#emit({
      kind: "waiting",
      id: s.id,
      type: s.type,
      hook: read.entry.hook,
      createdAt: s.createdAt,
      attempts: s.attempts,
      lastError: s.lastError,
    });
  }

  async #runSlot(hookId: string, slot: Slot): Promise<void> {
    let read;
    try {
      read = await this.#outbox.read(hookId, slot.seq);
    } catch (e) {
      const entry = await this.#outbox.repo.get(hookId, slot.seq);
      if (entry) {
        await this.#finish(entry, null, "failed", {
          code: "spool_lost",
          message: e instanceof Error ? e.message : String(e),
        }, null);
      }
      return;
    }
    if (!read) {
      this.#outbox.forget(hookId, slot.seq);
      return;
    }
    let entry = read.entry;
    // The step that may have been carried out unrecorded began after the time the entry names
    // (a request a dead process had claimed) or after the entry's last write (the job that may
    // have been running at an unclean stop). Checked by this attempt only: what it does, it
    // records, so the mark is not written back.
    let unrecordedSince: number | undefined;
    if (slot.resume) {
      unrecordedSince = entry.unrecordedSince ?? entry.updatedAt;
      if (entry.unrecordedSince !== undefined) {
        const { unrecordedSince: _, ...rest } = entry;
        entry = rest;
      }
    }
    const type = this.#type(entry.type);
    if (slot.dropReason) {
      return await this.#finish(entry, read.payload, "failed", slot.dropReason, null);
    }
    slot.started = true;
    const wakesAtStart = this.#wakes;
    const run: JobRun<unknown, unknown> = {
      id: entry.id,
      hook: entry.hook,
      payload: read.payload,
      state: entry.state,
      attempts: entry.attempts,
      createdAt: entry.createdAt,
      persisted: true,
      ...(unrecordedSince === undefined ? {} : { unrecordedSince }),
      signal: this.#cut.signal,
      readBlob: (s) => this.#outbox.repo.readBlob(hookId, entry.seq, s),
      progress: async (state) => {
        // Sealed: not recorded, so the next start checks the chat for this part.
        if (this.#sealed) throw new Error("the queue is closed");
        entry = { ...entry, state, updatedAt: this.#clock.now() };
        await this.#outbox.update(entry);
      },
    };
    let a = await this.#attempt(type, run);
    if (this.#sealed) return; // ended after the store's last write: left as it was recorded
    // Checked once: whatever this attempt did, it recorded.
    slot.resume = false;
    if (slot.dropReason) {
      return await this.#finish(entry, read.payload, "failed", slot.dropReason, null);
    }
    if (a.kind === "done") return await this.#finish(entry, read.payload, "done", null, a);
    if (a.kind === "failed") return await this.#finish(entry, read.payload, "failed", a.error, a);
    if (this.#closing) return; // progress is stored; the next start resumes
    const now = this.#clock.now();
    // Trouble that looked like the job's own while the link went down with it (an upload
    // refused because TrueConf is restarting) is the link's: it must not set the job aside.
    if (a.scope === "job" && !(type.ready?.() ?? true)) a = { ...a, scope: "link" };
    const attempts = entry.attempts + 1;
    entry = { ...entry, state: a.state };
    if (now >= entry.deadline) {
      const hours = Math.round((entry.deadline - entry.createdAt) / 360_000) / 10;
      return await this.#finish({ ...entry, attempts }, read.payload, "failed", {
        code: "gave_up",
        message: `not delivered within ${hours} h; last error: ${a.error.message}`,
      }, a);
    }
    // A link failure is the link's, not the job's: while the link is down the job's type is
    // not ready and nothing runs, and when it is back (wake) the job goes at once. So the
    // job gets no growing backoff for it (issue 10.8: attempts made while the link flapped
    // had pushed a remainder's next try 30–60 s past TrueConf's return) — only a short pause,
    // none at all when the link came back while this attempt was failing on the old one.
    const wait = a.scope === "link"
      ? (this.#wakes !== wakesAtStart
        ? 0
        : Math.min(LINK_RETRY_MS, backoffDelay(attempts, type.backoff ?? this.#o.backoff)))
      : a.retryAfterMs ?? backoffDelay(attempts, type.backoff ?? this.#o.backoff);
    const notBefore = Math.min(now + wait, entry.deadline);
    if (a.scope === "job") {
      if (slot.ownFailures++ === 0) slot.ownSince = now;
    } else if (a.scope === "link") slot.ownFailures = 0;
    const aside = entry.aside || (a.scope === "job" &&
      (slot.ownFailures >= (this.#o.asideAfterAttempts ?? 3) ||
        now - slot.ownSince >= (this.#o.asideAfterMs ?? 120_000)));
    entry = {
      ...entry,
      attempts,
      lastError: { code: a.error.code, message: a.error.message },
      notBefore,
      aside,
      waitNoticeSent: entry.waitNoticeSent || slot.waitNoticeSent,
      updatedAt: now,
    };
    await this.#outbox.update(entry);
    slot.attempts = attempts;
    slot.notBefore = notBefore;
    slot.lastError = entry.lastError;
    if (aside && !slot.aside) {
      slot.aside = true;
      this.#log.warn("delivery set aside: later messages of the hook go first", {
        hook: hookId,
        delivery: entry.id,
        attempts,
        error: a.error.code,
      });
      this.#emit({ kind: "set_aside", id: entry.id, hook: entry.hook, error: a.error });
    }
    this.#log.info("delivery will be retried", {
      hook: hookId,
      delivery: entry.id,
      attempts,
      scope: a.scope,
      error: a.error.code,
      inMs: notBefore - now,
    });
  }

  /** One attempt; a type that throws (or rejects) gets a retry (`internal_error`). */
  #attempt<P, S>(type: JobType<P, S>, run: JobRun<P, S>): Promise<Attempt<S>> {
    // Not async: an async wrapper would hold a frame for the whole delivery only to pass
    // the attempt through.
    const crashed = (e: unknown): Attempt<S> => ({
      kind: "retry",
      state: run.state,
      scope: "job",
      error: { code: "internal_error", message: e instanceof Error ? e.message : String(e) },
    });
    try {
      return type.run(run).catch(crashed);
    } catch (e) {
      return Promise.resolve(crashed(e));
    }
  }

  async #finish(
    entry: OutboxEntry,
    payload: unknown,
    outcome: "done" | "failed",
    error: JobError | null,
    a: Attempt<unknown> | null,
  ): Promise<void> {
    const now = this.#clock.now();
    const state = a?.state ?? entry.state;
    const result = a && a.kind !== "retry" ? a.result ?? null : null;
    const done: DoneRecord = {
      id: entry.id,
      type: entry.type,
      state: outcome,
      attempts: entry.attempts + (a && a.kind !== "retry" ? 1 : 0),
      createdAt: entry.createdAt,
      updatedAt: now,
      error,
      result,
      expiresAt: now + this.retentionMs,
    };
    await this.#outbox.finish({ ...entry, state }, done);
    this.#ended({
      id: entry.id,
      type: entry.type,
      hook: entry.hook,
      payload,
      state,
      outcome,
      error,
      result,
      attempts: done.attempts,
      createdAt: entry.createdAt,
      inline: false,
    });
  }

  /**
   * The `queue depth` info line (issue 5: depth visible in the log, not only in /readyz and
   * /metrics): when the depth moved by 10 % (at least 100) since the last line, or emptied
   * after one, so an outage's backlog shows in the log; a queue that keeps filling and emptying
   * by a few messages (each has its own `job queued` line) adds nothing.
   */
  #logDepth(depth: number): void {
    const last = this.#loggedDepth;
    const moved = Math.abs(depth - last) >= Math.max(100, last * 0.1);
    if (!moved && !(depth === 0 && last > 0)) return;
    this.#loggedDepth = depth;
    this.#log.info("queue depth", { depth, hooks: this.#hooksWithBacklog() });
  }

  /** Hooks with at least one waiting job (`/readyz`'s `hooksWithBacklog`). */
  #hooksWithBacklog(): number {
    return [...this.#outbox.lines.values()].filter((l) => l.slots.length > 0).length;
  }

  #ended(end: JobEnd): void {
    try {
      this.#types.get(end.type)?.finished?.(end);
    } catch (e) {
      this.#log.error("job type's finished() threw", { type: end.type, error: e });
    }
    this.#emit({ kind: "ended", end });
  }

  #emit(event: EngineEvent): void {
    try {
      this.#o.onEvent?.(event);
    } catch (e) {
      this.#log.error("engine listener threw", { event: event.kind, error: e });
    }
  }
}

/**
 * The {@link JobRun} of a run inside the request: progress is kept in memory (`latest`). A
 * class rather than an object literal with two closures per delivery (issue 16).
 */
class InlineRun<P, S> implements JobRun<P, S> {
  readonly id = "";
  readonly hook: JobHook;
  readonly payload: P;
  readonly state: S;
  readonly attempts = 0;
  readonly createdAt: number;
  readonly persisted = false;
  readonly signal: AbortSignal;
  readonly live: unknown;
  readonly #blobs: ReadonlyMap<number, Uint8Array> | undefined;
  /** The state of the last {@link progress} (the enqueue's until then). */
  latest: S;
  /** Whether any progress was recorded. */
  progressed = false;

  constructor(o: EnqueueOptions<P, S>, createdAt: number, signal: AbortSignal) {
    this.hook = o.hook;
    this.payload = o.payload;
    this.state = this.latest = o.state;
    this.createdAt = createdAt;
    this.signal = signal;
    this.live = o.live;
    this.#blobs = o.blobs;
  }

  readBlob(slot: number): Promise<Uint8Array | null> {
    return Promise.resolve(this.#blobs?.get(slot) ?? null);
  }

  progress(s: S): Promise<void> {
    this.latest = s;
    this.progressed = true;
    return Promise.resolve();
  }
}

/**
 * The run inside a request that a dead process may have run first (its `Idempotency-Key` claim
 * left pending): a class of its own so that the run of every other request carries no field
 * more (issue 16).
 */
class ResumedInlineRun<P, S> extends InlineRun<P, S> {
  readonly unrecordedSince: number;

  constructor(o: EnqueueOptions<P, S>, createdAt: number, signal: AbortSignal, since: number) {
    super(o, createdAt, signal);
    this.unrecordedSince = since;
  }
}

/** A remainder's payload and blobs without what already happened (see `JobType.compact`). */
function compacted<P, S>(
  type: JobType<P, S>,
  o: EnqueueOptions<P, S>,
  state: S,
): { payload: P; blobs: ReadonlyMap<number, Uint8Array> | undefined } {
  if (!type.compact) return { payload: o.payload, blobs: o.blobs };
  const c = type.compact(o.payload, state);
  const blobs = o.blobs && new Map([...o.blobs].filter(([slot]) => c.keepBlob(slot)));
  return { payload: c.payload, blobs };
}

function dropMessage(reason: string): string {
  switch (reason) {
    case "hook_revoked":
      return "the webhook was revoked; its waiting messages were dropped";
    case "dropped_by_operator":
      return "dropped by the operator (hooks queue drop)";
    default:
      return `dropped: ${reason}`;
  }
}

/** Reasons a hook's jobs end for: the hook is gone, and the next start drops what is left. */
const ENDED_HOOK = new Set(["hook_revoked", "hook_expired"]);

const READ_COMMANDS_FAILED = "could not read the operator's queue commands";

/** Tries of a command that fails before it is answered as failed (see applyCommands). */
export const COMMAND_TRIES = 3;
/** The wait before the next try of a command that failed. */
export const COMMAND_RETRY_MS = 1_000;

/**
 * The answer to a command the bot could not carry out: what failed, with the store's error,
 * what that left as it was (so the operator knows whether to look), and what to do.
 */
function notCarriedOut(command: QueueCommand, cause: unknown): string {
  const left = command.op === "drop_hook"
    ? `some of the hook's deliveries may have been dropped, 'hooks queue --hook ${command.hookId}' shows what still waits`
    : command.op === "drop" || command.op === "retry"
    ? "nothing was changed, the delivery still waits"
    : "nothing was changed";
  return `the bot could not carry out '${commandLine(command)}' (${
    errorText(cause)
  }; tried ${COMMAND_TRIES} times): ${left}. Run the command again once the bot's store is healthy (its log says more).`;
}

/** A command as the operator typed it (`hooks queue drop <id>`), for the warnings. */
function commandLine(command: QueueCommand): string {
  switch (command.op) {
    case "retry":
      return `hooks queue retry ${command.id}`;
    case "drop":
      return `hooks queue drop ${command.id}`;
    case "drop_hook":
      return `hooks queue drop --hook ${command.hookName ?? command.hookId}`;
    default:
      return `hooks queue ${(command as { op?: unknown }).op}`;
  }
}
