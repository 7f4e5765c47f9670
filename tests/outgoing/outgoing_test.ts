// Outgoing webhooks end to end: the whole bot (createBot, as serve wires it) against the fake
// TrueConf over real sockets, real KV, and a loopback receiver that verifies every signature
// with the npm standardwebhooks package.
import assert from "node:assert/strict";
import type { BotWithFake } from "../support/bot_with_fake.ts";
import {
  command,
  makeOutgoingHook,
  startReceiver,
  withHookTo,
  withOutgoingBot,
} from "./_receiver.ts";
import type { BodyMessage, OutgoingBody } from "../../src/outgoing/mod.ts";
import { shownText } from "../support/shown_text.ts";
import { ManualClock } from "../delivery/queue/_manual_clock.ts";
import { silentLogger } from "../../src/log.ts";

function withBot(fn: (b: BotWithFake) => Promise<void>): Promise<void> {
  return withOutgoingBot({ WEBHOOK_OUTGOING_TIMEOUT_SECONDS: "1" }, fn);
}

/** Texts the bot posted in a chat. */
function posted(b: BotWithFake, chatId: string): string[] {
  return b.fake.messagesIn(chatId).map((r) => r.text ?? "");
}

Deno.test("trigger word in a group (with a mention): signed call with the body contract, answer posted", async () => {
  await withBot(async (b) => {
    const alice = b.fake.userId("alice");
    b.addGroup({ chatId: "ops", title: "Ops", owner: alice });
    let secret = "";
    const r = startReceiver(
      () => secret,
      () => Response.json({ text: "Deploying **staging**", parse_mode: "markdown" }),
    );
    try {
      const made = await makeOutgoingHook(b, {
        chatId: "ops",
        name: "deploys",
        url: r.url,
        triggers: ["/deploy", "!status"],
      });
      secret = made.secret;
      const earlier = b.fake.pushMessage({
        chatId: "ops",
        authorId: b.fake.userId("bob"),
        text: "the build is green",
      });
      const trigger = b.fake.pushMessage({
        chatId: "ops",
        authorId: alice,
        text: `${b.mention} /Deploy <b>staging</b> &amp; more`,
        replyMessageId: earlier.messageId,
      });
      const call = await r.nth(1);
      const body: OutgoingBody = call.body;
      assert.equal(call.headers.get("content-type"), "application/json");
      assert.match(call.headers.get("user-agent") ?? "", /^trueconf-webhook-bot\/\d/);
      assert.equal(call.headers.get("webhook-id"), body.id);
      assert.match(body.id, /^evt_[0-9a-f]{32}$/);
      assert.equal(body.type, "message.created");
      assert.ok(!Number.isNaN(Date.parse(body.timestamp)));
      assert.deepEqual(body.hook, { id: made.hook.id, name: "deploys" });
      assert.deepEqual(body.chat, { id: "ops", title: "Ops", type: "group" });
      assert.equal(body.trigger, "/deploy");
      assert.equal(body.args, "staging & more");
      assert.deepEqual(body.message, {
        id: trigger.messageId,
        text: "@Webhook Bot /Deploy staging & more",
        parseMode: "html",
        markup: `${b.mention} /Deploy <b>staging</b> &amp; more`,
        author: { id: alice, name: "Alice" },
        replyTo: {
          id: earlier.messageId,
          text: "the build is green",
          author: { id: b.fake.userId("bob"), name: "Bob" },
        },
        files: [],
      });
      await b.fake.waitFor(() => posted(b, "ops").includes("Deploying **staging**"));
      const answer = b.fake.messagesIn("ops").find((x) => x.text === "Deploying **staging**");
      assert.equal(answer?.replyMessageId, trigger.messageId, "the answer replies to the trigger");
      assert.equal(answer?.parseMode, "markdown");
      // Nothing else triggers: not the chatter, not the bot's own answer echoed back.
      b.fake.pushMessage({ chatId: "ops", authorId: alice, text: "please /deploy later" });
      b.fake.pushMessage({ chatId: "ops", authorId: b.fake.botId, text: "/deploy by the bot" });
      const marker = b.fake.pushMessage({ chatId: "ops", authorId: alice, text: "!STATUS" });
      const second = await r.nth(2);
      assert.equal((second.body.message as { id: string }).id, marker.messageId);
      assert.equal(second.body.trigger, "!status");
      assert.equal(r.calls.length, 2);
      assert.equal(r.rejected, 0);
    } finally {
      await r.close();
    }
  });
});

Deno.test("trigger words in a channel and in a personal chat", async () => {
  await withBot(async (b) => {
    const alice = b.fake.userId("alice");
    b.fake.addChat({
      chatId: "news",
      title: "News",
      chatType: 6,
      participants: [{ userId: alice, role: "owner" }, { userId: b.fake.botId, role: "admin" }],
    });
    const p2p = b.fake.p2pChatId(alice);
    let secrets: string[] = [];
    const r = startReceiver(() => secrets[0] ?? "", () => new Response(null, { status: 204 }));
    const r2 = startReceiver(() => secrets[1] ?? "", () => new Response(null, { status: 204 }));
    try {
      const a = await makeOutgoingHook(b, {
        chatId: "news",
        name: "n",
        url: r.url,
        triggers: ["/report"],
      });
      const c = await makeOutgoingHook(b, {
        chatId: p2p,
        name: "me",
        url: r2.url,
        triggers: ["/todo"],
      });
      secrets = [a.secret, c.secret];
      b.fake.pushMessage({ chatId: "news", authorId: alice, text: "/report spam" });
      b.fake.pushMessage({ chatId: p2p, authorId: alice, text: "/todo buy milk" });
      const [x, y] = await Promise.all([r.nth(1), r2.nth(1)]);
      assert.equal(x.body.chat.type, "channel");
      assert.equal(x.body.args, "spam");
      assert.equal(y.body.chat.type, "p2p");
      assert.equal(y.body.args, "buy milk");
    } finally {
      await r.close();
      await r2.close();
    }
  });
});

Deno.test("an all-events hook gets every event type of its chat, never the bot's own posts or commands", async () => {
  await withBot(async (b) => {
    const alice = b.fake.userId("alice");
    const bob = b.fake.userId("bob");
    b.addGroup({ chatId: "desk", title: "Help desk", owner: alice });
    let secret = "";
    // Answers every message: the answers are posted (and echoed back as events) but never call again.
    const r = startReceiver(
      () => secret,
      (body) =>
        body.type === "message.created"
          ? new Response("noted", { headers: { "content-type": "text/plain" } })
          : new Response(null, { status: 204 }),
    );
    try {
      secret = (await makeOutgoingHook(b, { chatId: "desk", name: "tickets", url: r.url })).secret;
      const m = b.fake.pushMessage({ chatId: "desk", authorId: alice, text: "printer on fire" });
      await r.nth(1);
      await b.fake.waitFor(() => posted(b, "desk").includes("noted"));
      // The bot removing its own answer is not a chat event for the hook either.
      const noted = b.fake.messagesIn("desk").find((x) => x.text === "noted")!;
      b.fake.pushEvent("removeMessage", {
        chatId: "desk",
        messageId: noted.messageId,
        removedBy: { id: b.fake.botId, type: 1 },
      });
      b.fake.pushMessage({ chatId: "desk", authorId: alice, text: `${b.mention} /webhook_list` });
      await b.fake.waitFor(() => posted(b, "desk").some((t) => t.includes("tickets")));
      b.fake.pushEvent("editMessage", {
        chatId: "desk",
        messageId: m.messageId,
        timestamp: Date.now(),
        content: { text: "printer on fire!!", parseMode: "text" },
      });
      b.fake.pushEvent("removeMessage", {
        chatId: "desk",
        messageId: m.messageId,
        removedBy: { id: alice, type: 1 },
      });
      b.fake.pushEvent("addChatParticipant", {
        timestamp: 1,
        chatId: "desk",
        userId: bob,
        addedBy: { id: alice, type: 1 },
      });
      b.fake.pushEvent("changeParticipantRole", {
        timestamp: 2,
        chatId: "desk",
        userId: bob,
        role: "admin",
      });
      b.fake.pushEvent("removeChatParticipant", {
        timestamp: 3,
        chatId: "desk",
        userId: bob,
        removedBy: { id: alice, type: 1 },
      });
      b.fake.pushEvent("editChatTitle", { chatId: "desk", title: "Help desk (EU)" });
      const last = await r.nth(7);
      assert.deepEqual(r.calls.map((c) => c.body.type), [
        "message.created",
        "message.edited",
        "message.removed",
        "participant.added",
        "participant.role_changed",
        "participant.removed",
        "chat.title_changed",
      ]);
      assert.equal(last.body.title, "Help desk (EU)");
      const [, edited, removed, added, role] = r.calls.map((c) => c.body);
      assert.equal((edited?.message as { text: string }).text, "printer on fire!!");
      assert.deepEqual(removed?.message, { id: m.messageId });
      assert.deepEqual(removed?.by, { id: alice });
      assert.deepEqual(added?.participant, { id: bob, role: null });
      assert.deepEqual(role?.participant, { id: bob, role: "admin" });
      for (const c of r.calls.slice(1)) assert.equal(c.body.trigger, undefined);
      // One more message proves nothing else (answers, the list reply) was sent in between.
      b.fake.pushMessage({ chatId: "desk", authorId: alice, text: "done" });
      await r.nth(8);
      assert.equal(r.calls.length, 8);
      assert.equal(r.rejected, 0);
    } finally {
      await r.close();
    }
  });
});

// The retry's backoff runs on the bot's clock (BotOptions.clock): the test moves it on instead
// of waiting a second of wall time for it.
Deno.test("500 then 200: the author is told it is retrying, then exactly one answer arrives", async () => {
  const clock = new ManualClock(Date.now());
  await withOutgoingBot(
    { WEBHOOK_OUTGOING_TIMEOUT_SECONDS: "1" },
    (b) =>
      withHookTo(
        b,
        { name: "deploys", triggers: ["/deploy"] },
        (_body, n) =>
          n === 1 ? new Response("oops", { status: 500 }) : Response.json({ text: "deployed" }),
        async ({ alice, r }) => {
          const t = b.fake.pushMessage({ chatId: "ops", authorId: alice, text: "/deploy prod" });
          await b.fake.waitFor(() => posted(b, "ops").some((x) => /retrying/.test(x)));
          // The failed attempt is stored with its next try (the call waits, none in flight).
          await b.fake.waitFor(() => {
            const q = b.bot.queue.stats();
            return q.depth === 1 && q.inFlight === 0;
          });
          assert.equal(r.calls.length, 1, "the retry waits for its backoff");
          clock.advance(10_000); // past the first backoff (1 s base, with jitter)
          await b.fake.waitFor(() => posted(b, "ops").includes("deployed"));
          const status = b.fake.messagesIn("ops").find((x) =>
            /answered 500, retrying/.test(x.text ?? "")
          );
          assert.ok(status, "status reply");
          assert.equal(status.replyMessageId, t.messageId);
          assert.match(
            status.text ?? "",
            /^⚠️ deploys: http:\/\/127\.0\.0\.1:\d+\/hooks\/chat\?… answered 500/,
          );
          assert.equal(r.calls.length, 2);
          assert.equal(r.calls[0]!.body.id, r.calls[1]!.body.id, "same webhook-id on the retry");
          assert.equal(r.calls[0]!.raw, r.calls[1]!.raw, "same bytes on the retry");
          assert.equal(posted(b, "ops").filter((x) => x === "deployed").length, 1);
          const answer = b.fake.messagesIn("ops").find((x) => x.text === "deployed");
          assert.equal(answer?.replyMessageId, t.messageId);
        },
      ),
    silentLogger,
    { clock },
  );
});

Deno.test('answers: one with a text (Slack slash-command shape too) is posted; one without any ({"ok":true}, a web framework\'s HTML "OK", JSON true/"queued"/[]) is an acknowledgement: nothing posted, nobody warned', async () => {
  const answers: (() => Response)[] = [
    () => Response.json({ ok: true }),
    () => Response.json({ status: "queued", id: 42 }),
    // Flask's `return "OK"`, Express's `res.send("OK")`: text/html by default.
    () => new Response("OK", { headers: { "content-type": "text/html; charset=utf-8" } }),
    () => Response.json(true),
    () => Response.json("queued"),
    () => Response.json([]),
    () => Response.json({ response_type: "in_channel", text: "Deploying *prod*", username: "ci" }),
    () => Response.json({ text: "done", ok: true }),
  ];
  await withBot((b) =>
    withHookTo(
      b,
      { name: "deploys", triggers: ["/deploy"] },
      (_body, n) => answers[n - 1]!(),
      async ({ alice, r }) => {
        const triggers = answers.map((_, i) =>
          b.fake.pushMessage({ chatId: "ops", authorId: alice, text: `/deploy ${i}` })
        );
        // Calls of one hook run in order: once the last answer is in, every one was read.
        await b.fake.waitFor(() => posted(b, "ops").includes("done"), 10_000);
        assert.equal(r.calls.length, answers.length);
        const said = b.fake.messagesIn("ops");
        assert.deepEqual(said.map((x) => shownText(x)), ["Deploying **prod**", "done"]);
        assert.deepEqual(said.map((x) => x.replyMessageId), [
          triggers[6]!.messageId,
          triggers[7]!.messageId,
        ]);
        // Nobody was told the answer "could not be read" (not in the chat, not by DM).
        const warned = b.fake.sent.filter((p) => (p.text ?? "").includes("could not be read"));
        assert.deepEqual(warned, []);
      },
    )
  );
});

Deno.test('an answer marked "response_type":"ephemeral" (Slack) goes to the trigger\'s author alone, by direct message', async () => {
  await withBot((b) =>
    withHookTo(
      b,
      { name: "keys", triggers: ["/key"] },
      () => Response.json({ response_type: "ephemeral", text: "Your key: k-123" }),
      async ({ alice, r }) => {
        const dm = b.fake.p2pChatId(alice);
        b.fake.pushMessage({ chatId: "ops", authorId: alice, text: "/key mine" });
        await b.fake.waitFor(() => b.fake.messagesIn(dm).length === 1, 10_000);
        assert.equal(shownText(b.fake.messagesIn(dm)[0]!), "Your key: k-123");
        assert.equal(r.calls.length, 1);
        assert.deepEqual(posted(b, "ops"), [], "nothing in the chat");
        // No direct message possible: the author is told so in the chat, the answer stays out.
        b.fake.setMethodError("createP2PChat", 304);
        const t = b.fake.pushMessage({ chatId: "ops", authorId: alice, text: "/key again" });
        await b.fake.waitFor(() => posted(b, "ops").length === 1, 10_000);
        b.fake.setMethodError("createP2PChat", null);
        const said = b.fake.messagesIn("ops")[0]!;
        assert.match(
          shownText(said),
          /^⚠️ keys: .* answered you alone, but I could not write to you directly/,
        );
        assert.equal(said.replyMessageId, t.messageId);
        assert.equal(r.calls.length, 2, "the service is not called again");
        assert.equal(b.fake.messagesIn(dm).length, 1);
      },
    )
  );
});

Deno.test("404 is not retried and the author is told; a silent receiver gets a status reply within 10 s", async () => {
  await withBot(async (b) => {
    const alice = b.fake.userId("alice");
    b.addGroup({ chatId: "ops", title: "Ops", owner: alice });
    let secret = "";
    let release: () => void = () => {};
    const hold = new Promise<void>((resolve) => release = resolve);
    const r = startReceiver(() => secret, async (body) => {
      if (body.trigger === "/gone") return new Response("no such job\nat all", { status: 404 });
      await hold;
      return new Response(null, { status: 204 });
    });
    try {
      secret = (await makeOutgoingHook(b, {
        chatId: "ops",
        name: "ci",
        url: r.url,
        triggers: ["/gone", "/slow"],
      })).secret;
      const t = b.fake.pushMessage({ chatId: "ops", authorId: alice, text: "/gone" });
      await b.fake.waitFor(() => posted(b, "ops").some((x) => x.includes("answered 404")));
      const told = b.fake.messagesIn("ops").find((x) => x.text?.includes("answered 404"));
      assert.equal(told?.replyMessageId, t.messageId);
      assert.match(told?.text ?? "", /not retried\. The answer: no such job$/);
      const slowAt = performance.now();
      const s = b.fake.pushMessage({ chatId: "ops", authorId: alice, text: "/slow" });
      await b.fake.waitFor(
        () => b.fake.messagesIn("ops").some((x) => x.replyMessageId === s.messageId),
        10_000,
      );
      assert.ok(performance.now() - slowAt < 10_000);
      const said = b.fake.messagesIn("ops").find((x) => x.replyMessageId === s.messageId);
      assert.match(said?.text ?? "", /did not answer within 1 s, retrying/);
      assert.equal(r.calls.filter((c) => c.body.trigger === "/gone").length, 1, "404 not retried");
    } finally {
      release();
      await r.close();
    }
  });
});

Deno.test("an event hook's failures go to its creator by direct message, not into the chat", async () => {
  await withBot((b) =>
    withHookTo(
      b,
      { chatId: "desk", title: "Help desk", name: "tickets" },
      () => new Response("unknown tenant", { status: 403 }),
      async ({ alice, r }) => {
        b.fake.pushMessage({ chatId: "desk", authorId: b.fake.userId("bob"), text: "hello" });
        const dm = b.fake.p2pChatId(alice);
        await b.fake.waitFor(() =>
          b.fake.messagesIn(dm).some((x) => /answered 403/.test(x.text ?? ""))
        );
        const said = b.fake.messagesIn(dm).find((x) => /answered 403/.test(x.text ?? ""))?.text ??
          "";
        // The digest names the hook and its chat once (its own prefix), then what happened.
        assert.match(
          said,
          /^Webhook "tickets" in «Help desk»: ❌ http:\/\/127\.0\.0\.1:\d+\/hooks\/chat\?… answered 403; not retried\. The answer: unknown tenant$/,
        );
        assert.equal(b.fake.messagesIn("desk").length, 0, "nothing in the chat itself");
        assert.equal(r.calls.length, 1);
      },
    )
  );
});

Deno.test("two hooks of one creator with one name in two chats: each failure DM names its chat", async () => {
  await withBot(async (b) => {
    const alice = b.fake.userId("alice");
    const bob = b.fake.userId("bob");
    const refusing = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      () => new Response("no", { status: 403 }),
    );
    const url = `http://127.0.0.1:${refusing.addr.port}/audit`;
    try {
      for (const [chatId, title] of [["a", "Ops"], ["b", "Dev"], ["c", "Lab"]]) {
        b.addGroup({ chatId: chatId!, title: title!, owner: alice, members: [bob] });
        await makeOutgoingHook(b, { chatId: chatId!, name: "audit", url });
      }
      const dm = b.fake.p2pChatId(alice);
      const dms = () => b.fake.messagesIn(dm).map((x) => x.text ?? "");
      b.fake.pushMessage({ chatId: "a", authorId: bob, text: "one" });
      await b.fake.waitFor(() => dms().length === 1);
      b.fake.pushMessage({ chatId: "b", authorId: bob, text: "two" });
      await b.fake.waitFor(() => dms().length === 2);
      // TrueConf cannot say the title: the chat's id stands in.
      b.fake.setMethodError("getChatByID", 305);
      b.fake.pushMessage({ chatId: "c", authorId: bob, text: "three" });
      await b.fake.waitFor(() => dms().length === 3);
      b.fake.setMethodError("getChatByID", null);
      assert.match(dms()[0]!, /^Webhook "audit" in «Ops»: ❌ .* answered 403/);
      assert.match(dms()[1]!, /^Webhook "audit" in «Dev»: ❌ .* answered 403/);
      assert.match(dms()[2]!, /^Webhook "audit" in chat c: ❌ .* answered 403/);
    } finally {
      await refusing.shutdown();
    }
  });
});

Deno.test("a service's answer follows the hook's /webhook_mentions and /webhook_alerts settings", async () => {
  await withBot((b) =>
    withHookTo(
      b,
      { name: "deploys", triggers: ["/deploy"] },
      () => Response.json({ text: "@here deployed" }),
      async ({ alice }) => {
        b.fake.pushMessage({
          chatId: "ops",
          authorId: alice,
          text: `${b.mention} /webhook_mentions deploys all`,
        });
        await b.fake.waitFor(() => posted(b, "ops").some((t) => /mentions = <b>all<\/b>/.test(t)));
        const t = b.fake.pushMessage({ chatId: "ops", authorId: alice, text: "/deploy prod" });
        await b.fake.waitFor(() =>
          b.fake.messagesIn("ops").some((x) => x.replyMessageId === t.messageId)
        );
        const answer = b.fake.messagesIn("ops").find((x) => x.replyMessageId === t.messageId);
        assert.equal(answer?.text, "@all deployed", "mentions = all: @here addresses everyone");
      },
    )
  );
});

Deno.test("an answer with a picture replies to the trigger too: a picture with a short text, a picture alone", async () => {
  await withBot(async (b) => {
    const alice = b.fake.userId("alice");
    b.addGroup({ chatId: "ops", title: "Ops", owner: alice });
    // A 1×1 PNG on a loopback asset server (the allowlist opens 127.0.0.1 for the test).
    const png = Uint8Array.from(
      atob(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
      ),
      (c) => c.charCodeAt(0),
    );
    const asset = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      () => new Response(png, { headers: { "content-type": "image/png" } }),
    );
    const image = { url: `http://127.0.0.1:${asset.addr.port}/graph.png` };
    let secret = "";
    const r = startReceiver(
      () => secret,
      (body) => {
        // "gone": the trigger is removed in the chat before the service answers.
        if (body.args === "gone") b.fake.deleteMessage((body.message as { id: string }).id);
        return body.args === "with text"
          ? Response.json({ text: "the graph", images: [image] })
          : Response.json({ images: [image] });
      },
    );
    try {
      secret = (await makeOutgoingHook(b, {
        chatId: "ops",
        name: "graphs",
        url: r.url,
        triggers: ["/graph"],
      })).secret;
      const replies = (id: string) =>
        b.fake.messagesIn("ops").filter((x) => x.replyMessageId === id);
      const t1 = b.fake.pushMessage({ chatId: "ops", authorId: alice, text: "/graph with text" });
      await b.fake.waitFor(() => replies(t1.messageId).length > 0, 5_000);
      assert.equal(replies(t1.messageId)[0]?.kind, "photo");
      assert.equal(replies(t1.messageId)[0]?.caption?.text, "the graph");
      const t2 = b.fake.pushMessage({ chatId: "ops", authorId: alice, text: "/graph alone" });
      await b.fake.waitFor(() => replies(t2.messageId).length > 0, 5_000);
      assert.equal(replies(t2.messageId)[0]?.kind, "photo");
      // A trigger removed meanwhile: the picture still arrives, as a plain post.
      b.fake.pushMessage({ chatId: "ops", authorId: alice, text: "/graph gone" });
      await b.fake.waitFor(
        () => b.fake.messagesIn("ops").filter((x) => x.kind === "photo").length === 3,
        5_000,
      );
      assert.equal(
        b.fake.messagesIn("ops").filter((x) => x.kind === "photo").at(-1)?.replyMessageId,
        undefined,
      );
    } finally {
      await r.close();
      await asset.shutdown();
    }
  });
});

Deno.test("a trigger call dropped because its hook was paused or revoked: the author is told, not left with 'retrying'", async () => {
  await withBot((b) =>
    withHookTo(
      b,
      { name: "deploys", triggers: ["/deploy"] },
      () => new Response("down", { status: 503 }),
      async ({ alice }) => {
        const said = (id: string) =>
          b.fake.messagesIn("ops").filter((x) => x.replyMessageId === id).map((x) => x.text ?? "");
        const t = b.fake.pushMessage({ chatId: "ops", authorId: alice, text: "/deploy prod" });
        await b.fake.waitFor(() => said(t.messageId).some((x) => /answered 503, retrying/.test(x)));
        b.fake.pushMessage({
          chatId: "ops",
          authorId: alice,
          text: `${b.mention} /webhook_pause deploys`,
        });
        await b.fake.waitFor(() => said(t.messageId).length === 2, 8_000);
        assert.match(said(t.messageId)[1]!, /^❌ deploys: not sent: the webhook was paused\./);

        b.fake.pushMessage({
          chatId: "ops",
          authorId: alice,
          text: `${b.mention} /webhook_resume deploys`,
        });
        await b.fake.waitFor(() => posted(b, "ops").some((x) => /resumed/.test(x)));
        const t2 = b.fake.pushMessage({ chatId: "ops", authorId: alice, text: "/deploy again" });
        await b.fake.waitFor(() => said(t2.messageId).some((x) => /retrying/.test(x)));
        b.fake.pushMessage({
          chatId: "ops",
          authorId: alice,
          text: `${b.mention} /webhook_revoke deploys`,
        });
        await b.fake.waitFor(() => said(t2.messageId).length === 2, 8_000);
        assert.match(said(t2.messageId)[1]!, /^❌ deploys: not sent: the webhook was revoked\./);
      },
    )
  );
});

Deno.test("a message wrapped in <p> (as an HTML client may send it) is read as the command parser reads it: its trigger calls, its /webhook_ command is never sent", async () => {
  await withBot((b) =>
    withHookTo(
      b,
      { name: "deploys", triggers: ["/deploy"] },
      () => Response.json({ text: "deploying" }),
      async ({ alice, r }) => {
        b.fake.pushMessage({
          chatId: "ops",
          authorId: alice,
          text: `<p>${b.mention} /deploy staging</p>`,
          parseMode: "html",
        });
        const call = await r.nth(1);
        assert.equal(call.body.trigger, "/deploy");
        assert.equal(call.body.args, "staging");
        await b.fake.waitFor(() => posted(b, "ops").includes("deploying"));
        assert.ok(
          !posted(b, "ops").some((t) => /Webhooks for this chat/.test(t)),
          "a trigger word, not an unknown command answered with help",
        );
      },
    )
  );
  await withBot((b) =>
    withHookTo(b, { name: "audit" }, () => new Response(null, { status: 204 }), async (t) => {
      b.fake.pushMessage({
        chatId: "ops",
        authorId: t.alice,
        text: `<p>${b.mention} /webhook_list</p>`,
        parseMode: "html",
      });
      await b.fake.waitFor(() => posted(b, "ops").some((x) => /audit/.test(x)));
      // One more message proves the command was not sent before it.
      b.fake.pushMessage({ chatId: "ops", authorId: t.alice, text: "after" });
      const first = await t.r.nth(1);
      assert.equal((first.body.message as { text: string }).text, "after");
    })
  );
});

Deno.test("/webhook_pause drops the calls still waiting at once, as it says: a resume right after does not send them", async () => {
  await withBot((b) =>
    withHookTo(
      b,
      { name: "deploys", triggers: ["/deploy"] },
      // The next try would be 10 minutes away.
      () => new Response("busy", { status: 503, headers: { "retry-after": "600" } }),
      async ({ alice, r }) => {
        const said = (id: string) =>
          b.fake.messagesIn("ops").filter((x) => x.replyMessageId === id).map((x) => x.text ?? "");
        const t = b.fake.pushMessage({ chatId: "ops", authorId: alice, text: "/deploy prod" });
        await b.fake.waitFor(() => said(t.messageId).some((x) => /answered 503, retrying/.test(x)));
        const paused = await command(b, "ops", "/webhook_pause deploys");
        assert.match(paused, /calls still waiting are dropped/);
        await b.fake.waitFor(() => said(t.messageId).length === 2);
        assert.match(said(t.messageId)[1]!, /^❌ deploys: not sent: the webhook was paused\./);
        assert.match(await command(b, "ops", "/webhook_resume deploys"), /resumed/);
        // The next call is the only one made after the first: the dropped one stays dropped.
        const t2 = b.fake.pushMessage({ chatId: "ops", authorId: alice, text: "/deploy again" });
        const second = await r.nth(2);
        assert.equal((second.body.message as { id: string }).id, t2.messageId);
        assert.equal(r.calls.length, 2);
      },
    )
  );
});

Deno.test("a call whose hook is paused while its attempt runs is dropped when the attempt fails, not retried", async () => {
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => release = resolve);
  await withBot((b) =>
    withHookTo(
      b,
      { name: "deploys", triggers: ["/deploy"] },
      async () => {
        await held;
        return new Response("busy", { status: 503 });
      },
      async ({ alice, r }) => {
        const t = b.fake.pushMessage({ chatId: "ops", authorId: alice, text: "/deploy prod" });
        await r.nth(1);
        assert.match(await command(b, "ops", "/webhook_pause deploys"), /paused/);
        release();
        await b.fake.waitFor(() =>
          b.fake.messagesIn("ops").some((x) =>
            x.replyMessageId === t.messageId &&
            /not sent: the webhook was paused/.test(x.text ?? "")
          )
        );
        assert.ok(
          !b.fake.messagesIn("ops").some((x) => /retrying/.test(x.text ?? "")),
          "not told 'retrying' for a call that will not be retried",
        );
      },
    )
  );
});

Deno.test("a Markdown trigger: text and args are the plain text a reader sees; markup keeps what the author sent", async () => {
  await withBot(async (b) => {
    const alice = b.fake.userId("alice");
    b.addGroup({ chatId: "ops", title: "Ops", owner: alice });
    let secret = "";
    const r = startReceiver(() => secret);
    try {
      secret = (await makeOutgoingHook(b, {
        chatId: "ops",
        name: "deploys",
        url: r.url,
        triggers: ["/deploy"],
      })).secret;
      const sent = "**/deploy** `web_1` to _eu\\_west_ ([notes](https://ci.example.com/n))";
      b.fake.pushMessage({ chatId: "ops", authorId: alice, text: sent, parseMode: "markdown" });
      const call = await r.nth(1);
      const message = call.body.message as BodyMessage;
      assert.equal(call.body.trigger, "/deploy");
      assert.equal(call.body.args, "web_1 to eu_west (notes)");
      assert.equal(message.text, "/deploy web_1 to eu_west (notes)");
      assert.equal(message.parseMode, "markdown");
      assert.equal(message.markup, sent);
    } finally {
      await r.close();
    }
  });
});

// Issue 12: "Per hook in order, one call at a time; hooks in parallel." The engine test proves
// it for jobs in general; this is the outgoing path end to end: a service that holds its answer
// holds its own hook's next call, and no other hook's.
Deno.test("one call at a time per hook, hooks in parallel: a held service holds only its own hook", async () => {
  // The longest call time: the held call must not time out (and be retried) on a loaded machine.
  await withOutgoingBot({ WEBHOOK_OUTGOING_TIMEOUT_SECONDS: "30" }, async (b) => {
    const alice = b.fake.userId("alice");
    b.addGroup({ chatId: "ops", title: "Ops", owner: alice });
    const secrets = { slow: "", fast: "" };
    const held = Promise.withResolvers<void>();
    let inFlight = 0;
    let mostInFlight = 0;
    const slow = startReceiver(() => secrets.slow, async () => {
      mostInFlight = Math.max(mostInFlight, ++inFlight);
      await held.promise;
      inFlight--;
      return new Response(null, { status: 204 });
    });
    const fast = startReceiver(() => secrets.fast);
    try {
      const to = (name: string, url: string) =>
        makeOutgoingHook(b, { chatId: "ops", name, url, triggers: [`/${name}`] });
      secrets.slow = (await to("slow", slow.url)).secret;
      secrets.fast = (await to("fast", fast.url)).secret;
      b.fake.pushMessage({ chatId: "ops", authorId: alice, text: "/slow one" });
      await slow.nth(1);
      b.fake.pushMessage({ chatId: "ops", authorId: alice, text: "/slow two" });
      b.fake.pushMessage({ chatId: "ops", authorId: alice, text: "/fast now" });
      // The other hook's call is made while the first service still holds its answer…
      assert.equal((await fast.nth(1)).body.args, "now");
      // …and the held hook's next call is not (its "two" came before "now" was pushed).
      assert.equal(slow.calls.length, 1);
      held.resolve();
      assert.equal((await slow.nth(2)).body.args, "two");
      assert.equal(mostInFlight, 1);
    } finally {
      held.resolve();
      await slow.close();
      await fast.close();
    }
  });
});
