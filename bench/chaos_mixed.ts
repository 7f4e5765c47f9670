/**
 * Chaos with both directions at once (issues 10, 12 and 18): the real `serve` process
 * (`tests/support/serve_process.ts`) against the fake TrueConf, which pushes the bot's own posts
 * back to it (the echoes the socket acks unparsed, src/trueconf/_own_echo.ts). Load, all at
 * once: four senders posting JSON texts to an incoming hook with an `Idempotency-Key` (retried
 * with it until answered 200/202), two senders uploading a small document each with a caption,
 * and chat messages pushed to the bot every 4 ms (an all-events outgoing hook calls out for
 * each; every third is a `/ask` trigger whose service answers a text the bot posts as a reply).
 * Receivers verify every signature with the npm `standardwebhooks` package.
 *
 * Modes: `kill` SIGKILLs the bot every `runMs` and restarts it on the same store; `drop` has
 * TrueConf drop every socket, refuse connections for 0.5 s and re-push what was not acked.
 *
 * Then, once the load stops and everything arrived (at most 60 s), one line per direction: texts
 * and files accepted, lost, posted twice, out of order; events pushed, called, missing, called
 * more than once (at least once is the contract: same `webhook-id`), called for the bot's own
 * posts; trigger answers missing and posted twice.
 *
 * Run: `./deno run -A bench/chaos_mixed.ts [cycles=4] [runMs=2000] [kill|drop] [echo|noecho]`
 * Results: docs/outgoing.md ("Timeouts, retries, order, durability").
 *
 * @module
 */
import { join } from "node:path";
import { FakeTrueConf } from "../tests/support/fake_trueconf.ts";
import { hooksBeforeStart, spawnServe } from "../tests/support/serve_process.ts";
import { addGroup, TEST_BOT } from "../tests/support/bot_with_fake.ts";
import { HookStore } from "../src/hooks/mod.ts";
import { openKv, SecretBox } from "../src/storage/mod.ts";
import { generateSecret } from "../src/outgoing/mod.ts";
import { startReceiver } from "../tests/outgoing/_receiver.ts";

const CYCLES = Number(Deno.args[0] ?? 4);
const RUN_MS = Number(Deno.args[1] ?? 2000);
const MODE = Deno.args[2] ?? "kill";
const dir = await Deno.makeTempDir({ prefix: "chaos_mixed_" });
const fake = await FakeTrueConf.start({
  bot: TEST_BOT,
  echoOwnMessages: Deno.args[3] !== "noecho",
  users: [{ login: "alice", password: "a", displayName: "Alice" }],
});
const alice = fake.userId("alice");
addGroup(fake, { chatId: "ops", title: "Ops", owner: alice });
const [inHook] = await hooksBeforeStart(dir, "ops", alice, "in");
const evSecret = generateSecret();
const askSecret = generateSecret();
const ev = startReceiver(() => evSecret);
const ask = startReceiver(
  () => askSecret,
  (body) => Response.json({ text: `answer to ${body.message?.id}` }),
);
{
  const storage = join(dir, "webhooks.kv");
  const kv = await openKv(storage);
  const store = new HookStore(kv, { secrets: await SecretBox.forStorage(storage) });
  for (
    const [name, url, secret, triggers] of [
      ["events", ev.url, evSecret, [] as string[]],
      ["asker", ask.url, askSecret, ["/ask"]],
    ] as const
  ) {
    const made = await store.create({
      chatId: "ops",
      name,
      createdBy: alice,
      kind: "outgoing",
      outgoing: { url, secret: await store.sealSecret(secret), triggers: [...triggers] },
    });
    if (!made.ok) throw new Error(made.message);
  }
  await store.close();
  kv.close();
}

let port = 0;
let stop = false;
const accepted: string[] = [];
let retries = 0;
const statuses = new Map<string, number>();
async function sender(w: number) {
  for (let i = 0; !stop; i++) {
    const text = `in-${w}-${i}`;
    for (;;) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/hook/${inHook!.token}`, {
          method: "POST",
          headers: { "content-type": "application/json", "idempotency-key": text },
          body: JSON.stringify({ text }),
        });
        const body = res.status >= 300 ? await res.text() : (await res.body?.cancel(), "");
        if (body && statuses.size < 5) console.log("refused:", res.status, body.slice(0, 300));
        if (res.status === 200 || res.status === 202) {
          accepted.push(text);
          break;
        }
        const k = String(res.status) + " " + (res.headers.get("retry-after") ?? "");
        statuses.set(k, (statuses.get(k) ?? 0) + 1);
      } catch (e) {
        const k = `error ${String(e).slice(0, 120)}`;
        statuses.set(k, (statuses.get(k) ?? 0) + 1);
      }
      retries++;
      await new Promise((r) => setTimeout(r, 50));
      if (stop) break;
    }
  }
}
const filesAccepted: string[] = [];
async function fileSender(w: number) {
  for (let i = 0; !stop; i++) {
    const name = `f-${w}-${i}.txt`;
    for (;;) {
      try {
        const fd = new FormData();
        fd.append("text", `file ${name}`);
        fd.append("file", new File([`content of ${name}\n`.repeat(2000)], name));
        const res = await fetch(`http://127.0.0.1:${port}/hook/${inHook!.token}`, {
          method: "POST",
          headers: { "idempotency-key": name },
          body: fd,
        });
        await res.body?.cancel();
        if (res.status === 200 || res.status === 202) {
          filesAccepted.push(name);
          break;
        }
      } catch { /* killed */ }
      await new Promise((r) => setTimeout(r, 50));
      if (stop) break;
    }
  }
}
const pushed: string[] = [];
const asks: string[] = [];
async function pusher() {
  for (let i = 0; !stop; i++) {
    const text = i % 3 === 0 ? `/ask q${i}` : `chat ${i}`;
    const m = fake.pushMessage({ chatId: "ops", authorId: alice, text });
    pushed.push(m.messageId);
    if (i % 3 === 0) asks.push(m.messageId);
    await new Promise((r) => setTimeout(r, 4));
  }
}

const env = {
  WEBHOOK_URL_ALLOWLIST: "127.0.0.1",
  WEBHOOK_RATE_LIMIT_PER_MINUTE: "0",
  WEBHOOK_RATE_LIMIT_PER_IP_PER_MINUTE: "0",
};
if (MODE === "drop") fake.repushUnacked(1000);
let bot = spawnServe({ dir, fake, env });
port = (await bot.listening()).port;
await bot.ready();
const load = [sender(0), sender(1), sender(2), sender(3), pusher(), fileSender(0), fileSender(1)];
const t0 = performance.now();
for (let c = 0; c < CYCLES; c++) {
  await new Promise((r) => setTimeout(r, RUN_MS));
  const killedAt = performance.now();
  if (MODE === "drop") {
    fake.dropAll();
    await fake.refuseConnections(true);
    await new Promise((r) => setTimeout(r, 500));
    await fake.refuseConnections(false);
    await new Promise((r) => setTimeout(r, 1500)); // reconnect backoff starts at 1 s
  } else {
    bot.kill("SIGKILL");
    await bot.status;
    bot = spawnServe({ dir, fake, env });
    port = (await bot.listening()).port;
    await bot.ready();
  }
  console.log(
    `cycle ${c + 1}: killed at ${((killedAt - t0) / 1000).toFixed(1)} s, serving again after ${
      ((performance.now() - killedAt) / 1000).toFixed(2)
    } s`,
  );
}
await new Promise((r) => setTimeout(r, RUN_MS));
stop = true;
await Promise.all(load);
const loadStopped = performance.now();

const chatTexts = () => fake.messagesIn("ops").map((m) => m.text ?? "");
const deadline = performance.now() + 60_000;
for (;;) {
  const seen = new Set(chatTexts());
  const evIds = new Set(ev.calls.map((c) => c.body.message?.id));
  const askIds = new Set(ask.calls.map((c) => c.body.message?.id));
  const answers = chatTexts().filter((t) => t.startsWith("answer to ")).length;
  const names = new Set(fake.messagesIn("ops").map((m) => m.file?.name));
  const done = accepted.every((t) => seen.has(t)) && filesAccepted.every((n) => names.has(n)) &&
    pushed.every((id) => evIds.has(id)) &&
    asks.every((id) => askIds.has(id)) && answers >= asks.length;
  if (done || performance.now() > deadline) break;
  await new Promise((r) => setTimeout(r, 100));
}
// a window to catch late duplicates
await new Promise((r) => setTimeout(r, 1500));
const texts = chatTexts();
{
  const fileCount = new Map<string, number>();
  const capCount = new Map<string, number>();
  for (const m of fake.messagesIn("ops")) {
    if (m.file) fileCount.set(m.file.name, (fileCount.get(m.file.name) ?? 0) + 1);
    const cap = m.caption?.text ?? (m.text?.startsWith("file ") ? m.text : undefined);
    if (cap) capCount.set(cap, (capCount.get(cap) ?? 0) + 1);
  }
  console.log(JSON.stringify({
    files: {
      accepted: filesAccepted.length,
      missing: filesAccepted.filter((n) => !fileCount.has(n)).length,
      twice: [...fileCount.values()].filter((n) => n > 1).length,
      captionsMissing: filesAccepted.filter((n) => !capCount.has(`file ${n}`)).length,
      captionsTwice: [...capCount.values()].filter((n) => n > 1).length,
    },
  }));
}
const count = new Map<string, number>();
for (const t of texts) count.set(t, (count.get(t) ?? 0) + 1);
const lost = accepted.filter((t) => !count.has(t));
const twice = accepted.filter((t) => (count.get(t) ?? 0) > 1);
const evById = new Map<string, number>();
for (const c of ev.calls) evById.set(c.body.message!.id, (evById.get(c.body.message!.id) ?? 0) + 1);
const evMissing = pushed.filter((id) => !evById.has(id));
const evDup = [...evById.values()].filter((n) => n > 1).length;
// webhook-id stable per (hook,event)
const hidByMsg = new Map<string, Set<string>>();
for (const c of ev.calls) {
  const s = hidByMsg.get(c.body.message!.id) ?? new Set();
  s.add(c.headers.get("webhook-id")!);
  hidByMsg.set(c.body.message!.id, s);
}
const unstableIds = [...hidByMsg.values()].filter((s) => s.size > 1).length;
const evFromBot =
  ev.calls.filter((c) => JSON.stringify(c.body.message ?? {}).includes("webhook_bot"))
    .length;
// order per hook: first appearance order vs push order
const firstSeen: string[] = [];
const seenSet = new Set<string>();
for (const c of ev.calls) {
  const id = c.body.message!.id;
  if (!seenSet.has(id)) {
    seenSet.add(id);
    firstSeen.push(id);
  }
}
const pos = new Map(pushed.map((id, i) => [id, i]));
let outOfOrder = 0;
for (let i = 1; i < firstSeen.length; i++) {
  if ((pos.get(firstSeen[i]!) ?? 0) < (pos.get(firstSeen[i - 1]!) ?? 0)) outOfOrder++;
}
const askById = new Map<string, number>();
for (const c of ask.calls) {
  askById.set(c.body.message!.id, (askById.get(c.body.message!.id) ?? 0) + 1);
}
const answerCount = new Map<string, number>();
for (const m of fake.messagesIn("ops")) {
  if (m.text?.startsWith("answer to ")) {
    answerCount.set(m.text, (answerCount.get(m.text) ?? 0) + 1);
    if (m.replyMessageId !== m.text.slice("answer to ".length)) {
      console.log("answer not a reply to its trigger:", m.text, m.replyMessageId);
    }
  }
}
const answersMissing = asks.filter((id) => !answerCount.has(`answer to ${id}`));
const answersTwice = [...answerCount.values()].filter((n) => n > 1).length;
let ooo = 0;
const perWorker = new Map<string, number>();
for (const t of texts) {
  if (!t.startsWith("in-")) continue;
  const [, w, i] = t.split("-");
  const prev = perWorker.get(w!) ?? -1;
  if (Number(i) < prev) ooo++;
  perWorker.set(w!, Math.max(prev, Number(i)));
}
console.log(JSON.stringify({
  cycles: CYCLES,
  drainedAfterS: ((performance.now() - loadStopped) / 1000 - 1.5).toFixed(1),
  incoming: {
    accepted: accepted.length,
    lost: lost.length,
    twice: twice.length,
    outOfOrder: ooo,
    senderRetries: retries,
    refusals: Object.fromEntries(statuses),
  },
  events: {
    pushed: pushed.length,
    calls: ev.calls.length,
    missing: evMissing.length,
    calledMoreThanOnce: evDup,
    unstableWebhookIds: unstableIds,
    rejectedSignatures: ev.rejected,
    fromBot: evFromBot,
    outOfOrder,
  },
  triggers: {
    asks: asks.length,
    calls: ask.calls.length,
    calledMoreThanOnce: [...askById.values()].filter((n) => n > 1).length,
    rejectedSignatures: ask.rejected,
    answersMissing: answersMissing.length,
    answersPostedTwice: answersTwice,
  },
  unacked: fake.unackedPushes.length,
  acks: fake.acks.size,
}));
if (lost.length || twice.length) console.log({ lost: lost.slice(0, 5), twice: twice.slice(0, 5) });
if (evMissing.length) console.log({ evMissing: evMissing.slice(0, 5) });
bot.kill("SIGTERM");
const st = await bot.status;
console.log("final SIGTERM exit", st.code);
await ev.close();
await ask.close();
await fake.close();
await Deno.remove(dir, { recursive: true });
