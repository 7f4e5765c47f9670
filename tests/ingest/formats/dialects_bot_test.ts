/**
 * The new dialects through the whole bot as `serve` wires it (createBot, durable queue, a hook
 * made with `/webhook_create` in a group chat), on a real socket, against the fake TrueConf:
 * Slack's own client (`@slack/webhook`, npm) sends a text-only body; Discord, Teams, Google
 * Chat, ntfy, Gotify and Rocket.Chat bodies are POSTed as their senders do; each sender's
 * answer and each chat message are checked.
 *
 * @module
 */
import assert from "node:assert/strict";
import { IncomingWebhook } from "@slack/webhook";
import { startBotWithFake } from "../../support/bot_with_fake.ts";
import { dialectFixture } from "./_request.ts";

Deno.test("whole bot: Slack's client, Discord, Teams, Google Chat, ntfy, Gotify, Rocket.Chat → answers and chat text", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dialects-bot-" });
  const world = await startBotWithFake({ dir, readyTimeoutMs: 10_000 });
  try {
    const { fake, baseUrl } = world;
    const alice = fake.userId("alice");
    world.addGroup({ chatId: "ops", title: "Ops", owner: alice });
    const { url, token } = await world.createHook("ops", "alerts", alice);
    /** The next chat message in `ops` after `count` messages. */
    const next = async (count: number) => {
      await fake.waitFor(() => fake.messagesIn("ops").length > count);
      return fake.messagesIn("ops")[count]!;
    };
    // The group hears "Webhook alerts created" (the URL went by DM); count from there.
    await fake.waitFor(() => fake.messagesIn("ops").some((m) => /created/.test(m.text ?? "")));
    let seen = fake.messagesIn("ops").length;

    // Slack's official client, default send({text}) with Slack markup: it checks for "ok".
    const slack = new IncomingWebhook(url);
    const sent = await slack.send({
      text: "Deploy <https://ci.example.com/7|build 7> by <@U1|alice>",
    });
    assert.equal(sent.text, "ok");
    // <@U1|alice> names a participant of the chat: a TrueConf mention that notifies (issue 14).
    assert.equal(
      (await next(seen++)).text,
      "Deploy [build 7](https://ci.example.com/7) by [Alice](trueconf:alice@video.example.com)",
    );

    const json = { "content-type": "application/json" };
    // Discord with ?wait=true: the created message.
    const discord = await fetch(`${url}?wait=true`, {
      method: "POST",
      headers: json,
      body: '{"content":"Nightly **ok**","username":"Backup"}',
    });
    assert.equal(discord.status, 200);
    const created = await discord.json();
    assert.equal(created.content, "Nightly **ok**");
    assert.equal(created.channel_id, "ops");
    const discordPost = await next(seen++);
    assert.equal(discordPost.text, "**Backup**: Nightly **ok**");
    assert.equal(created.id, discordPost.messageId);
    // Discord's "edit webhook message" is PATCH <webhook url>/messages/<id>: with the id from
    // ?wait=true it edits the chat message (living messages).
    const edit = await fetch(`${url}/messages/${created.id}`, {
      method: "PATCH",
      headers: json,
      body: '{"content":"Nightly **ok** (verified)"}',
    });
    assert.equal(edit.ok, true, await edit.clone().text());
    await edit.body?.cancel();
    await fake.waitFor(() =>
      fake.messagesIn("ops")[seen - 1]?.text === "Nightly **ok** (verified)"
    );

    // Teams connector card → "1".
    const teams = await fetch(url, {
      method: "POST",
      headers: json,
      body: new Uint8Array(dialectFixture("teams_alertmanager_msteams")),
    });
    assert.equal(teams.status, 200);
    assert.equal(await teams.text(), "1");
    assert.match((await next(seen++)).text ?? "", /^🔴 \*\*\\\[FIRING:1\\\] DiskFull/);

    // Google Chat's threadKey threads as Google does (living messages): the first message with
    // the key starts the thread, the next one replies to it.
    const first = await fetch(`${url}?threadKey=deploy-7`, {
      method: "POST",
      headers: json,
      body: '{"text":"Deploy 7 *started*"}',
    });
    assert.equal((await first.json()).thread.threadKey, "deploy-7");
    const rootPost = await next(seen++);
    assert.equal(rootPost.text, "Deploy 7 **started**");
    assert.equal(rootPost.replyMessageId, undefined);
    const gchat = await fetch(`${url}?threadKey=deploy-7`, {
      method: "POST",
      headers: json,
      body: '{"text":"Deploy *done*"}',
    });
    assert.equal((await gchat.json()).thread.threadKey, "deploy-7");
    const threaded = await next(seen++);
    assert.equal(threaded.text, "Deploy **done**");
    assert.equal(threaded.replyMessageId, rootPost.messageId);

    // ntfy: headers publish, then the JSON publish to the server root with the token as topic.
    const ntfy = await fetch(url, {
      method: "POST",
      headers: { Title: "Disk", Priority: "urgent", Tags: "warning" },
      body: "92% on /var",
    });
    assert.equal((await ntfy.json()).event, "message");
    assert.equal((await next(seen++)).text, "🚨 ⚠️ **Disk**\n92% on /var");
    const atRoot = await fetch(`${baseUrl}/`, {
      method: "POST",
      body: JSON.stringify({ topic: token, message: "root publish" }),
    });
    assert.equal(atRoot.status, 200);
    assert.equal((await atRoot.json()).topic, token);
    assert.equal((await next(seen++)).text, "root publish");

    // Gotify.
    const gotify = await fetch(`${baseUrl}/message`, {
      method: "POST",
      headers: { ...json, "X-Gotify-Key": token },
      body: '{"title":"Backup","message":"done","priority":5}',
    });
    assert.equal((await gotify.json()).title, "Backup");
    assert.equal((await next(seen++)).text, "**Backup**\ndone");

    // Rocket.Chat.
    const rocket = await fetch(url, {
      method: "POST",
      headers: json,
      body: '{"alias":"CI","emoji":":rocket:","text":"*shipped*"}',
    });
    assert.deepEqual(await rocket.json(), { success: true });
    assert.equal((await next(seen++)).text, "🚀 **CI**: **shipped**");
  } finally {
    await world.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("whole bot on a 5.5.6 server: each dialect's link buttons become URL buttons under the text (Slack's already did)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dialect-buttons-" });
  const world = await startBotWithFake({
    dir,
    readyTimeoutMs: 10_000,
    fake: { serverVersion: "5.5.6.12000" },
  });
  try {
    const { fake, baseUrl } = world;
    const alice = fake.userId("alice");
    world.addGroup({ chatId: "ops", title: "Ops", owner: alice });
    const { url, token } = await world.createHook("ops", "alerts", alice);
    await fake.waitFor(() => fake.messagesIn("ops").some((m) => /created/.test(m.text ?? "")));
    const json = { "content-type": "application/json" };
    /** POSTs and returns the buttons of the chat message it made. */
    const buttonsOf = async (target: string, init: RequestInit) => {
      const seen = fake.messagesIn("ops").length;
      const res = await fetch(target, { method: "POST", ...init });
      assert.ok(res.ok, `${res.status} ${await res.clone().text()}`);
      await res.body?.cancel();
      await fake.waitFor(() => fake.messagesIn("ops").length > seen);
      return fake.messagesIn("ops")[seen]!.buttons;
    };

    // Discord: an action row of link buttons (style 5); the interactive one (style 1) has no URL.
    assert.deepEqual(
      await buttonsOf(url, {
        headers: json,
        body: JSON.stringify({
          content: "Release 1.4 is out",
          components: [{
            type: 1,
            components: [
              { type: 2, style: 5, label: "Changelog", url: "https://example.com/changes" },
              { type: 2, style: 1, label: "Ack", custom_id: "ack" },
              { type: 2, style: 5, label: "Download", url: "https://example.com/dl" },
            ],
          }],
        }),
      }),
      [[
        { label: "Changelog", url: "https://example.com/changes" },
        { label: "Download", url: "https://example.com/dl" },
      ]],
    );

    // Teams Workflows: Action.OpenUrl in the card's actions.
    assert.deepEqual(
      await buttonsOf(url, {
        headers: json,
        body: JSON.stringify({
          type: "message",
          attachments: [{
            contentType: "application/vnd.microsoft.card.adaptive",
            content: {
              type: "AdaptiveCard",
              body: [{ type: "TextBlock", text: "Build 42 failed" }],
              actions: [{
                type: "Action.OpenUrl",
                title: "Open build",
                url: "https://ci.example.com/42",
              }],
            },
          }],
        }),
      }),
      [[{ label: "Open build", url: "https://ci.example.com/42" }]],
    );

    // Teams connector card: an OpenUri potentialAction.
    assert.deepEqual(
      await buttonsOf(url, {
        headers: json,
        body: JSON.stringify({
          "@type": "MessageCard",
          title: "Deploy",
          text: "done",
          potentialAction: [{
            "@type": "OpenUri",
            name: "View",
            targets: [{ os: "default", uri: "https://example.com/deploy" }],
          }],
        }),
      }),
      [[{ label: "View", url: "https://example.com/deploy" }]],
    );

    // Google Chat: a buttonList widget (Uptime Kuma's card).
    assert.deepEqual(
      await buttonsOf(url, {
        headers: json,
        body: JSON.stringify({
          cardsV2: [{
            card: {
              header: { title: "Site went down" },
              sections: [{
                widgets: [{
                  buttonList: {
                    buttons: [{
                      text: "Visit Uptime Kuma",
                      onClick: { openLink: { url: "https://kuma.example.com/dashboard/1" } },
                    }],
                  },
                }],
              }],
            },
          }],
        }),
      }),
      [[{ label: "Visit Uptime Kuma", url: "https://kuma.example.com/dashboard/1" }]],
    );

    // ntfy: Click and a view action.
    assert.deepEqual(
      await buttonsOf(url, {
        headers: {
          Title: "Door",
          Click: "https://home.example.com/",
          Actions: "view, Open camera, https://home.example.com/cam",
        },
        body: "Someone rang",
      }),
      [[
        { label: "Open", url: "https://home.example.com/" },
        { label: "Open camera", url: "https://home.example.com/cam" },
      ]],
    );

    // Gotify: extras client::notification click.url.
    assert.deepEqual(
      await buttonsOf(`${baseUrl}/message`, {
        headers: { ...json, "X-Gotify-Key": token },
        body: JSON.stringify({
          title: "Backup",
          message: "done",
          extras: { "client::notification": { click: { url: "https://nas.example.com/" } } },
        }),
      }),
      [[{ label: "Open", url: "https://nas.example.com/" }]],
    );
  } finally {
    await world.close();
    await Deno.remove(dir, { recursive: true });
  }
});
