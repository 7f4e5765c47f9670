import assert from "node:assert/strict";
import { post, refused } from "./_request.ts";

const JSON_TYPE = "application/json";

async function multipart(build: (form: FormData) => void): Promise<[Uint8Array, string]> {
  const form = new FormData();
  build(form);
  const request = new Request("http://x/", { method: "POST", body: form });
  return [new Uint8Array(await request.arrayBuffer()), request.headers.get("content-type") ?? ""];
}

Deno.test("native JSON with every field becomes text, parse mode, photos and documents in order", async () => {
  const result = await post(
    JSON.stringify({
      text: "**Backup** done",
      parse_mode: "markdown",
      images: [{ url: "https://cdn.example.com/a.png" }, { url: "http://cdn.example.com/b.jpg" }],
      files: [{ url: "https://cdn.example.com/r.pdf", filename: "report.pdf" }, {
        url: "https://cdn.example.com/x",
      }],
    }),
    JSON_TYPE,
  );
  assert.equal(result.format, "native");
  assert.equal(result.reply, "json");
  assert.deepEqual(result.message, {
    text: "**Backup** done",
    parseMode: "markdown",
    attachments: [
      { kind: "photo", source: { type: "url", url: "https://cdn.example.com/a.png" } },
      { kind: "photo", source: { type: "url", url: "http://cdn.example.com/b.jpg" } },
      {
        kind: "document",
        source: { type: "url", url: "https://cdn.example.com/r.pdf" },
        filename: "report.pdf",
      },
      { kind: "document", source: { type: "url", url: "https://cdn.example.com/x" } },
    ],
  });
});

Deno.test("a text-only body gives the same message as one that goes through the schema", async () => {
  // `{"text"}` and `{"text","parse_mode"}` are read without the schema (issue 16); a null
  // field beside them takes the schema's path. Both must give the same message.
  for (const mode of [undefined, "markdown", "html", "text"]) {
    const fields = { text: "line 1\r\nline 2\r", ...(mode ? { parse_mode: mode } : {}) };
    const direct = await post(JSON.stringify(fields), JSON_TYPE);
    const schema = await post(JSON.stringify({ ...fields, images: null }), JSON_TYPE);
    assert.equal(direct.format, "native");
    assert.deepEqual(direct.message, schema.message);
    assert.deepEqual(direct.message, {
      text: "line 1\nline 2\n",
      parseMode: mode ?? "text",
      attachments: [],
    });
  }
  for (
    const [body, code] of [
      ['{"text":"hi","parse_mode":"bbcode"}', "invalid_parse_mode"],
      ['{"text":"  ","parse_mode":"html"}', "empty_payload"],
      ['{"text":7}', "invalid_field_type"],
    ]
  ) assert.equal((await refused(post(body!, JSON_TYPE))).code, code, body!);
});

Deno.test("parse_mode defaults to text, and null fields count as absent", async () => {
  const result = await post('{"text":"*kept as is*","parse_mode":null,"images":null}', JSON_TYPE);
  assert.equal(result.message.parseMode, "text");
  assert.equal(result.message.text, "*kept as is*");
});

Deno.test("images alone (no text) are enough to post", async () => {
  const result = await post('{"images":[{"url":"https://x.io/p.png"}]}', JSON_TYPE);
  assert.equal(result.message.text, "");
  assert.equal(result.message.attachments.length, 1);
});

Deno.test("multipart: text, parse_mode, repeated image_url/file_url and uploaded image/file parts; unknown parts ignored", async () => {
  const [bytes, type] = await multipart((form) => {
    form.append("text", "Nightly <b>build</b>");
    form.append("parse_mode", "html");
    form.append("image_url", "https://x.io/1.png");
    form.append("image_url", "https://x.io/2.png");
    form.append("file_url", "https://x.io/log.txt");
    form.append(
      "image",
      new File([new Uint8Array([0x89, 0x50, 0x4e, 0x47])], "shot.png", { type: "image/png" }),
    );
    form.append("file", new File(["a,b\n1,2\n"], "data.csv", { type: "text/csv" }));
    form.append("something_else", new File(["?"], "ignored.bin"));
  });
  const result = await post(bytes, type);
  assert.equal(result.format, "native");
  assert.equal(result.message.text, "Nightly <b>build</b>");
  assert.equal(result.message.parseMode, "html");
  assert.deepEqual(
    result.message.attachments.map((
      a,
    ) => [a.kind, a.source.type === "url" ? a.source.url : a.filename, a.mimeType]),
    [
      ["photo", "https://x.io/1.png", undefined],
      ["photo", "https://x.io/2.png", undefined],
      ["document", "https://x.io/log.txt", undefined],
      ["photo", "shot.png", "image/png"],
      ["document", "data.csv", "text/csv"],
    ],
  );
  const upload = result.message.attachments[3];
  assert.deepEqual(upload?.source, {
    type: "bytes",
    bytes: new Uint8Array([0x89, 0x50, 0x4e, 0x47]),
  });
});

Deno.test("curl -d text=hello (form-urlencoded) posts plain text", async () => {
  const result = await post("text=hello+world%21", "application/x-www-form-urlencoded");
  assert.deepEqual(result.message, { text: "hello world!", parseMode: "text", attachments: [] });
});

Deno.test("a text/plain body is the message text, line breaks normalised", async () => {
  const result = await post("line 1\r\nline 2", "text/plain");
  assert.equal(result.format, "native");
  assert.equal(result.message.text, "line 1\nline 2");
});

Deno.test("a wrong field type names the field and the expected type (invalid_field_type)", async () => {
  const text = await refused(post('{"text":5}', JSON_TYPE));
  assert.equal(text.code, "invalid_field_type");
  assert.equal(text.message, 'Field "text" must be a string, got a number.');
  const images = await refused(post('{"images":"https://x.io/a.png"}', JSON_TYPE));
  assert.equal(images.code, "invalid_field_type");
  assert.equal(images.message, 'Field "images" must be an array, got a string.');
  const entry = await refused(post('{"files":["https://x.io/a.pdf"]}', JSON_TYPE));
  assert.equal(entry.message, 'Field "files[0]" must be an object, got a string.');
});

Deno.test("an unknown parse_mode lists the allowed ones (invalid_parse_mode), in JSON and in forms", async () => {
  const json = await refused(post('{"text":"x","parse_mode":"MarkdownV2"}', JSON_TYPE));
  assert.equal(json.code, "invalid_parse_mode");
  assert.equal(
    json.message,
    'parse_mode must be one of "text", "markdown", "html"; got "MarkdownV2".',
  );
  const form = await refused(post("text=x&parse_mode=md", "application/x-www-form-urlencoded"));
  assert.equal(form.code, "invalid_parse_mode");
});

Deno.test("nothing to post is refused with empty_payload", async () => {
  for (
    const [body, type] of [['{"text":""}', JSON_TYPE], ['{"text":"   "}', JSON_TYPE], [
      "",
      "text/plain",
    ], ["parse_mode=text", "application/x-www-form-urlencoded"]]
  ) {
    const error = await refused(post(body as string, type as string));
    assert.equal(error.code, "empty_payload", String(body));
    assert.equal(
      error.message,
      "Nothing to post: send a non-empty text or at least one image or file.",
    );
  }
});

Deno.test("attachment URLs must be http(s) strings (invalid_url)", async () => {
  const notString = await refused(post('{"images":[{"url":42}]}', JSON_TYPE));
  assert.equal(notString.code, "invalid_url");
  assert.equal(notString.message.includes("images[0].url"), true);
  const scheme = await refused(post('{"files":[{"url":"file:///etc/passwd"}]}', JSON_TYPE));
  assert.equal(scheme.code, "invalid_url");
  const form = await refused(
    post("text=x&image_url=javascript:alert(1)", "application/x-www-form-urlencoded"),
  );
  assert.equal(form.code, "invalid_url");
  assert.equal(form.message.includes("image_url[0]"), true);
});

Deno.test("?format=native forces the native reading even for a Slack-looking body", async () => {
  const result = await post('{"text":"*x*","attachments":[]}', JSON_TYPE, { format: "native" });
  assert.equal(result.format, "native");
  assert.equal(result.message.text, "*x*");
});
