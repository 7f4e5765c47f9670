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
 * "bomb") is stopped at the limit (413). Its bytes draw on the in-flight body budget while it is
 * decoded (issue 18.3: a few KiB on the wire may be 25 MiB decoded; 503 busy when it is full).
 *
 * @module
 */
import { formatSize } from "../bytes.ts";
import { PayloadError } from "./formats/types.ts";
import { BodyError, type BudgetShare, collectReadBuffers } from "./read_body.ts";

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
 * at each step: 413 beyond, 400 when the bytes are not what the header says. The decoded bytes
 * are held against `share` (the in-flight body budget) as they grow: 503 busy when it is full.
 */
export async function decodeContent(
  bytes: Uint8Array,
  codings: readonly Coding[],
  limit: number,
  share?: BudgetShare,
): Promise<Uint8Array> {
  let out = bytes;
  for (let i = codings.length - 1; i >= 0; i--) {
    out = await decodeOne(out, new Decoded(limit, codings[i]!, share));
  }
  return out;
}

/**
 * `bytes` decoded as the `Content-Encoding` value `header` says, at most `limit` bytes at each
 * step: {@link contentCodings} and {@link decodeContent} in one, for a body read elsewhere (an
 * outgoing hook's answer). Throws their PayloadErrors (415, 413, 400).
 */
export function decodeContentEncoding(
  bytes: Uint8Array,
  header: string,
  limit: number,
): Promise<Uint8Array> {
  return decodeContent(bytes, contentCodings(header), limit);
}

async function decodeOne(bytes: Uint8Array, out: Decoded): Promise<Uint8Array> {
  const coding = out.coding;
  try {
    const z = await (zlib ??= import("node:zlib") as unknown as Promise<Zlib>);
    const stream = coding === "gzip"
      ? z.createGunzip()
      : coding === "br"
      ? z.createBrotliDecompress()
      : coding === "zstd"
      ? z.createZstdDecompress()
      : isZlib(bytes)
      ? z.createInflate()
      : z.createInflateRaw();
    await new Promise<void>((resolve, reject) => {
      let stopped = false;
      stream.on("data", (chunk) => {
        // Chunks the stream had made before it was destroyed may still come: not taken, so
        // nothing is held against the budget after the share was given back.
        if (stopped) return;
        try {
          out.push(chunk);
        } catch (e) {
          // Past the limit or the budget: stop decoding here (a bomb ends at the limit).
          stopped = true;
          stream.destroy();
          reject(e);
        }
      });
      stream.on("error", reject);
      stream.on("end", resolve);
      stream.end(bytes);
    });
    return out.bytes();
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

/**
 * A decoded body, written into one buffer grown by doubling (as `BodyReader.read` grows a
 * chunked body) rather than kept as the decoder's chunks and copied once more at the end; the
 * chunks are garbage as soon as they are copied, and are collected every MiB.
 */
class Decoded {
  readonly coding: Coding;
  readonly #limit: number;
  readonly #share: BudgetShare | undefined;
  #buf = new Uint8Array(0);
  #size = 0;

  constructor(limit: number, coding: Coding, share: BudgetShare | undefined) {
    this.#limit = limit;
    this.coding = coding;
    this.#share = share;
  }

  /** Appends `chunk`; throws 413 past the limit, 503 busy when the budget has no room. */
  push(chunk: Uint8Array): void {
    const end = this.#size + chunk.byteLength;
    if (end > this.#limit) throw tooLarge(this.#limit, this.coding);
    if (end > this.#buf.byteLength) {
      let grown = Math.max(this.#buf.byteLength * 2, 16 * 1024);
      while (grown < end) grown *= 2;
      grown = Math.min(grown, this.#limit);
      this.#share?.hold(grown);
      const next = new Uint8Array(grown);
      next.set(this.#buf.subarray(0, this.#size));
      this.#buf = next;
    }
    this.#buf.set(chunk, this.#size);
    if ((end >> 20) !== (this.#size >> 20)) collectReadBuffers();
    this.#size = end;
  }

  /** The decoded bytes (a large slack is given back). */
  bytes(): Uint8Array {
    const slack = this.#buf.byteLength - this.#size;
    return slack > 64 * 1024 && slack > this.#size / 4
      ? this.#buf.slice(0, this.#size)
      : this.#buf.subarray(0, this.#size);
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

/** The part of a node:zlib decompression stream used here. */
interface Inflater {
  on(event: "data", listener: (chunk: Uint8Array) => void): this;
  on(event: "error", listener: (error: Error) => void): this;
  on(event: "end", listener: () => void): this;
  end(chunk: Uint8Array): void;
  destroy(): void;
}

/** The decompressors of node:zlib used here. */
interface Zlib {
  createGunzip(): Inflater;
  createInflate(): Inflater;
  createInflateRaw(): Inflater;
  createBrotliDecompress(): Inflater;
  createZstdDecompress(): Inflater;
}

/**
 * node:zlib, loaded on the first compressed body (about 100 ms once): no cost at start. Its
 * streams hand the output over in 16 KiB chunks, so a bomb is stopped at the limit; the web
 * `DecompressionStream` inflates each input chunk whole (a 329-byte brotli body became one
 * 200 MiB chunk before any limit could look at it), and it has no zstd.
 */
let zlib: Promise<Zlib> | undefined;
