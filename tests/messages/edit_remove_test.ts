// PATCH/DELETE /hook/<token>/messages/<id or key>, keys, replies: the whole bot over real
// sockets against the fake TrueConf.
import assert from "node:assert/strict";
import { type Answer, livingWorld } from "./_world.ts";

Deno.test("PATCH and DELETE by id: the hook's own message is edited, then removed for everyone", async () => {
  const t = await livingWorld();
  try {
    const res = await t.post(t.hookA, { text: "Deploy started…" });
    assert.equal(res.status, 200);
    const [id] = res.json.messages;
    const patched = await t.patch(t.hookA, id, {
      text: "Deploy **finished** ✅",
      parse_mode: "markdown",
    });
    assert.equal(patched.status, 200);
    assert.deepEqual(patched.json, { ok: true, messages: [id] });
    const shown = t.shown().filter((m) => m.messageId === id);
    assert.equal(shown[0]?.text, "Deploy **finished** ✅");
    assert.equal(shown[0]?.parseMode, "markdown");
    assert.equal(shown[0]?.edited, true);

    const gone = await t.del(t.hookA, id);
    assert.equal(gone.status, 200);
    assert.deepEqual(gone.json, { ok: true, messages: [id] });
    assert.equal(t.shown().some((m) => m.messageId === id), false);
    assert.deepEqual(t.w.fake.removals.map((r) => r.messageId), [id]);
    // A removed message is forgotten: a second DELETE or PATCH is 404.
    assert.equal((await t.del(t.hookA, id)).status, 404);
    const again = await t.patch(t.hookA, id, { text: "x" });
    assert.equal(again.status, 404);
    assert.equal(again.json.error, "message_not_found");
  } finally {
    await t.close();
  }
});

Deno.test("another hook's message, an unknown id and a file: 404 message_not_found, 409 not_editable", async () => {
  const t = await livingWorld();
  try {
    const [id] = (await t.post(t.hookA, { text: "mine" })).json.messages;
    for (const res of [await t.patch(t.hookB, id, { text: "hijack" }), await t.del(t.hookB, id)]) {
      assert.equal(res.status, 404);
      const body = res.json;
      assert.equal(body.error, "message_not_found");
      assert.match(body.message, /30 days/);
    }
    assert.equal((await t.patch(t.hookA, "nope", { text: "x" })).status, 404);
    const asked = t.w.fake.requests.length;
    assert.equal((await t.patch(t.hookA, "x".repeat(3000), { text: "x" })).status, 404);
    assert.equal(t.w.fake.requests.length, asked, "an overlong id is nobody's: TrueConf not asked");
    assert.equal(t.shown().find((m) => m.messageId === id)?.text, "mine");
    assert.equal(t.w.fake.edits.length, 0);

    // A file message cannot change its file.
    const form = new FormData();
    form.append("file", new Blob(["log line\n"], { type: "text/plain" }), "build.log");
    const up = await t.send(t.hookA, { method: "POST", body: form });
    assert.equal(up.status, 200);
    const [fileId] = up.json.messages;
    const res = await t.patch(t.hookA, fileId, { text: "new caption" });
    assert.equal(res.status, 409);
    assert.equal(res.json.error, "not_editable");
    // Nor can an edit bring files.
    const withFile = await t.patch(t.hookA, id, {
      text: "x",
      files: [{ url: "https://example.com/a.txt" }],
    });
    assert.equal(withFile.status, 409);
  } finally {
    await t.close();
  }
});

Deno.test("key upsert: the first POST with a key posts, later ones edit that message; X-Message-Key works for any format", async () => {
  const t = await livingWorld();
  try {
    const k = "deploy-42";
    const first = (await t.post(t.hookA, { text: "Deploy #42 started…", key: k })).json;
    const second = (await t.post(t.hookA, { text: "Deploy #42 finished ✅", key: k })).json;
    assert.deepEqual(second.messages, first.messages);
    assert.deepEqual(t.shown().map((m) => m.text), ["Deploy #42 finished ✅"]);
    // Same key, another hook: its own message.
    await t.post(t.hookB, { text: "B", key: "deploy-42" });
    assert.equal(t.shown().length, 2);
    // The header, with a Slack body and a plain-text body.
    await t.post(t.hookA, { text: "slack *one*", attachments: [] }, { "x-message-key": "s" });
    await t.post(t.hookA, { text: "slack *two*", attachments: [] }, { "x-message-key": "s" });
    const text = await t.send(t.hookA, {
      method: "POST",
      headers: { "content-type": "text/plain", "x-message-key": "deploy-42" },
      body: "plain edit",
    });
    assert.equal(text.status, 200);
    assert.deepEqual(t.shown().map((m) => m.text), ["plain edit", "B", "slack **two**"]);
    // PATCH by key.
    const byKey = await t.patch(t.hookA, "s", { text: "by key" });
    assert.equal(byKey.status, 200);
    assert.equal(t.shown()[2]?.text, "by key");
    // A bad key is a clear 400.
    const bad = await t.post(t.hookA, { text: "x" }, { "x-message-key": "a".repeat(129) });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error, "invalid_message_key");
  } finally {
    await t.close();
  }
});

Deno.test("an empty key, X-Message-Key, reply_to or Idempotency-Key is a clear 400, nothing posted", async () => {
  const t = await livingWorld();
  try {
    const form = (fields: Record<string, string>) =>
      t.send(t.hookA, { method: "POST", body: new URLSearchParams(fields) });
    const cases: [string, Promise<Answer>, string][] = [
      ["JSON key", t.post(t.hookA, { text: "x", key: "" }), "invalid_message_key"],
      ["JSON key of spaces", t.post(t.hookA, { text: "x", key: "  " }), "invalid_message_key"],
      ["form key", form({ text: "x", key: "" }), "invalid_message_key"],
      ["header", t.post(t.hookA, { text: "x" }, { "x-message-key": "" }), "invalid_message_key"],
      ["JSON reply_to", t.post(t.hookA, { text: "x", reply_to: "" }), "invalid_reply_to"],
      ["form reply_to", form({ text: "x", reply_to: " " }), "invalid_reply_to"],
      [
        "Idempotency-Key",
        t.post(t.hookA, { text: "x" }, { "idempotency-key": "" }),
        "invalid_idempotency_key",
      ],
    ];
    for (const [what, answer, code] of cases) {
      const a = await answer;
      assert.equal(a.status, 400, `${what}: ${a.text}`);
      assert.equal(a.json.error, code, what);
      assert.match(a.json.message, /empty/, what);
    }
    assert.equal(t.shown().length, 0, "nothing posted");
  } finally {
    await t.close();
  }
});

Deno.test("a keyed or edited text longer than one TrueConf message stays one message, cut with …", async () => {
  const t = await livingWorld();
  try {
    const first = await t.post(t.hookA, { text: "a".repeat(5_000) }, { "X-Message-Key": "long" });
    assert.equal(first.json.messages.length, 1);
    const again = await t.post(t.hookA, { text: "b".repeat(5_000) }, { "X-Message-Key": "long" });
    assert.deepEqual(again.json.messages, first.json.messages);
    const patched = await t.patch(t.hookA, first.json.messages[0], { text: "c".repeat(6_000) });
    assert.deepEqual(patched.json.messages, first.json.messages);
    const shown = t.shown();
    assert.equal(shown.length, 1);
    assert.equal(shown[0]?.text, "c".repeat(4_095) + "…");
  } finally {
    await t.close();
  }
});

Deno.test("a keyed message removed in the chat (306) is posted anew and remembered", async () => {
  const t = await livingWorld();
  try {
    const [id] = (await t.post(t.hookA, { text: "v1", key: "k" })).json.messages;
    t.w.fake.deleteMessage(id);
    const [id2] = (await t.post(t.hookA, { text: "v2", key: "k" })).json.messages;
    assert.notEqual(id2, id);
    await t.post(t.hookA, { text: "v3", key: "k" });
    assert.deepEqual(t.shown().map((m) => m.text), ["v3"]);
    assert.equal(t.shown()[0]?.messageId, id2);
    // A cleared chat too.
    t.w.fake.clearChat(t.chat);
    await t.post(t.hookA, { text: "v4", key: "k" });
    assert.deepEqual(t.shown().map((m) => m.text), ["v4"]);
  } finally {
    await t.close();
  }
});

Deno.test("reply_to (id or key), Slack thread_ts and Mattermost root_id post replies; an unknown reply_to is a 404, an unknown thread_ts posts plainly", async () => {
  const t = await livingWorld();
  try {
    const [root] = (await t.post(t.hookA, { text: "🔥 firing", key: "inc-1" })).json.messages;
    const byId = (await t.post(t.hookA, { text: "update", reply_to: root })).json;
    const byKey = (await t.post(t.hookA, { text: "update 2", reply_to: "inc-1" })).json;
    const slack = await t.post(t.hookA, { text: "from slack", thread_ts: root, attachments: [] });
    assert.equal(slack.text, "ok");
    const mm = await t.post(t.hookA, { text: "from mattermost", root_id: "inc-1", props: {} });
    assert.equal(mm.text, "ok");
    // A Slack sender's own timestamps are never this hook's: the message goes, plainly.
    const slackTs = await t.post(t.hookA, {
      text: "slack thread",
      thread_ts: "1700000000.000100",
      attachments: [],
    });
    assert.equal(slackTs.text, "ok");
    const shown = t.shown();
    const replyOf = (id: string) => shown.find((m) => m.messageId === id)?.replyMessageId;
    assert.equal(replyOf(byId.messages[0]), root);
    assert.equal(replyOf(byKey.messages[0]), root);
    assert.equal(shown.find((m) => m.text === "from slack")?.replyMessageId, root);
    assert.equal(shown.find((m) => m.text === "from mattermost")?.replyMessageId, root);
    assert.equal(shown.find((m) => m.text === "slack thread")?.replyMessageId, undefined);
    // Our own reply_to names a message the sender means: one this hook does not know is
    // refused as PATCH and DELETE refuse it, nothing posted (the sender asked for a reply).
    const before = t.shown().length;
    for (
      const [url, target] of [
        [t.hookA, "1700000000.000100"],
        [t.hookA, "no-such-key"],
        [t.hookB, "inc-1"], // another hook's key is not this hook's
      ] as const
    ) {
      const a = await t.post(url, { text: "stray", reply_to: target });
      assert.equal(a.status, 404, a.text);
      assert.equal(a.json.error, "message_not_found");
      assert.match(a.json.message, /reply_to/);
    }
    assert.equal(t.shown().length, before, "nothing posted");
    // Another hook's message in the same chat is a message of the chat: a reply is fine (an
    // edit or removal of it is not, see above).
    const b = await t.post(t.hookB, { text: "b", reply_to: root });
    assert.equal(b.status, 200, b.text);
    assert.equal(t.shown().find((m) => m.messageId === b.json.messages[0])?.replyMessageId, root);
  } finally {
    await t.close();
  }
});

Deno.test("reply_to a chat member's message of the hook's chat (an outgoing event's message.id) posts a reply; one of another chat is a 404", async () => {
  const t = await livingWorld();
  try {
    // A help desk answers later, through its incoming hook, the question it got from an
    // outgoing hook's event.
    const question = t.w.fake.pushMessage({ chatId: t.chat, authorId: t.alice, text: "help?" });
    t.w.addGroup({ chatId: "elsewhere", title: "Elsewhere", owner: t.alice });
    const other = t.w.fake.pushMessage({ chatId: "elsewhere", authorId: t.alice, text: "hi" });
    const a = await t.post(t.hookA, { text: "on it", reply_to: question.messageId });
    assert.equal(a.status, 200, a.text);
    const shown = t.shown().find((m) => m.messageId === a.json.messages[0]);
    assert.equal(shown?.replyMessageId, question.messageId);
    const b = await t.post(t.hookA, { text: "nope", reply_to: other.messageId });
    assert.equal(b.status, 404, b.text);
    assert.equal(b.json.error, "message_not_found");
    assert.equal(t.shown().some((m) => m.text === "nope"), false);
  } finally {
    await t.close();
  }
});

Deno.test("reply_to on a message with only files: the first file is the reply, by id or key; a vanished target posts it plainly", async () => {
  const t = await livingWorld();
  try {
    const [root] = (await t.post(t.hookA, { text: "🔥 firing", key: "inc-2" })).json.messages;
    const file = (replyTo: string, name: string) => {
      const form = new FormData();
      form.append("reply_to", replyTo);
      form.append("file", new Blob(["log line\n"], { type: "text/plain" }), name);
      return t.send(t.hookA, { method: "POST", body: form });
    };
    const byKey = await file("inc-2", "a.log");
    assert.equal(byKey.status, 200, byKey.text);
    const byId = await file(root, "b.log");
    assert.equal(byId.status, 200, byId.text);
    const shown = t.shown();
    const replyOf = (name: string) => shown.find((m) => m.file?.name === name)?.replyMessageId;
    assert.equal(replyOf("a.log"), root);
    assert.equal(replyOf("b.log"), root);
    // The message replied to was removed in the chat: the file still goes, as a plain post.
    t.w.fake.deleteMessage(root);
    assert.equal((await file("inc-2", "c.log")).status, 200);
    assert.equal(t.shown().find((m) => m.file?.name === "c.log")?.replyMessageId, undefined);
  } finally {
    await t.close();
  }
});

Deno.test("edits and keys wait in the queue behind the post they change: TrueConf down, then back", async () => {
  const t = await livingWorld();
  try {
    await t.w.fake.refuseConnections(true);
    await t.w.fake.waitFor(() => !t.w.bot.client.state.authorized);
    const a = await t.post(t.hookA, { text: "Deploy started…", key: "d" });
    assert.equal(a.status, 202);
    const b = await t.post(t.hookA, { text: "Deploy half way", key: "d" });
    assert.equal(b.status, 202);
    const c = await t.patch(t.hookA, "d", { text: "Deploy done ✅" });
    assert.equal(c.status, 202);
    // The edits were folded into the post still waiting: one delivery, one TrueConf call.
    assert.equal(b.json.delivery, a.json.delivery);
    assert.equal(c.json.delivery, a.json.delivery);
    assert.ok(a.json.delivery);
    await t.w.fake.refuseConnections(false);
    await t.w.fake.waitFor(() => t.shown().some((m) => m.text === "Deploy done ✅"), 10_000);
    assert.deepEqual(t.shown().map((m) => m.text), ["Deploy done ✅"]);
    assert.equal(t.w.fake.edits.length, 0, "posted once with the last text, never edited");
    // Behind a removal of the key, a new post with it is not folded into the removed one.
    await t.w.fake.refuseConnections(true);
    await t.w.fake.waitFor(() => !t.w.bot.client.state.authorized);
    assert.equal((await t.del(t.hookA, "d")).status, 202);
    const again = await t.post(t.hookA, { text: "Deploy #2 started", key: "d" });
    assert.equal(again.status, 202);
    await t.w.fake.refuseConnections(false);
    await t.w.fake.waitFor(() => t.shown().some((m) => m.text === "Deploy #2 started"), 10_000);
    assert.deepEqual(t.shown().map((m) => m.text), ["Deploy #2 started"]);
  } finally {
    await t.close();
  }
});

Deno.test("a file posted with a caption on a 5.5.6 server is two messages: DELETE of the file removes its caption too, also after a restart", async () => {
  const t = await livingWorld({ fake: { serverVersion: "5.5.6.10902" } });
  try {
    const postFile = async (caption: string, name: string) => {
      const form = new FormData();
      form.append("text", caption);
      form.append("file", new Blob(["log line\n"], { type: "text/plain" }), name);
      const up = await t.send(t.hookA, { method: "POST", body: form });
      assert.equal(up.status, 200, up.text);
      return up.json.messages as string[];
    };
    const [fileId] = await postFile("Nightly build log", "build.log");
    // TrueConf 5.5.6 shows the caption as a text message of its own after the file.
    const shown = () => t.shown().map((m) => [m.kind, m.text ?? m.file?.name]);
    assert.deepEqual(shown(), [["document", "build.log"], ["text", "Nightly build log"]]);
    const captionId = t.w.fake.message(fileId!)?.captionMessageId;
    assert.ok(captionId);

    const gone = await t.del(t.hookA, fileId!);
    assert.equal(gone.status, 200);
    assert.deepEqual(gone.json, { ok: true, messages: [fileId] });
    assert.deepEqual(shown(), [], "the caption went with its file");
    assert.deepEqual(t.w.fake.removals.map((r) => r.messageId).sort(), [captionId, fileId].sort());

    // The link is stored, not only remembered: a new process removes both as well.
    const [second] = await postFile("Weekly report", "report.txt");
    await t.restart();
    assert.equal((await t.del(t.hookA, second!)).status, 200);
    assert.deepEqual(shown(), []);
    // A caption someone already deleted in the chat does not stop the file's removal.
    const [third] = await postFile("Monthly", "m.txt");
    t.w.fake.deleteMessage(t.w.fake.message(third!)!.captionMessageId!);
    assert.equal((await t.del(t.hookA, third!)).status, 200);
    assert.deepEqual(shown(), []);
  } finally {
    await t.close();
  }
});

Deno.test("a reply_to naming a key whose post is in flight or queued follows it as its reply, never a 404", async () => {
  const t = await livingWorld();
  try {
    const fake = t.w.fake;
    const replyOf = (text: string) => t.shown().find((m) => m.text === text)?.replyMessageId;
    const idOf = (text: string) => t.shown().find((m) => m.text === text)?.messageId;
    // In flight: TrueConf answers the parent's post late; the reply is sent meanwhile.
    fake.setMethodDelay("sendMessage", 300);
    const asked = fake.requests.length;
    const parent = t.post(t.hookA, { text: "deploy started", key: "k1" });
    await fake.waitFor(() => fake.requests.slice(asked).some((r) => r.method === "sendMessage"));
    const reply = await t.post(t.hookA, { text: "logs", reply_to: "k1" });
    assert.ok(reply.status === 200 || reply.status === 202, reply.text);
    assert.equal((await parent).status, 200);
    fake.setMethodDelay("sendMessage", 0);
    await fake.waitFor(() => replyOf("logs") !== undefined);
    assert.equal(replyOf("logs"), idOf("deploy started"));
    // Queued: TrueConf unreachable, both accepted (202); the reply follows once it is back.
    await fake.refuseConnections(true);
    await fake.waitFor(() => !t.w.bot.client.state.authorized);
    const second = await t.post(t.hookA, { text: "second", key: "k2" });
    assert.equal(second.status, 202, second.text);
    const secondReply = await t.post(t.hookA, { text: "second logs", reply_to: "k2" });
    assert.equal(secondReply.status, 202, secondReply.text);
    await fake.refuseConnections(false);
    await fake.waitFor(() => replyOf("second logs") !== undefined, 10_000);
    assert.equal(replyOf("second logs"), idOf("second"));
  } finally {
    await t.close();
  }
});
