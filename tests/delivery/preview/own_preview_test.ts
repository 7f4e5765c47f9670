// A thumbnail-sized original is its own preview: no decode, no worker, the same bytes
// uploaded as the `preview` part (issue 16: images at ≤ 5 ms CPU each).
import assert from "node:assert/strict";
import {
  OWN_PREVIEW_MAX_BYTES,
  OWN_PREVIEW_MAX_SIDE,
  ownPreview,
  PreviewMaker,
} from "../../../src/delivery/preview/mod.ts";
import { createLogger } from "../../../src/log.ts";
import {
  decode,
  exifSegment,
  GIF_1X1,
  gradient,
  jpeg,
  opaquePng,
  png,
  spliceAfterSoi,
} from "./_images.ts";
import { startBotWithFake } from "../../support/bot_with_fake.ts";

Deno.test("which originals are their own preview", async () => {
  const photo = jpeg(gradient(800, 600), 800, 600, 85);
  assert.ok(photo.length < OWN_PREVIEW_MAX_BYTES, `${photo.length} bytes`);
  const own = ownPreview(photo);
  assert.ok(own);
  assert.equal(own.bytes, photo, "the caller's bytes, not a copy");
  assert.deepEqual([own.mimeType, own.name], ["image/jpeg", "preview.jpeg"]);

  const rgb = await opaquePng(640, 480);
  assert.deepEqual(decode(rgb).width, 640, "the test PNG is a real one");
  assert.equal(ownPreview(rgb)?.name, "preview.png");
  assert.equal(ownPreview(await opaquePng(64, 64, { palette: true }))?.mimeType, "image/png");

  const refused: [string, Uint8Array][] = [
    [
      "JPEG turned by EXIF (a made preview is turned upright)",
      spliceAfterSoi(photo, exifSegment(6)),
    ],
    [
      "wider than the limit",
      jpeg(gradient(OWN_PREVIEW_MAX_SIDE + 1, 10), OWN_PREVIEW_MAX_SIDE + 1, 10),
    ],
    [
      "more bytes than the limit",
      jpeg(gradient(1200, 1200).map((v, i) => (v * i) & 0xff), 1200, 1200, 100),
    ],
    ["PNG with an alpha channel", png(gradient(100, 100), 100, 100)],
    ["palette PNG with tRNS", await opaquePng(64, 64, { palette: true, tRNS: true })],
    ["RGB PNG with tRNS", await opaquePng(64, 64, { tRNS: true })],
    ["GIF (may be animated; made into a still JPEG)", GIF_1X1],
    ["not an image", new TextEncoder().encode("hello")],
  ];
  for (const [what, bytes] of refused) assert.equal(ownPreview(bytes), null, what);
  assert.ok(refused[2]![1].length > OWN_PREVIEW_MAX_BYTES, "the big JPEG really is big");
});

Deno.test("previewFor hands a small photo back as its own preview without starting a worker", async () => {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level: "debug", write: (l) => lines.push(JSON.parse(l)) });
  // The first worker compiles photon's WebAssembly before it decodes: on a machine busy with
  // other work that took longer than the default 10 s once, and the photo then went out with
  // its original as the preview. This test is about which way a photo goes, not the budget.
  const maker = new PreviewMaker({ logger, timeoutMs: 120_000 });
  try {
    const photo = jpeg(gradient(800, 600), 800, 600, 85);
    const preview = await maker.previewFor(photo, "image/jpeg");
    assert.equal(preview?.bytes, photo);
    assert.ok(lines.some((l) => l.msg === "preview: small original is its own preview"));
    assert.ok(!lines.some((l) => l.msg === "preview worker started"), "no worker for it");

    const big = jpeg(gradient(2000, 1500), 2000, 1500, 80);
    const made = await maker.previewFor(big, "image/jpeg");
    assert.equal(made?.name, "preview.jpg", "a big photo still gets a made preview");
    assert.ok(lines.some((l) => l.msg === "preview worker started"));
  } finally {
    await maker.close();
  }
});

Deno.test("end to end: an 800×600 JPEG posted as multipart arrives as a photo previewing itself", async () => {
  const dir = await Deno.makeTempDir();
  const w = await startBotWithFake({ dir, logger: createLogger({ level: "error" }) });
  try {
    const alice = w.fake.userId("alice");
    w.addGroup({ chatId: "ops", title: "Ops", owner: alice });
    const { url } = await w.createHook("ops", "photos", alice);
    const photo = jpeg(gradient(800, 600), 800, 600, 85);
    const form = new FormData();
    form.set("text", "dashboard");
    form.set("image", new File([new Uint8Array(photo)], "panel.jpg", { type: "image/jpeg" }));
    const res = await fetch(url, { method: "POST", body: form });
    assert.equal(res.status, 200, await res.text());
    const post = w.fake.messagesIn("ops").find((p) => p.kind === "photo");
    assert.ok(post, "arrived as a photo");
    assert.deepEqual(post.file?.bytes, photo);
    assert.deepEqual(post.preview, {
      name: "preview.jpeg",
      mimeType: "image/jpeg",
      size: photo.length,
    });
  } finally {
    await w.close();
    await Deno.remove(dir, { recursive: true });
  }
});
