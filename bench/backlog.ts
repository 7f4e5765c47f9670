/**
 * Backlog drain: queue N text messages while the fake TrueConf refuses connections, let it
 * come back, and time until every message is in the chat. Also reports the KV file growth
 * per queued message and the enqueue rate. Real client, real sockets, KV file in a temp dir.
 *
 * Run: `./deno run -A bench/backlog.ts [messages=10000] [hooks=1,100] [concurrency=200]`
 *
 * Results: see docs/delivery.md ("Measurements").
 */
import { FakeTrueConf } from "../tests/support/fake_trueconf.ts";
import { loopbackClientOptions } from "../tests/support/bot_with_fake.ts";
import { TrueConfClient } from "../src/trueconf/mod.ts";
import { Deliverer } from "../src/delivery/deliverer.ts";
import { DurableQueue } from "../src/delivery/queue/mod.ts";
import { openKv } from "../src/storage/mod.ts";

const N = Number(Deno.args[0] ?? 10_000);
const HOOKS = (Deno.args[1] ?? "1,100").split(",").map(Number);
const CONCURRENCY = Number(Deno.args[2] ?? 200);
const BOT = { login: "webhook_bot", password: "s3cret" };

async function fileSize(path: string): Promise<number> {
  let total = 0;
  for (const suffix of ["", "-wal", "-shm"]) {
    try {
      total += (await Deno.stat(path + suffix)).size;
    } catch { /* absent */ }
  }
  return total;
}

async function run(hooks: number) {
  const dir = await Deno.makeTempDir({ prefix: "backlog_bench_" });
  const path = `${dir}/webhooks.kv`;
  const fake = await FakeTrueConf.start({ bot: BOT, record: false });
  for (let h = 0; h < hooks; h++) {
    fake.addChat({ chatId: `chat${h}`, title: `c${h}`, chatType: 2, participants: [] });
  }
  await fake.refuseConnections(true);
  const client = new TrueConfClient(loopbackClientOptions(fake, BOT, {
    requestTimeoutMs: 5_000,
    connectTimeoutMs: 1_000,
    backoff: { initialMs: 20, maxMs: 50 },
  }));
  const deliverer = new Deliverer({
    chat: client,
    fetchUrl: () => Promise.reject(new Error("unused")),
    previews: null,
  });
  const kv = await openKv(path);
  const queue = new DurableQueue({
    kv,
    deliverer,
    client,
    limits: { maxPerHook: N, maxTotal: N },
    concurrency: 32,
  });
  const off = client.onStateChange((s) => s.authorized && queue.wake());
  client.start();
  queue.start();
  await queue.ready();
  // Let sqlite create its tables and WAL before measuring growth.
  await kv.set(["bench_warmup"], 1);
  await kv.delete(["bench_warmup"]);
  const before = await fileSize(path);

  let t = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < N) {
      const i = next++;
      const h = i % hooks;
      const o = await queue.dispatch({
        hook: { id: `hook${h}`, chatId: `chat${h}`, name: `h${h}`, createdBy: "" },
        message: {
          text: `message ${i} of the backlog benchmark, a typical alert line`,
          parseMode: "text",
          attachments: [],
        },
      });
      if (o.kind !== "queued") throw new Error(`not queued: ${JSON.stringify(o)}`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const enqueueMs = performance.now() - t;
  const enqueueCommits = queue.commits;
  const after = await fileSize(path);

  t = performance.now();
  await fake.refuseConnections(false);
  await fake.waitFor(() => fake.sentCount() >= N, 600_000);
  const drainMs = performance.now() - t;
  while (queue.stats().depth > 0) await new Promise((r) => setTimeout(r, 10));
  const settledMs = performance.now() - t;

  console.log(
    `hooks=${hooks} messages=${N}: enqueue ${enqueueMs.toFixed(0)} ms (${
      Math.round(N / enqueueMs * 1000)
    }/s, ${enqueueCommits} commits); all in chat ${
      drainMs.toFixed(0)
    } ms after TrueConf came back (${Math.round(N / drainMs * 1000)}/s), queue empty at ${
      settledMs.toFixed(0)
    } ms; KV growth ${
      ((after - before) / N).toFixed(0)
    } B/message (${before} → ${after} bytes); sent ${fake.sentCount()}`,
  );
  off();
  await queue.close(1_000);
  kv.close();
  await client.close();
  await fake.close();
  await Deno.remove(dir, { recursive: true });
}

for (const h of HOOKS) await run(h);
