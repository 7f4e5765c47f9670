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
// Connections: a request given an {@link IdleStreams} (uploads: one per file, so photos come
// in bursts) leaves its connection there when the answer allows (HTTP/1.1, framed by length or
// chunks, no `Connection: close`), and the next request to the same origin takes it: a photo
// then costs no TCP connect (and, against a real TrueConf, no TLS handshake) when another
// photo went out in the last few seconds. An idle connection is closed after
// {@link IDLE_MS}; a server may close one first, so a request that fails on a reused
// connection before any byte of its answer arrived is sent once more on a new connection
// (as Go's and Node's clients do). The OAuth token (once an hour) and the version ask once
// and close (`Connection: close`). The answer is read whole, framed by Content-Length, chunked
// coding (the server's decoder, src/http1/) or the connection's end, and bounded by
// `maxBytes`.
import { ChunkedDecoder, headEnd, latin1 } from "../http1/mod.ts";
import { concatBytes } from "../bytes.ts";
import { MAX_ANSWER_HEAD_BYTES, parseAnswerHead, refuseNonHttp } from "./_answer_head.ts";
import { type ByteStream, openByteStream, type TransportTls, writeAll } from "./_ws_transport.ts";

/**
 * Bytes handed to the socket per write: views of the caller's bytes, never copies. Large, so
 * that a 25 MB upload is a few dozen writes: a hot write loop gets V8 to optimise the code
 * around it, whose compiled code counts in the upload's peak (upload's measurement, session 5).
 */
const WRITE_BYTES = 1024 * 1024;

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

/** How long a connection left for reuse stays open without a request. */
const IDLE_MS = 4_000;
/** Most connections kept for reuse per origin (the bot posts at most a few files at once). */
const MAX_IDLE_PER_ORIGIN = 8;

/** Connections kept open for the next request to the same origin (one set per transport). */
export class IdleStreams {
  readonly #idle = new Map<
    string,
    { stream: ByteStream; timer: ReturnType<typeof setTimeout> }[]
  >();
  readonly #idleMs: number;
  #closed = false;

  constructor(idleMs = IDLE_MS) {
    this.#idleMs = idleMs;
  }

  /** Connections kept right now, all origins. */
  get size(): number {
    let n = 0;
    for (const list of this.#idle.values()) n += list.length;
    return n;
  }

  /** The most recently used idle connection to `origin`, if any. */
  take(origin: string): ByteStream | null {
    const entry = this.#idle.get(origin)?.pop();
    if (!entry) return null;
    clearTimeout(entry.timer);
    return entry.stream;
  }

  /** Keeps `stream` for the next request to `origin`, or closes it when closed or full. */
  put(origin: string, stream: ByteStream): void {
    const list = this.#idle.get(origin) ?? [];
    if (this.#closed || list.length >= MAX_IDLE_PER_ORIGIN) return stream.close();
    const timer = setTimeout(() => {
      const at = list.findIndex((e) => e.stream === stream);
      if (at >= 0) list.splice(at, 1);
      stream.close();
    }, this.#idleMs);
    // An idle connection must not keep a stopping process alive.
    Deno.unrefTimer(timer);
    list.push({ stream, timer });
    this.#idle.set(origin, list);
  }

  /** Closes every idle connection; later ones are closed when released. */
  close(): void {
    this.#closed = true;
    for (const list of this.#idle.values()) {
      for (const { stream, timer } of list.splice(0)) {
        clearTimeout(timer);
        stream.close();
      }
    }
  }
}

/** A reused connection that failed before any byte of its answer: the server had closed it. */
class StaleConnection extends Error {}

/**
 * Sends one request to an `http:` or `https:` URL and reads its answer. With `idle`, the
 * connection comes from and goes back to it when it can (the module comment says when).
 */
export async function http1Request(
  url: URL,
  req: Http1Request,
  idle?: IdleStreams,
): Promise<Http1Response> {
  const reused = idle?.take(url.origin);
  if (reused) {
    try {
      return await exchange(reused, url, req, idle, true);
    } catch (err) {
      if (!(err instanceof StaleConnection)) throw err;
    }
  }
  const stream = await openByteStream(url, req, req.signal);
  return await exchange(stream, url, req, idle, false);
}

async function exchange(
  stream: ByteStream,
  url: URL,
  req: Http1Request,
  idle: IdleStreams | undefined,
  reused: boolean,
): Promise<Http1Response> {
  const onAbort = () => stream.close();
  req.signal.addEventListener("abort", onAbort, { once: true });
  const input = new Incoming(stream);
  let keep = false;
  try {
    await writeRequest(stream, url, req, idle !== undefined);
    const res = await readResponse(input, req.maxBytes);
    // Bytes after the answer would be the start of nothing we asked for: not reusable.
    keep = idle !== undefined && res.reusable && input.start === input.end;
    return { status: res.status, headers: res.headers, body: res.body };
  } catch (err) {
    if (req.signal.aborted) throw req.signal.reason;
    if (reused && input.received === 0) throw new StaleConnection("stale", { cause: err });
    throw err;
  } finally {
    req.signal.removeEventListener("abort", onAbort);
    if (keep) idle!.put(url.origin, stream);
    else stream.close();
  }
}

async function writeRequest(
  stream: ByteStream,
  url: URL,
  req: Http1Request,
  keepAlive: boolean,
): Promise<void> {
  const length = req.chunks.reduce((n, c) => n + c.byteLength, 0);
  // HTTP/1.1 keeps a connection by default: only the one-shot requests say otherwise.
  let head = `${req.method} ${url.pathname || "/"}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n` +
    (keepAlive ? "" : "Connection: close\r\n");
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
  buf = new Uint8Array(MAX_ANSWER_HEAD_BYTES);
  start = 0;
  end = 0;
  ended = false;
  /** Bytes read so far: none means the server never began an answer. */
  received = 0;
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
    this.received += n;
    return true;
  }
}

/** The answer, and whether its connection may carry another request. */
async function readResponse(
  input: Incoming,
  maxBytes: number,
): Promise<Http1Response & { reusable: boolean }> {
  for (;;) {
    const { status, headers, http11 } = await readHead(input);
    // 1xx answers (103 Early Hints; 100 Continue, though none is asked for) precede the real one.
    if (status >= 100 && status < 200) continue;
    const { body, framed } = await readBody(input, status, headers, maxBytes);
    const close = /(?:^|,)\s*close\s*(?:,|$)/i.test(headers.get("connection") ?? "");
    return { status, headers, body, reusable: framed && http11 && !close };
  }
}

async function readHead(
  input: Incoming,
): Promise<{ status: number; headers: Map<string, string>; http11: boolean }> {
  let scanned = input.start;
  for (;;) {
    const b = input.buf;
    // Bytes that cannot start an answer fail at once (a TLS port reached over plain HTTP).
    refuseNonHttp(
      b.subarray(input.start, Math.min(input.end, input.start + 8)),
      input.ended,
      "answer",
    );
    const end = headEnd(b, input.start, scanned, input.end);
    if (end >= 0) {
      const head = parseAnswerHead(latin1(b.subarray(input.start, end)), "answer");
      input.start = end;
      return head;
    }
    scanned = input.end;
    if (input.end - input.start >= MAX_ANSWER_HEAD_BYTES) {
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
): Promise<{ body: Uint8Array; framed: boolean }> {
  if (status === 204 || status === 304) return { body: new Uint8Array(), framed: true };
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
    return { body: concatBytes(parts), framed: false };
  }
  return { body: parts.length === 1 ? parts[0]! : concatBytes(parts), framed: true };
}
