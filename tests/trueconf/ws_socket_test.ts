// The TrueConf socket's own WebSocket client against raw servers on loopback: what the
// opening handshake must check (101, Sec-WebSocket-Accept, the json.v1 echo, no redirects, a
// timeout), and how the socket answers a server's ping, close and protocol violations. The
// fake TrueConf (Deno's own WebSocket server) covers the normal traffic in the other tests.
import assert from "node:assert/strict";
import { silentLogger } from "../../src/log.ts";
import { Connection, type ConnectionOptions } from "../../src/trueconf/_connection.ts";
import { Timers } from "../../src/trueconf/_timers.ts";
import {
  closePayload,
  encodeFrame,
  OP_CLOSE,
  OP_PING,
  OP_PONG,
  OP_TEXT,
} from "../../src/trueconf/_ws_frames.ts";
import { acceptFor } from "../../src/trueconf/_ws_handshake.ts";
import { explainNetworkError } from "../../src/trueconf/_http.ts";
import { makeTestCertificates } from "../support/fake_trueconf.ts";

const utf8 = new TextEncoder();
const server = (op: number, payload: Uint8Array | string) =>
  encodeFrame(op, typeof payload === "string" ? utf8.encode(payload) : payload, { mask: null });

interface Upgrade {
  head: string;
  key: string;
  protocols: string[];
}

/** Reads a client's frames (masked) off a raw conn, as a server would. */
class ClientFrames {
  #conn: Deno.Conn;
  #buf = new Uint8Array(0);

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** The next frame: [opcode, payload]; null when the client closed the connection. */
  async next(): Promise<[number, Uint8Array] | null> {
    while (true) {
      const frame = this.#take();
      if (frame) return frame;
      const chunk = new Uint8Array(256 * 1024);
      const n = await this.#conn.read(chunk).catch(() => null);
      if (n === null) return null;
      const next = new Uint8Array(this.#buf.byteLength + n);
      next.set(this.#buf);
      next.set(chunk.subarray(0, n), this.#buf.byteLength);
      this.#buf = next;
    }
  }

  #take(): [number, Uint8Array] | null {
    const b = this.#buf;
    if (b.byteLength < 2) return null;
    let n = b[1]! & 0x7f;
    let head = 2;
    if (n === 126) [n, head] = [(b[2]! << 8) | b[3]!, 4];
    else if (n === 127) [n, head] = [new DataView(b.buffer, 2, 8).getUint32(4), 10];
    assert.equal(b[1]! & 0x80, 0x80, "client frames are masked");
    if (b.byteLength < head + 4 + n) return null;
    const mask = b.subarray(head, head + 4);
    const payload = b.slice(head + 4, head + 4 + n);
    for (let i = 0; i < n; i++) payload[i]! ^= mask[i % 4]!;
    this.#buf = b.slice(head + 4 + n);
    return [b[0]! & 0x0f, payload];
  }
}

/**
 * A one-connection-at-a-time raw server: reads each upgrade request's head, writes what
 * `answer` returns, then hands the conn to `then` (which owns it). Counts connections.
 */
async function withRawServer(
  answer: (u: Upgrade) => string | Uint8Array | Promise<string | Uint8Array> | null,
  then: (conn: Deno.Conn, frames: ClientFrames) => Promise<void>,
  fn: (url: string, accepted: () => number) => Promise<void>,
): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let accepted = 0;
  const conns = new Set<Deno.Conn>();
  const serving = (async () => {
    for await (const conn of listener) {
      accepted++;
      conns.add(conn);
      const head = await readHead(conn);
      if (head === null) continue;
      const key = /sec-websocket-key: *(\S+)/i.exec(head)?.[1] ?? "";
      const protocols = (/sec-websocket-protocol: *([^\r\n]+)/i.exec(head)?.[1] ?? "")
        .split(",").map((s) => s.trim()).filter(Boolean);
      const reply = await answer({ head, key, protocols });
      if (reply === null) continue; // never answer
      await conn.write(typeof reply === "string" ? utf8.encode(reply) : reply);
      await then(conn, new ClientFrames(conn));
    }
  })();
  try {
    await fn(`ws://127.0.0.1:${listener.addr.port}/websocket/chat_bot`, () => accepted);
  } finally {
    listener.close();
    // The server's side finishes too (each `then` ends when the client has closed), so what
    // it saw is complete before the test asserts on it.
    await serving.catch(() => {});
    for (const c of conns) {
      try {
        c.close();
      } catch { /* closed already */ }
    }
  }
}

async function readHead(conn: Deno.Conn): Promise<string | null> {
  let text = "";
  const buf = new Uint8Array(4096);
  while (!text.includes("\r\n\r\n")) {
    const n = await conn.read(buf).catch(() => null);
    if (n === null) return null;
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
  return text;
}

async function switching(u: Upgrade, o: { protocol?: string | null; accept?: string } = {}) {
  const protocol = o.protocol === undefined ? u.protocols[0] ?? null : o.protocol;
  return [
    "HTTP/1.1 101 Switching Protocols",
    "Upgrade: websocket",
    "Connection: Upgrade",
    `Sec-WebSocket-Accept: ${o.accept ?? await acceptFor(u.key)}`,
    ...(protocol ? [`Sec-WebSocket-Protocol: ${protocol}`] : []),
    "",
    "",
  ].join("\r\n");
}

function connection(url: string, extra: Partial<ConnectionOptions> = {}) {
  return new Connection({
    url,
    verifyTls: true,
    handshakeTimeoutMs: 2_000,
    pingIntervalMs: 60_000,
    pongTimeoutMs: 1_000,
    timers: new Timers(),
    logger: silentLogger,
    ...extra,
  });
}

/** Waits for the socket's end; returns why it closed. */
async function closedWith(conn: Connection): Promise<string> {
  await conn.closed;
  return conn.closeReason ?? "";
}

Deno.test("handshake: key, version, Host and json.v1 sent; a server request right behind the 101 is delivered and acked", async () => {
  let seen: Upgrade | null = null;
  await withRawServer(
    async (u) => {
      seen = u;
      // The 101 and the first frame in one write: the bytes after the head are frames.
      const head = utf8.encode(await switching(u));
      const frame = server(OP_TEXT, '{"type":1,"id":7,"method":"hello","payload":{}}');
      const both = new Uint8Array(head.byteLength + frame.byteLength);
      both.set(head);
      both.set(frame, head.byteLength);
      return both;
    },
    async (conn, frames) => {
      const ack = await frames.next();
      assert.deepEqual(ack && [ack[0], new TextDecoder().decode(ack[1])], [
        OP_TEXT,
        '{"type":2,"id":7}',
      ]);
      conn.close();
    },
    async (url) => {
      const events: string[] = [];
      const c = connection(url, { onEvent: (method) => void events.push(method) });
      await c.opened;
      assert.equal(c.isOpen, true);
      assert.match(await closedWith(c), /^closed by server \(1006/);
      assert.deepEqual(events, ["hello"]);
      const head = seen!.head;
      assert.match(head, /^GET \/websocket\/chat_bot HTTP\/1\.1\r\n/);
      assert.match(head, /\r\nHost: 127\.0\.0\.1:\d+\r\n/);
      assert.match(head, /\r\nUpgrade: websocket\r\n/i);
      assert.match(head, /\r\nConnection: Upgrade\r\n/i);
      assert.match(head, /\r\nSec-WebSocket-Version: 13\r\n/);
      assert.equal(atob(seen!.key).length, 16, "a 16-byte nonce");
      assert.deepEqual(seen!.protocols, ["json.v1"]);
    },
  );
});

Deno.test("handshake failures: wrong Accept, a redirect (not followed), no json.v1 echo; each names its cause", async () => {
  const cases: [string, (u: Upgrade) => Promise<string>, RegExp][] = [
    [
      "wrong accept",
      (u) => switching(u, { accept: "dGhlIHNhbXBsZSBub25jZQ==" }),
      /Invalid Sec-WebSocket-Accept header/,
    ],
    [
      "redirect",
      () =>
        Promise.resolve(
          "HTTP/1.1 302 Found\r\nLocation: ws://127.0.0.1:1/elsewhere\r\nContent-Length: 0\r\n\r\n",
        ),
      /Unexpected server response: 302/,
    ],
    ["no subprotocol echo", (u) => switching(u, { protocol: null }), /Server sent no subprotocol/],
    [
      "another subprotocol",
      (u) => switching(u, { protocol: "json.v2" }),
      /Server sent an invalid subprotocol/,
    ],
    [
      "not HTTP",
      () => Promise.resolve("\x15\x03\x03\x00\x02\x02\x46\r\n\r\n"),
      /invalid status line/,
    ],
  ];
  for (const [what, answer, cause] of cases) {
    await withRawServer(answer, (conn) => Promise.resolve(conn.close()), async (url, accepted) => {
      const c = connection(url);
      await assert.rejects(c.opened, (err: Error) => {
        assert.match(err.message, /^connect failed: /, what);
        assert.match(err.message, cause, what);
        return true;
      });
      await c.closed;
      assert.match(c.closeReason ?? "", cause, what);
      assert.equal(c.isOpen, false);
      assert.equal(accepted(), 1, `${what}: one connection, nothing followed`);
    });
  }
});

Deno.test("handshake: without offering json.v1 a server that echoes none is fine (the client's retry)", async () => {
  await withRawServer(
    (u) => switching(u, { protocol: null }),
    (conn) => Promise.resolve(conn.close()),
    async (url) => {
      const c = connection(url, { offerSubprotocol: false });
      await c.opened;
      await c.closed;
    },
  );
});

Deno.test("handshake timeout: a server that accepts but never answers fails the opening in handshakeTimeoutMs", async () => {
  await withRawServer(() => null, async () => {}, async (url) => {
    const t0 = performance.now();
    const c = connection(url, { handshakeTimeoutMs: 150 });
    await assert.rejects(c.opened, /connect failed: Opening handshake has timed out/);
    const took = performance.now() - t0;
    // The upper bound only tells the timeout from none, with seconds for a loaded machine.
    assert.ok(took >= 140 && took < 10_000, `${took} ms`);
    await c.closed;
  });
});

Deno.test("terminate() while connecting: the opening fails at once with the reason", async () => {
  await withRawServer(() => null, async () => {}, async (url) => {
    const c = connection(url);
    c.terminate("client closed");
    await assert.rejects(c.opened, /connect failed/);
    await c.closed;
    assert.equal(c.closeReason, "client closed");
  });
});

Deno.test("frames a server must not send are answered with their close code, and in-flight requests fail", async () => {
  const cases: [string, Uint8Array, number][] = [
    [
      "a 5 MiB frame (only its header is sent)",
      server(OP_TEXT, new Uint8Array(5 << 20)).subarray(0, 10),
      1009,
    ],
    ["text that is not UTF-8", server(OP_TEXT, new Uint8Array([0x7b, 0xc3, 0x28, 0x7d])), 1007],
    ["a masked frame", encodeFrame(OP_TEXT, utf8.encode("{}")), 1002],
  ];
  for (const [what, bytes, code] of cases) {
    let answered: number | null = null;
    await withRawServer((u) => switching(u), async (conn, frames) => {
      await frames.next(); // the request
      await conn.write(bytes);
      const close = await frames.next();
      assert.equal(close?.[0], OP_CLOSE, what);
      answered = (close![1][0]! << 8) | close![1][1]!;
      conn.close();
    }, async (url) => {
      const c = connection(url);
      await c.opened;
      const req = c.request("getChats", {}, 5_000);
      await assert.rejects(req, /connection to TrueConf lost before getChats was answered/);
      await c.closed;
      assert.match(c.closeReason ?? "", new RegExp(`closed with ${code}`), what);
    });
    assert.equal(answered, code, what);
  }
});

Deno.test("a server's ping is answered with its payload, its close is echoed with its code", async () => {
  const got: [number, string][] = [];
  await withRawServer((u) => switching(u), async (conn, frames) => {
    await conn.write(server(OP_PING, "are you there"));
    const pong = await frames.next();
    got.push([pong![0], new TextDecoder().decode(pong![1])]);
    await conn.write(server(OP_CLOSE, closePayload(1001, "server restart")));
    const echo = await frames.next();
    got.push([echo![0], String((echo![1][0]! << 8) | echo![1][1]!)]);
    assert.equal(await frames.next(), null, "then the client closes the connection");
    conn.close();
  }, async (url) => {
    const c = connection(url);
    await c.opened;
    assert.equal(await closedWith(c), "closed by server (1001 server restart)");
  });
  assert.deepEqual(got, [[OP_PONG, "are you there"], [OP_CLOSE, "1001"]]);
});

Deno.test("drainAndClose: waits for the answer in flight, then closes with 1000 'token rotation'", async () => {
  const seen: string[] = [];
  await withRawServer((u) => switching(u), async (conn, frames) => {
    const req = await frames.next();
    const { id } = JSON.parse(new TextDecoder().decode(req![1]));
    await conn.write(server(OP_TEXT, JSON.stringify({ type: 2, id, payload: { errorCode: 0 } })));
    const close = await frames.next();
    seen.push(
      `${close![0]} ${(close![1][0]! << 8) | close![1][1]!} ${
        new TextDecoder().decode(close![1].subarray(2))
      }`,
    );
    await conn.write(server(OP_CLOSE, closePayload(1000)));
    conn.close();
  }, async (url) => {
    const c = connection(url);
    await c.opened;
    const answer = c.request("getChats", {}, 5_000);
    await c.drainAndClose("token rotated", 2_000);
    assert.deepEqual(await answer, { errorCode: 0 });
    assert.equal(c.closeReason, "token rotated");
    assert.equal(c.pendingCount, 0);
  });
  assert.deepEqual(seen, [`${OP_CLOSE} 1000 token rotation`]);
});

Deno.test("a server that stops reading: frames of later turns queue behind the blocked write and arrive whole and in order", async () => {
  const turns = 16;
  const perTurn = 4;
  const pad = "é".repeat(128 * 1024); // 256 KiB a frame, 16 MiB in all: more than loopback buffers
  let read!: () => void;
  const serverMayRead = new Promise<void>((resolve) => read = resolve);
  const ids: number[] = [];
  let intact = true;
  await withRawServer((u) => switching(u), async (conn, frames) => {
    await serverMayRead;
    while (ids.length < turns * perTurn) {
      const frame = await frames.next();
      if (!frame) break;
      const msg = JSON.parse(new TextDecoder().decode(frame[1]));
      ids.push(msg.id);
      intact &&= msg.payload.pad === pad && msg.payload.n === ids.length - 1;
    }
    conn.close();
  }, async (url) => {
    const c = connection(url);
    await c.opened;
    const requests: Promise<unknown>[] = [];
    for (let t = 0; t < turns; t++) {
      for (let j = 0; j < perTurn; j++) {
        requests.push(c.request("x", { n: requests.length, pad }, 30_000).catch(() => null));
      }
      // The socket flushes a turn's frames in a setImmediate queued with its first frame;
      // one queued after it runs after that flush: the turn has ended.
      await new Promise((resolve) => setImmediate(resolve));
    }
    read();
    await c.closed;
    await Promise.all(requests);
  });
  assert.deepEqual(ids, Array.from({ length: turns * perTurn }, (_, i) => i + 1));
  assert.ok(intact, "every payload arrived whole");
});

Deno.test("a TLS port reached over ws://: refused at its first bytes, and check-config's hint says it speaks TLS", async () => {
  const certs = await makeTestCertificates();
  const listener = Deno.listenTls({
    hostname: "127.0.0.1",
    port: 0,
    cert: certs.certPem,
    key: certs.keyPem,
  });
  const serving = (async () => {
    for await (const conn of listener) {
      await conn.handshake().catch(() => {}); // rustls answers the plain GET with an alert
      conn.close();
    }
  })();
  try {
    const url = `ws://127.0.0.1:${listener.addr.port}/websocket/chat_bot`;
    const c = connection(url);
    await assert.rejects(c.opened, /connect failed: invalid status line .*a TLS record/);
    await c.closed;
    assert.match(
      explainNetworkError(c.closeReason ?? "", new URL(url)),
      /speaks TLS but TRUECONF_HTTPS=false: set TRUECONF_HTTPS=true/,
    );
  } finally {
    listener.close();
    await serving.catch(() => {});
  }
});
