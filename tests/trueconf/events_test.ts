// Chat events over a real socket: the fake pushes what TrueConf pushes (method names and
// payloads of the official Python SDK), the client hands typed events to onEvent.
import assert from "node:assert/strict";
import type { ChatEvent, IncomingMessage } from "../../src/trueconf/mod.ts";
import { parseChatEvent } from "../../src/trueconf/mod.ts";
import { ALICE, waitUntil, withClient } from "./_helpers.ts";
import { addGroup } from "../support/bot_with_fake.ts";

Deno.test("onEvent: every chat event pushed by the server arrives typed, once", async () => {
  await withClient({}, {}, async (fake, client) => {
    const events: ChatEvent[] = [];
    const messages: IncomingMessage[] = [];
    client.onEvent((e) => void events.push(e));
    client.onMessage((m) => void messages.push(m));
    const alice = fake.userId(ALICE.login);
    const chatId = "group-1";
    addGroup(fake, { chatId, title: "Ops", owner: alice });
    const posted = fake.pushMessage({ chatId, authorId: alice, text: "hello" });
    fake.pushMessage({ chatId, authorId: alice, text: "hello!", isEdited: true });
    fake.pushEvent("editMessage", {
      chatId,
      messageId: posted.messageId,
      timestamp: 1735314170000,
      content: { text: "hello again", parseMode: "text" },
    });
    fake.pushEvent("removeMessage", {
      chatId,
      messageId: posted.messageId,
      removedBy: { id: alice, type: 1 },
    });
    const bob = fake.userId("bob");
    fake.pushEvent("addChatParticipant", {
      timestamp: 1,
      chatId,
      userId: bob,
      addedBy: { id: alice, type: 1 },
    });
    fake.pushEvent("changeParticipantRole", { timestamp: 2, chatId, userId: bob, role: "admin" });
    fake.pushEvent("removeChatParticipant", {
      timestamp: 3,
      chatId,
      userId: fake.botId,
      removedBy: { id: alice, type: 1 },
    });
    fake.pushEvent("editChatTitle", { chatId, title: "Ops (prod)" });
    fake.pushEvent("removeChat", { chatId });
    // Not chat events: acked and dropped.
    fake.pushEvent("uploadFileProgress", { fileId: "f", progress: 10 });
    fake.pushEvent("someFutureEvent", { chatId, x: 1 });
    // The same removal again (as during a token rotation, on a second socket): delivered once.
    fake.pushEvent("removeChat", { chatId });
    await waitUntil(() => fake.acks.size >= 12, 3_000, "acks");
    await waitUntil(() => events.length >= 9, 3_000, "events");

    assert.deepEqual(events.map((e) => e.type), [
      "message.created",
      "message.edited",
      "message.edited",
      "message.removed",
      "participant.added",
      "participant.role_changed",
      "participant.removed",
      "chat.title_changed",
      "chat.removed",
    ]);
    assert.deepEqual(messages.map((m) => m.text), ["hello", "hello!"], "onMessage unchanged");
    const [created, edited, pushedEdit, removed, added, role, gone, title] = events;
    assert(created?.type === "message.created" && created.message.authorId === alice);
    assert(edited?.type === "message.edited" && edited.message.text === "hello!");
    assert(pushedEdit?.type === "message.edited");
    assert.equal(pushedEdit.message.messageId, posted.messageId);
    assert.equal(pushedEdit.message.text, "hello again");
    assert(removed?.type === "message.removed");
    assert.deepEqual(removed, {
      type: "message.removed",
      chatId,
      messageId: posted.messageId,
      by: alice,
      timestamp: removed.timestamp,
    });
    assert.deepEqual(added, {
      type: "participant.added",
      chatId,
      userId: bob,
      by: alice,
      timestamp: 1,
    });
    assert.deepEqual(role, {
      type: "participant.role_changed",
      chatId,
      userId: bob,
      role: "admin",
      timestamp: 2,
    });
    assert(gone?.type === "participant.removed" && gone.userId === fake.botId);
    assert(title?.type === "chat.title_changed" && title.title === "Ops (prod)");
  });
});

Deno.test("parseChatEvent: numeric roles, missing ids and the SDK's id-less editMessage", () => {
  const now = () => 42;
  assert.deepEqual(
    parseChatEvent("changeParticipantRole", { chatId: "c", userId: "u", role: 1 }, now),
    { type: "participant.role_changed", chatId: "c", userId: "u", role: "admin", timestamp: 42 },
  );
  assert.equal(parseChatEvent("removeChatParticipant", { chatId: "c" }), null);
  assert.equal(parseChatEvent("removeChat", {}), null);
  const e = parseChatEvent("editMessage", {
    chatId: "c",
    timestamp: 7,
    content: { text: "<b>x</b>", parseMode: "html" },
  });
  assert(e?.type === "message.edited");
  assert.equal(e.message.messageId, "");
  assert.equal(e.message.parseMode, "html");
  assert.equal(e.message.timestamp, 7);
});
