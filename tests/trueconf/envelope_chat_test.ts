// Python SDK 1.5 reads a message's chat from `chat: {chatId, chatTitle, chatType}` and no
// longer from a top-level `chatId` (trueconf/types/message.py, commit 01c95e7: `chat: Chat`,
// `Message.chat_id` deprecated). A server that sends only the object must still reach the bot.
import assert from "node:assert/strict";
import { livingWorld } from "../messages/_world.ts";

Deno.test("envelopes that name their chat only in `chat` (SDK 1.5 shape): commands work, getMessageById finds a hook's post after a restart", async () => {
  // The setup creates two hooks by slash command: each is a pushed envelope the bot must read.
  const t = await livingWorld({ fake: { serverVersion: "5.5.6.10902", envelopeChat: "chat" } });
  try {
    await t.say("/webhook_list", /alerts/);
    const [id] = (await t.post(t.hookA, { text: "v1" })).json.messages;
    // A new process knows the post only through TrueConf: getMessageById answers an envelope.
    await t.restart();
    const res = await t.patch(t.hookA, id, { text: "v2" });
    assert.equal(res.status, 200, res.text);
    assert.equal(t.shown().find((m) => m.messageId === id)?.text, "v2");
    assert.deepEqual(t.w.fake.protocolErrors, []);
  } finally {
    await t.close();
  }
});
