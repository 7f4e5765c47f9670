// The HTTP requests to TrueConf (OAuth, the server's version, uploads) are written on the
// socket by the bot itself (src/trueconf/_http1_client.ts): what goes out, and every way an
// HTTP/1.1 answer can be framed, against a loopback server that answers raw bytes.
import assert from "node:assert/strict";
import { HttpTransport } from "../../src/trueconf/_http.ts";
import { IdleStreams } from "../../src/trueconf/_http1_client.ts";

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

/**
 * A keep-alive server: reads requests one after another on each connection it accepts and
 * answers the n-th request overall with `answer(n)`; `closeAfter(n)` closes that connection
 * once the answer is written. Records, per request, the connection it came on and its head.
 */
async function withKeepAliveServer(
  answer: (n: number) => string,
  closeAfter: (n: number) => boolean,
  run: (
    url: string,
    seen: { conn: number; head: string }[],
    connEnded: (conn: number) => Promise<void>,
  ) => Promise<void>,
): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const seen: { conn: number; head: string }[] = [];
  const ended: PromiseWithResolvers<void>[] = [];
  const endedOf = (i: number) => (ended[i] ??= Promise.withResolvers<void>());
  const conns: Promise<void>[] = [];
  const serveConn = async (conn: Deno.Conn, index: number) => {
    let pending = new Uint8Array(0);
    const buf = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        let at = -1;
        while ((at = dec.decode(pending).indexOf("\r\n\r\n")) < 0) {
          const n = await conn.read(buf);
          if (n === null) return;
          pending = new Uint8Array([...pending, ...buf.subarray(0, n)]);
        }
        const head = dec.decode(pending.subarray(0, at));
        const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
        while (pending.byteLength < at + 4 + length) {
          const n = await conn.read(buf);
          if (n === null) return;
          pending = new Uint8Array([...pending, ...buf.subarray(0, n)]);
        }
        pending = pending.slice(at + 4 + length);
        const n = seen.push({ conn: index, head }) - 1;
        const out = enc.encode(answer(n));
        for (let w = 0; w < out.byteLength;) w += await conn.write(out.subarray(w));
        if (closeAfter(n)) return;
      }
    } catch {
      // reset by the client
    } finally {
      try {
        conn.close();
      } catch { /* closed */ }
      endedOf(index).resolve();
    }
  };
  const accepting = (async () => {
    for (let i = 0;; i++) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch {
        return;
      }
      conns.push(serveConn(conn, i));
    }
  })();
  try {
    await run(`http://127.0.0.1:${listener.addr.port}`, seen, (i) => endedOf(i).promise);
  } finally {
    listener.close();
    await accepting;
    await Promise.all(conns);
  }
}

const upload = (t: HttpTransport, url: string, keepAlive = true) =>
  t.send(`${url}/bridge/api/client/v1/files`, {
    method: "POST",
    headers: { "upload-task-id": "t" },
    chunks: [enc.encode("file bytes")],
    timeoutMs: 10_000,
    keepAlive,
  });
const ok = (body = "{}") =>
  `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;

Deno.test("uploads one after another share one kept-alive connection, closed with the transport", async () => {
  await withKeepAliveServer(() => ok(), () => false, async (url, seen, connEnded) => {
    const t = transport();
    for (let i = 0; i < 3; i++) assert.equal((await upload(t, url)).status, 200);
    assert.deepEqual(seen.map((s) => s.conn), [0, 0, 0]);
    assert.ok(seen.every((s) => !/connection: close/i.test(s.head)), seen[0]?.head ?? "");
    assert.equal(t.idleConnections, 1);
    t.close();
    await connEnded(0);
    assert.equal(t.idleConnections, 0);
  });
});

Deno.test("a one-shot request (the token, the version) still asks to close and is never kept", async () => {
  await withKeepAliveServer(() => ok(), () => false, async (url, seen, connEnded) => {
    const t = transport();
    await upload(t, url, false);
    await connEnded(0);
    assert.match(seen[0]!.head, /\r\nConnection: close\r\n|\r\nConnection: close$/);
    assert.equal(t.idleConnections, 0);
  });
});

Deno.test("an answer that ends its connection is not kept: Connection: close, HTTP/1.0, no length", async () => {
  const answers = [
    "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}",
    "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}",
    "HTTP/1.1 200 OK\r\n\r\n{}",
  ];
  // The server keeps each connection open: only the client's reading decides.
  await withKeepAliveServer((n) => answers[n]!, (n) => n === 2, async (url, seen) => {
    const t = transport();
    for (let i = 0; i < answers.length; i++) {
      assert.equal((await upload(t, url)).text, "{}");
      assert.equal(t.idleConnections, 0, answers[i] ?? "");
    }
    assert.deepEqual(seen.map((s) => s.conn), [0, 1, 2]);
  });
});

Deno.test("a kept connection the server closed meanwhile is replaced: the upload goes out once more on a new one", async () => {
  // The server answers each request and then closes, as one whose keep-alive time ran out.
  await withKeepAliveServer(
    (n) => ok(`{"n":${n}}`),
    () => true,
    async (url, seen, connEnded) => {
      const t = transport();
      assert.equal((await upload(t, url)).text, '{"n":0}');
      await connEnded(0);
      assert.equal(t.idleConnections, 1);
      assert.equal((await upload(t, url)).text, '{"n":1}');
      assert.deepEqual(seen.map((s) => s.conn), [0, 1]);
      t.close();
    },
  );
});

Deno.test("an idle kept connection is closed after its idle time", async () => {
  await withKeepAliveServer(() => ok(), () => false, async (url, _seen, connEnded) => {
    const t = new HttpTransport({ verifyTls: true }, new IdleStreams(20));
    await upload(t, url);
    await connEnded(0);
    assert.equal(t.idleConnections, 0);
  });
});

Deno.test("a failure after the answer began is not retried on a kept connection", async () => {
  await withKeepAliveServer(
    (n) => n === 0 ? ok() : "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}",
    (n) => n === 1,
    async (url, seen) => {
      const t = transport();
      await upload(t, url);
      await assert.rejects(upload(t, url), /connection closed in the middle of the answer/);
      assert.equal(seen.length, 2);
      t.close();
    },
  );
});
