// One HTTP/1.1 request to TrueConf (the OAuth token, the server's version, a file upload) over
// the byte stream the WebSocket uses (_ws_transport.ts): TCP, TLS with the custom CA, or
// node:tls for the verify-off setting.
//
// Why not fetch or node:http (issue 16): fetch sends a body it cannot size (a stream) chunked
// and copies an array or Blob body first, which is why uploads went through node:http(s) —
// whose load (Node's HTTP client, ~4 MiB) then had to happen at start or in the first upload's
// peak — and fetch cannot turn TLS verification off per client, which took node:https too.
// The stream under the socket already handles all three TLS settings, so one request written
// on it, with its real Content-Length and the caller's bytes handed over as 1 MiB views, needs
// neither (docs/benchmarks.md, "Session 5 (idle)").
//
// One request per connection (`Connection: close`): TrueConf is asked for a token once an hour
// and for an upload per file; a pool would keep a socket open for nothing. The answer is read
// whole, framed by Content-Length, chunked coding (the server's decoder, src/ingest/_http1.ts)
// or the connection's end, and bounded by `maxBytes`.
import { ChunkedDecoder, latin1 } from "../ingest/_http1.ts";
import { concatBytes } from "../bytes.ts";
import { parseAnswerHead, refuseNonHttp } from "./_answer_head.ts";
import { type ByteStream, openByteStream, type TransportTls, writeAll } from "./_ws_transport.ts";

/**
 * Bytes handed to the socket per write: views of the caller's bytes, never copies. Large, so
 * that a 25 MB upload is a few dozen writes: a hot write loop gets V8 to optimise the code
 * around it, whose compiled code counts in the upload's peak (upload's measurement, session 5).
 */
const WRITE_BYTES = 1024 * 1024;
/** The largest answer head read, as the WebSocket handshake's. */
const MAX_HEAD_BYTES = 16 * 1024;

export interface Http1Request extends TransportTls {
  method: "GET" | "POST";
  /** Header names as given; Host, Connection and Content-Length are this module's. */
  headers: Record<string, string>;
  /** The body as its pieces, sent one after the other (none for a GET). */
  chunks: readonly Uint8Array[];
  /** Closes the connection: the request rejects with the signal's reason. */
  signal: AbortSignal;
  /** The largest answer body accepted. */
  maxBytes: number;
}

export interface Http1Response {
  status: number;
  /** By lower-case name; repeated fields joined with ", ". */
  headers: Map<string, string>;
  body: Uint8Array;
}

/** Sends one request to an `http:` or `https:` URL and reads its answer. */
export async function http1Request(url: URL, req: Http1Request): Promise<Http1Response> {
  const stream = await openByteStream(url, req, req.signal);
  const onAbort = () => stream.close();
  req.signal.addEventListener("abort", onAbort, { once: true });
  try {
    await writeRequest(stream, url, req);
    return await readResponse(stream, req.maxBytes);
  } catch (err) {
    throw req.signal.aborted ? req.signal.reason : err;
  } finally {
    req.signal.removeEventListener("abort", onAbort);
    stream.close();
  }
}

async function writeRequest(stream: ByteStream, url: URL, req: Http1Request): Promise<void> {
  const length = req.chunks.reduce((n, c) => n + c.byteLength, 0);
  let head = `${req.method} ${url.pathname || "/"}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n` +
    "Connection: close\r\n";
  for (const [name, value] of Object.entries(req.headers)) {
    if (/[\r\n]/.test(name + value)) throw new Error(`header ${name}: CR or LF in a header`);
    head += `${name}: ${value}\r\n`;
  }
  if (req.method !== "GET" || length > 0) head += `Content-Length: ${length}\r\n`;
  const headBytes = new TextEncoder().encode(head + "\r\n");
  if (length <= 64 * 1024) {
    // A small request (the token, the version) leaves in one write.
    const one = new Uint8Array(headBytes.byteLength + length);
    one.set(headBytes);
    let at = headBytes.byteLength;
    for (const c of req.chunks) {
      one.set(c, at);
      at += c.byteLength;
    }
    return await writeAll(stream, one);
  }
  await writeAll(stream, headBytes);
  for (const chunk of req.chunks) {
    for (let at = 0; at < chunk.byteLength; at += WRITE_BYTES) {
      await writeAll(stream, chunk.subarray(at, Math.min(at + WRITE_BYTES, chunk.byteLength)));
    }
  }
}

/** What has arrived of the answer, read on demand. */
class Incoming {
  buf = new Uint8Array(MAX_HEAD_BYTES);
  start = 0;
  end = 0;
  ended = false;
  #stream: ByteStream;

  constructor(stream: ByteStream) {
    this.#stream = stream;
  }

  /** Reads more; false at the end of the stream. */
  async more(): Promise<boolean> {
    if (this.ended) return false;
    if (this.start > 0) {
      this.buf.copyWithin(0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
    }
    if (this.end === this.buf.byteLength) {
      const bigger = new Uint8Array(this.buf.byteLength * 2);
      bigger.set(this.buf.subarray(0, this.end));
      this.buf = bigger;
    }
    const n = await this.#stream.read(this.buf.subarray(this.end));
    if (n === null) {
      this.ended = true;
      return false;
    }
    this.end += n;
    return true;
  }
}

async function readResponse(stream: ByteStream, maxBytes: number): Promise<Http1Response> {
  const input = new Incoming(stream);
  for (;;) {
    const { status, headers } = await readHead(input);
    // 1xx answers (103 Early Hints; 100 Continue, though none is asked for) precede the real one.
    if (status >= 100 && status < 200) continue;
    return { status, headers, body: await readBody(input, status, headers, maxBytes) };
  }
}

async function readHead(
  input: Incoming,
): Promise<{ status: number; headers: Map<string, string> }> {
  let scanned = input.start;
  for (;;) {
    const b = input.buf;
    // Bytes that cannot start an answer fail at once (a TLS port reached over plain HTTP).
    refuseNonHttp(
      b.subarray(input.start, Math.min(input.end, input.start + 8)),
      input.ended,
      "answer",
    );
    for (let i = Math.max(input.start + 1, scanned); i < input.end; i++) {
      // The blank line: "\n\n" or "\n\r\n".
      if (b[i] !== 0x0a || !(b[i - 1] === 0x0a || (b[i - 1] === 0x0d && b[i - 2] === 0x0a))) {
        continue;
      }
      const head = parseAnswerHead(latin1(b.subarray(input.start, i + 1)), "answer");
      input.start = i + 1;
      return head;
    }
    scanned = input.end;
    if (input.end - input.start >= MAX_HEAD_BYTES) {
      throw new Error("answer head larger than 16 KiB");
    }
    if (!await input.more()) {
      throw new Error(
        input.end === input.start
          ? "socket hang up (closed before answering)"
          : "connection closed in the middle of the answer's head",
      );
    }
  }
}

async function readBody(
  input: Incoming,
  status: number,
  headers: Map<string, string>,
  maxBytes: number,
): Promise<Uint8Array> {
  if (status === 204 || status === 304) return new Uint8Array();
  const tooLarge = () => new Error(`answer larger than ${maxBytes} bytes`);
  const parts: Uint8Array[] = [];
  let size = 0;
  const take = (view: Uint8Array) => {
    size += view.byteLength;
    if (size > maxBytes) throw tooLarge();
    parts.push(view.slice());
  };
  if (/(?:^|,)\s*chunked\s*$/i.test(headers.get("transfer-encoding") ?? "")) {
    const decoder = new ChunkedDecoder();
    for (;;) {
      input.start += decoder.feed(input.buf, input.start, input.end, take);
      if (decoder.done) break;
      if (!await input.more()) throw new Error("connection closed in the middle of the answer");
    }
  } else if (headers.has("content-length")) {
    const length = Number(headers.get("content-length"));
    if (!/^\d+$/.test(headers.get("content-length")!)) {
      throw new Error(`invalid Content-Length in the answer: ${headers.get("content-length")}`);
    }
    if (length > maxBytes) throw tooLarge();
    while (input.end - input.start < length) {
      if (!await input.more()) throw new Error("connection closed in the middle of the answer");
    }
    take(input.buf.subarray(input.start, input.start + length));
    input.start += length;
  } else {
    // Neither: the answer ends with the connection.
    do {
      take(input.buf.subarray(input.start, input.end));
      input.start = input.end;
    } while (await input.more());
  }
  return parts.length === 1 ? parts[0]! : concatBytes(parts);
}
