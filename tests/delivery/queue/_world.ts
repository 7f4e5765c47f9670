// Test world of the durable queue: the fake TrueConf server over real sockets, the real
// client, deliverer, hook store and HTTP app, and the queue on a KV file in a temp folder.
import { createApp } from "../../../src/ingest/app.ts";
import { HookStore } from "../../../src/hooks/mod.ts";
import { openKv } from "../../../src/storage/mod.ts";
import { TrueConfClient } from "../../../src/trueconf/mod.ts";
import { Deliverer } from "../../../src/delivery/deliverer.ts";
import {
  createQueue,
  type DeliveryQueue,
  type DurableQueueOptions,
} from "../../../src/delivery/queue/mod.ts";
import { FakeTrueConf } from "../../support/fake_trueconf.ts";
import {
  loopbackClientOptions,
  TEST_ALICE as ALICE,
  TEST_BOT as BOT,
} from "../../support/bot_with_fake.ts";
import { createLogger, type Logger } from "../../../src/log.ts";
import { SafeFetchError } from "../../../src/net/mod.ts";

export { ALICE, BOT };

/** One running world; `restart` closes queue + KV and opens them again on the same file. */
export interface World {
  fake: FakeTrueConf;
  client: TrueConfClient;
  store: HookStore;
  queue: DeliveryQueue;
  kv: Deno.Kv;
  kvPath: string;
  alice: string;
  /** POSTs to the app like a sender would: `body` as JSON, or bytes as they are. */
  post(
    token: string,
    body: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }>;
  /** Multipart POST with text and files. */
  postFiles(
    token: string,
    text: string,
    files: { name: string; bytes: Uint8Array }[],
  ): Promise<{ status: number; json: Record<string, unknown> }>;
  get(token: string, path: string): Promise<{ status: number; json: Record<string, unknown> }>;
  hook(chatId: string, name: string): Promise<{ token: string; id: string }>;
  /** Texts posted in a chat, in order. */
  texts(chatId: string): string[];
  restart(): Promise<void>;
  logs: Record<string, unknown>[];
}

export type WorldOptions = Partial<Omit<DurableQueueOptions, "kv" | "deliverer" | "client">> & {
  /** Start with TrueConf refusing connections. */
  down?: boolean;
  /**
   * The client's request timeout; default 10 s. No test here waits for a timeout: a false one
   * on a loaded machine (the fake kept off the CPU for a second) failed a delivery attempt.
   */
  requestTimeoutMs?: number;
};

export async function withWorld(
  opts: WorldOptions,
  fn: (w: World) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "queue_test_" });
  const kvPath = `${dir}/webhooks.kv`;
  const fake = await FakeTrueConf.start({ bot: BOT, users: [ALICE] });
  if (opts.down) await fake.refuseConnections(true);
  const logs: Record<string, unknown>[] = [];
  const logger: Logger = createLogger({
    level: "debug",
    write: (l) => logs.push(JSON.parse(l)),
  });
  const client = new TrueConfClient(loopbackClientOptions(fake, BOT, {
    requestTimeoutMs: opts.requestTimeoutMs ?? 10_000,
    pingIntervalMs: 5_000,
    pongTimeoutMs: 10_000,
    connectTimeoutMs: 1_000,
    backoff: { initialMs: 20, maxMs: 100 },
    tokenCheckIntervalMs: 1_000,
  }));
  const deliverer = new Deliverer({
    chat: client,
    fetchUrl: (url) =>
      Promise.reject(
        new SafeFetchError("http_error", `404 for ${url}`, { permanent: true, status: 404 }),
      ),
    previews: null,
  });
  let kv = await openKv(kvPath);
  let store = new HookStore(kv);
  const make = () =>
    createQueue({
      kv,
      deliverer,
      client,
      store,
      limits: { maxPerHook: 1000, maxTotal: 10000 },
      logger,
      backoff: { baseMs: 50, capMs: 200 },
      ...opts,
    });
  let queue = make();
  const unsubscribe = client.onStateChange((s) => {
    if (s.authorized) w.queue.wake();
  });
  const app = () =>
    createApp({
      hooks: w.store,
      dispatcher: w.queue,
      readiness: () => ({ ready: true, details: { queue: w.queue.stats() } }),
      limits: {
        maxBodyBytes: 30 * 1024 * 1024,
        maxAttachments: 10,
        perIpPerMinute: 0,
        perTokenPerMinute: 0,
      },
    });
  let http: ReturnType<typeof app>;
  const w: World = {
    fake,
    client,
    store,
    queue,
    kv,
    kvPath,
    alice: fake.userId("alice"),
    logs,
    async post(token, body, headers = {}) {
      const res = await http.request(`/hook/${token}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: body instanceof Uint8Array ? body as BufferSource : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, json: text ? JSON.parse(text) : {}, headers: res.headers };
    },
    async postFiles(token, text, files) {
      const form = new FormData();
      form.set("text", text);
      for (const f of files) form.append("file", new File([f.bytes as BufferSource], f.name));
      const res = await http.request(`/hook/${token}`, { method: "POST", body: form });
      return { status: res.status, json: await res.json() };
    },
    async get(token, path) {
      const res = await http.request(`/hook/${token}${path}`);
      return { status: res.status, json: await res.json() };
    },
    async hook(chatId, name) {
      const r = await w.store.create({ chatId, name, createdBy: w.alice });
      if (!r.ok) throw new Error(r.message);
      return { token: r.token, id: r.hook.id };
    },
    texts(chatId) {
      return fake.messagesIn(chatId).filter((m) => m.kind === "text").map((m) => m.text ?? "");
    },
    async restart() {
      await w.queue.close(0);
      await w.store.close();
      w.kv.close();
      kv = await openKv(kvPath);
      store = new HookStore(kv);
      queue = make();
      Object.assign(w, { kv, store, queue });
      http = app();
      queue.start();
      await queue.ready();
    },
  };
  http = app();
  try {
    client.start();
    queue.start();
    await queue.ready();
    if (!opts.down) await client.ready(3_000);
    await fn(w);
  } finally {
    unsubscribe();
    await w.queue.close(0);
    await w.store.close();
    w.kv.close();
    await client.close();
    await fake.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Polls until `pred` holds (the shared helper, under the name these tests use). */
export { waitUntil as until } from "../../support/wait.ts";
