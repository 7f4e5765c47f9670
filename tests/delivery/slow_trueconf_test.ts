// TrueConf slow, not gone, through the whole bot: a sender's message whose `sendMessage`
// TrueConf answers only after the bot's request timeout is queued (202), and the queue's
// retry takes TrueConf's late answer instead of posting the message a second time (a chaos
// run found one duplicate per hook in flight: src/trueconf/_late_posts.ts).
import assert from "node:assert/strict";
import { startBotWithFake } from "../support/bot_with_fake.ts";
import { waitUntil } from "../support/wait.ts";

Deno.test("a message TrueConf posts after the bot's timeout is in the chat once, and its delivery ends delivered", async () => {
  const dir = await Deno.makeTempDir({ prefix: "slow-trueconf-" });
  const world = await startBotWithFake({
    dir,
    env: { WEBHOOK_RATE_LIMIT_PER_MINUTE: "0", WEBHOOK_RATE_LIMIT_PER_IP_PER_MINUTE: "0" },
    trueconf: { requestTimeoutMs: 1_000, backoff: { initialMs: 20, maxMs: 200 } },
  });
  try {
    const { fake, bot, baseUrl } = world;
    const alice = fake.userId("alice");
    const ops = world.addGroup({ chatId: "ops-chat", title: "Ops", owner: alice });
    const made = await bot.store.create({ chatId: ops.chatId, name: "alerts", createdBy: alice });
    assert.ok(made.ok);
    const posts = () => fake.messagesIn(ops.chatId).map((m) => m.text);
    const asked = () =>
      fake.requests.filter((r) =>
        r.method === "sendMessage" && (r.payload as { chatId?: string }).chatId === ops.chatId
      ).length;

    // TrueConf takes 1.5 s to carry a post out, longer than the bot's 1 s timeout and 0.5 s
    // before the post stops listening for a late answer (as long again). It was 0.5 s with a
    // 0.3 s timeout: 0.1 s, which a process kept off the CPU that long on a loaded machine
    // misses, and the retry posts again.
    fake.setMethodDelay("sendMessage", 1_500);
    const res = await fetch(`${baseUrl}/hook/${made.token}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text: "disk full on db-1" }),
    });
    const body = await res.json();
    assert.equal(res.status, 202, JSON.stringify(body));
    assert.equal(body.queued, true);
    fake.setMethodDelay("sendMessage", 0);

    const status = async () =>
      (await (await fetch(`${baseUrl}/hook/${made.token}/deliveries/${body.delivery}`)).json())
        .delivery.state;
    await waitUntil(async () => (await status()) === "delivered", 10_000, "delivered");
    // Every sendMessage TrueConf got is carried out by now or soon: a second post would show.
    await waitUntil(() => posts().length === asked(), 10_000, "every request carried out");
    assert.deepEqual(posts(), ["disk full on db-1"]);
  } finally {
    await world.close();
    await Deno.remove(dir, { recursive: true });
  }
});
