/**
 * The bot's HTTP server (`listenHttp`) in front of a handler that reads each request's body
 * with the bot's reader and answers with what `render` makes of it: for tests of the server's
 * reading over raw sockets.
 *
 * @module
 */
import { type HttpServer, listenHttp } from "../../src/ingest/http_server.ts";
import { readBodyLimited } from "../../src/ingest/read_body.ts";

/** Runs `fn` with a listening echo server (5 s head and idle limits), then closes it. */
export async function withEchoServer(
  render: (req: Request, body: string) => string,
  fn: (server: HttpServer) => Promise<void>,
): Promise<void> {
  const server = await listenHttp({
    hostname: "127.0.0.1",
    port: 0,
    headersTimeoutMs: 5_000,
    idleTimeoutMs: 5_000,
    handler: async (req) => {
      const body = new TextDecoder().decode(await readBodyLimited(req, 1024 * 1024));
      return new Response(render(req, body));
    },
  });
  try {
    await fn(server);
  } finally {
    server.closeAll();
    await server.shutdown();
  }
}
