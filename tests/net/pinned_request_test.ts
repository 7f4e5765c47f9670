import assert from "node:assert/strict";
import { pinnedRequest, readBody } from "../../src/net/_pinned_request.ts";
import { SafeFetchError } from "../../src/net/mod.ts";

const testdata = new URL("./testdata/", import.meta.url);
const read = (name: string) => Deno.readTextFileSync(new URL(name, testdata));

function startTlsServer() {
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen() {},
    cert: read("pinned_test.pem"),
    key: read("pinned_test.key"),
  }, (req) => new Response(`host=${req.headers.get("host")}`));
  return { port: server.addr.port, [Symbol.asyncDispose]: () => server.shutdown() };
}

function get(host: string, port: number, ca?: string[]) {
  const url = new URL(`https://${host}:${port}/x`);
  return pinnedRequest({ url, address: "127.0.0.1", family: 4 }, {
    headers: { Host: url.host, Connection: "close" },
    connectTimeoutMs: 2000,
    signal: new AbortController().signal,
    ...(ca ? { ca } : {}),
  });
}

Deno.test("pinnedRequest() over TLS connects to the pinned address and verifies the certificate for the URL's host name (SNI)", async () => {
  await using server = startTlsServer();
  const res = await get("pinned.test", server.port, [read("ca.pem")]);
  assert.equal(res.statusCode, 200);
  const body = await readBody(res, 1000, new AbortController().signal);
  assert.equal(new TextDecoder().decode(body), `host=pinned.test:${server.port}`);
});

Deno.test("pinnedRequest() over TLS refuses a certificate for another name, permanently", async () => {
  await using server = startTlsServer();
  // Same address, same trusted CA, but the URL names a host the certificate does not cover:
  // pinning the address must not weaken the host-name check.
  await assert.rejects(get("other.test", server.port, [read("ca.pem")]), (e) => {
    assert.ok(e instanceof SafeFetchError);
    assert.equal(e.code, "connect_failed");
    assert.equal(e.permanent, true);
    return true;
  });
});

Deno.test("pinnedRequest() over TLS refuses an untrusted certificate", async () => {
  await using server = startTlsServer();
  await assert.rejects(get("pinned.test", server.port), (e) => {
    assert.ok(e instanceof SafeFetchError);
    assert.equal(e.code, "connect_failed");
    assert.equal(e.permanent, true);
    return true;
  });
});

Deno.test("pinnedRequest(): the connect timeout does not cut a slow response after connecting", async () => {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    // Answers 0.5 s after the connect timeout would have ended. 2 s to connect over loopback,
    // not 50 ms: a loaded machine can keep this process off the CPU past a short timer, which
    // then fires before the connection is seen and fails the request it must not fail.
    () => new Promise<Response>((r) => (timer = setTimeout(() => r(new Response("late")), 2_500))),
  );
  try {
    const url = new URL(`http://slow.test:${server.addr.port}/`);
    const res = await pinnedRequest({ url, address: "127.0.0.1", family: 4 }, {
      headers: { Host: url.host, Connection: "close" },
      connectTimeoutMs: 2_000,
      signal: new AbortController().signal,
    });
    const body = await readBody(res, 100, new AbortController().signal);
    assert.equal(new TextDecoder().decode(body), "late");
  } finally {
    clearTimeout(timer);
    await server.shutdown();
  }
});
