import assert from "node:assert/strict";
import { sniffImageType } from "../../src/net/mod.ts";

const bytes = (...parts: (string | number[])[]) =>
  new Uint8Array(
    parts.flatMap((p) => (typeof p === "string" ? [...p].map((c) => c.charCodeAt(0)) : p)),
  );

Deno.test("sniffImageType() recognizes JPEG, PNG, GIF, WebP, BMP and TIFF", () => {
  assert.equal(sniffImageType(bytes([0xff, 0xd8, 0xff, 0xe0])), "image/jpeg");
  assert.equal(sniffImageType(bytes([0x89], "PNG\r\n\x1a\n")), "image/png");
  assert.equal(sniffImageType(bytes("GIF89a", [1, 0])), "image/gif");
  assert.equal(sniffImageType(bytes("GIF87a")), "image/gif");
  assert.equal(sniffImageType(bytes("RIFF", [0, 0, 0, 0], "WEBPVP8 ")), "image/webp");
  assert.equal(
    sniffImageType(bytes("BM", [0, 0, 0, 0, 0, 0, 0, 0, 54, 0, 0, 0, 40, 0, 0, 0])),
    "image/bmp",
  );
  assert.equal(sniffImageType(bytes("II*", [0])), "image/tiff");
  assert.equal(sniffImageType(bytes("MM", [0], "*")), "image/tiff");
});

Deno.test("sniffImageType() returns null for other or truncated data", () => {
  assert.equal(sniffImageType(new Uint8Array()), null);
  assert.equal(sniffImageType(bytes("<!doctype html>")), null);
  assert.equal(sniffImageType(bytes("BM is not a bitmap header")), null);
  assert.equal(sniffImageType(bytes("RIFF", [0, 0, 0, 0], "WAVE")), null);
  assert.equal(sniffImageType(bytes([0x89], "PN")), null);
  assert.equal(sniffImageType(bytes("%PDF-1.7")), null);
});
