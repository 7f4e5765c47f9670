/**
 * `serve`: runs the bot until a signal, with a graceful shutdown.
 *
 * @module
 */
import { type Config, configWarnings, readCaFile } from "../config.ts";
import { type Bot, createBot, httpServerOptions } from "../bot.ts";
import type { Logger } from "../log.ts";
import { describeHolder, LeaseHeldError } from "../storage/mod.ts";
import { type FetchHandler, type HttpServer, listenHttp } from "../ingest/mod.ts";
import { reclaimStartGarbage } from "./_start_garbage.ts";
import { listenProblem } from "./_listen_problem.ts";

/**
 * A signal this soon after the first is the same one delivered twice (a terminal's Ctrl+C
 * reaches the bot directly and again through `deno task`), not an operator's second signal.
 */
const REPEATED_SIGNAL_MS = 1_000;

/** Options of {@link serve}. */
export interface ServeOptions {
  /**
   * Wait for the store's lease while another live instance holds it (and take over when it
   * stops or dies) instead of exiting 1.
   */
  standby?: boolean | undefined;
}

/**
 * Starts the HTTP server and the TrueConf client; resolves with the exit code once stopped.
 *
 * First SIGTERM/SIGINT: new hook requests get 503 (the listener accepts them until the requests
 * in flight are done), request bodies still arriving are cut (503, never acknowledged), the
 * listener closes, in-flight requests and deliveries get what is left
 * of `config.shutdownGraceMs`, what is left stays in the durable queue, usage counters are
 * flushed, the socket and KV are closed, every connection still open is closed (none holds a
 * request we answered), exit 0 — within the grace period whatever clients do. A second signal
 * (more than a second after the first) exits at once (status 1); KV is a SQLite file in WAL
 * mode, so that cannot corrupt it.
 */
export async function serve(
  config: Config,
  log: Logger,
  options: ServeOptions = {},
): Promise<number> {
  const started = performance.now();
  for (const warning of configWarnings(config)) log.warn(warning);
  let caPem: string | undefined;
  if (config.trueconf.caFile) {
    try {
      caPem = await readCaFile(config.trueconf.caFile);
    } catch (e) {
      log.error(e instanceof Error ? e.message : String(e), { path: config.trueconf.caFile });
      return 2;
    }
  }
  let bot: Bot;
  let watched = 0;
  // The port is bound once the store's lease is taken and before anything is sent to TrueConf
  // (`beforeTrueConf`): a second instance, on a held store or a busy port, is refused without
  // logging in with the serving bot's credentials. Requests accepted before the bot is built
  // (a few ms) wait for it.
  const bound: { server?: HttpServer; listenError?: { error: unknown } } = {};
  const built = Promise.withResolvers<Bot>();
  built.promise.catch(() => {}); // a start that fails answers its early requests 500
  let handle: FetchHandler = async (req, info) => (await built.promise).app.fetch(req, info);
  // A signal before the bot is built: a standby waits for the lease (for hours, maybe), a
  // store another process keeps locked holds the start as long as the lock. Nothing was
  // accepted yet (a request that came in the last few ms was never answered), so a supervisor's
  // SIGTERM stops it at once with 0, not the 143 of a process the signal killed (issue 18.1).
  // KV is SQLite in WAL mode, and a lease left behind by a dead process is taken over at once.
  const beforeServing: [Deno.Signal, () => void][] = (["SIGTERM", "SIGINT"] as const).map(
    (signal) => [signal, () => {
      log.info("stopped before serving", { signal });
      Deno.exit(0);
    }],
  );
  for (const [sig, fn] of beforeServing) Deno.addSignalListener(sig, fn);
  const stopWaitingForSignals = () => {
    for (const [sig, fn] of beforeServing) Deno.removeSignalListener(sig, fn);
  };
  try {
    bot = await createBot(config, {
      logger: log,
      ...(caPem ? { caPem } : {}),
      // A standby instance may wait for hours: it asks for its token when it takes over.
      earlyToken: !options.standby,
      beforeTrueConf: async () => {
        try {
          bound.server = await listenHttp(
            httpServerOptions(config, log, (req, info) => handle(req, info)),
          );
        } catch (error) {
          bound.listenError = { error };
          throw error;
        }
      },
      lease: {
        wait: options.standby,
        onWatch: (holder) => {
          if (watched++) return;
          log.info(
            options.standby
              ? "standby: another instance holds the store; serving once it stops or dies"
              : "the store's lease is held; waiting up to 6 s to see whether its holder is alive",
            { holder: describeHolder(holder) },
          );
        },
        onLost: (why) => {
          // Another instance serves this store now: answering anything more would answer
          // twice. Exit at once; KV is SQLite in WAL mode, so that cannot corrupt it.
          log.error(`stopping at once: ${why}`, {});
          Deno.exit(1);
        },
      },
    });
  } catch (e) {
    stopWaitingForSignals();
    built.reject(e);
    bound.server?.closeAll();
    await bound.server?.shutdown();
    if (e instanceof LeaseHeldError) {
      log.error(e.message, { holder: e.holder });
      return 1;
    }
    if (bound.listenError) {
      const { host, port } = config.http;
      const { error } = bound.listenError;
      log.error(listenProblem(host, port, error), { host, port, error });
      return 1;
    }
    // Typically the KV file (WEBHOOK_STORAGE_PATH): openKv says what to fix in plain words.
    log.error("cannot start", { storagePath: config.storagePath, error: e });
    return 1;
  }
  // `beforeTrueConf` ran, so the port is bound.
  const server = bound.server!;
  built.resolve(bot);
  handle = (req, info) => bot.app.fetch(req, info);
  const stopped = Promise.withResolvers<void>();
  // Before listening: a SIGTERM right after the "listening" line must already be graceful.
  let firstSignalAt: number | null = null;
  const onSignal = (name: string) => () => {
    const now = performance.now();
    if (firstSignalAt !== null) {
      // One Ctrl+C in a terminal running `deno task start` arrives twice: the terminal signals
      // the whole process group and deno task forwards its own copy a few ms later. Only a
      // signal sent after that window means "now".
      if (now - firstSignalAt < REPEATED_SIGNAL_MS) {
        log.debug("signal repeated at once (one Ctrl+C seen twice); still shutting down", {
          signal: name,
        });
        return;
      }
      log.warn("second signal, exiting at once", { signal: name });
      Deno.exit(1);
    }
    firstSignalAt = now;
    log.info("shutting down", { signal: name, graceMs: config.shutdownGraceMs });
    bot.drain();
    stopped.resolve();
  };
  const handlers: [Deno.Signal, () => void][] = [
    ["SIGTERM", onSignal("SIGTERM")],
    ["SIGINT", onSignal("SIGINT")],
  ];
  for (const [sig, fn] of handlers) Deno.addSignalListener(sig, fn);
  stopWaitingForSignals();
  log.info("listening", {
    address: `${server.addr.hostname}:${server.addr.port}`,
    publicUrl: config.publicUrl,
    ms: Math.round(performance.now() - started),
    ...(bot.lease ? { lease: bot.lease.how } : {}),
    // Whether the start task's bundle runs (src/start.ts) or the TypeScript modules do.
    modules: import.meta.url.endsWith(".js") ? "bundle" : "source",
  });
  bot.start();
  let cancelReclaim = () => {};
  const unsubscribe = bot.client.onStateChange((s) => {
    if (s.authorized) {
      log.info("ready", { botId: s.botId, ms: Math.round(performance.now() - started) });
      unsubscribe();
      cancelReclaim = reclaimStartGarbage();
    }
  });

  await stopped.promise;
  cancelReclaim();
  // One deadline for the whole shutdown, whatever clients do. The listener stops accepting;
  // requests in flight finish (their unfinished bodies were cut by drain(), and were never
  // acknowledged); a client that holds its connection open (an unread body, a half-sent
  // request) cannot hold the process: at the deadline we stop waiting and the process exits.
  const deadline = performance.now() + config.shutdownGraceMs;
  // While the requests in flight finish, a new one is still accepted and answered 503
  // shutting_down with Retry-After (refusing the connection would tell a sender, or the proxy
  // in front, nothing); every answer now closes its connection.
  server.drain();
  // Wait for the requests in flight only: a connection without one (a half-sent head, a client
  // that went quiet) was never answered anything and is closed below, whatever it does.
  // The last second (half of a short grace) is kept for closing: the process must be gone
  // within the grace period, not start closing at its end.
  const reserveMs = shutdownReserveMs(config.shutdownGraceMs);
  const answered = await settlesWithin(server.requestsDone(), config.shutdownGraceMs - reserveMs);
  // Stop accepting before the store closes (and the lease goes to a standby); idle connections
  // close now.
  void server.shutdown();
  // Deliveries already accepted finish within what is left but the reserve (the queue's cut,
  // the usage flush, the lease and KV come after it), or stay queued for the next start;
  // requests still waiting on an inline delivery are answered now (202: queued).
  // Half the reserve is for runs to stop at the cut (one waiting on a silent TrueConf never
  // does), half for closing.
  await bot.close(
    Math.max(0, Math.round(deadline - reserveMs - performance.now())),
    Math.round(reserveMs / 2),
  );
  // Those last answers get a moment to leave; then every connection still open is closed.
  if (!answered) await settlesWithin(server.requestsDone(), 250);
  if (server.connections > 0) {
    log.info("closing the connections still open", {
      connections: server.connections,
      requests: server.requests,
    });
  }
  server.closeAll();
  for (const [sig, fn] of handlers) Deno.removeSignalListener(sig, fn);
  log.info("stopped", {});
  return 0;
}

/** True when `p` settles within `ms`; never rejects. */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), ms));
  try {
    return await Promise.race([p.then(() => true, () => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The part of the shutdown grace kept for its end: half for runs to stop at the cut, half for
 * closing (the socket, the store's last writes, the exit). One second; half of a grace shorter
 * than 2 s: measured in the worst case, the closing took up to 330 ms on a loaded machine, and
 * a quarter of a 1 s grace (125 ms) let the process outlive it (docs/limits.md).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(shutdownReserveMs(10_000), 1_000);
 * assert.equal(shutdownReserveMs(1_000), 500);
 * ```
 */
export function shutdownReserveMs(graceMs: number): number {
  return Math.min(1_000, graceMs / 2);
}
