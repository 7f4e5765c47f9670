/**
 * One HTTP(S) request whose socket goes to an address chosen by the caller (the one the
 * SSRF guard checked), never to a second DNS answer. The Host header, TLS SNI and
 * certificate check keep using the URL's host name.
 *
 * @module
 */

import type { IncomingMessage } from "node:http";
import { SafeFetchError, tooLarge } from "./safe_fetch_error.ts";
import { type IpAddress, parseAddress } from "./_host.ts";

/** Where to connect and what to ask for. */
export interface PinnedTarget {
  url: URL;
  /** The checked address, IPv4 dotted decimal or IPv6 without brackets. */
  address: string;
  family: 4 | 6;
}

/** Options of {@link pinnedRequest}. */
export interface PinnedRequestOptions {
  headers: Record<string, string>;
  connectTimeoutMs: number;
  /** Aborting destroys the request; the promise rejects with `signal.reason`. */
  signal: AbortSignal;
  /** Trusted CAs (PEM) instead of the default roots; tests use it for a local TLS server. */
  ca?: string[];
  /** Default `GET`. */
  method?: string;
  /** Request body (sent with a Content-Length). */
  body?: Uint8Array;
}

/**
 * node's HTTP clients, loaded with the first attachment download or outgoing call: a bot that
 * makes neither does without them (about 2 MiB and 10–20 ms of start; docs/benchmarks.md,
 * "Memory and start", session 4).
 */
let nodeClients: Promise<[typeof import("node:http"), typeof import("node:https")]> | undefined;

/**
 * Sends a request (GET unless `options.method` says otherwise) to `target.url` over a socket opened to `target.address` and resolves with
 * the response once its headers arrive. The caller must consume or destroy the response.
 */
export async function pinnedRequest(
  target: PinnedTarget,
  options: PinnedRequestOptions,
): Promise<IncomingMessage> {
  const { url, address, family } = target;
  const { signal, connectTimeoutMs } = options;
  if (signal.aborted) throw signal.reason;
  const [http, https] = await (nodeClients ??= Promise.all([
    import("node:http"),
    import("node:https"),
  ]));
  if (signal.aborted) throw signal.reason;
  const secure = url.protocol === "https:";
  const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const isLiteral = parseAddress(hostname) !== null;

  return new Promise((resolve, reject) => {
    let settled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const settle = (error: unknown, response?: IncomingMessage) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      if (response) resolve(response);
      else reject(error);
    };

    const req = (secure ? https : http).request({
      // For a name, node resolves `host` through `lookup`, which only ever answers the
      // checked address; for a literal, connect to the checked (normalized) form directly.
      host: isLiteral ? address : hostname,
      port: url.port === "" ? (secure ? 443 : 80) : Number(url.port),
      path: `${url.pathname}${url.search}`,
      method: options.method ?? "GET",
      headers: options.body
        ? { ...options.headers, "Content-Length": String(options.body.byteLength) }
        : options.headers,
      // A fresh, non-keep-alive agent: no socket is shared between users' URLs and none
      // outlives the fetch.
      agent: false,
      ...(secure && !isLiteral ? { servername: hostname } : {}),
      ...(options.ca ? { ca: options.ca } : {}),
      lookup: ((_name: string, opts: { all?: boolean }, callback: LookupCallback) => {
        if (opts?.all) callback(null, [{ address, family }]);
        else callback(null, address, family);
      }) as never,
    });

    const onAbort = () => req.destroy(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });

    req.on("socket", (socket) => {
      if (!socket.connecting) return;
      const stop = () => clearTimeout(timer);
      timer = setTimeout(() => {
        req.destroy(
          new SafeFetchError(
            "timeout",
            `could not connect to ${url.host} (${address}) within ${connectTimeoutMs} ms`,
          ),
        );
      }, connectTimeoutMs);
      socket.once("connect", stop);
      socket.once("close", stop);
    });
    req.once("response", (res) => settle(null, res));
    // Kept for the request's whole life: a late socket error must not become uncaught.
    req.on("error", (err) => settle(toFetchError(err, url, address, signal)));
    if (options.body) req.end(options.body);
    else req.end();
  });
}

type LookupCallback = (
  err: Error | null,
  address: string | { address: string; family: number }[],
  family?: number,
) => void;

function toFetchError(err: unknown, url: URL, address: string, signal: AbortSignal): unknown {
  if (signal.aborted) return signal.reason;
  if (err instanceof SafeFetchError) return err;
  const code = (err as { code?: unknown })?.code;
  const text = `${typeof code === "string" ? code : ""} ${String(err)}`;
  // A certificate that fails verification will fail the same way next time.
  const tls = /cert|self.signed|unknownissuer|altname/i.test(text);
  const why = typeof code === "string" && code in SOCKET_ERRORS
    ? SOCKET_ERRORS[code]
    : (err instanceof Error ? err.message : String(err));
  // Node's HTTP parser (HPE_…): the connection was made, and what came back is not HTTP (a URL
  // pointed at an SSH or a TLS port): "could not connect" would send the reader the wrong way.
  const notHttp = typeof code === "string" && code.startsWith("HPE_");
  return new SafeFetchError(
    "connect_failed",
    tls
      ? `the TLS certificate of ${url.hostname} was not accepted: ${why}`
      : notHttp
      ? `${url.host} (${address}) answered something that is not HTTP (${why}): is it the right port and scheme?`
      : `could not connect to ${url.host} (${address}): ${why}`,
    { permanent: tls, cause: err },
  );
}

// The failed part and the creator's DM read these: words for the usual socket errors, not
// node's "Error: connect ECONNREFUSED 203.0.113.7:443" (the error itself stays as the cause).
const SOCKET_ERRORS: Readonly<Record<string, string>> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "the connection was reset",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ETIMEDOUT: "the connection timed out",
  EPIPE: "the connection was closed while sending",
};

// A few checked addresses are tried in turn when connecting fails (e.g. an AAAA answer on
// a host without IPv6); a long list must not multiply the connect timeout.
const MAX_CONNECT_ATTEMPTS = 3;

/**
 * {@link pinnedRequest} to the checked addresses in turn (at most three) until one answers
 * with response headers. Only a connection that never opened (a transient `connect_failed` or
 * `timeout`) moves on to the next address: the request was not sent, so nothing can arrive
 * twice. `onAttempt` hears each address before it is tried.
 */
export async function requestFirstReachable(
  url: URL,
  addresses: readonly IpAddress[],
  options: PinnedRequestOptions,
  onAttempt?: (address: string) => void,
): Promise<IncomingMessage> {
  let lastError: unknown;
  for (const address of addresses.slice(0, MAX_CONNECT_ATTEMPTS)) {
    const text = address.toString();
    onAttempt?.(text);
    try {
      return await pinnedRequest(
        { url, address: text, family: address.kind() === "ipv4" ? 4 : 6 },
        options,
      );
    } catch (error) {
      if (options.signal.aborted) throw options.signal.reason;
      const retryable = error instanceof SafeFetchError &&
        (error.code === "connect_failed" || error.code === "timeout") && !error.permanent;
      if (!retryable) throw error;
      lastError = error;
    }
  }
  throw lastError;
}

/**
 * Reads a response body, counting bytes as they stream; a declared `Content-Length` over
 * `maxBytes` is refused before reading, and beyond `maxBytes` it destroys the response
 * (closing the connection). Both reject with `too_large`, naming the body `what`.
 */
export function readBody(
  res: IncomingMessage,
  maxBytes: number,
  signal: AbortSignal,
  what = "the file",
): Promise<Uint8Array> {
  const declared = Number(res.headers["content-length"]);
  if (signal.aborted || (Number.isFinite(declared) && declared > maxBytes)) {
    res.destroy();
    return Promise.reject(signal.aborted ? signal.reason : tooLarge(what, declared, maxBytes));
  }
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    let total = 0;
    let settled = false;
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      res.destroy();
      reject(error);
    };
    const onAbort = () => fail(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });

    res.on("data", (chunk: Uint8Array) => {
      if (settled) return;
      total += chunk.byteLength;
      if (total > maxBytes) {
        fail(tooLarge(what, null, maxBytes));
        return;
      }
      chunks.push(chunk);
    });
    res.on("end", () => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      const bytes = new Uint8Array(total);
      let at = 0;
      for (const chunk of chunks) {
        bytes.set(chunk, at);
        at += chunk.byteLength;
      }
      resolve(bytes);
    });
    res.on("error", (err) => {
      fail(
        new SafeFetchError("connect_failed", `the connection broke while downloading: ${err}`, {
          cause: err,
        }),
      );
    });
    res.on("close", () => {
      fail(
        new SafeFetchError("connect_failed", "the connection closed before the file was complete"),
      );
    });
  });
}
