/**
 * The living-messages face of delivery: a {@link Dispatcher} in front of the durable queue
 * that stamps each accepted message with its {@link TextOp} (hook, key, reply target, alert
 * group, the hook's alert and mention settings, buttons), and the `PATCH`/`DELETE` of
 * `/hook/<token>/messages/<id>`. The work itself happens when the queue posts the parts
 * (see poster.ts), in the hook's order.
 *
 * @module
 */
import type { Message, TextOp } from "../message.ts";
import type {
  DeliveryStatus,
  Dispatcher,
  DispatchOutcome,
  DispatchRequest,
  HookRef,
  MessageEditor,
} from "../delivery/mod.ts";
// From the queue's face, not delivery's: that one would load the preview pool at start.
import {
  type Clock,
  storageUnavailable,
  storeTooSlow,
  systemClock,
  TOO_SLOW,
  withinSenderWait,
} from "../delivery/queue/mod.ts";
import type { MessageRegistry } from "./registry.ts";
import { isTrueConfError, TrueConfApiError } from "../trueconf/mod.ts";

/** Seconds a sender is asked to wait when TrueConf could not be asked about an id. */
const LOOKUP_RETRY_AFTER_SECONDS = 10;

/** Options of {@link LivingDispatcher}. */
export interface LivingDispatcherOptions {
  /** The queue (or any dispatcher) that posts. */
  inner: Dispatcher;
  /** Where posted messages and keys are remembered. */
  registry: MessageRegistry;
  /**
   * The chat a message is in (`getMessageById`), so a `reply_to` may name any message of the
   * hook's chat, a member's question included; without it only the hook's own messages.
   */
  messageChat?: ((messageId: string) => Promise<string>) | undefined;
  /** Times a key's reservation against the sender's wait (tests pass a manual one). */
  clock?: Clock | undefined;
}

/** See the module doc. */
export class LivingDispatcher implements Dispatcher, MessageEditor {
  readonly #inner: Dispatcher;
  readonly #reg: MessageRegistry;
  readonly #messageChat: LivingDispatcherOptions["messageChat"];
  readonly #clock: Clock;
  /** Posts with a key this process is making now, by hook and key (see {@link dispatch}). */
  readonly #keyed = new Map<string, Promise<DispatchOutcome>>();

  /** Wraps `inner`. */
  constructor(options: LivingDispatcherOptions) {
    this.#inner = options.inner;
    this.#reg = options.registry;
    this.#messageChat = options.messageChat;
    this.#clock = options.clock ?? systemClock;
  }

  /** Posts a message; a key the hook used before makes it an edit of that message. */
  dispatch(req: DispatchRequest): Promise<DispatchOutcome> {
    // A reply to any message id (the outgoing hooks' answers to their trigger).
    const replyId = (req as { readonly replyTo?: unknown }).replyTo;
    const op = opFor(
      req.hook,
      req.message,
      typeof replyId === "string" && replyId ? { replyId } : undefined,
    );
    const next = { ...req, message: { ...req.message, op } };
    // Not an async function: most messages have no key, and a frame held for the whole
    // delivery only to pass the queue's promise through is per-request garbage (issue 16).
    if (op.replyTo === undefined) return this.#post(next);
    // A reply to a key whose post this process is still making (sent just before, its answer
    // not back yet) follows that post, as it would in the queue: the reply then finds the
    // parent posted (or queued, and is queued behind it), never a key without its message.
    const parent = this.#keyed.get(`${op.hook}\n${op.replyTo}`);
    if (parent) {
      const after = () => this.#reply(req, next);
      return parent.then(after, after);
    }
    return this.#reply(req, next);
  }

  /** {@link dispatch} of a message with a reply target. */
  #reply(
    req: DispatchRequest,
    next: DispatchRequest & { message: { op: TextOp } },
  ): Promise<DispatchOutcome> {
    const op = next.message.op;
    // (An outgoing hook's answer has its reply target already, and no sender to answer 404.)
    if (op.replyTo === undefined || !req.message.thread?.replyRequired || op.replyId) {
      return this.#post(next);
    }
    return this.#replyChecked(req.hook, op.replyTo).then((checked) =>
      "kind" in checked ? checked : this.#post(
        checked.replyId
          ? { ...next, message: { ...next.message, op: { ...op, ...checked } } }
          : next,
      )
    );
  }

  #post(next: DispatchRequest & { message: { op: TextOp } }): Promise<DispatchOutcome> {
    const op = next.message.op;
    if (!op.key) return this.#inner.dispatch(next);
    // Known at once (before the key's KV reservation commits) to a reply sent right after.
    const k = `${op.hook}\n${op.key}`;
    const hook = op.hook;
    const key = op.key;
    // A store another process keeps locked: the sender hears so within 2 s, not 5 to 10; a
    // reservation that commits after that answer is taken back.
    const reserved = withinSenderWait(
      this.#clock,
      (signal) => this.#reg.reserveKey(hook, key, signal),
      (late) => {
        if (late !== null) this.#reg.unreserveKey(hook, key, late).catch(() => {});
      },
    );
    const running = reserved.then(
      (r) => r === TOO_SLOW ? storeTooSlow() : this.#inner.dispatch(next),
      // The store refused the reservation (a full disk, a deleted file): nothing was posted,
      // so the sender retries, as after an Idempotency-Key's claim refused; it answered 500
      // internal_error.
      () => storageUnavailable(),
    );
    this.#keyed.set(k, running);
    const done = () => {
      if (this.#keyed.get(k) === running) this.#keyed.delete(k);
    };
    running.then(done, done);
    return running;
  }

  /**
   * A `reply_to` the sender gave: refused (404, nothing posted) when it names no message of
   * this hook, as a `PATCH` by it is; the sender asked for a reply, and a plain post would
   * leave them unaware. When TrueConf cannot be asked now, the target is resolved when the
   * reply is posted (plain if it is unknown then), so a queued message is not refused for
   * an outage.
   */
  async #replyChecked(
    hook: HookRef,
    target: string,
  ): Promise<DispatchOutcome | { replyId?: string }> {
    const found = await this.#find(hook.id, target);
    if (found !== null) return {};
    // A member's message of the hook's chat (an outgoing hook's event named its id): a reply
    // to it as it is. Another chat's message never: the reply would quote it here.
    if (this.#messageChat && target.length <= 128) {
      try {
        if (await this.#messageChat(target) === hook.chatId) return { replyId: target };
      } catch (e) {
        // Asked just before by the registry; a transient failure now is as an outage then.
        if (isTrueConfError(e) && !(e instanceof TrueConfApiError && !e.transient)) return {};
      }
    }
    return refused(
      404,
      "message_not_found",
      "reply_to names no message of this webhook's chat that it can reply to (a message id of the chat, or a key this webhook used, from the last 30 days): nothing was posted. Leave reply_to out to post a plain message.",
    );
  }

  /** The state of a queued delivery. */
  status(hookId: string, deliveryId: string): Promise<DeliveryStatus | null> {
    return this.#inner.status(hookId, deliveryId);
  }

  /**
   * `PATCH /hook/<token>/messages/<id or key>`: replaces the text of a message the hook
   * posted in the last 30 days. 404 for another hook's (or an unknown) message, 409 for a
   * file or a body with attachments, 503 when the id is known only to TrueConf and TrueConf
   * cannot be asked (registry.ts).
   */
  async edit(req: DispatchRequest & { target: string }): Promise<DispatchOutcome> {
    const found = await this.#find(req.hook.id, req.target);
    if (found === "unavailable") return unavailable();
    if (!found) return notFound();
    if (found.message?.kind === "file") {
      return refused(
        409,
        "not_editable",
        "That message is a file: TrueConf cannot change a posted file. Post a new message instead.",
      );
    }
    if (req.message.attachments.length > 0) {
      return refused(
        409,
        "not_editable",
        "An edit replaces the text only; files cannot be added to a posted message. Post them as a new message.",
      );
    }
    if (!req.message.text.trim()) {
      return refused(400, "empty_payload", "An edit needs the new text.");
    }
    const op = opFor(req.hook, req.message, { act: "edit", target: req.target });
    return await this.#inner.dispatch({ ...req, message: { ...req.message, op } });
  }

  /** `DELETE /hook/<token>/messages/<id or key>`: removes the message for everyone. */
  async remove(
    req: Omit<DispatchRequest, "message"> & { target: string },
  ): Promise<DispatchOutcome> {
    const found = await this.#find(req.hook.id, req.target);
    if (found === "unavailable") return unavailable();
    if (!found) return notFound();
    const op: TextOp = { hook: req.hook.id, act: "remove", target: req.target };
    return await this.#inner.dispatch({
      ...req,
      message: { text: "", parseMode: "text", attachments: [], op },
    });
  }

  /** The registry's answer, or `unavailable` when it needed TrueConf and could not ask. */
  async #find(hookId: string, target: string) {
    try {
      return await this.#reg.resolve(hookId, target);
    } catch (e) {
      // Disconnected, a timeout, a transient error code (registry.ts: a gone message is null).
      if (isTrueConfError(e)) return "unavailable" as const;
      throw e;
    }
  }
}

function opFor(hook: HookRef, m: Message, extra: Partial<TextOp> | undefined): TextOp {
  const s = hook.settings;
  const op: { -readonly [K in keyof TextOp]: TextOp[K] } = {
    hook: hook.id,
    alerts: s?.alerts === "reply" || s?.alerts === "new" ? s.alerts : "edit",
    mentions: s?.mentions === "all" || s?.mentions === "none" ? s.mentions : "people",
  };
  // Only the fields a message has (the op is stored as JSON with a queued delivery); set
  // one by one rather than spread from temporary objects built for every delivery.
  const t = m.thread;
  if (t?.key !== undefined) op.key = t.key;
  if (t?.replyTo !== undefined) op.replyTo = t.replyTo;
  if (t?.replyKey !== undefined) op.replyKey = t.replyKey;
  if (t?.group !== undefined) op.group = t.group;
  if (m.buttons?.length) op.buttons = m.buttons;
  if (m.buttonFallback) op.buttonFallback = m.buttonFallback;
  return extra ? { ...op, ...extra } : op;
}

function notFound(): DispatchOutcome {
  return refused(
    404,
    "message_not_found",
    // The registry forgets a removed message, so "never posted" and "removed" look alike.
    "This webhook has no message with that id or key: it posted none in the last 30 days, or that message was removed.",
  );
}

function unavailable(): DispatchOutcome {
  return {
    kind: "refused",
    status: 503,
    code: "trueconf_unavailable",
    message:
      "This message id is not known here and the chat server cannot be asked about it right now (it is unreachable). Nothing was changed; retry later.",
    retryAfterSeconds: LOOKUP_RETRY_AFTER_SECONDS,
  };
}

function refused(
  status: 400 | 404 | 409,
  code: string,
  message: string,
): DispatchOutcome {
  return { kind: "refused", status, code, message };
}
