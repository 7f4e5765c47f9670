// TrueConf slow, not gone: a post that timed out but that TrueConf carried out later must not
// be posted again by its retry (src/trueconf/_late_posts.ts). The fake carries a delayed
// request out when its answer is due, as a slow server would.
import assert from "node:assert/strict";
import { TrueConfDisconnectedError, TrueConfTimeoutError } from "../../src/trueconf/mod.ts";
import { waitUntil, withClient } from "./_helpers.ts";
import type { FakeTrueConf } from "../support/fake_trueconf.ts";

function group(fake: FakeTrueConf): string {
  fake.addChat({
    chatId: "g",
    title: "G",
    chatType: 2,
    participants: [{ userId: fake.botId, role: "user" }],
  });
  return "g";
}

const texts = (fake: FakeTrueConf, chat: string) => fake.messagesIn(chat).map((m) => m.text);
const requests = (fake: FakeTrueConf, method: string) =>
  fake.requests.filter((r) => r.method === method).length;

// The late answers below come half a timeout after it, half a timeout before the post stops
// listening (as long again): with a 150 ms timeout and an answer at 250 ms, a loaded machine
// that ran this process 50 ms late would see the window close first, and the retry post again.
// With a 100 ms timeout and an error answered at 180 ms, a process kept off the CPU read the
// answer before its timeout fired ("TrueConfApiError: error 500", not a timeout, at load 9).
const LATE_TIMEOUT_MS = 1_000;
const LATE_ANSWER_MS = 1_500;

Deno.test("a post TrueConf answers after the timeout is taken by its retry, not posted twice", async () => {
  await withClient({}, { requestTimeoutMs: LATE_TIMEOUT_MS }, async (fake, client) => {
    const chat = group(fake);
    // Answered after the timeout: within the as-long-again the post keeps listening.
    fake.setMethodDelay("sendMessage", LATE_ANSWER_MS);
    await assert.rejects(
      client.sendMessage(chat, "disk full", "text"),
      (e: unknown) => e instanceof TrueConfTimeoutError && e.late !== undefined,
    );
    fake.setMethodDelay("sendMessage", 0);
    // TrueConf carries the first try out late.
    await waitUntil(() => fake.messagesIn(chat).length === 1);
    const retry = await client.sendMessage(chat, "disk full", "text");
    assert.equal(retry.messageId, fake.messagesIn(chat)[0]!.messageId);
    assert.deepEqual(texts(fake, chat), ["disk full"]);
    assert.equal(requests(fake, "sendMessage"), 1, "the retry sent nothing");
    // Taken once: the same text again is a new message.
    await client.sendMessage(chat, "disk full", "text");
    assert.deepEqual(texts(fake, chat), ["disk full", "disk full"]);
  });
});

Deno.test("a retry while the late answer is still due waits for it; a different post does not take it", async () => {
  await withClient({}, { requestTimeoutMs: LATE_TIMEOUT_MS }, async (fake, client) => {
    const chat = group(fake);
    fake.setMethodDelay("sendMessage", LATE_ANSWER_MS);
    await assert.rejects(client.sendMessage(chat, "deploy done", "text"), TrueConfTimeoutError);
    fake.setMethodDelay("sendMessage", 0);
    // Another text goes out at once and takes nothing.
    await client.sendMessage(chat, "other", "text");
    // The retry comes before the late answer (about half a timeout) and waits for it.
    const retry = await client.sendMessage(chat, "deploy done", "text");
    // Every request the fake got is carried out by now or soon (a second "deploy done" too).
    await waitUntil(() => fake.messagesIn(chat).length === requests(fake, "sendMessage"));
    assert.deepEqual(texts(fake, chat).sort(), ["deploy done", "other"]);
    assert.equal(
      retry.messageId,
      fake.messagesIn(chat).find((m) => m.text === "deploy done")!.messageId,
    );
  });
});

Deno.test("a post TrueConf swallowed holds its retry for one timeout more, then goes out once", async () => {
  await withClient({}, { requestTimeoutMs: 150 }, async (fake, client) => {
    const chat = group(fake);
    // Received, never carried out, the socket kept open (a server that lost the request).
    fake.setMethodDelay("sendMessage", "never");
    await assert.rejects(client.sendMessage(chat, "lost", "text"), TrueConfTimeoutError);
    fake.setMethodDelay("sendMessage", 0);
    const t0 = performance.now();
    await client.sendMessage(chat, "lost", "text");
    const held = performance.now() - t0;
    // Held about one timeout (150 ms); the upper bound only tells it from a retry held for
    // good, with seconds for a loaded machine's late timers.
    assert.ok(held >= 100 && held < 5_000, `the retry waited ${held} ms`);
    assert.deepEqual(texts(fake, chat), ["lost"]);
    assert.equal(requests(fake, "sendMessage"), 2);
  });
});

Deno.test("a socket lost before the late answer: the retry posts anew, once", async () => {
  await withClient({}, { requestTimeoutMs: 100 }, async (fake, client) => {
    const chat = group(fake);
    // Received, never carried out: the restart below drops it with its socket.
    fake.setMethodDelay("sendMessage", "never");
    await assert.rejects(
      client.sendMessage(chat, "build red", "text"),
      (e: unknown) => e instanceof TrueConfTimeoutError && e.late !== undefined,
    );
    fake.setMethodDelay("sendMessage", 0);
    fake.dropAll();
    await waitUntil(() => !client.state.authorized);
    await client.ready(3_000);
    await client.sendMessage(chat, "build red", "text");
    assert.deepEqual(texts(fake, chat), ["build red"]);
    assert.equal(requests(fake, "sendMessage"), 2);
  });
});

Deno.test("a late answer not taken within the claim window is not a later post's", async () => {
  let now = Date.now();
  await withClient(
    {},
    { requestTimeoutMs: LATE_TIMEOUT_MS, now: () => now },
    async (fake, client) => {
      const chat = group(fake);
      fake.setMethodDelay("sendMessage", LATE_ANSWER_MS);
      await assert.rejects(client.sendMessage(chat, "nightly ok", "text"), TrueConfTimeoutError);
      fake.setMethodDelay("sendMessage", 0);
      await waitUntil(() => fake.messagesIn(chat).length === 1);
      // The fake has posted it and sent the late answer; a request answered after it on the same
      // socket means the client has read that answer too. Without this, a process kept off the
      // CPU had not, and the next post (an hour later by the clock) rightly waited for the
      // still-unanswered earlier one and took it: one message, not two (full suite at load 6).
      await client.getChatByID(chat);
      // The window is max(60 s, 6 × the request timeout): the job was dropped, say, and the
      // same text an hour later is the next night's message.
      now += 3_600_000;
      await client.sendMessage(chat, "nightly ok", "text");
      assert.deepEqual(texts(fake, chat), ["nightly ok", "nightly ok"]);
    },
  );
});

Deno.test("a file post answered late is taken by its retry without a second upload", async () => {
  await withClient({}, { requestTimeoutMs: LATE_TIMEOUT_MS }, async (fake, client) => {
    const chat = group(fake);
    const file = {
      bytes: new TextEncoder().encode("a,b\n1,2\n"),
      name: "report.csv",
      mimeType: "text/csv",
      caption: { text: "weekly report", parseMode: "text" as const },
    };
    fake.setMethodDelay("sendFile", LATE_ANSWER_MS);
    await assert.rejects(client.sendFile(chat, file), TrueConfTimeoutError);
    fake.setMethodDelay("sendFile", 0);
    await waitUntil(() => fake.messagesIn(chat).length === 1);
    const retry = await client.sendFile(chat, file);
    assert.equal(retry.messageId, fake.messagesIn(chat)[0]!.messageId);
    assert.equal(fake.messagesIn(chat).length, 1);
    assert.equal(requests(fake, "uploadFile"), 1, "no second upload");
  });
});

Deno.test("a late answer that is an error is not taken: the retry posts", async () => {
  await withClient({}, { requestTimeoutMs: LATE_TIMEOUT_MS }, async (fake, client) => {
    const chat = group(fake);
    fake.setMethodDelay("sendMessage", LATE_ANSWER_MS);
    fake.setMethodError("sendMessage", 500, 1);
    let late: Promise<unknown> | undefined;
    await assert.rejects(client.sendMessage(chat, "x", "text"), (e: unknown) => {
      late = (e as TrueConfTimeoutError).late;
      return e instanceof TrueConfTimeoutError;
    });
    await assert.rejects(late!, (e: unknown) => !(e instanceof TrueConfDisconnectedError));
    fake.setMethodDelay("sendMessage", 0);
    await client.sendMessage(chat, "x", "text");
    assert.deepEqual(texts(fake, chat), ["x"]);
  });
});
