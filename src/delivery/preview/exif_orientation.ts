/**
 * EXIF orientation of a JPEG. Photon (like every WebAssembly codec measured) ignores it, so a
 * phone photo taken in portrait would get a sideways preview without this.
 *
 * @module
 */

import { readTiffIfd0Tag } from "./_tiff.ts";

const ORIENTATION_TAG = 0x0112;
// "Exif\0\0": the APP1 payload prefix that distinguishes EXIF from XMP (also APP1).
const EXIF_ID = [0x45, 0x78, 0x69, 0x66, 0x00, 0x00];

function isExif(b: Uint8Array, at: number, end: number): boolean {
  if (at + EXIF_ID.length > end) return false;
  return EXIF_ID.every((v, i) => b[at + i] === v);
}

/**
 * Returns the EXIF orientation (1..8) of a JPEG, or 1 (upright) when the input is not a JPEG,
 * has no EXIF block, has no orientation tag, or holds a value outside 1..8.
 *
 * Walks markers from SOI up to the first SOS. Untrusted input is expected: every read is
 * bounds-checked, each step moves forward by at least two bytes, and it never throws.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const notJpeg = new Uint8Array([0x89, 0x50, 0x4e, 0x47]);
 * assert.equal(readExifOrientation(notJpeg), 1); // upright
 * // 5..8 swap width and height: readExifOrientation(jpeg) >= 5
 * ```
 */
export function readExifOrientation(jpeg: Uint8Array): number {
  try {
    return walk(jpeg);
  } catch {
    // Unreachable with the bounds checks below; kept so a future edit cannot make a bad upload
    // take down a delivery.
    return 1;
  }
}

function walk(b: Uint8Array): number {
  const n = b.length;
  if (n < 4 || b[0] !== 0xff || b[1] !== 0xd8) return 1;
  let pos = 2;
  while (pos + 4 <= n) {
    if (b[pos] !== 0xff) return 1; // lost sync: corrupt, give up rather than guess
    const marker = b[pos + 1];
    if (marker === 0xff) {
      pos += 1; // fill byte before a marker
      continue;
    }
    if (marker === 0xda || marker === 0xd9) return 1; // image data / end: EXIF comes before
    if (marker === 0x01 || (marker !== undefined && marker >= 0xd0 && marker <= 0xd7)) {
      pos += 2; // standalone markers carry no length
      continue;
    }
    const len = ((b[pos + 2] ?? 0) << 8) | (b[pos + 3] ?? 0);
    if (len < 2) return 1;
    const segStart = pos + 4;
    const segEnd = Math.min(pos + 2 + len, n);
    if (marker === 0xe1 && isExif(b, segStart, segEnd)) {
      const value = readTiffIfd0Tag(b, segStart + EXIF_ID.length, segEnd, ORIENTATION_TAG);
      return value !== null && value >= 1 && value <= 8 ? value : 1;
    }
    pos += 2 + len;
  }
  return 1;
}
