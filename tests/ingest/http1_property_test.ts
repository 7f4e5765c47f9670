// Properties of the server's HTTP/1.1 reading over a real socket: however a client's bytes are
// split into writes, the same requests are read (pipelined, Content-Length or chunked), and
// garbage on one connection never takes the server down.
import assert from "node:assert/strict";
import fc from "fast-check";
import type { HttpServer } from "../../src/ingest/http_server.ts";
import { withEchoServer } from "../support/echo_server.ts";
import { RawHttp } from "../support/raw_http.ts";

function withEcho(fn: (server: HttpServer) => Promise<void>): Promise<void> {
  return withEchoServer(
    (req, body) => `${new URL(req.url).pathname}|${req.headers.get("x-n")}|${body}`,
    fn,
  );
}

const text = fc.string({ unit: "grapheme-ascii", maxLength: 300 });

/** A request on the wire and the answer the echo handler gives it. */
const request = fc.record({
  path: fc.stringMatching(/^\/[a-z0-9]{0,12}$/),
  n: fc.nat(999),
  body: text,
  chunked: fc.boolean(),
  chunkSize: fc.integer({ min: 1, max: 64 }),
}).map(({ path, n, body, chunked, chunkSize }) => {
  const bytes = new TextEncoder().encode(body);
  let wire = `POST ${path} HTTP/1.1\r\nHost: x\r\nX-N: ${n}\r\n`;
  if (chunked) {
    wire += "Transfer-Encoding: chunked\r\n\r\n";
    for (let i = 0; i < body.length; i += chunkSize) {
      const part = body.slice(i, i + chunkSize);
      wire += `${part.length.toString(16)};ext=${n}\r\n${part}\r\n`;
    }
    wire += "0\r\nX-Trailer: t\r\n\r\n";
  } else wire += `Content-Length: ${bytes.byteLength}\r\n\r\n${body}`;
  return { wire, expected: `${path}|${n}|${body}` };
});

Deno.test("pipelined requests split into writes at random points are each read the same", async () => {
  await withEcho(async (server) => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(request, { minLength: 1, maxLength: 4 }),
        fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 20 }),
        async (requests, cuts) => {
          const wire = new TextEncoder().encode(requests.map((r) => r.wire).join(""));
          const c = await RawHttp.connect(server.addr.port);
          try {
            let at = 0;
            for (let i = 0; at < wire.length; i++) {
              const size = cuts[i % cuts.length]!;
              await c.write(wire.subarray(at, at + size));
              at += size;
            }
            for (const r of requests) {
              const res = await c.response();
              assert.equal(res?.status, 200);
              assert.equal(res?.body, r.expected);
            }
          } finally {
            c.close();
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});

Deno.test("garbage on one connection never stops the server: the next client is served", async () => {
  await withEcho(async (server) => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ minLength: 1, maxLength: 600 }),
          // Near-misses: a valid start, then noise.
          fc.uint8Array({ maxLength: 200 }).map((noise) => {
            const start = new TextEncoder().encode("POST /x HTTP/1.1\r\nContent-Length: 3\r\n");
            const out = new Uint8Array(start.length + noise.length + 4);
            out.set(start);
            out.set(noise, start.length);
            out.set([13, 10, 13, 10], start.length + noise.length);
            return out;
          }),
        ),
        async (bytes) => {
          const c = await RawHttp.connect(server.addr.port);
          try {
            await c.write(bytes).catch(() => {});
            // Whatever it was, a well-formed request on a new connection is served.
            const ok = await RawHttp.connect(server.addr.port);
            try {
              await ok.write("GET /after HTTP/1.1\r\nHost: x\r\nX-N: 1\r\n\r\n");
              assert.equal((await ok.response())?.body, "/after|1|");
            } finally {
              ok.close();
            }
          } finally {
            c.close();
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});
