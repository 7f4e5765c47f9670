// HTTP to TrueConf (OAuth, uploads) honouring the TrueConf-only TLS settings.
//
// Three paths, because Deno's fetch cannot turn verification off per client:
// - default: plain fetch (system roots);
// - custom CA: fetch with Deno.createHttpClient({ caCerts }) — closed by close();
// - verification off: node:https with rejectUnauthorized:false, agent:false (no pooled
//   socket survives the request). Deno.createHttpClient has no verify-off switch and the
//   --unsafely-ignore-certificate-errors flag is process-wide (and baked into compiled
//   binaries), so node:https is the only per-connection way; measured working on Deno 2.9.6.
//   node:http(s) is loaded with the first request that needs it (that, and `send`'s uploads),
//   not at start: about 2 MiB and 10–20 ms (docs/benchmarks.md, "Memory and start", session 4).
import type http from "node:http";
import { TrueConfHttpError } from "./errors.ts";
import type { TrueConfEndpoint } from "./types.ts";
import { concatBytes } from "../bytes.ts";

export interface HttpResponse {
  status: number;
  text: string;
  /** The Content-Type header, lower-cased ("" when absent). */
  contentType: string;
}

export interface HttpRequest {
  method: "GET" | "POST";
  headers: Record<string, string>;
  /** A Blob for big bodies: fetch sends it without the copies it makes of an array. */
  body?: Uint8Array<ArrayBuffer> | Blob | undefined;
  timeoutMs: number;
  signal?: AbortSignal;
}

/** One HTTP transport per client; `close()` frees the custom-CA HttpClient. */
export class HttpTransport {
  #tls: Pick<TrueConfEndpoint, "verifyTls" | "caPem">;
  #client: Deno.HttpClient | null = null;

  constructor(tls: Pick<TrueConfEndpoint, "verifyTls" | "caPem">) {
    this.#tls = tls;
  }

  async request(url: string, req: HttpRequest): Promise<HttpResponse> {
    const u = new URL(url);
    if (u.protocol === "https:" && !this.#tls.verifyTls) {
      // node:https writes bytes, not Blobs.
      const body = req.body instanceof Blob
        ? new Uint8Array(await req.body.arrayBuffer())
        : req.body;
      return await nodeRequest(u, { ...req, chunks: body ? [body] : [] }, {
        rejectUnauthorized: false,
      });
    }
    if (u.protocol === "https:" && this.#tls.caPem && !this.#client) {
      this.#client = Deno.createHttpClient({ caCerts: [this.#tls.caPem] });
    }
    return await fetchRequest(u, req, this.#client ?? undefined);
  }

  /**
   * Sends a large body given as pieces, with its real `Content-Length`, through node:http(s):
   * each piece is written as 64 KiB views with backpressure, so nothing is joined or copied
   * in JavaScript (fetch sends a stream chunked, and copies an array or Blob body first).
   * Honours the same TLS settings as {@link request}. Owned by edge for the upload path
   * (issue 16: a 25 MB upload cost +103 MiB with a Blob through fetch).
   */
  async send(
    url: string,
    req: Omit<HttpRequest, "body"> & { chunks: readonly Uint8Array[] },
  ): Promise<HttpResponse> {
    const u = new URL(url);
    return await nodeRequest(u, req, {
      rejectUnauthorized: this.#tls.verifyTls,
      ...(this.#tls.caPem ? { ca: this.#tls.caPem } : {}),
    });
  }

  close(): void {
    this.#client?.close();
    this.#client = null;
  }
}

/** Bytes handed to the socket per write(): views of the caller's bytes, never copies. */
const WRITE_BYTES = 64 * 1024;

function deadline(req: HttpRequest): { signal: AbortSignal; done: () => void } {
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
 * The innermost useful text of an error: Deno's fetch says only "fetch failed" and keeps the
 * reason in `err.cause` ("error sending request for url (…): client error (Connect): tcp
 * connect error: Connection refused (os error 111)"); the URL prefix is dropped (the caller
 * names the URL).
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
  const inner = texts.filter((t) => t && t !== "fetch failed").at(-1) ?? texts[0] ??
    "unknown error";
  return inner.replace(
    /^error sending request (?:for url \([^)]*\)|from \S+ for \S+ \([^)]*\)): /,
    "",
  )
    .replace(/^client error \((?:Connect|SendRequest)\): /, "");
}

/**
 * Turns a low-level network error text into the cause plus what to change, one line. One
 * classifier for every path to TrueConf: HTTP through fetch or node:https and the WebSocket
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

async function fetchRequest(
  url: URL,
  req: HttpRequest,
  client?: Deno.HttpClient,
): Promise<HttpResponse> {
  const d = deadline(req);
  try {
    const res = await fetch(url, {
      method: req.method,
      headers: req.headers,
      body: req.body ?? null,
      signal: d.signal,
      redirect: "manual",
      ...(client ? { client } : {}),
    });
    return {
      status: res.status,
      text: await res.text(),
      contentType: res.headers.get("content-type")?.toLowerCase() ?? "",
    };
  } catch (err) {
    throw networkError(url, err, d.signal, client !== undefined);
  } finally {
    d.done();
  }
}

let nodeClients: Promise<[typeof import("node:http"), typeof import("node:https")]> | undefined;

/** node:http and node:https, loaded once (see {@link warmUpUploads}). */
function loadNodeClients(): Promise<[typeof import("node:http"), typeof import("node:https")]> {
  return nodeClients ??= Promise.all([import("node:http"), import("node:https")]).catch((e) => {
    nodeClients = undefined; // a failed load is tried again by the next request
    throw e;
  });
}

/**
 * Loads the HTTP client that uploads files to TrueConf, off the start path: `serve` calls it
 * once the bot is ready. Loaded by the first upload instead, its ~4 MiB counted in that upload's
 * peak (a fresh bot's 25 MB upload: +38.8–39.7 MiB above idle, against +34.3–34.9 warmed;
 * `bench/edge_memory.ts upload`, docs/benchmarks.md), and at start it cost start-up time.
 */
export function warmUpUploads(): void {
  loadNodeClients().catch(() => {/* the first upload retries and reports it */});
}

async function nodeRequest(
  url: URL,
  req: Omit<HttpRequest, "body"> & { chunks: readonly Uint8Array[] },
  tls: { rejectUnauthorized: boolean; ca?: string },
): Promise<HttpResponse> {
  const [http, https] = await loadNodeClients();
  const d = deadline(req);
  const secure = url.protocol === "https:";
  return await new Promise<HttpResponse>((resolve, reject) => {
    const headers: Record<string, string> = { ...req.headers };
    const length = req.chunks.reduce((n, c) => n + c.byteLength, 0);
    if (req.method !== "GET" || length > 0) headers["content-length"] = String(length);
    const options = {
      hostname: url.hostname.replace(/^\[|\]$/g, ""),
      port: url.port || (secure ? 443 : 80),
      path: url.pathname + url.search,
      method: req.method,
      headers,
      agent: false as const,
    };
    const onResponse = (res: http.IncomingMessage) => {
      const chunks: Uint8Array[] = [];
      res.on("data", (c: Uint8Array) => chunks.push(c));
      res.on("end", () => {
        d.done();
        resolve({
          status: res.statusCode ?? 0,
          text: new TextDecoder().decode(concatBytes(chunks)),
          contentType: String(res.headers["content-type"] ?? "").toLowerCase(),
        });
      });
      res.on("error", (err) => {
        d.done();
        reject(networkError(url, err, d.signal, tls.ca !== undefined));
      });
    };
    const r = secure
      ? https.request({ ...options, ...tls }, onResponse)
      : http.request(options, onResponse);
    const onAbort = () => r.destroy(d.signal.reason as Error);
    d.signal.addEventListener("abort", onAbort, { once: true });
    // Aborted already (before the call, or while node:http loaded): no listener would fire.
    if (d.signal.aborted) onAbort();
    r.on("error", (err) => {
      d.done();
      reject(networkError(url, err, d.signal, tls.ca !== undefined));
    });
    r.on("close", () => d.signal.removeEventListener("abort", onAbort));
    void writeAll(r, req.chunks).then(() => r.end(), () => {/* reported by "error" */});
  });
}

/** Writes the pieces as 64 KiB views, waiting for "drain" whenever the socket is full. */
async function writeAll(r: http.ClientRequest, chunks: readonly Uint8Array[]): Promise<void> {
  for (const chunk of chunks) {
    for (let at = 0; at < chunk.byteLength; at += WRITE_BYTES) {
      if (r.destroyed) throw new Error("request closed");
      const view = chunk.subarray(at, Math.min(at + WRITE_BYTES, chunk.byteLength));
      if (!r.write(view)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            r.off("drain", done);
            r.off("close", done);
            resolve();
          };
          r.on("drain", done);
          r.on("close", done);
        });
      }
    }
  }
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
