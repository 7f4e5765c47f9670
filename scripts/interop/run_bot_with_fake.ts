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
import { parseArgs } from "node:util";
import type { SentRecord } from "../../tests/support/fake_trueconf.ts";
import {
  BotConfigError,
  type BotWithFake,
  startBotWithFake,
} from "../../tests/support/bot_with_fake.ts";
import { formatProblems } from "../../src/config.ts";
import { formatSent } from "../../demo/chat_echo.ts";

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

  let world: BotWithFake | null = null;
  try {
    world = await startBotWithFake({
      dir,
      port: Number(values.port),
      strictProtocol: false,
      env: {
        WEBHOOK_SHUTDOWN_GRACE_SECONDS: "2",
        LOG_LEVEL: Deno.env.get("LOG_LEVEL")?.trim() || "info",
      },
    });
    const f = world.fake;
    const alice = f.userId("alice");
    const ops = world.addGroup({ chatId: "ops", title: "Ops", owner: alice });
    const dm = f.p2pChatId(alice);
    const labels = new Map([[ops.chatId, "Ops"], [dm, "DM Alice"]]);
    f.onSent((r: SentRecord) => {
      const label = labels.get(r.chatId) ?? f.chat(r.chatId)?.title ?? r.chatId;
      const time = new Date().toISOString().slice(11, 23);
      console.log(`${time} ${formatSent(r, label, { maxLines: 60 })}`);
    });

    const { url: hookUrl } = await world.createHook(ops.chatId, "interop", alice, {
      parseMode: "html",
    });
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
    if (e instanceof BotConfigError) {
      console.error(formatProblems(e.problems));
      return 2;
    }
    console.error(`failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    return 1;
  } finally {
    await world?.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) Deno.exit(await main());
