// The HTTP requests to TrueConf (OAuth, the server's version, uploads) are written on the
// socket by the bot itself (src/trueconf/_http1_client.ts): what goes out, and every way an
// HTTP/1.1 answer can be framed, against a loopback server that answers raw bytes.
import assert from "node:assert/strict";
import { HttpTransport } from "../../src/trueconf/_http.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * A server that reads one request (head and Content-Length body), hands it to the test, and
 * writes `answer`'s pieces one by one, then closes.
 */
async function withServer(
  answer: (string | Uint8Array)[],
  run: (url: string, request: Promise<{ head: string; body: Uint8Array }>) => Promise<void>,
): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const request = Promise.withResolvers<{ head: string; body: Uint8Array }>();
  const serving = (async () => {
    const conn = await listener.accept();
    try {
      let bytes = new Uint8Array(0);
      const buf = new Uint8Array(64 * 1024);
      let headEnd = -1;
      let length = 0;
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        const joined = new Uint8Array(bytes.byteLength + n);
        joined.set(bytes);
        joined.set(buf.subarray(0, n), bytes.byteLength);
        bytes = joined;
        if (headEnd < 0) {
          const at = dec.decode(bytes).indexOf("\r\n\r\n");
          if (at < 0) continue;
          headEnd = at + 4;
          length = Number(
            /content-length: (\d+)/i.exec(dec.decode(bytes.subarray(0, at)))?.[1] ?? 0,
          );
        }
        if (bytes.byteLength >= headEnd + length) break;
      }
      request.resolve({
        head: dec.decode(bytes.subarray(0, headEnd)),
        body: bytes.subarray(headEnd),
      });
      for (const piece of answer) {
        const b = typeof piece === "string" ? enc.encode(piece) : piece;
        for (let at = 0; at < b.byteLength;) at += await conn.write(b.subarray(at));
      }
    } finally {
      conn.close();
    }
  })();
  try {
    await run(`http://127.0.0.1:${listener.addr.port}`, request.promise);
  } finally {
    listener.close();
    await serving.catch(() => {});
  }
}

const transport = () => new HttpTransport({ verifyTls: true });

Deno.test("an upload leaves as one request with its real Content-Length and every byte of its pieces", async () => {
  const pieces = [
    enc.encode("--b\r\n"),
    new Uint8Array(3 * 1024 * 1024).fill(7),
    enc.encode("--b--"),
  ];
  const total = pieces.reduce((n, p) => n + p.byteLength, 0);
  await withServer(
    ['HTTP/1.1 200 OK\r\nContent-Type: Application/JSON\r\nContent-Length: 23\r\n\r\n{"temporalFileId":"f1"}'],
    async (url, request) => {
      const res = await transport().send(`${url}/bridge/api/client/v1/files?x=1`, {
        method: "POST",
        headers: { "upload-task-id": "t1" },
        chunks: pieces,
        timeoutMs: 10_000,
      });
      assert.deepEqual(res, {
        status: 200,
        text: '{"temporalFileId":"f1"}',
        contentType: "application/json",
      });
      const { head, body } = await request;
      const lines = head.trim().split("\r\n");
      assert.equal(lines[0], "POST /bridge/api/client/v1/files?x=1 HTTP/1.1");
      assert.ok(lines.includes(`Host: ${new URL(url).host}`), head);
      assert.ok(lines.includes("Connection: close"), head);
      assert.ok(lines.includes("upload-task-id: t1"), head);
      assert.ok(lines.includes(`Content-Length: ${total}`), head);
      assert.ok(!/transfer-encoding/i.test(head), head);
      assert.equal(body.byteLength, total);
      assert.equal(dec.decode(body.subarray(0, 5)), "--b\r\n");
      assert.ok(body.subarray(5, total - 5).every((b) => b === 7));
      assert.equal(dec.decode(body.subarray(total - 5)), "--b--");
    },
  );
});

Deno.test("a GET carries no body and no Content-Length", async () => {
  await withServer(["HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"], async (url, request) => {
    const res = await transport().request(`${url}/api/v4/server`, {
      method: "GET",
      headers: { accept: "application/json" },
      timeoutMs: 10_000,
    });
    assert.equal(res.text, "{}");
    const { head, body } = await request;
    assert.ok(head.startsWith("GET /api/v4/server HTTP/1.1\r\n"), head);
    assert.ok(!/content-length/i.test(head), head);
    assert.equal(body.byteLength, 0);
  });
});

Deno.test("a chunked answer split anywhere is decoded; extensions and trailers are skipped", async () => {
  const wire = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
    "5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: 1\r\n\r\n";
  // One byte at a time: the head, the sizes and the data all span reads.
  await withServer([...wire].map((c) => c), async (url) => {
    const res = await transport().request(`${url}/t`, {
      method: "GET",
      headers: {},
      timeoutMs: 10_000,
    });
    assert.equal(res.status, 200);
    assert.equal(res.text, "hello, world");
  });
});

Deno.test("an answer with neither length nor chunks ends with the connection", async () => {
  await withServer([
    "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\n\r\n<html>",
    "…</html>",
  ], async (url) => {
    const res = await transport().request(`${url}/t`, {
      method: "GET",
      headers: {},
      timeoutMs: 10_000,
    });
    assert.deepEqual(res, { status: 502, text: "<html>…</html>", contentType: "text/html" });
  });
});

Deno.test("interim 1xx answers are skipped for the final one", async () => {
  await withServer(
    [
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n",
      "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
    ],
    async (url) => {
      const res = await transport().request(`${url}/t`, {
        method: "POST",
        headers: {},
        body: enc.encode("x"),
        timeoutMs: 10_000,
      });
      assert.equal(res.status, 201);
      assert.equal(res.text, "ok");
    },
  );
});

Deno.test("an answer over 1 MiB, a connection closed mid-answer, and garbage are errors that say so", async () => {
  const get = (url: string) =>
    transport().request(`${url}/t`, { method: "GET", headers: {}, timeoutMs: 10_000 });
  await withServer(["HTTP/1.1 200 OK\r\nContent-Length: 2000000\r\n\r\n"], async (url) => {
    await assert.rejects(get(url), /answer larger than 1048576 bytes/);
  });
  await withServer(["HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"], async (url) => {
    await assert.rejects(get(url), /connection closed in the middle of the answer/);
  });
  await withServer([], async (url) => {
    await assert.rejects(get(url), /socket hang up/);
  });
  await withServer(["SSH-2.0-OpenSSH_9.2\r\n"], async (url) => {
    await assert.rejects(get(url), /invalid status line in the answer \(not HTTP/);
  });
});
