// The chat side (commands, outgoing webhooks) and the preview maker load on first use
// (src/chat_side.ts): what reaches a freshly started bot while they load is handled as by a
// bot that had them all along. Nothing is lost: every message of a burst gets its answer.
import assert from "node:assert/strict";
import { HOOK_URL, startBotWithFake } from "../support/bot_with_fake.ts";

Deno.test("a burst of chat commands right after start is answered while the commands load", async () => {
  const dir = await Deno.makeTempDir({ prefix: "first-use-" });
  const w = await startBotWithFake({ dir });
  try {
    const alice = w.fake.userId("alice");
    w.addGroup({ chatId: "ops", title: "Ops", owner: alice });
    // Three messages in one go, before anything has used the chat side. The bot handles chat
    // messages concurrently (as it always has), so only their answers are checked, not
    // their order.
    for (const text of ["/webhook_create alpha", "/webhook_create beta", "/webhook_list"]) {
      w.fake.pushMessage({ chatId: "ops", authorId: alice, text: `${w.mention} ${text}` });
    }
    const answers = () => w.fake.messagesIn("ops").map((p) => p.text ?? "");
    await w.fake.waitFor(() => answers().length === 3, 10_000);
    assert.ok(answers().some((t) => /Webhook <b>alpha<\/b> created/.test(t)), answers().join("|"));
    assert.ok(answers().some((t) => /Webhook <b>beta<\/b> created/.test(t)), answers().join("|"));
    const dm = w.fake.p2pChatId(alice);
    await w.fake.waitFor(() => w.fake.messagesIn(dm).length === 2, 10_000);
    const urls = w.fake.messagesIn(dm).flatMap((p) => HOOK_URL.exec(p.text ?? "") ?? []);
    assert.equal(urls.length, 2, "one hook URL per creation, by DM");
    const hooks = await w.bot.store.listByChat("ops");
    assert.deepEqual(hooks.map((h) => h.name).sort(), ["alpha", "beta"]);
  } finally {
    await w.close();
    await Deno.remove(dir, { recursive: true });
  }
});
