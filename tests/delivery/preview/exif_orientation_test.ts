import assert from "node:assert/strict";
import fc from "fast-check";
import { readExifOrientation } from "../../../src/delivery/preview/mod.ts";
import { exifSegment, gradient, jpeg, spliceAfterSoi } from "./_images.ts";

const base = jpeg(gradient(16, 8), 16, 8);

Deno.test("readExifOrientation reads every value in both byte orders", () => {
  for (let o = 1; o <= 8; o++) {
    assert.equal(readExifOrientation(spliceAfterSoi(base, exifSegment(o))), o);
    assert.equal(readExifOrientation(spliceAfterSoi(base, exifSegment(o, true))), o);
  }
});

Deno.test("readExifOrientation is 1 without EXIF, for non-JPEG and for out-of-range values", () => {
  assert.equal(readExifOrientation(base), 1);
  assert.equal(readExifOrientation(new Uint8Array()), 1);
  assert.equal(readExifOrientation(new TextEncoder().encode("hello world")), 1);
  assert.equal(readExifOrientation(spliceAfterSoi(base, exifSegment(0))), 1);
  assert.equal(readExifOrientation(spliceAfterSoi(base, exifSegment(9))), 1);
  assert.equal(readExifOrientation(spliceAfterSoi(base, exifSegment(0xffff))), 1);
});

Deno.test("readExifOrientation skips an XMP APP1 and fill bytes before the EXIF one", () => {
  const xmp = new TextEncoder().encode("http://ns.adobe.com/xap/1.0/\0<x/>");
  const xmpSeg = new Uint8Array([0xff, 0xe1, 0, xmp.length + 2, ...xmp]);
  const withBoth = spliceAfterSoi(base, new Uint8Array([...xmpSeg, 0xff, ...exifSegment(6)]));
  assert.equal(readExifOrientation(withBoth), 6);
});

Deno.test("readExifOrientation never throws on truncated input", () => {
  const full = spliceAfterSoi(base, exifSegment(6));
  for (let n = 0; n <= full.length; n++) {
    const o = readExifOrientation(full.subarray(0, n));
    assert.ok(o >= 1 && o <= 8, `length ${n} gave ${o}`);
  }
  // Cut inside the segment: the declared length runs past the end.
  assert.equal(readExifOrientation(full.subarray(0, 20)), 1);
});

Deno.test("readExifOrientation survives hostile headers", () => {
  const seg = exifSegment(6);
  const cases: Array<[string, (s: Uint8Array) => void]> = [
    ["segment length 0", (s) => s.set([0, 0], 2)],
    ["segment length 1", (s) => s.set([0, 1], 2)],
    ["segment length 0xffff", (s) => s.set([0xff, 0xff], 2)],
    ["IFD offset past the end", (s) => s.set([0xff, 0xff, 0xff, 0x7f], 14)],
    ["IFD offset inside the header", (s) => s.set([0, 0, 0, 0], 14)],
    ["entry count 0xffff", (s) => s.set([0xff, 0xff], 18)],
    ["bad TIFF magic", (s) => s.set([0x2b, 0], 12)],
    ["bad byte order", (s) => s.set([0x49, 0x4d], 10)],
    ["LONG type", (s) => s.set([4, 0], 22)],
    ["zero count", (s) => s.set([0, 0, 0, 0], 24)],
  ];
  for (const [name, mutate] of cases) {
    const s = seg.slice();
    mutate(s);
    const o = readExifOrientation(spliceAfterSoi(base, s));
    assert.ok(o >= 1 && o <= 8, `${name}: ${o}`);
  }
  // A marker stream of nothing but fill bytes, and one of zero-length segments, end quickly.
  assert.equal(readExifOrientation(new Uint8Array([0xff, 0xd8, ...new Array(1e5).fill(0xff)])), 1);
  assert.equal(readExifOrientation(new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 2, 0xff, 0xe0])), 1);
});

Deno.test("readExifOrientation property: any bytes after SOI give 1..8 without throwing", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (tail) => {
      const o = readExifOrientation(new Uint8Array([0xff, 0xd8, 0xff, 0xe1, ...tail]));
      return Number.isInteger(o) && o >= 1 && o <= 8;
    }),
    { numRuns: 2000 },
  );
  // Random byte flips in a valid EXIF header exercise the deep paths.
  const valid = spliceAfterSoi(base, exifSegment(6, true)).subarray(0, 60);
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(59), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
      (flips) => {
        const b = valid.slice();
        for (const [at, value] of flips) b[at] = value;
        const o = readExifOrientation(b);
        return Number.isInteger(o) && o >= 1 && o <= 8;
      },
    ),
    { numRuns: 3000 },
  );
});
