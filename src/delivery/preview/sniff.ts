/**
 * Image size from the first bytes of a file (the type comes from `sniffImageType` of
 * src/net): header dimensions let us refuse decompression bombs before any pixel is allocated.
 *
 * @module
 */

import { readTiffIfd0Tag } from "./_tiff.ts";
import { type ImageMime, sniffImageType } from "../../net/sniff_image_type.ts";

export type { ImageMime };

/** Width and height in pixels, as stored (before any EXIF orientation). */
export interface ImageSize {
  /** Width in pixels, as stored (before EXIF orientation). */
  width: number;
  /** Height in pixels, as stored (before EXIF orientation). */
  height: number;
}

function ascii(b: Uint8Array, at: number, text: string): boolean {
  if (at + text.length > b.length) return false;
  for (let i = 0; i < text.length; i++) {
    if (b[at + i] !== text.charCodeAt(i)) return false;
  }
  return true;
}

const be16 = (b: Uint8Array, at: number) => ((b[at] ?? 0) << 8) | (b[at + 1] ?? 0);
const le16 = (b: Uint8Array, at: number) => (b[at] ?? 0) | ((b[at + 1] ?? 0) << 8);
const le24 = (b: Uint8Array, at: number) => le16(b, at) | ((b[at + 2] ?? 0) << 16);
const be32 = (b: Uint8Array, at: number) => be16(b, at) * 0x10000 + be16(b, at + 2);
const le32s = (b: Uint8Array, at: number) => (le16(b, at) | (le16(b, at + 2) << 16)) | 0;

/**
 * Returns the pixel size declared in the image header, or `null` when the format is unknown
 * or the header is truncated or says 0. Reads headers only (for JPEG: a walk over marker
 * lengths up to the frame header), so it costs microseconds even for a large file.
 */
export function imageDimensions(bytes: Uint8Array): ImageSize | null {
  const size = readSize(bytes);
  if (size === null || size.width <= 0 || size.height <= 0) return null;
  return size;
}

function readSize(b: Uint8Array): ImageSize | null {
  switch (sniffImageType(b)) {
    case "image/png":
      if (b.length < 24 || !ascii(b, 12, "IHDR")) return null;
      return { width: be32(b, 16), height: be32(b, 20) };
    case "image/gif":
      if (b.length < 10) return null;
      return { width: le16(b, 6), height: le16(b, 8) };
    case "image/jpeg":
      return jpegSize(b);
    case "image/webp":
      return webpSize(b);
    case "image/bmp": {
      if (le32s(b, 14) === 12) return { width: le16(b, 18), height: le16(b, 20) };
      // A negative height means a top-down bitmap; the size is its magnitude.
      return { width: Math.abs(le32s(b, 18)), height: Math.abs(le32s(b, 22)) };
    }
    case "image/tiff": {
      const width = readTiffIfd0Tag(b, 0, b.length, 256);
      const height = readTiffIfd0Tag(b, 0, b.length, 257);
      return width === null || height === null ? null : { width, height };
    }
    default:
      return null;
  }
}

function jpegSize(b: Uint8Array): ImageSize | null {
  let pos = 2;
  while (pos + 4 <= b.length) {
    if (b[pos] !== 0xff) return null;
    const marker = b[pos + 1] ?? 0;
    if (marker === 0xff) {
      pos += 1;
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) return null; // no frame header before the data
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      pos += 2;
      continue;
    }
    const len = be16(b, pos + 2);
    if (len < 2) return null;
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC), which share the range.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (pos + 9 > b.length) return null;
      return { height: be16(b, pos + 5), width: be16(b, pos + 7) };
    }
    pos += 2 + len;
  }
  return null;
}

function webpSize(b: Uint8Array): ImageSize | null {
  if (b.length < 30) return null;
  if (ascii(b, 12, "VP8X")) {
    return { width: 1 + le24(b, 24), height: 1 + le24(b, 27) };
  }
  if (ascii(b, 12, "VP8L")) {
    if (b[20] !== 0x2f) return null;
    const b1 = b[21] ?? 0, b2 = b[22] ?? 0, b3 = b[23] ?? 0, b4 = b[24] ?? 0;
    return {
      width: 1 + (((b2 & 0x3f) << 8) | b1),
      height: 1 + (((b4 & 0x0f) << 10) | (b3 << 2) | ((b2 & 0xc0) >> 6)),
    };
  }
  if (ascii(b, 12, "VP8 ")) {
    if (b[23] !== 0x9d || b[24] !== 0x01 || b[25] !== 0x2a) return null;
    return { width: le16(b, 26) & 0x3fff, height: le16(b, 28) & 0x3fff };
  }
  return null;
}
