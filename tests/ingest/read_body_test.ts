import assert from "node:assert/strict";
import { readBodyLimited } from "../../src/ingest/read_body.ts";
import { PayloadError } from "../../src/ingest/formats/types.ts";

Deno.test("readBodyLimited() stops reading a streamed body as soon as it crosses the limit", async () => {
  let pulled = 0;
  const chunk = new Uint8Array(64 * 1024);
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled++;
      if (pulled > 1000) controller.close();
      else controller.enqueue(chunk);
    },
  });
  const req = new Request("http://x/", { method: "POST", body });
  await assert.rejects(readBodyLimited(req, 1024 * 1024), (e: unknown) => {
    assert.ok(e instanceof PayloadError);
    assert.equal(e.status, 413);
    assert.equal(e.code, "payload_too_large");
    return true;
  });
  // 1 MiB / 64 KiB = 16 chunks fit; the 17th crosses the limit. Nothing more is pulled.
  assert.ok(pulled <= 18, `pulled ${pulled} chunks`);
});

Deno.test("readBodyLimited() refuses at once from Content-Length", async () => {
  const req = new Request("http://x/", {
    method: "POST",
    body: "x".repeat(10),
    headers: { "content-length": "999999999" },
  });
  await assert.rejects(readBodyLimited(req, 100), PayloadError);
});

Deno.test("readBodyLimited() returns small bodies whole", async () => {
  const bytes = await readBodyLimited(
    new Request("http://x/", { method: "POST", body: "hello" }),
    100,
  );
  assert.equal(new TextDecoder().decode(bytes), "hello");
});
