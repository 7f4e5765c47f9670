/**
 * Where the JS heap is allocated per delivery (issue 16): V8's sampling heap profiler over
 * the inspector protocol, including objects a scavenge or mark-compact already collected, so
 * it counts every allocation rather than what survives. The bot of this checkout runs at the
 * `--defaults` settings against the fake TrueConf in its own process, with `--inspect` on a
 * free loopback port; wrk loads it with `bench/post.lua` (text JSON) for `--duration` seconds
 * after a warm-up; the profile is summed by allocating function and by file and divided by
 * the deliveries the fake counted.
 *
 * Run: `./deno run -A bench/heap_sample.ts [--duration=5] [--concurrency=64] [--top=40]
 * [--interval=256] [--fast] [--save=<file.json>] [--survivors] [<checkout>]` (default checkout: this one).
 *
 * @module
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { freePort, prepareBenchBot, spawnBenchBot, startFake, waitReady } from "./_fake_process.ts";
import { wrk } from "./_wrk.ts";

const HERE = fileURLToPath(new URL("../", import.meta.url));
const { values: args, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    duration: { type: "string", default: "5" },
    warmup: { type: "string", default: "2" },
    concurrency: { type: "string", default: "64" },
    interval: { type: "string", default: "256" },
    top: { type: "string", default: "40" },
    fast: { type: "boolean", default: false },
    save: { type: "string" },
    survivors: { type: "boolean", default: false },
  },
});
const root = resolve(positionals[0] ?? HERE);

/** A minimal Chrome DevTools Protocol client over the inspector's WebSocket. */
async function cdp(wsUrl: string) {
  const ws = new WebSocket(wsUrl);
  await new Promise((ok, fail) => {
    ws.onopen = ok;
    ws.onerror = fail;
  });
  let id = 0;
  const waiting = new Map<number, (v: unknown) => void>();
  ws.onmessage = (e) => {
    const m = JSON.parse(e.data);
    if (m.id !== undefined) waiting.get(m.id)?.(m.error ? Promise.reject(m.error) : m.result);
  };
  return {
    send<T = unknown>(method: string, params: Record<string, unknown> = {}): Promise<T> {
      const n = ++id;
      ws.send(JSON.stringify({ id: n, method, params }));
      return new Promise<T>((r) => waiting.set(n, r as (v: unknown) => void));
    },
    close: () => ws.close(),
  };
}

const fake = await startFake();
const bot = await prepareBenchBot(root, fake, {
  prefix: "heap-",
  settings: args.fast ? "fast" : "defaults",
});
const { dir, token, url } = bot;
const inspectPort = freePort();
const child = spawnBenchBot(bot, [`--inspect=127.0.0.1:${inspectPort}`]);
await waitReady(url);
const targets = await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json();
const session = await cdp(targets[0].webSocketDebuggerUrl);
await session.send("HeapProfiler.enable");

const load = (seconds: number) => wrk(`${url}/hook/${token}`, Number(args.concurrency), seconds);

await load(Number(args.warmup));
const before = await fake.counts();
await session.send("HeapProfiler.startSampling", {
  samplingInterval: Number(args.interval),
  includeObjectsCollectedByMajorGC: true,
  // --survivors: what outlived the scavenges (promoted, or still young at the end), including
  // what a mark-compact later freed: the old generation's growth between mark-compacts.
  includeObjectsCollectedByMinorGC: !args.survivors,
});
await load(Number(args.duration));
const { profile } = await session.send<{ profile: { head: Node } }>("HeapProfiler.stopSampling");
const deliveries = (await fake.counts()) - before;
if (args.save) await Deno.writeTextFile(args.save, JSON.stringify({ deliveries, profile }));
session.close();
child.kill("SIGTERM");
await child.status;
await fake.stop();
await Deno.remove(dir, { recursive: true });

interface Node {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: Node[];
}
const short = (u: string) =>
  u.replace(/^.*\/registry\.npmjs\.org\//, "npm:").replace(/^file:\/\/.*?\/(src|bench)\//, "$1/");
const byFn = new Map<string, number>();
const byFile = new Map<string, number>();
const inclusive = new Map<string, number>();
let total = 0;
(function walk(n: Node, stack: string[]) {
  const cf = n.callFrame;
  const file = short(cf.url) || `(${cf.functionName || "root"})`;
  const fn = `${cf.functionName || "(anonymous)"} ${file}:${cf.lineNumber + 1}`;
  total += n.selfSize;
  byFn.set(fn, (byFn.get(fn) ?? 0) + n.selfSize);
  byFile.set(file, (byFile.get(file) ?? 0) + n.selfSize);
  const here = stack.includes(file) ? stack : [...stack, file];
  for (const f of here) inclusive.set(f, (inclusive.get(f) ?? 0) + n.selfSize);
  for (const c of n.children) walk(c, here);
})(profile.head, []);

const per = (b: number) => (b / deliveries / 1024).toFixed(2).padStart(7);
console.log(
  `${deliveries} deliveries; ${per(total)} KiB of JS heap ${
    args.survivors ? "outliving the scavenges" : "allocated"
  } per delivery (sampling every ${args.interval} B, ${
    args.survivors ? "objects freed by scavenges left out" : "collected objects included"
  })`,
);
for (
  const [title, m] of [["by function (self)", byFn], ["by file (self)", byFile], [
    "by file (inclusive)",
    inclusive,
  ]] as const
) {
  console.log(`\n## ${title}: KiB per delivery`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, Number(args.top))) {
    console.log(`${per(v)}  ${k}`);
  }
}
