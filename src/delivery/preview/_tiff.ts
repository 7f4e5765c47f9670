/**
 * Reads one numeric tag from IFD0 of a TIFF structure. Shared by the EXIF orientation reader
 * (EXIF is a TIFF structure inside a JPEG APP1 segment) and the TIFF dimension sniffer.
 *
 * Input is untrusted: every read is bounds-checked against `end`, offsets are relative to
 * `start` as the TIFF spec says, and the entry loop is capped by the bytes actually present,
 * so a hostile count or offset can neither throw nor loop for long.
 *
 * @module
 */

const TYPE_SHORT = 3;
const TYPE_LONG = 4;

function u16(b: Uint8Array, at: number, little: boolean): number {
  const x = b[at] ?? 0;
  const y = b[at + 1] ?? 0;
  return little ? x | (y << 8) : (x << 8) | y;
}

function u32(b: Uint8Array, at: number, little: boolean): number {
  const lo = u16(b, at, little);
  const hi = u16(b, at + 2, little);
  return little ? (hi * 0x10000 + lo) : (lo * 0x10000 + hi);
}

/**
 * Returns the value of a SHORT or LONG `tag` in IFD0 of the TIFF structure spanning
 * `bytes[start, end)`, or `null` when the header is not TIFF, the tag is absent, or anything
 * is out of bounds.
 */
export function readTiffIfd0Tag(
  bytes: Uint8Array,
  start: number,
  end: number,
  tag: number,
): number | null {
  const limit = Math.min(end, bytes.length);
  if (start < 0 || start + 8 > limit) return null;
  const b0 = bytes[start];
  const b1 = bytes[start + 1];
  let little: boolean;
  if (b0 === 0x49 && b1 === 0x49) little = true; // "II"
  else if (b0 === 0x4d && b1 === 0x4d) little = false; // "MM"
  else return null;
  if (u16(bytes, start + 2, little) !== 42) return null;

  const ifd = start + u32(bytes, start + 4, little);
  if (ifd < start + 8 || ifd + 2 > limit) return null;
  const declared = u16(bytes, ifd, little);
  // A hostile count cannot make us read past the segment: only entries that fit are visited.
  const count = Math.min(declared, Math.floor((limit - ifd - 2) / 12));
  for (let i = 0; i < count; i++) {
    const entry = ifd + 2 + i * 12;
    if (u16(bytes, entry, little) !== tag) continue;
    const type = u16(bytes, entry + 2, little);
    if (u32(bytes, entry + 4, little) < 1) return null;
    // Values of 4 bytes or fewer sit inline in the entry; SHORT/LONG count 1 always does.
    if (type === TYPE_SHORT) return u16(bytes, entry + 8, little);
    if (type === TYPE_LONG) return u32(bytes, entry + 8, little);
    return null;
  }
  return null;
}
