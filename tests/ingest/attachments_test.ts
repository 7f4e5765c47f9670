// Attachments through the hook endpoint, end to end: URLs served by a real local HTTP server
// (reachable only because the allowlist names 127.0.0.1), uploads in multipart bodies, the
// real preview worker, and the fake TrueConf server recording what the chat shows.
import assert from "node:assert/strict";
import {
  CHAT_ID,
  type EndpointHarness,
  serveFiles,
  withEndpoint,
} from "../support/endpoint_harness.ts";
import { parseAllowlist } from "../../src/net/mod.ts";
import { gradient, png } from "../delivery/preview/_images.ts";
import type { SentRecord } from "../support/fake_trueconf.ts";

const PNG = png(gradient(320, 200), 320, 200);
const PDF = new TextEncoder().encode("%PDF-1.4\n% fake report\n%%EOF\n");
const LOCAL = { urlAllowlist: parseAllowlist("127.0.0.1/32") };

type Json = Record<string, unknown>;

function posted(h: EndpointHarness, from = 0): SentRecord[] {
  return h.fake.messagesIn(CHAT_ID).slice(from);
}

function assertPhoto(m: SentRecord | undefined, bytes: Uint8Array) {
  assert.equal(m?.kind, "photo", "posted as a photo (the upload carried a preview part)");
  assert.equal(m.preview?.mimeType, "image/jpeg");
  assert.ok(m.preview!.size > 0 && m.preview!.size < bytes.length * 4);
  assert.deepEqual(m.file?.bytes, bytes, "the original image is the file part");
}

function assertDocument(m: SentRecord | undefined, name: string, bytes: Uint8Array) {
  assert.equal(m?.kind, "document");
  assert.equal(m.preview, undefined, "documents carry no preview part");
  assert.equal(m.file?.name, name);
  assert.deepEqual(m.file?.bytes, bytes);
}

async function ok(res: Response): Promise<Json> {
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.equal(body.ok, true);
  return body;
}

function postForm(
  h: EndpointHarness,
  token: string,
  form: FormData | Uint8Array<ArrayBuffer>,
  type?: string,
) {
  return h.request(`/hook/${token}`, {
    method: "POST",
    ...(type ? { headers: { "content-type": type } } : {}),
    body: form,
  });
}

Deno.test("attachments by URL: images become photos with a preview, files documents", async (t) => {
  const files = serveFiles({
    "/chart.png": { body: PNG, type: "image/png" },
    "/r.pdf": { body: PDF, type: "application/pdf" },
    "/page.html": { body: "<html>not an image</html>", type: "text/html" },
  });
  try {
    await withEndpoint(LOCAL, async (h) => {
      const token = await h.hook();

      await t.step(
        "JSON text + image + file: text first, then each attachment, in order",
        async () => {
          const body = await ok(
            await h.postJson(token, {
              text: "nightly report",
              images: [{ url: `${files.base}/chart.png` }],
              files: [{ url: `${files.base}/r.pdf`, filename: "report-2024.pdf" }],
            }),
          );
          const [text, photo, doc] = posted(h);
          assert.equal(text?.text, "nightly report");
          assertPhoto(photo, PNG);
          assertDocument(doc, "report-2024.pdf", PDF);
          assert.equal(photo!.caption, undefined, "two attachments: the text is its own message");
          assert.deepEqual(body.messages, [text!.messageId, photo!.messageId, doc!.messageId]);
        },
      );

      await t.step("text is optional with an attachment; the URL's file name is kept", async () => {
        const from = posted(h).length;
        await ok(await h.postJson(token, { files: [{ url: `${files.base}/r.pdf` }] }));
        const [doc] = posted(h, from);
        assertDocument(doc, "r.pdf", PDF);
        assert.equal(posted(h, from).length, 1);
      });

      await t.step(
        "a single attachment with short text carries the text as its caption",
        async () => {
          const from = posted(h).length;
          const body = await ok(
            await h.postJson(token, {
              text: "**CPU** chart",
              parse_mode: "markdown",
              images: [{ url: `${files.base}/chart.png` }],
            }),
          );
          const all = posted(h, from);
          assert.equal(all.length, 1, "one message: the photo with a caption");
          assertPhoto(all[0], PNG);
          assert.deepEqual(all[0]!.caption, { text: "**CPU** chart", parseMode: "markdown" });
          assert.deepEqual(body.messages, [all[0]!.messageId]);
        },
      );

      await t.step("a single attachment with long text: text message, then the file", async () => {
        const from = posted(h).length;
        const text = "details ".repeat(300).trim(); // 2399 characters: too long for a caption
        await ok(await h.postJson(token, { text, files: [{ url: `${files.base}/r.pdf` }] }));
        const [first, second] = posted(h, from);
        assert.equal(first?.text, text);
        assert.equal(second?.kind, "document");
        assert.equal(second.caption, undefined);
      });

      await t.step("multipart repeated image_url and file_url", async () => {
        const from = posted(h).length;
        const form = new FormData();
        form.append("image_url", `${files.base}/chart.png`);
        form.append("image_url", `${files.base}/chart.png`);
        form.append("file_url", `${files.base}/r.pdf`);
        form.append("file_url", `${files.base}/r.pdf`);
        const body = await ok(await postForm(h, token, form));
        const all = posted(h, from);
        assert.deepEqual(all.map((m) => m.kind), ["photo", "photo", "document", "document"]);
        assert.equal((body.messages as string[]).length, 4);
      });

      await t.step("image URL that is a 404 next to text → 502 partial_delivery", async () => {
        const from = posted(h).length;
        const res = await h.postJson(token, {
          text: "with a broken chart",
          images: [{ url: `${files.base}/missing.png` }, { url: `${files.base}/chart.png` }],
        });
        const body = await res.json();
        assert.equal(res.status, 502, JSON.stringify(body));
        assert.equal(body.ok, false);
        assert.equal(body.error, "partial_delivery");
        assert.match(body.message, /1 part/);
        const all = posted(h, from);
        assert.deepEqual(all.map((m) => m.kind), ["text", "photo"]);
        assert.deepEqual(body.messages, all.map((m) => m.messageId));
        assert.equal(body.failed.length, 1);
        assert.equal(body.failed[0].item, `image 1 (${files.base}/missing.png)`);
        assert.equal(body.failed[0].code, "fetch_failed");
        assert.match(body.failed[0].message, /404/);
      });

      await t.step(
        "one broken image with a short text: the text still reaches the chat (502 names the image)",
        async () => {
          const from = posted(h).length;
          const res = await h.postJson(token, {
            text: "nightly chart",
            images: [{ url: `${files.base}/missing.png` }],
          });
          const body = await res.json();
          assert.equal(res.status, 502, JSON.stringify(body));
          assert.equal(body.error, "partial_delivery");
          assert.equal(body.message, "1 part could not be posted; the rest reached the chat.");
          const all = posted(h, from);
          assert.deepEqual(all.map((m) => [m.kind, m.text]), [["text", "nightly chart"]]);
          assert.deepEqual(body.messages, [all[0]!.messageId]);
          assert.equal(body.failed[0].item, `image 1 (${files.base}/missing.png)`);
        },
      );

      await t.step("an image URL that serves HTML fails as not an image", async () => {
        const res = await h.postJson(token, {
          text: "x",
          images: [{ url: `${files.base}/page.html` }, { url: `${files.base}/chart.png` }],
        });
        const body = await res.json();
        assert.equal(res.status, 502);
        assert.equal(body.failed[0].item, `image 1 (${files.base}/page.html)`);
      });

      await t.step(
        "every part failing → 502 listing each failed item, nothing posted",
        async () => {
          const from = posted(h).length;
          const res = await h.postJson(token, {
            images: [{ url: `${files.base}/gone1.png` }],
            files: [{ url: `${files.base}/gone2.pdf` }],
          });
          const body = await res.json();
          assert.equal(res.status, 502, JSON.stringify(body));
          assert.equal(body.ok, false);
          // The README's code for "none of it arrived" (partial_delivery when some did).
          assert.equal(body.error, "delivery_failed");
          assert.equal(body.message, "No part of the message could be posted.");
          assert.deepEqual(
            body.failed.map((f: Json) => f.item),
            [`image 1 (${files.base}/gone1.png)`, `file 1 (${files.base}/gone2.pdf)`],
          );
          assert.equal(posted(h, from).length, 0);
        },
      );
    });

    await t.step(
      "without the allowlist the same local URL is refused at request time",
      async () => {
        await withEndpoint({}, async (h) => {
          const token = await h.hook();
          const hits = files.hits.length;
          const res = await h.postJson(token, { images: [{ url: `${files.base}/chart.png` }] });
          const body = await res.json();
          assert.equal(res.status, 400);
          assert.equal(body.error, "unsafe_url");
          assert.equal(files.hits.length, hits, "the local server was never contacted");
          assert.equal(posted(h).length, 0);
        });
      },
    );
  } finally {
    await files.close();
  }
});

/** A multipart body built by hand, to control Content-Disposition exactly. */
function multipart(
  parts: {
    name: string;
    filename?: string;
    filenameStar?: string;
    type?: string;
    body: Uint8Array | string;
  }[],
): { body: Uint8Array<ArrayBuffer>; type: string } {
  const boundary = "----endpoint-test-boundary";
  const enc = new TextEncoder();
  const chunks: Uint8Array[] = [];
  for (const p of parts) {
    let disposition = `form-data; name="${p.name}"`;
    if (p.filename !== undefined) disposition += `; filename="${p.filename}"`;
    if (p.filenameStar !== undefined) disposition += `; filename*=${p.filenameStar}`;
    chunks.push(enc.encode(
      `--${boundary}\r\nContent-Disposition: ${disposition}\r\n${
        p.type ? `Content-Type: ${p.type}\r\n` : ""
      }\r\n`,
    ));
    chunks.push(typeof p.body === "string" ? enc.encode(p.body) : p.body);
    chunks.push(enc.encode("\r\n"));
  }
  chunks.push(enc.encode(`--${boundary}--\r\n`));
  const body = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    body.set(c, at);
    at += c.length;
  }
  return { body, type: `multipart/form-data; boundary=${boundary}` };
}

Deno.test("uploads: image parts become photos with a preview, file parts documents", async (t) => {
  await withEndpoint({}, async (h) => {
    const token = await h.hook();

    await t.step("image + file uploads with text; names from Content-Disposition", async () => {
      const form = new FormData();
      form.set("text", "build 42");
      form.append("image", new File([PNG as BufferSource], "screen.png", { type: "image/png" }));
      form.append("file", new File([PDF as BufferSource], "build-log.pdf"));
      form.append("attachment", new File(["ignored"], "ignored.txt"));
      form.append("note", "ignored too");
      const body = await ok(await postForm(h, token, form));
      const all = posted(h);
      assert.equal(all.length, 3, "text, photo, document; unknown parts ignored");
      assert.equal(all[0]!.text, "build 42");
      assertPhoto(all[1], PNG);
      assert.equal(all[1]!.file?.name, "screen.png");
      assertDocument(all[2], "build-log.pdf", PDF);
      assert.deepEqual(body.messages, all.map((m) => m.messageId));
      assert.deepEqual(
        h.fake.uploads.map((u) => u.preview !== null),
        [true, false],
        "the upload endpoint saw a preview part for the photo only",
      );
    });

    await t.step("UTF-8 filename* wins over the ASCII fallback", async () => {
      const from = posted(h).length;
      const { body, type } = multipart([
        {
          name: "file",
          filename: "otchet.pdf",
          filenameStar: "UTF-8''%D0%BE%D1%82%D1%87%D1%91%D1%82%20%E2%84%962.pdf",
          type: "application/pdf",
          body: PDF,
        },
      ]);
      await ok(await postForm(h, token, body, type));
      assertDocument(posted(h, from)[0], "отчёт №2.pdf", PDF);
    });

    await t.step("a single upload with short text uses it as the caption", async () => {
      const from = posted(h).length;
      const { body, type } = multipart([
        { name: "text", body: "see attached" },
        { name: "file", filename: "C:\\Users\\bob\\notes.txt", type: "text/plain", body: "n" },
      ]);
      await ok(await postForm(h, token, body, type));
      const all = posted(h, from);
      assert.equal(all.length, 1);
      assert.equal(all[0]!.file?.name, "notes.txt", "client paths are cut to the base name");
      assert.deepEqual(all[0]!.caption, { text: "see attached", parseMode: "text" });
    });

    await t.step("an `image` part that is not an image is posted as a document", async () => {
      const from = posted(h).length;
      const form = new FormData();
      form.append("image", new File(["just text"], "fake.png", { type: "image/png" }));
      await ok(await postForm(h, token, form));
      const [m] = posted(h, from);
      assert.equal(m?.kind, "document");
      assert.equal(m.preview, undefined);
    });
  });
});

Deno.test("uploads: TrueConf refusing one upload (HTTP 400) fails that part only → 502, no retry asked", async () => {
  await withEndpoint({}, async (h) => {
    const token = await h.hook();
    h.fake.setMethodError("upload", 310, 1);
    const form = new FormData();
    form.set("text", "two files");
    form.append("file", new File(["a"], "a.txt"));
    form.append("file", new File(["b"], "b.txt"));
    const res = await postForm(h, token, form);
    const body = await res.json();
    assert.equal(res.status, 502, JSON.stringify(body));
    assert.equal(res.headers.get("retry-after"), null);
    assert.equal(body.error, "partial_delivery");
    assert.equal(body.failed.length, 1);
    assert.equal(body.failed[0].item, "file 1 (a.txt)");
    assert.equal(body.failed[0].code, "upload_failed");
    assert.match(body.failed[0].message, /400/);
    const all = posted(h);
    assert.deepEqual(all.map((m) => m.text ?? m.file?.name), ["two files", "b.txt"]);
  });
});

Deno.test("uploads: a 3 MiB binary file over HTTP reaches TrueConf byte for byte, with its real Content-Length", async () => {
  await withEndpoint({ limits: { maxBodyBytes: 8 * 1024 * 1024 } }, async (h) => {
    const token = await h.hook();
    const port = await h.listen();
    // Random bytes (every byte value, '-' about once in 256) with near misses of the delimiter:
    // the boundary without its last byte, and whole but not at the start of a line.
    const bytes = new Uint8Array(3 * 1024 * 1024 + 3);
    for (let i = 0; i < bytes.length; i += 65_536) {
      crypto.getRandomValues(bytes.subarray(i, Math.min(bytes.length, i + 65_536)));
    }
    const near = new TextEncoder().encode(
      "\r\n------endpoint-test-boundar x------endpoint-test-boundary",
    );
    for (let at = 1000; at + near.length < bytes.length; at += 700_001) bytes.set(near, at);
    const { body, type } = multipart([
      { name: "text", body: "core dump" },
      { name: "file", filename: "core.bin", type: "application/octet-stream", body: bytes },
    ]);
    const res = await fetch(`http://127.0.0.1:${port}/hook/${token}`, {
      method: "POST",
      headers: { "content-type": type },
      body,
    });
    await ok(res);
    const file = posted(h).find((m) => m.kind === "document");
    assert.equal(file?.file?.name, "core.bin");
    assert.equal(file.file.size, bytes.length);
    assert.ok(file.file.bytes.every((b, i) => b === bytes[i]), "the file's bytes arrive unchanged");
    const framing = h.fake.uploadFraming.at(-1);
    assert.equal(framing?.chunked, false, "sent with a length, not chunked");
    assert.equal(framing?.contentLength, framing?.bodyBytes);
    assert.ok(framing!.bodyBytes > bytes.length);
  });
});

Deno.test("dialect senders: an image URL that cannot be fetched fails alone, the message is posted", async (t) => {
  // Grafana, Slack-style tools and card senders attach screenshots from their own host, which
  // on premises is often a private address. Those senders never retry a 4xx: refusing the
  // whole notification for its picture lost the alert. Only the native format, whose sender
  // named the URL on purpose, is refused at request time (see the SSRF steps in app_test.ts).
  await withEndpoint({}, async (h) => {
    const token = await h.hook();

    await t.step(
      "Grafana screenshot on a private address → 200, alert posted, image failed",
      async () => {
        const from = posted(h).length;
        const grafana = JSON.parse(
          await Deno.readTextFile(new URL("./fixtures/grafana_firing.json", import.meta.url)),
        );
        for (const a of grafana.alerts) {
          a.imageURL = "http://10.1.2.3:3000/public/img/attachments/a.png";
        }
        const res = await h.postJson(token, grafana);
        const body = await res.json();
        assert.equal(res.status, 200, JSON.stringify(body));
        assert.equal(body.ok, true);
        assert.deepEqual(body.failed.map((f: Json) => f.code), ["unsafe_url"]);
        assert.match(posted(h, from)[0]?.text ?? "", /FIRING/);
      },
    );

    await t.step("Slack attachment image on loopback → ok, text posted", async () => {
      const from = posted(h).length;
      const res = await h.postJson(token, {
        attachments: [{ title: "CPU high", image_url: "http://127.0.0.1/graph.png" }],
      });
      assert.equal(res.status, 200);
      assert.equal(await res.text(), "ok");
      assert.match(posted(h, from)[0]?.text ?? "", /CPU high/);
    });
  });
});

Deno.test("dialect senders: images over WEBHOOK_MAX_ATTACHMENTS are linked in the text, not refused", async () => {
  const files = serveFiles({ "/chart.png": { body: PNG, type: "image/png" } });
  try {
    await withEndpoint({ ...LOCAL, limits: { maxAttachments: 2 } }, async (h) => {
      const token = await h.hook();
      // Slack allows 100 attachments; a tool sending one graph per alert must not lose them all.
      const urls = [1, 2, 3, 4].map((i) => `${files.base}/chart.png?n=${i}`);
      const res = await h.postJson(token, {
        text: "four graphs",
        attachments: urls.map((image_url, i) => ({ title: `graph ${i + 1}`, image_url })),
      });
      assert.equal(res.status, 200);
      assert.equal(await res.text(), "ok");
      await h.fake.waitFor(() => posted(h).length >= 3);
      const [text, ...photos] = posted(h);
      assert.deepEqual(photos.map((m) => m.kind), ["photo", "photo"]);
      assert.match(text?.text ?? "", /four graphs/);
      for (const url of urls.slice(2)) assert.ok(text?.text?.includes(url), `${url} linked`);
      assert.doesNotMatch(text?.text ?? "", /n=1\)/, "attached images are not linked again");
    });
  } finally {
    await files.close();
  }
});

// Issue 4: unknown multipart parts are ignored, and still 2xx. But `curl -F attachment=@a.pdf`,
// `-F files=@…` or `-F text=@msg.txt` (a file where a field was meant) lost the upload without a
// word: the answer now names what was ignored, its status and other fields unchanged.
Deno.test("multipart: ignored parts are named in the answer (ignored + note); status and other fields unchanged", async () => {
  const files = serveFiles({ "/chart.png": { body: PNG, type: "image/png" } });
  try {
    await withEndpoint(LOCAL, async (h) => {
      const token = await h.hook();
      const port = await h.listen();
      const send = (form: FormData) =>
        fetch(`http://127.0.0.1:${port}/hook/${token}`, { method: "POST", body: form });

      const form = new FormData();
      form.set("text", "build 43");
      form.append("file", new File([PDF as BufferSource], "build-log.pdf"));
      form.append("attachment1", new File([PDF as BufferSource], "other.pdf"));
      form.append("attachment1", new File([PDF as BufferSource], "third.pdf"));
      form.append("title", "Deploy");
      const body = await ok(await send(form));
      const all = posted(h);
      assert.deepEqual(all.map((m) => [m.kind, m.caption?.text]), [["document", "build 43"]]);
      assert.deepEqual(body, {
        ok: true,
        messages: all.map((m) => m.messageId),
        ignored: ["attachment1", "title"],
        note:
          "Ignored form parts: attachment1 (2 files), title. Upload files as image= (a photo) or file= (a document); the other fields read are text, parse_mode, image_url, file_url, key and reply_to.",
      });

      // Nothing ignored: the answer is exactly as before.
      const plain = new FormData();
      plain.set("text", "all read");
      plain.append("image_url", `${files.base}/chart.png`);
      const clean = await ok(await send(plain));
      assert.deepEqual(Object.keys(clean), ["ok", "messages"]);

      // A partial failure keeps its 502 and its fields, and names the ignored part too.
      const broken = new FormData();
      broken.set("text", "with a broken chart");
      broken.append("image_url", `${files.base}/missing.png`);
      broken.append("text", new File(["from a file"], "msg.txt"));
      const res = await send(broken);
      const partial = await res.json();
      assert.equal(res.status, 502, JSON.stringify(partial));
      assert.equal(partial.error, "partial_delivery");
      assert.match(partial.message, /1 part could not be posted/);
      assert.equal(partial.failed.length, 1);
      assert.deepEqual(partial.ignored, ["text"]);
      assert.match(partial.note, /^Ignored form parts: text \(a file\)\./);
      assert.equal(posted(h).at(-1)!.text, "with a broken chart");
    });
  } finally {
    await files.close();
  }
});

// The same promise for native JSON: `{"text":…,"status":"error"}` is posted as native with the
// other keys ignored (docs/formats.md, "Unrecognised JSON" rule 2), and a key the bot does not
// use inside an attachment (`images[0].caption`) is dropped too. The answer names them, in the
// shape forms use (`ignored` + `note`), with its status and other fields unchanged.
Deno.test("native JSON: keys the bot does not use are named in the answer (ignored + note); status and other fields unchanged", async () => {
  const files = serveFiles({ "/chart.png": { body: PNG, type: "image/png" } });
  try {
    await withEndpoint(LOCAL, async (h) => {
      const token = await h.hook();
      const port = await h.listen();
      const send = (body: unknown, query = "") =>
        fetch(`http://127.0.0.1:${port}/hook/${token}${query}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        });

      const body = await ok(await send({ text: "Build failed", status: "error", build: 17 }));
      assert.equal(posted(h).at(-1)!.text, "Build failed");
      assert.deepEqual(body, {
        ok: true,
        messages: [posted(h).at(-1)!.messageId],
        ignored: ["status", "build"],
        note:
          "Ignored keys: status, build. The native format reads text, parse_mode, images [{url}], files [{url, filename}], key, reply_to and buttons [[{text, url}]].",
      });

      // `?format=native` forces the format on the same body: the same answer.
      const forced = await ok(await send({ text: "forced", severity: "high" }, "?format=native"));
      assert.deepEqual(forced.ignored, ["severity"]);

      // Nothing ignored: the answer is exactly as before (the text-only body and the schema's path).
      assert.deepEqual(Object.keys(await ok(await send({ text: "all read" }))), ["ok", "messages"]);
      const read = await ok(
        await send({ text: "all read", images: [{ url: `${files.base}/chart.png` }] }),
      );
      assert.deepEqual(Object.keys(read), ["ok", "messages"]);

      // Keys inside attachments are named by their path; a 502 keeps its status and fields.
      const res = await send({
        text: "with a broken chart",
        images: [{ url: `${files.base}/missing.png`, caption: "CPU" }],
      });
      const partial = await res.json();
      assert.equal(res.status, 502, JSON.stringify(partial));
      assert.equal(partial.error, "partial_delivery");
      assert.equal(partial.failed.length, 1);
      assert.deepEqual(partial.ignored, ["images[0].caption"]);
      assert.match(partial.note, /^Ignored keys: images\[0\]\.caption\./);
    });
  } finally {
    await files.close();
  }
});

// WEBHOOK_MAX_ATTACHMENTS counts what would be posted. `curl -F file=@a.pdf -F log1=@x -F log2=@y`
// with a limit of 2 was refused (400 too_many_attachments) for the two parts the bot ignores,
// and the sender was told "this one uploads more" about files that would never be posted.
Deno.test("too_many_attachments counts only the parts that would be posted, not ignored file parts", async () => {
  await withEndpoint({ limits: { maxAttachments: 2 } }, async (h) => {
    const token = await h.hook();
    const form = new FormData();
    form.set("text", "nightly backup");
    form.append("file", new File([PDF as BufferSource], "backup.pdf"));
    for (const n of [1, 2, 3]) form.append("log", new File([`log ${n}`], `log${n}.txt`));
    const body = await ok(await postForm(h, token, form));
    assert.deepEqual(posted(h).map((m) => [m.kind, m.file?.name]), [["document", "backup.pdf"]]);
    assert.deepEqual(body.ignored, ["log"]);

    // Attachments that would be posted still count, uploads and URLs alike, with the number.
    const over = new FormData();
    over.set("text", "three documents");
    for (const n of [1, 2, 3]) over.append("file", new File([`doc ${n}`], `doc${n}.txt`));
    over.append("log", new File(["ignored"], "ignored.txt"));
    const res = await postForm(h, token, over);
    const refusal = await res.json();
    assert.equal(res.status, 400, JSON.stringify(refusal));
    assert.equal(refusal.error, "too_many_attachments");
    assert.equal(
      refusal.message,
      "At most 2 attachments per request (WEBHOOK_MAX_ATTACHMENTS); this one has 3.",
    );
    assert.equal(posted(h).length, 1, "nothing more was posted");

    // A dialect's attachments are fitted to the limit, never refused (docs/delivery.md: its
    // sender does not resend after a 4xx): Discord's three files[n] with a limit of 2 post two,
    // and the text names the third.
    const discord = new FormData();
    discord.set("payload_json", JSON.stringify({ content: "three logs" }));
    for (const n of [0, 1, 2]) discord.append(`files[${n}]`, new File([`l${n}`], `l${n}.txt`));
    const dres = await postForm(h, token, discord);
    assert.equal(dres.status, 204, await dres.text());
    const after = posted(h, 1);
    assert.deepEqual(after.map((m) => m.file?.name ?? m.kind), ["text", "l0.txt", "l1.txt"]);
    assert.match(
      after[0]!.text ?? "",
      /1 more attachment \(at most 2 are posted\): l2\.txt/,
    );

    // Apprise json:// carries its files base64 in the JSON: fitted the same way, 200.
    const b64 = (t: string) => btoa(t);
    const apprise = await h.postJson(token, {
      version: "1.0",
      title: "Backup",
      message: "three files",
      type: "info",
      attachments: [0, 1, 2].map((n) => ({
        filename: `a${n}.txt`,
        base64: b64(`file ${n}`),
        mimetype: "text/plain",
      })),
    });
    assert.equal(apprise.status, 200, await apprise.clone().text());
    const files = posted(h, 4);
    assert.deepEqual(files.map((m) => m.file?.name ?? m.kind), ["text", "a0.txt", "a1.txt"]);
    assert.match(files[0]!.text ?? "", /1 more attachment \(at most 2 are posted\): a2\.txt/);
  });
});
