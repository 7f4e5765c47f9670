/**
 * A raw HTTP/1.1 client over TCP for the slow, malformed and abandoned requests a real HTTP
 * client will not send: write any bytes, stop half-way, read whatever the server answers.
 *
 * @module
 */

/** A parsed HTTP response as read off the socket. */
export interface RawResponse {
  readonly status: number;
  /** Header names lower-cased. */
  readonly headers: ReadonlyMap<string, string>;
  readonly body: string;
}

const encoder = new TextEncoder();

/** One TCP connection to a local server. */
export class RawHttp {
  readonly #conn: Deno.TcpConn;
  #buffered = new Uint8Array(0);
  #eof = false;
  #closed = false;

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }

  /** Connects to 127.0.0.1:`port`. */
  static async connect(port: number): Promise<RawHttp> {
    return new RawHttp(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  /** Writes text (or bytes) as is. */
  async write(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    let off = 0;
    while (off < bytes.length) off += await this.#conn.write(bytes.subarray(off));
  }

  /**
   * Reads an interim `1xx` head (e.g. `100 Continue`, sent once the server starts reading a
   * body that was announced with `Expect: 100-continue`); resolves its status, or null at EOF.
   */
  async interim(): Promise<number | null> {
    let headEnd: number;
    while ((headEnd = indexOf(this.#buffered, "\r\n\r\n")) < 0) {
      if (!(await this.#fill())) return null;
    }
    const line = new TextDecoder().decode(this.#buffered.subarray(0, headEnd)).split("\r\n")[0];
    this.#buffered = this.#buffered.slice(headEnd + 4);
    return Number(line?.split(" ")[1]);
  }

  /**
   * Reads one response: the head, then a Content-Length body or, without one, everything up
   * to EOF. Resolves null when the server closes the connection without answering.
   */
  async response(): Promise<RawResponse | null> {
    let headEnd: number;
    while ((headEnd = indexOf(this.#buffered, "\r\n\r\n")) < 0) {
      if (!(await this.#fill())) return null;
    }
    const head = new TextDecoder().decode(this.#buffered.subarray(0, headEnd));
    const [statusLine = "", ...lines] = head.split("\r\n");
    const headers = new Map<string, string>();
    for (const line of lines) {
      const colon = line.indexOf(":");
      if (colon > 0) {
        headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
    }
    const length = headers.has("content-length") ? Number(headers.get("content-length")) : -1;
    const start = headEnd + 4;
    while (length >= 0 ? this.#buffered.length - start < length : !this.#eof) {
      if (!(await this.#fill())) break;
    }
    const end = length >= 0 ? start + length : this.#buffered.length;
    const body = new TextDecoder().decode(this.#buffered.subarray(start, end));
    this.#buffered = this.#buffered.slice(end);
    return { status: Number(statusLine.split(" ")[1]), headers, body };
  }

  /** Resolves true once the server has closed the connection (EOF or reset). */
  async closedByServer(): Promise<boolean> {
    while (await this.#fill());
    return true;
  }

  /** Ends our writing (a half-close: the client sent all it will, and still reads). */
  async closeWrite(): Promise<void> {
    await this.#conn.closeWrite();
  }

  /** Closes our side. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }

  async #fill(): Promise<boolean> {
    if (this.#eof) return false;
    const chunk = new Uint8Array(16 * 1024);
    let n: number | null;
    try {
      n = await this.#conn.read(chunk);
    } catch {
      n = null; // reset by the server
    }
    if (n === null) {
      this.#eof = true;
      return false;
    }
    const next = new Uint8Array(this.#buffered.length + n);
    next.set(this.#buffered);
    next.set(chunk.subarray(0, n), this.#buffered.length);
    this.#buffered = next;
    return true;
  }
}

function indexOf(bytes: Uint8Array, text: string): number {
  const needle = encoder.encode(text);
  outer: for (let i = 0; i + needle.length <= bytes.length; i++) {
    for (let j = 0; j < needle.length; j++) if (bytes[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
