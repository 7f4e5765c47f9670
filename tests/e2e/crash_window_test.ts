// The crash window across real process deaths (docs/delivery.md, "The crash window"): `serve` as
// a subprocess against the fake TrueConf, SIGKILLed after TrueConf carried a post out but before
// the bot heard back (the fake's muteAnswers: the chat shows it, the answer never comes), then
// restarted on the same KV file. What the chat shows is asserted; no sleeps: the kill comes once
// the chat holds the post, the checks once the restarted bot answered or drained.
import assert from "node:assert/strict";
import { FakeTrueConf } from "../support/fake_trueconf.ts";
import { hooksBeforeStart, type ServeProcess, spawnServe } from "../support/serve_process.ts";
import { TEST_BOT } from "../support/bot_with_fake.ts";
import { waitUntil } from "../support/wait.ts";

const CHAT = "ops";

async function setup(serverVersion?: string) {
  const dir = await Deno.makeTempDir({ prefix: "crash_window_" });
  const fake = await FakeTrueConf.start({
    bot: TEST_BOT,
    users: [{ login: "alice", password: "a" }],
    ...(serverVersion ? { serverVersion } : {}),
  });
  fake.addChat({ chatId: CHAT, title: "Ops", chatType: 2, participants: [] });
  const [a, b] = await hooksBeforeStart(dir, CHAT, fake.userId("alice"), "a", "b");
  const bots: ServeProcess[] = [];
  const start = async (env: Record<string, string> = {}) => {
    const bot = spawnServe({ dir, fake, env: { WEBHOOK_RATE_LIMIT_PER_MINUTE: "0", ...env } });
    bots.push(bot);
    const { port } = await bot.listening();
    return { bot, port };
  };
  const cleanup = async () => {
    for (const b of bots) {
      try {
        b.kill("SIGKILL");
      } catch { /* exited */ }
      await b.status;
    }
    await fake.close();
    await Deno.remove(dir, { recursive: true });
  };
  return { dir, fake, tokens: [a!.token, b!.token] as const, start, cleanup };
}

/** POSTs a JSON text; `key` as the Idempotency-Key. The request may never be answered. */
function post(port: number, token: string, text: string, key?: string) {
  return fetch(`http://127.0.0.1:${port}/hook/${token}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(key ? { "idempotency-key": key } : {}),
    },
    body: JSON.stringify({ text }),
  }).then(async (res) => ({ status: res.status, body: await res.json() }));
}

const texts = (fake: FakeTrueConf) => fake.messagesIn(CHAT).map((m) => m.text ?? "");
const count = (fake: FakeTrueConf, text: string) => texts(fake).filter((t) => t === text).length;

async function kill(bot: ServeProcess) {
  bot.kill("SIGKILL");
  await bot.status;
}

/** A delivery's status (`GET /hook/<token>/deliveries/<id>`). */
async function status(port: number, token: string, id: string) {
  const res = await fetch(`http://127.0.0.1:${port}/hook/${token}/deliveries/${id}`);
  return (await res.json()).delivery;
}

/**
 * A request with an Idempotency-Key that TrueConf carries out while its answer never reaches
 * the bot, which is SIGKILLed once the chat shows the post: the crash window.
 */
async function postThenDie(
  t: Awaited<ReturnType<typeof setup>>,
  bot: ServeProcess,
  port: number,
  text: string,
  key: string,
) {
  t.fake.muteAnswers("sendMessage", true);
  const before = count(t.fake, text);
  const lost = post(port, t.tokens[0], text, key).catch(() => null);
  await waitUntil(() => count(t.fake, text) === before + 1, 10_000, "TrueConf posted it");
  await kill(bot);
  assert.equal(await lost, null, "the sender got no answer");
  t.fake.muteAnswers("sendMessage", false);
}

Deno.test("SIGKILL after TrueConf posted a request's text but before the bot heard back: the retry with its Idempotency-Key is answered with that message, not posted again", async () => {
  const t = await setup();
  try {
    let { bot, port } = await t.start();
    await bot.ready();
    // An identical text posted and recorded earlier, which the retry must not take for its own.
    const earlier = await post(port, t.tokens[0], "deploy 42 done", "k0");
    assert.equal(earlier.status, 200);

    await postThenDie(t, bot, port, "deploy 42 done", "k1");

    ({ bot, port } = await t.start());
    await bot.ready();
    const retry = await post(port, t.tokens[0], "deploy 42 done", "k1");
    assert.equal(retry.status, 200, JSON.stringify(retry.body));
    const inChat = t.fake.messagesIn(CHAT).filter((m) => m.text === "deploy 42 done");
    assert.equal(inChat.length, 2, "posted once per request");
    assert.deepEqual(retry.body.messages, [inChat[1]!.messageId], "the message TrueConf made");
    assert.notEqual(retry.body.messages[0], earlier.body.messages[0]);
    // Logged before the answer, but it may reach the test after it (see ServeProcess.line).
    await bot.line(
      (l) => l.msg.startsWith("post found in the chat's history"),
      "the line: post found in the chat's history",
      10_000,
    );
    // The message is recorded as the hook's: the sender can edit it by its id.
    const patch = await fetch(
      `http://127.0.0.1:${port}/hook/${t.tokens[0]}/messages/${retry.body.messages[0]}`,
      {
        method: "PATCH",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ text: "deploy 42 done ✅" }),
      },
    );
    assert.equal(patch.status, 200, await patch.text());
    assert.equal(t.fake.message(retry.body.messages[0])?.text, "deploy 42 done ✅");

    // A request that reached TrueConf but was never carried out (TrueConf held it) is posted by
    // its retry: the identical texts before it are not taken for it.
    t.fake.setMethodDelay("sendMessage", "never");
    const sends = () => t.fake.requests.filter((r) => r.method === "sendMessage").length;
    const before = sends();
    const held = post(port, t.tokens[1], "deploy 42 done", "k2").catch(() => null);
    await waitUntil(() => sends() > before, 10_000, "TrueConf holds the post");
    await kill(bot);
    await held;
    t.fake.setMethodDelay("sendMessage", 0);
    ({ bot, port } = await t.start());
    await bot.ready();
    const again = await post(port, t.tokens[1], "deploy 42 done", "k2");
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.deepEqual(
      texts(t.fake),
      ["deploy 42 done", "deploy 42 done ✅", "deploy 42 done"],
      "posted anew",
    );
    assert.ok(!inChat.some((m) => m.messageId === again.body.messages[0]));
    bot.kill("SIGTERM");
    assert.equal((await bot.status).code, 0);
  } finally {
    await t.cleanup();
  }
});

Deno.test("SIGKILL after TrueConf posted a queued delivery's text: after the restart the chat shows it once and its status names that message; the rest of the backlog follows in order", async () => {
  const t = await setup();
  try {
    await t.fake.refuseConnections(true);
    let { bot, port } = await t.start();
    const ids: string[] = [];
    for (const text of ["q1", "q2", "q3"]) {
      const r = await post(port, t.tokens[0], text);
      assert.equal(r.status, 202, JSON.stringify(r.body));
      ids.push(r.body.delivery);
    }
    // TrueConf back: it carries out the head's post and the answer never reaches the bot.
    t.fake.muteAnswers("sendMessage", true);
    await t.fake.refuseConnections(false);
    await waitUntil(() => texts(t.fake).length === 1, 10_000, "TrueConf posted the head");
    await kill(bot);
    t.fake.muteAnswers("sendMessage", false);

    ({ bot, port } = await t.start());
    await waitUntil(() => texts(t.fake).length >= 3, 10_000, "the backlog delivered");
    const state = (id: string) => status(port, t.tokens[0], id);
    await waitUntil(async () => (await state(ids[2]!)).state === "delivered", 10_000, "q3 done");
    assert.deepEqual(texts(t.fake), ["q1", "q2", "q3"]);
    const head = await state(ids[0]!);
    assert.equal(head.state, "delivered");
    assert.deepEqual(head.messageIds, [t.fake.messagesIn(CHAT)[0]!.messageId]);
    assert.ok(bot.lines.some((l) => l.msg === "queue loaded" && l.uncleanStop === true));
    bot.kill("SIGTERM");
    assert.equal((await bot.status).code, 0);
  } finally {
    await t.cleanup();
  }
});

Deno.test("SIGKILL after TrueConf posted a request's text; its retry comes while TrueConf is still unreachable after the restart: queued (202), then recorded from the chat's history, not posted again", async () => {
  const t = await setup();
  try {
    let { bot, port } = await t.start();
    await bot.ready();
    await postThenDie(t, bot, port, "release 7 tagged", "k1");
    await t.fake.refuseConnections(true);

    ({ bot, port } = await t.start());
    const retry = await post(port, t.tokens[0], "release 7 tagged", "k1");
    assert.equal(retry.status, 202, JSON.stringify(retry.body));
    const id = retry.body.delivery as string;
    await t.fake.refuseConnections(false);
    const state = () => status(port, t.tokens[0], id);
    await waitUntil(async () => (await state()).state === "delivered", 10_000, "delivered");
    assert.deepEqual((await state()).messageIds, [t.fake.messagesIn(CHAT)[0]!.messageId]);
    assert.equal(count(t.fake, "release 7 tagged"), 1, texts(t.fake).join(" | "));
    // The same key again: the first outcome (the queued delivery), nothing posted.
    const replay = await post(port, t.tokens[0], "release 7 tagged", "k1");
    assert.equal(replay.body.delivery, id);
    bot.kill("SIGTERM");
    assert.equal((await bot.status).code, 0);
    assert.equal(count(t.fake, "release 7 tagged"), 1);
  } finally {
    await t.cleanup();
  }
});

Deno.test("SIGKILL after TrueConf posted, and the history cannot be read after the restart: the retry posts again (at-least-once stays the guarantee)", async () => {
  const t = await setup();
  try {
    let { bot, port } = await t.start();
    await bot.ready();
    await postThenDie(t, bot, port, "backup finished", "k1");
    t.fake.setMethodError("getChatHistory", 300);

    ({ bot, port } = await t.start());
    await bot.ready();
    const retry = await post(port, t.tokens[0], "backup finished", "k1");
    assert.equal(retry.status, 200, JSON.stringify(retry.body));
    assert.equal(count(t.fake, "backup finished"), 2);
    // Logged before the answer, but it may reach the test after it (see ServeProcess.line).
    await bot.line(
      (l) => l.msg.startsWith("could not read the chat's history"),
      "the line: could not read the chat's history",
      10_000,
    );
    bot.kill("SIGTERM");
    assert.equal((await bot.status).code, 0);
  } finally {
    await t.cleanup();
  }
});

Deno.test("SIGTERM while TrueConf holds the answers of posts it carried out, past the grace period: exit 0; after the restart the chat shows each once (a request's own run and a queued one)", async () => {
  const t = await setup();
  try {
    await t.fake.refuseConnections(true);
    // 4 s: the last second is kept for closing, half of it for the cut run's remainder to be
    // stored; at 1 s that half was 125 ms, which a loaded machine's commit can outlast.
    let { bot, port } = await t.start({ WEBHOOK_SHUTDOWN_GRACE_SECONDS: "4" });
    const queued = await post(port, t.tokens[1], "queued head");
    assert.equal(queued.status, 202);
    t.fake.muteAnswers("sendMessage", true);
    await t.fake.refuseConnections(false);
    await bot.ready();
    await waitUntil(() => count(t.fake, "queued head") === 1, 10_000, "the head posted");
    // A request answered within itself: TrueConf carries it out, the answer never comes.
    const inline = post(port, t.tokens[0], "inline text");
    await waitUntil(() => count(t.fake, "inline text") === 1, 10_000, "the request's post made");
    bot.kill("SIGTERM");
    assert.equal((await bot.status).code, 0, bot.text());
    const cut = await inline;
    assert.equal(cut.status, 202, "the cut run's remainder is queued");
    t.fake.muteAnswers("sendMessage", false);

    ({ bot, port } = await t.start());
    const delivered = async (token: string, id: string) =>
      (await status(port, token, id)).state === "delivered";
    await waitUntil(
      async () =>
        await delivered(t.tokens[0], cut.body.delivery) &&
        await delivered(t.tokens[1], queued.body.delivery),
      10_000,
      "both delivered",
    );
    assert.deepEqual(texts(t.fake).sort(), ["inline text", "queued head"]);
    const idOf = (text: string) => t.fake.messagesIn(CHAT).find((m) => m.text === text)!.messageId;
    assert.deepEqual((await status(port, t.tokens[0], cut.body.delivery)).messageIds, [
      idOf("inline text"),
    ]);
    assert.deepEqual((await status(port, t.tokens[1], queued.body.delivery)).messageIds, [
      idOf("queued head"),
    ]);
    bot.kill("SIGTERM");
    assert.equal((await bot.status).code, 0);
  } finally {
    await t.cleanup();
  }
});

Deno.test("SIGKILL after TrueConf 5.5.6 posted a file and its caption message: the retry is answered with the file, and DELETE of it removes the caption too", async () => {
  const t = await setup("5.5.6.10902");
  try {
    let { bot, port } = await t.start();
    await bot.ready();
    // One body, sent twice under one Idempotency-Key (the retry must be the same request).
    const form = new FormData();
    form.append("text", "Nightly build log");
    form.append("file", new Blob(["log line\n"], { type: "text/plain" }), "build.log");
    const request = new Request("http://x/", { method: "POST", body: form });
    const type = request.headers.get("content-type")!;
    const body = new Uint8Array(await request.arrayBuffer());
    const send = (port: number) =>
      fetch(`http://127.0.0.1:${port}/hook/${t.tokens[0]}`, {
        method: "POST",
        headers: { "content-type": type, "idempotency-key": "nightly-1" },
        body,
      }).then(async (res) => ({ status: res.status, body: await res.json() }));

    t.fake.muteAnswers("sendFile", true);
    const lost = send(port).catch(() => null);
    await waitUntil(
      () => t.fake.messagesIn(CHAT).length === 2,
      10_000,
      "TrueConf posted the file and its caption",
    );
    await kill(bot);
    assert.equal(await lost, null, "the sender got no answer");
    t.fake.muteAnswers("sendFile", false);
    const [file, caption] = t.fake.messagesIn(CHAT);
    assert.equal(caption!.captionOf, file!.messageId, "5.5.6: the caption is a message of its own");

    ({ bot, port } = await t.start());
    await bot.ready();
    const retry = await send(port);
    assert.equal(retry.status, 200, JSON.stringify(retry.body));
    assert.deepEqual(retry.body.messages, [file!.messageId], "the file TrueConf made");
    assert.equal(t.fake.messagesIn(CHAT).length, 2, "not posted again");

    const gone = await fetch(
      `http://127.0.0.1:${port}/hook/${t.tokens[0]}/messages/${file!.messageId}`,
      { method: "DELETE" },
    );
    assert.equal(gone.status, 200, await gone.text());
    assert.deepEqual(
      t.fake.messagesIn(CHAT).map((m) => m.text ?? m.file?.name),
      [],
      "the caption went with its file",
    );
  } finally {
    await t.cleanup();
  }
});
