/**
 * Test helpers for src/net/: a loopback HTTP server that records what it sees, and fake
 * resolvers that count their calls.
 *
 * @module
 */

/** What the test server saw of one request. */
export interface SeenRequest {
  path: string;
  host: string | null;
  headers: Headers;
}

/** A Deno.serve on 127.0.0.1 with a random port; dispose with `await using`. */
export interface TestServer extends AsyncDisposable {
  readonly port: number;
  readonly requests: SeenRequest[];
}

/** Starts a server on 127.0.0.1 only (tests must never contact another address). */
export function startServer(
  handler: (req: Request, seen: SeenRequest) => Response | Promise<Response>,
): TestServer {
  const requests: SeenRequest[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const url = new URL(req.url);
    const seen = {
      path: url.pathname + url.search,
      host: req.headers.get("host"),
      headers: req.headers,
    };
    requests.push(seen);
    return handler(req, seen);
  });
  return {
    port: server.addr.port,
    requests,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

/** A resolver answering from a table, counting calls per name. */
export function tableResolver(
  table: Record<string, string[] | ((call: number) => string[])>,
): { resolve: (host: string) => Promise<string[]>; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const resolve = (host: string) => {
    const n = (calls.get(host) ?? 0) + 1;
    calls.set(host, n);
    const entry = table[host];
    if (entry === undefined) {
      return Promise.reject(new Deno.errors.NotFound(`no such host ${host}`));
    }
    return Promise.resolve(typeof entry === "function" ? entry(n) : entry);
  };
  return { resolve, calls };
}

/** The 8-byte PNG signature followed by padding: enough for the sniffer. */
export const PNG_BYTES = new Uint8Array([
  0x89,
  0x50,
  0x4e,
  0x47,
  0x0d,
  0x0a,
  0x1a,
  0x0a,
  0,
  0,
  0,
  13,
]);

/**
 * A raw TCP server on 127.0.0.1 that accepts connections, reads what the client sends and
 * never answers. `closed` resolves when the first client has closed its connection.
 */
export function startSilentServer(): AsyncDisposable & { port: number; closed: Promise<void> } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { promise: closed, resolve } = Promise.withResolvers<void>();
  const conns: Deno.Conn[] = [];
  const serving = (async () => {
    for await (const conn of listener) {
      conns.push(conn);
      (async () => {
        const buf = new Uint8Array(4096);
        try {
          while ((await conn.read(buf)) !== null) { /* swallow the request */ }
        } catch { /* reset by the client */ }
        resolve();
      })();
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    closed,
    [Symbol.asyncDispose]: async () => {
      listener.close();
      await serving.catch(() => {});
      for (const conn of conns) {
        try {
          conn.close();
        } catch { /* already closed */ }
      }
    },
  };
}
