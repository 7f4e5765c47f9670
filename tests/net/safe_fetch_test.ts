import assert from "node:assert/strict";
import { parseAllowlist, safeFetch, SafeFetchError } from "../../src/net/mod.ts";
import type { ConnectTarget, SafeFetchErrorCode, SafeFetchOptions } from "../../src/net/mod.ts";
import { closedPort } from "../support/closed_port.ts";
import { PNG_BYTES, startServer, startSilentServer, tableResolver } from "./_helpers.ts";

const MiB = 1024 * 1024;

async function assertFetchError(
  promise: Promise<unknown>,
  code: SafeFetchErrorCode,
  permanent?: boolean,
): Promise<SafeFetchError> {
  let error: unknown;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof SafeFetchError, `expected SafeFetchError ${code}, got ${error}`);
  assert.equal(error.code, code, error.message);
  if (permanent !== undefined) assert.equal(error.permanent, permanent, error.message);
  return error;
}

/** Options for a host `name` that resolves to 127.0.0.1 and is allowlisted by name. */
function loopbackAs(name: string, extra: Partial<SafeFetchOptions> = {}) {
  const dns = tableResolver({ [name]: ["127.0.0.1"] });
  const connects: ConnectTarget[] = [];
  const options: SafeFetchOptions = {
    maxBytes: MiB,
    allowlist: parseAllowlist(name),
    resolve: dns.resolve,
    onConnect: (t) => connects.push(t),
    ...extra,
  };
  return { options, dns, connects };
}

Deno.test("safeFetch() downloads from an allowlisted host, connecting to the checked address with the original Host", async () => {
  await using server = startServer(() =>
    new Response("hello", { headers: { "content-type": "Text/Plain; charset=utf-8" } })
  );
  const { options, dns, connects } = loopbackAs("pinned.test");
  const file = await safeFetch(`http://pinned.test:${server.port}/dir/note.txt?x=1`, options);
  assert.equal(new TextDecoder().decode(file.bytes), "hello");
  assert.equal(file.contentType, "text/plain");
  assert.equal(file.filename, "note.txt");
  assert.equal(file.finalUrl, `http://pinned.test:${server.port}/dir/note.txt?x=1`);
  assert.equal(server.requests.length, 1);
  assert.equal(server.requests[0]?.host, `pinned.test:${server.port}`);
  assert.equal(server.requests[0]?.path, "/dir/note.txt?x=1");
  assert.equal(server.requests[0]?.headers.get("user-agent"), "trueconf-webhook-bot");
  assert.equal(dns.calls.get("pinned.test"), 1);
  assert.deepEqual(connects.map((c) => c.address), ["127.0.0.1"]);
});

Deno.test("safeFetch() accepts an allowlisted CIDR and a custom user agent", async () => {
  await using server = startServer(() => {
    const res = new Response("ok");
    res.headers.delete("content-type");
    return res;
  });
  const file = await safeFetch(`http://127.0.0.1:${server.port}/`, {
    maxBytes: 100,
    allowlist: parseAllowlist("127.0.0.0/8"),
    userAgent: "test-agent/1",
  });
  assert.equal(new TextDecoder().decode(file.bytes), "ok");
  assert.equal(file.contentType, "");
  assert.equal(file.filename, null);
  assert.equal(server.requests[0]?.headers.get("user-agent"), "test-agent/1");
});

Deno.test("safeFetch() refuses a loopback literal that is not allowlisted, before connecting", async () => {
  await using server = startServer(() => new Response("secret"));
  for (
    const host of ["127.0.0.1", "127.1", "0x7f000001", "[::1]", "[::ffff:127.0.0.1]", "localhost"]
  ) {
    await assertFetchError(
      safeFetch(`http://${host}:${server.port}/`, { maxBytes: MiB }),
      "unsafe_url",
      true,
    );
  }
  assert.equal(server.requests.length, 0);
});

Deno.test("safeFetch() refuses a name that resolves to a private address (no connection)", async () => {
  const connects: ConnectTarget[] = [];
  // The sentence reaches the sender (a failed part): the class in words, not ipaddr.js's names.
  const cases: [string, string][] = [
    ["10.0.0.5", "10.0.0.5, a private address"],
    ["127.0.0.1", "127.0.0.1, a loopback address"],
    ["169.254.169.254", "169.254.169.254, a link-local address"],
    ["100.64.1.1", "100.64.1.1, a carrier-grade NAT address (100.64.0.0/10)"],
    ["fc00::1", "fc00::1, a unique local address (fc00::/7)"],
    ["::ffff:192.168.0.1", "192.168.0.1, a private address"],
    ["64:ff9b::a9fe:a9fe", "64:ff9b::a9fe:a9fe, a NAT64 address of 169.254.169.254, a link-local"],
  ];
  for (const [address, words] of cases) {
    const dns = tableResolver({ "evil.example": [address] });
    const error = await assertFetchError(
      safeFetch("http://evil.example/x.png", {
        maxBytes: MiB,
        resolve: dns.resolve,
        onConnect: (t) => connects.push(t),
      }),
      "unsafe_url",
      true,
    );
    assert.ok(
      error.message.startsWith(`evil.example resolves to ${words}`),
      `${address}: ${error.message}`,
    );
  }
  assert.equal(connects.length, 0);
});

Deno.test("safeFetch() refuses a host when any one of its addresses is blocked", async () => {
  const connects: ConnectTarget[] = [];
  const dns = tableResolver({ "mixed.example": ["93.184.215.14", "127.0.0.1"] });
  await assertFetchError(
    safeFetch("http://mixed.example/", {
      maxBytes: MiB,
      resolve: dns.resolve,
      onConnect: (t) => connects.push(t),
    }),
    "unsafe_url",
  );
  assert.equal(connects.length, 0);
});

Deno.test("safeFetch() refuses metadata names without asking DNS", async () => {
  const dns = tableResolver({ "metadata.google.internal": ["169.254.169.254"] });
  await assertFetchError(
    safeFetch("http://metadata.google.internal/computeMetadata/v1/", {
      maxBytes: MiB,
      resolve: dns.resolve,
    }),
    "unsafe_url",
  );
  assert.equal(dns.calls.size, 0);
});

Deno.test("safeFetch() does not open link-local addresses to a host allowlisted only by name", async () => {
  // The NAT64 form (64:ff9b::/96, what DNS64 answers on an IPv6-only network) reaches the
  // metadata service as surely as the address itself.
  for (const address of ["169.254.169.254", "64:ff9b::a9fe:a9fe"]) {
    const dns = tableResolver({ "grafana.intra": [address] });
    await assertFetchError(
      safeFetch("http://grafana.intra/", {
        maxBytes: MiB,
        resolve: dns.resolve,
        allowlist: parseAllowlist("grafana.intra"),
      }),
      "unsafe_url",
    );
  }
});

Deno.test("safeFetch() against DNS rebinding (public, then private): resolves once and connects to the checked first answer", async () => {
  // The first answer is public; the connection attempt is stopped in onConnect, so no
  // packet ever leaves the machine. What matters: one DNS query, and the socket target is
  // that checked answer, not a second (private) one.
  const dns = tableResolver({
    "rebind.example": (n) => (n === 1 ? ["93.184.215.14"] : ["127.0.0.1"]),
  });
  const stop = new Error("stop before connecting");
  const connects: ConnectTarget[] = [];
  await assert.rejects(
    safeFetch("http://rebind.example/a.png", {
      maxBytes: MiB,
      resolve: dns.resolve,
      onConnect: (t) => {
        connects.push(t);
        throw stop;
      },
    }),
    (e) => e === stop,
  );
  assert.equal(dns.calls.get("rebind.example"), 1);
  assert.deepEqual(connects, [{
    url: "http://rebind.example/a.png",
    address: "93.184.215.14",
    port: 80,
  }]);
});

Deno.test("safeFetch() against DNS rebinding over a real socket: the checked address is used, a later answer is never looked up", async () => {
  // 127.0.0.1 is allowlisted by CIDR; the second answer 127.0.0.2 is not (and nothing
  // listens there). If the socket re-resolved, the fetch would fail or hit 127.0.0.2.
  await using server = startServer(() => new Response("pinned"));
  const dns = tableResolver({ "rebind.test": (n) => (n === 1 ? ["127.0.0.1"] : ["127.0.0.2"]) });
  const file = await safeFetch(`http://rebind.test:${server.port}/`, {
    maxBytes: MiB,
    resolve: dns.resolve,
    allowlist: parseAllowlist("127.0.0.1/32"),
  });
  assert.equal(new TextDecoder().decode(file.bytes), "pinned");
  assert.equal(dns.calls.get("rebind.test"), 1);
  assert.equal(server.requests[0]?.host, `rebind.test:${server.port}`);
  // And the private second answer is refused when it is the one that gets checked.
  await assertFetchError(
    safeFetch(`http://rebind.test:${server.port}/`, { maxBytes: MiB, resolve: dns.resolve }),
    "unsafe_url",
  );
  assert.equal(server.requests.length, 1);
});

Deno.test("safeFetch() follows redirects, re-resolving each hop, and reports the final URL", async () => {
  await using server = startServer((req) => {
    const path = new URL(req.url).pathname;
    if (path === "/a") return new Response(null, { status: 301, headers: { location: "/b" } });
    if (path === "/b") {
      return new Response(null, {
        status: 307,
        headers: { location: `http://pinned.test:${new URL(req.url).port}/c/final%20name.png` },
      });
    }
    return new Response(PNG_BYTES, { headers: { "content-type": "image/png" } });
  });
  const { options, dns, connects } = loopbackAs("pinned.test", { expect: "image" });
  const file = await safeFetch(`http://pinned.test:${server.port}/a`, options);
  assert.equal(file.finalUrl, `http://pinned.test:${server.port}/c/final%20name.png`);
  assert.equal(file.filename, "final name.png");
  assert.equal(file.contentType, "image/png");
  assert.deepEqual(server.requests.map((r) => r.path), ["/a", "/b", "/c/final%20name.png"]);
  assert.equal(dns.calls.get("pinned.test"), 3);
  assert.equal(connects.length, 3);
});

Deno.test("safeFetch() refuses a redirect from an allowed host to a blocked one", async () => {
  await using server = startServer((req) => {
    const port = new URL(req.url).port;
    const path = new URL(req.url).pathname;
    const target = path === "/to-metadata"
      ? "http://169.254.169.254/latest/meta-data/"
      : path === "/to-loopback-name"
      ? `http://blocked.test:${port}/secret`
      : path === "/to-localhost"
      ? `http://localhost:${port}/secret`
      : `http://[::ffff:127.0.0.1]:${port}/secret`;
    return new Response(null, { status: 302, headers: { location: target } });
  });
  const dns = tableResolver({ "allowed.test": ["127.0.0.1"], "blocked.test": ["127.0.0.1"] });
  for (const path of ["/to-metadata", "/to-loopback-name", "/to-localhost", "/to-mapped"]) {
    await assertFetchError(
      safeFetch(`http://allowed.test:${server.port}${path}`, {
        maxBytes: MiB,
        resolve: dns.resolve,
        allowlist: parseAllowlist("allowed.test"),
      }),
      "unsafe_url",
      true,
    );
  }
  assert.deepEqual(server.requests.map((r) => r.path), [
    "/to-metadata",
    "/to-loopback-name",
    "/to-localhost",
    "/to-mapped",
  ]);
});

Deno.test("safeFetch() stops after maxRedirects", async () => {
  await using server = startServer((req) => {
    const n = Number(new URL(req.url).pathname.slice(1));
    return new Response(null, { status: 302, headers: { location: `/${n + 1}` } });
  });
  const { options } = loopbackAs("loop.test", { maxRedirects: 3 });
  await assertFetchError(
    safeFetch(`http://loop.test:${server.port}/0`, options),
    "too_many_redirects",
    true,
  );
  assert.deepEqual(server.requests.map((r) => r.path), ["/0", "/1", "/2", "/3"]);

  // The default is 5.
  server.requests.length = 0;
  const defaults = loopbackAs("loop.test");
  await assertFetchError(
    safeFetch(`http://loop.test:${server.port}/0`, defaults.options),
    "too_many_redirects",
  );
  assert.equal(server.requests.length, 6);
});

Deno.test("safeFetch() drops credentials from a redirect target and refuses other schemes", async () => {
  await using server = startServer((req) => {
    const url = new URL(req.url);
    if (url.pathname === "/creds") {
      return new Response(null, {
        status: 302,
        headers: { location: `http://user:pw@pinned.test:${url.port}/ok` },
      });
    }
    if (url.pathname === "/file") {
      return new Response(null, { status: 302, headers: { location: "file:///etc/passwd" } });
    }
    return new Response(req.headers.get("authorization") ?? "no auth");
  });
  const { options } = loopbackAs("pinned.test");
  const file = await safeFetch(`http://pinned.test:${server.port}/creds`, options);
  assert.equal(new TextDecoder().decode(file.bytes), "no auth");
  assert.equal(file.finalUrl, `http://pinned.test:${server.port}/ok`);
  await assertFetchError(
    safeFetch(`http://pinned.test:${server.port}/file`, options),
    "invalid_url",
  );
});

Deno.test("safeFetch() stops streaming beyond maxBytes and closes the connection", async () => {
  const chunk = new Uint8Array(16 * 1024).fill(65);
  let sent = 0;
  const { promise: cancelled, resolve: onCancel } = Promise.withResolvers<void>();
  await using server = startServer(() =>
    new Response(
      new ReadableStream<Uint8Array>({
        pull(controller) {
          // Endless, in chunks, with no Content-Length: only the running count can stop it.
          sent += chunk.byteLength;
          controller.enqueue(chunk);
        },
        cancel() {
          onCancel();
        },
      }),
      { headers: { "content-type": "application/octet-stream" } },
    )
  );
  const { options } = loopbackAs("big.test", { maxBytes: 100_000 });
  const error = await assertFetchError(
    safeFetch(`http://big.test:${server.port}/big.bin`, options),
    "too_large",
    true,
  );
  assert.equal(error.message, "the file is larger than the limit of 97.7 KiB");
  await cancelled; // the server saw the client go away
  assert.ok(sent < 4 * MiB, `server kept sending: ${sent}`);
});

Deno.test("safeFetch() refuses a declared Content-Length over maxBytes without reading", async () => {
  await using server = startServer(() => new Response(new Uint8Array(5000)));
  const { options } = loopbackAs("big.test", { maxBytes: 4999 });
  const error = await assertFetchError(
    safeFetch(`http://big.test:${server.port}/`, options),
    "too_large",
    true,
  );
  // In the units of WEBHOOK_MAX_UPLOAD_MB, with the exact count beside the rounded one.
  assert.equal(error.message, "the file is 4.9 KiB (5000 bytes), over the limit of 4.9 KiB");
  // Exactly at the limit is fine.
  const ok = await safeFetch(`http://big.test:${server.port}/`, { ...options, maxBytes: 5000 });
  assert.equal(ok.bytes.byteLength, 5000);
});

Deno.test("safeFetch() times out on a server that never answers (transient), and the connection closes", async () => {
  await using server = startSilentServer();
  const { options } = loopbackAs("slow.test", { totalTimeoutMs: 150 });
  const started = Date.now();
  await assertFetchError(safeFetch(`http://slow.test:${server.port}/`, options), "timeout", false);
  // Seconds of slack for a loaded machine: the bound only tells the 150 ms timeout from none.
  assert.ok(Date.now() - started < 10_000);
  await server.closed;
});

Deno.test("safeFetch() times out while the body trickles in", async () => {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await using server = startServer(() =>
    new Response(
      new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new Uint8Array([1]));
        },
        pull() {
          return new Promise((r) => (timer = setTimeout(r, 1000)));
        },
        cancel() {
          clearTimeout(timer);
        },
      }),
    )
  );
  const { options } = loopbackAs("slow.test", { totalTimeoutMs: 200 });
  await assertFetchError(safeFetch(`http://slow.test:${server.port}/`, options), "timeout", false);
});

Deno.test("safeFetch() rejects with the caller's reason when its signal aborts", async () => {
  await using server = startSilentServer();
  const controller = new AbortController();
  const reason = new Error("shutting down");
  const { options } = loopbackAs("slow.test", { signal: controller.signal });
  const pending = safeFetch(`http://slow.test:${server.port}/`, options);
  const timer = setTimeout(() => controller.abort(reason), 50);
  await assert.rejects(pending, (e) => e === reason);
  clearTimeout(timer);
  await server.closed;
  await assert.rejects(safeFetch(`http://slow.test:${server.port}/`, options), (e) => e === reason);
});

Deno.test("safeFetch() reports a refused connection as a transient connect_failed", async () => {
  const { options } = loopbackAs("down.test");
  const port = await closedPort();
  const error = await assertFetchError(
    safeFetch(`http://down.test:${port}/`, options),
    "connect_failed",
    false,
  );
  assert.equal(
    error.message,
    `could not connect to down.test:${port} (127.0.0.1): connection refused`,
  );
});

Deno.test("safeFetch() reports a server that answers something other than HTTP as such, not as a failed connection", async () => {
  // An outgoing hook's URL pointed at the wrong port (SSH here): the author reads the reason.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = (async () => {
    const conn = await listener.accept();
    await conn.write(new TextEncoder().encode("SSH-2.0-OpenSSH_9.6\r\n"));
    await conn.read(new Uint8Array(4096)).catch(() => null);
    conn.close();
  })();
  try {
    const { options } = loopbackAs("ssh.test");
    const port = (listener.addr as Deno.NetAddr).port;
    const error = await assertFetchError(
      safeFetch(`http://ssh.test:${port}/`, options),
      "connect_failed",
      false,
    );
    assert.match(
      error.message,
      new RegExp(`^ssh\\.test:${port} \\(127\\.0\\.0\\.1\\) answered something that is not HTTP`),
    );
  } finally {
    await serving.catch(() => {});
    listener.close();
  }
});

Deno.test("safeFetch() reports DNS failures as dns_failed", async () => {
  const nx = await assertFetchError(
    safeFetch("http://nx.example/", { maxBytes: MiB, resolve: tableResolver({}).resolve }),
    "dns_failed",
  );
  assert.equal(nx.permanent, true);
  // The sender and the creator's DM read it: no resolver internals ("Error: getaddrinfo …").
  assert.equal(nx.message, "nx.example does not resolve: no such host name");
  await assertFetchError(
    safeFetch("http://empty.example/", { maxBytes: MiB, resolve: () => Promise.resolve([]) }),
    "dns_failed",
    true,
  );
  await assertFetchError(
    safeFetch("http://flaky.example/", {
      maxBytes: MiB,
      resolve: () => Promise.reject(new Error("SERVFAIL")),
    }),
    "dns_failed",
    false,
  );
  await assertFetchError(
    safeFetch("http://weird.example/", {
      maxBytes: MiB,
      resolve: () => Promise.resolve(["not-an-ip"]),
    }),
    "dns_failed",
  );
});

Deno.test("safeFetch() maps HTTP errors: 4xx permanent, 5xx/408/429 transient", async () => {
  await using server = startServer((req) =>
    new Response("no", { status: Number(new URL(req.url).pathname.slice(1)) })
  );
  const { options } = loopbackAs("err.test");
  for (
    const [status, permanent] of [
      [404, true],
      [403, true],
      [410, true],
      [500, false],
      [503, false],
      [408, false],
      [429, false],
    ] as const
  ) {
    const error = await assertFetchError(
      safeFetch(`http://err.test:${server.port}/${status}`, options),
      "http_error",
      permanent,
    );
    assert.equal(error.status, status);
  }
});

Deno.test("safeFetch() with expect image accepts image/* and sniffs generic types", async () => {
  await using server = startServer((req) => {
    const path = new URL(req.url).pathname;
    if (path === "/typed") {
      return new Response(PNG_BYTES, { headers: { "content-type": "image/png" } });
    }
    if (path === "/octet") {
      return new Response(PNG_BYTES, { headers: { "content-type": "application/octet-stream" } });
    }
    const res = new Response(PNG_BYTES);
    res.headers.delete("content-type");
    return res;
  });
  const { options } = loopbackAs("img.test", { expect: "image" });
  assert.equal(
    (await safeFetch(`http://img.test:${server.port}/typed`, options)).contentType,
    "image/png",
  );
  assert.equal(
    (await safeFetch(`http://img.test:${server.port}/octet`, options)).contentType,
    "image/png",
  );
  assert.equal(
    (await safeFetch(`http://img.test:${server.port}/none`, options)).contentType,
    "image/png",
  );
  assert.equal(server.requests[0]?.headers.get("accept"), "image/*");
});

Deno.test("safeFetch() with expect image refuses HTML and unknown bytes as not_an_image", async () => {
  await using server = startServer((req) => {
    const path = new URL(req.url).pathname;
    if (path === "/html") {
      return new Response("<html>login</html>", { headers: { "content-type": "text/html" } });
    }
    return new Response("not an image at all", {
      headers: { "content-type": "application/octet-stream" },
    });
  });
  const { options } = loopbackAs("img.test", { expect: "image" });
  await assertFetchError(
    safeFetch(`http://img.test:${server.port}/html`, options),
    "not_an_image",
    true,
  );
  await assertFetchError(
    safeFetch(`http://img.test:${server.port}/bin`, options),
    "not_an_image",
    true,
  );
  // Without expect, any type is fine.
  const any = await safeFetch(`http://img.test:${server.port}/html`, { ...options, expect: "any" });
  assert.equal(any.contentType, "text/html");
});

Deno.test("safeFetch() takes the file name from Content-Disposition, else from the URL", async () => {
  const dispositions: Record<string, string> = {
    "/plain": 'attachment; filename="report 2024.pdf"',
    "/ext":
      "attachment; filename=\"fallback.pdf\"; filename*=UTF-8''%D0%BE%D1%82%D1%87%D1%91%D1%82.pdf",
    "/bare": "inline; filename=chart.png",
    "/traversal": 'attachment; filename="../../etc/passwd"',
    "/empty": "attachment",
  };
  await using server = startServer((req) => {
    const d = dispositions[new URL(req.url).pathname];
    return new Response("x", d ? { headers: { "content-disposition": d } } : {});
  });
  const { options } = loopbackAs("files.test");
  const name = async (path: string) =>
    (await safeFetch(`http://files.test:${server.port}${path}`, options)).filename;
  assert.equal(await name("/plain"), "report 2024.pdf");
  assert.equal(await name("/ext"), "отчёт.pdf");
  assert.equal(await name("/bare"), "chart.png");
  assert.equal(await name("/traversal"), "passwd");
  assert.equal(await name("/empty"), "empty");
  assert.equal(await name("/dir/%D1%84%D0%B0%D0%B9%D0%BB.txt?download=1"), "файл.txt");
  assert.equal(await name("/"), null);
  assert.equal(await name("/dir/"), null);
});
