/**
 * The job engine and the durable delivery queue built on it.
 *
 * - {@link JobEngine} (`job_engine.ts`, the scheduler) over the outbox
 *   (`outbox.ts`: per-hook FIFO lines, persistence, spool of bytes) runs {@link JobType}s
 *   (`job_type.ts`: the interface, with an example of registering a type and enqueueing).
 * - `post` (`post_job.ts`): the job type "post a Message into a chat".
 * - {@link DurableQueue} (`durable_queue.ts`): the {@link Dispatcher} the HTTP endpoint uses
 *   in production; posts within the request when it can, else queues; wraps
 *   `Idempotency-Key` handling (`idempotency.ts`) and counts deliveries once.
 *
 * See `docs/delivery.md` for the design, the order guarantees and measurements.
 *
 * @module
 */
import type { Dispatcher } from "../dispatch.ts";
import { DurableQueue, type DurableQueueOptions, type QueueStats } from "./durable_queue.ts";
import type { JobEngine } from "./job_engine.ts";
import type { CreatorNotifier } from "../creator_notifier.ts";

export {
  DurableQueue,
  type DurableQueueOptions,
  type EngineTuning,
  type QueueClient,
  type QueueMetrics,
  type QueueStats,
  RETRY_AFTER_SECONDS,
} from "./durable_queue.ts";
export {
  type EngineEvent,
  type EngineStats,
  type InlineResult,
  JobEngine,
  type JobEngineOptions,
  type WaitingInfo,
} from "./job_engine.ts";
export { storageUnavailable } from "./idempotency.ts";
export {
  SENDER_STORE_WAIT_MS,
  storeTooSlow,
  TOO_SLOW,
  withinSenderWait,
} from "./sender_store_wait.ts";
export type * from "./job_type.ts";
export { type Clock, systemClock, type TimerHandle } from "../clock.ts";
export type { LogFields, Logger } from "../../log.ts";
export type {
  ClaimResult,
  DoneRecord,
  IdempotencyRecord,
  OutboxEntry,
  OutboxHook,
  OutboxRepo,
  QueueCommand,
  QueueCommandResult,
} from "../../storage/mod.ts";
export type { StoredPart } from "./_stored_parts.ts";
export { POST, postJob, postJobType, type PostResult, type PostState } from "./post_job.ts";
export { backoffDelay, type BackoffOptions } from "./_backoff.ts";
export type { ResumedRun } from "../reconcile.ts";

/** The queue as the composition root uses it. */
export interface DeliveryQueue extends Dispatcher {
  /** Starts the worker (the persisted queue is loaded from construction on). */
  start(): void;
  /** The TrueConf link is authorized again: retry every hook now. */
  wake(): void;
  /** Depth, limits, oldest age and stuck hooks for `/readyz`, `/metrics` and logs. */
  stats(): QueueStats;
  /** Resolves once the persisted queue has been loaded. */
  ready(): Promise<void>;
  /**
   * Drops every waiting delivery of a hook: each ends `failed` with `reason` as its error
   * code (e.g. `hook_revoked`). Resolves to the number dropped.
   */
  dropHook(hookId: string, reason: string): Promise<number>;
  /** The engine: register other job types here (before `start`). */
  readonly engine: JobEngine;
  /** The creator DM digest (at most one DM per hook per 10 min). */
  readonly notifier: CreatorNotifier;
  /**
   * Graceful stop: no new work, in-flight deliveries get up to `graceMs`, then the cut and
   * at most `cutWaitMs` (default 2 s) for runs to stop; the rest stays persisted. Call before
   * closing the KV handle.
   */
  close(graceMs?: number, cutWaitMs?: number): Promise<void>;
  /**
   * After {@link close} and the TrueConf client's close: waits up to `waitMs` for runs the cut
   * left waiting on TrueConf to record their end, then writes nothing more. Call just before
   * the store closes.
   */
  settle(waitMs: number): Promise<void>;
}

/**
 * Builds the queue and starts loading its persisted state.
 *
 * @example
 * ```ts
 * function wire(options: DurableQueueOptions) {
 *   const queue = createQueue(options);
 *   queue.start();
 *   return queue; // … await queue.close(10_000) before kv.close()
 * }
 * void wire;
 * ```
 */
export function createQueue(options: DurableQueueOptions): DeliveryQueue {
  return new DurableQueue(options);
}
