/**
 * HTTP/1.1 message framing (RFC 9112): the request head and the chunked transfer coding for
 * the bot's server (src/ingest/http_server.ts); the head's end, Latin-1 header text and the
 * chunked decoder for its TrueConf client too (src/trueconf/_http1_client.ts), so both read
 * the wire one way. Strict where leniency lets two parsers disagree about where a message ends
 * (request smuggling): both `Transfer-Encoding` and `Content-Length`, differing lengths, a
 * transfer coding other than `chunked` or in an HTTP/1.0 request, line folding, whitespace
 * before a colon and control characters are refused, and so is an HTTP/1.1 request without
 * exactly one `Host` (RFC 9112 3.2 requires the 400); lenient where RFC 9112 allows it (a bare
 * LF as line end, empty lines before the request line, chunk extensions and trailers, which are
 * read and ignored).
 *
 * @module
 */

/** The largest request head accepted (Node's default, which this server replaced). */
export const MAX_HEAD_BYTES = 16 * 1024;

/** The longest chunk-size line (extensions included) or trailer section accepted (as Node). */
const MAX_CHUNK_LINE = 16 * 1024;

/** A client's mistake in framing, answered with `status` (400, 431) and a parser-style cause. */
export class FramingError extends Error {
  /** The status to answer: 400, or 431 for an oversized head. */
  readonly status: number;
  /** A parser-style code naming the defect (`HPE_INVALID_HEADER_TOKEN`, …), for the log. */
  readonly defect: string;

  /** A mistake of `cause`, explained by `message`. */
  constructor(status: number, cause: string, message: string) {
    super(message);
    this.name = "FramingError";
    this.status = status;
    this.defect = cause;
  }
}

/** A parsed request head. */
export interface RequestHead {
  /** The method, as sent (methods are case-sensitive). */
  readonly method: string;
  /** The request target, as sent. */
  readonly target: string;
  /** 1 for HTTP/1.1, 0 for HTTP/1.0. */
  readonly minor: 0 | 1;
  /** Headers by lower-case name; repeated fields joined with ", " (as fetch's `Headers`). */
  readonly headers: Map<string, string>;
  /** The body's length, or -1 for a chunked body. */
  readonly length: number;
  /** Whether the client keeps the connection open after the answer. */
  readonly keepAlive: boolean;
  /** `Expect: 100-continue`: the client waits for a 100 before sending the body. */
  readonly expectContinue: boolean;
}

/**
 * Where the head starting at `from` ends in `buf[..end]`: the index just past its empty line,
 * or -1 when it has not all arrived. `scanFrom` skips bytes already searched.
 */
export function headEnd(buf: Uint8Array, from: number, scanFrom: number, end: number): number {
  let i = Math.max(from, scanFrom - 2);
  for (;;) {
    i = buf.indexOf(10, i);
    if (i < 0 || i >= end) return -1;
    // "\n\n" or "\n\r\n": the empty line that ends the head.
    if (
      i > from && (buf[i - 1] === 10 || (buf[i - 1] === 13 && i - 1 > from && buf[i - 2] === 10))
    ) {
      return i + 1;
    }
    i++;
  }
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Field values: visible characters, spaces and tabs (RFC 9110 5.5); no CR, LF or NUL. */
// deno-lint-ignore no-control-regex -- matching control characters is the point
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;
/** Request targets: visible characters only (no spaces or controls). */
const TARGET = /^[\x21-\x7e\x80-\xff]+$/;

/** Parses the head in `bytes` (its empty line included); throws a {@link FramingError}. */
export function parseHead(bytes: Uint8Array): RequestHead {
  // Lines are read in place (indexOf, slice of the name and value only), not split into an
  // array of line strings and their CR-less copies: part of a request's parsing garbage
  // (issue 16). A line ends at LF; one CR before it is not part of the line.
  const head = latin1(bytes);
  let next = head.indexOf("\n");
  if (next < 0) next = head.length;
  const requestLine = head.slice(0, lineEnd(head, 0, next));
  const sp1 = requestLine.indexOf(" ");
  const sp2 = requestLine.indexOf(" ", sp1 + 1);
  if (sp1 <= 0 || sp2 < 0 || requestLine.indexOf(" ", sp2 + 1) >= 0) {
    throw invalid("HPE_INVALID_REQUEST_LINE", "the request line is not METHOD TARGET VERSION");
  }
  const method = requestLine.slice(0, sp1);
  const target = requestLine.slice(sp1 + 1, sp2);
  const version = requestLine.slice(sp2 + 1);
  if (!TOKEN.test(method)) throw invalid("HPE_INVALID_METHOD", "the method is not a token");
  if (!TARGET.test(target)) throw invalid("HPE_INVALID_URL", "the request target is invalid");
  if (version !== "HTTP/1.1" && version !== "HTTP/1.0") {
    throw invalid("HPE_INVALID_VERSION", `${version.slice(0, 16)} is not HTTP/1.1 or HTTP/1.0`);
  }
  const minor = version === "HTTP/1.1" ? 1 : 0;

  const headers = new Map<string, string>();
  let hosts = 0;
  while (next < head.length) {
    const start = next + 1;
    next = head.indexOf("\n", start);
    if (next < 0) next = head.length;
    const end = lineEnd(head, start, next);
    if (end === start) continue; // the head's empty line (and what follows it: nothing)
    const first = head.charCodeAt(start);
    if (first === 32 || first === 9) {
      throw invalid("HPE_INVALID_HEADER_TOKEN", "obsolete line folding is not accepted");
    }
    const colon = head.indexOf(":", start);
    const name = colon > start && colon < end ? head.slice(start, colon) : "";
    if (!TOKEN.test(name)) {
      throw invalid("HPE_INVALID_HEADER_TOKEN", "a header line is not NAME: VALUE");
    }
    const value = trimOws(head, colon + 1, end);
    if (BAD_VALUE.test(value)) {
      throw invalid("HPE_INVALID_HEADER_VALUE", "a header value holds control characters");
    }
    const key = lowerCase(name);
    if (key === "host" && ++hosts > 1) {
      throw invalid("HPE_DUPLICATE_HOST", "more than one Host header");
    }
    const seen = headers.get(key);
    headers.set(key, seen === undefined ? value : `${seen}, ${value}`);
  }

  const te = headers.get("transfer-encoding");
  const cl = headers.get("content-length");
  let length = 0;
  if (te !== undefined) {
    // RFC 9112 6.1: Transfer-Encoding in an HTTP/1.0 message means faulty framing (an HTTP/1.0
    // proxy on the way does not know it and may have read the body differently).
    if (minor === 0) {
      throw invalid(
        "HPE_INVALID_TRANSFER_ENCODING",
        "Transfer-Encoding is not part of HTTP/1.0; send a Content-Length",
      );
    }
    if (cl !== undefined) {
      throw invalid(
        "HPE_UNEXPECTED_CONTENT_LENGTH",
        "both Transfer-Encoding and Content-Length are set",
      );
    }
    if (te.trim().toLowerCase() !== "chunked") {
      throw invalid(
        "HPE_INVALID_TRANSFER_ENCODING",
        "only Transfer-Encoding: chunked is accepted",
      );
    }
    length = -1;
  } else if (cl !== undefined) {
    // Repeated Content-Length fields must agree (RFC 9112 6.3).
    const parts = cl.split(",");
    const lengthText = parts[0]!.trim();
    if (!/^\d{1,15}$/.test(lengthText) || parts.some((p) => p.trim() !== lengthText)) {
      throw invalid("HPE_INVALID_CONTENT_LENGTH", "Content-Length is not one number");
    }
    length = Number(lengthText);
  }
  // RFC 9112 3.2: an HTTP/1.1 request without Host is answered 400 (HTTP/1.0 predates Host).
  // `hosts` was counted by the loop above: no second look at the headers. Checked after the
  // framing, so a smuggling attempt is named as such.
  if (hosts === 0 && minor === 1) {
    throw invalid("HPE_MISSING_HOST", "an HTTP/1.1 request must carry a Host header");
  }
  const connection = headers.get("connection")?.toLowerCase();
  const keepAlive = minor === 1
    ? !hasToken(connection, "close")
    : hasToken(connection, "keep-alive");
  const expectContinue = minor === 1 &&
    headers.get("expect")?.trim().toLowerCase() === "100-continue";
  return { method, target, minor, headers, length, keepAlive, expectContinue };
}

/**
 * An ASCII header name in lower case. `toLowerCase` builds a new string even when nothing
 * changes (V8 converts into a fresh string, then hands back the original when they are
 * equal), and headers are asked for by lower-case names dozens of times per request: only a
 * name with an upper-case letter is converted (issue 16).
 */
export function lowerCase(name: string): string {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 65 && c <= 90) return name.toLowerCase();
  }
  return name;
}

function hasToken(list: string | undefined, token: string): boolean {
  if (list === undefined) return false;
  if (list === token) return true;
  return list.split(",").some((t) => t.trim() === token);
}

function invalid(cause: string, message: string): FramingError {
  return new FramingError(400, cause, message);
}

function stripCr(line: string): string {
  return line.endsWith("\r") ? line.slice(0, -1) : line;
}

/** Where the line from `start` to its LF at `lf` ends: before a CR that precedes the LF. */
function lineEnd(head: string, start: number, lf: number): number {
  return lf > start && head.charCodeAt(lf - 1) === 13 ? lf - 1 : lf;
}

/** `text[from..end]` without leading and trailing spaces and tabs (OWS). */
function trimOws(text: string, from: number, end: number): string {
  let a = from;
  let b = end;
  while (a < b && (text.charCodeAt(a) === 32 || text.charCodeAt(a) === 9)) a++;
  while (b > a && (text.charCodeAt(b - 1) === 32 || text.charCodeAt(b - 1) === 9)) b--;
  return text.slice(a, b);
}

/**
 * Bytes as ISO-8859-1 text, one character per byte: how HTTP/1.1 heads have always been read
 * (Node's server and `Deno.serve` both hand header values over this way).
 */
export function latin1(bytes: Uint8Array): string {
  // Nearly every head is ASCII, where Latin-1 and UTF-8 agree: the runtime's decoder makes the
  // string at once, where `fromCharCode.apply` first spreads the bytes into an arguments list
  // (8 bytes a byte: most of a request's parsing garbage, issue 16).
  if (isAscii(bytes)) return ascii.decode(bytes);
  let out = "";
  for (let i = 0; i < bytes.length; i += 4096) {
    out += String.fromCharCode.apply(
      null,
      bytes.subarray(i, Math.min(bytes.length, i + 4096)) as unknown as number[],
    );
  }
  return out;
}

const ascii = new TextDecoder("utf-8", { ignoreBOM: true });

function isAscii(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i]! > 0x7f) return false;
  return true;
}

const SIZE = 0;
const DATA = 1;
const DATA_END = 2;
const TRAILERS = 3;
const DONE = 4;

/**
 * Decodes a chunked body fed in pieces, handing its data on as views of the fed buffer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const d = new ChunkedDecoder();
 * const wire = new TextEncoder().encode("5;ext=1\r\nhello\r\n0\r\n\r\nNEXT");
 * const parts: string[] = [];
 * const used = d.feed(wire, 0, wire.length, (v) => parts.push(new TextDecoder().decode(v)));
 * assert.deepEqual(parts, ["hello"]);
 * assert.equal(d.done, true);
 * assert.equal(used, wire.length - 4); // what follows the body is left for the next request
 * ```
 */
export class ChunkedDecoder {
  #state = SIZE;
  #remaining = 0;
  /** The size line (or trailer section) read so far, when it spans pieces. */
  #line = "";
  #lineBytes = 0;

  /** True once the last chunk and the trailers were read. */
  get done(): boolean {
    return this.#state === DONE;
  }

  /**
   * Consumes `buf[start..end]` up to the end of the body; returns how many bytes it used.
   * Throws a {@link FramingError} on malformed framing.
   */
  feed(
    buf: Uint8Array,
    start: number,
    end: number,
    onData: (view: Uint8Array) => void,
  ): number {
    let i = start;
    while (i < end && this.#state !== DONE) {
      switch (this.#state) {
        case SIZE:
        case TRAILERS: {
          const lf = buf.indexOf(10, i);
          const stop = lf < 0 || lf >= end ? end : lf;
          this.#lineBytes += stop - i;
          if (this.#lineBytes > MAX_CHUNK_LINE) {
            throw invalid(
              "HPE_CHUNK_EXTENSIONS_OVERFLOW",
              "a chunk-size line or the trailers are longer than 16 KiB",
            );
          }
          // Only a line's start is kept: a size line's size (up to a ';' or space), or enough
          // of a trailer line to tell the empty one that ends the body.
          if (this.#line.length < 32) {
            this.#line += latin1(buf.subarray(i, Math.min(stop, i + 32)));
          }
          if (stop === end) return end - start;
          const empty = this.#lineBytes <= 1 && stripCr(this.#line) === "";
          i = lf + 1;
          if (this.#state === SIZE) this.#sizeLine();
          else if (empty) this.#state = DONE;
          this.#line = "";
          this.#lineBytes = 0;
          break;
        }
        case DATA: {
          const take = Math.min(this.#remaining, end - i);
          onData(buf.subarray(i, i + take));
          i += take;
          this.#remaining -= take;
          if (this.#remaining === 0) this.#state = DATA_END;
          break;
        }
        case DATA_END: {
          // CRLF (or a bare LF) after a chunk's data.
          const b = buf[i];
          if (b === 13 && this.#lineBytes === 0) {
            this.#lineBytes = 1;
            i++;
          } else if (b === 10) {
            this.#lineBytes = 0;
            this.#state = SIZE;
            i++;
          } else throw invalid("HPE_LF_EXPECTED", "a chunk's data is not followed by CRLF");
          break;
        }
      }
    }
    return i - start;
  }

  #sizeLine(): void {
    const line = stripCr(this.#line);
    const m = /^([0-9A-Fa-f]{1,12})[ \t]*(?:;|$)/.exec(line);
    if (!m) throw invalid("HPE_INVALID_CHUNK_SIZE", "a chunk size is not a hex number");
    this.#remaining = parseInt(m[1]!, 16);
    this.#state = this.#remaining === 0 ? TRAILERS : DATA;
  }
}
