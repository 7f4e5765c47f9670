/**
 * A/B of CPU per delivery between checkouts (issue 16): the bot of each checkout (its own
 * `src/main.ts serve` with its own `start` task flags and `deno.json`, at the `--defaults`
 * settings of `bench/run.ts`) against its own fake TrueConf (this checkout's
 * `bench/fake_server.ts`), loaded in turn with wrk (`bench/post.lua`, text JSON) — A, B, A,
 * B… — so the noise of a shared machine hits every checkout alike.
 *
 * CPU per delivery is Δ(utime+stime) of the bot's process from `/proc` ÷ posts the fake
 * counted; the main thread's share is shown beside it. Throughput and latencies are printed
 * too but are noisier. Used to find which commits added CPU per delivery (docs/benchmarks.md,
 * "Where the CPU per delivery goes").
 *
 * Run: `./deno run -A bench/ab.ts --rounds=3 --duration=5 <checkout> <checkout>…`
 * (a checkout is a folder with `deno.json` and `src/main.ts`; `git worktree add /tmp/x <commit>`
 * makes one of an older commit). Options: `--fast` (`bench/run.ts --fast`'s settings),
 * `--concurrency=64`, `--warmup=2`; `--flags=…` adds `deno run` flags to every bot
 * (`--preload=$PWD/bench/op_count.ts` prints KV calls, timers, log writes per delivery;
 * `--cpu-prof --cpu-prof-dir=<dir>`); `--gc` adds V8's `--trace-gc` and prints how much the
 * JS heap grew between GCs per delivery (a rough estimate of the allocation rate: it swung
 * 57–139 KB between rounds of one build; `bench/heap_sample.ts`, V8's sampling heap profiler over
 * `--inspect`, is the reliable measure); `--strace` prints syscalls per delivery (`strace -c -f`, slows the bot
 * down). Per-thread CPU (main thread, V8's GC helpers, the KV writer `sw-0`) is printed
 * for every point. `AB_KEEP=1` keeps each bot's folder (log, `--trace-gc` output).
 *
 * Text beside photos: `--photos=8 --concurrency=16` runs `bench/run.ts`'s `mixed-small` (text at
 * c16 while a second wrk posts the `images` scenario's 100 KiB photo at 8 connections) and prints
 * the text's p50/p99, texts/s, photos/s and the cores the bot and the fake took; the medians at
 * the end are of the text p99. `--concurrency=0` posts the photos alone and compares the bot's
 * CPU per photo (the fake's is printed beside it). `--own-fake` runs each checkout's own `bench/fake_server.ts`
 * (to A/B a change of the fake TrueConf) instead of this checkout's.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { prepareBenchBot, startFake, waitReady } from "./_fake_process.ts";
import { hundredKibJpeg, multipartBody } from "./_photos.ts";
import { wrk, type WrkBody, type WrkResult } from "./_wrk.ts";

const { values: args, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    rounds: { type: "string", default: "3" },
    duration: { type: "string", default: "5" },
    warmup: { type: "string", default: "2" },
    concurrency: { type: "string", default: "64" },
    fast: { type: "boolean", default: false },
    flags: { type: "string", default: "" },
    gc: { type: "boolean", default: false },
    strace: { type: "boolean", default: false },
    photos: { type: "string", default: "0" },
    "own-fake": { type: "boolean", default: false },
  },
});
if (positionals.length === 0) {
  console.error("Usage: ./deno run -A bench/ab.ts [--rounds=3 --duration=5] <checkout>…");
  Deno.exit(2);
}
const ROUNDS = Number(args.rounds);
const DURATION = Number(args.duration);
const WARMUP = Number(args.warmup);
const CONC = Number(args.concurrency);
const PHOTOS = Number(args.photos);
const CLK_TCK = 100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function ticks(pid: number, tid = 0): number {
  const path = tid ? `/proc/${pid}/task/${tid}/stat` : `/proc/${pid}/stat`;
  const stat = Deno.readTextFileSync(path);
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(f[11]) + Number(f[12]);
}

/** tid → [thread name, ticks] of every thread of `pid`. */
function threads(pid: number): Map<string, [string, number]> {
  const out = new Map<string, [string, number]>();
  for (const t of Deno.readDirSync(`/proc/${pid}/task`)) {
    try {
      const name = Deno.readTextFileSync(`/proc/${pid}/task/${t.name}/comm`).trim();
      out.set(t.name, [name, ticks(pid, Number(t.name))]);
    } catch { /* gone */ }
  }
  return out;
}

/** What a `--preload` op counter last wrote for `pid`, if any. */
function opCounts(pid: number): Record<string, number> | null {
  try {
    return JSON.parse(Deno.readTextFileSync(`/tmp/opcount-${pid}.json`));
  } catch {
    return null;
  }
}

function gcSize(file: string): number {
  try {
    return Deno.statSync(file).size;
  } catch {
    return 0;
  }
}

/**
 * Main-thread GC pauses in `--trace-gc` lines after byte `from` of `file`: how many minor
 * (scavenge) and major (mark-compact) GCs ran and how long they paused the event loop, which
 * is what the p99 at c64 and part of the CPU per delivery are made of.
 */
function gcPauses(file: string, from: number) {
  const text = new TextDecoder().decode(Deno.readFileSync(file).subarray(from));
  const out = { minor: 0, minorMs: 0, major: 0, majorMs: 0, maxMs: 0 };
  for (
    const m of text.matchAll(
      /: (Scavenge|Minor Mark-Sweep|Mark-Compact|Incremental Mark-Compact)\b[^\n]*? MB, (?:pooled: [\d.]+ MB, )?([\d.]+) \/ [\d.]+ ms/g,
    )
  ) {
    const ms = Number(m[2]);
    if (m[1] === "Scavenge" || m[1] === "Minor Mark-Sweep") {
      out.minor++;
      out.minorMs += ms;
    } else {
      out.major++;
      out.majorMs += ms;
    }
    out.maxMs = Math.max(out.maxMs, ms);
  }
  return out;
}

/** MB the JS heap grew by between GCs (`--trace-gc` lines after byte `from` of `file`). */
function allocatedMb(file: string, from: number): number {
  const text = new TextDecoder().decode(Deno.readFileSync(file).subarray(from));
  let last: number | null = null;
  let sum = 0;
  for (
    const m of text.matchAll(
      /: (?:Scavenge|Mark-Compact|Incremental Mark-Compact|Minor Mark-Sweep)[^\d]*([\d.]+) \([\d.]+\) -> ([\d.]+)/g,
    )
  ) {
    const before = Number(m[1]);
    const after = Number(m[2]);
    if (last !== null) sum += Math.max(0, before - last);
    last = after;
  }
  return sum;
}

async function startBot(root: string, extraFlags: string[], label: string) {
  const fake = await startFake(args["own-fake"] ? root : undefined);
  const { dir, env, token, url, command } = await prepareBenchBot(root, fake, {
    prefix: "ab-",
    settings: args.fast ? "fast" : "defaults",
  });
  const { flags: cliFlags, config, main } = command;
  const flags = [
    ...(args.gc
      ? cliFlags.map((f) => f.startsWith("--v8-flags=") ? `${f},--trace-gc` : f)
      : cliFlags),
    ...args.flags.split(" ").filter(Boolean),
    ...extraFlags,
  ];
  const child = new Deno.Command("sh", {
    args: [
      "-c",
      'f=$1; shift; exec "$@" 2>>"$f" >>"$f.out"',
      "sh",
      join(dir, "bot.log"),
      Deno.execPath(),
      ...flags,
      "--config",
      config,
      main,
      "serve",
    ],
    cwd: dir,
    clearEnv: true,
    env,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  await waitReady(url);
  return {
    root: label,
    gcLog: join(dir, "bot.log.out"),
    pid: child.pid,
    hookUrl: `${url}/hook/${token}`,
    fake,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* exited */ }
      await child.status;
      await fake.stop();
      if (Deno.env.get("AB_KEEP")) console.log(`kept ${dir}`);
      else await Deno.remove(dir, { recursive: true });
    },
  };
}

/** `--photos`: the `images` scenario's body (text + the ~100 KiB 800×600 JPEG) in a file for wrk. */
async function photoBody(): Promise<WrkBody> {
  const { bytes, contentType } = multipartBody("bench: dashboard snapshot", hundredKibJpeg());
  const file = await Deno.makeTempFile({ prefix: "ab-photo-" });
  await Deno.writeFile(file, bytes);
  return { file, contentType };
}

/**
 * `--photos=N`: text at `--concurrency` while a second wrk posts the photo at N connections
 * (`bench/run.ts`'s `mixed-small` with `--concurrency=16 --photos=8`, its photo loops in wrk
 * rather than in this process). Prints the text's latencies, texts/s and photos/s, and the cores
 * the bot and the fake took over the whole window.
 */
async function besidePhotos(bot: Awaited<ReturnType<typeof startBot>>, round: number) {
  const withText = CONC > 0;
  if (WARMUP) {
    await (withText
      ? wrk(bot.hookUrl, CONC, WARMUP)
      : wrk(bot.hookUrl, PHOTOS, WARMUP, photoBody_));
  }
  await sleep(300);
  const a = await bot.fake.tally();
  const t0 = ticks(bot.pid);
  const m0 = ticks(bot.pid, bot.pid);
  const f0 = ticks(bot.fake.pid);
  const w0 = performance.now();
  const photos = wrk(bot.hookUrl, PHOTOS, withText ? DURATION + 1 : DURATION, photoBody_);
  let w: WrkResult | null = null;
  if (withText) {
    await sleep(500);
    w = await wrk(bot.hookUrl, CONC, DURATION);
  }
  const p = await photos;
  await sleep(700);
  const seconds = (performance.now() - w0 - 700) / 1000;
  const b = await bot.fake.tally();
  const t1 = ticks(bot.pid);
  const m1 = ticks(bot.pid, bot.pid);
  const f1 = ticks(bot.fake.pid);
  const load = Deno.readTextFileSync("/proc/loadavg").split(" ")[0];
  const texts = b.kinds.text - a.kinds.text;
  const photoCount = b.kinds.photo - a.kinds.photo;
  const cores = (d: number) => (d / CLK_TCK / seconds).toFixed(2);
  const perPhoto = (d: number) => (d * 1000 / CLK_TCK / Math.max(1, photoCount)).toFixed(2);
  const ms = (us: number) => (us / 1000).toFixed(1);
  const text = w
    ? `text c${CONC} p50 ${ms(w.latency_us.p50)} p99 ${ms(w.latency_us.p99)} ms, ${
      (w.requests / (w.duration_us / 1e6)).toFixed(0)
    } texts/s; `
    : "";
  // Beside text: the text's p99 is what is compared; photos alone: the bot's CPU per photo.
  const compared = w
    ? w.latency_us.p99 / 1000
    : (t1 - t0) * 1000 / CLK_TCK / Math.max(1, photoCount);
  results.set(bot.root, [...(results.get(bot.root) ?? []), compared]);
  console.log(
    `round ${round} ${bot.root}: ${text}photos c${PHOTOS} ${
      (photoCount / (p.duration_us / 1e6)).toFixed(0)
    }/s, p50 ${ms(p.latency_us.p50)} p99 ${ms(p.latency_us.p99)} ms; bot ${
      cores(t1 - t0)
    } cores (main thread ${cores(m1 - m0)}), fake ${cores(f1 - f0)}${
      w ? "" : `; per photo: bot ${perPhoto(t1 - t0)} ms CPU, fake ${perPhoto(f1 - f0)} ms`
    }; posted ${texts} texts, ${photoCount} photos; load ${load}`,
  );
}

const photoBody_ = PHOTOS > 0 ? await photoBody() : { file: "", contentType: "" };
const bots = [];
for (const p of positionals) {
  // `<checkout>#<flags>`: extra `deno run` flags for this bot only (e.g. V8 flags to compare).
  const [dir = ".", extra = ""] = p.split("#");
  bots.push(await startBot(resolve(dir), extra.split(" ").filter(Boolean), p));
}
const results = new Map<string, number[]>();
try {
  for (let round = 1; round <= ROUNDS; round++) {
    const order = round % 2 ? bots : [...bots].reverse();
    for (const bot of order) {
      if (PHOTOS > 0) {
        await besidePhotos(bot, round);
        continue;
      }
      if (WARMUP) await wrk(bot.hookUrl, CONC, WARMUP);
      await sleep(300);
      const n0 = await bot.fake.counts();
      const t0 = ticks(bot.pid);
      const f0 = ticks(bot.fake.pid);
      const m0 = ticks(bot.pid, bot.pid);
      const th0 = threads(bot.pid);
      const ops0 = opCounts(bot.pid);
      const gc0 = gcSize(bot.gcLog);
      const tracer = args.strace
        ? new Deno.Command("strace", {
          args: ["-c", "-f", "-p", String(bot.pid), "-o", `/tmp/ab-strace-${bot.pid}-${round}.txt`],
          stdout: "null",
          stderr: "null",
        }).spawn()
        : null;
      const w = await wrk(bot.hookUrl, CONC, DURATION);
      if (tracer) {
        tracer.kill("SIGINT");
        await tracer.status;
      }
      await sleep(700);
      const n1 = await bot.fake.counts();
      const t1 = ticks(bot.pid);
      const f1 = ticks(bot.fake.pid);
      const m1 = ticks(bot.pid, bot.pid);
      const th1 = threads(bot.pid);
      const ops1 = opCounts(bot.pid);
      const gcMb = args.gc ? allocatedMb(bot.gcLog, gc0) : 0;
      const pauses = args.gc ? gcPauses(bot.gcLog, gc0) : null;
      // A bot that posts nothing (an experiment with a stub dispatcher): per request instead.
      const n = n1 - n0 || w.requests;
      const ms = ((t1 - t0) * 1000 / CLK_TCK) / n;
      const mainMs = ((m1 - m0) * 1000 / CLK_TCK) / n;
      const load = Deno.readTextFileSync("/proc/loadavg").split(" ")[0];
      // The process's peak RSS so far (each checkout's bot lives for all its rounds).
      const hwm = Number(
        /VmHWM:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${bot.pid}/status`))?.[1] ?? 0,
      ) / 1024;
      results.set(bot.root, [...(results.get(bot.root) ?? []), ms]);
      console.log(
        `round ${round} ${bot.root}: ${ms.toFixed(3)} ms CPU/delivery (main thread ${
          mainMs.toFixed(3)
        }), ${(n / (w.duration_us / 1e6)).toFixed(0)}/s, p50 ${
          (w.latency_us.p50 / 1000).toFixed(1)
        } p99 ${(w.latency_us.p99 / 1000).toFixed(1)} ms, peak RSS ${
          hwm.toFixed(0)
        } MiB, load ${load}`,
      );
      const byName = new Map<string, number>();
      for (const [tid, [name, t]] of th1) {
        const d = t - (th0.get(tid)?.[1] ?? 0);
        if (d > 0) byName.set(name, (byName.get(name) ?? 0) + d);
      }
      console.log(
        "  threads (ms/delivery): " +
          [...byName].sort((a, b) => b[1] - a[1]).map(([k, v]) =>
            `${k} ${(v * 1000 / CLK_TCK / n).toFixed(3)}`
          ).join(", ") + `; the fake TrueConf ${((f1 - f0) * 1000 / CLK_TCK / n).toFixed(3)}`,
      );
      if (tracer) {
        const text = Deno.readTextFileSync(`/tmp/ab-strace-${bot.pid}-${round}.txt`);
        const calls: string[] = [];
        for (const line of text.split("\n")) {
          const f = line.trim().split(/\s+/);
          if (f.length >= 5 && /^\d/.test(f[0]!) && f[f.length - 1] !== "total") {
            calls.push(`${f[f.length - 1]} ${(Number(f[3]) / n).toFixed(2)}`);
          }
        }
        console.log(`  syscalls/delivery: ${calls.join(", ")}`);
      }
      if (args.gc) {
        console.log(`  JS heap growth between GCs: ${(gcMb * 1024 / n).toFixed(1)} KB/delivery`);
        if (pauses) {
          const perK = (ms: number) => (ms * 1000 / n).toFixed(1);
          console.log(
            `  GC pauses: ${pauses.minor} minor (${perK(pauses.minorMs)} ms per 1000 deliveries, ` +
              `mean ${
                (pauses.minorMs / (pauses.minor || 1)).toFixed(1)
              } ms), ${pauses.major} major ` +
              `(${perK(pauses.majorMs)} ms per 1000), longest ${pauses.maxMs.toFixed(1)} ms`,
          );
        }
      }
      if (ops1) {
        console.log(
          "  calls/delivery: " +
            Object.entries(ops1).map(([k, v]) => [k, (v - (ops0?.[k] ?? 0)) / n] as const).filter((
              [, v],
            ) => v > 0.001).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(", "),
        );
      }
    }
  }
} finally {
  for (const b of bots) await b.stop();
  if (PHOTOS > 0) await Deno.remove(photoBody_.file);
}
if (PHOTOS > 0) {
  console.log(CONC > 0 ? "medians of the text p99 (ms):" : "medians of the bot's CPU per photo:");
}
for (const [root, v] of results) {
  const s = [...v].sort((a, b) => a - b);
  console.log(
    `${root}: median ${s[Math.floor(s.length / 2)]!.toFixed(3)} ms (${
      s.map((x) => x.toFixed(3)).join(", ")
    })`,
  );
}
