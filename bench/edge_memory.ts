/**
 * Memory of the bot's process at the HTTP edge, at the default settings (docs/limits.md):
 *
 * - `upload`   one 25 MB multipart upload: peak RSS above idle, and that TrueConf got the file
 *              with its real Content-Length;
 * - `uploads`  ten concurrent 25 MB uploads: peak RSS above idle, how many were taken and how
 *              many got `503 busy` (the in-flight budget, 4 × WEBHOOK_MAX_UPLOAD_MB);
 * - `trickle`  250 clients each sending a body at 1 byte/s: peak RSS above idle, how many were
 *              cut with `408 request_timeout` and after how long.
 * - `heads`    250 clients each sending a request head at 1 byte/s (slowloris): how many were
 *              cut with 408 and after how long (WEBHOOK_HTTP_HEADERS_TIMEOUT_SECONDS).
 * - `idle`     1,000 kept-alive connections left idle after one request each: RSS with them
 *              open, and when the bot closed them (WEBHOOK_HTTP_IDLE_TIMEOUT_SECONDS, 75 s).
 *
 * `uploads` also times new connections (connect + `GET /healthz`, one every 50 ms) while the
 * ten uploads run: p50/p99/max.
 *
 * The bot runs as a user runs it (`src/main.ts serve` with the start task's flags, its own
 * process, its log in a file) against the fake TrueConf in this process: the upload scenarios at
 * the defaults (info logging, both rate limits on, set high enough never to refuse this client:
 * `botEnv`'s `defaults`), the slow-client and idle scenarios with the limits off and warnings
 * only (`fast`: 250 clients from one address are what they measure, not the per-IP limit). RSS is
 * read from `/proc/<pid>/status` (VmHWM reset through `clear_refs` before each scenario, VmRSS
 * sampled every 20 ms as the fallback).
 *
 * Run: `./deno run -A bench/edge_memory.ts [upload|uploads|trickle]…` (default: all three).
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FakeTrueConf } from "../tests/support/fake_trueconf.ts";
import { HookStore } from "../src/hooks/mod.ts";
import { openKv } from "../src/storage/mod.ts";
import { botEnv, checkoutCommand, freePort, spawnLogged } from "./_fake_process.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const MIB = 1024 * 1024;
const CHAT = "bench_edge@video.example.com";

function status(pid: number): { rss: number; hwm: number } {
  const text = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(text)?.[1] ?? 0) * 1024;
  return { rss: kb("VmRSS"), hwm: kb("VmHWM") };
}

/** Peak RSS while `fn` runs: VmHWM after a reset, or the sampled maximum if reset is refused. */
async function peakDuring(pid: number, fn: () => Promise<void>): Promise<number> {
  let reset = true;
  try {
    Deno.writeTextFileSync(`/proc/${pid}/clear_refs`, "5");
  } catch {
    reset = false;
  }
  let sampled = status(pid).rss;
  const timer = setInterval(() => sampled = Math.max(sampled, status(pid).rss), 20);
  try {
    await fn();
  } finally {
    clearInterval(timer);
  }
  return reset ? Math.max(status(pid).hwm, sampled) : sampled;
}

const mib = (n: number) => `${(n / MIB).toFixed(1)} MiB`;

const scenarios = Deno.args.length > 0
  ? Deno.args
  : ["upload", "uploads", "trickle", "heads", "idle"];

/**
 * Times fresh connections (connect + `GET /healthz`, one every 50 ms) from a separate process,
 * so the uploads and the fake TrueConf in this process do not slow the clock that measures them;
 * `stop()` resolves the milliseconds of each, sorted.
 */
function probeNewConnections(port: number): { stop(): Promise<number[]> } {
  const code = `
    let done = false;
    Deno.stdin.readable.pipeTo(new WritableStream()).finally(() => done = true);
    const ms = [];
    while (!done) {
      const started = performance.now();
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: ${port} });
      await conn.write(new TextEncoder().encode("GET /healthz HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n"));
      await conn.read(new Uint8Array(4096));
      ms.push(performance.now() - started);
      conn.close();
      await new Promise((r) => setTimeout(r, 50));
    }
    console.log(JSON.stringify(ms));
  `;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  return {
    async stop() {
      await child.stdin.close();
      const out = await child.output();
      return (JSON.parse(new TextDecoder().decode(out.stdout)) as number[]).sort((a, b) => a - b);
    },
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
}
const dir = await Deno.makeTempDir({ prefix: "edge_memory_" });
const fake = await FakeTrueConf.start({ bot: { login: "webhook_bot", password: "secret" } });
fake.addChat({
  chatId: CHAT,
  title: "Bench",
  chatType: 2,
  participants: [{ userId: fake.botId, role: "user" }],
});
const kvPath = join(dir, "w.kv");
const kv = await openKv(kvPath);
const store = new HookStore(kv);
const made = await store.create({ chatId: CHAT, name: "bench", createdBy: fake.botId });
await store.close();
kv.close();
if (!made.ok) throw new Error(made.message);
const token = made.token;

/**
 * A fresh bot process per scenario, so one scenario's garbage is not the next one's idle; with
 * the start task's flags (`deno task start`: its V8 flags and permissions), as a user runs it.
 */
async function startBot(settings: "defaults" | "fast"): Promise<
  { pid: number; port: number; idle: number; stop(): Promise<void> }
> {
  const port = freePort();
  const command = checkoutCommand(ROOT);
  const logFile = join(dir, `bot-${port}.log`);
  const child = spawnLogged(
    [Deno.execPath(), ...command.flags, "--config", command.config, command.main, "serve"],
    {
      logFile,
      cwd: dir,
      env: botEnv({ fakePort: fake.port, port, storagePath: kvPath, settings }),
      stdout: "null",
    },
  );
  for (let i = 0;; i++) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      await res.body?.cancel();
      if (res.ok) break;
    } catch { /* not yet */ }
    if (i > 3000) throw new Error(`bot not ready: ${Deno.readTextFileSync(logFile).slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  // Let start-up garbage settle before taking the idle figure.
  await new Promise((r) => setTimeout(r, 2000));
  return {
    pid: child.pid,
    port,
    idle: status(child.pid).rss,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

/**
 * 250 clients on a fresh bot, each writing `first` at once and then `slow` a byte a second until
 * the bot answers: how many were cut with 408, after how long, and the bot's RSS.
 */
async function slowClients(first: string, slow: string): Promise<
  { idle: number; before: number; peak: number; cut: number; after: string }
> {
  const bot = await startBot("fast");
  const before = status(bot.pid).rss;
  const cutAfter: number[] = [];
  const statuses: number[] = [];
  const enc = new TextEncoder();
  const peak = await peakDuring(bot.pid, async () => {
    await Promise.all(Array.from({ length: 250 }, async () => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: bot.port });
      const started = performance.now();
      if (first) await conn.write(enc.encode(first));
      let answered = false;
      const reading = (async () => {
        const buf = new Uint8Array(4096);
        const n = await conn.read(buf).catch(() => null);
        answered = true;
        if (n) statuses.push(Number(new TextDecoder().decode(buf.subarray(0, n)).split(" ")[1]));
        cutAfter.push(performance.now() - started);
      })();
      for (let i = 0; i < slow.length && !answered; i++) {
        await conn.write(enc.encode(slow[i])).catch(() => {});
        await Promise.race([reading, new Promise((r) => setTimeout(r, 1000))]);
      }
      await reading.catch(() => {});
      conn.close();
    }));
  });
  await bot.stop();
  cutAfter.sort((a, b) => a - b);
  return {
    idle: bot.idle,
    before,
    peak,
    cut: statuses.filter((s) => s === 408).length,
    after: `${(cutAfter[0]! / 1000).toFixed(1)}–${(cutAfter.at(-1)! / 1000).toFixed(1)} s`,
  };
}

try {
  const file = new Uint8Array(25_000_000);
  for (let i = 0; i < file.length; i += 4096) file[i] = i & 0xff;
  const upload = async (url: string) => {
    const form = new FormData();
    form.set("text", "dump");
    form.set("file", new File([file], "dump.bin", { type: "application/octet-stream" }));
    const res = await fetch(url, { method: "POST", body: form });
    await res.body?.cancel();
    return res.status;
  };

  if (scenarios.includes("upload")) {
    const bot = await startBot("defaults");
    const { pid, idle } = bot;
    let code = 0;
    const before = status(pid).rss;
    const url = `http://127.0.0.1:${bot.port}/hook/${token}`;
    const peak = await peakDuring(pid, async () => void (code = await upload(url)));
    await bot.stop();
    const framing = fake.uploadFraming.at(-1);
    console.log(
      `one 25 MB upload: idle ${mib(idle)}, HTTP ${code}, peak ${mib(peak)} = +${
        mib(peak - idle)
      } above idle ` +
        `(+${mib(peak - before)} above the RSS just before); to TrueConf: Content-Length ` +
        `${framing?.contentLength} for ${framing?.bodyBytes} bytes, chunked ${framing?.chunked}`,
    );

    // The same upload to a bot that has served one text message: the first hook request loads
    // the format adapters and zod (lazily, src/ingest/formats/detector.ts), which the fresh
    // bot's figure above includes.
    const warm = await startBot("defaults");
    const warmUrl = `http://127.0.0.1:${warm.port}/hook/${token}`;
    const first = await fetch(warmUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text: "warm-up" }),
    });
    await first.body?.cancel();
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const settled = status(warm.pid).rss;
    let warmCode = 0;
    const warmPeak = await peakDuring(
      warm.pid,
      async () => void (warmCode = await upload(warmUrl)),
    );
    await warm.stop();
    console.log(
      `one 25 MB upload after one text message: HTTP ${warmCode}, RSS before ${mib(settled)}, ` +
        `peak ${mib(warmPeak)} = +${mib(warmPeak - settled)}`,
    );
  }

  if (scenarios.includes("uploads")) {
    const bot = await startBot("defaults");
    const { pid, idle } = bot;
    const codes: number[] = [];
    const before = status(pid).rss;
    const url = `http://127.0.0.1:${bot.port}/hook/${token}`;
    let probes: number[] = [];
    const peak = await peakDuring(pid, async () => {
      const probing = probeNewConnections(bot.port);
      codes.push(...await Promise.all(Array.from({ length: 10 }, () => upload(url))));
      probes = await probing.stop();
    });
    await bot.stop();
    const count = (s: number) => codes.filter((c) => c === s).length;
    console.log(
      `ten concurrent 25 MB uploads: idle ${mib(idle)}, ${count(200)} × 200, ${count(202)} × 202, ${
        count(503)
      } × 503 busy; peak ${mib(peak)} = +${mib(peak - idle)} above idle (+${
        mib(peak - before)
      } above the RSS just before); new connections meanwhile (${probes.length}): p50 ${
        percentile(probes, 0.5).toFixed(1)
      } ms, p99 ${percentile(probes, 0.99).toFixed(1)} ms, max ${probes.at(-1)?.toFixed(1)} ms`,
    );
  }

  if (scenarios.includes("trickle")) {
    // A body promised and sent a byte a second (75 bytes at most, as in the report).
    const head =
      `POST /hook/${token} HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n`;
    const r = await slowClients(head, "x".repeat(75));
    console.log(
      `250 clients trickling 1 byte/s: idle ${
        mib(r.idle)
      }, ${r.cut} × 408 (cut after ${r.after}); ` +
        `peak ${mib(r.peak)} = +${mib(r.peak - r.idle)} above idle (+${
          mib(r.peak - r.before)
        } above the RSS just before)`,
    );
  }

  if (scenarios.includes("heads")) {
    // The request head itself sent a byte a second (slowloris).
    const head = `POST /hook/${token} HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n` +
      `X-Padding: ${"p".repeat(100)}\r\n\r\n`;
    const r = await slowClients("", head);
    console.log(
      `250 clients sending a request head at 1 byte/s: idle ${mib(r.idle)}, ${r.cut} × 408 ` +
        `(cut after ${r.after}); peak ${mib(r.peak)} = +${mib(r.peak - r.idle)} above idle`,
    );
  }

  if (scenarios.includes("idle")) {
    const bot = await startBot("fast");
    const { pid, idle, port } = bot;
    const conns: Deno.TcpConn[] = [];
    const closedAfter: number[] = [];
    let opened = 0;
    const peak = await peakDuring(pid, async () => {
      await Promise.all(Array.from({ length: 1000 }, async () => {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port });
        conns.push(conn);
        await conn.write(new TextEncoder().encode("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
        await conn.read(new Uint8Array(4096));
        opened++;
      }));
    });
    const withThem = status(pid).rss;
    const idleSince = performance.now();
    await Promise.all(conns.map(async (conn) => {
      const buf = new Uint8Array(4096);
      while ((await conn.read(buf).catch(() => null)) !== null) { /* until closed */ }
      closedAfter.push(performance.now() - idleSince);
      conn.close();
    }));
    await bot.stop();
    closedAfter.sort((a, b) => a - b);
    console.log(
      `1,000 idle kept-alive connections: idle ${mib(idle)}, ${opened} answered, RSS with them ${
        mib(withThem)
      } (peak ${mib(peak)}); all closed by the bot ${(closedAfter[0]! / 1000).toFixed(1)}–${
        (closedAfter.at(-1)! / 1000).toFixed(1)
      } s after their last answer`,
    );
  }
} finally {
  await fake.close();
  await Deno.remove(dir, { recursive: true });
}
