/**
 * The real `serve` as a subprocess, started the way `deno task start` starts it (the start
 * task's entry, src/start.ts, which runs the program from its bundle), with a clean
 * environment, a working directory of its own, TrueConf = the fake server (or nothing), its
 * stderr log lines parsed as they come. Waiting is on the process's own log lines and exit
 * status (events), never on sleeps. One helper for every process-level test (SIGKILL and
 * restart, SIGTERM under load, two instances on one store, outgoing calls across a death).
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { FakeTrueConf } from "./fake_trueconf.ts";
import { TEST_BOT } from "./bot_with_fake.ts";
import { HookStore } from "../../src/hooks/mod.ts";
import { openKv } from "../../src/storage/mod.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/**
 * The start task's `--v8-flags=…` (heap sizing, `gc` exposed), `--unstable-…` flags (modules
 * of `import()`s loaded only when reached) and `--allow-…` permissions, so a test's bot runs
 * with the settings users run: they change when collections happen and when modules load,
 * which the memory and first-use tests see, and what the bot may read (Deno refuses `/proc`
 * without `--allow-all`, which hid a lease that waited 6 s after every crash).
 */
const TASKS = JSON.parse(Deno.readTextFileSync(join(ROOT, "deno.json"))).tasks;
const START_TASK: string[] = (TASKS.start as string).split(/\s+/);
const START_FLAGS: string[] = START_TASK.filter((word) =>
  word.startsWith("--v8-flags=") || word.startsWith("--unstable-") ||
  word.startsWith("--allow-")
);
/** The start task's entry (src/start.ts: the program from its bundle, docs/benchmarks.md). */
const START_ENTRY: string = START_TASK.find((w) => w.startsWith("src/") && w.endsWith(".ts"))!;

let bundled = false;
/**
 * What `./deno task start` runs before the bot when the sources changed, once per test
 * process: the `bundle` task (the bundle of src/ the bot loads, src/start.ts; the first run in
 * a fresh checkout takes a few seconds).
 */
function bundleOnce(): void {
  if (bundled) return;
  const out = new Deno.Command(Deno.execPath(), {
    args: (TASKS.bundle as string).split(/\s+/).slice(1),
    cwd: ROOT,
    stdout: "null",
    stderr: "piped",
  }).outputSync();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  bundled = true;
}

/** One log line of the process: the parsed JSON, or `{level: "raw", msg}` for other text. */
export interface LogLine {
  level: string;
  msg: string;
  [field: string]: unknown;
}

/** Options of {@link spawnServe}. */
export interface ServeProcessOptions {
  /** Working directory; the store is `<dir>/webhooks.kv` unless `env` says otherwise. */
  dir: string;
  /** TrueConf is this fake (plain HTTP on loopback, the test bot's login); none: a closed port. */
  fake?: FakeTrueConf | undefined;
  /** Settings over the defaults (127.0.0.1, port 0, LOG_LEVEL info, the fake's TrueConf). */
  env?: Record<string, string> | undefined;
  /** Arguments after `serve` (e.g. `--standby`). */
  args?: string[] | undefined;
}

/** A running `serve` process. */
export interface ServeProcess {
  readonly pid: number;
  /** Every stderr/stdout line so far, parsed. */
  readonly lines: LogLine[];
  /** Resolves when the process has exited and its output is drained. */
  readonly status: Promise<Deno.CommandStatus>;
  /**
   * The first line (seen already or still to come) that matches; rejects if the process exits
   * first, or after `timeoutMs` when given. Wait with this for a line logged before an answer
   * the test has: the bot writes its lines a turn later (buffered stderr) and the test reads
   * them from a pipe, so the answer may come first and `lines` not hold the line yet.
   */
  line(pred: (l: LogLine) => boolean, what: string, timeoutMs?: number): Promise<LogLine>;
  /** Waits for the "listening" line; its port and base URL. */
  listening(): Promise<{ port: number; url: string; line: LogLine }>;
  /** Waits for the "ready" line (authorized at TrueConf). */
  ready(): Promise<LogLine>;
  kill(signal: Deno.Signal): void;
  /** The log so far as text, for assertion messages. */
  text(): string;
  /** SIGKILL unless exited, then waits for the status. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts `serve`. Always dispose of it (`await using`), or await `status` after a signal.
 *
 * @example
 * ```ts ignore
 * await using bot = spawnServe({ dir, fake });
 * const { port } = await bot.listening();
 * await bot.ready();
 * bot.kill("SIGTERM");
 * assert.equal((await bot.status).code, 0);
 * ```
 */
export function spawnServe(options: ServeProcessOptions): ServeProcess {
  const { dir, fake } = options;
  const env: Record<string, string> = {
    PATH: Deno.env.get("PATH") ?? "",
    HOME: Deno.env.get("HOME") ?? dir,
    DENO_NO_UPDATE_CHECK: "1",
    TRUECONF_SERVER: "127.0.0.1",
    TRUECONF_HTTPS: "false",
    // Without a fake: a port nothing listens on (the client keeps retrying; HTTP still serves).
    TRUECONF_WEB_PORT: fake ? String(fake.port) : "9",
    TRUECONF_USERNAME: TEST_BOT.login,
    TRUECONF_PASSWORD: TEST_BOT.password,
    WEBHOOK_PUBLIC_URL: "http://127.0.0.1",
    WEBHOOK_HTTP_HOST: "127.0.0.1",
    WEBHOOK_HTTP_PORT: "0",
    WEBHOOK_STORAGE_PATH: join(dir, "webhooks.kv"),
    LOG_LEVEL: "info",
    LOG_FORMAT: "json",
    ...options.env,
  };
  for (const name of ["DENO_DIR", "XDG_CACHE_HOME"]) {
    const v = Deno.env.get(name);
    if (v && !(name in env)) env[name] = v;
  }
  bundleOnce();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...START_FLAGS,
      "--config",
      join(ROOT, "deno.json"),
      join(ROOT, START_ENTRY),
      "serve",
      ...(options.args ?? []),
    ],
    cwd: dir,
    clearEnv: true,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();

  const lines: LogLine[] = [];
  const waiters = new Set<{ pred: (l: LogLine) => boolean; resolve: (l: LogLine) => void }>();
  const take = (text: string) => {
    let l: LogLine;
    try {
      l = JSON.parse(text);
    } catch {
      l = { level: "raw", msg: text };
    }
    lines.push(l);
    for (const w of [...waiters]) {
      if (w.pred(l)) {
        waiters.delete(w);
        w.resolve(l);
      }
    }
  };
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    let buf = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      buf += chunk;
      const parts = buf.split("\n");
      buf = parts.pop() ?? "";
      for (const p of parts) if (p.trim()) take(p);
    }
    if (buf.trim()) take(buf);
  };
  const status = Promise.all([drain(child.stdout), drain(child.stderr)]).then(() => child.status);
  const text = () => lines.map((l) => l.level === "raw" ? l.msg : JSON.stringify(l)).join("\n");
  let exited = false;
  status.then(() => exited = true);

  const line = (
    pred: (l: LogLine) => boolean,
    what: string,
    timeoutMs?: number,
  ): Promise<LogLine> => {
    const seen = lines.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const w = {
        pred,
        resolve: (l: LogLine) => {
          clearTimeout(timer);
          resolve(l);
        },
      };
      waiters.add(w);
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          if (waiters.delete(w)) reject(new Error(`no ${what} within ${timeoutMs} ms:\n${text()}`));
        }, timeoutMs);
      }
      status.then(() => {
        clearTimeout(timer);
        if (waiters.delete(w)) reject(new Error(`serve exited before ${what}:\n${text()}`));
      });
    });
  };

  return {
    pid: child.pid,
    lines,
    status,
    line,
    async listening() {
      const l = await line((x) => x.msg === "listening", "listening");
      const port = Number(String(l.address).split(":").at(-1));
      return { port, url: `http://127.0.0.1:${port}`, line: l };
    },
    ready: () => line((x) => x.msg === "ready", "ready (authorized at TrueConf)"),
    kill(signal) {
      if (!exited) child.kill(signal);
    },
    text,
    async [Symbol.asyncDispose]() {
      if (!exited) {
        try {
          child.kill("SIGKILL");
        } catch { /* exited meanwhile */ }
      }
      await status;
    },
  };
}

/** What a CLI run printed, and its exit code. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the operator CLI (`src/main.ts hooks …`, a real process) on the store `<dir>/webhooks.kv`,
 * as an operator would beside a running `serve`.
 */
export function hooksCommand(dir: string, ...args: string[]): Promise<CliResult> {
  return cliCommand(dir, "hooks", ...args);
}

/** Any offline command (`hooks …`, `import-json …`) the same way as {@link hooksCommand}. */
export async function cliCommand(dir: string, ...args: string[]): Promise<CliResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--frozen",
      "--config",
      join(ROOT, "deno.json"),
      join(ROOT, "src/main.ts"),
      ...args,
    ],
    env: { WEBHOOK_STORAGE_PATH: join(dir, "webhooks.kv"), NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/**
 * Hooks of `chatId` made by `createdBy` in the store `serve` opens in `dir`
 * (`<dir>/webhooks.kv`), before any `serve` starts, as `hooks create` would: their tokens and
 * ids in the order of `names`.
 */
export async function hooksBeforeStart(
  dir: string,
  chatId: string,
  createdBy: string,
  ...names: string[]
): Promise<{ token: string; id: string }[]> {
  const kv = await openKv(join(dir, "webhooks.kv"));
  const store = new HookStore(kv);
  try {
    const made = [];
    for (const name of names) {
      const m = await store.create({ chatId, name, createdBy });
      if (!m.ok) throw new Error(`hook ${name} not created: ${JSON.stringify(m)}`);
      made.push({ token: m.token, id: m.hook.id });
    }
    return made;
  } finally {
    await store.close();
    kv.close();
  }
}
