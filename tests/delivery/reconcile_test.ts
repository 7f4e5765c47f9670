// The crash window's check (src/delivery/reconcile.ts): which message in a chat's history counts
// as a post a dead process made. The real client against the fake TrueConf over loopback, the
// real message registry on KV; TrueConf's clock is the fake's, moved by hand, so the window's
// edges are exact.
import assert from "node:assert/strict";
import { TrueConfClient } from "../../src/trueconf/mod.ts";
import { Reconciler } from "../../src/delivery/reconcile.ts";
import { MessageRegistry } from "../../src/messages/registry.ts";
import { FakeTrueConf } from "../support/fake_trueconf.ts";
import { loopbackClientOptions, TEST_ALICE, TEST_BOT } from "../support/bot_with_fake.ts";

const CHAT = "ops";

async function withWorld(
  fn: (w: {
    fake: FakeTrueConf;
    client: TrueConfClient;
    registry: MessageRegistry;
    /** The registry's clock (when a post is recorded). */
    clock: { now: number };
    tick: () => number;
    reconciler: (startedAt: number, reg?: MessageRegistry) => Reconciler;
    kv: Deno.Kv;
  }) => Promise<void>,
): Promise<void> {
  let t = Date.now();
  const fake = await FakeTrueConf.start({ bot: TEST_BOT, users: [TEST_ALICE], now: () => t });
  fake.addChat({ chatId: CHAT, title: "Ops", chatType: 2, participants: [] });
  const client = new TrueConfClient(loopbackClientOptions(fake, TEST_BOT));
  const kv = await Deno.openKv(":memory:");
  // The registry's clock: set by hand where a test says when a post was recorded.
  const clock = { now: Date.now() };
  const registry = new MessageRegistry(kv, { now: () => clock.now });
  try {
    client.start();
    await client.ready(3_000);
    await fn({
      fake,
      client,
      registry,
      // TrueConf's clock moves on 10 ms: the next message is stamped later than this.
      tick: () => t += 10,
      reconciler: (startedAt, reg = registry) =>
        new Reconciler({
          client,
          recordOf: (hookId, id, ts) => reg.recordOf(hookId, id, ts),
          startedAt,
        }),
      kv,
      clock,
    });
  } finally {
    await registry.flush();
    kv.close();
    await client.close();
    await fake.close();
  }
}

Deno.test("the post taken is the bot's own, in the window, no other post's: not one the registry recorded as another hook's or before the step began, a user's, one from before the step or from after this process started", async () => {
  await withWorld(async ({ fake, client, registry, tick, reconciler, kv, clock }) => {
    const post = async (text: string) => {
      tick();
      return await client.sendMessage(CHAT, text, "text");
    };
    const remember = (sent: { messageId: string; serverTime?: number | null }, hook = "h1") =>
      registry.remember(hook, sent.messageId, { chatId: CHAT, kind: "text", ts: sent.serverTime });
    await post("disk full"); // before the step began
    const since = tick();
    tick();
    fake.pushMessage({ chatId: CHAT, authorId: fake.userId(TEST_ALICE.login), text: "disk full" });
    // Recorded before the step began (TrueConf's clock ahead of ours stamped it in the window).
    clock.now = since - 5;
    await remember(await post("disk full"));
    const lost = await post("disk full"); // the dead process's, never recorded
    // Recorded after the step began: another hook's is not this post; this hook's may be the
    // very post (its record landed, its job's not).
    clock.now = since + 5;
    await remember(await post("rolled out"), "h9");
    const recordedLate = await post("rolled out");
    await remember(recordedLate);
    const startedAt = tick();
    await post("disk full"); // this process's own
    // The records as a restarted process finds them: committed, read from KV.
    await registry.flush();
    const r = reconciler(startedAt, new MessageRegistry(kv));
    const posts = fake.sentCount(CHAT);

    const first = await r.sender({ hookId: "h1", delivery: "", since })
      .sendMessage(CHAT, "disk full", "text");
    assert.equal(first.messageId, lost.messageId);
    assert.equal(first.serverTime, lost.serverTime, "TrueConf's timestamp, as a post's answer");
    const late = await r.sender({ hookId: "h1", delivery: "", since })
      .sendMessage(CHAT, "rolled out", "text");
    assert.equal(late.messageId, recordedLate.messageId);
    assert.equal(fake.sentCount(CHAT), posts, "nothing posted");

    // Another run of the same window finds nothing left to take: it posts.
    const second = await r.sender({ hookId: "h2", delivery: "", since })
      .sendMessage(CHAT, "disk full", "text");
    assert.equal(fake.sentCount(CHAT), posts + 1);
    assert.notEqual(second.messageId, lost.messageId);
  });
});

Deno.test("a run stops looking at its first post not found: what follows is posted; text, parse mode, reply target and a file's name and size must all agree", async () => {
  await withWorld(async ({ fake, client, tick, reconciler }) => {
    const since = tick();
    tick();
    const root = await client.sendMessage(CHAT, "🔥 firing", "text");
    tick();
    const reply = await client.sendMessage(CHAT, "details", "markdown", {
      replyMessageId: root.messageId,
    });
    tick();
    const file = await client.sendFile(CHAT, {
      bytes: new TextEncoder().encode("12345"),
      name: "log.txt",
      mimeType: "text/plain",
    });
    tick();
    await client.sendMessage(CHAT, "after", "text");
    const r = reconciler(tick());

    // Parse mode and reply target are part of the post: not the same post, not taken.
    const s1 = r.sender({ hookId: "h", delivery: "", since });
    const n = fake.sentCount(CHAT);
    await s1.sendMessage(CHAT, "details", "text", { replyMessageId: root.messageId });
    assert.equal(fake.sentCount(CHAT), n + 1, "other parse mode: posted");
    // … and the run no longer looks: the text the dead process made is posted again.
    await s1.sendMessage(CHAT, "after", "text");
    assert.equal(fake.sentCount(CHAT), n + 2);

    const s2 = r.sender({ hookId: "h", delivery: "", since });
    assert.equal(
      (await s2.sendMessage(CHAT, "details", "markdown", { replyMessageId: root.messageId }))
        .messageId,
      reply.messageId,
    );
    const bytes = (s: string) => new TextEncoder().encode(s);
    assert.equal(
      (await s2.sendFile(CHAT, { bytes: bytes("12345"), name: "log.txt", mimeType: "text/plain" }))
        .messageId,
      file.messageId,
    );
    assert.equal(fake.sentCount(CHAT), n + 2, "both found");
    const s3 = r.sender({ hookId: "h", delivery: "", since });
    await s3.sendFile(CHAT, { bytes: bytes("123456"), name: "log.txt", mimeType: "text/plain" });
    assert.equal(fake.sentCount(CHAT), n + 3, "another size: posted");
  });
});

Deno.test("a history that cannot be read (TrueConf answers an error) means posting: at-least-once stays the guarantee", async () => {
  await withWorld(async ({ fake, client, tick, reconciler }) => {
    const since = tick();
    tick();
    await client.sendMessage(CHAT, "backup done", "text");
    const r = reconciler(tick());
    fake.setMethodError("getChatHistory", 300, 1);
    const n = fake.sentCount(CHAT);
    await r.sender({ hookId: "h", delivery: "", since }).sendMessage(CHAT, "backup done", "text");
    assert.equal(fake.sentCount(CHAT), n + 1);
  });
});
