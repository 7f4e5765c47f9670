/**
 * ntfy publishes as ntfy's docs show them ("Publishing": curl with `Title`, `Priority`, `Tags`,
 * `Click`, `Attach`, `Filename`, `Markdown`, `Actions` headers and their query-parameter forms;
 * "Publish as JSON"; "Attach local file" with `-T` and `Filename`), passed undecoded
 * (`raw`) as the HTTP layer does once {@link isNtfyPublish} says so.
 *
 * @module
 */
import assert from "node:assert/strict";
import { isNtfyPublish, ntfyTopic } from "../../../src/ingest/formats/ntfy_publish.ts";
import { post, refused } from "./_request.ts";

function publish(
  body: string | Uint8Array,
  headers: Record<string, string> = {},
  query: Record<string, string> = {},
) {
  return post(body, headers["Content-Type"] ?? null, { raw: true, headers, query });
}

Deno.test("ntfy docs example: title, urgent priority and tags (emoji before the title, other tags listed)", async () => {
  const r = await publish("Remote access to phils-laptop detected. Act right away.", {
    Title: "Unauthorized access detected",
    Priority: "urgent",
    Tags: "warning,skull,backup",
  });
  assert.equal(r.format, "ntfy");
  assert.equal(r.reply, "ntfy");
  assert.equal(
    r.message.text,
    "🚨 ⚠️ 💀 **Unauthorized access detected**\nRemote access to phils-laptop detected. Act right away.\n\nTags: backup",
  );
  assert.deepEqual(r.echo, {
    topic: undefined,
    title: "Unauthorized access detected",
    message: "Remote access to phils-laptop detected. Act right away.",
    priority: 5,
    tags: ["warning", "skull", "backup"],
    click: undefined,
  });
});

Deno.test("X- headers, short aliases and query parameters all work; priority 4 is ❗, 3 shows nothing", async () => {
  const a = await publish("disk 91%", { "X-Title": "db1", "X-Priority": "4" });
  assert.equal(a.message.text, "❗ **db1**\ndisk 91%");
  const b = await publish("disk 91%", { t: "db1", p: "3", ta: "db1" });
  assert.equal(b.message.text, "**db1**\ndisk 91%\n\nTags: db1");
  const c = await publish("", {}, {
    title: "From query",
    message: "msg in query",
    priority: "high",
  });
  assert.equal(c.message.text, "❗ **From query**\nmsg in query");
});

Deno.test("Click becomes an Open link, view actions become links, http actions are left out; Markdown: yes keeps markup", async () => {
  const r = await publish("Look: **bold**", {
    Click: "https://home.nest.com/",
    Actions:
      "view, Open portal, https://home.nest.com/, clear=true; http, Turn down, https://api.nest.com/, body='{\"temp\": 65}'",
    Markdown: "yes",
  });
  assert.equal(
    r.message.text,
    "Look: **bold**\n\n[Open](https://home.nest.com/) · [Open portal](https://home.nest.com/)",
  );
  const plain = await publish("Look: **bold**", { Title: "x" });
  assert.equal(plain.message.text, "**x**\nLook: \\*\\*bold\\*\\*");
  const json = await publish("m", {
    Actions: '[{"action":"view","label":"Logs","url":"https://ci.example.com/logs"}]',
  });
  assert.equal(json.message.text, "m\n\n[Logs](https://ci.example.com/logs)");
});

Deno.test("Content-Type: text/markdown is ntfy's other Markdown switch; a header message's \\n is a line break", async () => {
  // ntfy server.go: `markdown || contentType == "text/markdown"`, and the `Message` header has
  // its literal `\n` turned into newlines (headers cannot carry a line break).
  const md = await publish("Look ma, **bold text**", { "Content-Type": "text/markdown" });
  assert.equal(md.message.text, "Look ma, **bold text**");
  const lines = await publish("", { Message: "line one\\nline two", Title: "t" });
  assert.equal(lines.message.text, "**t**\nline one\nline two");
});

Deno.test("a binary body, or any body with Filename, is an upload; Attach is a URL attachment", async () => {
  const png = Uint8Array.fromBase64(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
  );
  const upload = await publish(png, { Filename: "flower.jpg", Title: "Flower" });
  assert.equal(upload.message.text, "**Flower**");
  assert.equal(upload.message.attachments.length, 1);
  assert.equal(upload.message.attachments[0]?.kind, "photo");
  assert.equal(upload.message.attachments[0]?.filename, "flower.jpg");
  assert.equal(upload.echo?.message, "You received a file: flower.jpg");
  const noName = await publish(png, { Title: "raw" });
  assert.equal(noName.message.attachments[0]?.filename, "attachment");
  const textFile = await publish("a,b\n1,2\n", { Filename: "data.csv" });
  assert.equal(textFile.message.attachments[0]?.kind, "document");
  const attach = await publish("", {
    Attach: "https://f-droid.org/F-Droid.apk",
    Filename: "fdroid.apk",
  });
  assert.deepEqual(attach.message.attachments, [
    {
      kind: "document",
      source: { type: "url", url: "https://f-droid.org/F-Droid.apk" },
      filename: "fdroid.apk",
    },
  ]);
});

Deno.test("JSON publish {topic, message, title, tags, priority, click, attach, actions}", async () => {
  const r = await post(
    JSON.stringify({
      topic: "tok123",
      message: "Disk space is low at 5.1 GB",
      title: "Low disk space alert",
      tags: ["warning", "cd"],
      priority: 4,
      attach: "https://filesrv.lan/space.jpg",
      filename: "diskspace.jpg",
      click: "https://homecamera.lan/xasds1h2xsSsa/",
      actions: [{ action: "view", label: "Admin panel", url: "https://filesrv.lan/admin" }],
    }),
    "application/json",
  );
  assert.equal(r.format, "ntfy");
  assert.equal(
    r.message.text,
    "❗ ⚠️ 💿 **Low disk space alert**\nDisk space is low at 5.1 GB\n\n[Open](https://homecamera.lan/xasds1h2xsSsa/) · [Admin panel](https://filesrv.lan/admin)",
  );
  assert.equal(r.message.attachments[0]?.kind, "photo");
  assert.equal(r.echo?.topic, "tok123");
  assert.equal(ntfyTopic({ topic: "tok123", message: "x" }), "tok123");
  assert.equal(ntfyTopic({ message: "x" }), undefined);
});

Deno.test('bad priority and non-http Attach are refused; an empty publish is ntfy\'s "triggered"', async () => {
  assert.equal(
    (await refused(publish("x", { Priority: "6", Title: "t" }))).code,
    "invalid_priority",
  );
  assert.equal((await publish("", { "X-Tags": "done" })).message.text, "triggered\n\nTags: done");
  assert.equal((await refused(publish("x", { Attach: "file:///etc/passwd" }))).code, "invalid_url");
  // Beside an Attach URL the body is the message, so it must be text (ntfy: 400 "not UTF-8").
  const binary = new Uint8Array([0xff, 0xfe, 0x00, 0x01]);
  assert.equal(
    (await refused(publish(binary, { Attach: "https://example.com/a.bin" }))).code,
    "invalid_encoding",
  );
});

Deno.test("isNtfyPublish: PUT, ntfy headers, an ntfy Priority; not a browser's RFC 9218 Priority", () => {
  const h = (o: Record<string, string>) => new Map(Object.entries(o));
  assert.equal(isNtfyPublish(h({}), "PUT"), true);
  assert.equal(isNtfyPublish(h({}), "PUT", undefined, "image/png"), true);
  // Grafana's contact point with HTTP method PUT; an ntfy JSON upload still says Filename.
  assert.equal(isNtfyPublish(h({}), "PUT", undefined, "application/json; charset=utf-8"), false);
  assert.equal(
    isNtfyPublish(h({ filename: "a.json" }), "PUT", undefined, "application/json"),
    true,
  );
  assert.equal(isNtfyPublish(h({ title: "x" })), true);
  assert.equal(isNtfyPublish(h({ t: "x" })), true);
  assert.equal(isNtfyPublish(h({ "x-tags": "a" })), true);
  assert.equal(isNtfyPublish(h({ priority: "high" })), true);
  assert.equal(isNtfyPublish(h({ priority: "u=3, i" })), false);
  assert.equal(isNtfyPublish(h({ "content-type": "application/json" })), false);
  // `curl -H "Content-Type: text/markdown" -d "**hi**" ntfy.sh/topic` (ntfy's Markdown docs).
  assert.equal(isNtfyPublish(h({}), "POST", undefined, "text/markdown; charset=utf-8"), true);
  assert.equal(isNtfyPublish(h({}), "POST", undefined, "text/plain"), false);
});
