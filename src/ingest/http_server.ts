/**
 * The HTTP/1.1 server the bot listens with, on `Deno.listen`: it reads each connection itself
 * (framing in `src/http1/`) and hands a light request (`_server_request.ts`) to a fetch-style
 * handler (the Hono app); the app's JSON answers come back as light answers
 * (`_server_response.ts`), written without a fetch `Response`'s body machinery.
 *
 * Why its own: `Deno.serve` in 2.9.6 has no header timeout, never closes an idle keep-alive
 * connection and gives a handler no way to close one (issue 18.2: a half-sent head and an idle
 * connection both stayed open 7+ minutes). Node's `http` server, which the bot used for that,
 * costs 0.034 ms of CPU per request on its own and about 0.1 ms with the fetch `Request`
 * conversion a Hono app needs, against 0.013 ms for a `Deno.listen` loop (bench/ab.ts and
 * docs/benchmarks.md; issue 16). A webhook request is small and one-shot, so the whole
 * exchange is: read the head, hand over the request, let the handler pull the body, write the
 * answer in one `write`.
 *
 * What this module owns (docs/limits.md has the numbers):
 *
 * - **Request head:** must arrive within `headersTimeoutMs` of the connection opening or of
 *   its first byte after an idle spell (else `408 request_timeout`, connection closed); at
 *   most 16 KiB (431; 414 when the request line alone is longer); malformed framing gets
 *   `400 invalid_request`.
 * - **Idle keep-alive:** a connection with no request for `idleTimeoutMs` is closed.
 * - **Connections:** at most `maxConnections` open (each costs about 18 KiB); at the cap a new
 *   one closes the longest-idle keep-alive connection to make room, or, with none idle, is
 *   closed at once: thousands of idle or silent clients cannot grow memory without bound.
 * - **Unread answers:** an answer the client does not take for `idleTimeoutMs` (a client that
 *   never reads, pipelining requests or asking for a large answer) closes the connection: a
 *   write stuck on a full socket would otherwise hold it, and its request, forever.
 * - **Bodies:** pulled by the handler's reader chunk by chunk ({@link incomingBody}); the time
 *   and size limits of a body are the reader's (`BodyReader`), since they depend on the route.
 *   `Expect: 100-continue` is answered when the reader starts reading, so an app that refuses
 *   a request from its head (the hook routes do: `rawBody`'s head checks) answers instead of
 *   the 100 and the body is never sent.
 * - **Answers** get `Content-Length`; an answer given before the body was read closes the
 *   connection (the rest of the body is never waited for), after a short lingering close so
 *   the client reads the answer rather than a reset.
 * - **Deadlines** are checked by one timer per server (every quarter of the shortest limit, at
 *   most once a second), not one per connection or request.
 * - **Shutdown:** {@link HttpServer.drain} keeps accepting but closes each connection after its
 *   answer (late requests are answered, `503` by the app, not refused);
 *   {@link HttpServer.shutdown} stops accepting and closes connections without a request in
 *   flight; {@link HttpServer.closeAll} cuts the rest at the end of the grace period.
 *
 * @module
 */
import {
  ChunkedDecoder,
  FramingError,
  headEnd,
  lowerCase,
  MAX_HEAD_BYTES,
  parseHead,
  type RequestHead,
} from "../http1/mod.ts";
import { ServerHeaders, ServerRequest } from "./_server_request.ts";
import { JsonAnswer } from "./_server_response.ts";

/** The peer of a request, shaped as `Deno.serve` passes it (Hono's `c.env`). */
export interface ServeInfo {
  /** The TCP peer. */
  readonly remoteAddr: { transport: "tcp"; hostname: string; port: number };
}

/** A fetch-style request handler, as `Deno.serve` and Hono's `app.fetch` take it. */
export type FetchHandler = (req: Request, info: ServeInfo) => Response | Promise<Response>;

/** A client's HTTP mistake, answered by the server itself (never reaches the handler). */
export interface ClientMistake {
  /** The status answered (400, 408, 414, 431), or 0 when the client was gone. */
  readonly status: number;
  /**
   * The machine code answered (`request_timeout`, `invalid_request`, `uri_too_long`,
   * `headers_too_large`).
   */
  readonly code: string;
  /** The parser's code for the defect (`HPE_INVALID_HEADER_TOKEN`, `HPE_HEADER_OVERFLOW`, …). */
  readonly cause: string;
  /** The client's address. */
  readonly ip: string;
}

/** Options of {@link listenHttp}. */
export interface HttpServerOptions {
  /** Address to bind (`0.0.0.0`, `::`, `127.0.0.1`). */
  readonly hostname: string;
  /** Port to bind; 0 picks a free one. */
  readonly port: number;
  /** Answers every request. */
  readonly handler: FetchHandler;
  /** Time for a request head to arrive. Default 10 000 ms. */
  readonly headersTimeoutMs?: number;
  /** Time an idle keep-alive connection is kept. Default 75 000 ms (WEBHOOK_HTTP_IDLE_TIMEOUT_SECONDS). */
  readonly idleTimeoutMs?: number;
  /** Connections open at once. Default {@link MAX_CONNECTIONS}. */
  readonly maxConnections?: number;
  /** Told of each client mistake the server answered itself (for a debug log line). */
  readonly onClientMistake?: (mistake: ClientMistake) => void;
  /** Told when the handler threw (it answers 500). Hono's app never throws; a bug might. */
  readonly onHandlerError?: (error: unknown) => void;
  /**
   * Told when accepting a connection failed (out of file descriptors, …); the server pauses
   * 100 ms and accepts again.
   */
  readonly onAcceptError?: (error: unknown) => void;
}

/** A listening server. */
export interface HttpServer {
  /** The bound address (the real port when 0 was asked). */
  readonly addr: { hostname: string; port: number };
  /** Open connections right now (idle ones included). */
  readonly connections: number;
  /** Requests whose answer has not been handed to the network yet. */
  readonly requests: number;
  /**
   * Resolves once no request is in flight (every answer handed to the network). What a
   * shutdown waits for: a connection without a request in flight (idle, or a half-sent head)
   * was never answered anything, so it can be closed at once.
   */
  requestsDone(): Promise<void>;
  /**
   * The start of a shutdown: the listener keeps accepting, so a request that arrives now is
   * answered (the app says `503 shutting_down`) instead of refused, and every answer from now on
   * closes its connection. {@link shutdown} then stops accepting.
   */
  drain(): void;
  /**
   * Stops accepting and closes the connections without a request (idle or silent ones);
   * resolves once every connection has ended. Requests in flight finish
   * first: cut their bodies (`BodyReader.abortAll`) so none waits for a client, wait for
   * {@link requestsDone}, then {@link closeAll}.
   */
  shutdown(): Promise<void>;
  /** Closes every connection at once, whatever it is doing. */
  closeAll(): void;
}

/**
 * A request body still on its socket, read by pushing each chunk to the reader: what
 * `BodyReader` consumes for requests of this server (the fetch `Request` it gets has no body).
 * Reading chunks straight off the socket, with no web `ReadableStream` between, cost about
 * 0.05 ms less per request than the stream (measured: 0.12 → 0.073 ms CPU for a small JSON POST).
 */
export interface IncomingBody {
  /** Content-Length, or -1 for a chunked body. */
  readonly declared: number;
  /**
   * Calls `onChunk` with each chunk as it arrives (it must copy what it keeps: the chunk is a
   * view of the connection's read buffer) and resolves at the end of the body; rejects when the connection breaks,
   * the chunked framing is malformed, `onChunk` throws, or {@link cancel} is called.
   */
  pipe(onChunk: (chunk: Uint8Array) => void): Promise<void>;
  /**
   * The whole body, copied, when it already arrived with the head (a declared length whose
   * bytes are all in the read buffer, as a webhook's small JSON nearly always is); null when it
   * must be piped. Taking it reads the body: {@link pipe} then rejects.
   */
  buffered(): Uint8Array | null;
  /** Stops reading; the answer then closes the connection (the rest is never waited for). */
  cancel(): void;
}

/** The body of a request this server received, or undefined for any other `Request`. */
export function incomingBody(req: Request): IncomingBody | undefined {
  // A field of the request, not a WeakMap entry: one per request would grow the map's table
  // between collections and give the GC an ephemeron per request to trace (issue 16).
  return req instanceof ServerRequest
    ? (req as ServerRequest<IncomingBody>).incoming ?? undefined
    : undefined;
}

/**
 * Starts listening; rejects when the address cannot be bound (`EADDRINUSE`, `EACCES`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const server = await listenHttp({
 *   hostname: "127.0.0.1",
 *   port: 0,
 *   handler: (req, info) => new Response(`${req.method} from ${info.remoteAddr.hostname}`),
 * });
 * const res = await fetch(`http://127.0.0.1:${server.addr.port}/`);
 * assert.equal(await res.text(), "GET from 127.0.0.1");
 * await server.shutdown();
 * ```
 */
export function listenHttp(options: HttpServerOptions): Promise<HttpServer> {
  let listener: Deno.TcpListener;
  try {
    listener = Deno.listen({ hostname: options.hostname, port: options.port, transport: "tcp" });
  } catch (e) {
    // The Node-style code callers (and their logs) know the failure by.
    if (e instanceof Error && !("code" in e)) {
      const code = e instanceof Deno.errors.AddrInUse
        ? "EADDRINUSE"
        : e instanceof Deno.errors.PermissionDenied
        ? "EACCES"
        : undefined;
      if (code) Object.assign(e, { code });
    }
    return Promise.reject(e);
  }
  return Promise.resolve(new Http1Server(options, listener));
}

/** A connection's read buffer to start with: a webhook's head and a small body fit. */
const SMALL_BUFFER = 4 * 1024;
/** The read buffer while a larger body streams through. */
const BODY_BUFFER = 64 * 1024;
/** How long a closing connection's late bytes are read and dropped (so it sees our answer). */
const LINGER_MS = 1_000;
/** An answer's buffer to start with: a webhook's answer (head and small JSON) fits. */
const ANSWER_BUFFER = 1024;
const CONTINUE = new TextEncoder().encode("HTTP/1.1 100 Continue\r\n\r\n");
const EMPTY = new Uint8Array(0);

/**
 * What a connection is doing, for the deadline timer: reading a head (`head`), waiting for the
 * next request (`idle`), in a request (`busy`: no deadline here; the body's are the reader's),
 * writing its answer (`sending`: the timer starts the clock when it first sees it, since an
 * answer normally leaves in one write long before) or closing after its last answer
 * (`closing`).
 */
type Phase = "head" | "idle" | "busy" | "sending" | "closing";

class Connection {
  readonly conn: Deno.TcpConn;
  readonly info: ServeInfo;
  /** The read buffer; unread bytes are `buf[start..end]`. */
  buf: Uint8Array = new Uint8Array(SMALL_BUFFER);
  start = 0;
  end = 0;
  phase: Phase = "head";
  /** When the current phase's limit runs out (`performance.now()` ms). */
  deadline: number;
  /** A byte of the current request head has arrived. */
  headStarted = false;
  destroyed = false;
  /** The bytes of the answer being written; one buffer for all of this connection's answers. */
  readonly answer = new AnswerBytes();
  #pending: Promise<unknown> | null = null;

  constructor(conn: Deno.TcpConn, deadline: number) {
    this.conn = conn;
    this.deadline = deadline;
    const peer = conn.remoteAddr as Deno.NetAddr;
    this.info = { remoteAddr: { transport: "tcp", hostname: peer.hostname, port: peer.port } };
  }

  /** Reads more into `buf[end..]` (making room first); null at the end of the stream. */
  read(): Promise<number | null> {
    if (this.start === this.end) this.start = this.end = 0;
    if (this.end === this.buf.length) {
      if (this.start > 0) {
        this.buf.copyWithin(0, this.start, this.end);
        this.end -= this.start;
        this.start = 0;
      } else this.#resize(this.buf.length * 2);
    }
    // Between requests the buffer is empty: read into it whole (no view to allocate).
    const into = this.end === 0 ? this.buf : this.buf.subarray(this.end);
    const reading = this.conn.read(into).then((n) => {
      if (n !== null) this.end += n;
      return n;
    });
    this.#pending = reading;
    return reading;
  }

  /** Settles once a read still pending (one a cancelled body started) is over. */
  async settled(): Promise<void> {
    await this.#pending?.catch(() => {});
  }

  /**
   * Grows the buffer (by doubling, up to 64 KiB) so `wanted` bytes fit: a 10 KiB Alertmanager
   * body is read in one or two reads, a 25 MB upload in 64 KiB ones.
   */
  widen(wanted: number): void {
    let size = this.buf.length;
    while (size < wanted && size < BODY_BUFFER) size *= 2;
    if (size > this.buf.length) this.#resize(size);
  }

  /** Back to small buffers between requests, so an idle connection holds 5 KiB. */
  shrink(): void {
    this.answer.shrink();
    if (this.buf.length > SMALL_BUFFER && this.end - this.start <= SMALL_BUFFER) {
      this.#resize(SMALL_BUFFER);
    }
  }

  #resize(size: number): void {
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(this.start, this.end));
    this.end -= this.start;
    this.start = 0;
    this.buf = next;
  }

  /** Writes all of `bytes`. */
  async write(bytes: Uint8Array): Promise<void> {
    let done = 0;
    while (done < bytes.byteLength) {
      done += await this.conn.write(done === 0 ? bytes : bytes.subarray(done));
      // The client took some: the stall clock of a `sending` connection starts again.
      if (this.phase === "sending") this.deadline = Infinity;
    }
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    try {
      this.conn.close();
    } catch { /* already closed */ }
  }
}

/** A request body on its connection, pulled by the handler's reader. */
class ConnectionBody implements IncomingBody {
  readonly declared: number;
  readonly #c: Connection;
  readonly #decoder: ChunkedDecoder | null;
  readonly #expectContinue: boolean;
  #remaining: number;
  #started = false;
  #done = false;
  #cancelled = false;
  #abort: ((error: Error) => void) | null = null;

  constructor(c: Connection, head: RequestHead) {
    this.#c = c;
    this.declared = head.length;
    this.#remaining = Math.max(0, head.length);
    this.#decoder = head.length < 0 ? new ChunkedDecoder() : null;
    this.#expectContinue = head.expectContinue;
  }

  pipe(onChunk: (chunk: Uint8Array) => void): Promise<void> {
    if (this.#started) return Promise.reject(new Error("the body was already read"));
    this.#started = true;
    if (this.#cancelled) return Promise.reject(new Error("cancelled"));
    return new Promise<void>((resolve, reject) => {
      this.#abort = reject;
      this.#run(onChunk).then(resolve, reject);
    });
  }

  buffered(): Uint8Array | null {
    const c = this.#c;
    if (this.#started || this.#cancelled || this.#decoder || c.end - c.start < this.#remaining) {
      return null;
    }
    this.#started = this.#done = true;
    const bytes = c.buf.slice(c.start, c.start + this.#remaining);
    c.start += this.#remaining;
    this.#remaining = 0;
    return bytes;
  }

  cancel(): void {
    this.#cancelled = true;
    this.#abort?.(new Error("cancelled"));
  }

  /**
   * At the end of the exchange: true when the connection is past this body (read whole, or a
   * small one that arrived whole with the head and was not read); false when the answer must
   * close the connection.
   */
  finish(): boolean {
    if (this.#done) return true;
    const c = this.#c;
    if (
      !this.#started && !this.#cancelled && !this.#decoder && c.end - c.start >= this.#remaining
    ) {
      c.start += this.#remaining;
      this.#done = true;
      return true;
    }
    this.#cancelled = true;
    return false;
  }

  async #run(onChunk: (chunk: Uint8Array) => void): Promise<void> {
    const c = this.#c;
    if (this.#expectContinue && c.start === c.end) await c.write(CONTINUE);
    for (;;) {
      if (this.#cancelled) throw new Error("cancelled");
      if (c.start < c.end) {
        if (this.#decoder) {
          // A FramingError names the defect; the body's reader answers it (400 invalid_body).
          c.start += this.#decoder.feed(c.buf, c.start, c.end, onChunk);
          if (this.#decoder.done) break;
        } else {
          const take = Math.min(this.#remaining, c.end - c.start);
          onChunk(c.buf.subarray(c.start, c.start + take));
          c.start += take;
          this.#remaining -= take;
          if (this.#remaining === 0) break;
        }
        continue;
      }
      let n: number | null;
      try {
        n = await c.read();
      } catch (e) {
        throw new Error(`the connection broke (${message(e)})`);
      }
      if (n === null) throw new Error("the connection broke");
      // The read buffer grows only for a sender that fills it (an upload is then read 64 KiB at
      // a time; a chunked body's size is unknown: the largest buffer; a declared one: what it
      // needs). One that trickles keeps the small buffer: what its connection holds follows
      // what it sent (issue 18.2), not 64 KiB for a byte.
      if (c.end === c.buf.length) c.widen(this.#decoder ? BODY_BUFFER : this.#remaining);
    }
    this.#done = true;
  }
}

/**
 * Connections open at once by default: about 180 MiB of idle ones (18 KiB each, measured with
 * 3,000), far above what webhook senders open (a sender's pool, a proxy's upstream pool).
 */
export const MAX_CONNECTIONS = 10_000;

class Http1Server implements HttpServer {
  readonly addr: { hostname: string; port: number };
  readonly #options: HttpServerOptions;
  readonly #listener: Deno.TcpListener;
  readonly #headersTimeout: number;
  readonly #idleTimeout: number;
  readonly #maxConnections: number;
  /** The `keep-alive: timeout=…` line of every answer that keeps its connection, as bytes. */
  readonly #keepAlive: Uint8Array;
  readonly #sweepEvery: number;
  readonly #conns = new Set<Connection>();
  readonly #accepting: Promise<void>;
  #requests = 0;
  #requestsDone: (() => void)[] = [];
  #emptied: (() => void)[] = [];
  #stopping = false;
  /** Every answer closes its connection ({@link drain}, and after {@link shutdown}). */
  #draining = false;
  #sweeper: ReturnType<typeof setInterval> | undefined;

  constructor(options: HttpServerOptions, listener: Deno.TcpListener) {
    this.#options = options;
    this.#listener = listener;
    this.#headersTimeout = options.headersTimeoutMs ?? 10_000;
    this.#idleTimeout = options.idleTimeoutMs ?? 75_000;
    this.#maxConnections = options.maxConnections ?? MAX_CONNECTIONS;
    this.#keepAlive = latin1Bytes(
      `keep-alive: timeout=${Math.floor(this.#idleTimeout / 1000)}\r\n`,
      0,
    );
    // Deadlines are checked a quarter of the shortest limit apart, at most once a second:
    // a limit is then kept within a quarter of itself (or a second).
    this.#sweepEvery = Math.min(
      1_000,
      Math.max(25, Math.min(this.#headersTimeout, this.#idleTimeout) / 4),
    );
    this.addr = { hostname: options.hostname, port: (listener.addr as Deno.NetAddr).port };
    this.#accepting = this.#accept();
  }

  get connections(): number {
    return this.#conns.size;
  }

  get requests(): number {
    return this.#requests;
  }

  requestsDone(): Promise<void> {
    if (this.#requests === 0) return Promise.resolve();
    return new Promise<void>((done) => this.#requestsDone.push(done));
  }

  drain(): void {
    this.#draining = true;
  }

  async shutdown(): Promise<void> {
    this.#stop();
    // Idle and silent connections; a half-sent head may still become a request (answered
    // 503 shutting_down by the app) until closeAll.
    for (const c of this.#conns) if (!c.headStarted && c.phase !== "busy") c.destroy();
    if (this.#conns.size > 0) await new Promise<void>((done) => this.#emptied.push(done));
    await this.#accepting;
  }

  closeAll(): void {
    this.#stop();
    for (const c of this.#conns) c.destroy();
  }

  #stop(): void {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#draining = true;
    try {
      this.#listener.close();
    } catch { /* already closed */ }
  }

  async #accept(): Promise<void> {
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch (e) {
        if (this.#stopping || e instanceof Deno.errors.BadResource) return;
        // Out of file descriptors and the like: report it and pause rather than spin.
        this.#options.onAcceptError?.(e);
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      if (this.#stopping || (this.#conns.size >= this.#maxConnections && !this.#evictIdle())) {
        conn.close();
        continue;
      }
      try {
        // One write per answer: don't let Nagle hold it for the client's delayed ACK.
        conn.setNoDelay(true);
      } catch { /* closed already: the read below ends */ }
      const c = new Connection(conn, performance.now() + this.#headersTimeout);
      this.#conns.add(c);
      this.#sweeper ??= setInterval(() => this.#sweep(), this.#sweepEvery);
      void this.#serve(c);
    }
  }

  /**
   * At the cap: closes the keep-alive connection idle the longest (the earliest idle
   * deadline); false when none is idle. One pass over the connections, at the cap only.
   */
  #evictIdle(): boolean {
    let oldest: Connection | null = null;
    for (const c of this.#conns) {
      if (c.phase === "idle" && !c.destroyed && (!oldest || c.deadline < oldest.deadline)) {
        oldest = c;
      }
    }
    oldest?.destroy();
    return oldest !== null;
  }

  /** Closes what ran out of time: idle and silent connections, slow heads (408), lingerers. */
  #sweep(): void {
    const now = performance.now();
    for (const c of this.#conns) {
      if (c.phase === "sending" && c.deadline === Infinity) {
        // An answer still being written at a sweep: the client is slow to read it, or never
        // will. It has the idle timeout to take the next bytes.
        c.deadline = now + this.#idleTimeout;
        continue;
      }
      if (now < c.deadline) continue;
      if (c.phase === "head" && c.headStarted) void this.#timedOut(c);
      else c.destroy();
    }
  }

  async #serve(c: Connection): Promise<void> {
    try {
      for (;;) {
        const head = await this.#readHead(c);
        if (!head || !await this.#exchange(c, head)) break;
      }
    } catch {
      // The connection broke, or was closed under a read (timeout, shutdown): nothing to answer.
    } finally {
      c.destroy();
      this.#conns.delete(c);
      if (this.#conns.size === 0) {
        clearInterval(this.#sweeper);
        this.#sweeper = undefined;
        for (const done of this.#emptied.splice(0)) done();
      }
    }
  }

  /** The next request's head, or null when the connection is to end (after any answer). */
  async #readHead(c: Connection): Promise<RequestHead | null> {
    let scanned = c.start;
    for (;;) {
      if (!c.headStarted) {
        // Empty lines before a request line are skipped (RFC 9112 2.2).
        while (c.start < c.end && (c.buf[c.start] === 13 || c.buf[c.start] === 10)) c.start++;
        scanned = c.start;
        if (c.start < c.end) {
          c.headStarted = true;
          if (c.phase === "idle") c.deadline = performance.now() + this.#headersTimeout;
          c.phase = "head";
        }
      }
      if (c.headStarted) {
        const end = headEnd(c.buf, c.start, scanned, c.end);
        if (end - c.start > MAX_HEAD_BYTES || (end < 0 && c.end - c.start > MAX_HEAD_BYTES)) {
          // A request line that alone passes the limit is a long URL: 414 (RFC 9112 3).
          const lf = c.buf.indexOf(10, c.start);
          const longUrl = lf < 0 || lf >= c.end || lf - c.start > MAX_HEAD_BYTES;
          await this.#refuse(c, longUrl ? 414 : 431, "HPE_HEADER_OVERFLOW");
          return null;
        }
        if (end >= 0) {
          const bytes = c.buf.subarray(c.start, end);
          c.start = end;
          try {
            return parseHead(bytes);
          } catch (e) {
            if (!(e instanceof FramingError)) throw e;
            await this.#refuse(c, e.status, e.defect, e.message);
            return null;
          }
        }
        // A head that starts with no method (reached only when the first read did not bring
        // the whole head, so never for a webhook's): a TLS handshake or other binary protocol
        // would otherwise wait out the head timeout for a line end that never comes.
        if (scanned === c.start && !isRequestLineByte(c.buf[c.start]!)) {
          await this.#refuse(c, 400, "HPE_INVALID_METHOD", notHttp(c.buf[c.start]!));
          return null;
        }
        scanned = c.end;
      }
      const from = c.start;
      const n = await c.read();
      // A full buffer is compacted (or grown) under the read, moving the head to its start:
      // what was scanned moved with it. (Pipelined heads that crossed the 4 KiB buffer's end
      // were searched past their end and waited out the head timeout: 408.)
      scanned -= from - c.start;
      if (c.phase === "closing") {
        // Timed out under the read: the 408 is sent; drop what else comes.
        await this.#linger(c);
        return null;
      }
      if (n === null) {
        if (c.headStarted) {
          this.#mistake(c, 0, "client_gone", "EOF");
        }
        return null;
      }
    }
  }

  /** Serves one request; true when the connection stays open for the next. */
  async #exchange(c: Connection, head: RequestHead): Promise<boolean> {
    const host = head.headers.get("host");
    // RFC 9112 3.2: a Host with an invalid value is 400. Looked at only when the strict pattern
    // the URL is built from refuses it: nothing more for an ordinary Host.
    if (host && !HOST.test(host) && !VALID_HOST.test(host)) {
      await this.#refuse(
        c,
        400,
        "HPE_INVALID_HOST",
        "the Host header is not a host name or address with an optional port",
      );
      return false;
    }
    this.#requests++;
    c.phase = "busy";
    c.deadline = Infinity;
    c.headStarted = false;
    let close = true;
    try {
      const body = head.length !== 0 ? new ConnectionBody(c, head) : null;
      const request = new ServerRequest(
        head.method,
        `http://${host && HOST.test(host) ? host : "localhost"}${requestPath(head.target)}`,
        new ServerHeaders(head.headers) as unknown as Headers,
        body,
      ) as unknown as Request;
      let response: Response;
      try {
        response = await this.#options.handler(request, c.info);
      } catch (e) {
        this.#options.onHandlerError?.(e);
        response = errorResponse(500, "internal_error", "The bot failed to answer this request.");
      }
      // A body read to its end (or a small one that came whole with the head) leaves the
      // connection ready for the next request; otherwise the answer closes it.
      const complete = body === null || body.finish();
      close = !head.keepAlive || !complete || this.#draining;
      await this.#send(c, response, head, close);
    } finally {
      if (--this.#requests === 0) { for (const done of this.#requestsDone.splice(0)) done(); }
    }
    if (close) {
      await this.#linger(c);
      return false;
    }
    c.phase = "idle";
    c.deadline = performance.now() + this.#idleTimeout;
    c.shrink();
    return true;
  }

  async #send(c: Connection, response: Response, head: RequestHead, close: boolean) {
    const status = response.status;
    const bodiless = status === 204 || status === 304 || status < 200;
    // The app's JSON answers (`_server_response.ts`) come as their text and headers: no fetch
    // body to read back, no `Headers` to walk. Any other answer's body is read whole without
    // touching `response.body`, which keeps a string or bytes body off the web-stream path
    // (`.body` would wrap it in a ReadableStream first).
    const light = response instanceof JsonAnswer ? response : null;
    const body = bodiless ? EMPTY : light ? light.encoded() : await response.bytes();
    // The head is written into the connection's answer buffer piece by piece: no string is
    // built for it, no buffer allocated per answer, and the lines every answer repeats (status
    // line, JSON type, date, keep-alive) are copied in as bytes made once (issue 16).
    const out = c.answer.reset();
    out.bytes(statusLine(status));
    const plain = light?.plainHeaders;
    if (plain) {
      out.bytes(JSON_TYPE_LINE);
      for (const [name, value] of plain) writeHeader.call(out, value, lowerCase(name));
    } else response.headers.forEach(writeHeader, out);
    // A HEAD answer from Hono has the GET answer's headers and no body: a length of 0 would be
    // false (RFC 9110 8.6), and none at all is allowed. Tested only for empty answers.
    if (!bodiless && (body.byteLength > 0 || head.method !== "HEAD")) {
      out.text("content-length: ").text(String(body.byteLength)).text("\r\n");
    }
    out.bytes(dateLine());
    if (close) out.bytes(CLOSE_LINE);
    else {
      if (head.minor === 0) out.bytes(KEEP_ALIVE_LINE);
      out.bytes(this.#keepAlive);
    }
    out.bytes(CRLF);
    const payload = head.method === "HEAD" ? EMPTY : body;
    // The answer leaves now; the sweep cuts a client that leaves it unread (no clock read here).
    c.phase = "sending";
    if (payload.byteLength > 16 * 1024) {
      await c.write(out.view());
      await c.write(payload);
    } else {
      // A socket takes an answer this small whole: the write loop is for what is left, if any
      // (no frame of its own per answer, issue 16).
      const bytes = out.bytes(payload).view();
      const n = await c.conn.write(bytes);
      if (n < bytes.byteLength) await c.write(bytes.subarray(n));
    }
  }

  /** Answers a client's framing mistake itself (the handler never sees it) and closes. */
  async #refuse(c: Connection, status: number, cause: string, why?: string): Promise<void> {
    const [code, text] = explain(status, cause, this.#headersTimeout, why);
    this.#mistake(c, status, code, cause);
    c.phase = "closing";
    c.deadline = performance.now() + LINGER_MS;
    try {
      await c.write(errorBytes(status, code, text));
    } catch { /* gone */ }
    await this.#linger(c);
  }

  /** A head that did not arrive in time: 408, then the connection closes. */
  async #timedOut(c: Connection): Promise<void> {
    const [code, text] = explain(408, "ERR_HTTP_REQUEST_TIMEOUT", this.#headersTimeout);
    this.#mistake(c, 408, code, "ERR_HTTP_REQUEST_TIMEOUT");
    c.phase = "closing";
    c.deadline = performance.now() + LINGER_MS;
    try {
      await c.write(errorBytes(408, code, text));
      c.conn.closeWrite();
    } catch {
      c.destroy();
    }
  }

  /**
   * Ends a connection after its last answer: our side is shut for writing (the client sees the
   * end of the answer), and what the client still sends is read and dropped until it closes
   * or {@link LINGER_MS} pass. Closing at once with unread bytes would send a reset, which
   * can destroy the answer before the client reads it.
   */
  async #linger(c: Connection): Promise<void> {
    if (c.destroyed) return;
    if (c.phase !== "closing") {
      c.phase = "closing";
      c.deadline = performance.now() + LINGER_MS;
    }
    try {
      c.conn.closeWrite();
    } catch { /* already shut */ }
    await c.settled();
    try {
      for (;;) {
        c.start = c.end;
        if (await c.read() === null) return;
      }
    } catch { /* closed at the deadline, or reset */ }
  }

  #mistake(c: Connection, status: number, code: string, cause: string): void {
    this.#options.onClientMistake?.({ status, code, cause, ip: c.info.remoteAddr.hostname });
  }
}

/** Headers the server writes itself from the exchange, never copied from a handler's answer. */
const FRAMING_HEADERS = new Set([
  "connection",
  "content-length",
  "keep-alive",
  "transfer-encoding",
]);

/** A Host header fit for a URL: a name or address and an optional port, nothing else. */
const HOST = /^[A-Za-z0-9.:[\]_-]+$/;
/**
 * Any valid Host (RFC 9112 3.2, RFC 3986 3.2.2): an IP literal in brackets or a registered name
 * (unreserved characters, percent-escapes, sub-delims), then an optional port.
 */
const VALID_HOST =
  /^(?:\[[0-9A-Za-z:._~!$&'()*+,;=-]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]*)(?::[0-9]*)?$/;

/**
 * The path and query of a request target: origin-form (`/hook/x`) as is; absolute-form
 * (`http://bot.example/hook/x`, which HTTP/1.1 servers must accept, RFC 9112 3.2.2) by its path;
 * anything else (`*`, authority-form) as `/`.
 */
function requestPath(target: string): string {
  if (target.charCodeAt(0) === 47) return target;
  if (/^https?:\/\//i.test(target)) {
    try {
      const url = new URL(target);
      return url.pathname + url.search;
    } catch { /* not a URL: below */ }
  }
  return "/";
}

const REASONS: Record<number, string> = {
  200: "OK",
  201: "Created",
  202: "Accepted",
  204: "No Content",
  301: "Moved Permanently",
  302: "Found",
  304: "Not Modified",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  409: "Conflict",
  410: "Gone",
  413: "Content Too Large",
  414: "URI Too Long",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

/** Machine code and sentence for a framing mistake or a late head. */
function explain(
  status: number,
  cause: string,
  headersTimeoutMs: number,
  why?: string,
): [string, string] {
  if (status === 408) {
    return [
      "request_timeout",
      `The request head did not arrive within ${
        Math.round(headersTimeoutMs / 1000)
      } s. Send the whole request at once.`,
    ];
  }
  if (status === 414) {
    return [
      "uri_too_long",
      `The request line is longer than ${
        MAX_HEAD_BYTES / 1024
      } KiB. Send a shorter URL; long data belongs in the body.`,
    ];
  }
  if (status === 431) {
    return [
      "headers_too_large",
      `The request head is larger than ${
        MAX_HEAD_BYTES / 1024
      } KiB. Send fewer or shorter headers.`,
    ];
  }
  return [
    "invalid_request",
    `The request is not valid HTTP/1.1${
      why ? `: ${why}` : ""
    } (${cause}). Check the client or proxy that sent it.`,
  ];
}

/** Whether a request line may start with `byte`: a method is visible ASCII (RFC 9110 tchar). */
function isRequestLineByte(byte: number): boolean {
  return byte > 0x20 && byte < 0x7f;
}

/** What a head that starts with `byte` most likely is. */
function notHttp(byte: number): string {
  // 0x16: a TLS record of type handshake, the first byte of every ClientHello.
  return byte === 0x16
    ? "a TLS handshake reached this plain-HTTP port (write http:// in the URL, or put a TLS proxy in front)"
    : "the request does not start with a method";
}

/** A whole JSON error answer that closes the connection, for mistakes answered here. */
function errorBytes(status: number, code: string, text: string): Uint8Array {
  const body = JSON.stringify({ ok: false, error: code, message: text });
  const bytes = new TextEncoder().encode(body);
  const head = `HTTP/1.1 ${status} ${REASONS[status]}\r\ncontent-type: application/json\r\n` +
    `content-length: ${bytes.byteLength}\r\ndate: ${httpDate()}\r\nconnection: close\r\n\r\n`;
  const out = latin1Bytes(head, bytes.byteLength);
  out.set(bytes, head.length);
  return out;
}

function errorResponse(status: number, code: string, text: string): Response {
  return Response.json({ ok: false, error: code, message: text }, { status });
}

/**
 * An answer's bytes, built in one buffer that its connection reuses for every answer (it
 * grows for a larger one and is dropped back to its first size between requests): the head
 * goes in as ISO-8859-1 (as header values are), then a small body.
 */
class AnswerBytes {
  #buf = new Uint8Array(ANSWER_BUFFER);
  #at = 0;

  /** Empties the buffer for the next answer. */
  reset(): this {
    this.#at = 0;
    return this;
  }

  /** Adds `text` (one byte per character). */
  text(text: string): this {
    const at = this.#room(text.length);
    const buf = this.#buf;
    for (let i = 0; i < text.length; i++) buf[at + i] = text.charCodeAt(i);
    this.#at = at + text.length;
    return this;
  }

  /** Adds `bytes`. */
  bytes(bytes: Uint8Array): this {
    const at = this.#room(bytes.byteLength);
    this.#buf.set(bytes, at);
    this.#at = at + bytes.byteLength;
    return this;
  }

  /** What was added, as a view valid until the next {@link reset}. */
  view(): Uint8Array {
    return this.#buf.subarray(0, this.#at);
  }

  /** Back to the first size when an answer grew the buffer. */
  shrink(): void {
    if (this.#buf.length > ANSWER_BUFFER) this.#buf = new Uint8Array(ANSWER_BUFFER);
  }

  #room(n: number): number {
    if (this.#at + n > this.#buf.length) {
      let size = this.#buf.length * 2;
      while (size < this.#at + n) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.#buf.subarray(0, this.#at));
      this.#buf = next;
    }
    return this.#at;
  }
}

/** Writes one header line of an answer: `forEach`'s callback, with the answer as `this`. */
function writeHeader(this: AnswerBytes, value: string, name: string): void {
  if (!FRAMING_HEADERS.has(name)) this.text(name).text(": ").text(value).text("\r\n");
}

/** `text` (ISO-8859-1, as header values are) as bytes, with `extra` bytes of room after it. */
function latin1Bytes(text: string, extra: number): Uint8Array {
  const out = new Uint8Array(text.length + extra);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

const JSON_TYPE_LINE = latin1Bytes("content-type: application/json\r\n", 0);
const CLOSE_LINE = latin1Bytes("connection: close\r\n", 0);
const KEEP_ALIVE_LINE = latin1Bytes("connection: keep-alive\r\n", 0);
const CRLF = latin1Bytes("\r\n", 0);
const STATUS_LINES = new Map<number, Uint8Array>();

/** `HTTP/1.1 <status> <reason>\r\n` as bytes, made once per status. */
function statusLine(status: number): Uint8Array {
  let line = STATUS_LINES.get(status);
  if (line === undefined) {
    line = latin1Bytes(`HTTP/1.1 ${status} ${REASONS[status] ?? ""}\r\n`, 0);
    STATUS_LINES.set(status, line);
  }
  return line;
}

let dateLineOf = "";
let dateLineBytes = CRLF;

/** `date: <HTTP date>\r\n` as bytes, made again when {@link httpDate} moves on (once a second). */
function dateLine(): Uint8Array {
  const date = httpDate();
  if (date !== dateLineOf) {
    dateLineOf = date;
    dateLineBytes = latin1Bytes(`date: ${date}\r\n`, 0);
  }
  return dateLineBytes;
}

let dateSecond = -1;
let dateText = "";

/** The Date header's value, built once a second. */
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
