/**
 * The seam between the HTTP endpoint and delivery: the endpoint hands a {@link Message}
 * to a {@link Dispatcher} and turns the {@link DispatchOutcome} into an HTTP answer (how
 * each sender wants to be answered is the HTTP layer's business, not delivery's).
 * The dispatcher decides whether a message goes out now or waits in the durable queue.
 *
 * @module
 */
import type { Message } from "../message.ts";

/** What delivery needs to know about a hook. */
export interface HookRef {
  /** The hook's id (a UUID). */
  readonly id: string;
  /** The chat it posts into. */
  readonly chatId: string;
  /** Its name, for logs and DMs. */
  readonly name: string;
  /** TrueConf id of its creator, who is told about failures. */
  readonly createdBy: string;
  /** Small per-hook settings (`alerts`, `mentions`); absent = defaults. */
  readonly settings?: Readonly<Record<string, string>> | undefined;
}

/** One part of a message that could not be posted. */
export interface PartFailure {
  /** Which part: `text`, `text 2/3`, `image 1 (https://…/a.png)`, `file 2 (report.pdf)`. */
  readonly item: string;
  /** Stable machine code, e.g. `fetch_failed`, `unsafe_url`, `upload_failed`. */
  readonly code: string;
  /** One human sentence saying what went wrong. */
  readonly message: string;
}

/**
 * What happened to a request. `replay` marks the stored outcome of an earlier request with
 * the same `Idempotency-Key`: answer it the same way, but it is not a new delivery (usage
 * counts, metrics and the duration histogram skip it).
 */
export type DispatchOutcome = DispatchOutcomeKind & { readonly replay?: boolean };

/** The kinds of {@link DispatchOutcome}. */
export type DispatchOutcomeKind =
  /** Every part reached the chat. */
  | { readonly kind: "delivered"; readonly messageIds: readonly string[] }
  /** Persisted; will be delivered when TrueConf is reachable. */
  | { readonly kind: "queued"; readonly deliveryId: string }
  /**
   * The text (or some parts) reached the chat, other parts failed for good. Native senders
   * are answered `502 partial_delivery` listing `failures`; dialect senders whose text
   * arrived get their own success answer (the HTTP layer decides).
   */
  | {
    readonly kind: "partial";
    readonly messageIds: readonly string[];
    readonly failures: readonly PartFailure[];
    /** Its status record (`GET …/deliveries/<id>`), when the store took it. */
    readonly deliveryId?: string;
  }
  /** Nothing accepted: `status` is the HTTP status to answer with. */
  | {
    readonly kind: "refused";
    readonly status: 400 | 404 | 409 | 413 | 422 | 502 | 503;
    readonly code: string;
    readonly message: string;
    readonly retryAfterSeconds?: number;
    readonly failures?: readonly PartFailure[];
    /** With `failures`: the run's status record, as for `partial`. */
    readonly deliveryId?: string;
  };

/** A request to deliver one message through one hook. */
export interface DispatchRequest {
  /** The hook the request came through. */
  readonly hook: HookRef;
  /** What to post. */
  readonly message: Message;
  /** The `Idempotency-Key` header, if the sender gave one. */
  readonly idempotencyKey?: string | undefined;
  /**
   * With {@link idempotencyKey}: a digest of the request's payload (the ingest's), stored with
   * the key; the key reused with another digest is refused (`422 idempotency_key_reused`).
   */
  readonly payloadDigest?: string | undefined;
  /**
   * Stored even while the queue closes or is full: what the message answers already happened
   * and cannot be asked again (an outgoing hook's answer, its call made).
   */
  readonly accepted?: boolean | undefined;
}

/** State of a queued delivery (or of one answered within its request with failed parts), for `GET /hook/<token>/deliveries/<id>`. */
export interface DeliveryStatus {
  /** The delivery id (as in the `202` answer). */
  readonly id: string;
  /** Where it is: waiting, being posted, posted, or given up. */
  readonly state: "queued" | "delivering" | "delivered" | "failed";
  /** Attempts that failed and were retried. */
  readonly attempts: number;
  /** When it was accepted (ISO 8601). */
  readonly createdAt: string;
  /** When its state last changed (ISO 8601). */
  readonly updatedAt: string;
  /** TrueConf ids of the parts posted so far. */
  readonly messageIds: readonly string[];
  /** Why it failed (or why the last attempt did). */
  readonly error?: { readonly code: string; readonly message: string };
  /** Parts that failed for good. */
  readonly failures?: readonly PartFailure[];
  /** Failing on its own, it no longer holds up the hook's later messages (still retried). */
  readonly setAside?: boolean;
  /** When the next attempt is due (ISO 8601), while waiting out a backoff. */
  readonly nextAttemptAt?: string;
}

/** Edits and removals of messages a hook posted (src/messages/ implements it). */
export interface MessageEditor {
  /** Replaces the text of `target` (a message id or key of the hook). */
  edit(request: DispatchRequest & { readonly target: string }): Promise<DispatchOutcome>;
  /** Removes `target` for everyone. */
  remove(
    request: Omit<DispatchRequest, "message"> & { readonly target: string },
  ): Promise<DispatchOutcome>;
}

/** Delivers payloads, now or later. */
export interface Dispatcher {
  /** Delivers now, queues, or refuses; never throws for a delivery problem. */
  dispatch(request: DispatchRequest): Promise<DispatchOutcome>;
  /** The state of a queued delivery of this hook, or null when unknown. */
  status(hookId: string, deliveryId: string): Promise<DeliveryStatus | null>;
}
