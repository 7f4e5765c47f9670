// The WebSocket opening handshake (RFC 6455 §4) of the client, over a byte stream from
// _ws_transport.ts. Failure texts follow npm:ws's, which the client used before and which
// src/trueconf/client.ts reads ("no subprotocol" → retry without offering json.v1).
import { headEnd } from "../http1/mod.ts";
import { MAX_ANSWER_HEAD_BYTES, parseAnswerHead, refuseNonHttp } from "./_answer_head.ts";
import { type ByteStream, openByteStream, type TransportTls, writeAll } from "./_ws_transport.ts";

/** RFC 6455 §1.3: appended to the key before hashing it into Sec-WebSocket-Accept. */
const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

export interface OpenOptions extends TransportTls {
  url: string;
  /** Subprotocols offered in Sec-WebSocket-Protocol (none: the header is left out). */
  protocols: readonly string[];
  /** For connect, TLS and the upgrade together, as ws's `handshakeTimeout`. */
  timeoutMs: number;
  /** Aborts the opening (close() before the socket opened). */
  signal: AbortSignal;
}

export interface OpenSocket {
  stream: ByteStream;
  /** The subprotocol the server chose, or null. */
  protocol: string | null;
  /** Bytes that arrived after the answer's head: the first frames, if the server was quick. */
  rest: Uint8Array;
}

/**
 * Connects and upgrades. Rejects with the cause's text: the transport's ("Connection refused
 * (os error 111)", "invalid peer certificate: UnknownIssuer"), "Opening handshake has timed
 * out", "Unexpected server response: 503", "Server sent no subprotocol", … No redirect is
 * followed (a 3xx is an unexpected response).
 */
export async function openWebSocket(o: OpenOptions): Promise<OpenSocket> {
  const ac = new AbortController();
  const timer = setTimeout(
    () => ac.abort(new Error("Opening handshake has timed out")),
    Math.max(1, o.timeoutMs),
  );
  const onAbort = () => ac.abort(o.signal.reason);
  o.signal.addEventListener("abort", onAbort, { once: true });
  if (o.signal.aborted) onAbort();
  let stream: ByteStream | null = null;
  const closeOnAbort = () => stream?.close();
  try {
    const url = new URL(o.url);
    stream = await openByteStream(url, o, ac.signal);
    ac.signal.addEventListener("abort", closeOnAbort, { once: true });
    if (ac.signal.aborted) throw ac.signal.reason;
    const key = encodeBase64(crypto.getRandomValues(new Uint8Array(16)));
    await writeAll(stream, new TextEncoder().encode(upgradeRequest(url, key, o.protocols)));
    const { head, rest } = await readHead(stream);
    const protocol = await checkUpgradeAnswer(head, key, o.protocols);
    return { stream, protocol, rest };
  } catch (err) {
    stream?.close();
    throw ac.signal.aborted ? ac.signal.reason : err;
  } finally {
    clearTimeout(timer);
    o.signal.removeEventListener("abort", onAbort);
    ac.signal.removeEventListener("abort", closeOnAbort);
  }
}

/** The GET that asks for the upgrade. */
function upgradeRequest(url: URL, key: string, protocols: readonly string[]): string {
  const lines = [
    `GET ${url.pathname || "/"}${url.search} HTTP/1.1`,
    `Host: ${url.host}`,
    "Upgrade: websocket",
    "Connection: Upgrade",
    `Sec-WebSocket-Key: ${key}`,
    "Sec-WebSocket-Version: 13",
  ];
  if (protocols.length > 0) lines.push(`Sec-WebSocket-Protocol: ${protocols.join(", ")}`);
  return lines.join("\r\n") + "\r\n\r\n";
}

/**
 * Checks the answer's head (status line and headers; the blank line after them is ignored): 101, an
 * Upgrade to websocket, the Accept that proves the server read our key, and the subprotocol
 * rules. Returns the chosen subprotocol; throws with ws's texts.
 */
async function checkUpgradeAnswer(
  head: string,
  key: string,
  offered: readonly string[],
): Promise<string | null> {
  const { status, headers } = parseAnswerHead(head, "WebSocket handshake answer");
  if (status !== 101) throw new Error(`Unexpected server response: ${status}`);
  if (headers.get("upgrade")?.toLowerCase() !== "websocket") {
    throw new Error("Invalid Upgrade header");
  }
  if (headers.get("sec-websocket-accept") !== await acceptFor(key)) {
    throw new Error("Invalid Sec-WebSocket-Accept header");
  }
  const protocol = headers.get("sec-websocket-protocol") ?? null;
  if (protocol !== null && offered.length === 0) {
    throw new Error("Server sent a subprotocol but none was requested");
  }
  if (protocol !== null && !offered.includes(protocol)) {
    throw new Error("Server sent an invalid subprotocol");
  }
  if (protocol === null && offered.length > 0) throw new Error("Server sent no subprotocol");
  if (headers.has("sec-websocket-extensions")) {
    throw new Error("Server sent a Sec-WebSocket-Extensions header but no extension was requested");
  }
  return protocol;
}

/** Sec-WebSocket-Accept for a key: base64 of SHA-1 of key + GUID. */
export async function acceptFor(key: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(key + GUID));
  return encodeBase64(new Uint8Array(digest));
}

function encodeBase64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

/** Reads up to the blank line that ends the answer's head; what follows is kept. */
async function readHead(stream: ByteStream): Promise<{ head: string; rest: Uint8Array }> {
  const buf = new Uint8Array(MAX_ANSWER_HEAD_BYTES);
  let len = 0;
  let scanned = 0;
  while (true) {
    if (len === buf.byteLength) throw new Error("WebSocket handshake answer head too large");
    const n = await stream.read(buf.subarray(len));
    if (n === null) {
      refuseNonHttp(buf.subarray(0, len), true, "WebSocket handshake answer");
      throw new Error(
        len === 0
          ? "socket hang up (closed before answering the WebSocket handshake)"
          : "connection closed in the middle of the WebSocket handshake answer",
      );
    }
    len += n;
    refuseNonHttp(buf.subarray(0, len), false, "WebSocket handshake answer");
    const end = headEnd(buf, 0, scanned, len);
    if (end >= 0) {
      return { head: new TextDecoder().decode(buf.subarray(0, end)), rest: buf.slice(end, len) };
    }
    scanned = len;
  }
}
