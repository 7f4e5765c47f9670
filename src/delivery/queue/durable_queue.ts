/**
 * The durable delivery queue: the {@link Dispatcher} production uses. It posts a Message
 * through the {@link JobEngine} as a `post` job, within the request when it can, otherwise
 * stored and posted later, exactly once as seen in the chat (up to the crash window below).
 *
 * - **Within the request.** TrueConf authorized and nothing waiting for this hook (an
 *   in-memory lookup): the parts are posted at once and nothing is written to KV (unless
 *   the sender gave an `Idempotency-Key`). If the run stops on a transient error, the rest
 *   (from the first part not posted, uploads spooled) is stored before answering 202, so a
 *   partial delivery never re-posts its text.
 * - **Queued.** Link down or a backlog for the hook: stored, answered 202 `{queued:true,
 *   delivery}`; the engine posts it later (see `job_engine.ts` for order, retries, setting
 *   aside and deadlines). Permanent failures (chat-level 303/304/305, parts failing for
 *   good) end the job at once; the hook's creator gets a DM digest naming part and reason.
 * - **Crash window.** A part posted to the chat but not yet recorded when the process dies
 *   would be posted again by the next run: at most one part per hook in flight, between
 *   TrueConf's answer and one KV commit (~1 ms). After an unclean stop such runs (each hook's
 *   job that may have been running, a request whose `Idempotency-Key` the dead process had
 *   claimed) look in the chat's history first (`resume`, src/delivery/reconcile.ts).
 * - **Counting.** This class is the one owner of "a delivery happened": hook usage
 *   (`recordDelivery`) and the duration histogram, for both paths; replays of an
 *   `Idempotency-Key` are marked and not counted.
 * - **Limits.** `maxPerHook` and `maxTotal` bound the queue; when full, 503 `queue_full` with
 *   Retry-After. A remainder of a partly posted request is stored even over the limit.
 *
 * @module
 */
import type {
  DeliveryStatus,
  Dispatcher,
  DispatchOutcome,
  DispatchRequest,
  HookRef,
  PartFailure,
} from "../dispatch.ts";
import type { Deliverer } from "../deliverer.ts";
import type { Logger } from "../../log.ts";
import { silentLogger } from "../../log.ts";
import {
  type EngineEvent,
  type EngineStats,
  type InlineResult,
  JobEngine,
  type JobEngineOptions,
  type WaitingInfo,
} from "./job_engine.ts";
import type { EnqueueOptions, EnqueueResult } from "./job_type.ts";
import type { StoredPart } from "./_stored_parts.ts";
import { Idempotency } from "./idempotency.ts";
import {
  editMerger,
  POST,
  postJob,
  postJobType,
  type PostResult,
  type PostState,
} from "./post_job.ts";
import { CreatorNotifier, type DmSender } from "../creator_notifier.ts";
import type { ResumedRun } from "../reconcile.ts";

/** Seconds a caller is told to wait when the bot cannot take the message now. */
export const RETRY_AFTER_SECONDS = 5;

/** What the queue needs of the TrueConf client. */
export interface QueueClient extends DmSender {
  /**
   * Whether TrueConf is reachable (queued jobs wait while it is not); asked for every
   * delivery, so a plain getter rather than a copy of the whole state.
   */
  readonly authorized: boolean;
}

/** The engine's tuning the queue passes through (see {@link JobEngineOptions}). */
export type EngineTuning = Pick<
  JobEngineOptions,
  | "clock"
  | "concurrency"
  | "maxAgeMs"
  | "backoff"
  | "asideAfterAttempts"
  | "asideAfterMs"
  | "retentionMs"
  | "waitNoticeMs"
  | "commandPollMs"
  | "endedHook"
  | "uncleanStart"
>;

/** Options of {@link DurableQueue}; see `createQueue` in mod.ts. */
export interface DurableQueueOptions extends EngineTuning {
  /** Where jobs are kept. */
  kv: Deno.Kv;
  /** Posts a message's parts. */
  deliverer: Pick<Deliverer, "run">;
  /**
   * The deliverer of a run a process that stopped uncleanly may have posted: it looks in the
   * chat's history first (src/delivery/reconcile.ts; `postJobType`'s `resume`).
   */
  resume?: ((run: ResumedRun) => Pick<Deliverer, "run">) | undefined;
  /** The TrueConf client (state and DMs). */
  client: QueueClient;
  /** Hook usage: counted once per message that reached the chat (either path). */
  store?: {
    recordDelivery(hookId: string): void;
    /** The final state of a queued delivery, for the hook's request history (`/webhook_info`). */
    recordRequest?(
      hookId: string,
      entry: { status: number; format: string; outcome: string; error?: string | undefined },
    ): void;
  } | undefined;
  /** Most jobs waiting per hook and in all. */
  limits: { maxPerHook: number; maxTotal: number };
  /** Where the queue logs. Default: silent. */
  logger?: Logger | undefined;
  /** Queue depth, durations and failed parts for `/metrics`. */
  metrics?: QueueMetrics | undefined;
  /** How long a request waits for a concurrent one with the same Idempotency-Key. Default 5 s. */
  idempotencyWaitMs?: number | undefined;
  /** At most one DM per hook in this window. Default 10 min. */
  notifyIntervalMs?: number | undefined;
}

/** Metrics the queue reports. */
export interface QueueMetrics {
  /** Jobs stored. */
  queueDepth: { set(depth: number): void };
  /**
   * Time from acceptance to the end of a delivery, once per accepted message: within the
   * request, or when a queued one ends (its wait included).
   */
  deliveryDuration?: {
    observe(result: "delivered" | "partial" | "failed", seconds: number): void;
  };
  /** Parts that failed for good, by code. */
  failedParts?: { inc(code: string): void };
}

/** Numbers for `/readyz`, `/metrics` and logs. */
export interface QueueStats extends EngineStats {
  /** Hooks whose oldest waiting delivery has failed at least once, oldest first (≤ 10). */
  readonly stuckHooks: readonly { hook: string; ageSeconds: number; lastError: string | null }[];
}

/** See the module doc. */
export class DurableQueue implements Dispatcher {
  readonly #o: DurableQueueOptions;
  readonly #log: Logger;
  readonly #engine: JobEngine;
  readonly #idem: Idempotency;
  readonly #notifier: CreatorNotifier;

  /** A queue; the stored jobs start loading at once. */
  constructor(options: DurableQueueOptions) {
    this.#o = options;
    this.#log = options.logger ?? silentLogger;
    const { kv, limits, clock, concurrency, maxAgeMs, backoff, retentionMs } = options;
    const { asideAfterAttempts, asideAfterMs, waitNoticeMs, commandPollMs, endedHook } = options;
    this.#engine = new JobEngine({
      kv,
      limits,
      logger: this.#log,
      ...{ clock, concurrency, maxAgeMs, backoff, retentionMs },
      ...{ asideAfterAttempts, asideAfterMs, waitNoticeMs, commandPollMs, endedHook },
      uncleanStart: options.uncleanStart,
      onDepth: (d) => options.metrics?.queueDepth.set(d),
      onEvent: (e) => this.#onEvent(e),
    });
    this.#engine.register(postJobType({
      deliverer: options.deliverer,
      ready: () => options.client.authorized,
      resume: options.resume,
    }));
    this.#idem = new Idempotency({
      repo: this.#engine.repo,
      clock: this.#engine.clock,
      retentionMs: this.#engine.retentionMs,
      waitMs: options.idempotencyWaitMs ?? 5_000,
    });
    this.#notifier = new CreatorNotifier({
      client: options.client,
      logger: this.#log,
      clock: this.#engine.clock,
      intervalMs: options.notifyIntervalMs,
    });
  }

  /** The job engine under this queue: other job types register here. */
  get engine(): JobEngine {
    return this.#engine;
  }

  /** The creator DM digest, shared with other parts that report hook problems. */
  get notifier(): CreatorNotifier {
    return this.#notifier;
  }

  /** Resolves once the stored jobs are loaded. */
  ready(): Promise<void> {
    return this.#engine.ready();
  }

  /** Starts the worker. */
  start(): void {
    this.#engine.start();
  }

  /** TrueConf is reachable again: retry every hook now. */
  wake(): void {
    this.#engine.wake();
  }

  /** Depth and limits, for `/readyz` and logs. */
  stats(): QueueStats {
    const s = this.#engine.stats();
    const now = this.#engine.clock.now();
    const heads = new Map<string, WaitingInfo>();
    for (const w of this.#engine.list()) if (!heads.has(w.hookId)) heads.set(w.hookId, w);
    const stuckHooks = [...heads.values()]
      .filter((w) => w.attempts > 0)
      .sort((a, b) => a.createdAt - b.createdAt)
      .slice(0, 10)
      .map((w) => ({
        hook: w.hookId,
        ageSeconds: Math.round((now - w.createdAt) / 1000),
        lastError: w.lastError?.code ?? null,
      }));
    return { ...s, stuckHooks };
  }

  /** Drops a hook's waiting deliveries (status `failed`, code `reason`, e.g. `hook_revoked`). */
  dropHook(hookId: string, reason: string): Promise<number> {
    return this.#engine.dropHook(hookId, reason);
  }

  /** Atomic commits made by the outbox (measurements). */
  get commits(): number {
    return this.#engine.repo.commits;
  }

  /**
   * Stops taking work; running deliveries get `graceMs` (then at most `cutWaitMs` to stop at
   * the cut), the rest stays stored.
   */
  async close(graceMs = 10_000, cutWaitMs?: number): Promise<void> {
    await this.#engine.close(graceMs, cutWaitMs);
    await this.#notifier.close();
  }

  /** After `close()` and the client's close: see {@link JobEngine.settle}. */
  settle(waitMs: number): Promise<void> {
    return this.#engine.settle(waitMs);
  }

  // ───────────────────────────── dispatch ─────────────────────────────

  async dispatch(request: DispatchRequest): Promise<DispatchOutcome> {
    const started = performance.now();
    if (!this.#engine.loaded) await this.#engine.ready();
    if (this.#engine.closing && !request.accepted) return shuttingDown();
    const { hook, idempotencyKey, payloadDigest } = request;
    // Without a key (most requests) the run is awaited here: one frame less per delivery.
    let outcome = idempotencyKey === undefined
      ? this.#outcome(hook, await this.#engine.runInline(jobOf(request, undefined)))
      : await this.#idem.run(
        hook.id,
        idempotencyKey,
        payloadDigest,
        // `deadSince`: a process that died had claimed this key then, and may have posted.
        async (alsoWrite, deadSince) =>
          await this.#outcome(
            hook,
            await this.#engine.runInline(
              deadSince === undefined
                ? jobOf(request, alsoWrite)
                : { ...jobOf(request, alsoWrite), unrecordedSince: deadSince },
            ),
          ),
      );
    // Only a run with failed parts stores a record first: a whole success takes no await more.
    if (outcome instanceof Promise) outcome = await outcome;
    // A replay is no delivery; a queued message is observed when it ends (#onEvent); a 503/409
    // refusal accepted nothing (the sender retries, and would be counted again).
    const result = outcome.replay ? null : answeredResult(outcome);
    if (result !== null) {
      this.#o.metrics?.deliveryDuration?.observe(result, (performance.now() - started) / 1000);
    }
    return outcome;
  }

  /**
   * What the sender is answered for a run of its message; a promise only when the run had
   * failed parts, whose status record is stored first ({@link #failedOutcome}).
   */
  #outcome(
    hook: HookRef,
    r: InlineResult<PostState>,
  ): DispatchOutcome | Promise<DispatchOutcome> {
    if (r.kind === "queued") return queuedOutcome(r.enqueued, this.#o.client);
    const result = r.attempt.result as PostResult;
    if (result.messageIds.length > 0) this.#o.store?.recordDelivery(hook.id);
    if (result.failures.length === 0) {
      return { kind: "delivered", messageIds: result.messageIds };
    }
    return this.#failedOutcome(hook, r.attempt, result);
  }

  /** {@link #outcome} of a run with failed parts. */
  async #failedOutcome(
    hook: HookRef,
    attempt: Extract<InlineResult<PostState>, { kind: "ran" }>["attempt"],
    result: PostResult,
  ): Promise<DispatchOutcome> {
    const error = attempt.kind === "failed" ? attempt.error : null;
    const deliveryId = await this.#recordFailedRun(hook, result, error);
    const record = deliveryId === null ? {} : { deliveryId };
    if (result.messageIds.length > 0) {
      return {
        kind: "partial",
        messageIds: result.messageIds,
        failures: result.failures,
        ...record,
      };
    }
    return {
      kind: "refused",
      status: 502,
      code: error?.code ?? "delivery_failed",
      message: error?.message ?? "No part of the message could be posted.",
      failures: result.failures,
      ...record,
    };
  }

  /**
   * Issue 10.2: a failed part is in the delivery status "either way", so a run answered
   * within its request whose parts failed gets the record a queued delivery ends with, and
   * the answer names it. Only such runs write (a whole success stays KV-free). A store that
   * refuses the write costs the sender nothing: the answer goes without the id (logged).
   */
  async #recordFailedRun(
    hook: HookRef,
    result: PostResult,
    error: { code: string; message: string } | null,
  ): Promise<string | null> {
    const now = this.#engine.clock.now();
    // The shape of a queued delivery's id (base-36 number, dash, 8 hex): the time stands in
    // for the sequence number such a run never took.
    const id = `${now.toString(36)}-${crypto.randomUUID().slice(0, 8)}`;
    try {
      await this.#engine.repo.recordDone(hook.id, {
        id,
        type: POST,
        state: result.messageIds.length > 0 ? "done" : "failed",
        attempts: 0,
        createdAt: now,
        updatedAt: now,
        error,
        result: { messageIds: result.messageIds, failures: result.failures },
        expiresAt: now + this.#engine.retentionMs,
      });
      return id;
    } catch (e) {
      this.#log.warn("could not store the status of a delivery with failed parts", {
        hook: hook.id,
        error: e,
      });
      return null;
    }
  }

  // ───────────────────────────── status ─────────────────────────────

  async status(hookId: string, deliveryId: string): Promise<DeliveryStatus | null> {
    const repo = this.#engine.repo;
    const seq = parseInt(deliveryId.split("-")[0] ?? "", 36);
    if (Number.isSafeInteger(seq)) {
      const e = await repo.get(hookId, seq);
      if (e && e.id === deliveryId) {
        const state = e.state as { messageIds?: string[]; failures?: PartFailure[] };
        const failures = state.failures ?? [];
        return {
          id: e.id,
          state: this.#engine.isRunning(e.id) ? "delivering" : "queued",
          attempts: e.attempts,
          createdAt: iso(e.createdAt),
          updatedAt: iso(e.updatedAt),
          messageIds: (state.messageIds ?? []).filter((m) => m !== ""),
          ...(e.lastError ? { error: e.lastError } : {}),
          ...(failures.length ? { failures } : {}),
          ...(e.aside ? { setAside: true } : {}),
          ...(e.notBefore > this.#engine.clock.now() ? { nextAttemptAt: iso(e.notBefore) } : {}),
        };
      }
    }
    const d = await repo.getDone(hookId, deliveryId, this.#engine.clock.now());
    if (!d) return null;
    const result = (d.result ?? {}) as Partial<PostResult>;
    const failures = result.failures ?? [];
    return {
      id: d.id,
      state: d.state === "done" ? "delivered" : "failed",
      attempts: d.attempts,
      createdAt: iso(d.createdAt),
      updatedAt: iso(d.updatedAt),
      messageIds: result.messageIds ?? [],
      ...(d.error ? { error: d.error } : {}),
      ...(failures.length ? { failures } : {}),
    };
  }

  // ───────────────────────────── reports ─────────────────────────────

  #onEvent(e: EngineEvent): void {
    if (e.kind === "waiting") {
      const since = Math.round((this.#engine.clock.now() - e.createdAt) / 60_000);
      this.#log.warn("delivery waiting long", { hook: e.hook.id, delivery: e.id, minutes: since });
      this.#notifier.report(
        e.hook,
        `a message (delivery ${e.id}) has been waiting ${since} min to reach its chat${
          e.lastError ? `; last error: ${e.lastError.message}` : ""
        }. It keeps being retried; later messages of the hook may wait behind it.`,
      );
      return;
    }
    if (e.kind === "set_aside") {
      this.#notifier.report(
        e.hook,
        `a message (delivery ${e.id}) keeps failing (${e.error.message}); it was set aside so later messages go first, and is still retried.`,
      );
      return;
    }
    const end = e.end;
    if (end.type !== POST) return;
    const result = (end.result ?? { messageIds: [], failures: [] }) as PostResult;
    for (const f of result.failures) this.#o.metrics?.failedParts?.inc(f.code);
    if (end.inline) {
      // The sender was answered; the creator still hears about parts that failed.
      if (result.failures.length > 0) this.#reportFailures(end.hook, null, result, end.error);
      return;
    }
    if (result.messageIds.length > 0) this.#o.store?.recordDelivery(end.hook.id);
    const waitedMs = this.#engine.clock.now() - end.createdAt;
    const outcome = end.outcome !== "done"
      ? "failed"
      : result.failures.length
      ? "partial"
      : "delivered";
    this.#o.metrics?.deliveryDuration?.observe(outcome, waitedMs / 1000);
    // Status 0: no HTTP answer, the queued delivery finished later (shown as such by info).
    this.#o.store?.recordRequest?.(end.hook.id, {
      status: 0,
      format: "",
      outcome,
      error: end.error?.code ?? result.failures[0]?.code,
    });
    // The fields of the request's own line ("hook delivery": hook, chat, outcome, ms), so one
    // query finds every delivery's end; ms is from acceptance, the wait included.
    const fields = {
      hook: end.hook.id,
      chat: end.hook.chatId,
      delivery: end.id,
      outcome,
      messages: result.messageIds.length,
      ms: waitedMs,
    };
    if (end.outcome === "done" && result.failures.length === 0) {
      this.#log.info("queued delivery delivered", fields);
      return;
    }
    this.#log.warn(
      end.outcome === "failed" ? "queued delivery failed" : "queued delivery partly failed",
      { ...fields, error: end.error?.code, failures: result.failures.length },
    );
    // Dropped on purpose (revoke, expiry, the operator): nothing to tell the creator.
    if (end.error && DROPPED.has(end.error.code)) return;
    this.#reportFailures(end.hook, end.id, result, end.error);
  }

  #reportFailures(
    hook: HookRef,
    deliveryId: string | null,
    result: PostResult,
    error: { code: string; message: string } | null,
  ): void {
    const which = deliveryId ? `a message (delivery ${deliveryId})` : "a message";
    const parts = result.failures.slice(0, 5).map((f) => `${f.item}: ${f.message}`).join("; ");
    const text = result.messageIds.length === 0
      ? `${which} could not be delivered to its chat and was dropped. Reason: ${
        error?.message ?? parts
      }`
      : `${
        result.failures.length === 1 ? "1 part" : `${result.failures.length} parts`
      } of ${which} could not be posted; the rest reached the chat. ${parts}`;
    this.#notifier.report(hook, text);
  }
}

/** The histogram's result for a message answered within its request; null: not observed now. */
function answeredResult(outcome: DispatchOutcome): "delivered" | "partial" | "failed" | null {
  switch (outcome.kind) {
    case "delivered":
      return "delivered";
    case "partial":
      return "partial";
    case "queued":
      return null;
    case "refused":
      return outcome.status === 502 ? "failed" : null;
  }
}

/** Error codes of deliveries dropped on purpose (no DM about them). */
const DROPPED = new Set(["hook_revoked", "hook_expired", "dropped_by_operator"]);

/** The post job of a request (`alsoWrite`: the idempotency record, stored with it if queued). */
function jobOf(
  { hook, message, accepted }: DispatchRequest,
  alsoWrite: ((id: string) => Deno.KvMutation) | undefined,
): EnqueueOptions<StoredPart[], PostState> {
  const job = postJob(message);
  return {
    type: POST,
    hook: hookOf(hook),
    payload: job.payload,
    state: job.state,
    blobs: job.blobs,
    live: job.live,
    alsoWrite,
    accepted,
    // An edit by key of a post still waiting is folded into it (only for keyed texts; not
    // with an Idempotency-Key, whose outcome is written with a job of its own).
    mergeInto: message.op?.key === undefined && message.op?.act !== "edit" || alsoWrite
      ? undefined
      : editMerger(message),
  };
}

function hookOf(h: HookRef): HookRef {
  return { id: h.id, chatId: h.chatId, name: h.name, createdBy: h.createdBy };
}

function queuedOutcome(r: EnqueueResult, client: QueueClient): DispatchOutcome {
  if (r.ok) return { kind: "queued", deliveryId: r.id };
  switch (r.reason) {
    case "closing":
      return shuttingDown();
    case "full":
      return {
        kind: "refused",
        status: 503,
        code: "queue_full",
        // Full while TrueConf is up: a hook whose chat refuses, or a burst faster than the chat.
        message: `${
          client.authorized
            ? "Earlier messages are still waiting to be delivered"
            : "The chat server is unreachable"
        } and ${r.message}. Retry later; nothing from this request was posted.`,
        retryAfterSeconds: 30,
      };
    case "storage":
      return {
        kind: "refused",
        status: 503,
        code: "storage_unavailable",
        message: "The message could not be stored for later delivery. Retry later.",
        retryAfterSeconds: RETRY_AFTER_SECONDS,
      };
  }
}

function shuttingDown(): DispatchOutcome {
  return {
    kind: "refused",
    status: 503,
    code: "shutting_down",
    message: "The bot is restarting. Retry in a few seconds.",
    retryAfterSeconds: RETRY_AFTER_SECONDS,
  };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
