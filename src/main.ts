/**
 * The binary's entry point: `serve` (default), `check-config`, `hooks list|revoke`,
 * `import-json`, `healthcheck`, `version`, each with `--help`.
 *
 * Exit codes: 0 success; 1 runtime failure (TrueConf unreachable in check-config, storage
 * error, a failed health check); 2 bad configuration or bad command line.
 *
 * @module
 */
import { formatProblems, parseConfig, readEnvironment } from "./config.ts";
import type { Config } from "./config.ts";
import { createLogger, type Logger } from "./log.ts";
import { VERSION } from "./version.ts";
import { serve } from "./cli/serve.ts";
import { checkConfig } from "./cli/check_config.ts";
import { hooksList, hooksRevoke, importJson } from "./cli/hooks_cli.ts";
import { healthcheck, probeHost } from "./cli/healthcheck.ts";
import { HookStore } from "./hooks/mod.ts";
import { openKv } from "./storage/mod.ts";

const USAGE = `trueconf-webhook-bot ${VERSION} — incoming webhooks for TrueConf Server chats

Usage: trueconf-webhook-bot [command] [options]

Commands:
  serve                 run the bot: HTTP endpoint + TrueConf chat bot (default)
  check-config          validate settings, then log in to TrueConf (OAuth + socket auth) and report
  hooks list            list every hook (tokens masked)
  hooks revoke <id>     revoke a hook by its id (see hooks list)
  import-json <file>    import the reference Python bot's data/webhooks.json (idempotent)
  healthcheck           exit 0 if this host's bot answers /readyz with 200 (for Docker HEALTHCHECK)
  version               print the version

Settings come from environment variables and a .env file in the working directory
(see .env.example). Exit codes: 0 ok, 1 runtime failure, 2 bad configuration or usage.
Run 'trueconf-webhook-bot <command> --help' for one command.`;

const HELP: Record<string, string> = {
  serve: `Usage: trueconf-webhook-bot serve

Runs the bot until SIGTERM or SIGINT. On the first signal it stops taking requests, lets
in-flight deliveries finish (WEBHOOK_SHUTDOWN_GRACE_SECONDS), keeps the rest queued and exits 0;
a second signal exits at once. Exit 2 on bad settings.`,
  "check-config": `Usage: trueconf-webhook-bot check-config

Validates every setting, then gets an OAuth token (or uses TRUECONF_TOKEN), connects the
WebSocket and authenticates once, and prints a report. Exit 0 when all passed, 1 when TrueConf
could not be reached or refused the credentials, 2 on bad settings.`,
  hooks: `Usage: trueconf-webhook-bot hooks list
       trueconf-webhook-bot hooks revoke <id>

Works on the KV file of WEBHOOK_STORAGE_PATH without the chat. Stop the bot first or run it
on the same machine (Deno KV allows several processes on one file).`,
  "import-json": `Usage: trueconf-webhook-bot import-json <path to webhooks.json>

Imports the reference Python bot's storage file so every existing hook URL keeps working.
Safe to run twice: hooks already imported are skipped. Prints what was imported and skipped.`,
  healthcheck: `Usage: trueconf-webhook-bot healthcheck

GETs http://127.0.0.1:$WEBHOOK_HTTP_PORT/readyz; exit 0 on 200, 1 otherwise.`,
  version: "Usage: trueconf-webhook-bot version",
};

function loadConfig(): Config | null {
  const result = parseConfig(readEnvironment());
  if (result.ok) return result.config;
  console.error(formatProblems(result.problems));
  return null;
}

function loggerFor(config: Config): Logger {
  return createLogger({ level: config.log.level, format: config.log.format });
}

async function withStore(
  config: Config,
  fn: (store: HookStore) => Promise<number>,
): Promise<number> {
  let kv: Deno.Kv;
  try {
    kv = await openKv(config.storagePath);
  } catch (e) {
    console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
  const store = new HookStore(kv);
  try {
    return await fn(store);
  } finally {
    await store.close();
    kv.close();
  }
}

/** Runs one command line; returns the exit code. */
export async function main(args: readonly string[]): Promise<number> {
  const [command = "serve", ...rest] = args;
  if (command === "--help" || command === "-h" || command === "help") {
    console.log(USAGE);
    return 0;
  }
  if (command === "--version" || command === "version") {
    if (rest.includes("--help")) console.log(HELP.version);
    else console.log(VERSION);
    return 0;
  }
  if (!(command in HELP)) {
    console.error(`Unknown command "${command}".\n\n${USAGE}`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(HELP[command]);
    return 0;
  }
  const out = (line: string) => console.log(line);

  if (command === "healthcheck") {
    const env = readEnvironment();
    const port = Number(env.WEBHOOK_HTTP_PORT?.trim() || "8080");
    return await healthcheck(port, { host: probeHost(env.WEBHOOK_HTTP_HOST) });
  }

  const config = loadConfig();
  if (!config) return 2;

  switch (command) {
    case "serve":
      if (rest.length) return usage(command);
      return await serve(config, loggerFor(config));
    case "check-config":
      if (rest.length) return usage(command);
      return await checkConfig(config, out);
    case "hooks": {
      const [sub, id, ...extra] = rest;
      if (sub === "list" && id === undefined) {
        return await withStore(config, (s) => hooksList(s, out));
      }
      if (sub === "revoke" && id && extra.length === 0) {
        return await withStore(config, (s) => hooksRevoke(s, id, out));
      }
      return usage(command);
    }
    case "import-json": {
      const [path, ...extra] = rest;
      if (!path || extra.length) return usage(command);
      return await withStore(config, (s) => importJson(s, path, out));
    }
  }
  return usage(command);
}

function usage(command: string): number {
  console.error(HELP[command] ?? USAGE);
  return 2;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
