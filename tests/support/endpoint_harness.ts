/**
 * The hook endpoint with everything real behind it, for endpoint tests: the fake TrueConf
 * server over real sockets, the real client, a HookStore on `:memory:` KV, the Deliverer with
 * the SSRF-guarded fetcher and the preview worker pool, the durable queue production wires
 * (same KV) behind the living-messages dispatcher and poster (as src/bot.ts wires them), and the
 * Hono app. Requests go through `app.request()` with a peer address in
 * the env, as the server (`listenHttp`) passes it; `listen()` serves it on a real socket.
 *
 * @module
 */
import { type AppOptions, createApp } from "../../src/ingest/app.ts";
import { HookStore } from "../../src/hooks/mod.ts";
import { TrueConfClient } from "../../src/trueconf/mod.ts";
import { Deliverer } from "../../src/delivery/deliverer.ts";
import type { UploadLanes } from "../../src/delivery/upload_lanes.ts";
import { createQueue, type DeliveryQueue } from "../../src/delivery/queue/mod.ts";
import { PreviewMaker } from "../../src/delivery/preview/mod.ts";
import { type Allowlist, safeFetch } from "../../src/net/mod.ts";
import { createLogger } from "../../src/log.ts";
import { trueconfReadiness } from "../../src/readiness.ts";
import { LivingDispatcher, Mentions, MessageRegistry, Poster } from "../../src/messages/mod.ts";
import { FakeTrueConf } from "./fake_trueconf.ts";
import { addGroup } from "./bot_with_fake.ts";
import { type HttpServer, listenHttp } from "../../src/ingest/http_server.ts";

/** The chat every harness hook posts into. */
export const CHAT_ID = "ops-chat";

/** Options of {@link startEndpoint}. */
export interface EndpointOptions {
  limits?: Partial<AppOptions["limits"]>;
  urlAllowlist?: Allowlist;
  /** The client's per-request timeout (the delivery timeout setting). Default 2 000 ms. */
  requestTimeoutMs?: number;
  /** Ping interval and pong timeout of the client. Default 5 000 / 1 000 ms. */
  pingIntervalMs?: number;
  pongTimeoutMs?: number;
  /** Make photo previews. Default true. */
  previews?: boolean;
  /** The deliverer's budget per URL attachment (default 12 000) and defer time (default 1 000). */
  fetchBudgetMs?: number;
  deferAfterMs?: number;
  /** Reports the app as shutting down. */
  draining?: () => boolean;
  /** Per-hook guards on the raw body. */
  guards?: AppOptions["guards"];
  /** Hears every answered request of a known hook. */
  onRequest?: AppOptions["onRequest"];
  /** Wraps the KV store every part uses (e.g. to make writes fail like a full disk). */
  kv?: (kv: Deno.Kv) => Deno.Kv;
  /** The body reader (time limits, in-flight budget); default the app's own. */
  bodies?: AppOptions["bodies"];
  /** Whose turn it is to post a file; default the deliverer's own lanes. */
  lanes?: UploadLanes;
}

/** A running endpoint; always {@link EndpointHarness.dispose} it. */
export interface EndpointHarness {
  readonly fake: FakeTrueConf;
  readonly client: TrueConfClient;
  readonly store: HookStore;
  /** The production dispatcher (the durable queue), started. */
  readonly queue: DeliveryQueue;
  readonly app: ReturnType<typeof createApp>;
  /** Every log line of app, deliverer, client, store and preview pool (debug level). */
  readonly logs: string[];
  /** Every metric the app reported, as JSON of its arguments. */
  readonly metrics: string[];
  /** Every token a test created, to check that logs and metrics never show one. */
  readonly tokens: string[];
  /** Calls of `findByToken` made by the app. */
  readonly lookups: { count: number };
  /** Creates a hook in {@link CHAT_ID}; returns its token. */
  hook(name?: string): Promise<string>;
  /** `app.request` from peer `ip` (default 203.0.113.5). */
  request(path: string, init?: RequestInit, ip?: string): Promise<Response>;
  /** POST a JSON body to `/hook/<token>`. */
  postJson(token: string, body: unknown, ip?: string): Promise<Response>;
  /** Serves the app on a real socket (127.0.0.1, a free port) until dispose; returns the port. */
  listen(): Promise<number>;
  dispose(): Promise<void>;
}

/** Starts the fake, connects the client and builds the app. */
export async function startEndpoint(options: EndpointOptions = {}): Promise<EndpointHarness> {
  const logs: string[] = [];
  const logger = createLogger({ level: "debug", write: (l) => void logs.push(l) });
  const fake = await FakeTrueConf.start({
    bot: { login: "webhook_bot", password: "secret" },
    users: [{ login: "alice", password: "a" }],
  });
  const alice = fake.userId("alice");
  addGroup(fake, { chatId: CHAT_ID, title: "Ops", owner: alice });
  const client = new TrueConfClient({
    server: "127.0.0.1",
    https: false,
    port: fake.port,
    verifyTls: true,
    auth: { username: "webhook_bot", password: "secret" },
    requestTimeoutMs: options.requestTimeoutMs ?? 2_000,
    pingIntervalMs: options.pingIntervalMs ?? 5_000,
    pongTimeoutMs: options.pongTimeoutMs ?? 10_000, // no test waits for a lost pong
    connectTimeoutMs: 1_000,
    backoff: { initialMs: 20, maxMs: 100 },
    tokenCheckIntervalMs: 1_000,
    logger,
  });
  const rawKv = await Deno.openKv(":memory:");
  const kv = options.kv ? options.kv(rawKv) : rawKv;
  const store = new HookStore(kv, { logger });
  // A preview budget no busy machine reaches: the first worker compiles photon's WebAssembly.
  const previews = options.previews === false
    ? null
    : new PreviewMaker({ logger, workers: 1, timeoutMs: 120_000 });
  const limits: AppOptions["limits"] = {
    maxBodyBytes: 1024 * 1024,
    maxAttachments: 10,
    perIpPerMinute: 0,
    perTokenPerMinute: 0,
    ...options.limits,
  };
  const registry = new MessageRegistry(kv, {
    logger,
    messageTime: async (id) => (await client.getMessageById(id)).timestamp,
  });
  const mentions = new Mentions(client, { logger });
  const deliverer = new Deliverer({
    chat: client,
    fetchUrl: (url, expect, signal) =>
      safeFetch(url, {
        maxBytes: limits.maxBodyBytes,
        expect,
        totalTimeoutMs: 5_000,
        ...(signal ? { signal } : {}),
        ...(options.urlAllowlist ? { allowlist: options.urlAllowlist } : {}),
      }),
    previews,
    // What bot.ts wires: posted messages remembered, mentions rendered, keys and groups edited.
    living: new Poster({
      client,
      registry,
      render: (chatId, r, op) => mentions.render(chatId, r, op),
      logger,
    }),
    logger,
    ...(options.fetchBudgetMs !== undefined ? { fetchBudgetMs: options.fetchBudgetMs } : {}),
    ...(options.deferAfterMs !== undefined ? { deferAfterMs: options.deferAfterMs } : {}),
    lanes: options.lanes,
  });
  const lookups = { count: 0 };
  const metrics: string[] = [];
  const queue = createQueue({
    kv,
    deliverer,
    client,
    store,
    limits: { maxPerHook: 1000, maxTotal: 10_000 },
    logger,
    metrics: {
      queueDepth: { set: (...a) => void metrics.push(JSON.stringify(["queueDepth", ...a])) },
      deliveryDuration: {
        observe: (...a) => void metrics.push(JSON.stringify(["delivery", ...a])),
      },
      failedParts: { inc: (...a) => void metrics.push(JSON.stringify(["failedParts", ...a])) },
    },
  });
  const unsubscribe = client.onStateChange((s) => {
    if (s.authorized) queue.wake();
  });
  // The production dispatcher: the living-messages face in front of the durable queue.
  const living = new LivingDispatcher({ inner: queue, registry });
  const app = createApp({
    hooks: {
      findByToken: (token) => {
        lookups.count++;
        return store.findByToken(token);
      },
    },
    dispatcher: living,
    messages: living,
    readiness: () => trueconfReadiness(client.state, { details: { queue: queue.stats() } }),
    limits,
    metrics: {
      request: (...a) => void metrics.push(JSON.stringify(["request", ...a])),
      rateLimited: (...a) => void metrics.push(JSON.stringify(["rateLimited", ...a])),
    },
    ...(options.urlAllowlist ? { urlAllowlist: options.urlAllowlist } : {}),
    ...(options.draining ? { draining: options.draining } : {}),
    guards: options.guards,
    onRequest: options.onRequest,
    bodies: options.bodies,
    logger,
  });
  const tokens: string[] = [];
  let hooks = 0;
  let server: HttpServer | null = null;
  client.start();
  queue.start();
  try {
    await queue.ready();
    await client.ready(3_000);
  } catch (e) {
    unsubscribe();
    await queue.close(0);
    await store.close();
    kv.close();
    await client.close();
    await fake.close();
    throw e;
  }
  const request = (path: string, init: RequestInit = {}, ip = "203.0.113.5") =>
    Promise.resolve(app.request(path, init, { remoteAddr: { hostname: ip } }));
  return {
    fake,
    client,
    store,
    queue,
    app,
    logs,
    metrics,
    tokens,
    lookups,
    async hook(name = `hook-${++hooks}`) {
      const made = await store.create({ chatId: CHAT_ID, name, createdBy: alice });
      if (!made.ok) throw new Error(made.message);
      tokens.push(made.token);
      return made.token;
    },
    request,
    postJson(token, body, ip) {
      return request(`/hook/${token}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      }, ip);
    },
    async listen() {
      server ??= await listenHttp({
        hostname: "127.0.0.1",
        port: 0,
        handler: (req, info) => app.fetch(req, info),
        onClientMistake: (m) => logger.debug("client error", { ...m }),
      });
      return server.addr.port;
    },
    async dispose() {
      await server?.shutdown();
      unsubscribe();
      await queue.close(0);
      await store.close();
      await registry.flush();
      kv.close();
      await client.close();
      await previews?.close();
      await fake.close();
    },
  };
}

/**
 * Runs `fn` with a fresh endpoint and disposes it afterwards, also when `fn` throws.
 * Every token created is checked against the logs and metrics at the end: none may show one.
 */
export async function withEndpoint(
  options: EndpointOptions,
  fn: (h: EndpointHarness) => Promise<void>,
): Promise<void> {
  const h = await startEndpoint(options);
  try {
    await fn(h);
  } finally {
    await h.dispose();
  }
  const lines = [...h.logs, ...h.metrics];
  const leaks = h.tokens.filter((t) => lines.some((l) => l.includes(t)));
  if (leaks.length > 0) {
    throw new Error(
      `a full hook token appears in the logs or metrics:\n${
        lines.filter((l) => leaks.some((t) => l.includes(t))).join("\n")
      }`,
    );
  }
}

/** A local HTTP server on 127.0.0.1 serving fixed paths; for attachment URLs. */
export function serveFiles(
  routes: Record<string, { body: Uint8Array | string; type: string; status?: number }>,
): { base: string; hits: string[]; close(): Promise<void> } {
  const hits: string[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) => {
      const path = new URL(req.url).pathname;
      hits.push(path);
      const r = routes[path];
      if (!r) return new Response("not found", { status: 404 });
      const body = typeof r.body === "string" ? r.body : new Uint8Array(r.body);
      return new Response(body, { status: r.status ?? 200, headers: { "content-type": r.type } });
    },
  );
  return {
    base: `http://127.0.0.1:${server.addr.port}`,
    hits,
    close: () => server.shutdown(),
  };
}
