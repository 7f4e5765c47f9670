/**
 * Start → ready the way the README starts the bot from source (`./deno task -q start`: the
 * `./deno` wrapper, Deno's task runner, then `deno run … serve`) against the same bot run
 * directly (the start task's `deno run` command, what `bench/run.ts` and `bench/ab_start.ts`
 * time), alternating, each timed from spawn to the first `/readyz` 200 (polled every 2 ms), at
 * the `--defaults` settings of `bench/run.ts` against the fake TrueConf in its own process.
 * The difference is what the wrapper and the task runner cost before the bot starts
 * (docs/benchmarks.md, "Start → ready through the README's command").
 *
 * Run: `./deno run -A bench/task_start.ts [--rounds=5] [<checkout>]` (default: this one).
 *
 * @module
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { prepareBenchBot, startFake } from "./_fake_process.ts";

const { values: args, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: { rounds: { type: "string", default: "5" } },
});
const root = resolve(positionals[0] ?? fileURLToPath(new URL("../", import.meta.url)));
const fake = await startFake();

async function once(how: "task" | "direct"): Promise<number> {
  const bot = await prepareBenchBot(root, fake, { prefix: "task-start-", settings: "defaults" });
  const { flags, config, main } = bot.command;
  // The bench bot's environment (it carries PATH and HOME, which the wrapper script needs).
  const env = bot.env;
  const started = performance.now();
  const child = (how === "task"
    ? new Deno.Command(`${root}/deno`, {
      args: ["task", "-q", "start"],
      cwd: root,
      clearEnv: true,
      env,
      stdout: "null",
      stderr: "null",
    })
    : new Deno.Command(Deno.execPath(), {
      args: [...flags, "--config", config, main, "serve"],
      cwd: bot.dir,
      clearEnv: true,
      env,
      stdout: "null",
      stderr: "null",
    })).spawn();
  let ms = 0;
  try {
    for (;;) {
      try {
        const res = await fetch(`${bot.url}/readyz`);
        await res.body?.cancel();
        if (res.status === 200) break;
      } catch { /* not listening yet */ }
      if (performance.now() - started > 30_000) throw new Error(`${how}: not ready in 30 s`);
      await new Promise((r) => setTimeout(r, 2));
    }
    ms = performance.now() - started;
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await Deno.remove(bot.dir, { recursive: true }).catch(() => {});
  }
  return ms;
}

const times: Record<"task" | "direct", number[]> = { task: [], direct: [] };
for (let i = 0; i < Number(args.rounds); i++) {
  const order: ("task" | "direct")[] = i % 2 === 0 ? ["task", "direct"] : ["direct", "task"];
  for (const how of order) times[how].push(Math.round(await once(how)));
}
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
for (const how of ["task", "direct"] as const) {
  console.log(
    `${how === "task" ? "./deno task -q start" : "deno run … serve   "}: ${median(times[how])} ms` +
      ` (${times[how].join(", ")}), load ${Deno.loadavg()[0]!.toFixed(2)}`,
  );
}
await fake.stop();
Deno.exit(0);
