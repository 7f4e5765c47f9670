/**
 * An idle bot's RSS over time (issue 16: "idle ≤ 60 MiB"): one bot of a checkout at the
 * `--defaults` settings of `bench/run.ts`, started with its own start task's flags against the
 * fake TrueConf in its own process, one hook imported, nothing posted; RSS (anonymous and
 * file-backed) from `/proc/<pid>/status` at the given seconds after ready. The bench's own idle
 * figure is taken 2 s after ready; this shows what periodic idle work adds later (V8's
 * optimizing compiler mapping its code on its first compile: docs/benchmarks.md, the final quiet
 * runs of sessions 5 and 6).
 *
 * Run: `./deno run -A bench/idle_over_time.ts [--at=2,30,60,120,180,240,300] [<checkout>]`
 * (default checkout: this one).
 *
 * @module
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { prepareBenchBot, spawnBenchBot, startFake, waitReady } from "./_fake_process.ts";

const HERE = fileURLToPath(new URL("../", import.meta.url));
const { values: args, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: { at: { type: "string", default: "2,30,60,120,180,240,300" } },
});
const points = args.at.split(",").map(Number).filter((n) => n >= 0).sort((a, b) => a - b);
const root = resolve(positionals[0] ?? HERE);

const fake = await startFake();
const bot = await prepareBenchBot(root, fake, { prefix: "idle-", settings: "defaults" });
const child = spawnBenchBot(bot);
try {
  await waitReady(bot.url);
  const ready = Date.now();
  console.log(`${root}: ready; RSS in MiB at seconds after ready (load ${Deno.loadavg()[0]})`);
  for (const at of points) {
    const wait = ready + at * 1000 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const status = Deno.readTextFileSync(`/proc/${child.pid}/status`);
    const mib = (field: string) =>
      Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024;
    console.log(
      `${String(at).padStart(4)} s: ${mib("VmRSS").toFixed(1)} (anon ${
        mib("RssAnon").toFixed(1)
      }, file ${mib("RssFile").toFixed(1)}), load ${Deno.loadavg()[0]}`,
    );
  }
} finally {
  child.kill("SIGTERM");
  await child.status;
  await fake.stop();
  await Deno.remove(bot.dir, { recursive: true });
}
