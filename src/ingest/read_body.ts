/**
 * Reads a request body with a size limit enforced while reading: a body over the limit
 * is refused as soon as the limit is crossed (or at once from Content-Length), and the
 * rest is never buffered.
 *
 * @module
 */
import { PayloadError } from "./formats/types.ts";
import { concatBytes } from "../bytes.ts";

function tooLarge(limit: number): PayloadError {
  const mb = Math.round((limit / (1024 * 1024)) * 10) / 10;
  return new PayloadError(
    "payload_too_large",
    `The request body is larger than the limit of ${mb} MiB (WEBHOOK_MAX_UPLOAD_MB). Send smaller files or attach them by URL.`,
    413,
  );
}

/**
 * Returns the whole body as bytes, or throws a {@link PayloadError} with status 413.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const bytes = await readBodyLimited(new Request("http://x", { method: "POST", body: "hi" }), 1024);
 * assert.equal(new TextDecoder().decode(bytes), "hi");
 * ```
 */
export async function readBodyLimited(req: Request, limit: number): Promise<Uint8Array> {
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) {
    await req.body?.cancel().catch(() => {});
    throw tooLarge(limit);
  }
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  return concatBytes(chunks);
}
