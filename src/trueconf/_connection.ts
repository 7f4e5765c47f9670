// One WebSocket to TrueConf: framing, request/response correlation, acks, pings.
// Knows nothing of tokens or reconnects; the client owns those.
import type { Buffer } from "node:buffer";
import { setImmediate } from "node:timers";
// @ts-types="@types/ws"
import WebSocket from "ws";
import type { Logger } from "../log.ts";
import { TrueConfApiError, TrueConfDisconnectedError, TrueConfTimeoutError } from "./errors.ts";
import { num, record, str } from "./_json.ts";
import { errorCodeOf } from "./_responses.ts";
import type { TimerId, Timers } from "./_timers.ts";

export interface ConnectionOptions {
  url: string;
  verifyTls: boolean;
  caPem?: string | undefined;
  handshakeTimeoutMs: number;
  /** Offer the `json.v1` subprotocol (default true). */
  offerSubprotocol?: boolean;
  pingIntervalMs: number;
  pongTimeoutMs: number;
  timers: Timers;
  logger: Logger;
  /** A server request (type 1), called after it was acked. */
  onEvent?: (method: string, payload: unknown) => void;
  /** Any response arrived (success or API error): the server is alive. */
  onResponse?: () => void;
  onPong?: (at: number) => void;
}

interface Pending {
  method: string;
  /** `Date.now()` after which the request fails with {@link TrueConfTimeoutError}. */
  deadline: number;
  timeoutMs: number;
  resolve: (payload: unknown) => void;
  reject: (err: Error) => void;
}

/** The part of the socket under ws that corking needs (a `net.Socket` or `tls.TLSSocket`). */
interface Corkable {
  cork(): void;
  uncork(): void;
  destroyed?: boolean;
}

let serial = 0;

/**
 * Largest frame accepted. The protocol's biggest messages (a page of 200 participants, a
 * 4096-character message envelope) are tens of kilobytes; ws's own default of 100 MiB would
 * let one odd frame cost hundreds of MiB of heap when parsed. A bigger frame closes the
 * socket (1009) and the client reconnects.
 */
const MAX_FRAME_BYTES = 4 * 1024 * 1024;

/** One socket's life: open → (auth) → closed. Never reused after close. */
export class Connection {
  /** Process-unique, for logs. */
  readonly serial = ++serial;
  /** Set by the client once `auth` succeeded on this socket. */
  authorized = false;
  /** Resolves on the handshake; rejects if the socket closes first. */
  readonly opened: Promise<void>;
  /** Resolves when the socket is fully closed (every timer cleared, pendings rejected). */
  readonly closed: Promise<void>;
  /** Why it closed, once it did. */
  closeReason: string | null = null;

  #o: ConnectionOptions;
  #ws: WebSocket;
  #pending = new Map<number, Pending>();
  /** One timer for every request's deadline (armed for the earliest), not one per request. */
  #deadlineTimer: TimerId | null = null;
  #deadlineAt = Infinity;
  /** The socket is corked until the end of this event-loop turn (see {@link Connection.#send}). */
  #corked = false;
  #uncork = (): void => {
    this.#corked = false;
    this.#socket()?.uncork();
  };
  #nextId = 1;
  #pingTimer: TimerId | null = null;
  #pongTimer: TimerId | null = null;
  #killTimer: TimerId | null = null;
  #cleaned = false;
  #log: Logger;

  constructor(o: ConnectionOptions) {
    this.#o = o;
    this.#log = o.logger.child({ socket: this.serial });
    // perMessageDeflate off: small JSON frames gain nothing and it costs a zlib context per socket.
    // json.v1 is offered, as TrueConf documents; a server or proxy that leaves the echo out
    // makes ws fail the handshake ("Server sent no subprotocol"), and the client then retries
    // without the header, which TrueConf reads as json.v1 too (protocol reference §1.2).
    this.#ws = new WebSocket(o.url, o.offerSubprotocol === false ? [] : ["json.v1"], {
      handshakeTimeout: o.handshakeTimeoutMs,
      perMessageDeflate: false,
      maxPayload: MAX_FRAME_BYTES,
      followRedirects: false,
      rejectUnauthorized: o.verifyTls,
      ...(o.caPem ? { ca: o.caPem } : {}),
    });
    const ws = this.#ws;
    let lastError: string | null = null;
    this.opened = new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once(
        "close",
        () => reject(new TrueConfDisconnectedError(`connect failed: ${lastError ?? "closed"}`)),
      );
    });
    this.opened.catch(() => {}); // observed via closed/closeReason when nobody awaits it
    this.closed = new Promise<void>((resolve) => {
      ws.on("close", (code: number, reason: Buffer) => {
        this.closeReason ??= lastError ??
          `closed by server (${code}${reason.length ? ` ${reason}` : ""})`;
        this.#cleanup();
        resolve();
      });
    });
    ws.on("error", (err: Error) => {
      lastError = err.message;
      this.#log.debug("trueconf socket error", { error: err.message });
    });
    ws.on("open", () => this.#startPings());
    ws.on("pong", () => {
      this.#o.timers.clear(this.#pongTimer);
      this.#pongTimer = null;
      this.#o.onPong?.(Date.now());
    });
    ws.on("message", (data: WebSocket.RawData) => this.#onFrame(data));
  }

  /** The socket is open (handshake done, not closing). */
  get isOpen(): boolean {
    return this.#ws.readyState === WebSocket.OPEN;
  }

  /** Requests awaiting a response. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /**
   * Sends a request; resolves with the response payload. Rejects with
   * {@link TrueConfApiError} (errorCode ≠ 0), {@link TrueConfTimeoutError}, or
   * {@link TrueConfDisconnectedError} (not open, or closed before the answer).
   */
  request(method: string, payload: unknown, timeoutMs: number): Promise<unknown> {
    if (!this.isOpen) {
      return Promise.reject(new TrueConfDisconnectedError(`socket not open, ${method} not sent`));
    }
    const id = this.#nextId++;
    if (this.#nextId > 0xffff_fff0) this.#nextId = 1; // stay in uint32, ids only need to be unique in flight
    return new Promise<unknown>((resolve, reject) => {
      const deadline = Date.now() + timeoutMs;
      this.#pending.set(id, { method, deadline, timeoutMs, resolve, reject });
      if (deadline < this.#deadlineAt) this.#armDeadline(deadline);
      this.#send(JSON.stringify({ type: 1, id, method, payload }), (err?: Error) => {
        if (!err) return;
        const p = this.#pending.get(id);
        if (!p) return;
        this.#pending.delete(id);
        reject(new TrueConfDisconnectedError(`${method} not sent: ${err.message}`));
      });
    });
  }

  /**
   * Writes one frame. The first frame of an event-loop turn corks the socket and the end of
   * the turn (`setImmediate`) uncorks it, so every request and ack of one turn leaves in a
   * single `writev` instead of one syscall each: under load the socket writes were about half
   * of the bot's busy time (issue 16). Latency is unchanged: the frames leave when this turn's
   * synchronous work is done, before the loop waits for I/O again.
   */
  #send(frame: string, cb?: (err?: Error) => void): void {
    if (!this.#corked) {
      const socket = this.#socket();
      if (socket && !socket.destroyed) {
        socket.cork();
        this.#corked = true;
        setImmediate(this.#uncork);
      }
    }
    this.#ws.send(frame, cb);
  }

  /** The TCP/TLS socket ws writes to (ws keeps it in `_socket`; null before the handshake). */
  #socket(): Corkable | null {
    return (this.#ws as unknown as { _socket?: Corkable | null })._socket ?? null;
  }

  /** (Re)arms the deadline timer for `at`; earlier deadlines only ever move it forward. */
  #armDeadline(at: number): void {
    this.#o.timers.clear(this.#deadlineTimer);
    this.#deadlineAt = at;
    this.#deadlineTimer = this.#o.timers.timeout(() => this.#expire(), at - Date.now());
  }

  /** Fails every request past its deadline, then arms the timer for the next one. */
  #expire(): void {
    this.#deadlineTimer = null;
    this.#deadlineAt = Infinity;
    const now = Date.now();
    let next = Infinity;
    for (const [id, p] of this.#pending) {
      if (p.deadline <= now) {
        this.#pending.delete(id);
        p.reject(new TrueConfTimeoutError(p.method, p.timeoutMs));
      } else if (p.deadline < next) next = p.deadline;
    }
    if (next !== Infinity && !this.#cleaned) this.#armDeadline(next);
  }

  /** Drops the socket at once (no close handshake); pendings fail with TrueConfDisconnectedError. */
  terminate(reason: string): void {
    this.closeReason ??= reason;
    this.#ws.terminate();
  }

  /**
   * Closes politely once in-flight requests are answered (or after `graceMs`): used when
   * rotating to a socket authorised with a fresh token.
   */
  async drainAndClose(reason: string, graceMs: number): Promise<void> {
    this.closeReason ??= reason;
    const until = Date.now() + graceMs;
    while (this.#pending.size > 0 && Date.now() < until && this.isOpen) {
      await new Promise<void>((r) => this.#o.timers.timeout(r, 20));
    }
    if (this.#ws.readyState === WebSocket.CLOSED) return;
    this.#ws.close(1000, "token rotation");
    // A server that never answers the close frame must not keep the socket (and ws's own 30 s timer) alive.
    this.#killTimer = this.#o.timers.timeout(() => this.#ws.terminate(), 1000);
    await this.closed;
  }

  #startPings(): void {
    this.#pingTimer = this.#o.timers.interval(() => {
      if (!this.isOpen) return;
      this.#ws.ping();
      if (this.#pongTimer !== null) return; // the previous ping's deadline still runs
      this.#pongTimer = this.#o.timers.timeout(() => {
        this.#pongTimer = null;
        this.#log.warn("trueconf socket: no pong, terminating", {
          pongTimeoutMs: this.#o.pongTimeoutMs,
        });
        this.terminate(`no pong within ${this.#o.pongTimeoutMs} ms`);
      }, this.#o.pongTimeoutMs);
    }, this.#o.pingIntervalMs);
  }

  #onFrame(data: WebSocket.RawData): void {
    // ws hands text frames over as one Buffer, already checked to be valid UTF-8 (binaryType
    // "nodebuffer", the default). Decoding it in place matters: the copy the old
    // `Buffer.from(data)` made cost more than the JSON parse of a typical frame.
    const text = (data as Buffer).toString("utf8");
    let frame: unknown;
    try {
      frame = JSON.parse(text);
    } catch {
      this.#log.debug("trueconf socket: non-JSON frame ignored", { bytes: text.length });
      return;
    }
    const f = record(frame);
    const type = num(f.type, -1);
    if (type === 2) {
      const id = num(f.id, -1);
      const p = this.#pending.get(id);
      if (!p) {
        this.#log.debug("trueconf socket: response to no pending request", { id: f.id });
        return;
      }
      this.#pending.delete(id);
      this.#o.onResponse?.();
      const { code, description } = errorCodeOf(f.payload);
      if (code !== 0) p.reject(new TrueConfApiError(p.method, code, description));
      else p.resolve(f.payload);
    } else if (type === 1) {
      // Ack first, on this very socket, before any parsing can fail: the ack is what
      // marks the message read in TrueConf. A request without a uint32 id cannot be acked
      // (`{"type":2}` alone would be a malformed frame of ours); it is still dispatched.
      const id = f.id;
      const ackable = typeof id === "number" && Number.isInteger(id) && id >= 0;
      if (ackable && this.isOpen) this.#send(`{"type":2,"id":${id}}`);
      try {
        this.#o.onEvent?.(str(f.method), f.payload);
      } catch (err) {
        this.#log.error("trueconf event dispatch failed", { method: str(f.method), error: err });
      }
    } else {
      this.#log.debug("trueconf socket: frame of unknown type ignored", { type: f.type });
    }
  }

  #cleanup(): void {
    this.#cleaned = true;
    this.#o.timers.clear(this.#pingTimer);
    this.#o.timers.clear(this.#pongTimer);
    this.#o.timers.clear(this.#killTimer);
    this.#o.timers.clear(this.#deadlineTimer);
    this.#pingTimer =
      this.#pongTimer =
      this.#killTimer =
      this.#deadlineTimer =
        null;
    this.#deadlineAt = Infinity;
    const reason = this.closeReason ?? "socket closed";
    for (const p of this.#pending.values()) {
      p.reject(
        new TrueConfDisconnectedError(
          `connection to TrueConf lost before ${p.method} was answered: ${reason}`,
        ),
      );
    }
    this.#pending.clear();
  }
}
