/**
 * The bot's chat side, wired: the `/webhook_*` commands, outgoing webhooks (chat events to a
 * team's services as `call` jobs, their status replies) and the commands that create and test
 * them. An idle bot uses none of it, so {@link createBot} imports this module with the first
 * chat message or event, the first expiry that falls due or the first queued call, not at
 * start: about 20 modules less to load before ready and about 1 MiB less at idle
 * (docs/benchmarks.md, "Memory and start", session 3).
 *
 * @module
 */
import type { Config } from "./config.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "./observability/metrics.ts";
import type { TrueConfClient } from "./trueconf/mod.ts";
import type { HookStore } from "./hooks/store.ts";
import { type Clock, type DeliveryQueue, type JobType, systemClock } from "./delivery/queue/mod.ts";
import type { LivingDispatcher } from "./messages/living_dispatcher.ts";
import { CommandHandler } from "./hooks/commands.ts";
import { type CallPayload, type CallState, OutgoingHooks } from "./outgoing/service.ts";
import { OutgoingCommands } from "./outgoing/commands.ts";

/** What the chat side is built from: the parts {@link createBot} built at start. */
export interface ChatSideParts {
  config: Config;
  client: TrueConfClient;
  store: HookStore;
  queue: Pick<DeliveryQueue, "engine" | "notifier">;
  /** The dispatcher of hook POSTs (services' answers and `/webhook_test` go through it). */
  living: LivingDispatcher;
  metrics: Metrics;
  logger: Logger;
  /** Clock of hook expiries (tests pass a fake). */
  now?: (() => number) | undefined;
  /** The bot's clock with timers (BotOptions.clock); tests pass a manual one. */
  clock?: Clock | undefined;
}

/** The built chat side. */
export interface ChatSide {
  commands: CommandHandler;
  outgoing: OutgoingHooks;
  /** The `call` job type's work; its name and limits are registered at start. */
  calls: JobType<CallPayload, CallState>;
}

/** Builds the chat side from the bot's parts. */
export function buildChatSide(p: ChatSideParts): ChatSide {
  const { config, client, store, living } = p;
  const log = p.logger;
  // Outgoing webhooks: chat events → `call` jobs on the same engine as deliveries.
  const outgoing = new OutgoingHooks({
    client,
    store,
    engine: p.queue.engine,
    notifier: p.queue.notifier,
    // A message pushed again after a lost ack finds the call it made (no second call).
    events: p.queue.engine.repo,
    // Through the same dispatcher as a hook POST (living messages: mentions, keys).
    // `replyTo`: the answer is a reply to the trigger message (any message id).
    postAnswer: async (hook, message, replyTo, key) => {
      // `accepted`: the call was made, so its answer is stored even while the bot shuts down
      // (it is posted by the next start), never refused and lost. `idempotencyKey`: the same
      // call made again after a crash finds its answer stored (or posted) and posts no second.
      const request = {
        hook,
        message,
        accepted: true,
        idempotencyKey: `answer:${key}`,
        ...(replyTo ? { replyTo } : {}),
      };
      const outcome = await living.dispatch(request);
      if (outcome.kind === "refused") {
        log.warn("outgoing: the service's answer was not posted", { hook: hook.id, ...outcome });
      }
    },
    timeoutMs: config.outgoingTimeoutMs,
    maxAgeMs: config.outgoingMaxAgeMs,
    allowlist: config.urlAllowlist,
    metrics: p.metrics.outgoingCall,
    logger: log.child({ component: "outgoing" }),
    // The hooks' clock reaches the calls too: a rotation's grace ends for the signatures when
    // it ends for the commands.
    clock: p.clock ?? (p.now ? { now: p.now, after: systemClock.after } : systemClock),
  });
  const outgoingCommands = new OutgoingCommands({
    client,
    store,
    // /webhook_test of an incoming hook: a test message through its whole delivery path.
    dispatch: (hook, message) => living.dispatch({ hook, message }),
    allowlist: config.urlAllowlist,
    timeoutMs: config.outgoingTimeoutMs,
    metrics: p.metrics.outgoingCall,
    logger: log.child({ component: "outgoing" }),
    // The clock of rotations (set by the command handler below): a ping signs with the old
    // secret too while its grace runs.
    ...(p.now ? { now: p.now } : {}),
  });
  const commands = new CommandHandler({
    outgoing: {
      create: (ctx, args, expiresAt) => outgoingCommands.create(ctx, args, expiresAt),
      test: (ctx, args) => outgoingCommands.test(ctx, args),
      triggerHook: (m) => outgoing.triggerHook(m),
      paused: (hookId) => outgoing.paused(hookId),
    },
    client,
    store,
    publicUrl: config.publicUrl,
    adminOnly: config.adminOnly,
    now: p.now,
    logger: log.child({ component: "commands" }),
  });
  return { commands, outgoing, calls: outgoing.jobType() };
}
