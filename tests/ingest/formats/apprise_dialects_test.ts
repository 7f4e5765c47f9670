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
import { isNtfyPublish } from "../../../src/ingest/formats/ntfy.ts";
import { post } from "./_request.ts";

interface Capture {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly bodyBase64: string;
}

function capture(name: string): Capture {
  return JSON.parse(
    Deno.readTextFileSync(new URL(`../fixtures/real/apprise-1.2.0_${name}.json`, import.meta.url)),
  ) as Capture;
}

/** Replays a capture as the HTTP layer sees it; `format` as the route would force it. */
function replay(name: string, format?: string) {
  const c = capture(name);
  const url = new URL(c.path, "http://x");
  const query = Object.fromEntries(url.searchParams);
  const headers = new Map(Object.entries(c.headers));
  const contentType = c.headers["content-type"] ?? null;
  const ntfy = isNtfyPublish(headers, c.method, new Map(Object.entries(query)));
  return post(Uint8Array.fromBase64(c.bodyBase64), contentType, {
    headers: c.headers,
    query,
    route: url.pathname.startsWith("/hooks/") ? "hooks" : "hook",
    // At the server root ntfy reads the body as a JSON publish; at a topic URL, as the message.
    raw: ntfy && url.pathname !== "/" && !(contentType ?? "").startsWith("multipart/"),
    ...(format !== undefined ? { format } : ntfy ? { format: "ntfy" } : {}),
  });
}

Deno.test("Apprise discord://: content with the title, username; embeds for Markdown; a file as multipart", async () => {
  const text = await replay("discord_text");
  assert.equal(text.format, "discord");
  assert.equal(text.message.text, "Backup finished\nNightly backup of **db1** done in 4m 12s");
  const named = await replay("discord_username");
  assert.equal(named.message.text, "**Apprise**: Disk full\nOnly 2% left on /var");
  const embed = await replay("discord_markdown_embed");
  assert.equal(embed.format, "discord");
  assert.equal(
    embed.message.text,
    "[Apprise](https://github.com/caronc/apprise)\n🔵 **Deploy**\n**Release 1.2**:\n```md\n- fixed <https://x.example/1>\n```",
  );
  const file = await replay("discord_attach");
  assert.equal(file.format, "discord");
  assert.equal(file.message.text, "**Apprise**");
  assert.deepEqual(file.message.attachments.map((a) => [a.kind, a.filename]), [[
    "photo",
    "dialects-red.png",
  ]]);
});

Deno.test("Apprise msteams://: the MessageCard's activity title and text; answered 1", async () => {
  const r = await replay("msteams");
  assert.equal(r.format, "teams");
  assert.equal(r.reply, "teams_connector");
  assert.equal(r.message.text, "**Build failed**\nJob **api** failed on main");
});

Deno.test("Apprise gchat://: text-only is native unless a thread key is given", async () => {
  const plain = await replay("gchat");
  assert.equal(plain.format, "native");
  const thread = await replay("gchat_thread");
  assert.equal(thread.format, "googlechat");
  assert.equal(thread.echo?.threadKey, "threadkey1");
  assert.equal(thread.message.text, "threaded update");
});

Deno.test("Apprise ntfy://: JSON to the server root with the topic; X-Priority/X-Tags/X-Click headers; attachment as multipart with ?title&message&filename", async () => {
  const json = await replay("ntfy_json");
  assert.equal(json.format, "ntfy");
  assert.equal(json.echo?.topic, "toktopic");
  assert.equal(json.message.text, "**Disk full**\nOnly 2% left");
  // Apprise sends X- headers next to a JSON body: ntfy reads them with it.
  const tagged = await replay("ntfy_json_priority_tags");
  assert.equal(tagged.format, "ntfy");
  assert.equal(
    tagged.message.text,
    "🚨 💀 ⚠️ **Disk full**\nOnly 2% left\n\nTags: backup\n[Open](https://grafana.example.com/d/1)",
  );
  const attach = await replay("ntfy_attach");
  assert.equal(attach.format, "ntfy");
  assert.equal(attach.message.text, "**Chart**\nsee attached");
  assert.deepEqual(attach.message.attachments.map((a) => [a.kind, a.filename]), [[
    "photo",
    "dialects-red.png",
  ]]);
});

Deno.test("Apprise gotify://: JSON with X-Gotify-Key; Markdown display extras; priority 8 is urgent", async () => {
  const r = await replay("gotify", "gotify");
  assert.equal(r.message.text, "**Backup**\nBackup done");
  const md = await replay("gotify_markdown", "gotify");
  assert.equal(md.message.text, "🚨 **Deploy**\n**v1.2** is live");
});

Deno.test("Apprise rocket:// (webhook mode): {text, avatar} is Rocket.Chat; without avatar it is native", async () => {
  const r = await replay("rocket");
  assert.equal(r.format, "rocketchat");
  assert.equal(r.message.text, "Build\nBuild #42 passed");
  assert.equal((await replay("rocket_no_avatar")).format, "mattermost");
});
