/**
 * Discord / Chatalot bodies through decodeBody → detectFormat, as the endpoint runs them.
 * Fixtures: `dialects/discord_embed.json` follows the embed object of Discord's developer
 * docs (Resources → Message → Embed Object, and Execute Webhook's JSON/form params);
 * `dialects/chatalot_seed.json` is the `{content, username, avatar_url}` body of Chatalot's
 * webhook docs (research seed 002).
 *
 * @module
 */
import assert from "node:assert/strict";
import { discordToMarkdown } from "../../../src/ingest/formats/discord.ts";
import { dialectFixture, post, refused } from "./_request.ts";

const JSON_TYPE = "application/json";

Deno.test("Chatalot's {content, username, avatar_url} is Discord: username heads the text, answered discord", async () => {
  const r = await post(dialectFixture("chatalot_seed"), JSON_TYPE);
  assert.equal(r.format, "discord");
  assert.equal(r.reply, "discord");
  assert.equal(r.message.text, "**Backup Bot**: Nightly backup completed: 42 GB in 18 minutes");
  assert.equal(r.echo?.message, "Nightly backup completed: 42 GB in 18 minutes");
});

Deno.test("a Discord embed renders like a Slack attachment; its image is a photo by URL; link buttons become links", async () => {
  const r = await post(dialectFixture("discord_embed"), JSON_TYPE);
  assert.equal(r.format, "discord");
  assert.equal(
    r.message.text,
    [
      "**CI**: Deploy of @80351110224678912 finished 2024-05-01 12:00 UTC",
      "",
      "[alice](https://github.com/alice)",
      "🟢 **[api v1.4.2](https://ci.example.com/runs/42)**",
      "Rolled out to **production** in 3m 12s.",
      "> no errors",
      "**Environment**: production",
      "**Commit**: [a1b2c3d](https://github.com/org/api/commit/a1b2c3d)",
      "_GitHub Actions · 2024-05-01 12:00 UTC_",
      "",
      "[Open run](https://ci.example.com/runs/42)",
    ].join("\n"),
  );
  // image wins over thumbnail, as Slack's image_url over thumb_url.
  assert.deepEqual(r.message.attachments, [
    { kind: "photo", source: { type: "url", url: "https://ci.example.com/charts/42.png" } },
  ]);
});

Deno.test("an embed thumbnail beside a title or description is decoration, not a photo captioned with the embed", async () => {
  // Discord draws `thumbnail` small in the embed's corner (an avatar, a status icon); posted as
  // a photo, the embed's text became its caption.
  const body = (embed: Record<string, unknown>) =>
    JSON.stringify({ embeds: [{ thumbnail: { url: "https://i.example/icon.png" }, ...embed }] });
  const beside = await post(body({ title: "Backup", description: "done" }), JSON_TYPE);
  assert.equal(beside.message.text, "**Backup**\ndone");
  assert.deepEqual(beside.message.attachments, []);
  const alone = await post(body({}), JSON_TYPE);
  assert.deepEqual(alone.message.attachments.map((a) => a.source), [
    { type: "url", url: "https://i.example/icon.png" },
  ]);
});

Deno.test("multipart payload_json + files[0]/files[1]: text from the JSON, uploads as photo and document, renamed by attachments[]", async () => {
  const form = new FormData();
  form.append(
    "payload_json",
    JSON.stringify({
      content: "Report attached",
      attachments: [{ id: 1, filename: "report-2024-05.txt" }],
    }),
  );
  const png = Uint8Array.fromBase64(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
  );
  form.append("files[0]", new File([png], "chart.png", { type: "image/png" }));
  form.append("files[1]", new File(["line 1\n"], "r.txt", { type: "text/plain" }));
  const request = new Request("http://x/", { method: "POST", body: form });
  const r = await post(
    new Uint8Array(await request.arrayBuffer()),
    request.headers.get("content-type"),
  );
  assert.equal(r.format, "discord");
  assert.equal(r.message.text, "Report attached");
  assert.deepEqual(
    r.message.attachments.map((a) => [a.kind, a.filename, a.mimeType]),
    [["photo", "chart.png", "image/png"], ["document", "report-2024-05.txt", "text/plain"]],
  );
});

Deno.test("an embed image `attachment://<file>` is the uploaded file: posted once, not a text line", async () => {
  // Grafana's Discord contact point uploads the alert's screenshot as `files[0]` and points the
  // embed at it with `attachment://<name>`, as Discord's docs describe; that is no URL to show
  // or fetch.
  const form = new FormData();
  form.append(
    "payload_json",
    JSON.stringify({
      content: "**Firing**",
      embeds: [{
        title: "[FIRING:1] HighCPU",
        color: 14037554,
        image: { url: "attachment://abc.png" },
        thumbnail: { url: "attachment://abc.png" },
      }],
    }),
  );
  const png = Uint8Array.fromBase64(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
  );
  form.append("files[0]", new File([png], "abc.png", { type: "image/png" }));
  const request = new Request("http://x/", { method: "POST", body: form });
  const r = await post(
    new Uint8Array(await request.arrayBuffer()),
    request.headers.get("content-type"),
  );
  assert.equal(r.message.text, "**Firing**\n\n🔴 **\\[FIRING:1\\] HighCPU**");
  assert.deepEqual(r.message.attachments.map((a) => [a.kind, a.filename]), [["photo", "abc.png"]]);
});

Deno.test("a form with a `file` part and `content` field (no payload_json) is Discord too", async () => {
  const form = new FormData();
  form.append("content", "see log");
  form.append("file", new File(["boom"], "err.log", { type: "text/plain" }));
  const request = new Request("http://x/", { method: "POST", body: form });
  const r = await post(
    new Uint8Array(await request.arrayBuffer()),
    request.headers.get("content-type"),
  );
  assert.equal(r.format, "discord");
  assert.equal(r.message.text, "see log");
  assert.equal(r.message.attachments[0]?.filename, "err.log");
});

Deno.test("content longer than Discord's 2000 (and Chatalot's 4000) is taken whole, not refused", async () => {
  const long = "x".repeat(9000);
  const r = await post(JSON.stringify({ content: long }), JSON_TYPE);
  assert.equal(r.message.text, long);
});

Deno.test("more than 10 embeds and an empty message are refused with Discord's reasons", async () => {
  const many = await refused(
    post(JSON.stringify({ embeds: Array.from({ length: 11 }, () => ({ title: "t" })) }), JSON_TYPE),
  );
  assert.equal(many.code, "invalid_embeds");
  assert.equal(many.status, 400);
  const empty = await refused(post(JSON.stringify({ content: "", username: "x" }), JSON_TYPE));
  assert.equal(empty.code, "empty_payload");
  const bad = await refused(
    post("payload_json=%7Bnope", "application/x-www-form-urlencoded", { format: "discord" }),
  );
  assert.equal(bad.code, "invalid_json");
  assert.match(bad.message, /payload_json/);
});

Deno.test("?format=discord forces it; a body with `text` is not guessed as Discord", async () => {
  assert.notEqual((await post('{"text":"hi","embeds":[]}', JSON_TYPE)).format, "discord");
  const forced = await post('{"content":"hi"}', JSON_TYPE, { format: "discord" });
  assert.equal(forced.format, "discord");
});

Deno.test("Discord markdown: mentions, roles, channels, timestamps, custom emoji, headings, <url>; code kept", () => {
  assert.equal(
    discordToMarkdown("<@123> <@!456> <@&7> <#8> <:party:99> <t:1714564800:F> <https://x.io/a>"),
    "@123 @456 @role-7 #8 :party: 2024-05-01 12:00 UTC https://x.io/a",
  );
  assert.equal(discordToMarkdown("# Release\n-# small print"), "**Release**\n_small print_");
  assert.equal(
    discordToMarkdown("`<@1>` and ```\n# not a heading\n```"),
    "`<@1>` and ```\n# not a heading\n```",
  );
});

Deno.test("Discord mention rules: allowed_mentions without everyone, and any embed, never address @everyone/@here", async () => {
  // Discord pings @everyone/@here in `content` unless `allowed_mentions.parse` leaves
  // "everyone" out, and never for text inside embeds. A word joiner after the `@` keeps the
  // bot's mention layer from turning them into a TrueConf @all.
  const joined = "@\u2060";
  const quiet = await post(
    JSON.stringify({ content: "@everyone deploy at 5", allowed_mentions: { parse: ["users"] } }),
    JSON_TYPE,
  );
  assert.equal(quiet.message.text, `${joined}everyone deploy at 5`);
  const loud = await post(
    JSON.stringify({ content: "@everyone deploy at 5", allowed_mentions: { parse: ["everyone"] } }),
    JSON_TYPE,
  );
  assert.equal(loud.message.text, "@everyone deploy at 5");
  const plain = await post(JSON.stringify({ content: "@here look" }), JSON_TYPE);
  assert.equal(plain.message.text, "@here look");
  const embed = await post(
    JSON.stringify({ embeds: [{ description: "@here and @everyone, see mail@here.example" }] }),
    JSON_TYPE,
  );
  assert.equal(embed.message.text, `${joined}here and ${joined}everyone, see mail@here.example`);
});
