import assert from "node:assert/strict";
import { fitWithin, flattenOnWhite, orientPixels } from "../../../src/delivery/preview/_pixels.ts";

// Stored 3×2 image whose red channel numbers the pixels:  0 1 2 / 3 4 5
const stored = {
  data: new Uint8Array([0, 1, 2, 3, 4, 5].flatMap((v) => [v, 0, 0, 255])),
  width: 3,
  height: 2,
};
const rows = (p: { data: Uint8Array; width: number; height: number }) => {
  const out: string[] = [];
  for (let y = 0; y < p.height; y++) {
    const row: number[] = [];
    for (let x = 0; x < p.width; x++) row.push(p.data[(y * p.width + x) * 4]!);
    out.push(row.join(" "));
  }
  return out.join(" / ");
};

Deno.test("orientPixels applies each EXIF orientation as displayed", () => {
  const expected: Record<number, string> = {
    1: "0 1 2 / 3 4 5",
    2: "2 1 0 / 5 4 3", // mirror horizontal
    3: "5 4 3 / 2 1 0", // rotate 180
    4: "3 4 5 / 0 1 2", // mirror vertical
    5: "0 3 / 1 4 / 2 5", // transpose
    6: "3 0 / 4 1 / 5 2", // rotate 90 clockwise
    7: "5 2 / 4 1 / 3 0", // transverse
    8: "2 5 / 1 4 / 0 3", // rotate 90 counter-clockwise
  };
  for (const [o, want] of Object.entries(expected)) {
    assert.equal(rows(orientPixels(stored, Number(o))), want, `orientation ${o}`);
  }
  assert.equal(orientPixels(stored, 0), stored);
  assert.equal(orientPixels(stored, 42), stored);
});

Deno.test("flattenOnWhite blends on white and reports alpha", () => {
  const opaque = new Uint8Array([10, 20, 30, 255]);
  assert.equal(flattenOnWhite(opaque), false);
  assert.deepEqual([...opaque], [10, 20, 30, 255]);
  const px = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 128]);
  assert.equal(flattenOnWhite(px), true);
  assert.deepEqual([...px], [255, 255, 255, 255, 127, 127, 127, 255]);
});

Deno.test("fitWithin keeps aspect, never enlarges, never returns 0", () => {
  assert.deepEqual(fitWithin(4000, 3000, 384), [384, 288]);
  assert.deepEqual(fitWithin(3000, 4000, 384), [288, 384]);
  assert.deepEqual(fitWithin(100, 50, 384), [100, 50]);
  assert.deepEqual(fitWithin(10000, 1, 384), [384, 1]);
});
