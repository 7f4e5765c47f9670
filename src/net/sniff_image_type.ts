/**
 * Image type detection from magic bytes: for downloads with no or a generic content type,
 * and for deciding what delivery uploads as a photo and what the preview maker decodes
 * (the declared Content-Type is whatever the sender claimed).
 *
 * @module
 */

/** Image formats recognised by magic bytes (the ones TrueConf's SDK lists as photos). */
export type ImageMime =
  | "image/jpeg"
  | "image/png"
  | "image/gif"
  | "image/webp"
  | "image/bmp"
  | "image/tiff";

const ascii = (bytes: Uint8Array, at: number, text: string): boolean =>
  bytes.length >= at + text.length &&
  [...text].every((c, i) => bytes[at + i] === c.charCodeAt(0));

// Sizes of the BMP info headers in use (OS/2 1.x to V5); "BM" alone is too weak a sign:
// anything else starting with "BM" is far more likely to be text than a bitmap.
const BMP_DIB_SIZES = new Set([12, 40, 52, 56, 64, 108, 124]);

/**
 * Returns the image MIME type the bytes start with (JPEG, PNG, GIF, WebP, BMP, TIFF),
 * or null (HEIC, SVG, PDF and anything else are not photos).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
 * assert.equal(sniffImageType(png), "image/png");
 * ```
 */
export function sniffImageType(bytes: Uint8Array): ImageMime | null {
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return "image/jpeg";
  if (bytes[0] === 0x89 && ascii(bytes, 1, "PNG\r\n\x1a\n")) return "image/png";
  if (ascii(bytes, 0, "GIF87a") || ascii(bytes, 0, "GIF89a")) return "image/gif";
  if (ascii(bytes, 0, "RIFF") && ascii(bytes, 8, "WEBP")) return "image/webp";
  if (ascii(bytes, 0, "II*\0") || ascii(bytes, 0, "MM\0*")) return "image/tiff";
  if (ascii(bytes, 0, "BM") && bytes.length >= 18) {
    const dib = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(14, true);
    if (BMP_DIB_SIZES.has(dib)) return "image/bmp";
  }
  return null;
}
