/**
 * When the original image is its own preview. TrueConf shows an upload as a photo only when
 * it carries a `preview` part, and the reference bot (like hermes and obs) sends the
 * original bytes as that part; clients render it like any preview. Two cases:
 *
 * - {@link ownPreview}, first choice: an image already small enough to be a thumbnail
 *   (at most 256 KiB and 1280 px a side: a typical chart render or phone screenshot) that
 *   needs no processing to display right: a JPEG without EXIF rotation, or a PNG without
 *   transparency. Decoding and re-encoding it would cost milliseconds of CPU per photo and
 *   save the receiving clients almost nothing.
 * - {@link previewFallback}, last resort when no preview could be made: JPEG, PNG, GIF or
 *   WebP up to 1 MiB. Everything else goes as a document: a 20 MB original as "preview" would
 *   be downloaded by every client in the chat, a decompression bomb would be decoded by each
 *   of them, and BMP/TIFF/unknown bytes might not render at all.
 *
 * @module
 */

import { imageDimensions, type ImageMime, type ImageSize } from "./sniff.ts";
import { sniffImageType } from "../../net/sniff_image_type.ts";
import { readExifOrientation } from "./exif_orientation.ts";
import type { UploadPreview } from "./preview_pool.ts";

/** Originals up to this size may serve as their own preview when none could be made. */
export const FALLBACK_MAX_BYTES = 1024 * 1024;
/** {@link ownPreview}: at most this many bytes… */
export const OWN_PREVIEW_MAX_BYTES = 256 * 1024;
/** …and at most this many pixels on either side. */
export const OWN_PREVIEW_MAX_SIDE = 1280;

const SELF_PREVIEWABLE: ReadonlySet<ImageMime> = new Set([
  "image/jpeg",
  "image/png",
  "image/gif",
  "image/webp",
]);

/** What the headers say about an image: its type by magic bytes and its declared size. */
export interface ImageInfo {
  /** By magic bytes; `null` when not a known image format. */
  mime: ImageMime | null;
  /** Declared in the header; `null` when unreadable. */
  size: ImageSize | null;
}

/**
 * Reads type and size from the headers (microseconds, no decoding). `sniffed`: the type a
 * caller already sniffed from these bytes (the deliverer does, once per photo), so the
 * magic bytes are not read again.
 */
export function inspectImage(bytes: Uint8Array, sniffed?: ImageMime | null): ImageInfo {
  const mime = sniffed === undefined ? sniffImageType(bytes) : sniffed;
  return { mime, size: mime === null ? null : imageDimensions(bytes) };
}

function asPreview(bytes: Uint8Array, mime: ImageMime): UploadPreview {
  return { bytes, mimeType: mime, name: `preview.${mime.slice("image/".length)}` };
}

/**
 * The original as its preview when it is already thumbnail-sized and displays right as it is
 * (see the module doc); `null` when a preview should be made. The returned `bytes` are the
 * caller's array, not a copy.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * // A PNG header declaring 4000×3000 pixels: far too big to preview itself.
 * const png = new Uint8Array(33);
 * png.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
 * new DataView(png.buffer).setUint32(16, 4000);
 * new DataView(png.buffer).setUint32(20, 3000);
 * png[24] = 8; // bit depth
 * png[25] = 2; // RGB, no alpha
 * assert.equal(ownPreview(png), null);
 * ```
 */
export function ownPreview(
  bytes: Uint8Array,
  info: ImageInfo = inspectImage(bytes),
): UploadPreview | null {
  const { mime, size } = info;
  if (mime === null || size === null || bytes.length > OWN_PREVIEW_MAX_BYTES) return null;
  if (size.width > OWN_PREVIEW_MAX_SIDE || size.height > OWN_PREVIEW_MAX_SIDE) return null;
  // A preview we make is turned upright and flattened on white; an original used as is must
  // need neither.
  if (mime === "image/jpeg" && readExifOrientation(bytes) === 1) return asPreview(bytes, mime);
  if (mime === "image/png" && opaquePng(bytes)) return asPreview(bytes, mime);
  return null;
}

/**
 * The preview to send when no preview could be made: the original bytes themselves if they
 * are JPEG/PNG/GIF/WebP (by magic bytes), at most 1 MiB and at most `maxPixels` by their
 * header; otherwise `null`, meaning "send as a document". The returned `bytes` are the
 * caller's array, not a copy.
 */
export function previewFallback(
  bytes: Uint8Array,
  options: FallbackOptions = {},
): UploadPreview | null {
  const { mime, size } = inspectImage(bytes);
  if (mime === null || !SELF_PREVIEWABLE.has(mime)) return null;
  if (bytes.length === 0 || bytes.length > (options.maxBytes ?? FALLBACK_MAX_BYTES)) return null;
  if (size === null) return null;
  if (size.width * size.height > (options.maxPixels ?? 50_000_000)) return null;
  return asPreview(bytes, mime);
}

/** Options of {@link previewFallback}. */
export interface FallbackOptions {
  /** Default {@link FALLBACK_MAX_BYTES}. */
  maxBytes?: number;
  /** Default 50 000 000. */
  maxPixels?: number;
}

const be32 = (b: Uint8Array, at: number) =>
  (((b[at] ?? 0) << 24) >>> 0) + ((b[at + 1] ?? 0) << 16) + ((b[at + 2] ?? 0) << 8) +
  (b[at + 3] ?? 0);

/**
 * True when a PNG cannot be transparent: colour type grey, RGB or palette (no alpha channel)
 * and no `tRNS` chunk before the image data. Unreadable chunk structure counts as "maybe".
 */
function opaquePng(b: Uint8Array): boolean {
  const colourType = b[25];
  if (colourType !== 0 && colourType !== 2 && colourType !== 3) return false;
  let pos = 8;
  for (let chunks = 0; chunks < 64 && pos + 8 <= b.length; chunks++) {
    const length = be32(b, pos);
    const type = String.fromCharCode(b[pos + 4]!, b[pos + 5]!, b[pos + 6]!, b[pos + 7]!);
    if (type === "tRNS") return false;
    if (type === "IDAT") return true;
    pos += 12 + length;
  }
  return false;
}
