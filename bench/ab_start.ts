/**
 * A/B of start → ready and idle RSS between checkouts (issue 16): the bot of each checkout (its
 * own `src/main.ts serve` with its own `start` task flags and `deno.json`, at the `--defaults`
 * settings of `bench/run.ts`, one hook imported) is started in turn — A, B, A, B…, the order
 * flipped every round — against one fake TrueConf in its own process, so the noise of a shared
 * machine hits every checkout alike.
 *
 * Per start: spawn → first `/readyz` 200 (polled every 2 ms, as `bench/run.ts`), the bot's CPU
 * (every thread's `schedstat`, in ns) at that moment, the `listening` and `ready` times the bot logs
 * (from the start of `serve`, so spawn → ready minus `ready` is the runtime's start and module
 * loading), and 2 s later the RSS (anonymous and file-backed) from `/proc/<pid>/status`; then
 * the first delivery (a text POSTed to the hook → 2xx) and the second, timed: what the first
 * request pays for modules loaded on first use. Medians per checkout, with the 1-minute load
 * average of each round.
 *
 * Run: `./deno run -A bench/ab_start.ts [--rounds=10] [--idle-ms=2000] <checkout> <checkout>…`
 * (a checkout is a folder with `deno.json` and `src/main.ts`; `git worktree add /tmp/x <commit>`
 * makes one of an older commit). `<checkout>#<flags>` adds `deno run` flags to that checkout's
 * bot (e.g. `.#--cpu-prof --cpu-prof-dir=/tmp/p`).
 *
 * @module
 */
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import {
  botEnv,
  bundleCheckout,
  checkoutCommand,
  freePort,
  importBenchHook,
  spawnLogged,
  startFake,
} from "./_fake_process.ts";

const { values: args, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    rounds: { type: "string", default: "10" },
    "idle-ms": { type: "string", default: "2000" },
  },
});
if (positionals.length === 0) {
  console.error("Usage: ./deno run -A bench/ab_start.ts [--rounds=10] <checkout>…");
  Deno.exit(2);
}
const ROUNDS = Number(args.rounds);
const IDLE_MS = Number(args["idle-ms"]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/**
 * ms of CPU `pid`'s threads have run so far, from each thread's `schedstat` (nanoseconds): the
 * 10 ms ticks of `/proc/<pid>/stat` are too coarse for a start that costs ~200 ms. Threads that
 * have already ended are not counted (the bot's keep running until exit).
 */
function cpuMs(pid: number): number {
  let ns = 0;
  for (const task of Deno.readDirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(Deno.readTextFileSync(`/proc/${pid}/task/${task.name}/schedstat`).split(" ")[0]);
    } catch { /* the thread ended meanwhile */ }
  }
  return ns / 1e6;
}

/** VmRSS, RssAnon and RssFile of `pid` in MiB. */
function rss(pid: number): { total: number; anon: number; file: number } {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = (name: string) => Number(status.match(new RegExp(`${name}:\\s+(\\d+)`))?.[1] ?? NaN);
  return {
    total: kb("VmRSS") / 1024,
    anon: kb("RssAnon") / 1024,
    file: kb("RssFile") / 1024,
  };
}

const load1 = () => Number(Deno.readTextFileSync("/proc/loadavg").split(" ")[0]);

interface Checkout {
  label: string;
  root: string;
  flags: string[];
  dir: string;
  token: string;
  samples: Sample[];
}

interface Sample {
  readyMs: number;
  cpuMs: number;
  listeningMs: number;
  serveReadyMs: number;
  rss: { total: number; anon: number; file: number };
  /** POST → answer of the first delivery to the fresh bot, and of the second. */
  firstMs: number;
  secondMs: number;
  load: number;
}

function checkoutEnv(c: Checkout, fakePort: number, port: number): Record<string, string> {
  return botEnv({ fakePort, port, storagePath: join(c.dir, "w.kv"), settings: "defaults" });
}

/** One hook in the checkout's store, imported with its CLI as `bench/run.ts` does. */
async function importHook(c: Checkout, fakePort: number, chatId: string): Promise<string> {
  await bundleCheckout(c.root);
  const cli = [
    Deno.execPath(),
    ...checkoutCommand(c.root).flags,
    "--config",
    join(c.root, "deno.json"),
    checkoutCommand(c.root).main,
  ];
  return await importBenchHook(cli, { dir: c.dir, env: checkoutEnv(c, fakePort, 0), chatId });
}

/** `ms` of the last JSON log line whose msg is `msg`. */
function loggedMs(log: string, msg: string): number {
  for (const line of log.split("\n").reverse()) {
    if (!line.includes(`"msg":"${msg}"`)) continue;
    try {
      return Number(JSON.parse(line).ms);
    } catch { /* not JSON */ }
  }
  return NaN;
}

async function startOnce(c: Checkout, fakePort: number): Promise<Sample> {
  const port = freePort();
  const logFile = join(c.dir, `bot-${port}.log`);
  const t0 = performance.now();
  const child = spawnLogged(
    [
      Deno.execPath(),
      ...checkoutCommand(c.root).flags,
      ...c.flags,
      "--config",
      join(c.root, "deno.json"),
      checkoutCommand(c.root).main,
      "serve",
    ],
    { logFile, cwd: c.dir, env: checkoutEnv(c, fakePort, port), stdout: "null" },
  );
  let readyMs = NaN;
  let cpu = NaN;
  for (let i = 0; i < 15_000; i++) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      await res.body?.cancel();
      if (res.status === 200) {
        readyMs = performance.now() - t0;
        cpu = cpuMs(child.pid);
        break;
      }
    } catch { /* not listening yet */ }
    await sleep(2);
  }
  if (Number.isNaN(readyMs)) {
    child.kill("SIGKILL");
    await child.status;
    throw new Error(`${c.label} not ready:\n${await Deno.readTextFile(logFile)}`);
  }
  await sleep(IDLE_MS);
  const mem = rss(child.pid);
  const firstMs = await deliver(port, c.token);
  const secondMs = await deliver(port, c.token);
  child.kill("SIGTERM");
  await child.status;
  const log = await Deno.readTextFile(logFile);
  await Deno.remove(logFile);
  return {
    readyMs,
    cpuMs: cpu,
    listeningMs: loggedMs(log, "listening"),
    serveReadyMs: loggedMs(log, "ready"),
    rss: mem,
    firstMs,
    secondMs,
    load: load1(),
  };
}

/** ms from POSTing one text to the hook to its answer (NaN when it is not a 2xx). */
async function deliver(port: number, token: string): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`http://127.0.0.1:${port}/hook/${token}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ text: "ab_start: first delivery" }),
  });
  await res.body?.cancel();
  return res.ok ? performance.now() - t0 : NaN;
}

const median = (xs: number[]) => {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const f = (x: number, d = 1) => x.toFixed(d);

const fake = await startFake();
const checkouts: Checkout[] = [];
for (const p of positionals) {
  const [path, flags = ""] = p.split("#");
  const c: Checkout = {
    label: p,
    root: resolve(path!),
    flags: flags.split(" ").filter(Boolean),
    dir: await Deno.makeTempDir({ prefix: "ab-start-" }),
    token: "",
    samples: [],
  };
  c.token = await importHook(c, fake.port, fake.chatId);
  checkouts.push(c);
}
try {
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 ? [...checkouts].reverse() : checkouts;
    const row: string[] = [];
    for (const c of order) {
      const s = await startOnce(c, fake.port);
      c.samples.push(s);
      row.push(
        `${c.label}: ${f(s.readyMs, 0)} ms (cpu ${f(s.cpuMs, 0)}, serve→listening ${
          f(s.listeningMs, 0)
        }, serve→ready ${f(s.serveReadyMs, 0)}) ${f(s.rss.total)} MiB, 1st/2nd delivery ${
          f(s.firstMs)
        }/${f(s.secondMs)} ms`,
      );
    }
    console.log(`round ${round + 1}, load ${f(load1(), 2)}: ${row.join(" | ")}`);
  }
  console.log("\nmedians:");
  for (const c of checkouts) {
    const m = (pick: (s: Sample) => number) => median(c.samples.map(pick));
    const loads = c.samples.map((s) => s.load);
    console.log(
      `${c.label}: start → ready ${f(m((s) => s.readyMs), 0)} ms, CPU to ready ${
        f(m((s) => s.cpuMs), 0)
      } ms, serve → listening ${f(m((s) => s.listeningMs), 0)} ms, serve → ready ${
        f(m((s) => s.serveReadyMs), 0)
      } ms; idle RSS ${f(m((s) => s.rss.total))} MiB (anon ${f(m((s) => s.rss.anon))}, file ${
        f(m((s) => s.rss.file))
      }); first delivery ${f(m((s) => s.firstMs))} ms, second ${
        f(m((s) => s.secondMs))
      } ms; ${c.samples.length} starts, load ${f(Math.min(...loads), 2)}–${
        f(Math.max(...loads), 2)
      }`,
    );
  }
} finally {
  await fake.stop();
  for (const c of checkouts) await Deno.remove(c.dir, { recursive: true });
}
