/**
 * Reads request bodies within limits of size, time and memory (docs/limits.md):
 *
 * - **Size:** a body over the limit is refused at once from Content-Length, or as soon as the
 *   limit is crossed; the rest is never buffered (413).
 * - **Memory:** each chunk is copied at once into one buffer that grows by doubling as bytes
 *   arrive (a large declared body, whose size the budget reserved, gets its whole buffer at
 *   once), so what a request holds follows its bytes received: a trickled byte no longer keeps
 *   a 64 KiB network buffer alive (issue 18.2: 48 KiB per byte), and a body that declared
 *   64 KiB and sent one byte holds 1 KiB.
 * - **Time:** after a floor, a body must keep arriving at a minimum average rate: it is cut
 *   once more time has passed than the floor plus what its bytes received so far justify (408
 *   request_timeout), so the whole body takes at most the floor plus its size at that rate, and
 *   a large declared body that trickles is cut near the floor instead of holding its share of
 *   the in-flight budget for minutes. One sweep timer serves every body being read; no timer
 *   per request.
 * - **Budget:** bodies larger than {@link SMALL_BODY_BYTES} reserve their declared size from a
 *   shared in-flight budget before anything is read; beyond it the answer is 503 busy.
 * - **Shutdown:** {@link BodyReader.abortAll} cuts every unfinished body (503 shutting_down),
 *   so a stuck client cannot hold a SIGTERM.
 *
 * @module
 */
import { formatSize } from "../bytes.ts";
import { FramingError } from "../http1/mod.ts";
import { PayloadError } from "./formats/types.ts";
import { type IncomingBody, incomingBody } from "./http_server.ts";

/** Bodies up to this size never wait for the budget: texts must flow while uploads run. */
export const SMALL_BODY_BYTES = 64 * 1024;
/** A growing body's first buffer: a webhook's JSON that did not come with its head fits. */
const FIRST_BUFFER = 1024;
const EMPTY = new Uint8Array(0);

/** A body refusal that carries its response headers and says whether it is the client's doing. */
export class BodyError extends PayloadError {
  /** Extra response headers (Retry-After, `Connection: close`). */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * True for a client's transport problem (slow, malformed, gone): logged at debug, since
   * nothing on our side needs attention.
   */
  readonly clientFault: boolean;

  /**
   * A refusal of a request body.
   *
   * @param code stable machine code (`request_timeout`, `invalid_body`, `busy`, …)
   * @param message one human sentence
   * @param status HTTP status
   */
  constructor(
    code: string,
    message: string,
    status: number,
    headers: Readonly<Record<string, string>> = {},
    clientFault = false,
  ) {
    super(code, message, status);
    this.headers = headers;
    this.clientFault = clientFault;
  }
}

/** Options of {@link BodyReader}. */
export interface BodyReaderOptions {
  /** Bytes of bodies larger than {@link SMALL_BODY_BYTES} that may be in flight at once. */
  inflightBudgetBytes: number;
  /** Time any body may take, however small. Default 10 000 ms. */
  floorMs?: number;
  /** Slowest average rate accepted on top of the floor. Default 64 KiB/s. */
  minBytesPerSecond?: number;
  /** How often deadlines are checked. Default 250 ms. */
  sweepMs?: number;
}

/** A share of the in-flight budget ({@link BodyReader.share}). */
export interface BudgetShare {
  /** Holds `bytes` in all; throws `503 busy` when the budget has no room for them. */
  hold(bytes: number): void;
  /** Gives everything held back. */
  release(): void;
}

interface Reading {
  started: number;
  received: number;
  /** Bytes of the buffer the body is read into. */
  held: number;
  stop(reason: "timeout" | "shutdown"): void;
}

function tooLarge(limit: number): PayloadError {
  return new PayloadError(
    "payload_too_large",
    `The request body is larger than the limit of ${
      formatSize(limit)
    } (WEBHOOK_MAX_UPLOAD_MB). Send smaller files or attach them by URL.`,
    413,
  );
}

const CLOSE = { Connection: "close" } as const;

/**
 * Reads request bodies for one server; share one instance between all routes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const bodies = new BodyReader({ inflightBudgetBytes: 100 * 1024 * 1024 });
 * const req = new Request("http://x/", { method: "POST", body: "hello" });
 * assert.equal(new TextDecoder().decode(await bodies.read(req, 1024)), "hello");
 * ```
 */
export class BodyReader {
  readonly #budget: number;
  readonly #floorMs: number;
  readonly #perMs: number;
  readonly #sweepMs: number;
  readonly #active = new Set<Reading>();
  #reserved = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  /** Limits from `options`; nothing runs until a body is read. */
  constructor(options: BodyReaderOptions) {
    this.#budget = options.inflightBudgetBytes;
    this.#floorMs = options.floorMs ?? 10_000;
    this.#perMs = (options.minBytesPerSecond ?? 64 * 1024) / 1000;
    this.#sweepMs = options.sweepMs ?? 250;
  }

  /** Bytes of large bodies reserved right now. */
  get inflightBytes(): number {
    return this.#reserved;
  }

  /** Bodies being read right now. */
  get reading(): number {
    return this.#active.size;
  }

  /**
   * Bytes of the buffers that bodies being read hold right now: about what they received
   * (at most twice, and at least 1 KiB each), plus the declared size of large ones, which the
   * budget bounds.
   */
  get heldBytes(): number {
    let held = 0;
    for (const r of this.#active) held += r.held;
    return held;
  }

  /**
   * A share of the in-flight budget for a body's bytes beyond {@link read}: a compressed body is
   * small on the wire (it never waits for the budget) and may be 25 MiB decoded. As in `read`,
   * the first {@link SMALL_BODY_BYTES} never wait, and one body larger than the whole budget
   * still goes through when nothing else holds any.
   */
  share(): BudgetShare {
    let held = 0;
    return {
      hold: (bytes) => {
        const more = bytes - SMALL_BODY_BYTES - held;
        if (more <= 0) return;
        const others = this.#reserved - held;
        if (this.#reserved + more > this.#budget && others > 0) throw busy(this.#budget);
        this.#reserved += more;
        held += more;
      },
      release: () => {
        this.#reserved -= held;
        held = 0;
      },
    };
  }

  /** The time a body of `bytes` may take: the floor plus its size at the slowest rate. */
  deadlineMs(bytes: number): number {
    return this.#floorMs + bytes / this.#perMs;
  }

  /**
   * Cuts every body being read (they answer 503 shutting_down) and refuses new ones: the
   * first step of a shutdown. Those requests were never acknowledged, so nothing is lost.
   */
  abortAll(): void {
    this.#closed = true;
    for (const r of this.#active) r.stop("shutdown");
  }

  /**
   * The whole body at once when this bot's server already holds all of it (it came with the
   * head, within `limit`), as a small webhook's body nearly always does; null when it must be
   * read with {@link read} (a body still arriving, chunked, over the limit, another kind of
   * `Request`, or a shutdown under way: `read` answers those). No deadline or budget applies:
   * the bytes are already in memory.
   */
  readBuffered(req: Request, limit: number): Uint8Array | null {
    if (this.#closed) return null;
    const incoming = incomingBody(req);
    if (!incoming || incoming.declared < 0 || incoming.declared > limit) return null;
    return incoming.buffered();
  }

  /**
   * Returns the whole body, or throws a {@link PayloadError} (413) or {@link BodyError}
   * (408 request_timeout, 400 invalid_body, 503 busy, 503 shutting_down).
   */
  async read(req: Request, limit: number): Promise<Uint8Array> {
    // Requests of our HTTP server carry their body on the socket; any other Request (tests'
    // app.request, tools) in its web stream.
    const incoming = incomingBody(req);
    const header = req.headers.get("content-length");
    const parsed = header === null ? -1 : Number(header);
    const declared = Number.isSafeInteger(parsed) && parsed >= 0 ? parsed : -1;
    const source: BodySource | null = incoming
      ? incoming
      : req.body
      ? streamSource(req.body)
      : null;
    if (declared > limit) {
      source?.cancel();
      throw tooLarge(limit);
    }
    if (!source || declared === 0) return new Uint8Array(0);
    if (this.#closed) {
      source.cancel();
      throw shuttingDown();
    }
    // Chunked bodies reserve as they grow, below; a declared large body reserves it all now.
    let reserved = 0;
    const reserve = (bytes: number): boolean => {
      if (bytes <= 0) return true;
      if (this.#reserved + bytes > this.#budget && this.#reserved > 0) return false;
      this.#reserved += bytes;
      reserved += bytes;
      return true;
    };
    if (declared > SMALL_BODY_BYTES && !reserve(declared)) {
      source.cancel();
      throw busy(this.#budget);
    }

    let stopped: "timeout" | "shutdown" | null = null;
    const reading: Reading = {
      started: performance.now(),
      received: 0,
      held: 0,
      stop(reason) {
        stopped ??= reason;
        source.cancel();
      },
    };
    this.#track(reading);
    // A large declared body (its bytes reserved from the budget above): one buffer of exactly
    // its size, so an upload is never copied (the pages of a buffer that large are mapped when
    // first written). Any other body starts empty and grows by doubling as bytes arrive, up to
    // its declared size (or one byte past the limit for a chunked one: that byte tells an
    // oversized body): a client that declared 64 KiB and sent a byte holds 1 KiB, not 64.
    const most = declared >= 0 ? declared : limit + 1;
    let buffer = declared > SMALL_BODY_BYTES ? new Uint8Array(declared) : EMPTY;
    reading.held = buffer.byteLength;
    let size = 0;
    const take = (chunk: Uint8Array) => {
      const end = size + chunk.byteLength;
      if (declared >= 0 && end > declared) {
        throw invalidBody("The request body is longer than its Content-Length.");
      }
      if (end > limit) throw tooLarge(limit);
      if (end > buffer.byteLength) {
        let grown = Math.max(buffer.byteLength * 2, FIRST_BUFFER);
        while (grown < end) grown *= 2;
        grown = Math.min(most, grown);
        const over = Math.max(0, grown - Math.max(buffer.byteLength, SMALL_BODY_BYTES));
        if (grown > SMALL_BODY_BYTES && !reserve(over)) throw busy(this.#budget);
        const next = new Uint8Array(grown);
        next.set(buffer.subarray(0, size));
        buffer = next;
      }
      buffer.set(chunk, size);
      if ((end >> 20) !== (size >> 20)) collectReadBuffers();
      size = end;
      reading.received = size;
      reading.held = buffer.byteLength;
    };
    try {
      try {
        await source.pipe(take);
      } catch (e) {
        if (!stopped) {
          source.cancel();
          throw e instanceof PayloadError ? e : unreadable(e, size, declared);
        }
      }
      if (stopped === "timeout") {
        const tookMs = performance.now() - reading.started;
        throw timedOut(size, declared, tookMs, this.#floorMs, this.#perMs * 1000);
      }
      if (stopped === "shutdown") throw shuttingDown();
      if (declared >= 0 && size < declared) {
        throw unreadable(new Error("the stream ended"), size, declared);
      }
      // A chunked body's buffer may be up to twice its size: give a large slack back.
      const slack = buffer.byteLength - size;
      return slack > 64 * 1024 && slack > size / 4
        ? buffer.slice(0, size)
        : buffer.subarray(0, size);
    } finally {
      this.#active.delete(reading);
      this.#reserved -= reserved;
      if (this.#active.size === 0) this.#stopSweep();
    }
  }

  #track(reading: Reading): void {
    this.#active.add(reading);
    if (this.#timer !== undefined) return;
    const timer = setInterval(() => this.#sweep(), this.#sweepMs);
    // The sweep must not keep a stopping process alive.
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  #sweep(): void {
    const now = performance.now();
    for (const r of this.#active) {
      // Held to the rate for what it has sent so far, declared or chunked: a body that
      // promised 25 MB and trickles would otherwise hold 25 MB of the budget for 410 s.
      if (now - r.started > this.deadlineMs(r.received)) r.stop("timeout");
    }
  }

  #stopSweep(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

/**
 * `gc` when the process runs with `--v8-flags=--expose-gc` (the start and compile tasks pass
 * it), else undefined.
 */
const exposedGc = (globalThis as { gc?: (options: { type: "minor" }) => void }).gc;

/**
 * Frees the garbage of the last MiB read (already copied into the body's buffer). It mattered
 * when the server was Node's, whose sockets handed each read a fresh 64 KiB buffer (one 25 MB
 * upload: +48 MiB without it, +34 with it); the bot's own server reads through one reused buffer,
 * and the collection now saves about 1 MiB of that upload's peak (+34.4–34.9 MiB with it,
 * +35.8–36.0 without, bench/edge_memory.ts). It costs about 0.04 ms per MiB, on large bodies only.
 */
export function collectReadBuffers(): void {
  exposedGc?.({ type: "minor" });
}

/** Where a body's bytes come from: our server's socket, or a web stream. */
type BodySource = Pick<IncomingBody, "pipe" | "cancel">;

/** A web stream (a `Request` built in JavaScript: tests, tools) as a {@link BodySource}. */
function streamSource(body: ReadableStream<Uint8Array>): BodySource {
  const reader = body.getReader();
  let cancelled = false;
  return {
    async pipe(onChunk) {
      for (;;) {
        const r = await reader.read();
        if (cancelled) throw new Error("cancelled");
        if (r.done) return;
        onChunk(r.value);
      }
    },
    cancel() {
      if (cancelled) return;
      cancelled = true;
      reader.cancel().catch(() => {});
    },
  };
}

function busy(budget: number): BodyError {
  return new BodyError(
    "busy",
    `The bot is receiving too many large bodies at once (uploads, or compressed bodies large once decoded: more than ${
      formatSize(budget)
    }, WEBHOOK_MAX_INFLIGHT_BODY_MB). Retry in a few seconds.`,
    503,
    { "Retry-After": "5", ...CLOSE },
  );
}

function shuttingDown(): BodyError {
  return new BodyError(
    "shutting_down",
    "The bot is restarting; this request was not accepted. Retry in a few seconds.",
    503,
    { "Retry-After": "5", ...CLOSE },
    true,
  );
}

function timedOut(
  received: number,
  declared: number,
  tookMs: number,
  floorMs: number,
  bytesPerSecond: number,
): BodyError {
  const of = declared >= 0 ? ` of ${declared}` : "";
  return new BodyError(
    "request_timeout",
    `The request body did not arrive in time: ${received}${of} bytes in ${
      Math.floor(tookMs / 100) / 10
    } s, slower than ${Math.round(bytesPerSecond / 1024)} KiB/s after the first ${
      Math.round(floorMs / 100) / 10
    } s. Send the whole body at once.`,
    408,
    CLOSE,
    true,
  );
}

/**
 * A body that cannot be read: chunked framing the parser refuses (named, with its defect), or
 * one that ended before all of it came (the client closed or broke the connection; only a
 * client that half-closed still reads the answer).
 */
function unreadable(error: unknown, received: number, declared: number): BodyError {
  if (error instanceof FramingError) {
    return invalidBody(
      `The chunked request body is malformed: ${error.message} (${error.defect}). Send a Content-Length, or valid chunks.`,
    );
  }
  const why = error instanceof Error ? error.message : String(error);
  const of = declared >= 0 ? ` of ${declared}` : " (chunked, before its last chunk)";
  return invalidBody(
    `The request body ended after ${received}${of} bytes: the connection closed before the rest arrived (${
      why.slice(0, 120)
    }).`,
  );
}

function invalidBody(message: string): BodyError {
  return new BodyError("invalid_body", message, 400, CLOSE, true);
}

/**
 * Reads a body with only the size limit (no budget, default time limits); for callers outside
 * the server, such as tests and tools.
 *
 * @example
 * ```ts
 * const bytes = await readBodyLimited(new Request("http://x", { method: "POST", body: "hi" }), 1024);
 * ```
 */
export function readBodyLimited(req: Request, limit: number): Promise<Uint8Array> {
  return new BodyReader({ inflightBudgetBytes: limit }).read(req, limit);
}
