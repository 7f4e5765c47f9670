import assert from "node:assert/strict";
import fc from "fast-check";
import { imageDimensions } from "../../../src/delivery/preview/mod.ts";
import { sniffImageType } from "../../../src/net/mod.ts";
import { bmp, GIF_1X1, gradient, jpeg, png, webp } from "./_images.ts";

Deno.test("sniffImageType and imageDimensions read real encoder output", () => {
  const px = gradient(37, 23);
  const cases: Array<[Uint8Array, string, number, number]> = [
    [jpeg(px, 37, 23), "image/jpeg", 37, 23],
    [png(px, 37, 23), "image/png", 37, 23],
    [webp(px, 37, 23), "image/webp", 37, 23],
    [GIF_1X1, "image/gif", 1, 1],
    [bmp(5, 3), "image/bmp", 5, 3],
  ];
  for (const [bytes, mime, width, height] of cases) {
    assert.equal(sniffImageType(bytes), mime);
    assert.deepEqual(imageDimensions(bytes), { width, height }, mime);
  }
});

Deno.test("imageDimensions reads WebP VP8 and VP8X headers and TIFF IFD0", () => {
  const riff = (chunk: string, body: number[]) =>
    new Uint8Array([...new TextEncoder().encode(`RIFF\0\0\0\0WEBP${chunk}`), ...body]);
  // VP8 (lossy): 4-byte chunk size, 3-byte frame tag, start code 9d 01 2a, 14-bit sizes.
  const vp8 = riff("VP8 ", [0, 0, 0, 0, 0, 0, 0, 0x9d, 0x01, 0x2a, 0x40, 0x06, 0xf0, 0x00, 0, 0]);
  assert.deepEqual(imageDimensions(vp8), { width: 1600, height: 240 });
  // VP8X (extended): 24-bit width-1 and height-1.
  const vp8x = riff("VP8X", [10, 0, 0, 0, 0, 0, 0, 0, 0x9f, 0x0f, 0, 0xb7, 0x0b, 0, 0, 0]);
  assert.deepEqual(imageDimensions(vp8x), { width: 4000, height: 3000 });

  const tiff = new Uint8Array(8 + 2 + 24 + 4);
  const v = new DataView(tiff.buffer);
  tiff.set([0x4d, 0x4d, 0, 42, 0, 0, 0, 8, 0, 2], 0);
  v.setUint16(10, 256, false), v.setUint16(12, 4, false), v.setUint32(14, 1, false);
  v.setUint32(18, 70000, false);
  v.setUint16(22, 257, false), v.setUint16(24, 3, false), v.setUint32(26, 1, false);
  v.setUint16(30, 50, false);
  assert.equal(sniffImageType(tiff), "image/tiff");
  assert.deepEqual(imageDimensions(tiff), { width: 70000, height: 50 });
});

Deno.test("sniffImageType rejects non-images and look-alikes", () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  assert.equal(sniffImageType(new Uint8Array()), null);
  assert.equal(sniffImageType(enc("%PDF-1.7")), null);
  assert.equal(sniffImageType(enc("BM is also how this sentence begins, honestly")), null);
  assert.equal(sniffImageType(enc("RIFF\0\0\0\0WAVEfmt ")), null);
  // HEIC (ftyp heic): not decodable by photon, so not an image for us.
  assert.equal(sniffImageType(enc("\0\0\0\x18ftypheic")), null);
  assert.equal(imageDimensions(enc("%PDF-1.7")), null);
});

Deno.test("imageDimensions is null for truncated headers and 0 sizes", () => {
  const full = png(gradient(4, 4), 4, 4);
  assert.equal(imageDimensions(full.subarray(0, 20)), null);
  const zero = full.slice();
  zero.set([0, 0, 0, 0], 16);
  assert.equal(imageDimensions(zero), null);
  const j = jpeg(gradient(4, 4), 4, 4);
  for (let n = 0; n < j.length; n++) imageDimensions(j.subarray(0, n)); // must not throw
});

Deno.test("sniff property: arbitrary bytes never throw", () => {
  const prefixes = [
    [0xff, 0xd8, 0xff],
    [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
    [
      0x52,
      0x49,
      0x46,
      0x46,
      0,
      0,
      0,
      0,
      0x57,
      0x45,
      0x42,
      0x50,
    ],
    [0x49, 0x49, 0x2a, 0],
    [0x42, 0x4d],
  ];
  fc.assert(
    fc.property(fc.constantFrom(...prefixes), fc.uint8Array({ maxLength: 200 }), (p, tail) => {
      const b = new Uint8Array([...p, ...tail]);
      sniffImageType(b);
      const size = imageDimensions(b);
      return size === null || (size.width > 0 && size.height > 0);
    }),
    { numRuns: 3000 },
  );
});
