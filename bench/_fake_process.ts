/**
 * What the bench harnesses share (bench/run.ts, bench/ab.ts, bench/ab_start.ts,
 * bench/edge_memory.ts): the environment a bot or the fake is started with, a free loopback port, the fake TrueConf
 * (bench/fake_server.ts) in its own process, and a bot's process with its log in a file.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = fileURLToPath(new URL("../", import.meta.url));

/** A clean environment: only what Deno needs to find its cache, no colours. */
export function baseEnv(): Record<string, string> {
  const env: Record<string, string> = { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" };
  for (const name of ["HOME", "DENO_DIR", "PATH", "XDG_CACHE_HOME"]) {
    const v = Deno.env.get(name);
    if (v !== undefined) env[name] = v;
  }
  return env;
}

/**
 * The environment of a bench bot against the fake TrueConf on `fakePort`, listening on
 * 127.0.0.1:`port` with its store at `storagePath`. Settings: `defaults` is the defaults, with the
 * rate limits (on, as by default) set high enough never to refuse one benchmark client, so every
 * request still pays for both token buckets; `fast` is the older README figures' settings, both
 * limits off and only warnings logged.
 */
export function botEnv(o: {
  fakePort: number;
  port: number;
  storagePath: string;
  settings: "defaults" | "fast";
}): Record<string, string> {
  return {
    ...baseEnv(),
    TRUECONF_SERVER: "127.0.0.1",
    TRUECONF_HTTPS: "false",
    TRUECONF_WEB_PORT: String(o.fakePort),
    TRUECONF_USERNAME: "webhook_bot",
    TRUECONF_PASSWORD: "secret",
    WEBHOOK_PUBLIC_URL: `http://127.0.0.1:${o.port}`,
    WEBHOOK_HTTP_HOST: "127.0.0.1",
    WEBHOOK_HTTP_PORT: String(o.port),
    WEBHOOK_STORAGE_PATH: o.storagePath,
    ...(o.settings === "fast"
      ? {
        WEBHOOK_RATE_LIMIT_PER_MINUTE: "0",
        WEBHOOK_RATE_LIMIT_PER_IP_PER_MINUTE: "0",
        LOG_LEVEL: "warn",
      }
      : {
        WEBHOOK_RATE_LIMIT_PER_MINUTE: "1000000000",
        WEBHOOK_RATE_LIMIT_PER_IP_PER_MINUTE: "1000000000",
      }),
  };
}

/**
 * The fake in its own process; `counts()` asks it for its post counter, `tally()` for posts by
 * kind as well. `root` is the checkout whose fake runs (default this one: an A/B of a change to
 * the fake runs each checkout's own).
 */
export async function startFake(root = HERE) {
  const child = new Deno.Command(Deno.execPath(), {
    // BENCH_FAKE_FLAGS: `deno run` flags for the fake (e.g. `--cpu-prof --cpu-prof-dir=…`).
    args: [
      "run",
      "-A",
      ...(Deno.env.get("BENCH_FAKE_FLAGS")?.split(" ").filter(Boolean) ?? []),
      "--config",
      join(root, "deno.json"),
      join(root, "bench/fake_server.ts"),
    ],
    clearEnv: true,
    env: baseEnv(),
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const writer = child.stdin.getWriter();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  const next = async () => {
    for (;;) {
      const nl = buf.indexOf("\n");
      if (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        return JSON.parse(line);
      }
      const r = await reader.read();
      if (r.done) throw new Error("fake exited");
      buf += r.value;
    }
  };
  const hello = await next() as { port: number; chatId: string };
  return {
    ...hello,
    /** The fake's process id: its CPU competes with the bot's on a small machine. */
    pid: child.pid,
    async counts(): Promise<number> {
      return (await this.tally()).chat;
    },
    async tally(): Promise<{ chat: number; kinds: Record<"text" | "photo" | "document", number> }> {
      await writer.write(new TextEncoder().encode("counts\n"));
      return await next();
    },
    async stop() {
      await writer.close().catch(() => {});
      await reader.cancel().catch(() => {});
      await child.status;
    },
  };
}

export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/**
 * Spawns `command` (program and arguments) with its stderr appended to `logFile`, as journald
 * or docker's log driver would take it: draining a pipe of one log line per delivery here would
 * cost the bench process CPU that the bot's own numbers do not show.
 */
export function spawnLogged(
  command: string[],
  options: {
    logFile: string;
    cwd: string;
    env: Record<string, string>;
    stdout: "piped" | "null";
  },
): Deno.ChildProcess {
  return new Deno.Command("sh", {
    args: ["-c", 'f=$1; shift; exec "$@" 2>>"$f"', "sh", options.logFile, ...command],
    cwd: options.cwd,
    clearEnv: true,
    env: options.env,
    stdin: "null",
    stdout: options.stdout,
    stderr: "null",
  }).spawn();
}

/**
 * Creates the benchmark hook in a bot's store with its CLI's `import-json` (a reference-format
 * file with a random 43-character token and the fake's chat), as an operator migrating from the
 * Python bot would. `cli` is the program and its arguments before `import-json`. Returns the
 * token.
 */
export async function importBenchHook(
  cli: string[],
  options: { dir: string; env: Record<string, string>; chatId: string },
): Promise<string> {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const token = btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
  const file = join(options.dir, "webhooks.json");
  await Deno.writeTextFile(
    file,
    JSON.stringify({
      webhooks: [{
        id: crypto.randomUUID(),
        chat_id: options.chatId,
        name: "bench",
        token,
        created_at: new Date().toISOString(),
        created_by: "bench@video.example.com",
      }],
    }),
  );
  const out = await new Deno.Command(cli[0]!, {
    args: [...cli.slice(1), "import-json", file],
    cwd: options.dir,
    clearEnv: true,
    env: options.env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`import-json failed (${out.code}):\n${text}`);
  await Deno.remove(file);
  return token;
}

/**
 * How a checkout's bot is run: its `start` task's `deno run` flags (what a user's bot runs
 * with), its deno.json and the task's entry (src/start.ts, or src/main.ts in checkouts older
 * than the start task's bundle).
 */
export function checkoutCommand(root: string): { flags: string[]; config: string; main: string } {
  const config = join(root, "deno.json");
  const words = (taskCommand(config, "start") ?? "").split(/\s+/);
  const entry = words.findIndex((w) => w.startsWith("src/") && w.endsWith(".ts"));
  if (words[0] !== "deno" || entry < 0) throw new Error(`unexpected start task in ${config}`);
  return { flags: words.slice(1, entry), config, main: join(root, words[entry]!) };
}

/** A task's command line from a deno.json (string or `{command, dependencies}` form). */
function taskCommand(config: string, name: string): string | undefined {
  const task: string | { command: string } | undefined = JSON.parse(Deno.readTextFileSync(config))
    .tasks?.[name];
  return typeof task === "string" ? task : task?.command;
}

/**
 * Runs the checkout's `bundle` task (what `deno task start` runs before the bot: the bundle of
 * src/ the bot then loads, src/start.ts), so a bot started directly finds the bundle a user's
 * `deno task start` would. No-op for checkouts without one.
 */
export async function bundleCheckout(root: string): Promise<void> {
  const command = taskCommand(join(root, "deno.json"), "bundle");
  if (!command) return;
  const words = command.split(/\s+/);
  const out = await new Deno.Command(Deno.execPath(), {
    args: words.slice(1),
    cwd: root,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`deno task bundle failed in ${root}`);
}

/** Resolves once `url`/readyz answers 200 (polled every 10 ms); throws after 30 s. */
export async function waitReady(url: string): Promise<void> {
  const until = Date.now() + 30_000;
  for (;;) {
    try {
      const r = await fetch(`${url}/readyz`);
      await r.body?.cancel();
      if (r.status === 200) return;
    } catch { /* not listening yet */ }
    if (Date.now() > until) throw new Error(`the bot at ${url} was not ready within 30 s`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * A checkout's bot made ready to start against `fake`: its own temp folder (store inside),
 * a free port, the environment of `settings`, the bench hook imported, and the command a user's
 * bot runs with. What `bench/ab.ts`, `bench/heap_sample.ts` and `bench/idle_over_time.ts` start
 * their bots from ({@link spawnBenchBot} starts one).
 */
export async function prepareBenchBot(
  root: string,
  fake: { port: number; chatId: string },
  o: { prefix: string; settings: "defaults" | "fast" },
) {
  const dir = await Deno.makeTempDir({ prefix: o.prefix });
  await bundleCheckout(root);
  const command = checkoutCommand(root);
  const port = freePort();
  const env = botEnv({
    fakePort: fake.port,
    port,
    storagePath: join(dir, "w.kv"),
    settings: o.settings,
  });
  const cli = [Deno.execPath(), ...command.flags, "--config", command.config, command.main];
  const token = await importBenchHook(cli, { dir, env, chatId: fake.chatId });
  return { dir, port, env, token, command, url: `http://127.0.0.1:${port}` };
}

/**
 * Starts a {@link prepareBenchBot} bot as users run it (`serve` with its checkout's start task
 * flags, plus `extraFlags` such as `--inspect`), output discarded.
 */
export function spawnBenchBot(
  bot: Pick<Awaited<ReturnType<typeof prepareBenchBot>>, "dir" | "env" | "command">,
  extraFlags: string[] = [],
): Deno.ChildProcess {
  const { flags, config, main } = bot.command;
  return new Deno.Command(Deno.execPath(), {
    args: [...flags, ...extraFlags, "--config", config, main, "serve"],
    cwd: bot.dir,
    clearEnv: true,
    env: bot.env,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
}
