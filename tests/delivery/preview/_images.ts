/**
 * Test images made on the fly with photon, so no binary fixtures are committed.
 *
 * @module
 */

import { PhotonImage } from "@cf-wasm/photon";

/** RGBA for a `width`×`height` image; `pixel(x, y)` gives [r, g, b, a]. */
export function rgba(
  width: number,
  height: number,
  pixel: (x: number, y: number) => [number, number, number, number],
): Uint8Array {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set(pixel(x, y), (y * width + x) * 4);
  }
  return data;
}

/** A gradient with some structure, so JPEG sizes are realistic. */
export function gradient(width: number, height: number): Uint8Array {
  return rgba(width, height, (x, y) => [x % 256, y % 256, (x ^ y) & 0xff, 255]);
}

function encode(
  data: Uint8Array,
  width: number,
  height: number,
  as: (img: PhotonImage) => Uint8Array,
): Uint8Array {
  const img = new PhotonImage(data, width, height);
  try {
    return as(img);
  } finally {
    img.free();
  }
}

/** Encodes RGBA as PNG (keeps alpha). */
export const png = (data: Uint8Array, width: number, height: number): Uint8Array =>
  encode(data, width, height, (img) => img.get_bytes());

/** Encodes RGBA as JPEG. */
export const jpeg = (data: Uint8Array, width: number, height: number, quality = 90): Uint8Array =>
  encode(data, width, height, (img) => img.get_bytes_jpeg(quality));

/** Encodes RGBA as WebP. */
export const webp = (data: Uint8Array, width: number, height: number): Uint8Array =>
  encode(data, width, height, (img) => img.get_bytes_webp());

/** Decodes any image photon reads: size and RGBA. */
export function decode(bytes: Uint8Array): { width: number; height: number; data: Uint8Array } {
  const img = PhotonImage.new_from_byteslice(bytes);
  try {
    return { width: img.get_width(), height: img.get_height(), data: img.get_raw_pixels() };
  } finally {
    img.free();
  }
}

/** The EXIF APP1 segment (marker included) holding only an orientation tag. */
export function exifSegment(orientation: number, bigEndian = false): Uint8Array {
  const tiff = new Uint8Array(8 + 2 + 12 + 4);
  const v = new DataView(tiff.buffer);
  const le = !bigEndian;
  tiff.set(bigEndian ? [0x4d, 0x4d] : [0x49, 0x49], 0);
  v.setUint16(2, 42, le);
  v.setUint32(4, 8, le); // IFD0 right after the header
  v.setUint16(8, 1, le); // one entry
  v.setUint16(10, 0x0112, le);
  v.setUint16(12, 3, le); // SHORT
  v.setUint32(14, 1, le);
  v.setUint16(18, orientation, le);
  v.setUint32(22, 0, le); // no next IFD
  const payload = new Uint8Array([...new TextEncoder().encode("Exif\0\0"), ...tiff]);
  const len = payload.length + 2;
  return new Uint8Array([0xff, 0xe1, len >> 8, len & 0xff, ...payload]);
}

/** Inserts `segment` right after the SOI marker of a JPEG. */
export function spliceAfterSoi(jpegBytes: Uint8Array, segment: Uint8Array): Uint8Array {
  const out = new Uint8Array(jpegBytes.length + segment.length);
  out.set(jpegBytes.subarray(0, 2), 0);
  out.set(segment, 2);
  out.set(jpegBytes.subarray(2), 2 + segment.length);
  return out;
}

/** A minimal uncompressed 24-bit BMP. */
export function bmp(width: number, height: number): Uint8Array {
  const row = Math.ceil(width * 3 / 4) * 4;
  const size = 54 + row * height;
  const b = new Uint8Array(size).fill(200, 54);
  const v = new DataView(b.buffer);
  b.set([0x42, 0x4d], 0);
  v.setUint32(2, size, true);
  v.setUint32(6, 0, true);
  v.setUint32(10, 54, true);
  v.setUint32(14, 40, true);
  v.setInt32(18, width, true);
  v.setInt32(22, height, true);
  v.setUint16(26, 1, true);
  v.setUint16(28, 24, true);
  v.setUint32(30, 0, true);
  v.setUint32(34, row * height, true);
  return b;
}

/** A 1×1 GIF89a. */
export const GIF_1X1 = Uint8Array.from(
  atob("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"),
  (c) => c.charCodeAt(0),
);

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  let crc = 0xffffffff;
  for (const b of out.subarray(4, 8 + data.length)) {
    crc = CRC_TABLE[(crc ^ b) & 0xff]! ^ (crc >>> 8);
  }
  view.setUint32(8 + data.length, (crc ^ 0xffffffff) >>> 0);
  return out;
}

/**
 * A real PNG without an alpha channel (photon always writes RGBA): colour type 2 (RGB) or
 * 3 (palette, one grey entry per byte value), optionally with a `tRNS` chunk.
 */
export async function opaquePng(
  width: number,
  height: number,
  options: { palette?: boolean; tRNS?: boolean } = {},
): Promise<Uint8Array> {
  const channels = options.palette ? 1 : 3;
  const raw = new Uint8Array(height * (1 + width * channels));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width * channels; x++) {
      raw[y * (1 + width * channels) + 1 + x] = (x * 7 + y * 3) & 0xff;
    }
  }
  const idat = new Uint8Array(
    await new Response(new Blob([raw]).stream().pipeThrough(new CompressionStream("deflate")))
      .arrayBuffer(),
  );
  const ihdr = new Uint8Array(13);
  new DataView(ihdr.buffer).setUint32(0, width);
  new DataView(ihdr.buffer).setUint32(4, height);
  ihdr[8] = 8;
  ihdr[9] = options.palette ? 3 : 2;
  const chunks = [pngChunk("IHDR", ihdr)];
  if (options.palette) {
    chunks.push(pngChunk("PLTE", Uint8Array.from({ length: 768 }, (_, i) => Math.floor(i / 3))));
  }
  if (options.tRNS) {
    chunks.push(pngChunk("tRNS", options.palette ? new Uint8Array([0]) : new Uint8Array(6)));
  }
  chunks.push(pngChunk("IDAT", idat), pngChunk("IEND", new Uint8Array()));
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  const out = new Uint8Array(8 + chunks.reduce((n, c) => n + c.length, 0));
  out.set(signature);
  let at = 8;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
