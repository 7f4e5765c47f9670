// One WebSocket to TrueConf: request/response correlation, acks, pings, the socket's life.
// Knows nothing of tokens or reconnects; the client owns those. The framing is ours
// (_ws_frames.ts) over Deno's own conns (_ws_transport.ts, _ws_handshake.ts) instead of
// npm:ws and its Node streams (issue 16; why: _ws_frames.ts).
import { setImmediate } from "node:timers";
import { errorText } from "../error_text.ts";
import type { Logger } from "../log.ts";
import { TrueConfApiError, TrueConfDisconnectedError, TrueConfTimeoutError } from "./errors.ts";
import { num, record, str } from "./_json.ts";
import { errorCodeOf } from "./_responses.ts";
import type { TimerId, Timers } from "./_timers.ts";
import {
  closePayload,
  FrameOutbox,
  FrameParser,
  type FrameSink,
  OP_CLOSE,
  OP_PING,
  OP_PONG,
  WsProtocolError,
} from "./_ws_frames.ts";
import { openWebSocket } from "./_ws_handshake.ts";
import type { ByteStream } from "./_ws_transport.ts";
import { PendingRequests } from "./_pending_requests.ts";

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
  /**
   * A server request (type 1). Acked at once, unless this returns a promise: then the ack
   * waits until it settles, for at most `ackHoldMs` (see {@link Connection.#holdAck}); or
   * `false`: then it is never acked, and TrueConf keeps it unread for the next connection.
   */
  onEvent?: (method: string, payload: unknown) => PromiseLike<unknown> | false | void;
  /**
   * Asked first for every text frame: the id of a server request that is to be acked at once
   * without parsing it or calling `onEvent` (the bot's own posts pushed back, see
   * `_own_echo.ts`), or -1 to parse and dispatch the frame as usual.
   */
  ackUnparsed?: (text: string) => number;
  /** Longest wait of an ack for its event to be stored. Default {@link ACK_HOLD_MS}. */
  ackHoldMs?: number;
  /** Any response arrived (success or API error): the server is alive. */
  onResponse?: () => void;
  onPong?: (at: number) => void;
}

interface Pending {
  /** The request's id, as sent. */
  id: number;
  method: string;
  /** `Date.now()` after which the request fails with {@link TrueConfTimeoutError}. */
  deadline: number;
  timeoutMs: number;
  /** After the timeout, how long a late answer is still taken ({@link TrueConfTimeoutError.late}); 0: not. */
  lateMs: number;
  resolve: (payload: unknown) => void;
  reject: (err: Error) => void;
}

/** A timed-out request whose answer may still come (see {@link Connection.request}). */
interface Late {
  method: string;
  /** `Date.now()` after which a late answer is no longer waited for. */
  deadline: number;
  /** When the request timed out, for the log. */
  timedOutAt: number;
  resolve: (payload: unknown) => void;
  reject: (err: Error) => void;
}

let serial = 0;

/**
 * Longest an ack waits for its event to be stored. KV commits take milliseconds; this only
 * bounds a store that hangs, so that TrueConf is never left without the ack for long.
 */
export const ACK_HOLD_MS = 10_000;
/** Longest wait for a close frame of ours to be written (a protocol error's, an echo). */
const CLOSE_WRITE_MS = 1_000;
const EMPTY = new Uint8Array(0);
/** Binary frames are not part of the protocol; decoded leniently like text, as before. */
const lenientUtf8 = new TextDecoder();

type State = "connecting" | "open" | "closing" | "closed";

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
  #state: State = "connecting";
  /** Aborts the opening handshake: terminate() before the socket opened. */
  #opening = new AbortController();
  #stream: ByteStream | null = null;
  #pending = new PendingRequests<Pending>();
  /** Requests that timed out but whose answer is still taken (only those sent with `lateMs`). */
  #late = new Map<number, Late>();
  /** One timer for every request's deadline (armed for the earliest), not one per request. */
  #deadlineTimer: TimerId | null = null;
  #deadlineAt = Infinity;
  /** Frames not written yet (see {@link Connection.#send}). */
  #outbox = new FrameOutbox();
  #flushQueued = false;
  /** The write in flight: never two at once, so frames leave in the order they were made. */
  #writing: Promise<void> | null = null;
  /** The server's close frame, once one arrived. */
  #peerClose: { code: number; reason: string } | null = null;
  #nextId = 1;
  #pingTimer: TimerId | null = null;
  #pongTimer: TimerId | null = null;
  #killTimer: TimerId | null = null;
  /** Acks waiting for their event to be stored → the timer that sends them anyway. */
  #heldAcks = new Map<number, TimerId>();
  #cleaned = false;
  #log: Logger;

  constructor(o: ConnectionOptions) {
    this.#o = o;
    this.#log = o.logger.child({ socket: this.serial });
    let opened!: () => void;
    let failed!: (err: Error) => void;
    this.opened = new Promise<void>((resolve, reject) => {
      opened = resolve;
      failed = reject;
    });
    this.opened.catch(() => {}); // observed via closed/closeReason when nobody awaits it
    this.closed = this.#run(opened, failed);
  }

  /** The socket is open (handshake done, not closing). */
  get isOpen(): boolean {
    return this.#state === "open";
  }

  /** Requests awaiting a response. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /**
   * Sends a request; resolves with the response payload. Rejects with
   * {@link TrueConfApiError} (errorCode ≠ 0), {@link TrueConfTimeoutError}, or
   * {@link TrueConfDisconnectedError} (not open, or closed before the answer).
   *
   * With `lateMs` > 0 the timeout's error carries {@link TrueConfTimeoutError.late}: TrueConf
   * that is slow, not gone, may still carry the request out, and its answer on this socket
   * within `lateMs` after the timeout settles that promise. A retry can then take that answer
   * instead of posting the message a second time (the client's `sendMessage`/`sendFile`).
   */
  request(method: string, payload: unknown, timeoutMs: number, lateMs = 0): Promise<unknown> {
    if (!this.isOpen) {
      return Promise.reject(new TrueConfDisconnectedError(`socket not open, ${method} not sent`));
    }
    const id = this.#nextId++;
    if (this.#nextId > 0xffff_fff0) this.#nextId = 1; // stay in uint32, ids only need to be unique in flight
    return new Promise<unknown>((resolve, reject) => {
      const deadline = Date.now() + timeoutMs;
      this.#pending.set({ id, method, deadline, timeoutMs, lateMs, resolve, reject });
      if (deadline < this.#deadlineAt) this.#armDeadline(deadline);
      // A write that fails closes the socket, which fails this request (and every other
      // one in flight) with TrueConfDisconnectedError.
      this.#send(JSON.stringify({ type: 1, id, method, payload }));
    });
  }

  /**
   * Queues one text frame. Every frame of an event-loop turn (requests, acks, pongs) is laid
   * into one buffer and the end of the turn (`setImmediate`) writes them with one
   * `write`, instead of one syscall each: under load the socket writes were about half of the
   * bot's busy time (issue 16). Latency is unchanged: the frames leave when this turn's
   * synchronous work is done, before the loop waits for I/O again. (`queueMicrotask` would
   * run before the turn's other promise continuations, which make frames too.)
   */
  #send(frame: string): void {
    this.#outbox.text(frame);
    this.#queueFlush();
  }

  #queueFlush(): void {
    // A write in flight takes what queued up behind it when it ends (back-pressure).
    if (this.#flushQueued || this.#writing) return;
    this.#flushQueued = true;
    setImmediate(this.#flush);
  }

  #flush = (): void => {
    this.#flushQueued = false;
    const stream = this.#stream;
    if (this.#writing || this.#outbox.size === 0 || !stream || this.#state === "closed") return;
    this.#writing = this.#write(stream, this.#outbox.take());
  };

  /** Writes all of `bytes` (a conn may take fewer per call), then what queued meanwhile. */
  async #write(stream: ByteStream, bytes: Uint8Array<ArrayBuffer>): Promise<void> {
    try {
      for (let at = 0; at < bytes.byteLength;) at += await stream.write(bytes.subarray(at));
    } catch (err) {
      if (this.#state !== "closed") {
        this.closeReason ??= `write to the socket failed: ${errorText(err)}`;
        stream.close(); // the read loop ends and the pendings fail
      }
      return;
    } finally {
      this.#writing = null;
    }
    this.#outbox.recycle(bytes);
    if (this.#outbox.size > 0) this.#flush();
  }

  /** Writes what is queued now (for close frames), waiting at most {@link CLOSE_WRITE_MS}. */
  async #flushNow(): Promise<void> {
    let timer: TimerId | null = null;
    const done = (async () => {
      while (this.#writing) await this.#writing;
      this.#flush();
      await this.#writing;
    })();
    await Promise.race([
      done,
      new Promise<void>((r) => timer = this.#o.timers.timeout(r, CLOSE_WRITE_MS)),
    ]);
    this.#o.timers.clear(timer);
  }

  /** (Re)arms the deadline timer for `at`; earlier deadlines only ever move it forward. */
  #armDeadline(at: number): void {
    this.#o.timers.clear(this.#deadlineTimer);
    this.#deadlineAt = at;
    this.#deadlineTimer = this.#o.timers.timeout(() => this.#expire(), at - Date.now());
  }

  /**
   * Fails every request past its deadline (one sent with `lateMs` moves to the late ones),
   * gives up on late answers past theirs, then arms the timer for the next deadline.
   */
  #expire(): void {
    this.#deadlineTimer = null;
    this.#deadlineAt = Infinity;
    const now = Date.now();
    let next = Infinity;
    for (const p of this.#pending.values()) {
      if (p.deadline <= now) {
        const id = p.id;
        this.#pending.delete(id);
        let late: Promise<unknown> | undefined;
        if (p.lateMs > 0) {
          const entry = { method: p.method, deadline: now + p.lateMs, timedOutAt: now } as Late;
          late = new Promise<unknown>((resolve, reject) => {
            entry.resolve = resolve;
            entry.reject = reject;
          });
          late.catch(() => {}); // nobody may ask: a timeout nobody retries
          this.#late.set(id, entry);
          if (entry.deadline < next) next = entry.deadline;
        }
        p.reject(new TrueConfTimeoutError(p.method, p.timeoutMs, undefined, late));
      } else if (p.deadline < next) next = p.deadline;
    }
    for (const [id, l] of this.#late) {
      if (l.deadline <= now) {
        this.#late.delete(id);
        l.reject(new TrueConfTimeoutError(l.method, now - l.timedOutAt, "no late answer either"));
      } else if (l.deadline < next) next = l.deadline;
    }
    if (next !== Infinity && !this.#cleaned) this.#armDeadline(next);
  }

  /** Drops the socket at once (no close handshake); pendings fail with TrueConfDisconnectedError. */
  terminate(reason: string): void {
    this.closeReason ??= reason;
    if (this.#state === "connecting") {
      this.#opening.abort(new Error("closed before the connection was established"));
    } else this.#stream?.close(); // the read loop ends
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
    if (this.#state === "closed") return;
    if (this.#state === "connecting") {
      this.terminate(reason);
      return await this.closed;
    }
    if (this.#state === "open") {
      this.#state = "closing";
      this.#outbox.control(OP_CLOSE, closePayload(1000, "token rotation"));
      this.#queueFlush();
    }
    // The read loop ends at the server's close frame; a server that never sends one must not
    // keep the socket.
    this.#killTimer = this.#o.timers.timeout(() => this.terminate(reason), 1000);
    await this.closed;
  }

  /** The socket's whole life: open, read until closed, clean up. Resolves as `closed`. */
  async #run(opened: () => void, failed: (err: Error) => void): Promise<void> {
    try {
      const socket = await openWebSocket({
        url: this.#o.url,
        verifyTls: this.#o.verifyTls,
        caPem: this.#o.caPem,
        // json.v1 is offered, as TrueConf documents; a server or proxy that leaves the echo
        // out fails the handshake ("Server sent no subprotocol", as npm:ws said), and the
        // client then retries without the header, which TrueConf reads as json.v1 too
        // (protocol reference §1.2).
        protocols: this.#o.offerSubprotocol === false ? [] : ["json.v1"],
        timeoutMs: this.#o.handshakeTimeoutMs,
        signal: this.#opening.signal,
      });
      this.#stream = socket.stream;
      if (this.#opening.signal.aborted) return; // terminate() came as the handshake finished
      this.#state = "open";
      opened();
      this.#startPings();
      await this.#readLoop(socket.stream, socket.rest);
    } catch (err) {
      const why = errorText(err);
      this.closeReason ??= why;
      this.#log.debug("trueconf socket error", { error: why });
    } finally {
      this.#state = "closed";
      this.#stream?.close();
      this.#cleanup();
      failed(new TrueConfDisconnectedError(`connect failed: ${this.closeReason ?? "closed"}`));
      await this.#writing; // settles at once now that the stream is closed
    }
  }

  #sink: FrameSink = {
    text: (text) => this.#onFrame(text),
    binary: (bytes) => this.#onFrame(lenientUtf8.decode(bytes)),
    ping: (payload) => {
      if (!this.isOpen) return;
      this.#outbox.control(OP_PONG, payload);
      this.#queueFlush();
    },
    pong: () => {
      this.#o.timers.clear(this.#pongTimer);
      this.#pongTimer = null;
      this.#o.onPong?.(Date.now());
    },
    close: (code, reason) => {
      this.#peerClose = { code, reason };
    },
  };

  /**
   * Reads into the parser's buffer until the socket ends: the server's close frame (echoed),
   * end of stream, a read error (terminate() closing the stream included), or a protocol
   * violation (answered with its close code).
   */
  async #readLoop(stream: ByteStream, rest: Uint8Array): Promise<void> {
    const parser = new FrameParser(this.#sink);
    try {
      if (rest.byteLength > 0) parser.push(rest);
      while (this.#peerClose === null) {
        let n: number | null;
        try {
          n = await stream.read(parser.space());
        } catch (err) {
          this.closeReason ??= `closed by server (1006: ${errorText(err)})`;
          return;
        }
        if (n === null) {
          this.closeReason ??= "closed by server (1006)";
          return;
        }
        parser.commit(n);
      }
    } catch (err) {
      if (!(err instanceof WsProtocolError)) throw err;
      this.closeReason ??= `${err.message} (closed with ${err.code})`;
      this.#log.debug("trueconf socket: protocol error", { error: err.message, code: err.code });
      this.#state = "closing";
      this.#outbox.control(OP_CLOSE, closePayload(err.code));
      return await this.#flushNow();
    }
    const { code, reason } = this.#peerClose;
    this.closeReason ??= `closed by server (${code}${reason ? ` ${reason}` : ""})`;
    if (this.#state !== "open") return; // our own close, answered
    // The server began the closing handshake: answer it, then drop the socket.
    this.#state = "closing";
    this.#outbox.control(OP_CLOSE, code === 1005 ? EMPTY : closePayload(code));
    await this.#flushNow();
  }

  #startPings(): void {
    this.#pingTimer = this.#o.timers.interval(() => {
      if (!this.isOpen) return;
      this.#outbox.control(OP_PING);
      this.#queueFlush();
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

  /** One text message (decoded once, by the parser, which also checked it is UTF-8). */
  #onFrame(text: string): void {
    const skipped = this.#o.ackUnparsed?.(text) ?? -1;
    if (skipped >= 0) {
      if (this.isOpen && !this.#heldAcks.has(skipped)) this.#send(`{"type":2,"id":${skipped}}`);
      return;
    }
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
        const late = this.#late.get(id);
        if (late) {
          this.#late.delete(id);
          this.#o.onResponse?.();
          this.#log.info("trueconf answered a request after its timeout", {
            method: late.method,
            lateMs: Date.now() - late.timedOutAt,
          });
          const { code, description } = errorCodeOf(f.payload);
          if (code !== 0) late.reject(new TrueConfApiError(late.method, code, description));
          else late.resolve(f.payload);
          return;
        }
        this.#log.debug("trueconf socket: response to no pending request", { id: f.id });
        return;
      }
      this.#pending.delete(id);
      this.#o.onResponse?.();
      const { code, description } = errorCodeOf(f.payload);
      if (code !== 0) p.reject(new TrueConfApiError(p.method, code, description));
      else p.resolve(f.payload);
    } else if (type === 1) {
      // The ack is what marks the message read in TrueConf (protocol reference §3), and an
      // unread message is pushed again after the next `auth` (receiveUnread, see
      // _auth_request.ts). So an event someone stores (an outgoing hook's call) is acked only
      // once it is stored: a crash in between leaves it unread, not lost. Everything else is
      // acked at once. A request without a uint32 id cannot be acked (`{"type":2}` alone would
      // be a malformed frame of ours); it is still dispatched.
      const id = f.id;
      const ackable = typeof id === "number" && Number.isInteger(id) && id >= 0;
      let stored: PromiseLike<unknown> | false | void = undefined;
      try {
        stored = this.#o.onEvent?.(str(f.method), f.payload);
      } catch (err) {
        this.#log.error("trueconf event dispatch failed", { method: str(f.method), error: err });
      }
      if (!ackable || stored === false) return;
      if (this.#heldAcks.has(id)) return; // a re-push of one held: acked with it
      if (stored && typeof stored.then === "function") this.#holdAck(id, str(f.method), stored);
      else if (this.isOpen) this.#send(`{"type":2,"id":${id}}`);
    } else {
      this.#log.debug("trueconf socket: frame of unknown type ignored", { type: f.type });
    }
  }

  /**
   * Acks `id` once `stored` settles, or after `ackHoldMs` when it has not: a slow or broken
   * store never keeps TrueConf without its ack for long, and the socket reads on meanwhile
   * (nothing here blocks the frames after this one). An ack sent without the event stored is
   * logged as an error: a crash from then on loses that event. A socket that closes first
   * sends no ack at all, and the event stays unread for the next connection.
   */
  #holdAck(id: number, method: string, stored: PromiseLike<unknown>): void {
    const holdMs = this.#o.ackHoldMs ?? ACK_HOLD_MS;
    const release = (problem?: string, error?: unknown) => {
      const timer = this.#heldAcks.get(id);
      if (timer === undefined) return; // released already, or the socket closed
      this.#heldAcks.delete(id);
      this.#o.timers.clear(timer);
      if (problem) this.#log.error(problem, { method, id, ...(error ? { error } : {}) });
      if (this.isOpen) this.#send(`{"type":2,"id":${id}}`);
    };
    this.#heldAcks.set(
      id,
      this.#o.timers.timeout(
        () =>
          release(
            `trueconf event not stored within ${holdMs} ms; acknowledged anyway, so a crash before it is stored loses it`,
          ),
        holdMs,
      ),
    );
    stored.then(
      () => release(),
      (err) => release("trueconf event not stored; acknowledged anyway", err),
    );
  }

  #cleanup(): void {
    this.#cleaned = true;
    for (const timer of this.#heldAcks.values()) this.#o.timers.clear(timer);
    this.#heldAcks.clear();
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
    for (const l of this.#late.values()) {
      l.reject(
        new TrueConfDisconnectedError(
          `connection to TrueConf lost before a late ${l.method} answer: ${reason}`,
        ),
      );
    }
    this.#late.clear();
  }
}
