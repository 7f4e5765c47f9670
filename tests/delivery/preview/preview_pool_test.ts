import assert from "node:assert/strict";
import {
  FALLBACK_MAX_BYTES,
  previewFallback,
  PreviewMaker,
  type PreviewResult,
} from "../../../src/delivery/preview/mod.ts";
import { createLogger } from "../../../src/log.ts";
import { waitUntil } from "../../support/wait.ts";
import { bmp, decode, exifSegment, gradient, jpeg, png, rgba, spliceAfterSoi } from "./_images.ts";

async function withMaker(
  options: ConstructorParameters<typeof PreviewMaker>[0],
  fn: (maker: PreviewMaker) => Promise<void>,
): Promise<void> {
  // A budget no busy machine reaches (the first worker compiles photon's WebAssembly; under
  // other load that once took over the default 10 s), unless the test sets its own.
  const maker = new PreviewMaker({ timeoutMs: 120_000, ...options });
  try {
    await fn(maker);
  } finally {
    await maker.close();
  }
}

function ok(result: PreviewResult) {
  assert.ok(result.ok, `expected a preview, got ${JSON.stringify(result)}`);
  return result.preview;
}

Deno.test("JPEG and PNG become a JPEG preview with the longest side = maxSide", async () => {
  await withMaker({ maxSide: 384 }, async (maker) => {
    const input = jpeg(gradient(1200, 900), 1200, 900);
    const before = input.slice();
    const p1 = ok(await maker.make(input, "image/jpeg"));
    assert.deepEqual([p1.width, p1.height, p1.mimeType, p1.name], [
      384,
      288,
      "image/jpeg",
      "preview.jpg",
    ]);
    assert.deepEqual([p1.bytes[0], p1.bytes[1]], [0xff, 0xd8]);
    const d1 = decode(p1.bytes);
    assert.deepEqual([d1.width, d1.height], [384, 288]);
    assert.deepEqual(input, before, "the caller's bytes must stay intact for the upload");

    const p2 = ok(await maker.make(png(gradient(500, 1000), 500, 1000), "image/png"));
    assert.deepEqual([p2.width, p2.height], [192, 384]);
    assert.deepEqual([decode(p2.bytes).width, decode(p2.bytes).height], [192, 384]);
  });
});

Deno.test("small images are re-encoded but not enlarged", async () => {
  await withMaker({}, async (maker) => {
    const p = ok(await maker.make(png(gradient(100, 50), 100, 50)));
    assert.deepEqual([p.width, p.height], [100, 50]);
    assert.deepEqual([p.bytes[0], p.bytes[1]], [0xff, 0xd8]);
  });
});

Deno.test("transparent PNG pixels come out white, not black", async () => {
  await withMaker({}, async (maker) => {
    // Left half fully transparent black, right half opaque blue.
    const px = rgba(64, 32, (x) => (x < 32 ? [0, 0, 0, 0] : [0, 0, 255, 255]));
    const p = ok(await maker.make(png(px, 64, 32)));
    const d = decode(p.bytes);
    const at = (
      x: number,
      y: number,
    ) => [...d.data.subarray((y * 64 + x) * 4, (y * 64 + x) * 4 + 3)];
    for (const v of at(8, 16)) assert.ok(v > 240, `transparent → white, got ${at(8, 16)}`);
    const [r, g, b] = at(56, 16) as [number, number, number];
    assert.ok(r < 30 && g < 30 && b > 220, `blue stays blue, got ${[r, g, b]}`);
  });
});

Deno.test("EXIF orientation 6 turns a stored landscape into a portrait preview", async () => {
  await withMaker({}, async (maker) => {
    // Stored 200×100: left half red, right half blue. Rotated 90° clockwise for display,
    // the left (red) edge becomes the top.
    const px = rgba(200, 100, (x) => (x < 100 ? [255, 0, 0, 255] : [0, 0, 255, 255]));
    const input = spliceAfterSoi(jpeg(px, 200, 100), exifSegment(6));
    const p = ok(await maker.make(input, "image/jpeg"));
    assert.deepEqual([p.width, p.height], [100, 200]);
    const d = decode(p.bytes);
    assert.deepEqual([d.width, d.height], [100, 200]);
    const top = d.data.subarray((20 * 100 + 50) * 4);
    const bottom = d.data.subarray((180 * 100 + 50) * 4);
    assert.ok(top[0]! > 200 && top[2]! < 60, `top should be red: ${[...top.subarray(0, 3)]}`);
    assert.ok(bottom[2]! > 200 && bottom[0]! < 60, `bottom should be blue`);
  });
});

Deno.test("undecodable image bytes fail with a reason and the maker keeps working", async () => {
  const lines: string[] = [];
  const logger = createLogger({ level: "debug", write: (l) => lines.push(l) });
  await withMaker({ logger }, async (maker) => {
    const notImage = await maker.make(new TextEncoder().encode("just some text"), "text/plain");
    assert.deepEqual(notImage, {
      ok: false,
      reason: "not_an_image",
      detail: "not JPEG/PNG/GIF/WebP/BMP/TIFF",
    });
    // Valid PNG signature and header, garbage after it: photon panics inside the worker.
    const header = png(gradient(8, 8), 8, 8).subarray(0, 33);
    const broken = new Uint8Array([...header, ...crypto.getRandomValues(new Uint8Array(500))]);
    const failed = await maker.make(broken, "image/png");
    assert.equal(failed.ok, false);
    assert.equal(!failed.ok && failed.reason, "decode_failed");
    assert.match(!failed.ok && failed.detail || "", /RuntimeError/);
    ok(await maker.make(png(gradient(50, 50), 50, 50)));
  });
  assert.ok(lines.some((l) => l.includes('"reason":"decode_failed"')), "failure is logged");
});

Deno.test("a timed-out job replaces the worker and the next job succeeds", async () => {
  await withMaker({}, async (maker) => {
    const big = jpeg(gradient(2000, 1500), 2000, 1500, 80);
    const slow = maker.make(big, "image/jpeg", { timeoutMs: 1 });
    const queued = maker.make(png(gradient(300, 200), 300, 200));
    assert.deepEqual(await slow, { ok: false, reason: "timeout", detail: "no preview after 1 ms" });
    assert.deepEqual([ok(await queued).width, ok(await queued).height], [300, 200]);
  });
});

Deno.test("the main thread keeps ticking while a 4000×3000 preview is made", async () => {
  const input = jpeg(gradient(4000, 3000), 4000, 3000, 85);
  await withMaker({}, async (maker) => {
    await maker.make(png(gradient(10, 10), 10, 10)); // start the worker and compile wasm first
    let ticks = 0;
    let worstGap = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      worstGap = Math.max(worstGap, now - last);
      last = now;
      ticks++;
    }, 10);
    const started = performance.now();
    try {
      const p = ok(await maker.make(input, "image/jpeg"));
      assert.deepEqual([p.width, p.height], [384, 288]);
    } finally {
      clearInterval(timer);
    }
    const elapsed = performance.now() - started;
    const expected = Math.floor(elapsed / 10);
    assert.ok(elapsed > 100, `the job should take a while (${elapsed} ms)`);
    // Decoding on the main thread would stall it for about the whole job. The bounds are
    // loose on purpose: the machine is shared, and a busy one delays timers too.
    assert.ok(ticks >= expected * 0.3, `${ticks} of ${expected} ticks in ${elapsed} ms`);
    assert.ok(worstGap < elapsed / 2, `worst gap ${worstGap} ms of ${elapsed} ms`);
  });
});

Deno.test("limits are checked from headers before any decoding", async () => {
  await withMaker({ maxPixels: 1_000_000, maxInputBytes: 50_000 }, async (maker) => {
    const bomb = png(gradient(8, 8), 8, 8);
    new DataView(bomb.buffer).setUint32(16, 60_000, false); // header claims 60000×8
    new DataView(bomb.buffer).setUint32(20, 60_000, false); // …×60000 = 3.6 GP
    const r1 = await maker.make(bomb);
    assert.equal(!r1.ok && r1.reason, "too_many_pixels");
    const r2 = await maker.make(new Uint8Array(60_000));
    assert.equal(!r2.ok && r2.reason, "input_too_large");
    const r3 = await maker.make(new Uint8Array());
    assert.equal(!r3.ok && r3.reason, "empty");
  });
});

Deno.test("jobs run FIFO; the queue is bounded; close resolves pending jobs", async () => {
  const maker = new PreviewMaker({ maxQueue: 2 });
  const small = png(gradient(40, 40), 40, 40);
  const running = maker.make(small);
  const waiting = [maker.make(small), maker.make(small)];
  const refused = await maker.make(small);
  assert.equal(!refused.ok && refused.reason, "busy");
  ok(await running);
  for (const p of waiting) ok(await p);

  const a = maker.make(jpeg(gradient(1000, 800), 1000, 800));
  const b = maker.make(small);
  await maker.close();
  assert.equal((await a).ok, false);
  const rb = await b;
  assert.equal(!rb.ok && rb.reason, "closed");
  const after = await maker.make(small);
  assert.equal(!after.ok && after.reason, "closed");
});

Deno.test("two workers make previews side by side", async () => {
  await withMaker({ workers: 2 }, async (maker) => {
    const inputs = [1, 2, 3, 4].map((i) => png(gradient(100 * i, 80), 100 * i, 80));
    const results = await Promise.all(inputs.map((b) => maker.make(b)));
    assert.deepEqual(results.map((r) => ok(r).width), [100, 200, 300, 384]);
  });
});

Deno.test("an idle worker is stopped and a new one starts on demand", async () => {
  const lines: string[] = [];
  const logger = createLogger({ level: "debug", write: (l) => lines.push(l) });
  const stopped = () => lines.filter((l) => l.includes("preview worker stopped")).length;
  await withMaker({ idleMs: 5, logger }, async (maker) => {
    ok(await maker.make(png(gradient(20, 20), 20, 20)));
    await waitUntil(() => stopped() === 1, 5_000, "the idle worker stopped");
    ok(await maker.make(png(gradient(20, 20), 20, 20)));
    await waitUntil(() => stopped() === 2, 5_000, "the second worker stopped too");
  });
});

Deno.test("a worker that decoded a huge image is replaced right after", async () => {
  const lines: string[] = [];
  const logger = createLogger({ level: "debug", write: (l) => lines.push(l) });
  await withMaker({ logger, recycleAbovePixels: 1000 }, async (maker) => {
    ok(await maker.make(png(gradient(20, 20), 20, 20))); // 400 px: kept
    assert.equal(lines.filter((l) => l.includes("preview worker stopped")).length, 0);
    ok(await maker.make(png(gradient(50, 50), 50, 50))); // 2500 px: replaced
    assert.equal(lines.filter((l) => l.includes("preview worker stopped")).length, 1);
    ok(await maker.make(png(gradient(20, 20), 20, 20)));
    assert.equal(lines.filter((l) => l.includes("preview worker started")).length, 2);
  });
});

Deno.test("previewFallback: small decodable-format originals preview themselves", () => {
  const small = png(gradient(50, 50), 50, 50);
  assert.deepEqual(previewFallback(small), {
    bytes: small,
    mimeType: "image/png",
    name: "preview.png",
  });
  assert.equal(previewFallback(jpeg(gradient(9, 9), 9, 9))?.name, "preview.jpeg");
  assert.equal(previewFallback(bmp(5, 5)), null, "BMP may not render in clients");
  assert.equal(previewFallback(new TextEncoder().encode("text")), null);
  const big = new Uint8Array(FALLBACK_MAX_BYTES + 1);
  big.set(small);
  assert.equal(previewFallback(big), null, "over 1 MiB goes as a document");
  assert.equal(previewFallback(small, { maxPixels: 100 }), null, "too many pixels");
});

Deno.test("previewFor returns a preview, the original, or null, and logs why", async () => {
  const lines: string[] = [];
  const logger = createLogger({ level: "debug", write: (l) => lines.push(l) });
  await withMaker({ logger }, async (maker) => {
    const good = await maker.previewFor(png(gradient(600, 300), 600, 300), "image/png");
    assert.equal(good?.name, "preview.jpg");
    const header = png(gradient(8, 8), 8, 8).subarray(0, 33);
    const broken = new Uint8Array([...header, 1, 2, 3, 4, 5, 6, 7, 8]);
    const self = await maker.previewFor(broken, "image/png");
    assert.equal(self?.bytes, broken);
    assert.equal(await maker.previewFor(new Uint8Array([1, 2, 3])), null);
  });
  assert.ok(lines.some((l) => l.includes("original used as its own preview")));
  assert.ok(lines.some((l) => l.includes("sending as document")));
});
