import assert from "node:assert/strict";
import { healthcheck, probeHost } from "../../src/cli/healthcheck.ts";

function serve(handler: (req: Request) => Response | Promise<Response>) {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
}

Deno.test("healthcheck() asks /healthz (liveness) by default, /readyz with check: ready", async () => {
  const paths: string[] = [];
  await using server = serve((req) => {
    paths.push(new URL(req.url).pathname);
    return Response.json({ ok: true });
  });
  const lines: string[] = [];
  assert.equal(await healthcheck(server.addr.port, { write: (l) => lines.push(l) }), 0);
  assert.equal(
    await healthcheck(server.addr.port, { check: "ready", write: (l) => lines.push(l) }),
    0,
  );
  assert.deepEqual(paths, ["/healthz", "/readyz"]);
  assert.match(lines[0]!, /^alive: .*\/healthz answered 200$/);
  assert.match(lines[1]!, /^ready: .*\/readyz answered 200$/);
});

Deno.test("healthcheck() returns 1 when /readyz answers 503", async () => {
  await using server = serve(() =>
    Response.json({ ok: false, error: "not_ready" }, { status: 503 })
  );
  const lines: string[] = [];
  const code = await healthcheck(server.addr.port, {
    check: "ready",
    write: (l) => lines.push(l),
  });
  assert.equal(code, 1);
  assert.match(lines.join("\n"), /^not ready: .* 503 .*not_ready/);
});

Deno.test("healthcheck() returns 1 when nothing listens", async () => {
  // Take a free port, then close it so the probe meets a refused connection.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const lines: string[] = [];
  assert.equal(await healthcheck(port, { write: (l) => lines.push(l) }), 1);
  // The cause, and where to look: it said only "fetch failed".
  assert.equal(
    lines.join("\n"),
    `not alive: http://127.0.0.1:${port}/healthz: connection refused: nothing listens on 127.0.0.1:${port} (is the bot running, with WEBHOOK_HTTP_PORT=${port} and WEBHOOK_HTTP_HOST as this command sees them?)`,
  );
});

Deno.test("healthcheck() returns 1 when /readyz does not answer in time", async () => {
  const { promise: release, resolve } = Promise.withResolvers<void>();
  await using server = serve(async () => {
    await release;
    return new Response("late");
  });
  const lines: string[] = [];
  const code = await healthcheck(server.addr.port, { timeoutMs: 50, write: (l) => lines.push(l) });
  resolve();
  assert.equal(code, 1);
  assert.match(lines.join("\n"), /no answer within 50 ms/);
});

Deno.test("probeHost() maps wildcard bind addresses to loopback", () => {
  assert.equal(probeHost(undefined), "127.0.0.1");
  assert.equal(probeHost("0.0.0.0"), "127.0.0.1");
  assert.equal(probeHost("::"), "::1");
  assert.equal(probeHost("[::]"), "::1");
  assert.equal(probeHost("10.0.0.5"), "10.0.0.5");
  assert.equal(probeHost("[fd00::1]"), "fd00::1");
});
