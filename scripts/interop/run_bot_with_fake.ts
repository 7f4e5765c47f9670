/**
 * The real bot (same {@link createBot} wiring as `serve`) against the in-process fake TrueConf
 * server, for pointing real senders (Apprise, Alertmanager, curl) at it. Creates a hook the way
 * a chat owner would (`@Webhook Bot /webhook_create interop` in the group chat "Ops"), prints
 * `HOOK_URL=<url>` (and writes it to `--url-file`), then echoes every message and file any
 * simulated chat receives, with a timestamp, until Ctrl+C.
 *
 *   ./deno run -A scripts/interop/run_bot_with_fake.ts [--port 18080] [--url-file /tmp/interop/hook_url]
 *
 * `kill -USR1 <pid>` toggles a TrueConf outage (the fake drops the bot's socket and refuses
 * new connections), to see what a sender gets while deliveries are queued.
 *
 * Environment: LOG_LEVEL (default info; logs go to stderr as JSON lines).
 *
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { FakeTrueConf, type SentRecord } from "../../tests/support/fake_trueconf.ts";
import { type Bot, createBot } from "../../src/bot.ts";
import { formatProblems, parseConfig } from "../../src/config.ts";
import { createLogger } from "../../src/log.ts";
import { formatSent } from "../../demo/chat_echo.ts";

const BOT_NAME = "Webhook Bot";
const HOOK_URL = /https?:\/\/[^\s<>"')\]]+\/hook\/[A-Za-z0-9_-]+/;

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      port: { type: "string", default: "18080" },
      "url-file": { type: "string" },
    },
  });
  const dir = await Deno.makeTempDir({ prefix: "trueconf-webhook-interop-" });
  const stop = Promise.withResolvers<string>();
  for (const s of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(s, () => stop.resolve(s));

  let fake: FakeTrueConf | null = null;
  let bot: Bot | null = null;
  let server: Deno.HttpServer<Deno.NetAddr> | null = null;
  try {
    fake = await FakeTrueConf.start({
      bot: { login: "webhook_bot", password: "secret", displayName: BOT_NAME },
      users: [{ login: "alice", password: "alice", displayName: "Alice" }],
    });
    const f = fake;
    const alice = fake.userId("alice");
    const ops = fake.addChat({
      chatId: "ops",
      title: "Ops",
      chatType: 2,
      participants: [{ userId: alice, role: "owner" }, { userId: fake.botId, role: "user" }],
    });
    const dm = fake.p2pChatId(alice);
    const labels = new Map([[ops.chatId, "Ops"], [dm, "DM Alice"]]);
    fake.onSent((r: SentRecord) => {
      const label = labels.get(r.chatId) ?? f.chat(r.chatId)?.title ?? r.chatId;
      const time = new Date().toISOString().slice(11, 23);
      console.log(`${time} ${formatSent(r, label, { maxLines: 60 })}`);
    });

    let app: Bot["app"] | null = null;
    server = Deno.serve(
      { hostname: "127.0.0.1", port: Number(values.port), onListen: () => {} },
      (req, info) => app ? app.fetch(req, info) : new Response("starting", { status: 503 }),
    );
    const baseUrl = `http://127.0.0.1:${server.addr.port}`;
    const parsed = parseConfig({
      TRUECONF_SERVER: "127.0.0.1",
      TRUECONF_HTTPS: "false",
      TRUECONF_WEB_PORT: String(fake.port),
      TRUECONF_USERNAME: "webhook_bot",
      TRUECONF_PASSWORD: "secret",
      WEBHOOK_PUBLIC_URL: baseUrl,
      WEBHOOK_HTTP_HOST: "127.0.0.1",
      WEBHOOK_HTTP_PORT: String(server.addr.port),
      WEBHOOK_STORAGE_PATH: join(dir, "webhooks.kv"),
      WEBHOOK_SHUTDOWN_GRACE_SECONDS: "2",
      LOG_LEVEL: Deno.env.get("LOG_LEVEL")?.trim() || "info",
    });
    if (!parsed.ok) {
      console.error(formatProblems(parsed.problems));
      return 2;
    }
    const config = parsed.config;
    bot = await createBot(config, {
      logger: createLogger({ level: config.log.level, format: config.log.format }),
    });
    app = bot.app;
    bot.start();
    await bot.client.ready(10_000);

    fake.pushMessage({
      chatId: ops.chatId,
      authorId: alice,
      text: `${fake.mention(fake.botId, BOT_NAME)} /webhook_create interop`,
      parseMode: "html",
    });
    let hookUrl = "";
    await fake.waitFor(() => {
      for (const r of f.messagesIn(dm)) hookUrl = HOOK_URL.exec(r.text ?? "")?.[0] ?? hookUrl;
      return hookUrl !== "";
    }, 10_000);
    console.log(`HOOK_URL=${hookUrl}`);
    if (values["url-file"]) await Deno.writeTextFile(values["url-file"], hookUrl + "\n");

    let outage = false;
    Deno.addSignalListener("SIGUSR1", () => {
      outage = !outage;
      console.log(`--- TrueConf outage ${outage ? "ON" : "OFF"}`);
      void f.refuseConnections(outage);
    });

    console.log(`--- ${await stop.promise}: stopping`);
    return 0;
  } catch (e) {
    console.error(`failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    return 1;
  } finally {
    await bot?.close(2_000);
    await server?.shutdown();
    await fake?.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) Deno.exit(await main());
