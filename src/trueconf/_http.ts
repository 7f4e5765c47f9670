// HTTP to TrueConf (OAuth, uploads) honouring the TrueConf-only TLS settings.
//
// Three paths, because Deno's fetch cannot turn verification off per client:
// - default: plain fetch (system roots);
// - custom CA: fetch with Deno.createHttpClient({ caCerts }) — closed by close();
// - verification off: node:https with rejectUnauthorized:false, agent:false (no pooled
//   socket survives the request). Deno.createHttpClient has no verify-off switch and the
//   --unsafely-ignore-certificate-errors flag is process-wide (and baked into compiled
//   binaries), so node:https is the only per-connection way; measured working on Deno 2.9.6.
import https from "node:https";
import { TrueConfHttpError } from "./errors.ts";
import type { TrueConfEndpoint } from "./types.ts";
import { concatBytes } from "../bytes.ts";

export interface HttpResponse {
  status: number;
  text: string;
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
      return await nodeRequest(u, { ...req, body });
    }
    if (u.protocol === "https:" && this.#tls.caPem && !this.#client) {
      this.#client = Deno.createHttpClient({ caCerts: [this.#tls.caPem] });
    }
    return await fetchRequest(u, req, this.#client ?? undefined);
  }

  close(): void {
    this.#client?.close();
    this.#client = null;
  }
}

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

function networkError(url: URL, err: unknown, signal: AbortSignal): TrueConfHttpError {
  const why = signal.aborted
    ? String((signal.reason as Error)?.message ?? signal.reason)
    : String((err as Error)?.message ?? err);
  return new TrueConfHttpError(`${url.origin}${url.pathname}: ${why}`, null);
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
    return { status: res.status, text: await res.text() };
  } catch (err) {
    throw networkError(url, err, d.signal);
  } finally {
    d.done();
  }
}

function nodeRequest(
  url: URL,
  req: HttpRequest & { body?: Uint8Array<ArrayBuffer> | undefined },
): Promise<HttpResponse> {
  const d = deadline(req);
  return new Promise<HttpResponse>((resolve, reject) => {
    const headers: Record<string, string> = { ...req.headers };
    if (req.body) headers["content-length"] = String(req.body.byteLength);
    const r = https.request(
      {
        hostname: url.hostname.replace(/^\[|\]$/g, ""),
        port: url.port || 443,
        path: url.pathname + url.search,
        method: req.method,
        headers,
        rejectUnauthorized: false,
        agent: false,
      },
      (res) => {
        const chunks: Uint8Array[] = [];
        res.on("data", (c: Uint8Array) => chunks.push(c));
        res.on("end", () => {
          d.done();
          resolve({
            status: res.statusCode ?? 0,
            text: new TextDecoder().decode(concatBytes(chunks)),
          });
        });
        res.on("error", (err) => {
          d.done();
          reject(networkError(url, err, d.signal));
        });
      },
    );
    const onAbort = () => r.destroy(d.signal.reason as Error);
    d.signal.addEventListener("abort", onAbort, { once: true });
    r.on("error", (err) => {
      d.done();
      reject(networkError(url, err, d.signal));
    });
    r.on("close", () => d.signal.removeEventListener("abort", onAbort));
    r.end(req.body);
  });
}
