/**
 * `deno task demo`: the newcomer's first command after clone. Runs the real bot (the same
 * {@link createBot} wiring as `serve`) against the in-process fake TrueConf server from
 * `tests/support/`, creates a hook the way a chat member would (`@Webhook Bot
 * /webhook_create demo` in a group chat "Ops"), prints the hook URL with ready-to-paste
 * `curl` commands, and echoes every message and file the simulated chats receive until
 * Ctrl+C. `--smoke` posts to the hook itself, checks everything arrived, and exits.
 *
 * This lives outside `src/` so production code never imports the fake.
 *
 * Environment: `DEMO_PORT` (default 8080; a busy port falls back to a free one),
 * `LOG_LEVEL` (default warn, so the terminal shows chat traffic rather than logs).
 * Exit codes: 0 ok, 1 the demo failed, 2 bad command line.
 *
 * @module
 */
import { join } from "node:path";
import { FakeTrueConf, type SentRecord } from "../tests/support/fake_trueconf.ts";
import { type Bot, createBot } from "../src/bot.ts";
import { formatProblems, parseConfig } from "../src/config.ts";
import { createLogger } from "../src/log.ts";
import { formatSent } from "./chat_echo.ts";
import { curlExamples } from "./curl_examples.ts";
import { runSmoke } from "./smoke.ts";

const HELP = `Usage: deno task demo [--smoke]

Starts the bot against a simulated TrueConf server (no real server needed), creates a hook
through a simulated chat command, prints its URL with curl examples, and echoes what the
simulated chat receives until Ctrl+C.

  --smoke   post a text, a photo and a document to the hook, check they reached the chat, exit
  --help    this text

Environment: DEMO_PORT (default 8080; falls back to a free port when busy),
LOG_LEVEL (default warn). Nothing is kept: the hook store lives in a temporary folder.`;

const BOT_NAME = "Webhook Bot";
const HOOK_URL = /https?:\/\/[^\s<>"')\]]+\/hook\/[A-Za-z0-9_-]+/;

/** Runs the demo; resolves with the exit code. */
export async function runDemo(args: readonly string[]): Promise<number> {
  const unknown = args.filter((a) => a !== "--smoke" && a !== "--help" && a !== "-h");
  if (args.includes("--help") || args.includes("-h")) {
    console.log(HELP);
    return 0;
  }
  if (unknown.length) {
    console.error(`Unknown argument ${unknown.join(" ")}.\n\n${HELP}`);
    return 2;
  }
  const smoke = args.includes("--smoke");
  const preferredPort = parsePort(Deno.env.get("DEMO_PORT"));
  if (preferredPort === null) {
    console.error("DEMO_PORT must be a whole number from 0 to 65535 (e.g. DEMO_PORT=8080).");
    return 2;
  }

  const stop = Promise.withResolvers<string>();
  const dir = await Deno.makeTempDir({ prefix: "trueconf-webhook-demo-" });
  const removeSignals = onSignals((signal, count) => {
    if (count > 1) {
      // A second Ctrl+C means "now": skip the graceful path but still leave no files behind.
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch { /* best effort on the way out */ }
      Deno.exit(130);
    }
    stop.resolve(signal);
  });

  let fake: FakeTrueConf | null = null;
  let bot: Bot | null = null;
  let server: Deno.HttpServer<Deno.NetAddr> | null = null;
  try {
    fake = await FakeTrueConf.start({
      bot: { login: "webhook_bot", password: "secret", displayName: BOT_NAME },
      users: [{ login: "alice", password: "alice", displayName: "Alice" }],
    });
    const alice = fake.userId("alice");
    const ops = fake.addChat({
      chatId: "ops",
      title: "Ops",
      chatType: 2,
      participants: [{ userId: alice, role: "owner" }, { userId: fake.botId, role: "user" }],
    });
    const dm = fake.p2pChatId(alice);
    const labels = new Map([[ops.chatId, "Ops"], [dm, "DM Alice"]]);
    const f = fake;
    const unsubscribe = fake.onSent((r: SentRecord) =>
      console.log(formatSent(r, labels.get(r.chatId) ?? f.chat(r.chatId)?.title ?? r.chatId))
    );

    // Listen first: the public URL (which the hook URL is built from) needs the real port.
    let app: Bot["app"] | null = null;
    const listening = listen(
      preferredPort,
      (req, info) => app ? app.fetch(req, info) : new Response("starting", { status: 503 }),
    );
    server = listening.server;
    const port = server.addr.port;
    const baseUrl = `http://127.0.0.1:${port}`;

    const parsed = parseConfig({
      TRUECONF_SERVER: "127.0.0.1",
      TRUECONF_HTTPS: "false",
      TRUECONF_WEB_PORT: String(fake.port),
      TRUECONF_USERNAME: "webhook_bot",
      TRUECONF_PASSWORD: "secret",
      WEBHOOK_PUBLIC_URL: baseUrl,
      WEBHOOK_HTTP_HOST: "127.0.0.1",
      WEBHOOK_HTTP_PORT: String(port),
      WEBHOOK_STORAGE_PATH: join(dir, "webhooks.kv"),
      WEBHOOK_SHUTDOWN_GRACE_SECONDS: "2",
      LOG_FORMAT: "pretty",
      LOG_LEVEL: Deno.env.get("LOG_LEVEL")?.trim() || "warn",
    });
    if (!parsed.ok) {
      console.error(formatProblems(parsed.problems));
      return 2;
    }
    const config = parsed.config;
    const logger = createLogger({ level: config.log.level, format: config.log.format });
    bot = await createBot(config, { logger });
    app = bot.app;
    bot.start();
    await bot.client.ready(10_000);
    const connectedMs = performance.now();

    console.log(`[Ops] Alice: @${BOT_NAME} /webhook_create demo`);
    fake.pushMessage({
      chatId: ops.chatId,
      authorId: alice,
      text: `${fake.mention(fake.botId, BOT_NAME)} /webhook_create demo`,
    });
    let hookUrl = "";
    await fake.waitFor(() => {
      for (const r of f.messagesIn(dm)) {
        const m = HOOK_URL.exec(r.text ?? "");
        if (m) hookUrl = m[0];
      }
      return hookUrl !== "";
    }, 10_000);
    const readyMs = performance.now();
    // Let the bot's answer in the group (if any) print before the banner, not under it.
    await fake.waitFor(() => f.messagesIn(ops.chatId).length > 0, 1_000).catch(() => {});

    printBanner({
      hookUrl,
      fellBackFrom: listening.fellBack ? preferredPort : null,
      connectedMs,
      readyMs,
      smoke,
    });

    if (smoke) {
      const steps = await runSmoke({ hookUrl, fake, chatId: ops.chatId });
      for (const s of steps) {
        console.log(
          `${s.ok ? "OK  " : "FAIL"}  smoke ${s.name.padEnd(8)} ${s.detail} (${s.ms} ms)`,
        );
      }
      const ok = steps.every((s) => s.ok);
      console.log(ok ? "SMOKE PASS" : "SMOKE FAIL");
      unsubscribe();
      return ok ? 0 : 1;
    }
    const signal = await stop.promise;
    console.log(`\n${signal}: stopping…`);
    unsubscribe();
    return 0;
  } catch (e) {
    console.error(`demo failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    return 1;
  } finally {
    await bot?.close(2_000);
    await server?.shutdown();
    await fake?.close();
    removeSignals();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

function parsePort(raw: string | undefined): number | null {
  const v = raw?.trim();
  if (!v) return 8080;
  const n = Number(v);
  return /^\d+$/.test(v) && n <= 65535 ? n : null;
}

/** Listens on 127.0.0.1:`preferred`, or on any free port when that one is taken. */
function listen(
  preferred: number,
  handler: Deno.ServeHandler<Deno.NetAddr>,
): { server: Deno.HttpServer<Deno.NetAddr>; fellBack: boolean } {
  const base = { hostname: "127.0.0.1", onListen: () => {} };
  try {
    return { server: Deno.serve({ ...base, port: preferred }, handler), fellBack: false };
  } catch (e) {
    if (!(e instanceof Deno.errors.AddrInUse) || preferred === 0) throw e;
  }
  return { server: Deno.serve({ ...base, port: 0 }, handler), fellBack: true };
}

/** Calls `fn` on SIGINT/SIGTERM with a running count; returns the remover. */
function onSignals(fn: (signal: string, count: number) => void): () => void {
  let count = 0;
  const added: [Deno.Signal, () => void][] = [];
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    const listener = () => fn(signal, ++count);
    try {
      Deno.addSignalListener(signal, listener);
      added.push([signal, listener]);
    } catch {
      // Windows has no SIGTERM listener; Ctrl+C (SIGINT) still works there.
    }
  }
  return () => {
    for (const [s, l] of added) Deno.removeSignalListener(s, l);
  };
}

function printBanner(b: {
  hookUrl: string;
  fellBackFrom: number | null;
  connectedMs: number;
  readyMs: number;
  smoke: boolean;
}): void {
  const rule = "─".repeat(72);
  const out = [
    rule,
    ` Webhook "demo" is live in the simulated group chat "Ops" (the URL went to Alice by DM):`,
    "",
    `   ${b.hookUrl}`,
    "",
  ];
  if (b.fellBackFrom !== null) {
    out.push(
      ` Port ${b.fellBackFrom} was busy, so the demo listens on a free one (set DEMO_PORT to choose).`,
      "",
    );
  }
  if (!b.smoke) {
    out.push(" Paste any of these into another terminal:", "");
    for (const e of curlExamples(b.hookUrl)) out.push(`   # ${e.title}`, `   ${e.command}`, "");
    out.push(" Everything the simulated chat receives is echoed below. Ctrl+C stops the demo.");
  }
  out.push(
    ` (TrueConf login after ${Math.round(b.connectedMs)} ms, hook ready after ${
      Math.round(b.readyMs)
    } ms from start)`,
    rule,
  );
  console.log(out.join("\n"));
}

if (import.meta.main) {
  Deno.exit(await runDemo(Deno.args));
}
