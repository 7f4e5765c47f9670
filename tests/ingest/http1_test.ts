// The server's HTTP/1.1 framing (src/http1/framing.ts) and what a real connection sees of it:
// strict where two parsers could disagree about where a request ends (request smuggling),
// lenient where RFC 9112 allows (bare LF, empty lines first, chunk extensions and trailers),
// pipelined requests, HTTP/1.0 clients, HEAD and 100-continue.
import assert from "node:assert/strict";
import { ChunkedDecoder, FramingError, parseHead } from "../../src/http1/mod.ts";
import { listenHttp } from "../../src/ingest/http_server.ts";
import { withEchoServer } from "../support/echo_server.ts";
import { RawHttp } from "../support/raw_http.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const head = (s: string) => parseHead(bytes(s));

function refused(text: string): string {
  try {
    head(text);
  } catch (e) {
    assert.ok(e instanceof FramingError);
    assert.equal(e.status, 400);
    return e.defect;
  }
  throw new Error(`accepted: ${JSON.stringify(text)}`);
}

Deno.test("a request head: method, target, headers by lower-case name, repeats joined", () => {
  const h = head(
    "POST /hook/x?a=1 HTTP/1.1\r\nHost: bot\r\nX-Tag: a\r\nx-tag: b\r\nContent-Length: 5\r\n\r\n",
  );
  assert.equal(h.method, "POST");
  assert.equal(h.target, "/hook/x?a=1");
  assert.equal(h.headers.get("x-tag"), "a, b");
  assert.equal(h.length, 5);
  assert.equal(h.keepAlive, true);
  // Bare LF line ends (RFC 9112 2.2 allows reading them).
  assert.equal(head("GET / HTTP/1.1\nHost: bot\n\n").headers.get("host"), "bot");
});

Deno.test("keep-alive follows the version and Connection; Expect: 100-continue is seen", () => {
  assert.equal(head("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").keepAlive, false);
  assert.equal(head("GET / HTTP/1.0\r\n\r\n").keepAlive, false);
  assert.equal(head("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keepAlive, true);
  assert.equal(
    head("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n")
      .expectContinue,
    true,
  );
});

Deno.test("framing that two parsers could read differently is refused (request smuggling)", () => {
  assert.equal(
    refused("POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"),
    "HPE_UNEXPECTED_CONTENT_LENGTH",
  );
  assert.equal(
    refused("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
    "HPE_INVALID_TRANSFER_ENCODING",
  );
  assert.equal(
    refused("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"),
    "HPE_INVALID_CONTENT_LENGTH",
  );
  assert.equal(
    refused("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"),
    "HPE_INVALID_CONTENT_LENGTH",
  );
  assert.equal(refused("GET / HTTP/1.1\r\nHost : x\r\n\r\n"), "HPE_INVALID_HEADER_TOKEN");
  assert.equal(refused("GET / HTTP/1.1\r\nX-A: 1\r\n folded\r\n\r\n"), "HPE_INVALID_HEADER_TOKEN");
  assert.equal(refused("GET / HTTP/1.1\r\nX-A: 1\r2\r\n\r\n"), "HPE_INVALID_HEADER_VALUE");
  assert.equal(refused("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), "HPE_DUPLICATE_HOST");
  assert.equal(refused("GET / HTTP/2.0\r\n\r\n"), "HPE_INVALID_VERSION");
  assert.equal(refused("GET  / HTTP/1.1\r\n\r\n"), "HPE_INVALID_REQUEST_LINE");
  // Repeated Content-Length fields that agree are one length.
  assert.equal(
    head("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n").length,
    5,
  );
  // RFC 9112 3.2: HTTP/1.1 needs Host; HTTP/1.0 does not.
  assert.equal(refused("GET / HTTP/1.1\r\nX-A: 1\r\n\r\n"), "HPE_MISSING_HOST");
});

Deno.test("a chunked body decodes the same fed whole or a byte at a time; what follows is left", () => {
  const wire = bytes("4;name=v\r\nWiki\r\n5\r\npedia\r\n0\r\nX-Trailer: t\r\n\r\nGET /next");
  for (const step of [wire.length, 1, 3]) {
    const d = new ChunkedDecoder();
    let text = "";
    let used = 0;
    for (let i = 0; i < wire.length && !d.done; i += step) {
      used += d.feed(wire, i, Math.min(wire.length, i + step), (v) => {
        text += new TextDecoder().decode(v);
      });
    }
    assert.equal(text, "Wikipedia", `step ${step}`);
    assert.equal(d.done, true);
    assert.equal(new TextDecoder().decode(wire.subarray(used)), "GET /next");
  }
});

Deno.test("malformed chunked framing names its defect", () => {
  const defect = (wire: string) => {
    try {
      new ChunkedDecoder().feed(bytes(wire), 0, wire.length, () => {});
    } catch (e) {
      assert.ok(e instanceof FramingError);
      return e.defect;
    }
    return "accepted";
  };
  assert.equal(defect("zz\r\nhello\r\n"), "HPE_INVALID_CHUNK_SIZE");
  assert.equal(defect("5\r\nhelloXX"), "HPE_LF_EXPECTED");
  assert.equal(defect(`5;${"x".repeat(17_000)}`), "HPE_CHUNK_EXTENSIONS_OVERFLOW");
  assert.equal(defect(`5;${"x".repeat(5_000)}\r\nhello\r\n0\r\n\r\n`), "accepted");
});

function withEcho(fn: (port: number) => Promise<void>): Promise<void> {
  return withEchoServer(
    (req, body) => `${req.method} ${new URL(req.url).pathname} ${body}`,
    (server) => fn(server.addr.port),
  );
}

Deno.test("pipelined requests in one write are answered in order on the same connection", async () => {
  await withEcho(async (port) => {
    const c = await RawHttp.connect(port);
    try {
      await c.write(
        "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\none" +
          "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\ntwo\r\n0\r\n\r\n" +
          "GET /c HTTP/1.1\r\nHost: x\r\n\r\n",
      );
      assert.equal((await c.response())?.body, "POST /a one");
      assert.equal((await c.response())?.body, "POST /b two");
      const last = await c.response();
      assert.equal(last?.body, "GET /c ");
      assert.equal(last?.headers.get("connection"), undefined);
    } finally {
      c.close();
    }
  });
});

Deno.test("Expect: 100-continue gets a 100 once the body is read, then the answer", async () => {
  await withEcho(async (port) => {
    const c = await RawHttp.connect(port);
    try {
      await c.write(
        "POST /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
      );
      assert.equal(await c.interim(), 100);
      await c.write("hello");
      assert.equal((await c.response())?.body, "POST /up hello");
    } finally {
      c.close();
    }
  });
});

Deno.test("HTTP/1.0: closed after the answer unless it asks for keep-alive; HEAD has no body", async () => {
  await withEcho(async (port) => {
    const old = await RawHttp.connect(port);
    const kept = await RawHttp.connect(port);
    try {
      await old.write("GET /old HTTP/1.0\r\n\r\n");
      const res = await old.response();
      assert.equal(res?.body, "GET /old ");
      assert.equal(res?.headers.get("connection"), "close");
      assert.ok(await old.closedByServer());

      await kept.write("GET /k HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
      assert.equal((await kept.response())?.headers.get("connection"), "keep-alive");
      // (Without keep-alive: the raw client reads a body up to Content-Length or EOF.)
      await kept.write("HEAD /k HTTP/1.0\r\n\r\n");
      const headRes = await kept.response();
      assert.equal(headRes?.status, 200);
      assert.equal(headRes?.body, "");
      assert.equal(headRes?.headers.get("content-length"), "8");
    } finally {
      old.close();
      kept.close();
    }
  });
});

Deno.test("a smuggling attempt is answered 400 and the connection closed before anything runs", async () => {
  let ran = 0;
  const server = await listenHttp({
    hostname: "127.0.0.1",
    port: 0,
    handler: () => {
      ran++;
      return new Response("ran");
    },
  });
  const c = await RawHttp.connect(server.addr.port);
  try {
    await c.write(
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n" +
        "0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    const res = await c.response();
    assert.equal(res?.status, 400);
    assert.equal(JSON.parse(res!.body).error, "invalid_request");
    assert.ok(await c.closedByServer());
    assert.equal(ran, 0);
  } finally {
    c.close();
    server.closeAll();
    await server.shutdown();
  }
});
