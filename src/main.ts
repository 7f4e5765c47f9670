/**
 * The binary's entry point: `serve` (default), `check-config`, `hooks …`,
 * `import-json`, `healthcheck`, `version`, each with `--help`.
 *
 * Exit codes: 0 success; 1 runtime failure (TrueConf unreachable in check-config, storage
 * error, a failed health check); 2 bad configuration or bad command line.
 *
 * @module
 */
import {
  EnvFileError,
  formatProblems,
  ignoredSettings,
  parseConfig,
  parseStorageConfig,
  readEnvironment,
  settingDefault,
  unknownVariables,
} from "./config.ts";
import type { Config, Environment, LogSettings, StorageConfig } from "./config.ts";
import { createLogger, type Logger } from "./log.ts";
import { VERSION } from "./version.ts";
import type { HookStore } from "./hooks/mod.ts";
import type { SecretBox as SecretBoxType } from "./storage/mod.ts";
// Each command's module is imported when that command runs (string literals, so `deno compile`
// still embeds them): `serve` does not load the offline CLI, and `healthcheck` (Docker runs it
// every 30 s) loads neither the bot nor the store. docs/benchmarks.md, "Memory and start".

const USAGE = `trueconf-webhook-bot ${VERSION} — incoming webhooks for TrueConf Server chats

Usage: trueconf-webhook-bot [command] [options]

Commands:
  serve                 run the bot: HTTP endpoint + TrueConf chat bot (default)
  check-config          validate settings, then log in to TrueConf (OAuth + socket auth) and report
  hooks list            list every hook (tokens masked); also create, pause, resume,
                        rename, rotate, expire, info, verify, allow, revoke, queue
                        (waiting deliveries), export and import (backup) (hooks --help)
  import-json <file>    import the reference Python bot's data/webhooks.json (idempotent)
  healthcheck [--ready] exit 0 if this host's bot is healthy (/readyz; Docker HEALTHCHECK), or ready
  version               print the version

Settings come from environment variables and a .env file in the working directory
(see .env.example). hooks and import-json need only WEBHOOK_STORAGE_PATH (and read
WEBHOOK_SECRET_KEY and WEBHOOK_PUBLIC_URL when set).
Exit codes: 0 ok, 1 runtime failure, 2 bad configuration or usage.
Run 'trueconf-webhook-bot <command> --help' (or 'help <command>') for one command.`;

/** `hooks --help`: the usage texts live with their commands, loaded only when asked for. */
const hooksHelp = async () => {
  const { HOOKS_USAGE } = await import("./cli/hooks_cli.ts");
  return `${HOOKS_USAGE}

Works on the KV file of WEBHOOK_STORAGE_PATH without the chat and without TrueConf settings
(it reads WEBHOOK_STORAGE_PATH, and WEBHOOK_SECRET_KEY and WEBHOOK_PUBLIC_URL when set). On a
systemd install, run it as the service's user with the service's env file, so secrets are sealed
with the service's key (docs/deploy.md, "Offline commands"):
  sudo systemd-run --pipe --wait --collect -p User=trueconf-webhook-bot -p DynamicUser=yes \\
    -p StateDirectory=trueconf-webhook-bot -p EnvironmentFile=/etc/trueconf-webhook-bot/env \\
    -E WEBHOOK_STORAGE_PATH=/var/lib/trueconf-webhook-bot/webhooks.kv \\
    /usr/local/bin/trueconf-webhook-bot hooks list`;
};

/** Each command's `--help`; a function when the text lives in a module loaded on demand. */
const HELP: Record<string, string | (() => Promise<string>)> = {
  serve: `Usage: trueconf-webhook-bot serve [--standby]

Runs the bot until SIGTERM or SIGINT. One instance per store: while another live instance
holds WEBHOOK_STORAGE_PATH, serve exits 1 naming it; with --standby it waits instead and
takes over once that one stops or dies (docs/deploy.md, "One instance per store").
On the first signal it stops taking requests, lets in-flight deliveries finish
(WEBHOOK_SHUTDOWN_GRACE_SECONDS), keeps the rest queued and exits 0; a second signal
(a second or more after the first) exits at once. A signal before it serves (waiting for
the lease with --standby, or for a store another process keeps locked) exits 0 at once:
nothing was accepted yet. Exit 2 on bad settings.`,
  "check-config": `Usage: trueconf-webhook-bot check-config [--send-test]

Validates every setting (and warns about unknown TRUECONF_/WEBHOOK_/LOG_/METRICS_ variables),
checks the storage path, the store's lease, whether the secret key opens the store's sealed
secrets and the listen address as serve will meet them, then
gets an OAuth token (or uses TRUECONF_TOKEN), connects the WebSocket and authenticates once, and
prints a report. Creates nothing. Exit 0 when all passed, 1 when TrueConf
could not be reached or refused the credentials, 2 on bad settings.`,
  hooks: hooksHelp,
  "import-json": `Usage: trueconf-webhook-bot import-json <path to webhooks.json, or - for stdin>

Imports the reference Python bot's storage file so every existing hook URL keeps working
(only WEBHOOK_STORAGE_PATH is needed).
Safe to run twice: hooks already imported are skipped. Prints what was imported and skipped;
a bad date or name in a record is replaced (printed as "adjusted: …") so its URL keeps working;
exit 1 when a record could not be imported (no chat or a bad token: its URL will answer 404).
The file format is in the README ("Migrating from the Python reference bot").`,
  healthcheck: `Usage: trueconf-webhook-bot healthcheck [--ready]

GETs http://127.0.0.1:$WEBHOOK_HTTP_PORT/readyz. Exit 0 when the bot is healthy: it answers
200, or 503 only because TrueConf is unreachable, not authorized or not answering (the bot
then queues hooks, and a restart would not bring TrueConf back); 1 when it does not answer or
reports its own trouble (storage file gone, the store's change feed unreadable, shutting down).
This is the container health check. With --ready only 200 counts (connected and authorized to
TrueConf, the store in order), for monitoring.
Exit 2 when WEBHOOK_HTTP_PORT is not a port.`,
  version: "Usage: trueconf-webhook-bot version [--json]\n\n" +
    'Prints the version; --json prints {"version", "deno"} for scripts.',
};

/** Reads the environment and `.env`; null (after printing why) when `.env` is unreadable. */
function loadEnvironment(): Environment | null {
  try {
    return readEnvironment();
  } catch (e) {
    if (!(e instanceof EnvFileError)) throw e;
    console.error(`Configuration error: ${e.message}`);
    return null;
  }
}

function loadConfig(env: Record<string, string | undefined>): Config | null {
  const result = parseConfig(env);
  if (result.ok) return result.config;
  console.error(formatProblems(result.problems));
  return null;
}

/** Offline commands read only the storage settings: no TrueConf server or credentials needed. */
function loadStorageConfig(env: Record<string, string | undefined>): StorageConfig | null {
  const result = parseStorageConfig(env);
  if (result.ok) return result.config;
  console.error(formatProblems(result.problems));
  return null;
}

function loggerFor(settings: LogSettings): Logger {
  return createLogger({ level: settings.level, format: settings.format });
}

async function withStore(
  config: Pick<StorageConfig, "storagePath" | "secretKey">,
  fn: (store: HookStore, kv: Deno.Kv) => Promise<number>,
): Promise<number> {
  const [
    { ringDoorbell, SecretBox, SecretKeyMismatchError, storeBusySentence },
    { HookStore },
  ] = await Promise
    .all([
      import("./storage/mod.ts"),
      import("./hooks/mod.ts"),
    ]);
  const kv = await openForCommand(config.storagePath);
  if (kv === null) return 1;
  let secrets: SecretBoxType;
  try {
    // The same key as serve, so secrets set here are usable there (and the reverse).
    secrets = await SecretBox.forStore(kv, config.storagePath, config.secretKey);
  } catch (e) {
    kv.close();
    console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
  const store = new HookStore(kv, { secrets });
  try {
    return await fn(store, kv);
  } catch (e) {
    // Refused before sealing a secret serve could not open: one sentence, nothing changed.
    const busy = storeBusySentence(e, config.storagePath);
    if (busy === null && !(e instanceof SecretKeyMismatchError)) throw e;
    console.error(`error: ${busy ?? (e as Error).message}`);
    return 1;
  } finally {
    await store.close();
    // A serving bot looks for what this command changed now, not at its next safety poll.
    await ringDoorbell(kv);
    kv.close();
  }
}

/** Runs `fn` with the raw store (backup), closing it after; exit 1 when it cannot be opened. */
async function withKv(path: string, fn: (kv: Deno.Kv) => Promise<number>): Promise<number> {
  const { storeBusySentence } = await import("./storage/mod.ts");
  const kv = await openForCommand(path);
  if (kv === null) return 1;
  try {
    return await fn(kv);
  } catch (e) {
    const busy = storeBusySentence(e, path);
    if (busy === null) throw e;
    console.error(`error: ${busy}`);
    return 1;
  } finally {
    kv.close();
  }
}

/**
 * Opens the store for an offline command, or prints why not and returns null. A store another
 * process keeps locked gets STORE_WAIT_MS to answer, then the busy sentence: the command's
 * process exits then (its KV handle is left to the exit: closing it would wait for the lock).
 * Each of the command's commits keeps trying as long while the lock is held, then fails with
 * the busy sentence (withStore, withKv). Either wait is told on stderr once, after a second.
 */
async function openForCommand(path: string): Promise<Deno.Kv | null> {
  const { openKv, STORE_NOTICE_MS, STORE_WAIT_MS, storeBusySentence, storeWaitingSentence } =
    await import("./storage/mod.ts");
  let told = false;
  const tell = () => {
    if (!told) console.error(storeWaitingSentence(path));
    told = true;
  };
  try {
    return await openKv(path, {
      answerWithinMs: STORE_WAIT_MS,
      onWaiting: tell,
      waitingAfterMs: STORE_NOTICE_MS,
      commitWithinMs: STORE_WAIT_MS,
      onCommitWaiting: tell,
    });
  } catch (e) {
    const busy = storeBusySentence(e, path);
    console.error(`error: ${busy ?? (e instanceof Error ? e.message : String(e))}`);
    return null;
  }
}

/** Runs one command line; returns the exit code. */
export async function main(args: readonly string[]): Promise<number> {
  const [command = "serve", ...rest] = args;
  if (command === "--help" || command === "-h" || command === "help") {
    // `help hooks queue` is `hooks queue --help`, as in git and cargo.
    if (command === "help" && rest.length > 0) return await main([...rest, "--help"]);
    console.log(USAGE);
    return 0;
  }
  if (command === "--version" || command === "-V" || command === "-v" || command === "version") {
    if (rest.includes("--help")) {
      console.log(await helpText("version"));
      return 0;
    }
    const other = rest.find((a) => a !== "--json");
    if (other !== undefined) {
      console.error(`error: version takes only --json, not "${other}"\n\n${HELP.version}`);
      return 2;
    }
    console.log(
      rest.includes("--json")
        ? JSON.stringify({ version: VERSION, deno: Deno.version.deno })
        : VERSION,
    );
    return 0;
  }
  if (!(command in HELP)) {
    console.error(`Unknown command "${command}".\n\n${USAGE}`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    if (command === "hooks" && rest[0] === "queue") {
      console.log((await import("./cli/queue_cli.ts")).QUEUE_USAGE);
    } else console.log(await helpText(command));
    return 0;
  }
  const out = (line: string) => console.log(line);
  // Before the settings: a typo must be named even where the settings are missing too.
  const badArgument = unexpectedArgument(command, rest);
  if (badArgument) {
    console.error(`error: ${badArgument}\n`);
    return await usage(command);
  }

  const environment = loadEnvironment();
  if (!environment) return 2;
  const env = environment.env;

  if (command === "healthcheck") {
    // Runs inside the container next to serve: the same port setting, its default from the table.
    // A value serve refuses (or 0, a port picked at start) is named: asking the default port
    // instead could find another service there and call a bot that never started alive.
    const raw = env.WEBHOOK_HTTP_PORT?.trim() ?? "";
    const port = raw === "" ? settingDefault("WEBHOOK_HTTP_PORT") : Number(raw);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      console.error(
        `error: WEBHOOK_HTTP_PORT=${raw} is not a port healthcheck can ask: give the whole number ` +
          `1–65535 serve listens on (0 picks a free port at start, which healthcheck cannot know).`,
      );
      return 2;
    }
    const ready = rest[0] === "--ready";
    const { healthcheck, probeHost } = await import("./cli/healthcheck.ts");
    return await healthcheck(port, {
      host: probeHost(env.WEBHOOK_HTTP_HOST),
      check: ready ? "ready" : "health",
    });
  }

  if (command === "hooks" || command === "import-json") {
    for (const w of environment.warnings) console.error(`warning: ${w}`);
    const storage = loadStorageConfig(env);
    if (!storage) return 2;
    // Told when the command would open the store, after its arguments were checked: a typo
    // is a usage error (exit 2) wherever the store is.
    const missing = command === "hooks" && READS_A_STORE.has(rest[0] ?? "")
      ? await missingStore(storage.storagePath, env.WEBHOOK_STORAGE_PATH)
      : null;
    const noStore = (why: string) => {
      console.error(`error: ${why}`);
      return 1;
    };
    if (command === "hooks" && (rest[0] === "export" || rest[0] === "import")) {
      const [sub, file, ...extra] = rest;
      if (extra.length || (sub === "import" && !file)) return await usage(command);
      if (missing) return noStore(missing);
      const { hooksExport, hooksImport } = await import("./cli/backup_cli.ts");
      return await withKv(
        storage.storagePath,
        (kv) =>
          sub === "export"
            ? hooksExport(kv, file, storage.storagePath, (l) => console.error(l))
            : hooksImport(
              kv,
              file!,
              out,
              storage.storagePath,
              (l) => console.error(l),
              storage.secretKey,
            ),
      );
    }
    const { importJson, runHooksCli } = await import("./cli/hooks_cli.ts");
    if (command === "hooks") {
      return await runHooksCli(rest, {
        openStore: async (fn) => missing ? noStore(missing) : await withStore(storage, fn),
        openQueue: async (fn) =>
          missing ? noStore(missing) : await withStore(storage, (store, kv) => fn(kv, store)),
        storagePath: storage.storagePath,
        publicUrl: storage.publicUrl,
        out,
        err: (line) => console.error(line),
      });
    }
    const [path, ...extra] = rest;
    if (!path || extra.length) return await usage(command);
    return await withStore(storage, (s) => importJson(s, path, out, (l) => console.error(l)));
  }

  const warnings = [...environment.warnings, ...unknownVariables(env), ...ignoredSettings(env)];
  const config = loadConfig(env);
  if (!config) {
    // Often the cause of a "required" above: a misspelt name, or an empty variable hiding .env.
    for (const w of warnings) console.error(`warning: ${w}`);
    return 2;
  }

  switch (command) {
    case "serve": {
      const standby = rest[0] === "--standby";
      const log = loggerFor(config.log);
      for (const w of warnings) log.warn(w);
      const { serve } = await import("./cli/serve.ts");
      return await serve(config, log, { standby });
    }
    case "check-config": {
      const sendTest = rest[0] === "--send-test";
      for (const w of warnings) out(`WARN  ${w}`);
      const { checkConfig } = await import("./cli/check_config.ts");
      return await checkConfig(config, out, { sendTest });
    }
  }
  return await usage(command);
}

/**
 * `hooks` subcommands that read or change what a store already holds. On a store that does not
 * exist they made an empty one and said "No webhooks." — read as "every hook is gone" by an
 * operator who ran `hooks list` in the wrong folder or without the service's settings.
 * (`create`, `import` and `import-json` may start a store.)
 */
const READS_A_STORE = new Set([
  "list",
  "info",
  "pause",
  "resume",
  "rename",
  "rotate",
  "expire",
  "verify",
  "allow",
  "revoke",
  "queue",
  "export",
]);

/** Why the local store file does not exist (nothing created), or null when it does (or is remote). */
async function missingStore(path: string, setting: string | undefined): Promise<string | null> {
  if (path === ":memory:" || /^https?:\/\//i.test(path)) return null;
  try {
    await Deno.stat(path);
    return null;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) return null; // openKv names other trouble
  }
  const where = path.startsWith("/") ? path : `${Deno.cwd()}/${path}`;
  return `there is no store at ${where} (${
    setting?.trim() ? "WEBHOOK_STORAGE_PATH" : "WEBHOOK_STORAGE_PATH is not set: the default"
  }); nothing was created. Point WEBHOOK_STORAGE_PATH at the bot's store. On a systemd install run the command as the service, with its env file (docs/deploy.md, "Offline commands": the store is /var/lib/trueconf-webhook-bot/webhooks.kv); in Docker: docker compose exec bot /app/trueconf-webhook-bot hooks …`;
}

/** The one option each command without subcommands takes. */
const OPTIONS: Record<string, string> = {
  serve: "--standby",
  "check-config": "--send-test",
  healthcheck: "--ready",
};

/** What is wrong with the arguments of `serve`, `check-config` or `healthcheck`, if anything. */
function unexpectedArgument(command: string, rest: readonly string[]): string | null {
  const option = OPTIONS[command];
  if (option === undefined) return null;
  const extra = rest.find((arg, i) => !(i === 0 && arg === option)) ?? null;
  if (extra === null) return null;
  return extra.startsWith("-")
    ? `unknown option "${extra}"`
    : `unexpected argument "${extra}" (${command} takes only ${option})`;
}

async function helpText(command: string): Promise<string> {
  const help = HELP[command] ?? USAGE;
  return typeof help === "string" ? help : await help();
}

async function usage(command: string): Promise<number> {
  console.error(await helpText(command));
  return 2;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
