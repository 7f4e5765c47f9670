// The Poster with a real client against the fake TrueConf and an in-memory KV registry.
import assert from "node:assert/strict";
import { MessageRegistry, Poster } from "../../src/messages/mod.ts";
import { ALICE, withClient } from "../trueconf/_helpers.ts";

Deno.test("replyId replies to any message (an outgoing hook's answer to its trigger), and plainly when it vanished", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    await withClient({}, {}, async (fake, client) => {
      const alice = fake.userId(ALICE.login);
      const chat = fake.p2pChatId(alice);
      const registry = new MessageRegistry(kv);
      const poster = new Poster({ client, registry });
      const trigger = fake.pushMessage({ chatId: chat, authorId: alice, text: "/deploy staging" });
      const part = (text: string) => ({
        kind: "text" as const,
        text,
        parseMode: "text" as const,
        label: "text",
        op: { hook: "h", replyId: trigger.messageId },
      });
      const id = await poster.post(chat, part("deploying…"));
      assert.equal(fake.message(id)?.replyMessageId, trigger.messageId);
      assert.equal((await registry.get("h", id))?.kind, "text");
      fake.deleteMessage(trigger.messageId);
      const id2 = await poster.post(chat, part("done"));
      assert.equal(fake.message(id2)?.text, "done");
      assert.equal(fake.message(id2)?.replyMessageId, undefined);
      await registry.flush();
    });
  } finally {
    kv.close();
  }
});

Deno.test("replyKey (a thread key): the first message starts the thread, later ones reply to it", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    await withClient({}, {}, async (fake, client) => {
      const chat = fake.p2pChatId(fake.userId(ALICE.login));
      const registry = new MessageRegistry(kv);
      const poster = new Poster({ client, registry });
      const part = (text: string, hook = "h") => ({
        kind: "text" as const,
        text,
        parseMode: "text" as const,
        label: "text",
        op: { hook, replyKey: "thread-1" },
      });
      const root = await poster.post(chat, part("first"));
      assert.equal(fake.message(root)?.replyMessageId, undefined);
      const second = await poster.post(chat, part("second"));
      assert.equal(fake.message(second)?.replyMessageId, root);
      // Another hook's thread key is its own.
      const other = await poster.post(chat, part("other", "h2"));
      assert.equal(fake.message(other)?.replyMessageId, undefined);
      await registry.flush();
    });
  } finally {
    kv.close();
  }
});
