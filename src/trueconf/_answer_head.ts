// The head of an HTTP/1.1 answer from TrueConf, read by both of the bot's own clients: the
// WebSocket handshake (_ws_handshake.ts) and the HTTP requests (_http1_client.ts: OAuth, the
// server's version, uploads). One reading, so both fail with the same texts, which
// explainNetworkError (src/trueconf/_http.ts) turns into what the operator should set.

const HTTP = new TextEncoder().encode("HTTP/");

/**
 * The largest answer head either client reads: a server sending more is not TrueConf (nor a
 * WebSocket endpoint).
 */
export const MAX_ANSWER_HEAD_BYTES = 16 * 1024;

/**
 * Throws as soon as the first bytes of an answer cannot be HTTP, rather than waiting for a
 * blank line that never comes: a TLS port reached over plain HTTP or `ws://` answers with a
 * TLS alert and closes. The text says "invalid status line", which explainNetworkError turns
 * into "speaks TLS but TRUECONF_HTTPS=false", as node's HTTP parser error did. `ended`: no
 * more bytes will come, so a short start is judged too.
 */
export function refuseNonHttp(first: Uint8Array, ended: boolean, what: string): void {
  const n = Math.min(first.byteLength, HTTP.byteLength);
  if (
    (n === HTTP.byteLength || (ended && n > 0)) &&
    first.subarray(0, n).some((b, i) => b !== HTTP[i])
  ) {
    const tls = first[0] === 0x15 || first[0] === 0x16;
    throw new Error(
      `invalid status line in the ${what} (${tls ? "a TLS record" : "not HTTP"}: ${
        [...first.subarray(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join(" ")
      })`,
    );
  }
}

/**
 * The status and headers of an answer's head (status line and header lines, CRLF or bare LF).
 * Header names are lower-cased; a repeated header's values are joined with ", ". `http11`: the
 * answer is HTTP/1.1 (an HTTP/1.0 answer ends its connection unless it says otherwise).
 */
export function parseAnswerHead(
  text: string,
  what: string,
): { status: number; headers: Map<string, string>; http11: boolean } {
  const [statusLine = "", ...lines] = text.split(/\r?\n/);
  const m = /^HTTP\/1\.([01]) (\d{3})(?: |$)/.exec(statusLine);
  if (!m) throw new Error(`invalid status line in the ${what}: ${statusLine.slice(0, 80)}`);
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value);
  }
  return { status: Number(m[2]), headers, http11: m[1] === "1" };
}
