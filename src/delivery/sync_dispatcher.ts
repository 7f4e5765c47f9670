/**
 * Delivers a payload within the request: 200 with message ids, 502 when parts failed for
 * good, 503 + Retry-After when TrueConf is unreachable or silent. The durable queue wraps
 * this behaviour and turns the 503 cases into "accepted for later".
 *
 * @module
 */
import type { DeliveryStatus, Dispatcher, DispatchOutcome, DispatchRequest } from "./dispatch.ts";
import { type Deliverer, planParts, type RunResult } from "./deliverer.ts";

/** Seconds a caller is told to wait when TrueConf is unreachable. */
export const RETRY_AFTER_SECONDS = 5;

/** Maps a finished {@link RunResult} to an outcome (transient stops become a 503). */
export function outcomeOf(r: RunResult, allIds: readonly string[] = r.messageIds): DispatchOutcome {
  if (r.error?.transient) {
    return {
      kind: "refused",
      status: 503,
      code: "trueconf_unavailable",
      message: `The chat server is unreachable right now (${r.error.message}). Retry later.`,
      retryAfterSeconds: RETRY_AFTER_SECONDS,
    };
  }
  if (r.failures.length === 0) return { kind: "delivered", messageIds: allIds };
  if (allIds.length > 0) return { kind: "partial", messageIds: allIds, failures: r.failures };
  return {
    kind: "refused",
    status: 502,
    code: r.error?.code ?? "delivery_failed",
    message: r.error?.message ?? "No part of the message could be posted.",
    failures: r.failures,
  };
}

/** A dispatcher without a queue. */
export class SyncDispatcher implements Dispatcher {
  constructor(
    private readonly deliverer: Deliverer,
    private readonly isLinkUp: () => boolean,
  ) {}

  async dispatch({ hook, message }: DispatchRequest): Promise<DispatchOutcome> {
    if (!this.isLinkUp()) {
      return {
        kind: "refused",
        status: 503,
        code: "trueconf_unavailable",
        message: "The chat server is unreachable right now. Retry later.",
        retryAfterSeconds: RETRY_AFTER_SECONDS,
      };
    }
    const r = await this.deliverer.run(hook.chatId, planParts(message));
    return outcomeOf(r);
  }

  status(): Promise<DeliveryStatus | null> {
    return Promise.resolve(null);
  }
}
