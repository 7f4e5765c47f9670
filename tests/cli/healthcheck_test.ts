import assert from "node:assert/strict";
import { healthcheck, probeHost } from "../../src/cli/healthcheck.ts";
import { trueconfReadiness } from "../../src/readiness.ts";
import type { ConnectionState } from "../../src/trueconf/mod.ts";

function serve(handler: (req: Request) => Response | Promise<Response>) {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
}

Deno.test("healthcheck() asks /readyz: by default for the container's health, with check: ready strictly", async () => {
  const paths: string[] = [];
  await using server = serve((req) => {
    paths.push(new URL(req.url).pathname);
    return Response.json({ ok: true, problems: [], queue: { depth: 0 } });
  });
  const lines: string[] = [];
  assert.equal(await healthcheck(server.addr.port, { write: (l) => lines.push(l) }), 0);
  assert.equal(
    await healthcheck(server.addr.port, { check: "ready", write: (l) => lines.push(l) }),
    0,
  );
  assert.deepEqual(paths, ["/readyz", "/readyz"]);
  assert.match(lines[0]!, /^healthy: .*\/readyz answered 200$/);
  assert.match(lines[1]!, /^ready: .*\/readyz answered 200$/);
});

/** A server answering /readyz the way the bot does in `state` (the bot's own rule builds it). */
function readyz(...args: Parameters<typeof trueconfReadiness>) {
  const r = trueconfReadiness(...args);
  return serve(() => Response.json({ ok: r.ready, ...r.details }, { status: r.ready ? 200 : 503 }));
}

const DOWN: ConnectionState = {
  connected: false,
  authorized: false,
  consecutiveTimeouts: 0,
  lastError: "connect ECONNREFUSED",
  botId: null,
  tokenExpiresAt: null,
  reconnects: 4,
  lastPongAt: null,
};

// Issue 7 puts the container HEALTHCHECK on /readyz; issue 17.8 wants it healthy while
// TrueConf is down (the bot answers 202 and queues; a restart, Docker's only remedy, would not
// bring TrueConf back). One endpoint does both: the bot's own troubles make it unhealthy,
// TrueConf's do not.
Deno.test("healthcheck(): /readyz 503 for TrueConf's state alone is healthy; --ready is not ready", async () => {
  for (
    const state of [
      DOWN,
      { ...DOWN, connected: true },
      { ...DOWN, connected: true, authorized: true, consecutiveTimeouts: 2 },
    ]
  ) {
    await using server = readyz(state, { summary: { queue: { depth: 3 } } });
    const lines: string[] = [];
    assert.equal(await healthcheck(server.addr.port, { write: (l) => lines.push(l) }), 0);
    assert.match(
      lines[0]!,
      /^healthy \(not ready: (not connected to TrueConf|connected to TrueConf but not authorized|TrueConf stopped answering requests); hooks are queued\): .*\/readyz answered 503$/,
    );
    assert.equal(await healthcheck(server.addr.port, { check: "ready", write: () => {} }), 1);
  }
});

Deno.test("healthcheck(): the bot's own trouble (storage file gone, change feed unread, shutting down) is unhealthy, with TrueConf's too", async () => {
  const gone = { detail: "/data/webhooks.kv was deleted", public: "the storage file is gone" };
  // As bot.ts reports HookStore.feedUnread; docs/deploy.md ("Health") promises unhealthy.
  const unread = {
    detail: "could not read the hook change feed since 2026-12-07T22:00:00.000Z (disk I/O error)",
    public: "the store's change feed cannot be read",
  };
  for (
    const [state, options, why] of [
      [
        { ...DOWN, connected: true, authorized: true },
        { problems: [gone] },
        /webhooks\.kv was deleted/,
      ],
      [
        { ...DOWN, connected: true, authorized: true },
        { problems: [unread] },
        /could not read the hook change feed since/,
      ],
      [DOWN, { problems: [gone] }, /not connected to TrueConf; .*webhooks\.kv was deleted/],
      [DOWN, { draining: true }, /shutting down/],
    ] as const
  ) {
    await using server = readyz(state, options);
    const lines: string[] = [];
    assert.equal(await healthcheck(server.addr.port, { write: (l) => lines.push(l) }), 1);
    assert.match(lines[0]!, /^unhealthy: .*\/readyz answered 503: /);
    assert.match(lines[0]!, why);
  }
  // Something else on the port (a 503 page, not the bot's answer): unhealthy too.
  await using other = serve(() => new Response("<html>busy</html>", { status: 503 }));
  const lines: string[] = [];
  assert.equal(await healthcheck(other.addr.port, { write: (l) => lines.push(l) }), 1);
  assert.match(lines[0]!, /^unhealthy: .*\/readyz answered 503 <html>busy<\/html>$/);
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
    `unhealthy: http://127.0.0.1:${port}/readyz: connection refused: nothing listens on 127.0.0.1:${port} (is the bot running, with WEBHOOK_HTTP_PORT=${port} and WEBHOOK_HTTP_HOST as this command sees them?)`,
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
