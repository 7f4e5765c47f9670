/**
 * Requests made by the real Apprise 1.2.0 (Debian bookworm package) plugins for Discord, MS
 * Teams, Google Chat, ntfy, Gotify and Rocket.Chat, captured with `scripts/interop/recorder.ts`
 * (`scripts/interop/apprise_dialects.py` sends them; docs/interop.md says how). Discord, Teams
 * and Google Chat URLs are fixed hosts in Apprise, so the script pointed the plugins' URL
 * templates at the recorder; the bodies are the plugins' own. Replayed here through the path
 * the endpoint uses for each (ntfy JSON at `/`, Gotify at `/message`).
 *
 * @module
 */
import assert from "node:assert/strict";
import { replay } from "./_request.ts";

/** A capture of Apprise 1.2.0's `name` plugin request. */
const replayApprise = (name: string, format?: string) => replay(`apprise-1.2.0_${name}`, format);

Deno.test("Apprise discord://: content with the title, username; embeds for Markdown; a file as multipart", async () => {
  const text = await replayApprise("discord_text");
  assert.equal(text.format, "discord");
  assert.equal(text.message.text, "Backup finished\nNightly backup of **db1** done in 4m 12s");
  const named = await replayApprise("discord_username");
  assert.equal(named.message.text, "**Apprise**: Disk full\nOnly 2% left on /var");
  const embed = await replayApprise("discord_markdown_embed");
  assert.equal(embed.format, "discord");
  assert.equal(
    embed.message.text,
    "[Apprise](https://github.com/caronc/apprise)\n🔵 **Deploy**\n**Release 1.2**:\n```md\n- fixed <https://x.example/1>\n```",
  );
  const file = await replayApprise("discord_attach");
  assert.equal(file.format, "discord");
  assert.equal(file.message.text, "**Apprise**");
  assert.deepEqual(file.message.attachments.map((a) => [a.kind, a.filename]), [[
    "photo",
    "dialects-red.png",
  ]]);
});

Deno.test("Apprise msteams://: the MessageCard's activity title and text; answered 1", async () => {
  const r = await replayApprise("msteams");
  assert.equal(r.format, "teams");
  assert.equal(r.reply, "teams_connector");
  assert.equal(r.message.text, "**Build failed**\nJob **api** failed on main");
});

Deno.test("Apprise gchat://: text-only is native unless a thread key is given", async () => {
  const plain = await replayApprise("gchat");
  assert.equal(plain.format, "native");
  const thread = await replayApprise("gchat_thread");
  assert.equal(thread.format, "googlechat");
  assert.equal(thread.echo?.threadKey, "threadkey1");
  assert.equal(thread.message.text, "threaded update");
});

Deno.test("Apprise ntfy://: JSON to the server root with the topic; X-Priority/X-Tags/X-Click headers; attachment as multipart with ?title&message&filename", async () => {
  const json = await replayApprise("ntfy_json");
  assert.equal(json.format, "ntfy");
  assert.equal(json.echo?.topic, "toktopic");
  assert.equal(json.message.text, "**Disk full**\nOnly 2% left");
  // Apprise sends X- headers next to a JSON body: ntfy reads them with it.
  const tagged = await replayApprise("ntfy_json_priority_tags");
  assert.equal(tagged.format, "ntfy");
  assert.equal(
    tagged.message.text,
    "🚨 💀 ⚠️ **Disk full**\nOnly 2% left\n\nTags: backup\n[Open](https://grafana.example.com/d/1)",
  );
  const attach = await replayApprise("ntfy_attach");
  assert.equal(attach.format, "ntfy");
  assert.equal(attach.message.text, "**Chart**\nsee attached");
  assert.deepEqual(attach.message.attachments.map((a) => [a.kind, a.filename]), [[
    "photo",
    "dialects-red.png",
  ]]);
});

Deno.test("Apprise gotify://: JSON with X-Gotify-Key; Markdown display extras; priority 8 is urgent", async () => {
  const r = await replayApprise("gotify", "gotify");
  assert.equal(r.message.text, "**Backup**\nBackup done");
  const md = await replayApprise("gotify_markdown", "gotify");
  assert.equal(md.message.text, "🚨 **Deploy**\n**v1.2** is live");
});

Deno.test("Apprise rocket:// (webhook mode): {text, avatar} is Rocket.Chat; without avatar it is native", async () => {
  const r = await replayApprise("rocket");
  assert.equal(r.format, "rocketchat");
  assert.equal(r.message.text, "Build\nBuild #42 passed");
  assert.equal((await replayApprise("rocket_no_avatar")).format, "mattermost");
});
