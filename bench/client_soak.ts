/**
 * Soak test of the TrueConf client against the fake server: repeated drops, a short
 * outage, short-lived tokens (scheduled refreshes and 203s) and a steady stream of
 * sendMessage plus incoming pushes. Proves the client neither hangs nor leaks timers,
 * sockets or memory.
 *
 *   ./deno run -A bench/client_soak.ts [seconds=120] [messagesPerSecond=1000, 0 = as fast as possible]
 *
 * Prints a progress line every 10 s and a summary; exits 1 if anything is left open
 * after close() or a request hung.
 *
 * @module
 */
import { TrueConfClient, TrueConfDisconnectedError } from "../src/trueconf/mod.ts";
import { FakeTrueConf } from "../tests/support/fake_trueconf.ts";
import { loopbackClientOptions } from "../tests/support/bot_with_fake.ts";

const seconds = Number(Deno.args[0] ?? 120);
const rate = Number(Deno.args[1] ?? 1000);
const BOT = { login: "soak_bot", password: "pw" };
const TOKEN_TTL_S = 8; // refresh margin = half of it → a scheduled refresh every ~4 s
const DROP_EVERY_MS = 3_000;
const EXPIRE_EVERY_MS = 11_000; // all tokens invalid + 203 on requests → refresh and retry
const OUTAGE_EVERY_MS = 30_000; // listener closed for 1.5 s
const WORKERS = 4;
const PUSH_EVERY_MS = 50;

function fds(): number {
  try {
    return [...Deno.readDirSync("/proc/self/fd")].length;
  } catch {
    return -1;
  }
}
const mb = (n: number) => (n / 1048576).toFixed(1);

const fake = await FakeTrueConf.start({
  bot: BOT,
  users: [{ login: "alice", password: "a" }],
  tokenTtlSeconds: TOKEN_TTL_S,
  record: false,
});
fake.emit203OnRequests(true);
const alice = fake.userId("alice");
const chatId = fake.p2pChatId(alice);

const client = new TrueConfClient(loopbackClientOptions(fake, BOT, {
  requestTimeoutMs: 2_000,
  pingIntervalMs: 1_000,
  pongTimeoutMs: 1_000,
  connectTimeoutMs: 3_000,
  backoff: { initialMs: 50, maxMs: 1_000 },
  tokenCheckIntervalMs: 500,
}));
let incoming = 0;
client.onMessage(() => void incoming++);
client.start();
await client.ready(5_000);

const counts = { ok: 0, disconnected: 0, other: 0, maxLatencyMs: 0 };
const otherErrors = new Map<string, number>();
let running = true;
let hung = 0;

async function worker(n: number): Promise<void> {
  let i = 0;
  const gapMs = rate > 0 ? (1000 * WORKERS) / rate : 0;
  let next = performance.now();
  while (running) {
    if (gapMs > 0) {
      next += gapMs;
      const wait = next - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      else if (wait < -1000) next = performance.now(); // fell behind (outage): don't burst
    }
    const t0 = performance.now();
    try {
      await client.sendMessage(chatId, `w${n} #${i++}`, "text");
      counts.ok++;
    } catch (err) {
      if (err instanceof TrueConfDisconnectedError) counts.disconnected++;
      else {
        counts.other++;
        const k = err instanceof Error ? `${err.name}: ${err.message.slice(0, 80)}` : String(err);
        otherErrors.set(k, (otherErrors.get(k) ?? 0) + 1);
      }
      await new Promise((r) => setTimeout(r, 20)); // not connected: the caller backs off a little
    }
    const ms = performance.now() - t0;
    counts.maxLatencyMs = Math.max(counts.maxLatencyMs, ms);
    if (ms > 2_500) hung++; // longer than the request timeout = a hang
  }
}

const timers: ReturnType<typeof setTimeout>[] = [];
timers.push(setInterval(() => fake.dropAll(), DROP_EVERY_MS));
timers.push(setInterval(() => fake.expireAllTokens(), EXPIRE_EVERY_MS));
timers.push(setInterval(() => {
  void fake.refuseConnections(true);
  const t = setTimeout(() => void fake.refuseConnections(false), 1_500);
  timers.push(t);
}, OUTAGE_EVERY_MS));
timers.push(setInterval(() => {
  if (fake.authorizedConnections > 0) {
    fake.pushMessage({ chatId, authorId: alice, text: "ping from alice" });
  }
}, PUSH_EVERY_MS));

// Warm-up numbers once the first connection is up.
const start = {
  rss: Deno.memoryUsage().rss,
  heap: Deno.memoryUsage().heapUsed,
  fds: fds(),
  at: Date.now(),
};
const workers = Array.from({ length: WORKERS }, (_, n) => worker(n));
const sockets: number[] = [];

console.log(
  `soak ${seconds}s: drops every ${DROP_EVERY_MS / 1000}s, token TTL ${TOKEN_TTL_S}s, ` +
    `all tokens expired every ${EXPIRE_EVERY_MS / 1000}s, outage 1.5s every ${
      OUTAGE_EVERY_MS / 1000
    }s, ${WORKERS} senders`,
);
const line = () => {
  const s = client.state, st = client.stats, m = Deno.memoryUsage();
  sockets.push(st.liveSockets);
  console.log(
    `t=${
      Math.round((Date.now() - start.at) / 1000)
    }s ok=${counts.ok} disc=${counts.disconnected} other=${counts.other} ` +
      `reconnects=${s.reconnects} rotations=${st.rotations} tokens=${st.oauthTokens} events=${st.eventsReceived} ` +
      `liveSockets=${st.liveSockets} pending=${st.pendingRequests} timers=${st.activeTimers} ` +
      `fakeConns=${fake.connections} rss=${mb(m.rss)}MB heap=${mb(m.heapUsed)}/${
        mb(m.heapTotal)
      }MB ext=${mb(m.external)}MB fds=${fds()}`,
  );
};
const progress = setInterval(line, 10_000);
await new Promise((r) => setTimeout(r, seconds * 1000));
clearInterval(progress);
line();
for (const t of timers) clearTimeout(t);
await fake.refuseConnections(false);
running = false;
await Promise.all(workers);
const before = client.stats;
const end = { rss: Deno.memoryUsage().rss, heap: Deno.memoryUsage().heapUsed, fds: fds() };
await client.close();
const after = client.stats;
// The fake sees the close a moment after the client does.
await fake.waitFor(() => fake.connections === 0, 2_000).catch(() => {});
const fakeConnsAfterClose = fake.connections;
const fakeAcks = fake.ackCount;
await fake.close();
const fdsAfter = fds();

const total = counts.ok + counts.disconnected + counts.other;
console.log("\n=== summary ===");
console.log(`duration             ${seconds}s`);
console.log(
  `sendMessage          ${total} (ok ${counts.ok}, disconnected ${counts.disconnected}, other ${counts.other}); ${
    (counts.ok / seconds).toFixed(0)
  } ok/s; max latency ${counts.maxLatencyMs.toFixed(0)} ms; hung ${hung}`,
);
for (const [k, v] of otherErrors) console.log(`  other error         ${v} × ${k}`);
console.log(`reconnects           ${client.state.reconnects}`);
console.log(
  `token refreshes      ${
    before.oauthTokens - 1
  } OAuth calls after the first; ${before.rotations} make-before-break rotations`,
);
console.log(
  `incoming             ${before.eventsReceived} events received, ${incoming} to the handler, fake counted ${fakeAcks} acks`,
);
console.log(
  `RSS                  start ${mb(start.rss)} MB, end ${mb(end.rss)} MB; heap ${
    mb(start.heap)
  } → ${mb(end.heap)} MB`,
);
console.log(`live sockets (run)   max ${Math.max(...sockets)}, samples ${sockets.join(",")}`);
console.log(
  `before close         liveSockets=${before.liveSockets} pending=${before.pendingRequests} timers=${before.activeTimers}`,
);
console.log(
  `after close          liveSockets=${after.liveSockets} pending=${after.pendingRequests} timers=${after.activeTimers} fakeConns=${fakeConnsAfterClose}`,
);
console.log(
  `open fds             start ${start.fds}, end ${end.fds}, after closing both ${fdsAfter}`,
);
const leaked = after.liveSockets + after.pendingRequests + after.activeTimers + fakeConnsAfterClose;
if (leaked > 0 || hung > 0) {
  console.log("FAIL: something leaked or hung");
  Deno.exit(1);
}
console.log("PASS");
