/**
 * Byte helpers shared by the HTTP body reader, the TrueConf upload, the delivery spool and the
 * size refusals a sender reads (request bodies, downloaded attachments).
 *
 * @module
 */

/**
 * Joins byte chunks into one array (the only chunk itself when there is one, without a copy).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(concatBytes([new Uint8Array([1]), new Uint8Array([2, 3])]), new Uint8Array([1, 2, 3]));
 * ```
 */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  if (chunks.length === 1 && chunks[0]!.buffer instanceof ArrayBuffer) {
    return chunks[0] as Uint8Array<ArrayBuffer>;
  }
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/**
 * A size for a sentence a person reads: bytes below 1 KiB, then KiB, then MiB with at most one
 * decimal (the units of `WEBHOOK_MAX_UPLOAD_MB`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatSize(25 * 1024 * 1024), "25 MiB");
 * assert.equal(formatSize(3_500_000), "3.3 MiB");
 * assert.equal(formatSize(4999), "4.9 KiB");
 * assert.equal(formatSize(512), "512 bytes");
 * ```
 */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  const [value, unit] = bytes < 1024 * 1024
    ? [bytes / 1024, "KiB"]
    : [bytes / (1024 * 1024), "MiB"];
  return `${Math.round(value * 10) / 10} ${unit}`;
}

/**
 * Bytes as lowercase hex, two digits each: digests and signatures as senders and receivers
 * compare them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(hexOf(new Uint8Array([0, 15, 255])), "000fff");
 * ```
 */
export function hexOf(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}
