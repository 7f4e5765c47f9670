/**
 * The success answers in each sender's dialect, from the parse result of real bodies.
 *
 * @module
 */
import assert from "node:assert/strict";
import { type AcceptedMessage, successAnswer } from "../../../src/ingest/formats/answer.ts";
import { post } from "./_request.ts";

const now = new Date("2024-05-01T12:00:00.000Z");
function accepted(query: Record<string, string> = {}, queued = false): AcceptedMessage {
  return {
    messageIds: queued ? [] : ["msg-1", "msg-2"],
    ...(queued && { deliveryId: "dlv-9" }),
    hookId: "hook-1",
    chatId: "chat-1",
    query: (name) => query[name],
    now,
  };
}

Deno.test("native JSON keeps the bot's own answer; Slack and Mattermost get ok", async () => {
  assert.equal(
    successAnswer(await post('{"text":"a"}', "application/json"), accepted()),
    undefined,
  );
  assert.deepEqual(
    successAnswer(await post('{"attachments":[{"text":"a"}]}', "application/json"), accepted()),
    { status: 200, body: "ok" },
  );
});

Deno.test("Discord: 204 without ?wait; with ?wait=true the created message {id, channel_id, content, timestamp}", async () => {
  const p = await post('{"content":"hello **there**","username":"CI"}', "application/json");
  assert.deepEqual(successAnswer(p, accepted()), { status: 204, body: null });
  const waited = successAnswer(p, accepted({ wait: "true" }));
  assert.equal(waited?.status, 200);
  const { id, type, channel_id, webhook_id, content, timestamp } = waited?.body as Record<
    string,
    unknown
  >;
  assert.deepEqual({ id, type, channel_id, webhook_id, content, timestamp }, {
    id: "msg-1",
    type: 0,
    channel_id: "chat-1",
    webhook_id: "hook-1",
    content: "hello **there**",
    timestamp: "2024-05-01T12:00:00.000Z",
  });
  // Queued: the delivery id stands in for the message id.
  assert.equal(
    (successAnswer(p, accepted({ wait: "true" }, true))?.body as Record<string, unknown>).id,
    "dlv-9",
  );
});

Deno.test("Discord ?wait=true: the whole message object Discord returns (author, embeds, attachments, flags …)", async () => {
  // Discord's execute-webhook answer with wait=true is a full message object; typed clients
  // (twilight, serenity, discord.py's WebhookMessage) read `author`, `embeds`, `attachments`,
  // `mentions`, `pinned`, `tts`, `edited_timestamp` … as required fields.
  const form = new FormData();
  form.set(
    "payload_json",
    JSON.stringify({
      content: "nightly",
      username: "CI",
      embeds: [{ title: "Build 42", color: 5763719 }],
    }),
  );
  form.set("files[0]", new File(["log line\n"], "build.log", { type: "text/plain" }));
  const request = new Request("http://x", { method: "POST", body: form });
  const p = await post(
    new Uint8Array(await request.arrayBuffer()),
    request.headers.get("content-type"),
  );
  const body = successAnswer(p, accepted({ wait: "true" }))?.body as Record<string, unknown>;
  assert.deepEqual(body, {
    id: "msg-1",
    type: 0,
    content: "nightly",
    channel_id: "chat-1",
    author: { id: "hook-1", username: "CI", avatar: null, discriminator: "0000", bot: true },
    attachments: [{ id: "0", filename: "build.log", size: 9, content_type: "text/plain" }],
    embeds: [{ type: "rich", title: "Build 42", color: 5763719 }],
    mentions: [],
    mention_roles: [],
    pinned: false,
    mention_everyone: false,
    tts: false,
    timestamp: "2024-05-01T12:00:00.000Z",
    edited_timestamp: null,
    flags: 0,
    components: [],
    webhook_id: "hook-1",
  });
});

Deno.test("Teams: connector cards get 200 `1`, Workflows cards 202", async () => {
  const connector = await post('{"@type":"MessageCard","text":"x"}', "application/json");
  assert.deepEqual(successAnswer(connector, accepted()), { status: 200, body: "1" });
  const workflow = await post(
    '{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive","content":{"type":"AdaptiveCard","body":[{"type":"TextBlock","text":"x"}]}}]}',
    "application/json",
  );
  assert.equal(successAnswer(workflow, accepted())?.status, 202);
});

Deno.test("ntfy, Gotify, Google Chat and Rocket.Chat answer their services' message JSON", async () => {
  const ntfy = await post("Backup done", null, {
    raw: true,
    headers: { Title: "nas", Tags: "floppy_disk", Priority: "high" },
  });
  assert.deepEqual(successAnswer(ntfy, accepted())?.body, {
    id: "msg-1",
    time: 1714564800,
    expires: 1714564800 + 43200,
    event: "message",
    topic: "",
    message: "Backup done",
    title: "nas",
    tags: ["floppy_disk"],
    priority: 4,
  });
  const gotify = await post('{"title":"t","message":"m","priority":2}', "application/json", {
    format: "gotify",
  });
  const g = successAnswer(gotify, accepted())?.body as Record<string, unknown>;
  assert.equal(typeof g.id, "number");
  assert.deepEqual({ ...g, id: 0 }, {
    id: 0,
    appid: 1,
    message: "m",
    title: "t",
    priority: 2,
    date: "2024-05-01T12:00:00.000Z",
  });
  const chat = await post('{"text":"hi"}', "application/json", { query: { threadKey: "k1" } });
  assert.deepEqual(successAnswer(chat, accepted())?.body, {
    name: "spaces/chat-1/messages/msg-1",
    sender: { name: "users/hook-1", type: "BOT" },
    text: "hi",
    createTime: "2024-05-01T12:00:00.000Z",
    thread: { name: "spaces/chat-1/threads/k1", threadKey: "k1" },
    space: { name: "spaces/chat-1", type: "ROOM" },
  });
  const rocket = await post('{"alias":"x","text":"y"}', "application/json");
  assert.deepEqual(successAnswer(rocket, accepted()), { status: 200, body: { success: true } });
});

Deno.test("ntfy's answer names the attachment (upload or Attach URL) and Markdown, as ntfy's message JSON does", async () => {
  // ntfy's message JSON: `attachment {name, type, size, url}` for an upload or an Attach URL,
  // `content_type: "text/markdown"` for a Markdown publish (server/types.go).
  const upload = await post(new TextEncoder().encode("%PDF-1.4 report"), "application/pdf", {
    raw: true,
    headers: { Filename: "report.pdf" },
  });
  const a = successAnswer(upload, accepted())?.body as Record<string, unknown>;
  assert.equal(a.message, "You received a file: report.pdf");
  assert.deepEqual(a.attachment, { name: "report.pdf", type: "application/pdf", size: 15 });
  const attach = await post("see picture", null, {
    raw: true,
    headers: { Attach: "https://example.com/cam/front.jpg", Markdown: "yes" },
  });
  const b = successAnswer(attach, accepted())?.body as Record<string, unknown>;
  assert.deepEqual(b.attachment, { name: "front.jpg", url: "https://example.com/cam/front.jpg" });
  assert.equal(b.content_type, "text/markdown");
});
