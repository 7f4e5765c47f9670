import assert from "node:assert/strict";
import { appriseFormat } from "../../../src/ingest/formats/apprise.ts";
import { PayloadError } from "../../../src/ingest/formats/types.ts";
import { fixture, formInput, input, jsonInput } from "./_input.ts";

const enc = new TextEncoder();

Deno.test("apprise json: title, message, type emoji and base64 attachments (golden)", () => {
  const parsed = appriseFormat.parse(jsonInput(fixture("apprise_json")));
  assert.equal(parsed.format, "apprise");
  assert.equal(parsed.reply, "json");
  assert.equal(parsed.message.parseMode, "markdown");
  assert.equal(
    parsed.message.text,
    "✅ **Backup finished**\nNightly backup of db1 completed in 4m 12s.\nArchive: db1\\_2024-06-03.tar.zst",
  );
  const [photo, doc] = parsed.message.attachments;
  assert.equal(parsed.message.attachments.length, 2);
  assert.equal(photo?.kind, "photo");
  assert.equal(photo?.filename, "chart.png");
  assert.equal(photo?.mimeType, "image/png");
  assert.ok(photo?.source.type === "bytes" && photo.source.bytes.length === 70);
  assert.deepEqual(photo.source.bytes.slice(0, 4), new Uint8Array([0x89, 0x50, 0x4e, 0x47]));
  assert.equal(doc?.kind, "document");
  assert.equal(doc?.filename, "backup.log");
  assert.ok(doc?.source.type === "bytes");
  assert.equal(new TextDecoder().decode(doc.source.bytes), "started 02:00\ndone 02:04\n");
});

Deno.test("apprise json: what Apprise 1.2 sends without attachments", () => {
  const body = {
    version: "1.0",
    title: "",
    message: "disk *almost* full",
    attachments: [],
    type: "warning",
  };
  const input = jsonInput(body);
  assert.equal(appriseFormat.detect(input), true);
  assert.equal(appriseFormat.parse(input).message.text, "⚠️ disk \\*almost\\* full");
  const info = appriseFormat.parse(jsonInput({ ...body, type: "info", title: "T" })).message.text;
  assert.equal(info, "ℹ️ **T**\ndisk \\*almost\\* full");
  const failure = appriseFormat.parse(jsonInput({ ...body, type: "failure" })).message.text;
  assert.ok(failure.startsWith("❌ "));
});

Deno.test("apprise json: invalid base64 is a 400 naming the attachment index", () => {
  assert.throws(
    () => appriseFormat.parse(jsonInput(fixture("apprise_bad_base64"))),
    (e) =>
      e instanceof PayloadError && e.code === "invalid_attachment" && e.status === 400 &&
      e.message.includes("attachments[1]"),
  );
  for (
    const attachments of ["x", [null], [{ filename: 1, base64: "b2sK" }], [{ filename: "a" }], [{
      base64: "",
    }]]
  ) {
    assert.throws(
      () => appriseFormat.parse(jsonInput({ version: "1.0", message: "m", attachments })),
      (e) => e instanceof PayloadError && e.code === "invalid_attachment",
      JSON.stringify(attachments),
    );
  }
});

Deno.test("apprise json: url-safe base64 and data: prefixes decode; SVG stays a document", () => {
  const parsed = appriseFormat.parse(jsonInput({
    version: "1.0",
    message: "m",
    attachments: [
      { filename: "a.bin", base64: "-_-_", mimetype: "application/octet-stream" },
      {
        filename: "b.svg",
        base64: "data:image/svg+xml;base64,PHN2Zy8+",
        mimetype: "image/svg+xml",
      },
      { filename: "c.jpg", base64: "/9j/4A==" },
    ],
  }));
  const [a, b, c] = parsed.message.attachments;
  assert.ok(a?.source.type === "bytes");
  assert.deepEqual(a.source.bytes, new Uint8Array([0xfb, 0xff, 0xbf]));
  assert.equal(b?.kind, "document");
  assert.equal(c?.kind, "photo");
});

Deno.test("apprise form: fields and every file part become the message", () => {
  const files = [
    {
      field: "file01",
      filename: "shot.png",
      contentType: "image/png",
      bytes: new Uint8Array([1, 2, 3]),
    },
    {
      field: "attach",
      filename: "report.pdf",
      contentType: "application/pdf",
      bytes: enc.encode("%PDF"),
    },
    { field: "file03", filename: "", contentType: "", bytes: new Uint8Array() },
  ];
  const body = formInput({
    version: "1.0",
    title: "Deploy",
    message: "v1.2 is live",
    type: "success",
  }, files);
  assert.equal(appriseFormat.detect(body), true);
  const parsed = appriseFormat.parse(body);
  assert.equal(parsed.message.text, "✅ **Deploy**\nv1.2 is live");
  assert.deepEqual(parsed.message.attachments.map((a) => [a.kind, a.filename, a.mimeType]), [
    ["photo", "shot.png", "image/png"],
    ["document", "report.pdf", "application/pdf"],
  ]);
});

Deno.test("apprise form: urlencoded body without files; empty notification is refused", () => {
  const parsed = appriseFormat.parse(
    formInput({ version: "1.0", title: "", message: "hello", type: "info" }),
  );
  assert.equal(parsed.message.text, "ℹ️ hello");
  assert.throws(
    () => appriseFormat.parse(formInput({ message: "", title: "" })),
    (e) => e instanceof PayloadError && e.code === "empty_payload",
  );
  assert.throws(
    () =>
      appriseFormat.parse(
        formInput({ message: "m" }, [{
          field: "f",
          filename: "x.txt",
          contentType: "",
          bytes: new Uint8Array(),
        }]),
      ),
    (e) => e instanceof PayloadError && e.code === "invalid_attachment",
  );
});

Deno.test("apprise: detection leaves native, Slack and Grafana bodies alone", () => {
  assert.equal(appriseFormat.detect(jsonInput({ text: "hi", message: "x", title: "t" })), false);
  assert.equal(appriseFormat.detect(jsonInput({ message: "only a message" })), false);
  assert.equal(appriseFormat.detect(jsonInput({ message: "m", type: "info" })), true);
  assert.equal(appriseFormat.detect(jsonInput({ message: "m", type: "custom" })), false);
  assert.equal(appriseFormat.detect(formInput({ text: "hi", message: "x" })), false);
  assert.equal(appriseFormat.detect(formInput({ payload: "{}" })), false);
  assert.equal(appriseFormat.detect(input({ kind: "text", text: "message" })), false);
  assert.throws(
    () => appriseFormat.parse(input({ kind: "text", text: "x" })),
    (e) => e instanceof PayloadError && e.code === "invalid_payload",
  );
});

Deno.test("apprise: title and message cannot inject markup", () => {
  const text = appriseFormat.parse(jsonInput({
    version: "1.0",
    title: "**x** [a](javascript:alert(1))",
    message: "[y](https://evil.example)",
    type: "info",
  })).message.text;
  assert.equal(
    text,
    "ℹ️ **\\*\\*x\\*\\* \\[a\\]\\(javascript:alert\\(1\\)\\)**\n\\[y\\]\\(https://evil.example\\)",
  );
});
