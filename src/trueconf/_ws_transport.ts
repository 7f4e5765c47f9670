// The byte stream under the WebSocket to TrueConf, and under its HTTP requests
// (_http1_client.ts): TCP, or TLS honouring the TrueConf-only TLS settings. Deno's own conns
// are used wherever they can be: they do not go through the Node-compat stream layers that
// npm:ws needed (issue 16).
//
// Three paths:
// - `ws:`/`http:`: Deno.connect;
// - `wss:`/`https:`, verification on: Deno.connect, then Deno.startTls (system roots, plus the custom
//   CA when one is set). startTls rather than connectTls because Deno.connect takes an
//   AbortSignal, so a handshake timeout or a close() cancels a connect that hangs;
// - `wss:`/`https:`, verification off: node:tls with rejectUnauthorized:false. Deno has no
//   per-connection verify-off switch (--unsafely-ignore-certificate-errors is process-wide
//   and baked into compiled binaries), so node:tls is the only way; it is the rare setting,
//   so its stream overhead is accepted there.
import type tls from "node:tls";

/** A duplex byte stream: what the WebSocket needs of a socket. */
export interface ByteStream {
  /** Reads into `into`; the count read, or null at end of stream. */
  read(into: Uint8Array): Promise<number | null>;
  /** Writes some of `bytes` (possibly fewer than all); the count written. */
  write(bytes: Uint8Array): Promise<number>;
  /** Closes at once; idempotent. A pending read then rejects or ends. */
  close(): void;
}

/** Writes all of `bytes`, however few each write takes. */
export async function writeAll(stream: ByteStream, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.byteLength;) at += await stream.write(bytes.subarray(at));
}

export interface TransportTls {
  verifyTls: boolean;
  caPem?: string | undefined;
}

/**
 * Opens the stream for a `ws:`, `wss:`, `http:` or `https:` URL. `signal` aborts a connect in
 * progress (the promise rejects with the signal's reason).
 */
export async function openByteStream(
  url: URL,
  o: TransportTls,
  signal: AbortSignal,
): Promise<ByteStream> {
  const secure = url.protocol === "wss:" || url.protocol === "https:";
  const hostname = url.hostname.replace(/^\[|\]$/g, "");
  const port = Number(url.port) || (secure ? 443 : 80);
  if (secure && !o.verifyTls) return await nodeTls(hostname, port, signal);
  const tcp = await Deno.connect({ hostname, port, signal }).catch((err) => {
    throw signal.aborted ? signal.reason : err;
  });
  // Our writes are already one per turn; Nagle would hold a turn's write back until the
  // previous one is acknowledged (ws set no-delay on its socket too).
  tcp.setNoDelay(true);
  if (!secure) return new DenoStream(tcp);
  const conn = await Deno.startTls(tcp, {
    hostname,
    ...(o.caPem ? { caCerts: [o.caPem] } : {}),
  });
  const stream = new DenoStream(conn);
  const onAbort = () => stream.close();
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    // Certificate errors surface here, named ("invalid peer certificate: UnknownIssuer"),
    // rather than at the first read.
    await conn.handshake();
  } catch (err) {
    stream.close();
    throw signal.aborted ? signal.reason : err;
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
  return stream;
}

/** A Deno TCP or TLS conn; `close()` made idempotent. */
class DenoStream implements ByteStream {
  #conn: Deno.Conn;
  #closed = false;

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  read(into: Uint8Array): Promise<number | null> {
    return this.#conn.read(into);
  }

  write(bytes: Uint8Array): Promise<number> {
    return this.#conn.write(bytes);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch { /* already closed by the peer's reset */ }
  }
}

/** Bytes queued from node:tls before the socket is paused until they are read. */
const NODE_HIGH_WATER = 1024 * 1024;

async function nodeTls(hostname: string, port: number, signal: AbortSignal): Promise<ByteStream> {
  // Loaded here, not at start: the verify-off setting is rare (docs/benchmarks.md, "Memory
  // and start", session 4).
  const tls = await import("node:tls");
  if (signal.aborted) throw signal.reason;
  return await new Promise<ByteStream>((resolve, reject) => {
    const isIp = /^[\d.]+$|:/.test(hostname);
    const socket = tls.connect({
      host: hostname,
      port,
      rejectUnauthorized: false,
      ...(isIp ? {} : { servername: hostname }),
    });
    const onAbort = () => {
      socket.destroy();
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    const onError = (err: Error) => {
      signal.removeEventListener("abort", onAbort);
      socket.destroy();
      reject(err);
    };
    socket.once("error", onError);
    socket.once("secureConnect", () => {
      signal.removeEventListener("abort", onAbort);
      socket.off("error", onError);
      resolve(new NodeStream(socket));
    });
  });
}

/** A node:tls socket behind the {@link ByteStream} interface (the verify-off path only). */
class NodeStream implements ByteStream {
  #socket: tls.TLSSocket;
  #chunks: Uint8Array[] = [];
  #queued = 0;
  #ended = false;
  #error: Error | null = null;
  #wake: (() => void) | null = null;

  constructor(socket: tls.TLSSocket) {
    this.#socket = socket;
    socket.on("data", (chunk: Uint8Array) => {
      this.#chunks.push(chunk);
      this.#queued += chunk.byteLength;
      if (this.#queued > NODE_HIGH_WATER) socket.pause();
      this.#notify();
    });
    socket.on("end", () => {
      this.#ended = true;
      this.#notify();
    });
    socket.on("error", (err: Error) => {
      this.#error = err;
      this.#notify();
    });
    socket.on("close", () => {
      this.#ended = true;
      this.#notify();
    });
  }

  async read(into: Uint8Array): Promise<number | null> {
    while (this.#chunks.length === 0) {
      if (this.#error) throw this.#error;
      if (this.#ended) return null;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    let n = 0;
    while (n < into.byteLength && this.#chunks.length > 0) {
      const c = this.#chunks[0]!;
      const take = Math.min(c.byteLength, into.byteLength - n);
      into.set(c.subarray(0, take), n);
      n += take;
      if (take === c.byteLength) this.#chunks.shift();
      else this.#chunks[0] = c.subarray(take);
    }
    this.#queued -= n;
    if (this.#queued <= NODE_HIGH_WATER / 2 && this.#socket.isPaused()) this.#socket.resume();
    return n;
  }

  write(bytes: Uint8Array): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      if (this.#socket.destroyed) return reject(new Error("socket closed"));
      this.#socket.write(
        bytes,
        (err?: Error | null) => err ? reject(err) : resolve(bytes.byteLength),
      );
    });
  }

  close(): void {
    this.#socket.destroy();
    this.#ended = true;
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }
}
