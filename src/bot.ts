/**
 * The composition root: builds every part of the bot from a {@link Config} and wires them
 * together (TrueConf client, hook store, chat commands, delivery, HTTP app, metrics). Used by
 * `serve`, by the demo, by benchmarks and by end-to-end tests, so all of them run exactly the
 * same wiring.
 *
 * @module
 */
import { Hono } from "hono";
import { type Config, trueconfEndpoint } from "./config.ts";
import { createApp, jsonNotFound, jsonOnError, type Readiness } from "./ingest/app.ts";
import { HookFirstRouter } from "./ingest/hook_first_router.ts";
import { BodyReader } from "./ingest/read_body.ts";
import type { FetchHandler, HttpServerOptions } from "./ingest/http_server.ts";
import { HookStore } from "./hooks/store.ts";
import {
  acquireLease,
  type Doorbell,
  type Lease,
  leaseLockFile,
  type LeaseOptions,
  onCommitsWaiting,
  openKv,
  SERVE_COMMIT_WAIT_MS,
  watchDoorbell,
  watchFileIdentity,
} from "./storage/mod.ts";
import { sameTrueConfId, TrueConfClient } from "./trueconf/mod.ts";
import { type ChatSender, Deliverer } from "./delivery/deliverer.ts";
import { Reconciler } from "./delivery/reconcile.ts";
import { UploadLanes } from "./delivery/upload_lanes.ts";
import { systemClock } from "./delivery/clock.ts";
import type { PreviewMaker } from "./delivery/preview/mod.ts";
import { safeFetch } from "./net/mod.ts";
import { createMetrics, type Metrics } from "./observability/metrics.ts";
import { metricsApp } from "./observability/metrics_route.ts";
import { type Clock, createQueue, type DeliveryQueue } from "./delivery/queue/mod.ts";
import { LivingDispatcher } from "./messages/living_dispatcher.ts";
import { MessageRegistry } from "./messages/registry.ts";
import { Poster } from "./messages/poster.ts";
import { Mentions } from "./messages/mentions.ts";
import { SenderTrust } from "./hooks/verify.ts";
import { SecretBox } from "./storage/mod.ts";
import { callJobLimits } from "./outgoing/call_job.ts";
import type { CallPayload, CallState } from "./outgoing/service.ts";
import type { ChatSide } from "./chat_side.ts";
import type { Logger } from "./log.ts";
import { VERSION } from "./version.ts";
import { BOT_PROBLEMS, trueconfReadiness } from "./readiness.ts";

/** Options of {@link createBot} that are not settings. */
export interface BotOptions {
  logger: Logger;
  /**
   * One active instance per store (`serve` passes it): the bot takes the store's lease before
   * anything else touches KV, and {@link createBot} throws `LeaseHeldError` when a live
   * instance holds it. `onLost` runs if another instance takes the lease away later.
   */
  lease?: Omit<LeaseOptions, "onLost"> & { onLost(why: string): void } | undefined;
  /** Overrides for tests: how often the client pings, its backoff, etc. */
  trueconf?: Partial<ConstructorParameters<typeof TrueConfClient>[0]>;
  /** PEM text of TRUECONF_CA_FILE, already read. */
  caPem?: string;
  /** How often the KV file's identity is checked (deleted or replaced). Default 5 000 ms. */
  storageCheckMs?: number | undefined;
  /**
   * Ask TrueConf for the OAuth token while the rest of the bot is built, before
   * {@link Bot.start} (`serve`, except in standby): start → ready does not wait for that round
   * trip after the bot is built. It is asked only once the store's lease is taken and
   * {@link beforeTrueConf} has run, so an instance refused there sends TrueConf nothing.
   * Nothing connects before {@link Bot.start} either way.
   */
  earlyToken?: boolean | undefined;
  /**
   * Runs once the store is open and its lease taken, before anything is sent to TrueConf;
   * what it throws is thrown by {@link createBot} (the store closed, the lease released).
   * `serve` binds its HTTP port here: a second instance on a busy port must be refused
   * before it logs in with the serving bot's credentials, which may disturb that bot's session.
   */
  beforeTrueConf?: (() => Promise<void>) | undefined;
  /** Clock of hook expiries and rotation grace periods (ms since the epoch); tests pass a fake. */
  now?: (() => number) | undefined;
  /**
   * Clock with timers of the job engine (retries and backoff of deliveries and outgoing calls)
   * and of the outgoing side (signing times, status replies); `now` defaults to its `now()`.
   * Tests pass a manual one and move time on instead of waiting. Default the system clock.
   */
  clock?: Clock | undefined;
  /** How often expiries are swept (reminder DMs, expired hooks revoked). Default 60 000 ms. */
  expirySweepMs?: number | undefined;
  /**
   * Tests only: the KV handle every part of the bot uses, made from the opened one (a store
   * whose reads or writes fail on cue, tests/support/full_disk_kv.ts). Closing it closes the
   * opened one.
   */
  kv?: ((opened: Deno.Kv) => Deno.Kv) | undefined;
}

/** A built bot; nothing runs until {@link Bot.start}. */
export interface Bot {
  readonly app: Hono;
  readonly client: TrueConfClient;
  readonly store: HookStore;
  readonly queue: DeliveryQueue;
  readonly metrics: Metrics;
  readonly readiness: () => Readiness;
  /** The store's lease when {@link BotOptions.lease} was given. */
  readonly lease: Lease | null;
  /** Connects to TrueConf and starts the queue worker. */
  start(): void;
  /**
   * Stops taking hook requests (they get 503) and cuts request bodies still arriving — the
   * first step of a graceful shutdown.
   */
  drain(): void;
  /**
   * Graceful stop: waits up to `graceMs` for in-flight deliveries (then at most `cutWaitMs`,
   * default 2 s, for runs to stop at the cut), leaves the rest queued, flushes usage
   * counters, closes the socket and the KV store.
   */
  close(graceMs?: number, cutWaitMs?: number): Promise<void>;
}

/**
 * The options of the bot's HTTP server (`listenHttp`) from its settings: address, the
 * `WEBHOOK_HTTP_*` time limits, and where its own answers to clients' mistakes and its
 * failures are logged. The one place `serve` and the demo (tests/support/bot_with_fake.ts)
 * take them from, so `LOG_LEVEL=debug deno task demo` shows what `serve` would log.
 *
 * @param at another address than the settings' (the demo listens on loopback, any port)
 */
export function httpServerOptions(
  config: Config,
  log: Logger,
  handler: FetchHandler,
  at: { hostname?: string; port?: number } = {},
): HttpServerOptions {
  return {
    hostname: at.hostname ?? config.http.host,
    port: at.port ?? config.http.port,
    headersTimeoutMs: config.http.headersTimeoutMs,
    idleTimeoutMs: config.http.idleTimeoutMs,
    handler,
    // A client's HTTP mistake is its own: nothing here needs attention.
    onClientMistake: (m) => log.debug("client error", { ...m }),
    onHandlerError: (error) => log.error("request failed", { error }),
    onAcceptError: (error) => log.error("cannot accept a connection; retrying", { error }),
  };
}

/** Builds the bot. Opens the KV store (creating its folder) but connects nothing yet. */
export async function createBot(config: Config, options: BotOptions): Promise<Bot> {
  const log = options.logger;
  const clock = options.clock;
  // One sense of time for hooks, the queue and outgoing calls when a test injects one.
  const now = options.now ?? (clock ? () => clock.now() : undefined);
  // Connects nothing until `prefetchToken` (below, once this instance may serve) or start().
  const client = new TrueConfClient({
    ...trueconfEndpoint(config, options.caPem),
    requestTimeoutMs: config.deliveryTimeoutMs,
    // The HTTP upload of a file moves up to WEBHOOK_MAX_UPLOAD_MB; give it at least 30 s
    // (the client's own default of 120 s would hold a sender far too long).
    uploadTimeoutMs: Math.max(config.deliveryTimeoutMs, 30_000),
    // An unread message pushed again after a restart that is older than this is not acted
    // on: a call for it would come later than an outgoing hook waits for any call.
    unreadMaxAgeMs: config.outgoingMaxAgeMs,
    logger: log.child({ component: "trueconf" }),
    ...options.trueconf,
  });
  let opened: Deno.Kv;
  try {
    opened = await openKv(config.storagePath, {
      onWaiting: (waitedMs) =>
        log.warn(
          `the store ${config.storagePath} has not answered for ${
            waitedMs / 1000
          } s: another process (a hooks command, a backup, another bot) keeps it locked; ` +
            "still waiting, and starting once it is free",
          { storagePath: config.storagePath },
        ),
    });
  } catch (e) {
    await client.close();
    throw e;
  }
  const kv = options.kv ? options.kv(opened) : opened;
  // A commit refused for another process's write lock waits for it (commitWhenFree); said at
  // debug only: an operator's `hooks …` command holds it for milliseconds, routinely.
  onCommitsWaiting(kv, () =>
    log.debug(
      `commits wait for the store ${config.storagePath}: another process (a hooks command, a ` +
        `backup) holds its write lock; waiting up to ${SERVE_COMMIT_WAIT_MS / 1000} s`,
    ));
  let lease: Lease | null = null;
  if (options.lease) {
    try {
      lease = await acquireLease(kv, {
        ...options.lease,
        storeName: config.storagePath,
        lockFile: leaseLockFile(config.storagePath),
      });
    } catch (e) {
      kv.close();
      await client.close();
      throw e;
    }
  }
  try {
    await options.beforeTrueConf?.();
  } catch (e) {
    await lease?.release();
    kv.close();
    await client.close();
    throw e;
  }
  // This instance may serve: its OAuth request is under way while the rest is built.
  if (options.earlyToken) client.prefetchToken();
  let secrets: SecretBox;
  try {
    const box = await SecretBox.forStore(kv, config.storagePath, config.secretKey, {
      serve: true,
    });
    if (box.secretsLost) {
      log.error(
        `the store's secret key changed (this process has ${box.source}): secrets sealed with the previous key cannot be opened, so hooks with /webhook_verify answer 500 and outgoing hooks cannot sign until their secrets are set again (/webhook_verify, /webhook_rotate). Or stop and start again with the previous key (WEBHOOK_SECRET_KEY, or the secret.key file beside the store); commands run with another key than this one are refused`,
        { storagePath: config.storagePath },
      );
    } else if (box.adopted) {
      log.warn(
        `the store's secret key changed (this process has ${box.source}); no secret was sealed with the previous one`,
        { storagePath: config.storagePath },
      );
    }
    secrets = box;
  } catch (e) {
    await lease?.release();
    kv.close();
    await client.close();
    throw e;
  }
  const metrics = createMetrics({ version: VERSION });
  const store = new HookStore(kv, {
    logger: log.child({ component: "hooks" }),
    secrets,
    now,
    onOldTokenUse: (hookId) => metrics.rotatedTokenUses.inc(hookId),
    pollIntervalMs: 0, // the store's doorbell says when to look (start() below)
  });
  const trust = new SenderTrust({ openSecret: (sealed) => store.openSecret(sealed) });
  // The preview maker and its image code load with the first image to preview.
  let previewMaker: PreviewMaker | undefined;
  const previews: Pick<PreviewMaker, "previewFor"> = {
    async previewFor(bytes, mimeType) {
      const { PreviewMaker } = await import("./delivery/preview/mod.ts");
      previewMaker ??= new PreviewMaker({ logger: log });
      return await previewMaker.previewFor(bytes, mimeType);
    },
  };
  const registry = new MessageRegistry(kv, {
    logger: log.child({ component: "messages" }),
    // How an id posted before a restart is found: its row is keyed by TrueConf's timestamp.
    messageTime: async (id) => (await client.getMessageById(id)).timestamp,
  });
  const mentions = new Mentions(client, { logger: log.child({ component: "messages" }) });
  const poster = new Poster({
    client,
    registry,
    render: (chatId, r, op) => mentions.render(chatId, r, op),
    logger: log.child({ component: "messages" }),
  });
  // One line of turns for files (upload_lanes.ts): a resumed run's deliverer waits in it too.
  const lanes = new UploadLanes({ clock: systemClock });
  /** A deliverer over `chat` (the client, or a run's history-checking sender). */
  const delivererVia = (chat: ChatSender, living: Poster) =>
    new Deliverer({
      chat,
      fetchUrl: (url, expect, signal) =>
        safeFetch(url, {
          allowlist: config.urlAllowlist,
          maxBytes: config.maxUploadBytes,
          expect,
          ...(signal ? { signal } : {}),
        }),
      previews,
      onSent: (kind) => metrics.deliveredMessages.inc(kind),
      living,
      logger: log.child({ component: "delivery" }),
      lanes,
    });
  const deliverer = delivererVia(client, poster);
  // The crash window (docs/delivery.md): a post a dead process made and did not record is
  // looked for in the chat before it is made again. Messages TrueConf stamped from now on are
  // this process's own.
  const reconciler = new Reconciler({
    client,
    recordOf: (hookId, messageId, ts) => registry.recordOf(hookId, messageId, ts),
    startedAt: Date.now(),
    logger: log.child({ component: "delivery" }),
  });
  const queue = createQueue({
    kv,
    deliverer,
    resume: (run) => {
      const sender = reconciler.sender(run);
      return delivererVia(sender, poster.via(sender));
    },
    // The lease was found, not released: the last process died (SIGKILL, OOM, power loss, a
    // second signal) and may have posted its in-flight deliveries without recording them.
    uncleanStart: lease !== null && lease.how !== "free",
    client,
    store,
    limits: config.queue,
    logger: log.child({ component: "queue" }),
    metrics,
    // A hook revoked (or past its expiry) while no bot ran: its waiting deliveries end as a
    // running bot would have ended them, before the worker posts any of them.
    endedHook: async (id) => {
      const hook = await store.get(id);
      if (!hook) return "hook_revoked";
      const expired = hook.expiresAt !== null && hook.expiresAt <= (now ?? Date.now)();
      return expired ? "hook_expired" : null;
    },
    commandPollMs: 0, // the store's doorbell says when to look (start() below)
    ...(clock ? { clock } : {}),
  });
  metrics.queueOldestAge.source(() => Math.round(queue.stats().oldestAgeMs / 1000));
  // The chat side (the /webhook_* commands, outgoing webhooks) loads with its first use: a chat
  // message or event, an expiry falling due, a queued call (src/chat_side.ts says why).
  let chat: ChatSide | undefined;
  let chatLoading: Promise<ChatSide> | undefined;
  const loadChat = (): Promise<ChatSide> =>
    chatLoading ??= import("./chat_side.ts").then(
      (m) =>
        chat = m.buildChatSide({
          config,
          client,
          store,
          queue,
          living,
          metrics,
          logger: log,
          now,
          clock,
        }),
      (e) => {
        // A failed load (a broken install) fails this use; the next one tries again.
        chatLoading = undefined;
        throw e;
      },
    );
  /** Runs `fn` on the chat side: at once once loaded, else after loading it. */
  const withChat = <T>(fn: (c: ChatSide) => T): T | Promise<Awaited<T>> =>
    chat ? fn(chat) : loadChat().then(fn) as Promise<Awaited<T>>;
  // Outgoing webhooks: chat events → `call` jobs on the same engine as deliveries. The type is
  // registered now, so that calls still queued from the last run find it.
  queue.engine.register<CallPayload, CallState>({
    ...callJobLimits({ maxAgeMs: config.outgoingMaxAgeMs }),
    run: (job) => withChat((c) => c.calls.run(job)),
    finished: (end) => {
      if (chat) return chat.calls.finished?.(end);
      loadChat().then((c) => c.calls.finished?.(end)).catch((error) =>
        log.error("outgoing: a finished call could not be reported", { error, job: end.id })
      );
    },
  });

  // A KV file deleted or replaced under the running bot fails no write, yet everything written
  // after it is gone at the next start: watch its identity, turn not-ready, refuse hooks.
  const storageWatch = await watchFileIdentity(config.storagePath, {
    intervalMs: options.storageCheckMs,
    onLost: (why) =>
      log.error(
        `${why} while the bot runs: nothing can be stored any more; /readyz is 503 and hook requests get 503 until the bot is restarted (restore the file from a backup first, or start with an empty store)`,
        { storagePath: config.storagePath },
      ),
  });
  let draining = false;
  const readiness = (): Readiness => {
    const stats = queue.stats();
    const oldestAgeSeconds = Math.round(stats.oldestAgeMs / 1000);
    const problems = [];
    if (storageWatch.lost !== null) {
      problems.push({ detail: storageWatch.lost, public: BOT_PROBLEMS.storageGone });
    }
    // The store's change feed unread (src/hooks/store.ts, HookStore.feedUnread): an operator's
    // revoke with the CLI would not reach this bot; the doorbell's next ring or poll retries.
    const unread = store.feedUnread;
    if (unread !== null) {
      problems.push({
        detail: `could not read the hook change feed since ${
          new Date(unread.since).toISOString()
        } (${unread.error}): revokes, pauses and other changes made with the hooks CLI do not reach this bot until it can; retrying`,
        public: BOT_PROBLEMS.feedUnread,
      });
    }
    return trueconfReadiness(client.state, {
      draining,
      problems,
      // The details hold the public fields too: one monitoring query works from anywhere.
      details: { queue: { ...stats, oldestAgeSeconds } },
      // Public: how much waits, never who or where (issue 17.7).
      summary: { queue: { depth: stats.depth, oldestAgeSeconds } },
    });
  };

  const httpLog = log.child({ component: "http" });
  const living = new LivingDispatcher({
    inner: queue,
    registry,
    // A reply_to may name any message of the hook's chat (a member's question, say).
    messageChat: async (id) => (await client.getMessageById(id)).chatId,
    clock,
  });
  // One body reader for the server: its in-flight budget is shared by every route, and
  // drain() cuts the bodies still arriving so a stuck client cannot hold a shutdown.
  const bodies = new BodyReader({ inflightBudgetBytes: config.maxInflightBodyBytes });
  const ingest = createApp({
    hooks: store,
    dispatcher: living,
    messages: living,
    readiness,
    limits: {
      maxBodyBytes: config.maxUploadBytes,
      maxAttachments: config.maxAttachments,
      perIpPerMinute: config.rateLimit.perIpPerMinute,
      perTokenPerMinute: config.rateLimit.perTokenPerMinute,
    },
    trustedProxies: config.trustedProxies,
    urlAllowlist: config.urlAllowlist,
    readinessToken: config.metricsToken,
    draining: () => draining,
    storageLost: () => storageWatch.lost,
    bodies,
    metrics: {
      request: (route, hook, status) =>
        metrics.httpRequests.inc({ route: route as "hook", hook, status }),
      rateLimited: (scope) => metrics.rateLimitRejections.inc(scope),
    },
    // Sender trust (/webhook_allow, /webhook_verify) on the raw body, before any parsing.
    guards: trust.guards(),
    onRequest: (hookId, r) => {
      trust.requestDone(hookId, r.headers, r.status);
      store.recordRequest(hookId, {
        status: r.status,
        format: r.format ?? "",
        outcome: r.outcome ?? (r.status >= 400 ? "refused" : ""),
        error: r.error,
        oldUrlFrom: r.oldUrlFrom,
      });
    },
    logger: httpLog,
  });
  // The root app: every public route, one JSON 404 and 500 for all of them.
  const publicApp = new Hono()
    .route("/", metricsApp({ metrics, token: config.metricsToken }))
    .route("/", ingest);
  // WEBHOOK_PUBLIC_URL=https://x/tc puts /tc/hook/<token> into URLs: serve that prefix as well
  // as the root, so a proxy may pass the path through or strip it (issue 17.6).
  const prefix = new URL(config.publicUrl).pathname.replace(/\/+$/, "");
  // `strict: false`: a hook URL pasted or configured with a trailing slash (`/hook/<token>/`)
  // is the same route; senders never resend after the 404 it got before.
  const app = new Hono({ strict: false, router: new HookFirstRouter() });
  if (prefix) app.route(prefix, publicApp);
  app.route("/", publicApp).notFound(jsonNotFound).onError(jsonOnError(httpLog));

  let wasConnected = false;
  const unsubscribeState = client.onStateChange((s) => {
    metrics.trueconfConnected.set(s.connected);
    metrics.trueconfAuthorized.set(s.authorized);
    metrics.trueconfTokenExpiry.set(s.tokenExpiresAt ? Math.floor(s.tokenExpiresAt / 1000) : null);
    if (s.authorized && !wasConnected) queue.wake();
    if (wasConnected && !s.connected) metrics.trueconfReconnects.inc();
    wasConnected = s.authorized;
  });
  const unsubscribeMessages = client.onMessage((m) => withChat((c) => c.commands.handle(m)));
  // The bot removed from a chat, or the chat removed: that chat's hooks pause at once.
  const unsubscribeEvents = client.onEvent(async (e) => {
    if (e.type === "chat.removed") {
      await withChat((c) => c.commands.chatLost(e.chatId, "chat_removed"));
    } else if (e.type === "participant.removed" && client.state.botId) {
      if (sameTrueConfId(e.userId, client.state.botId)) {
        await withChat((c) => c.commands.chatLost(e.chatId, "bot_removed"));
      }
    } else if (e.type === "chat.title_changed") await store.rememberChatTitle(e.chatId, e.title);
  });
  // A hook revoked or expired (here, or by the CLI in another process): its waiting
  // deliveries are dropped as failed.
  const unsubscribeEnded = store.onRevoked((hookId, reason) => {
    // Nothing of an outgoing hook runs before the chat side is loaded.
    chat?.outgoing.stopHook(hookId);
    queue.dropHook(hookId, reason).catch((e) =>
      log.warn("could not drop the deliveries of an ended hook", { hook: hookId, error: e })
    );
  });
  let sweepTimer: ReturnType<typeof setInterval> | undefined;
  // `ackAfter`: TrueConf's push of the event is acked once its calls are stored, so a crash
  // in between leaves the message unread, pushed again at the next start (_connection.ts).
  const unsubscribeOutgoing = client.onEvent(
    (e) => withChat((c) => c.outgoing.onEvent(e)),
    { ackAfter: true },
  );
  // Expiry reminders and revocations need the chat side; a sweep with nothing due does not.
  const sweepExpiries = async () => {
    if (!chat) {
      const due = await store.dueExpiries();
      if (due.expired.length === 0 && due.warn.length === 0) return;
    }
    await withChat((c) => c.commands.sweepExpiries());
  };

  let doorbell: Promise<Doorbell> | undefined;
  let closed = false;
  return {
    app,
    client,
    store,
    queue,
    metrics,
    readiness,
    lease,
    start() {
      client.start();
      queue.start();
      // What the operator CLI changes from another process (a hook revoked, a queue command)
      // is looked for when the CLI rings the store's doorbell: at once, without an idle bot
      // polling twice a second (src/storage/doorbell.ts says why). `watch` never throws: a
      // first read of the feed that fails is warned of and retried at each ring or poll.
      doorbell = store.watch().then(() =>
        watchDoorbell(config.storagePath, async () => {
          // Each warning names the step that failed; the next ring or poll is the retry.
          await store.pollChangesOrWarn();
          await queue.engine.applyCommandsOrWarn();
        }, {
          onFallback: (why) =>
            log.warn(`${why}; looking for the operator CLI's changes twice a second instead`, {
              storagePath: config.storagePath,
            }),
        })
      );
      sweepTimer = setInterval(() => {
        sweepExpiries().catch((e) => log.warn("expiry sweep failed", { error: e }));
      }, options.expirySweepMs ?? 60_000);
      Deno.unrefTimer(sweepTimer);
    },
    drain() {
      draining = true;
      bodies.abortAll();
    },
    async close(graceMs = config.shutdownGraceMs, cutWaitMs?: number) {
      if (closed) return;
      closed = true;
      draining = true;
      // What TrueConf pushes from now on stays unread for the next start (receiveUnread):
      // handled then, rather than acked now and dropped by a bot that is stopping.
      client.stopTaking();
      // Every step runs even when one before it fails (a full disk refusing the last usage
      // flush must not leave the lease held and the KV open): failures are logged, not thrown.
      const step = async (what: string, fn: () => unknown): Promise<void> => {
        try {
          await fn();
        } catch (error) {
          log.error(`shutdown: ${what} failed`, { error });
        }
      };
      await step("closing the doorbell", async () => (await doorbell)?.close());
      unsubscribeOutgoing();
      // A chat side still loading is waited for: what it starts must be closed too.
      const chatNow = async () => chat ?? await chatLoading?.catch(() => undefined);
      await step("closing outgoing webhooks", async () => (await chatNow())?.outgoing.close());
      await step("closing the queue", () => queue.close(graceMs, cutWaitMs));
      unsubscribeMessages();
      unsubscribeState();
      unsubscribeEvents();
      unsubscribeEnded();
      clearInterval(sweepTimer);
      await step("closing the chat commands", async () => (await chatNow())?.commands.close());
      // The socket first: it ends the steps the cut left waiting on TrueConf, and their runs
      // record how they ended (an operator's drop) while the store is still open.
      await step("closing the TrueConf connection", () => client.close());
      await step("recording runs cut at shutdown", () => queue.settle((cutWaitMs ?? 2_000) / 2));
      await step("writing hook usage", () => store.close());
      await step("writing posted-message records", () => registry.flush());
      await step("stopping the preview workers", () => previewMaker?.close());
      await step("releasing the store's lease", () => lease?.release());
      storageWatch.stop();
      kv.close();
    },
  };
}
