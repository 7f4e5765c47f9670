// RFC 6455 framing for the one WebSocket to TrueConf, client side: masked frames out, an
// incremental parser in. Pure byte work, no I/O: the connection owns the socket.
//
// Why our own: npm:ws runs on Node streams (socket 'data' → Readable → ws Receiver, a
// Writable → 'message'; send → Sender → socket.write); under load that JavaScript was 5–6 %
// of the main thread's busy time for this single socket, and is about 2 % now (issue 16;
// docs/benchmarks.md, "The TrueConf socket without ws"). The protocol needs little of
// WebSocket: JSON text frames, ping/pong, close; no extensions (permessage-deflate is never
// offered, so every RSV bit must be clear).
import { concatBytes, decodeUtf8 } from "../bytes.ts";

/** Opcodes (RFC 6455 §5.2). */
export const OP_CONTINUATION = 0x0;
export const OP_TEXT = 0x1;
export const OP_BINARY = 0x2;
export const OP_CLOSE = 0x8;
export const OP_PING = 0x9;
export const OP_PONG = 0xa;

/**
 * Largest frame, and largest reassembled message, accepted. The protocol's biggest messages
 * (a page of 200 participants, a 4096-character message envelope) are tens of kilobytes; a
 * limit of 100 MiB (ws's default) would let one odd frame cost hundreds of MiB of heap when
 * parsed. A bigger one closes the socket (1009) and the client reconnects.
 */
export const MAX_FRAME_BYTES = 4 * 1024 * 1024;

/** A violation of RFC 6455 by the peer; `code` is the close code to answer with (§7.4.1). */
export class WsProtocolError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
    this.name = "WsProtocolError";
  }
}

/** Encodes one frame; `mask` null for a server's (unmasked) frame, as tests need. */
export function encodeFrame(
  opcode: number,
  payload: Uint8Array,
  o: { fin?: boolean; mask?: Uint8Array | null } = {},
): Uint8Array<ArrayBuffer> {
  const mask = o.mask === undefined ? randomMask() : o.mask;
  const n = payload.byteLength;
  const head = headerBytes(n) + (mask ? 4 : 0);
  const out = new Uint8Array(head + n);
  const at = writeHeader(out, 0, opcode, n, o.fin ?? true, mask !== null);
  if (mask) out.set(mask, at);
  out.set(payload, head);
  if (mask) applyMask(out, head, n, mask[0]!, mask[1]!, mask[2]!, mask[3]!);
  return out;
}

/** Close frame payload: the code (big-endian) and a UTF-8 reason (≤ 123 bytes, cut if longer). */
export function closePayload(code: number, reason = ""): Uint8Array {
  const text = new TextEncoder().encode(reason).subarray(0, 123);
  const out = new Uint8Array(2 + text.byteLength);
  out[0] = code >> 8;
  out[1] = code & 0xff;
  out.set(text, 2);
  return out;
}

/** Length-field bytes after the first two: 7-bit, 16-bit (126), 64-bit (127). */
function headerBytes(n: number): number {
  return n < 126 ? 2 : n < 0x10000 ? 4 : 10;
}

function writeHeader(
  out: Uint8Array,
  at: number,
  opcode: number,
  n: number,
  fin: boolean,
  masked: boolean,
): number {
  out[at] = (fin ? 0x80 : 0) | opcode;
  const m = masked ? 0x80 : 0;
  if (n < 126) {
    out[at + 1] = m | n;
    return at + 2;
  }
  if (n < 0x10000) {
    out[at + 1] = m | 126;
    out[at + 2] = n >>> 8;
    out[at + 3] = n & 0xff;
    return at + 4;
  }
  out[at + 1] = m | 127;
  const hi = Math.floor(n / 0x1_0000_0000);
  const lo = n >>> 0;
  out[at + 2] = 0;
  out[at + 3] = 0;
  out[at + 4] = (hi >>> 8) & 0xff;
  out[at + 5] = hi & 0xff;
  out[at + 6] = lo >>> 24;
  out[at + 7] = (lo >>> 16) & 0xff;
  out[at + 8] = (lo >>> 8) & 0xff;
  out[at + 9] = lo & 0xff;
  return at + 10;
}

/** XORs `n` bytes from `at` with the 4-byte mask (masking and unmasking are the same). */
function applyMask(
  b: Uint8Array,
  at: number,
  n: number,
  m0: number,
  m1: number,
  m2: number,
  m3: number,
): void {
  const end = at + n;
  let i = at;
  for (; i + 3 < end; i += 4) {
    b[i] = b[i]! ^ m0;
    b[i + 1] = b[i + 1]! ^ m1;
    b[i + 2] = b[i + 2]! ^ m2;
    b[i + 3] = b[i + 3]! ^ m3;
  }
  if (i < end) b[i] = b[i]! ^ m0;
  if (i + 1 < end) b[i + 1] = b[i + 1]! ^ m1;
  if (i + 2 < end) b[i + 2] = b[i + 2]! ^ m2;
}

// Masking keys must be unpredictable (RFC 6455 §10.3); drawing them from the CSPRNG 1024 at
// a time keeps that while paying one getRandomValues call per 1024 frames, not per frame.
const pool = new Uint8Array(4096);
let poolAt = pool.length;

function nextMask(): number {
  if (poolAt === pool.length) {
    crypto.getRandomValues(pool);
    poolAt = 0;
  }
  poolAt += 4;
  return poolAt - 4;
}

function randomMask(): Uint8Array {
  const at = nextMask();
  return pool.slice(at, at + 4);
}

const encoder = new TextEncoder();
/** Slack kept free after growing, so a turn's next frames rarely grow the buffer again. */
const GROW_SLACK = 16 * 1024;
/** A buffer grown past this by an odd big frame is dropped after it was written. */
const KEEP_BYTES = 256 * 1024;

/**
 * The frames of one event-loop turn, masked and laid out back to back in one buffer, so the
 * whole turn leaves in one socket write. Text is encoded straight into the buffer (no
 * intermediate string-to-bytes copy).
 *
 * `take()` hands the bytes over for writing and switches to a spare buffer; `recycle()`
 * gives the written buffer back. Frames appended while a write is in flight go to the spare.
 */
export class FrameOutbox {
  #buf = new Uint8Array(GROW_SLACK);
  #len = 0;
  #spare: Uint8Array<ArrayBuffer> | null = null;

  /** Bytes waiting to be taken. */
  get size(): number {
    return this.#len;
  }

  /** Appends a text frame. */
  text(s: string): void {
    // UTF-8 is at most 3 bytes per UTF-16 unit; the payload is encoded after the largest
    // header and moved back when the real header is shorter (a memmove, cheaper than a copy
    // through a separate array).
    const start = this.#len;
    this.#reserve(14 + s.length * 3);
    const { written } = encoder.encodeInto(s, this.#buf.subarray(start + 14));
    const n = written;
    const head = headerBytes(n) + 4;
    if (head < 14) this.#buf.copyWithin(start + head, start + 14, start + 14 + n);
    this.#seal(start, OP_TEXT, n, head);
  }

  /** Appends a control frame (ping, pong, close); `payload` ≤ 125 bytes. */
  control(opcode: number, payload: Uint8Array = new Uint8Array(0)): void {
    const n = Math.min(payload.byteLength, 125);
    const start = this.#len;
    this.#reserve(6 + n);
    this.#buf.set(payload.subarray(0, n), start + 6);
    this.#seal(start, opcode, n, 6);
  }

  /** Takes every pending byte for one write; the view stays valid until `recycle`d. */
  take(): Uint8Array<ArrayBuffer> {
    const out = this.#buf.subarray(0, this.#len);
    this.#buf = this.#spare ?? new Uint8Array(GROW_SLACK);
    this.#spare = null;
    this.#len = 0;
    return out;
  }

  /** Returns a written buffer for reuse (kept only when not oversized). */
  recycle(written: Uint8Array<ArrayBuffer>): void {
    if (written.buffer.byteLength <= KEEP_BYTES && this.#spare === null) {
      this.#spare = new Uint8Array(written.buffer);
    }
  }

  /** Writes header and mask in front of the `n` payload bytes at `start + head`, masks them. */
  #seal(start: number, opcode: number, n: number, head: number): void {
    const b = this.#buf;
    const at = writeHeader(b, start, opcode, n, true, true);
    const m = nextMask();
    const m0 = pool[m]!, m1 = pool[m + 1]!, m2 = pool[m + 2]!, m3 = pool[m + 3]!;
    b[at] = m0;
    b[at + 1] = m1;
    b[at + 2] = m2;
    b[at + 3] = m3;
    applyMask(b, start + head, n, m0, m1, m2, m3);
    this.#len = start + head + n;
  }

  #reserve(extra: number): void {
    const need = this.#len + extra;
    if (need <= this.#buf.byteLength) return;
    const next = new Uint8Array(Math.max(need + GROW_SLACK, this.#buf.byteLength * 2));
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
  }
}

/** What a parsed stream of server frames delivers. */
export interface FrameSink {
  /** A complete text message, valid UTF-8. */
  text(text: string): void;
  /** A complete binary message (a view: copy it to keep it past the call). */
  binary(bytes: Uint8Array): void;
  /** A ping; the payload is a view valid during the call. */
  ping(payload: Uint8Array): void;
  pong(payload: Uint8Array): void;
  /** A close frame: 1005 when it carried no code. Nothing is parsed after it. */
  close(code: number, reason: string): void;
}

/** Least free space offered to a read, so a nearly full buffer does not mean tiny reads. */
const MIN_READ = 16 * 1024;
/**
 * Incremental parser of server frames (RFC 6455 §5): reads go straight into its buffer
 * (`space()`, then `commit(n)`), complete frames are handed to the sink at once, a partial
 * frame waits for more bytes. The buffer grows only as far as the largest frame needs (up to
 * {@link MAX_FRAME_BYTES}); fragments of a message are collected until its last one.
 * Violations throw {@link WsProtocolError} with the close code to send.
 */
export class FrameParser {
  #buf: Uint8Array;
  #start = 0;
  #end = 0;
  #max: number;
  #sink: FrameSink;
  /** Opcode of the fragmented message in progress (text/binary), or -1. */
  #fragOpcode = -1;
  #fragments: Uint8Array[] = [];
  #fragBytes = 0;
  #closed = false;
  /** Bytes the frame at `#start` needs in all (header + payload), once its header is known. */
  #want = 0;
  #initial: number;

  constructor(sink: FrameSink, o: { maxBytes?: number; initialBytes?: number } = {}) {
    this.#sink = sink;
    this.#max = o.maxBytes ?? MAX_FRAME_BYTES;
    this.#initial = o.initialBytes ?? 64 * 1024;
    this.#buf = new Uint8Array(this.#initial);
  }

  /** Free space to read into (at least 16 KiB; compacts or grows the buffer when needed). */
  space(): Uint8Array {
    const need = Math.max(this.#want, this.#end - this.#start + MIN_READ);
    if (this.#buf.byteLength - this.#start < need || this.#buf.byteLength - this.#end < MIN_READ) {
      if (this.#buf.byteLength < need) {
        // Grow to what the frame in progress needs (its length is known from its header),
        // doubling for small steps, but never past the limit's worth.
        const size = Math.max(need, Math.min(this.#buf.byteLength * 2, this.#max + 14 + MIN_READ));
        const next = new Uint8Array(size);
        next.set(this.#buf.subarray(this.#start, this.#end));
        this.#buf = next;
      } else {
        this.#buf.copyWithin(0, this.#start, this.#end);
      }
      this.#end -= this.#start;
      this.#start = 0;
    }
    return this.#buf.subarray(this.#end);
  }

  /** `n` bytes were read into the last `space()`: parse every complete frame. */
  commit(n: number): void {
    this.#end += n;
    this.#parse();
  }

  /** Copies `bytes` in and parses (for bytes that were not read into `space()`). */
  push(bytes: Uint8Array): void {
    let at = 0;
    while (at < bytes.byteLength) {
      const room = this.space();
      const n = Math.min(room.byteLength, bytes.byteLength - at);
      room.set(bytes.subarray(at, at + n));
      at += n;
      this.commit(n);
    }
  }

  #parse(): void {
    const b = this.#buf;
    while (!this.#closed) {
      const avail = this.#end - this.#start;
      if (avail < 2) break;
      const p = this.#start;
      const b0 = b[p]!, b1 = b[p + 1]!;
      const fin = (b0 & 0x80) !== 0;
      const opcode = b0 & 0x0f;
      if (b0 & 0x70) {
        throw new WsProtocolError(
          1002,
          "frame with reserved bits set (no extension was negotiated)",
        );
      }
      if (b1 & 0x80) throw new WsProtocolError(1002, "masked frame from the server");
      const control = opcode >= 0x8;
      if (
        !(opcode <= OP_BINARY || opcode === OP_CLOSE || opcode === OP_PING || opcode === OP_PONG)
      ) {
        throw new WsProtocolError(1002, `frame with unknown opcode ${opcode}`);
      }
      let n = b1 & 0x7f;
      let head = 2;
      if (n === 126) {
        if (avail < 4) break;
        n = (b[p + 2]! << 8) | b[p + 3]!;
        head = 4;
      } else if (n === 127) {
        if (avail < 10) break;
        const hi = ((b[p + 2]! << 24) | (b[p + 3]! << 16) | (b[p + 4]! << 8) | b[p + 5]!) >>> 0;
        const lo = ((b[p + 6]! << 24) | (b[p + 7]! << 16) | (b[p + 8]! << 8) | b[p + 9]!) >>> 0;
        if (hi >= 0x8000_0000) throw new WsProtocolError(1002, "frame length with the top bit set");
        n = hi * 0x1_0000_0000 + lo;
        head = 10;
      }
      if (control && (!fin || n > 125)) {
        throw new WsProtocolError(1002, "fragmented or oversized control frame");
      }
      if (n > this.#max || (opcode === OP_CONTINUATION && this.#fragBytes + n > this.#max)) {
        throw new WsProtocolError(
          1009,
          `message larger than ${this.#max} bytes (a frame of ${n} bytes)`,
        );
      }
      if (avail < head + n) {
        this.#want = head + n; // space() grows the buffer to fit it
        break;
      }
      this.#want = 0;
      this.#start = p + head + n;
      const payload = b.subarray(p + head, p + head + n);
      if (control) this.#control(opcode, payload);
      else this.#data(opcode, fin, payload);
    }
    if (this.#start === this.#end) {
      this.#start = this.#end = 0;
      // One odd big frame must not pin megabytes for the socket's whole life.
      if (this.#buf.byteLength > 4 * this.#initial) this.#buf = new Uint8Array(this.#initial);
    }
  }

  #data(opcode: number, fin: boolean, payload: Uint8Array): void {
    if (opcode === OP_CONTINUATION) {
      if (this.#fragOpcode < 0) {
        throw new WsProtocolError(1002, "continuation frame without a message");
      }
      this.#fragments.push(payload.slice());
      this.#fragBytes += payload.byteLength;
      if (!fin) return;
      const whole = concatBytes(this.#fragments);
      const op = this.#fragOpcode;
      this.#fragOpcode = -1;
      this.#fragments = [];
      this.#fragBytes = 0;
      this.#deliver(op, whole);
      return;
    }
    if (this.#fragOpcode >= 0) {
      throw new WsProtocolError(1002, "new message before the previous one's last fragment");
    }
    if (fin) return this.#deliver(opcode, payload);
    this.#fragOpcode = opcode;
    this.#fragments.push(payload.slice());
    this.#fragBytes = payload.byteLength;
  }

  #deliver(opcode: number, bytes: Uint8Array): void {
    if (opcode === OP_BINARY) return this.#sink.binary(bytes);
    let text: string;
    try {
      // A leading BOM stays a character of the message (the frame's bytes, decoded as they are).
      text = decodeUtf8(bytes, true);
    } catch {
      throw new WsProtocolError(1007, "text message that is not valid UTF-8");
    }
    this.#sink.text(text);
  }

  #control(opcode: number, payload: Uint8Array): void {
    if (opcode === OP_PING) return this.#sink.ping(payload);
    if (opcode === OP_PONG) return this.#sink.pong(payload);
    this.#closed = true;
    if (payload.byteLength === 0) return this.#sink.close(1005, "");
    if (payload.byteLength === 1) throw new WsProtocolError(1002, "close frame with a 1-byte body");
    const code = (payload[0]! << 8) | payload[1]!;
    if (!validCloseCode(code)) throw new WsProtocolError(1002, `close frame with code ${code}`);
    let reason: string;
    try {
      reason = decodeUtf8(payload.subarray(2), true);
    } catch {
      throw new WsProtocolError(1007, "close reason that is not valid UTF-8");
    }
    this.#sink.close(code, reason);
  }
}

/** Codes a peer may send (RFC 6455 §7.4; 1004–1006 and 1015 are never on the wire). */
function validCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
    (code >= 3000 && code <= 4999);
}
