/**
 * The HTTP/1.1 server the bot listens with: Node's `http` server (as Deno ships it) in front of
 * a fetch-style handler (the Hono app), with time limits on connections.
 *
 * Why not `Deno.serve`: in Deno 2.9.6 it has no header timeout and never closes an idle
 * keep-alive connection (measured: a half-sent request head and an idle connection both stayed
 * open 7+ minutes; 1,000 idle connections stayed open indefinitely, issue 18.2). Node's server
 * has both (`headersTimeout`, `keepAliveTimeout`) and answers a client's HTTP mistakes itself,
 * which we turn into our JSON errors. It costs about 0.04 ms more CPU per request than
 * `Deno.serve` (docs/limits.md); a connection nobody can close costs more.
 *
 * What this module owns (docs/limits.md has the numbers):
 *
 * - **Request head:** must arrive within `headersTimeoutMs` of the connection opening or of the
 *   previous response (else `408 request_timeout`, connection closed); at most 16 KiB (431).
 * - **Idle keep-alive:** a connection with no request for `idleTimeoutMs` is closed.
 * - **Bodies:** handed to the handler's reader chunk by chunk as they arrive
 *   ({@link incomingBody}); the time and size limits of a body are the reader's (`BodyReader`),
 *   since they depend on the route.
 * - **A client's HTTP mistakes** (malformed head or chunked framing) answer `400` in the
 *   common JSON error shape and are logged at debug; a client that leaves is not an error.
 * - **Shutdown:** {@link HttpServer.shutdown} stops accepting and closes idle connections;
 *   {@link HttpServer.closeAll} cuts the rest at the end of the grace period.
 *
 * @module
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";

/** The peer of a request, shaped as `Deno.serve` passes it (so `hono/deno` reads it too). */
export interface ServeInfo {
  /** The TCP peer. */
  readonly remoteAddr: { transport: "tcp"; hostname: string; port: number };
}

/** A fetch-style request handler, as `Deno.serve` and Hono's `app.fetch` take it. */
export type FetchHandler = (req: Request, info: ServeInfo) => Response | Promise<Response>;

/** A client's HTTP mistake, answered by the server itself (never reaches the handler). */
export interface ClientMistake {
  /** The status answered (400, 408, 431), or 0 when the client was gone. */
  readonly status: number;
  /** The machine code answered (`request_timeout`, `invalid_request`, `headers_too_large`). */
  readonly code: string;
  /** The parser's error code (`HPE_INVALID_CHUNK_SIZE`, `ERR_HTTP_REQUEST_TIMEOUT`, …). */
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
  /** Told of each client mistake the server answered itself (for a debug log line). */
  readonly onClientMistake?: (mistake: ClientMistake) => void;
  /** Told when the handler threw (it answers 500). Hono's app never throws; a bug might. */
  readonly onHandlerError?: (error: unknown) => void;
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
   * Stops accepting and closes idle connections; resolves once every connection has ended.
   * Requests in flight finish first: cut their bodies (`BodyReader.abortAll`) so none waits
   * for a client, wait for {@link requestsDone}, then {@link closeAll}.
   */
  shutdown(): Promise<void>;
  /** Closes every connection at once, whatever it is doing. */
  closeAll(): void;
}

/** The largest request head accepted (Node's default). */
const MAX_HEADER_BYTES = 16 * 1024;

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
  const headersTimeout = options.headersTimeoutMs ?? 10_000;
  const idleTimeout = options.idleTimeoutMs ?? 75_000;
  // Sockets whose request body the handler is reading: a framing error in the body is
  // reported to the handler's reader (which answers 400 invalid_body) rather than answered
  // here underneath the handler.
  const bodyFailures = new WeakMap<Socket, (error: Error) => void>();
  const sockets = new Set<Socket>();
  let requests = 0;
  const requestsDone: (() => void)[] = [];

  const server = createServer({
    maxHeaderSize: MAX_HEADER_BYTES,
    // The body's own time limit is the handler's (BodyReader: floor + size-proportional);
    // Node's whole-request timeout would cut a large upload on a slow link.
    requestTimeout: 0,
    headersTimeout,
    keepAliveTimeout: idleTimeout,
    // How often Node checks head deadlines (its default, 30 s, would let a half-sent head
    // live 40 s): at most once a second, one timer and a walk over the open connections.
    connectionsCheckingInterval: Math.min(1_000, Math.max(25, headersTimeout / 4)),
  }, (req, res) => {
    requests++;
    res.once("close", () => {
      if (--requests === 0) { for (const done of requestsDone.splice(0)) done(); }
    });
    handle(req, res).catch((e) => {
      options.onHandlerError?.(e);
      if (!res.headersSent) {
        sendJson(res, 500, "internal_error", "The bot failed to answer this request.", true);
      } else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const socket = req.socket;
    let request: Request;
    try {
      request = toRequest(req, bodyFailures);
    } catch (e) {
      sendJson(res, 400, "invalid_request", `The request cannot be read: ${message(e)}.`, true);
      return;
    }
    const response = await options.handler(request, {
      remoteAddr: {
        transport: "tcp",
        hostname: socket.remoteAddress ?? "",
        port: socket.remotePort ?? 0,
      },
    });
    bodyFailures.delete(socket);
    await send(req, res, response);
  }

  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });

  server.on("clientError", (error: Error & { code?: string }, socket: Socket) => {
    const cause = error.code ?? "unknown";
    const ip = socket.remoteAddress ?? "";
    // A request whose body the handler is reading: its reader reports the error and the
    // handler answers (400 invalid_body, Connection: close).
    const fail = bodyFailures.get(socket);
    if (fail && !(socket as Socket & { _httpMessage?: ServerResponse })._httpMessage?.headersSent) {
      bodyFailures.delete(socket);
      fail(
        new Error(
          cause === "ECONNRESET" ? "the connection broke" : `malformed request body (${cause})`,
        ),
      );
      // If the handler never answers (it should), do not keep the socket.
      destroyLater(socket, 5_000);
      return;
    }
    const answered = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage
      ?.headersSent;
    if (cause === "ECONNRESET" || !socket.writable || answered) {
      options.onClientMistake?.({ status: 0, code: "client_gone", cause, ip });
      socket.destroy();
      return;
    }
    const [status, code, text] = mistake(cause, headersTimeout);
    options.onClientMistake?.({ status, code, cause, ip });
    const body = JSON.stringify({ ok: false, error: code, message: text });
    socket.end(
      `HTTP/1.1 ${status} ${REASONS[status]}\r\ncontent-type: application/json\r\n` +
        `content-length: ${new TextEncoder().encode(body).byteLength}\r\n` +
        `connection: close\r\n\r\n${body}`,
    );
    destroyLater(socket, 1_000);
  });

  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.hostname, () => {
      server.off("error", reject);
      const bound = server.address();
      const port = typeof bound === "object" && bound ? bound.port : options.port;
      const closed = new Promise<void>((done) => server.once("close", () => done()));
      resolve({
        addr: { hostname: options.hostname, port },
        get connections() {
          return sockets.size;
        },
        get requests() {
          return requests;
        },
        requestsDone() {
          if (requests === 0) return Promise.resolve();
          return new Promise<void>((done) => requestsDone.push(done));
        },
        shutdown() {
          server.close();
          server.closeIdleConnections();
          return closed;
        },
        closeAll() {
          server.close();
          server.closeAllConnections();
          for (const s of sockets) s.destroy();
        },
      });
    });
  });
}

/** Destroys `socket` after `ms` unless it closed by then (a client that never reads). */
function destroyLater(socket: Socket, ms: number): void {
  const timer = setTimeout(() => socket.destroy(), ms);
  socket.once("close", () => clearTimeout(timer));
}

const REASONS: Record<number, string> = {
  400: "Bad Request",
  408: "Request Timeout",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
};

/** Status, machine code and sentence for a mistake Node's parser reported. */
function mistake(cause: string, headersTimeoutMs: number): [number, string, string] {
  if (cause === "ERR_HTTP_REQUEST_TIMEOUT") {
    return [
      408,
      "request_timeout",
      `The request head did not arrive within ${
        Math.round(headersTimeoutMs / 1000)
      } s. Send the whole request at once.`,
    ];
  }
  if (cause === "HPE_HEADER_OVERFLOW") {
    return [
      431,
      "headers_too_large",
      `The request head is larger than ${
        MAX_HEADER_BYTES / 1024
      } KiB. Send fewer or shorter headers.`,
    ];
  }
  return [
    400,
    "invalid_request",
    `The request is not valid HTTP/1.1 (${cause}). Check the client or proxy that sent it.`,
  ];
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * A request body still on its socket, read by pushing each chunk to the reader: what
 * `BodyReader` consumes for requests of this server (the fetch `Request` it gets has no body).
 * Reading chunks straight off Node's stream, with no web `ReadableStream` between, costs about
 * 0.05 ms less per request (measured: 0.12 → 0.073 ms CPU for a small JSON POST).
 */
export interface IncomingBody {
  /** Content-Length, or -1 for a chunked body. */
  readonly declared: number;
  /**
   * Calls `onChunk` with each chunk as it arrives (it must copy what it keeps: the chunk's
   * buffer is Node's) and resolves at the end of the body; rejects when the connection breaks,
   * the chunked framing is malformed, `onChunk` throws, or {@link cancel} is called.
   */
  pipe(onChunk: (chunk: Uint8Array) => void): Promise<void>;
  /** Stops reading; the answer then closes the connection (the rest is never waited for). */
  cancel(): void;
}

const incomingBodies = new WeakMap<Request, IncomingBody>();

/** The body of a request this server received, or undefined for any other `Request`. */
export function incomingBody(req: Request): IncomingBody | undefined {
  return incomingBodies.get(req);
}

/** Builds the fetch `Request` (without a body: see {@link IncomingBody}). */
function toRequest(
  req: IncomingMessage,
  bodyFailures: WeakMap<Socket, (error: Error) => void>,
): Request {
  const headers = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
  // The Host header names the URL's origin as Deno.serve does; the path is what was asked.
  const host = req.headers.host;
  const origin = host && HOST.test(host) ? host : "localhost";
  const request = new ServerRequest(
    req.method ?? "GET",
    `http://${origin}${requestPath(req.url ?? "/")}`,
    headers,
  ) as unknown as Request;
  if (!req.complete || req.readableLength > 0) {
    incomingBodies.set(request, nodeBody(req, bodyFailures));
  }
  return request;
}

/** A Host header fit for a URL: a name or address and an optional port, nothing else. */
const HOST = /^[A-Za-z0-9.:[\]_-]+$/;

/**
 * What the app reads of a request of this server: its method, URL and headers (its body is
 * an {@link IncomingBody}). A `Request` built per request cost a URL parse, a copy of the
 * headers and an `AbortSignal`, about a tenth of what a delivery allocated (measured with
 * V8's heap profiler at c=64); Hono reads only these fields, as it does from Hono's own Node
 * adapter's light requests. It is a `Request` by prototype, so `instanceof` holds; a field it
 * lacks (`signal`, `clone()`) throws, which no code of ours asks for.
 */
class ServerRequest {
  /** The HTTP method. */
  readonly method: string;
  /** `http://<Host><path>`. */
  readonly url: string;
  /** The request's headers. */
  readonly headers: Headers;
  /** Always null: the body is read through {@link incomingBody}. */
  readonly body = null;
  /** Always false (see {@link body}). */
  readonly bodyUsed = false;

  constructor(method: string, url: string, headers: Headers) {
    this.method = method;
    this.url = url;
    this.headers = headers;
  }
}
Object.setPrototypeOf(ServerRequest.prototype, Request.prototype);

/**
 * The path and query of a request target: origin-form (`/hook/x`) as is; absolute-form
 * (`http://bot.example/hook/x`, which HTTP/1.1 servers must accept, RFC 9112 3.2.2) by its path;
 * anything else (`*`, authority-form) as `/`.
 */
function requestPath(target: string): string {
  if (target.startsWith("/")) return target;
  if (/^https?:\/\//i.test(target)) {
    try {
      const url = new URL(target);
      return url.pathname + url.search;
    } catch { /* not a URL: below */ }
  }
  return "/";
}

function nodeBody(
  req: IncomingMessage,
  bodyFailures: WeakMap<Socket, (error: Error) => void>,
): IncomingBody {
  const length = req.headers["content-length"];
  const declared = length === undefined ? -1 : Number(length);
  const socket = req.socket;
  // A framing error can come before anyone reads (it often arrives with the head): kept here
  // for the reader, which answers 400 invalid_body.
  let failure: Error | null = null;
  let finish: ((error?: Error) => void) | null = null;
  const fail = (error: Error) => {
    failure ??= error;
    finish?.(error);
  };
  bodyFailures.set(socket, fail);
  return {
    declared: Number.isSafeInteger(declared) && declared >= 0 ? declared : -1,
    pipe(onChunk) {
      return new Promise<void>((resolve, reject) => {
        if (failure) return reject(failure);
        let done = false;
        const onData = (chunk: Uint8Array) => {
          try {
            onChunk(chunk);
          } catch (e) {
            end(e instanceof Error ? e : new Error(String(e)));
          }
        };
        const onEnd = () => end();
        const onError = (e: Error) => end(new Error(`the connection broke (${message(e)})`));
        const onClose = () => {
          if (!req.complete) end(new Error("the connection broke"));
        };
        const end = (error?: Error) => {
          if (done) return;
          done = true;
          finish = null;
          req.off("data", onData);
          req.off("end", onEnd);
          req.off("error", onError);
          req.off("close", onClose);
          if (bodyFailures.get(socket) === fail) bodyFailures.delete(socket);
          if (error) reject(error);
          else resolve();
        };
        finish = end;
        req.on("data", onData);
        req.once("end", onEnd);
        req.once("error", onError);
        req.once("close", onClose);
      });
    },
    cancel() {
      fail(new Error("cancelled"));
    },
  };
}

/**
 * Writes the handler's response. A request whose body was not read to its end gets
 * `connection: close`, on which Node closes the socket after the answer: the rest of that
 * body is never waited for.
 */
async function send(req: IncomingMessage, res: ServerResponse, response: Response): Promise<void> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => headers[name] = value);
  if (!req.complete) headers["connection"] = "close";
  if (response.body === null) {
    res.writeHead(response.status, headers);
    res.end();
  } else {
    const body = new Uint8Array(await response.arrayBuffer());
    headers["content-length"] = String(body.byteLength);
    res.writeHead(response.status, headers);
    res.end(body);
  }
}

/** Answers a JSON error from here (the handler never ran or failed). */
function sendJson(
  res: ServerResponse,
  status: number,
  code: string,
  text: string,
  close: boolean,
): void {
  const body = JSON.stringify({ ok: false, error: code, message: text });
  res.writeHead(status, {
    "content-type": "application/json",
    ...(close ? { connection: "close" } : {}),
  });
  res.end(body);
}
