/**
 * Chaos runs of the hook endpoint's promise (issues 5 and 18): nothing lost, nothing out of
 * order, duplicates only within the documented crash window. The real `serve` process (as
 * `deno task start` runs it, `tests/support/serve_process.ts`) against the fake TrueConf, four
 * hooks in one chat, one sender per hook posting JSON texts at `--rate` per second, each text
 * with an `Idempotency-Key` and retried with it until it gets a definite answer (a connection
 * that breaks mid-request is retried, as a careful sender does). Rate limits are off (the
 * defaults would answer 429 at this rate); everything else is at its default.
 *
 * Scenarios (`--scenarios=a,b`, default all):
 * - `refused`  TrueConf refuses connections for 15 s, then answers every post 15 s late (longer
 *              than the 10 s request timeout) for 15 s, then is normal again;
 * - `swallow`  TrueConf receives every post and never answers for 30 s (socket open);
 * - `flap`     TrueConf drops every socket every 2 s, ten times;
 * - `sigterm`  ten SIGTERM restarts under load, 3 s apart (exit code and time printed);
 * - `sigkill`  five SIGKILL restarts under load, 3 s apart (the crash window: a post TrueConf
 *              made whose confirmation the killed process had not committed; the restarted bot
 *              looks for it in the chat's history, and the report counts the posts it found);
 * - `backlog`  2,000 messages queued while TrueConf refuses, SIGKILL, restart with TrueConf back.
 *
 * After each scenario the load stops, the chat is waited on until every accepted text is in
 * it, and one line reports accepted, lost, duplicated and out-of-order texts (order: per hook,
 * in the order the sender was answered).
 *
 * Run: `./deno run -A bench/chaos.ts [--scenarios=refused,sigkill] [--rate=50]`
 * Results: docs/delivery.md ("The crash window").
 *
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { FakeTrueConf } from "../tests/support/fake_trueconf.ts";
import { type ServeProcess, spawnServe } from "../tests/support/serve_process.ts";
import { TEST_BOT } from "../tests/support/bot_with_fake.ts";
import { HookStore } from "../src/hooks/mod.ts";
import { openKv } from "../src/storage/mod.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    scenarios: { type: "string", default: "refused,swallow,flap,sigterm,sigkill,backlog" },
    rate: { type: "string", default: "50" },
  },
});
const SCENARIOS = new Set(args.scenarios.split(","));
const RATE = Number(args.rate);
const CHAT = "ops";
const HOOKS = 4;
const log = (...a: unknown[]) => console.log(new Date().toISOString().slice(11, 23), ...a);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const dir = await Deno.makeTempDir({ prefix: "chaos_" });
const fake = await FakeTrueConf.start({
  bot: TEST_BOT,
  users: [{ login: "alice", password: "a" }],
});
fake.addChat({ chatId: CHAT, title: "Ops", chatType: 2, participants: [] });
const tokens: string[] = [];
{
  const kv = await openKv(join(dir, "webhooks.kv"));
  const store = new HookStore(kv);
  for (let h = 0; h < HOOKS; h++) {
    const made = await store.create({
      chatId: CHAT,
      name: `h${h}`,
      createdBy: fake.userId("alice"),
    });
    if (!made.ok) throw new Error(made.message);
    tokens.push(made.token);
  }
  await store.close();
  kv.close();
}
// One port for every life of the bot, so the senders follow it across restarts.
const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const PORT = (probe.addr as Deno.NetAddr).port;
probe.close();

let bot: ServeProcess | null = null;
/**
 * Posts the bots found in the chat's history after an unclean stop instead of posting them
 * again (src/delivery/reconcile.ts), summed over the lives of the bot in a scenario.
 */
let foundInHistory = 0;
const countFound = (b: ServeProcess) =>
  b.lines.filter((l) => l.msg.startsWith("post found in the chat's history")).length;
async function start(): Promise<ServeProcess> {
  bot = spawnServe({
    dir,
    fake,
    env: {
      WEBHOOK_HTTP_PORT: String(PORT),
      WEBHOOK_RATE_LIMIT_PER_MINUTE: "0",
      WEBHOOK_RATE_LIMIT_PER_IP_PER_MINUTE: "0",
    },
  });
  await bot.listening();
  return bot;
}
async function stopBot(signal: Deno.Signal): Promise<number> {
  const b = bot!;
  b.kill(signal);
  const code = (await b.status).code;
  foundInHistory += countFound(b);
  return code;
}

/** Per scenario: what the senders were told, per hook in answer order. */
let accepted: string[][] = [];
let retried = 0;
let stopLoad = false;

/** One sender: each text until a definite answer (2xx, or a 4xx other than 429), same key. */
async function sender(h: number, prefix: string): Promise<void> {
  for (let i = 0; !stopLoad; i++) {
    const text = `${prefix}-h${h}-${i}`;
    for (;;) {
      try {
        const res = await fetch(`http://127.0.0.1:${PORT}/hook/${tokens[h]}`, {
          method: "POST",
          headers: { "content-type": "application/json", "idempotency-key": text },
          body: JSON.stringify({ text }),
          signal: AbortSignal.timeout(30_000),
        });
        await res.body?.cancel();
        if (res.ok) {
          accepted[h]!.push(text);
          break;
        }
        if (res.status !== 503 && res.status !== 429) {
          log(`unexpected ${res.status} for ${text}`);
          break;
        }
      } catch {
        // Refused while the bot restarts, or cut mid-request: the same key again.
      }
      retried++;
      await sleep(50);
    }
    await sleep(1000 / RATE);
  }
}

function load(prefix: string): () => Promise<void> {
  accepted = Array.from({ length: HOOKS }, () => []);
  retried = 0;
  foundInHistory = 0;
  stopLoad = false;
  const senders = tokens.map((_, h) => sender(h, prefix));
  return async () => {
    stopLoad = true;
    await Promise.all(senders);
  };
}

/** Waits until every accepted text of `prefix` is in the chat, then reports. */
async function report(name: string, prefix: string): Promise<void> {
  const t0 = performance.now();
  const inChat = () =>
    fake.messagesIn(CHAT).map((m) => m.text ?? "").filter((t) => t.startsWith(`${prefix}-`));
  const all = accepted.flat();
  while (performance.now() - t0 < 120_000) {
    const seen = new Set(inChat());
    if (all.every((t) => seen.has(t))) break;
    await sleep(100);
  }
  const drainedMs = performance.now() - t0;
  // Anything still on its way (a duplicate) would be in the chat within this pause.
  await sleep(2_000);
  const got = inChat();
  const times = new Map<string, number>();
  for (const t of got) times.set(t, (times.get(t) ?? 0) + 1);
  const lost = all.filter((t) => !times.has(t)).length;
  const twice = [...times.values()].filter((n) => n > 1).length;
  let outOfOrder = 0;
  for (let h = 0; h < HOOKS; h++) {
    const at = new Map<string, number>();
    got.forEach((t, i) => at.has(t) || at.set(t, i));
    const positions = accepted[h]!.map((t) => at.get(t) ?? -1).filter((p) => p >= 0);
    for (let k = 1; k < positions.length; k++) if (positions[k]! < positions[k - 1]!) outOfOrder++;
  }
  log(
    `${name}: accepted ${all.length}, lost ${lost}, posted twice ${twice}, out of order ${outOfOrder}; ` +
      `all in the chat ${
        (drainedMs / 1000).toFixed(1)
      } s after the load stopped; senders retried ${retried}; posts found in the chat's history ` +
      `after a restart (not posted again) ${foundInHistory + (bot ? countFound(bot) : 0)}`,
  );
}

/**
 * One scenario: a fresh bot (authorised at TrueConf first), the senders' load while `during`
 * runs, then the report and a SIGTERM.
 */
async function underLoad(
  name: string,
  prefix: string,
  during: () => Promise<void>,
): Promise<void> {
  if (!SCENARIOS.has(name)) return;
  await start();
  await bot!.ready();
  const stop = load(prefix);
  await during();
  await stop();
  await report(name, prefix);
  log("exit", await stopBot("SIGTERM"));
}

try {
  await underLoad("refused", "R", async () => {
    await sleep(5_000);
    log("TrueConf refuses connections for 15 s");
    await fake.refuseConnections(true);
    await sleep(15_000);
    log("TrueConf back, answering every post 15 s late for 15 s");
    fake.setMethodDelay("sendMessage", 15_000);
    await fake.refuseConnections(false);
    await sleep(15_000);
    fake.setMethodDelay("sendMessage", 0);
    await sleep(5_000);
  });
  await underLoad("swallow", "S", async () => {
    await sleep(3_000);
    log("TrueConf swallows every post for 30 s");
    fake.setMethodDelay("sendMessage", "never");
    await sleep(30_000);
    fake.setMethodDelay("sendMessage", 0);
    await sleep(3_000);
  });
  await underLoad("flap", "F", async () => {
    for (let k = 0; k < 10; k++) {
      await sleep(2_000);
      fake.dropAll();
    }
    await sleep(3_000);
  });
  await underLoad("sigterm", "T", async () => {
    const exits: string[] = [];
    for (let k = 0; k < 10; k++) {
      await sleep(3_000);
      const t0 = performance.now();
      const code = await stopBot("SIGTERM");
      exits.push(`${code} in ${(performance.now() - t0).toFixed(0)} ms`);
      await start();
    }
    await sleep(2_000);
    log(`SIGTERM exits: ${exits.join(", ")}`);
  });
  await underLoad("sigkill", "K", async () => {
    for (let k = 0; k < 5; k++) {
      await sleep(3_000);
      await stopBot("SIGKILL");
      await start();
    }
    await sleep(2_000);
  });
  if (SCENARIOS.has("backlog")) {
    await start();
    await bot!.ready();
    await fake.refuseConnections(true);
    accepted = Array.from({ length: HOOKS }, () => []);
    retried = 0;
    foundInHistory = 0;
    await Promise.all(tokens.map(async (token, h) => {
      for (let i = 0; i < 500; i++) {
        const text = `B-h${h}-${i}`;
        const res = await fetch(`http://127.0.0.1:${PORT}/hook/${token}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ text }),
        });
        await res.body?.cancel();
        if (res.ok) accepted[h]!.push(text);
      }
    }));
    log("2,000 queued; SIGKILL; TrueConf back; restart");
    await stopBot("SIGKILL");
    await fake.refuseConnections(false);
    await start();
    await report("2,000 queued, SIGKILL", "B");
    log("exit", await stopBot("SIGTERM"));
  }
} finally {
  // Set inside start(), which the compiler does not follow here.
  const last = bot as ServeProcess | null;
  if (last) {
    try {
      last.kill("SIGKILL");
    } catch { /* gone */ }
    await last.status;
  }
  await fake.close();
  await Deno.remove(dir, { recursive: true });
}
