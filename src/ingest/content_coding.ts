/**
 * Request bodies sent with `Content-Encoding`: which codings the bot reads and how a body is
 * decoded within the size limit.
 *
 * Senders compress when told to: Vector's `http` sink (`compression = "gzip" | "zlib" | "zstd" |
 * "snappy"`, sent as `gzip`, `deflate`, `zstd`, `snappy`), Fluent Bit's and Logstash's HTTP
 * outputs and Telegraf (`gzip`), OpenTelemetry exporters (`gzip`, `zstd`, `deflate`, `snappy`),
 * and any client that brotli-compresses (`br`). Read: `gzip` (and its old alias `x-gzip`),
 * `deflate`, `br` and `zstd`. `deflate` is the zlib format (RFC 9110 8.4.1.2), but some senders
 * write raw deflate under that name (old Microsoft servers, hand-rolled clients): both are read,
 * told apart by the zlib header. Anything else (`snappy`, `lz4`, `compress`) is
 * `415 unsupported_content_encoding` with `Accept-Encoding` naming the codings read, as RFC 9110
 * 12.5.3 and 15.5.16 ask.
 *
 * A decoded body must stay within the body limit: a small body that decodes to gigabytes (a
 * "bomb") is stopped at the limit (413).
 *
 * @module
 */
import { formatSize } from "../bytes.ts";
import { PayloadError } from "./formats/types.ts";
import { BodyError } from "./read_body.ts";

/** The codings read, as the `Accept-Encoding` answer header lists them. */
export const ACCEPTED_CODINGS = "gzip, deflate, br, zstd";

type Coding = "gzip" | "deflate" | "br" | "zstd";

const CODINGS: Readonly<Record<string, Coding | null>> = {
  gzip: "gzip",
  "x-gzip": "gzip",
  deflate: "deflate",
  br: "br",
  zstd: "zstd",
  identity: null,
};

/**
 * The codings a `Content-Encoding` value lists, in the order they were applied (RFC 9110 8.4);
 * `identity` is none. Throws `415 unsupported_content_encoding` for one the bot cannot read.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.deepEqual(contentCodings("x-gzip"), ["gzip"]);
 * assert.deepEqual(contentCodings("deflate, BR"), ["deflate", "br"]);
 * assert.deepEqual(contentCodings("identity"), []);
 * assert.throws(() => contentCodings("snappy"), /Content-Encoding: snappy is not supported/);
 * ```
 */
export function contentCodings(header: string): Coding[] {
  const out: Coding[] = [];
  for (const part of header.split(",")) {
    const name = part.trim().toLowerCase();
    if (name === "") continue;
    const coding = Object.hasOwn(CODINGS, name) ? CODINGS[name] : undefined;
    if (coding === undefined) {
      throw new BodyError(
        "unsupported_content_encoding",
        `Content-Encoding: ${
          name.slice(0, 40)
        } is not supported. Send the body uncompressed, or compressed with gzip, deflate, br or zstd.`,
        415,
        { "accept-encoding": ACCEPTED_CODINGS },
        true,
      );
    }
    if (coding !== null) out.push(coding);
  }
  return out;
}

/**
 * `bytes` decoded from `codings` (as {@link contentCodings} lists them), at most `limit` bytes
 * at each step: 413 beyond, 400 when the bytes are not what the header says.
 */
export async function decodeContent(
  bytes: Uint8Array,
  codings: readonly Coding[],
  limit: number,
): Promise<Uint8Array> {
  let out = bytes;
  for (let i = codings.length - 1; i >= 0; i--) out = await decodeOne(out, codings[i]!, limit);
  return out;
}

async function decodeOne(bytes: Uint8Array, coding: Coding, limit: number): Promise<Uint8Array> {
  try {
    if (coding === "zstd") return await unzstd(bytes, limit);
    const format = coding === "gzip"
      ? "gzip"
      : coding === "br"
      ? "brotli"
      : isZlib(bytes)
      ? "deflate"
      : "deflate-raw";
    return await inflate(bytes, format as CompressionFormat, limit, coding);
  } catch (e) {
    if (e instanceof PayloadError) throw e;
    throw new BodyError(
      "invalid_body",
      `The body says Content-Encoding: ${coding} but does not decode (${
        e instanceof Error ? e.message : String(e)
      }). Send valid ${coding}, or the body uncompressed without that header.`,
      400,
      {},
      true,
    );
  }
}

function tooLarge(limit: number, coding: Coding): PayloadError {
  return new PayloadError(
    "payload_too_large",
    `The request body is larger than the limit of ${
      formatSize(limit)
    } (WEBHOOK_MAX_UPLOAD_MB) once decoded (Content-Encoding: ${coding}).`,
    413,
  );
}

/** A zlib stream's two-byte header (RFC 1950 2.2): method 8, window ≤ 32 KiB, check bits. */
function isZlib(bytes: Uint8Array): boolean {
  const cmf = bytes[0] ?? 0;
  const flg = bytes[1] ?? 0;
  return (cmf & 0x0f) === 8 && cmf >> 4 <= 7 && ((cmf << 8) | flg) % 31 === 0;
}

/** The runtime's decompressor, stopped as soon as the output passes `limit`. */
async function inflate(
  bytes: Uint8Array,
  format: CompressionFormat,
  limit: number,
  coding: Coding,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new DecompressionStream(format),
  );
  for await (const chunk of stream) {
    size += chunk.byteLength;
    if (size > limit) throw tooLarge(limit, coding);
    chunks.push(chunk);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

interface Zstd {
  zstdDecompress(
    data: Uint8Array,
    options: { maxOutputLength: number },
    done: (error: (Error & { code?: string }) | null, out: Uint8Array) => void,
  ): void;
}

/** node:zlib, loaded on the first zstd body (about 100 ms once): no cost at start. */
let zlib: Promise<Zstd> | undefined;

/** A zstd body (Deno's `DecompressionStream` has no zstd; node:zlib has, with an output cap). */
async function unzstd(bytes: Uint8Array, limit: number): Promise<Uint8Array> {
  const z = await (zlib ??= import("node:zlib") as unknown as Promise<Zstd>);
  return await new Promise((resolve, reject) =>
    z.zstdDecompress(bytes, { maxOutputLength: limit }, (error, out) => {
      if (error?.code === "ERR_BUFFER_TOO_LARGE") reject(tooLarge(limit, "zstd"));
      else if (error) reject(error);
      else resolve(new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
    })
  );
}
