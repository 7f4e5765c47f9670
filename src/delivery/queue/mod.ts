/**
 * The durable delivery queue (issue 5): what the HTTP endpoint dispatches to in production.
 * Delivers at once when the chat link is up and the hook has no backlog; otherwise persists
 * the request in a KV outbox and delivers it later, in order per hook, exactly once as seen
 * in the chat. See `durable_queue.ts` for the rules and `docs/delivery.md` for the design
 * and measurements.
 *
 * @module
 */
import type { Dispatcher } from "../dispatch.ts";
import { DurableQueue, type DurableQueueOptions, type QueueStats } from "./durable_queue.ts";

export {
  DurableQueue,
  type DurableQueueOptions,
  type QueueClient,
  type QueueStats,
} from "./durable_queue.ts";
export { backoffDelay, type BackoffOptions } from "./_backoff.ts";

/** The queue as the composition root uses it. */
export interface DeliveryQueue extends Dispatcher {
  /** Starts the worker (the persisted queue is loaded from construction on). */
  start(): void;
  /** The TrueConf link is authorized again: retry every hook now. */
  wake(): void;
  /** Depth and limits for `/readyz` and logs. */
  stats(): QueueStats;
  /** Resolves once the persisted queue has been loaded. */
  ready(): Promise<void>;
  /**
   * Graceful stop: no new work, in-flight deliveries get up to `graceMs`, the rest stays
   * persisted. Call before closing the KV handle.
   */
  close(graceMs?: number): Promise<void>;
}

/**
 * Builds the queue and starts loading its persisted state.
 *
 * @example
 * ```ts
 * async function serve(options: DurableQueueOptions): Promise<void> {
 *   const queue = createQueue(options); // { kv, deliverer, client, store, limits, logger }
 *   queue.start();
 *   // …
 *   await queue.close(10_000);
 *   options.kv.close();
 * }
 * ```
 */
export function createQueue(options: DurableQueueOptions): DeliveryQueue {
  return new DurableQueue(options);
}
