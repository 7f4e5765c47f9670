/**
 * Outgoing hooks at work: chat events in, signed calls out, answers back into the chat.
 *
 * - **Routing** ({@link OutgoingHooks.onEvent}). Never the bot's own messages (so nothing
 *   the bot posts, a service's answer included, can start a loop), never system envelopes,
 *   never `/webhook_*` commands. A hook with trigger words gets only `message.created` whose
 *   first word (after an optional mention of the bot) is one of them; a hook without gets
 *   every event of its chat. Paused and expired hooks get nothing. Routing asks TrueConf
 *   nothing: it stores the event as a call job (so the push's ack, which waits for that, is
 *   never held by a slow lookup), and the job's first attempt looks up titles and names and
 *   builds the body, kept in the job's state: every retry sends the same bytes under the same
 *   `webhook-id`. The lookups get {@link LOOKUP_BUDGET_MS} together: a TrueConf slow to answer
 *   delays a call by that much at most, and the body then names what is known (ids for names).
 * - **Calls** run as jobs of type `call` on the delivery job engine ({@link OutgoingHooks.jobType}):
 *   per hook in order, one at a time, hooks in parallel, durable across restarts and SIGKILL
 *   (at least once: receivers dedupe on `webhook-id`). Each attempt
 *   reads the hook fresh (a revoke, pause or rotation applies to the next attempt), signs
 *   with the current secret (and the old one during a rotation's grace), and classifies the
 *   answer: a 2xx answer is read like an incoming POST and posted as a reply to the trigger;
 *   network errors, timeouts, 5xx, 408, 429 are retried with capped exponential backoff
 *   (`Retry-After` honoured up to 10 min) until the maximum age, keeping the hook's later
 *   calls waiting behind (order is the promise); anything else is final.
 * - **Nobody left guessing.** The author of a trigger message hears within 10 s: the answer,
 *   or a status reply on the first failed attempt, or (if the first attempt is still running
 *   8 s after it started: the clock is the service's, not TrueConf's) a "has not answered yet"
 *   reply from a watchdog, or (if the call still waits behind earlier ones 8 s after its event)
 *   a "waits behind earlier ones" reply; and a final reply when the call is given up or
 *   refused. Event hooks report failures to their creator through the creator notifier (a
 *   direct-message digest, at most one per hook per 10 min).
 *
 * @module
 */

import { hexOf } from "../bytes.ts";
import type { HookRecord } from "../storage/mod.ts";
import { maskUrl } from "../hooks/replies.ts";
import type { Message } from "../message.ts";
import type { Allowlist } from "../net/mod.ts";
import type {
  Attempt,
  Clock,
  EnqueueOptions,
  EnqueueResult,
  JobEnd,
  JobHook,
  JobRun,
  JobType,
  TimerHandle,
} from "../delivery/queue/mod.ts";
import { systemClock } from "../delivery/queue/mod.ts";
import { type Logger, silentLogger } from "../log.ts";
import {
  type ChatEvent,
  type ChatInfo,
  type IncomingMessage,
  sameTrueConfId,
  type SentMessage,
} from "../trueconf/mod.ts";
import { readAnswer } from "./answer.ts";
import {
  attemptError,
  callOnce,
  type CallResult,
  firstLine,
  type OutgoingMetrics,
  reportAttempt,
} from "./call.ts";
import { buildEventBody, type ChatKind } from "./event_body.ts";
import { Lookups } from "./_lookups.ts";
import { signingSecrets } from "./signing.ts";
import { isBotCommand, matchTrigger } from "./triggers.ts";

import { CALL, callJobLimits, DEFAULT_CALL_MAX_AGE_MS } from "./call_job.ts";

export { CALL };
export type { OutgoingMetrics };

/**
 * How long a call's first attempt waits for TrueConf over the chat's title and people's names
 * (all lookups together) before it calls with what is known. TrueConf's own request timeout is
 * 10 s, which the "has not answered yet" watchdog (8 s) must not be spent on; 2 s is many times
 * a healthy server's answer and keeps event to call within the 10-second promise.
 */
export const LOOKUP_BUDGET_MS = 2_000;

/** Event types an all-events hook receives (`chat.removed` is not one: nobody is left to tell). */
export const EVENT_TYPES: ReadonlySet<string> = new Set([
  "message.created",
  "message.edited",
  "message.removed",
  "participant.added",
  "participant.removed",
  "participant.role_changed",
  "chat.title_changed",
]);

/** What a call job carries (JSON, written once at the event). */
export interface CallPayload {
  /** The event id: `webhook-id` and body `id`. */
  eventId: string;
  /** The event type (for logs). */
  eventType: string;
  /**
   * The event as TrueConf pushed it, from which the first attempt builds the body (after the
   * lookups of titles and names, which TrueConf may answer slowly: they never hold the ack).
   */
  event?: ChatEvent;
  /** Trigger-word hooks: the trigger word that matched and the text after it. */
  match?: { trigger: string; args: string } | null;
  /** The JSON body, for calls stored before it was built in the job (session 10 and older). */
  body?: string;
  /** The message an answer replies to (message events), or null. */
  replyTo: string | null;
  /** Trigger-word hooks: the message and author to answer with status replies. */
  trigger: { messageId: string; authorId: string } | null;
}

/** Progress of a call job. */
export interface CallState {
  /** The trigger's author already got a status reply (not repeated after a restart). */
  statusSent: boolean;
  /** The body as the first attempt built it: every retry sends these bytes. */
  body?: string;
}

/** What the service needs of the job engine. */
export interface CallEngine {
  /** Persists a job behind the hook's earlier ones. */
  enqueue(options: EnqueueOptions<CallPayload, CallState>): Promise<EnqueueResult>;
  /** Tries a waiting job again now (false when it is not waiting). */
  retry(id: string): Promise<boolean>;
}

/**
 * Which events made a call already (the outbox repository): TrueConf pushes a message again
 * when its ack was lost (a crash right after the call was stored), and that must not make a
 * second call, nor post a second answer.
 */
export interface EventCalls {
  /** The call job made for (hook, event) within the record's lifetime, or null. */
  callOfEvent(hookId: string, eventId: string, now?: number): Promise<string | null>;
  /** The write recording it, stored in the same atomic as the job. */
  callEventMutation(
    hookId: string,
    eventId: string,
    job: string,
    expiresAt: number,
    now?: number,
  ): Deno.KvMutation;
}

/** What the service needs of the hook store. */
export interface OutgoingStore {
  /**
   * A chat's outgoing hooks, paused and expired ones too: asked on every chat message, so the
   * hook store answers from a per-chat cache it keeps current (HookStore.outgoingByChat).
   */
  outgoingByChat(chatId: string): readonly HookRecord[] | Promise<readonly HookRecord[]>;
  /** One hook, read fresh (not cached). */
  get(id: string): Promise<HookRecord | null>;
  /** Opens a sealed signing secret. */
  openSecret(sealed: string): Promise<string>;
  /** One attempt in the hook's `/webhook_info` history (memory; written in batches). */
  recordRequest?(
    hookId: string,
    entry: { status: number; format: string; outcome: string; error?: string | undefined },
  ): void;
  /** One call the service took (its use count and last use; memory, written in batches). */
  recordDelivery?(hookId: string): void;
}

/** What the service needs of the TrueConf client. */
export interface OutgoingClient {
  /** The bot's own id (its messages never trigger a call). */
  readonly state: { readonly botId: string | null };
  /** Title and type of a chat. */
  getChatByID(chatId: string): Promise<ChatInfo>;
  /** Any method (`getUserDisplayName`, `getMessageById`). */
  request(method: string, payload: unknown): Promise<unknown>;
  /** The personal chat with a user (an answer for the trigger's author alone goes there). */
  createP2PChat(userId: string): Promise<string>;
  /** Status replies to a trigger message. */
  sendMessage(
    chatId: string,
    text: string,
    parseMode: "text" | "markdown" | "html",
    opts?: { replyMessageId?: string },
  ): Promise<SentMessage>;
}

/**
 * Posts a service's answer into the hook's chat (through the delivery queue). `hook` carries
 * the hook's settings as they are now (`/webhook_mentions`, `/webhook_alerts` apply to answers
 * as to any post of the hook). `key` is the same for every answer to one call: a call made
 * again (at least once: the bot died after storing the answer, before the call was marked
 * made) must not post its answer a second time, so the poster stores the answer under it as an
 * `Idempotency-Key`.
 */
export type AnswerPoster = (
  hook: JobHook & { readonly settings?: Readonly<Record<string, string>> | undefined },
  message: Message,
  replyTo: string | null,
  key: string,
) => Promise<void>;

/** Tells a hook's creator about a problem (the creator notifier's digest). */
export interface ProblemReporter {
  /** One line: what failed and why. */
  report(hook: { id: string; name: string; chatId: string; createdBy: string }, line: string): void;
}

/** Options of {@link OutgoingHooks}. */
export interface OutgoingHooksOptions {
  /** The TrueConf client. */
  client: OutgoingClient;
  /** The hook store. */
  store: OutgoingStore;
  /** The delivery job engine the `call` type is registered on. */
  engine: CallEngine;
  /** Posts a 2xx answer into the chat. */
  postAnswer: AnswerPoster;
  /** Calls made per event (the outbox repository); without it, a re-pushed event calls again. */
  events?: EventCalls | undefined;
  /** The creator notifier (failures of hooks without trigger words). */
  notifier: ProblemReporter;
  /** Per attempt (`WEBHOOK_OUTGOING_TIMEOUT_SECONDS`). Default 5 000. */
  timeoutMs?: number | undefined;
  /** Give up this long after the event (`WEBHOOK_OUTGOING_MAX_AGE_SECONDS`). Default 1 h. */
  maxAgeMs?: number | undefined;
  /** `WEBHOOK_URL_ALLOWLIST`. */
  allowlist?: Allowlist | undefined;
  /** Resolver for tests. */
  resolve?: ((host: string) => Promise<string[]>) | undefined;
  /** Backoff between attempts. Default 1 s doubling to 5 min. */
  backoff?: { baseMs?: number; capMs?: number } | undefined;
  /**
   * A trigger's author hears something this long after the call to the service started, or
   * after the event when the call has not started by then. Default 8 000 (the promise is 10 s:
   * at most {@link LOOKUP_BUDGET_MS} from event to call, then this).
   */
  statusAfterMs?: number | undefined;
  /** `/metrics` counters. */
  metrics?: OutgoingMetrics | undefined;
  /** One line per attempt. */
  logger?: Logger | undefined;
  /** The engine's clock (tests move it). */
  clock?: Clock | undefined;
}

/** See the module doc. */
export class OutgoingHooks {
  readonly #o: OutgoingHooksOptions;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #timeoutMs: number;
  readonly #lookups: Lookups;
  /** Trigger calls not finished yet → their watchdog. */
  readonly #watchdogs = new Map<string, TimerHandle>();
  /** Trigger calls whose author got a status reply in this process. */
  readonly #statusSent = new Set<string>();
  /** Calls waiting or running, per hook (queued or run by this process), so a pause drops them. */
  readonly #calls = new Map<string, Set<string>>();
  /** Attempts running now, per hook, so a revoke can cut them. */
  readonly #running = new Map<string, AbortController>();
  readonly #inflight = new Set<Promise<unknown>>();
  /** The last routing of each chat, so its events are queued in order. */
  readonly #chains = new Map<string, Promise<void>>();
  #closed = false;

  /** Builds the service; register {@link jobType} on the engine and feed {@link onEvent}. */
  constructor(options: OutgoingHooksOptions) {
    this.#o = options;
    this.#log = options.logger ?? silentLogger;
    this.#clock = options.clock ?? systemClock;
    this.#timeoutMs = options.timeoutMs ?? 5_000;
    this.#lookups = new Lookups(options.client, () => this.#clock.now());
  }

  /** The `call` job type; register it on the engine before it starts. */
  jobType(): JobType<CallPayload, CallState> {
    return {
      ...callJobLimits(this.#o),
      run: (job) => this.#run(job),
      finished: (end) => this.#finished(end),
    };
  }

  /**
   * Feed every chat event here (`client.onEvent`). Never rejects. Events of one chat are
   * routed one after the other, so calls are queued in the order things happened even when
   * one event needs lookups another does not.
   */
  onEvent(e: ChatEvent): Promise<void> {
    if (this.#closed) return Promise.resolve();
    const before = this.#chains.get(e.chatId) ?? Promise.resolve();
    const p: Promise<void> = before.then(() => this.#route(e)).catch((err) =>
      this.#log.error("outgoing: event not routed", { error: err, chat: e.chatId, event: e.type })
    ).finally(() => {
      this.#inflight.delete(p);
      if (this.#chains.get(e.chatId) === p) this.#chains.delete(e.chatId);
    });
    this.#chains.set(e.chatId, p);
    this.#inflight.add(p);
    return p;
  }

  /**
   * The outgoing hook of the message's chat whose trigger word starts the message, and that
   * word: an active hook first, else a paused one; null when none. The command handler does not
   * answer such a message with help (`@bot /deploy` is for the service, not an unknown
   * command), and tells the member when the hook is paused.
   */
  async triggerHook(
    m: IncomingMessage,
  ): Promise<{ hook: HookRecord; trigger: string } | null> {
    const botId = this.#o.client.state.botId;
    if (!botId || m.type !== 200) return null;
    const now = this.#clock.now();
    const found: { hook: HookRecord; trigger: string }[] = [];
    for (const h of await this.#o.store.outgoingByChat(m.chatId)) {
      if (h.kind !== "outgoing" || h.outgoing === null) continue;
      if (h.expiresAt !== null && h.expiresAt <= now) continue;
      const match = matchTrigger(m, botId, h.outgoing.triggers);
      if (match) found.push({ hook: h, trigger: match.trigger });
    }
    return found.find((f) => f.hook.paused === null) ?? found[0] ?? null;
  }

  /** A hook was revoked: its running attempt is cut at once. */
  stopHook(hookId: string): void {
    this.#running.get(hookId)?.abort(new Error("hook revoked"));
  }

  /**
   * A hook was paused: its calls still waiting are dropped now, not at their next try (which a
   * backoff or a `Retry-After` may put minutes away, and a resume before it would send them
   * after all). Each is tried at once, finds the hook paused and ends `hook_paused`, and a
   * trigger's author is told. An attempt running now finishes (its request is out already).
   */
  paused(hookId: string): void {
    for (const id of this.#calls.get(hookId) ?? []) {
      this.#o.engine.retry(id).catch((e) =>
        this.#log.warn("outgoing: a paused hook's call not dropped", { hook: hookId, error: e })
      );
    }
  }

  #track(hookId: string, id: string): void {
    if (!id) return;
    const ids = this.#calls.get(hookId) ?? new Set<string>();
    ids.add(id);
    this.#calls.set(hookId, ids);
  }

  /** Stops the watchdogs and waits for routing in progress. Call before closing the engine. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const t of this.#watchdogs.values()) t.cancel();
    this.#watchdogs.clear();
    await Promise.allSettled([...this.#inflight]);
  }

  // ---- routing --------------------------------------------------------------------

  async #route(event: ChatEvent): Promise<void> {
    let e = event;
    if (e.type === "message.created" || e.type === "message.edited") {
      const known = e.message.messageId ? this.#lookups.known(e.message.messageId) : null;
      if (!e.message.authorId && known) {
        // An `editMessage` push names no author: the message it edits does (so an edit of
        // the bot's own message is recognised as the bot's).
        e = {
          ...e,
          message: {
            ...e.message,
            authorId: known.authorId,
            authorType: known.authorType,
            replyMessageId: known.replyMessageId,
          },
        };
      }
      this.#lookups.rememberMessage(e.message);
    }
    if (e.type === "chat.title_changed") this.#lookups.renamed(e.chatId, e.title);
    if (!EVENT_TYPES.has(e.type)) return;
    const botId = this.#o.client.state.botId;
    if (!botId) return;
    let message: IncomingMessage | null = null;
    if (e.type === "message.created" || e.type === "message.edited") {
      message = e.message;
      if (message.authorType === 0) return;
      if (message.authorId && sameTrueConfId(message.authorId, botId)) return;
      if (isBotCommand(message, botId)) return;
    }
    // What the bot itself removes (living messages) is its own doing, like its own posts.
    if (e.type === "message.removed" && e.by && sameTrueConfId(e.by, botId)) return;
    const now = this.#clock.now();
    const hooks = (await this.#o.store.outgoingByChat(e.chatId)).filter((h) =>
      h.kind === "outgoing" && h.outgoing !== null && h.paused === null &&
      (h.expiresAt === null || h.expiresAt > now)
    );
    if (hooks.length === 0) return;
    // Nothing here asks TrueConf: the push is acked once the calls are stored, and a lookup
    // TrueConf answers slowly must not hold the ack (nor let it go first). The first attempt
    // of each call looks up titles and names and builds the body (#bodyOf).
    const stored = storedEvent(e);
    for (const hook of hooks) {
      const triggers = hook.outgoing?.triggers ?? [];
      let trigger: { trigger: string; args: string } | null = null;
      if (triggers.length > 0) {
        if (e.type !== "message.created" || !message) continue;
        trigger = matchTrigger(message, botId, triggers);
        if (!trigger) continue;
      }
      const eventId = await eventIdOf(hook.id, e);
      const made = await this.#o.events?.callOfEvent(hook.id, eventId, now);
      if (made) {
        // Pushed again (its ack was lost): the call stored the first time is the one.
        this.#log.info("outgoing: event pushed again; its call was made already", {
          hook: hook.id,
          event: e.type,
          id: eventId,
          job: made,
        });
        continue;
      }
      const payload: CallPayload = {
        eventId,
        eventType: e.type,
        event: stored,
        match: trigger,
        replyTo: e.type === "message.created" && message ? message.messageId : null,
        trigger: trigger && message
          ? { messageId: message.messageId, authorId: message.authorId }
          : null,
      };
      const ref: JobHook = {
        id: hook.id,
        chatId: hook.chatId,
        name: hook.name,
        createdBy: hook.createdBy,
      };
      if (payload.trigger) {
        // Replaced by the service's own watchdog when the call starts (#run); fires only for a
        // call still waiting behind earlier work then.
        const url = maskUrl(hook.outgoing?.url ?? "");
        this.#armWatchdog(
          ref,
          payload,
          `⏳ ${hook.name}: your call to ${url} waits behind earlier ones; it will be sent`,
        );
      }
      const events = this.#o.events;
      // Kept for twice the call's lifetime: a push older than that lifetime is not acted on.
      const until = now + 2 * (this.#o.maxAgeMs ?? DEFAULT_CALL_MAX_AGE_MS);
      const r = await this.#o.engine.enqueue({
        type: CALL,
        hook: ref,
        payload,
        state: { statusSent: false },
        alsoWrite: events && ((id) => events.callEventMutation(hook.id, eventId, id, until, now)),
      });
      if (!r.ok) {
        this.#settle(payload.eventId);
        this.#log.error("outgoing call not queued", {
          hook: hook.id,
          event: e.type,
          reason: r.reason,
        });
        const why = r.reason === "full" ? "the queue is full" : "the bot is shutting down";
        const name = payload.trigger ? `${hook.name}: ` : "";
        await this.#tell(ref, payload, `❌ ${name}not sent, ${why}.`);
        continue;
      }
      this.#track(hook.id, r.id);
      this.#log.debug("outgoing call queued", { hook: hook.id, event: e.type, id: eventId });
    }
  }

  /**
   * The 10-second promise: if nothing was said to the author `statusAfterMs` from now, say
   * `text` (what we are waiting for). Replaces the event's watchdog armed before.
   */
  #armWatchdog(hook: JobHook, payload: CallPayload, text: string): void {
    this.#settle(payload.eventId);
    const t = this.#clock.after(this.#o.statusAfterMs ?? 8_000, () => {
      this.#watchdogs.delete(payload.eventId);
      if (this.#closed || this.#statusSent.has(payload.eventId)) return;
      void this.#status(hook, payload, text);
    });
    this.#watchdogs.set(payload.eventId, t);
  }

  #settle(eventId: string): void {
    this.#watchdogs.get(eventId)?.cancel();
    this.#watchdogs.delete(eventId);
  }

  // ---- calls ----------------------------------------------------------------------

  async #run(job: JobRun<CallPayload, CallState>): Promise<Attempt<CallState>> {
    const p = job.payload;
    let state = job.state;
    // Calls queued before a restart are known from their first attempt here.
    this.#track(job.hook.id, job.id);
    const hook = await this.#o.store.get(job.hook.id);
    if (!hook || hook.kind !== "outgoing" || !hook.outgoing) {
      return { kind: "failed", state, error: { code: "hook_revoked", message: "hook revoked" } };
    }
    if (hook.paused || (hook.expiresAt !== null && hook.expiresAt <= this.#clock.now())) {
      const code = hook.paused ? "hook_paused" : "hook_expired";
      return { kind: "failed", state, error: { code, message: code.replace("_", " ") } };
    }
    const body = p.body ?? state.body ?? await this.#bodyOf(job.hook, p);
    if (!p.body) state = { ...state, body };
    const secrets = await signingSecrets(
      hook,
      (sealed) => this.#o.store.openSecret(sealed),
      this.#clock.now(),
    );
    if (
      p.trigger && job.attempts === 0 && !state.statusSent && !this.#closed &&
      !this.#statusSent.has(p.eventId)
    ) {
      // "Not answered" is about the service: its clock starts with the call, not the event.
      this.#armWatchdog(
        job.hook,
        p,
        `⏳ ${job.hook.name}: ${maskUrl(hook.outgoing.url)} has not answered yet; still trying`,
      );
    }
    const abort = new AbortController();
    const onCut = () => abort.abort(job.signal.reason);
    job.signal.addEventListener("abort", onCut, { once: true });
    this.#running.set(hook.id, abort);
    let res: CallResult;
    try {
      res = await callOnce(
        { url: hook.outgoing.url, id: p.eventId, body, secrets },
        {
          timeoutMs: this.#timeoutMs,
          allowlist: this.#o.allowlist,
          resolve: this.#o.resolve,
          now: () => this.#clock.now(),
          signal: abort.signal,
        },
      );
    } catch (e) {
      if (!abort.signal.aborted) throw e;
      if (job.signal.aborted) {
        // Shutdown: the call may or may not have arrived; it is made again after the restart.
        return {
          kind: "retry",
          state,
          scope: "link",
          error: { code: "shutting_down", message: "cut by shutdown" },
        };
      }
      return { kind: "failed", state, error: { code: "hook_revoked", message: "hook revoked" } };
    } finally {
      job.signal.removeEventListener("abort", onCut);
      if (this.#running.get(hook.id) === abort) this.#running.delete(hook.id);
    }
    reportAttempt(
      {
        logger: this.#log,
        metrics: this.#o.metrics,
        recordRequest: this.#o.store.recordRequest?.bind(this.#o.store),
      },
      {
        hookId: hook.id,
        url: hook.outgoing.url,
        event: p.eventType,
        id: p.eventId,
        attempt: job.attempts + 1,
      },
      res,
    );
    const code = attemptError(res);
    const url = maskUrl(hook.outgoing.url);
    // A trigger's author reads it in a chat with other hooks; the creator's DM names the hook.
    const who = p.trigger ? `${hook.name}: ${url}` : url;
    switch (res.kind) {
      case "answered": {
        this.#settle(p.eventId);
        // The hook as read for this attempt: its settings decide how the answer is posted.
        const ref = { ...job.hook, settings: hook.settings };
        const error = await this.#answered(ref, p, res, who);
        return { kind: "done", state, result: { status: res.status, ...(error ? { error } : {}) } };
      }
      case "retry":
        // Paused while this attempt ran: the call is dropped now (as `paused` drops waiting
        // ones), not after a backoff that a resume could beat.
        if ((await this.#o.store.get(hook.id))?.paused) {
          return { kind: "failed", state, error: { code: "hook_paused", message: "hook paused" } };
        }
        if (job.attempts === 0 && !state.statusSent) {
          if (p.trigger) {
            await this.#status(job.hook, p, `⚠️ ${who} ${res.reason}, retrying`);
            state = { ...state, statusSent: true };
          } else this.#o.notifier.report(job.hook, `${who} ${res.reason}; retrying`);
        }
        return {
          kind: "retry",
          state,
          // The receiver's trouble holds the hook's later calls: per-hook order is the promise.
          scope: "hook",
          error: { code: code ?? "unreachable", message: res.reason },
          retryAfterMs: res.retryAfterMs ?? undefined,
        };
      case "refused": {
        const line = firstLine(res.body);
        await this.#tell(
          job.hook,
          p,
          `❌ ${who} ${res.reason}; not retried.${line ? ` The answer: ${line}` : ""}`,
        );
        return {
          kind: "failed",
          state,
          error: { code: `http_${res.status}`, message: res.reason },
        };
      }
      case "failed":
        await this.#tell(job.hook, p, `❌ ${who} ${res.reason}; not retried.`);
        return { kind: "failed", state, error: { code: "call_failed", message: res.reason } };
    }
  }

  /**
   * The body of a call, built at its first attempt from the stored event: the chat's title and
   * type, the names of the author and of the replied-to message's author, that message's text
   * (each cached; a lookup that fails, or is not answered within {@link LOOKUP_BUDGET_MS} of
   * the first, degrades to the id or "", never blocks).
   */
  async #bodyOf(hook: JobHook, p: CallPayload): Promise<string> {
    const e = p.event;
    if (!e) throw new Error(`call ${p.eventId} carries neither its event nor its body`);
    const message = e.type === "message.created" || e.type === "message.edited" ? e.message : null;
    let budget: TimerHandle | undefined;
    const deadline = new Promise<void>((resolve) => {
      budget = this.#clock.after(LOOKUP_BUDGET_MS, resolve);
    });
    let chat: { title: string; type: ChatKind };
    let replyTo: IncomingMessage | null;
    let nameOf: (id: string) => string;
    try {
      [chat, replyTo] = await Promise.all([
        this.#lookups.chat(e.chatId, deadline),
        message?.replyMessageId ? this.#lookups.message(message.replyMessageId, deadline) : null,
      ]);
      const people: string[] = [];
      if (message) people.push(message.authorId);
      if (replyTo) people.push(replyTo.authorId);
      nameOf = await this.#lookups.names(people, deadline);
    } finally {
      budget?.cancel();
    }
    return JSON.stringify(buildEventBody(e, {
      id: p.eventId,
      hook: { id: hook.id, name: hook.name },
      chat: { id: e.chatId, title: chat.title, type: chat.type },
      nameOf,
      replyTo,
      trigger: p.match ?? null,
      now: () => this.#clock.now(),
    }));
  }

  /** Posts a 2xx answer; returns why it was not posted, if it was not. */
  async #answered(
    hook: Parameters<AnswerPoster>[0],
    p: CallPayload,
    res: Extract<CallResult, { kind: "answered" }>,
    who: string,
  ): Promise<string | null> {
    const { status, body, contentType, contentEncoding } = res;
    // A call the service took is a use of the hook. An answer posted into the chat is counted
    // by its own delivery (it waits behind this call, so it is always queued, never inline).
    const taken = () => this.#o.store.recordDelivery?.(hook.id);
    if (status === 204) return taken(), null;
    const answer = await readAnswer(body, contentType, contentEncoding);
    if (answer.kind === "empty") return taken(), null;
    if (answer.kind === "unreadable") {
      taken();
      await this.#tell(
        hook,
        p,
        `⚠️ ${who} answered ${status}, but the answer could not be read: ${answer.reason}`,
      );
      return answer.code;
    }
    if (answer.onlyForAuthor && p.trigger) {
      // Slack's "only visible to you": TrueConf has no such message, so it goes to the author
      // by direct message, through the hook's delivery path like any answer.
      let dm: string;
      try {
        dm = await this.#o.client.createP2PChat(p.trigger.authorId);
      } catch (e) {
        // Never into the chat instead: it was meant for the author alone.
        await this.#tell(
          hook,
          p,
          `⚠️ ${who} answered you alone, but I could not write to you directly: ${
            e instanceof Error ? e.message : String(e)
          }`,
        );
        return "dm_failed";
      }
      await this.#o.postAnswer({ ...hook, chatId: dm }, answer.message, null, `dm:${p.eventId}`);
      return null;
    }
    await this.#o.postAnswer(hook, answer.message, p.replyTo, p.eventId);
    return null;
  }

  /**
   * The engine ended a call: stop its watchdog; a call given up at its deadline is reported,
   * and so is a trigger call dropped because its hook was paused, revoked or expired (its
   * author was promised an answer or a word within 10 s, and may have been told "retrying").
   */
  #finished(end: JobEnd<CallPayload, CallState>): void {
    const ids = this.#calls.get(end.hook.id);
    if (ids?.delete(end.id) && ids.size === 0) this.#calls.delete(end.hook.id);
    const p = end.payload;
    if (!p) return;
    this.#settle(p.eventId);
    const ended = end.outcome === "failed" ? HOOK_ENDED.get(end.error?.code ?? "") : undefined;
    if (ended && p.trigger) {
      void this.#tell(end.hook, p, `❌ ${end.hook.name}: not sent: the webhook was ${ended}.`);
    }
    if (end.outcome === "failed" && end.error?.code === "gave_up") {
      const age = humanDuration(this.#o.maxAgeMs ?? 3_600_000);
      void this.#tell(
        end.hook,
        p,
        `❌ ${
          p.trigger ? `${end.hook.name}: ` : ""
        }gave up after ${age}; the service never took the call.`,
      );
    }
  }

  /**
   * A final word: a reply to the trigger's author, or a line in the creator's digest (which
   * names the hook itself, so the line does not).
   */
  async #tell(hook: JobHook, p: CallPayload, text: string): Promise<void> {
    this.#settle(p.eventId);
    if (p.trigger) await this.#status(hook, p, text);
    else this.#o.notifier.report(hook, text);
  }

  /** A status reply to the trigger message. Failures are logged, never thrown. */
  async #status(hook: JobHook, p: CallPayload, text: string): Promise<void> {
    if (!p.trigger) return;
    this.#statusSent.add(p.eventId);
    if (this.#statusSent.size > 10_000) {
      this.#statusSent.delete(this.#statusSent.values().next().value as string);
    }
    try {
      await this.#o.client.sendMessage(hook.chatId, text, "text", {
        replyMessageId: p.trigger.messageId,
      });
    } catch (e) {
      this.#log.warn("outgoing: status reply not posted", { chat: hook.chatId, error: e });
    }
  }
}

/** Why a call was dropped with its hook, by the job error code. */
const HOOK_ENDED: ReadonlyMap<string, string> = new Map([
  ["hook_paused", "paused"],
  ["hook_revoked", "revoked"],
  ["hook_expired", "expired"],
]);

/**
 * The event as a call job stores it: a message keeps of its raw envelope only what the body
 * reads (a file's name, size and type), so the job is not twice the message's size.
 */
function storedEvent(e: ChatEvent): ChatEvent {
  if (e.type !== "message.created" && e.type !== "message.edited") return e;
  const content = e.message.type === 202
    ? (e.message.raw as { content?: unknown } | null)?.content ?? null
    : null;
  return { ...e, message: { ...e.message, raw: content ? { content } : null } };
}

/**
 * A stable id for (hook, event): the same event seen again (a re-push after a reconnect)
 * gets the same `webhook-id`, so receivers dedupe it too.
 */
async function eventIdOf(hookId: string, e: ChatEvent): Promise<string> {
  const key = e.type === "message.created" || e.type === "message.edited"
    ? [e.type, e.chatId, e.message.messageId, e.message.timestamp, e.message.text]
    : [JSON.stringify(e)];
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode([hookId, ...key].join("\n")),
  );
  return `evt_${hexOf(new Uint8Array(digest).subarray(0, 16))}`;
}

function humanDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${Math.round(ms / 1000)} s`;
}
