/**
 * Outgoing webhooks: event-to-call latency at idle, and calls per second to a fast receiver.
 * The whole bot (createBot, default settings except WEBHOOK_URL_ALLOWLIST=127.0.0.1 so the
 * loopback receiver is allowed) against the fake TrueConf over real sockets, KV file in a
 * temp dir, a loopback receiver answering 204 at once.
 *
 * - **Idle latency**: one chat message at a time (the next only after the previous call
 *   arrived); time from the fake TrueConf pushing the message to the receiver seeing the
 *   signed POST. Includes the WebSocket hop, routing, the KV write of the `call` job, the
 *   worker picking it up, signing, the SSRF-checked connect and the request.
 * - **Throughput**: `messages` pushed at once; calls per second until all arrived, for one
 *   hook (one call at a time, by design) and for `hooks` hooks in as many chats (parallel).
 *
 * Run: `./deno run -A bench/outgoing.ts [samples=200] [messages=1000] [hooks=8]`
 *
 * Results: see docs/outgoing.md ("Measurements").
 */
import { startBotWithFake } from "../tests/support/bot_with_fake.ts";
import { silentLogger } from "../src/log.ts";
import { generateSecret } from "../src/outgoing/mod.ts";

const SAMPLES = Number(Deno.args[0] ?? 200);
const MESSAGES = Number(Deno.args[1] ?? 1000);
const HOOKS = Number(Deno.args[2] ?? 8);

let arrived = 0;
let onArrive: (() => void) | null = null;
const receiver = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
  await req.arrayBuffer();
  arrived++;
  onArrive?.();
  return new Response(null, { status: 204 });
});
const url = `http://127.0.0.1:${receiver.addr.port}/in`;

const dir = await Deno.makeTempDir({ prefix: "outgoing_bench_" });
const b = await startBotWithFake({
  dir,
  env: { WEBHOOK_URL_ALLOWLIST: "127.0.0.1" },
  logger: silentLogger,
  fake: { record: false },
});
const alice = b.fake.userId("alice");

async function hookIn(chatId: string): Promise<void> {
  b.addGroup({ chatId, title: chatId, owner: alice });
  const made = await b.bot.store.create({
    chatId,
    name: "bench",
    createdBy: alice,
    kind: "outgoing",
    outgoing: { url, secret: await b.bot.store.sealSecret(generateSecret()), triggers: [] },
  });
  if (!made.ok) throw new Error(made.message);
}

function until(n: number): Promise<void> {
  if (arrived >= n) return Promise.resolve();
  return new Promise((resolve) => {
    onArrive = () => {
      if (arrived >= n) {
        onArrive = null;
        resolve();
      }
    };
  });
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
}

try {
  await hookIn("c0");
  // Warm-up: lookups cached, JIT warm.
  for (let i = 0; i < 20; i++) {
    const want = arrived + 1;
    b.fake.pushMessage({ chatId: "c0", authorId: alice, text: `warm ${i}` });
    await until(want);
  }
  const lat: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const want = arrived + 1;
    const t0 = performance.now();
    b.fake.pushMessage({ chatId: "c0", authorId: alice, text: `idle ${i}` });
    await until(want);
    lat.push(performance.now() - t0);
  }
  lat.sort((x, y) => x - y);
  console.log(
    `idle latency (${SAMPLES} samples): p50 ${pct(lat, 0.5).toFixed(1)} ms, p95 ${
      pct(lat, 0.95).toFixed(1)
    } ms, p99 ${pct(lat, 0.99).toFixed(1)} ms, max ${lat.at(-1)?.toFixed(1)} ms`,
  );

  let start = arrived;
  let t0 = performance.now();
  for (let i = 0; i < MESSAGES; i++) {
    b.fake.pushMessage({ chatId: "c0", authorId: alice, text: `burst ${i}` });
  }
  await until(start + MESSAGES);
  let secs = (performance.now() - t0) / 1000;
  console.log(
    `one hook: ${MESSAGES} calls in ${secs.toFixed(2)} s = ${(MESSAGES / secs).toFixed(0)} calls/s`,
  );

  for (let h = 1; h < HOOKS; h++) await hookIn(`c${h}`);
  start = arrived;
  t0 = performance.now();
  for (let i = 0; i < MESSAGES; i++) {
    b.fake.pushMessage({ chatId: `c${i % HOOKS}`, authorId: alice, text: `spread ${i}` });
  }
  await until(start + MESSAGES);
  secs = (performance.now() - t0) / 1000;
  console.log(
    `${HOOKS} hooks: ${MESSAGES} calls in ${secs.toFixed(2)} s = ${
      (MESSAGES / secs).toFixed(0)
    } calls/s`,
  );
} finally {
  await b.close();
  await receiver.shutdown();
  await Deno.remove(dir, { recursive: true });
}
