// HTTP to TrueConf (OAuth, the server's version, uploads) honouring the TrueConf-only TLS
// settings: HTTP/1.1 on the stream the WebSocket uses (_http1_client.ts says why not fetch or
// node:http, and when a connection is kept for the next upload). The TLS settings are the
// stream's: default roots, a custom CA, or verification off (node:tls, loaded then).
import { TrueConfHttpError } from "./errors.ts";
import type { TrueConfEndpoint } from "./types.ts";
import { http1Request, IdleStreams } from "./_http1_client.ts";

export interface HttpResponse {
  status: number;
  text: string;
  /** The Content-Type header, lower-cased ("" when absent). */
  contentType: string;
}

export interface HttpRequest {
  method: "GET" | "POST";
  headers: Record<string, string>;
  body?: Uint8Array | undefined;
  timeoutMs: number;
  signal?: AbortSignal;
  /**
   * Leave the connection open for the next request of this transport (uploads); without it
   * the request asks once and closes (the token, the version).
   */
  keepAlive?: boolean;
}

/** The largest answer read from TrueConf: its JSON answers are small, an error page too. */
const MAX_ANSWER_BYTES = 1024 * 1024;

/** One HTTP transport per client, with its TLS settings and its idle upload connections. */
export class HttpTransport {
  #tls: Pick<TrueConfEndpoint, "verifyTls" | "caPem">;
  readonly #idle: IdleStreams;

  constructor(tls: Pick<TrueConfEndpoint, "verifyTls" | "caPem">, idle = new IdleStreams()) {
    this.#tls = tls;
    this.#idle = idle;
  }

  /** Connections kept open for the next upload right now. */
  get idleConnections(): number {
    return this.#idle.size;
  }

  /** Closes the connections kept for reuse; requests after this close theirs when done. */
  close(): void {
    this.#idle.close();
  }

  async request(url: string, req: HttpRequest): Promise<HttpResponse> {
    return await this.send(url, { ...req, chunks: req.body ? [req.body] : [] });
  }

  /**
   * Sends a large body given as pieces, with its real `Content-Length`: each piece is written
   * as 1 MiB views, so nothing is joined or copied in JavaScript (issue 16: a 25 MB upload
   * cost +103 MiB with a Blob through fetch).
   */
  async send(
    url: string,
    req: Omit<HttpRequest, "body"> & { chunks: readonly Uint8Array[] },
  ): Promise<HttpResponse> {
    const u = new URL(url);
    const d = deadline(req);
    try {
      const res = await http1Request(u, {
        method: req.method,
        headers: req.headers,
        chunks: req.chunks,
        verifyTls: this.#tls.verifyTls,
        caPem: this.#tls.caPem,
        signal: d.signal,
        maxBytes: MAX_ANSWER_BYTES,
      }, req.keepAlive ? this.#idle : undefined);
      return {
        status: res.status,
        text: new TextDecoder().decode(res.body),
        contentType: res.headers.get("content-type")?.toLowerCase() ?? "",
      };
    } catch (err) {
      throw networkError(u, err, d.signal, this.#tls.caPem !== undefined);
    } finally {
      d.done();
    }
  }
}

function deadline(
  req: Pick<HttpRequest, "timeoutMs" | "signal">,
): { signal: AbortSignal; done: () => void } {
  const ac = new AbortController();
  const timer = setTimeout(
    () => ac.abort(new Error(`timed out after ${req.timeoutMs} ms`)),
    req.timeoutMs,
  );
  const onAbort = () => ac.abort(req.signal?.reason ?? new Error("aborted"));
  req.signal?.addEventListener("abort", onAbort, { once: true });
  if (req.signal?.aborted) onAbort();
  return {
    signal: ac.signal,
    done: () => {
      clearTimeout(timer);
      req.signal?.removeEventListener("abort", onAbort);
    },
  };
}

function networkError(
  url: URL,
  err: unknown,
  signal: AbortSignal,
  caConfigured: boolean,
): TrueConfHttpError {
  const why = signal.aborted
    ? String((signal.reason as Error)?.message ?? signal.reason)
    : causeText(err);
  return new TrueConfHttpError(
    `${url.origin}${url.pathname}: ${explainNetworkError(why, url, { caConfigured })}`,
    null,
  );
}

/**
 * The innermost text of an error and its causes (node:tls keeps the reason in `err.cause`).
 */
function causeText(err: unknown): string {
  const texts: string[] = [];
  for (
    let e: unknown = err, depth = 0;
    e && depth < 5;
    e = (e as { cause?: unknown }).cause, depth++
  ) {
    texts.push(e instanceof Error ? e.message : String(e));
  }
  return texts.filter(Boolean).at(-1) ?? "unknown error";
}

/**
 * Turns a low-level network error text into the cause plus what to change, one line. One
 * classifier for every path to TrueConf: its HTTP requests and the WebSocket
 * (`check-config`'s websocket step passes the socket's close reason).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const url = new URL("https://tc.example.com:443/");
 * assert.match(
 *   explainNetworkError("invalid peer certificate: UnknownIssuer", url),
 *   /TRUECONF_CA_FILE, or set TRUECONF_VERIFY_SSL=false$/,
 * );
 * ```
 */
export function explainNetworkError(
  why: string,
  url: URL,
  hints: { caConfigured?: boolean } = {},
): string {
  const tls = url.protocol === "https:" || url.protocol === "wss:";
  const port = url.port || (tls ? "443" : "80");
  const fix = (cause: string, what: string) => `${cause} — ${what}`;
  if (/connection refused|ECONNREFUSED/i.test(why)) {
    return fix(
      why,
      `nothing accepts connections on ${url.hostname} port ${port}: check TRUECONF_WEB_PORT (TrueConf's web port: 443 for HTTPS, 4309 for the Bridge over plain HTTP) and that TrueConf Server runs`,
    );
  }
  if (
    /dns error|failed to lookup|Name or service not known|ENOTFOUND|EAI_AGAIN|No address associated/i
      .test(why)
  ) {
    return fix(
      why,
      `the host name ${url.hostname} does not resolve: check TRUECONF_SERVER (and this machine's DNS)`,
    );
  }
  if (/InvalidContentType|wrong version number|packet length too long|http request/i.test(why)) {
    return fix(
      why,
      `port ${port} answered plain HTTP where TLS was expected: set TRUECONF_HTTPS=false for a plain-HTTP port, or set TRUECONF_WEB_PORT to TrueConf's HTTPS port (443)`,
    );
  }
  if (/invalid HTTP version|HPE_INVALID|Parse Error|invalid status line/i.test(why) && !tls) {
    return fix(
      why,
      `port ${port} speaks TLS but TRUECONF_HTTPS=false: set TRUECONF_HTTPS=true, or use a plain-HTTP port (4309 for the Bridge)`,
    );
  }
  if (/NotValidForName|not valid for name|altnames|Hostname\/IP does not match/i.test(why)) {
    return fix(
      why,
      `the certificate does not name ${url.hostname}: set TRUECONF_SERVER to a name the certificate carries, or TRUECONF_VERIFY_SSL=false`,
    );
  }
  if (/Expired|certificate has expired/i.test(why)) {
    return fix(
      why,
      "TrueConf's certificate has expired: renew it on the server (or TRUECONF_VERIFY_SSL=false meanwhile)",
    );
  }
  if (
    /UnknownIssuer|self[- ]signed|unable to (?:get|verify)|certificate|BadSignature|CaUsedAsEndEntity/i
      .test(why)
  ) {
    return fix(
      why,
      hints.caConfigured
        ? "TrueConf's TLS certificate is not signed by the CA in TRUECONF_CA_FILE: give the CA that issued it (the root, or the intermediate), or set TRUECONF_VERIFY_SSL=false"
        : "TrueConf's TLS certificate is not trusted: put the CA that signed it (PEM) in TRUECONF_CA_FILE, or set TRUECONF_VERIFY_SSL=false",
    );
  }
  if (/ECONNRESET|connection reset|Connection reset/i.test(why)) {
    return fix(
      why,
      `${url.hostname} port ${port} closed the connection: is that TrueConf's web port, and is TRUECONF_HTTPS right for it?`,
    );
  }
  if (/timed out|timeout|ETIMEDOUT/i.test(why)) {
    return fix(
      why,
      `no answer from ${url.hostname} port ${port}: a firewall dropping packets, or the wrong host or port`,
    );
  }
  return why;
}

/**
 * A response body in one line for an error message: an HTML page (a proxy's or another web
 * server's) by its title, anything else by its first 200 characters with blanks collapsed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const page = "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>…</html>";
 * assert.equal(bodySummary({ status: 502, text: page, contentType: "text/html" }), 'an HTML page "502 Bad Gateway"');
 * ```
 */
export function bodySummary(res: HttpResponse): string {
  const text = res.text.trim();
  if (res.contentType.includes("html") || /^<(?:!doctype|html|head|body)\b/i.test(text)) {
    const title = /<title[^>]*>([^<]*)<\/title>/i.exec(text)?.[1]?.replace(/\s+/g, " ").trim();
    return title ? `an HTML page "${title}"` : "an HTML page";
  }
  const flat = text.replace(/\s+/g, " ");
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat;
}
