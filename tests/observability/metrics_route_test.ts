import assert from "node:assert/strict";
import { Hono } from "hono";
import { createMetrics } from "../../src/observability/metrics.ts";
import { metricsApp } from "../../src/observability/metrics_route.ts";
import { find, parseExposition } from "./_exposition.ts";

const HOOK_ID = "0b9f3c1e-7a2d-4c55-9e1f-3a6b8d2c4e10";
const TOKEN = "Zq3v9K_x-2mPfT8wLr0aBcDeFgHiJkLmNoPqRsTuVwX";
const METRICS_TOKEN = "scrape-secret-123";

function app(token?: string) {
  const metrics = createMetrics();
  const hono = new Hono().route("/", metricsApp({ metrics, token }));
  return { metrics, hono };
}

Deno.test("GET /metrics without a token setting serves the exposition text", async () => {
  const { metrics, hono } = app();
  metrics.httpRequests.inc({ route: "hook", hook: HOOK_ID, status: 200 });
  const res = await hono.request("/metrics");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  assert.equal(res.headers.get("cache-control"), "no-store");
  const x = parseExposition(await res.text());
  const labels = { route: "hook", hook: HOOK_ID, status: "200" };
  assert.equal(find(x, "trueconf_webhook_http_requests_total", labels)[0]?.value, 1);
});

Deno.test("GET /metrics with a token setting requires the bearer token", async () => {
  const { hono } = app(METRICS_TOKEN);
  const denied = [
    undefined,
    "Bearer wrong",
    `Bearer ${METRICS_TOKEN}x`,
    `Basic ${btoa(`x:${METRICS_TOKEN}`)}`,
    METRICS_TOKEN,
    "Bearer ",
  ];
  for (const authorization of denied) {
    const headers: Record<string, string> = authorization ? { authorization } : {};
    const res = await hono.request("/metrics", { headers });
    assert.equal(res.status, 401, `authorization: ${authorization}`);
    assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer /);
    assert.equal(res.headers.get("cache-control"), "no-store");
    const body = await res.json();
    assert.equal(body.ok, false);
    assert.equal(body.error, "unauthorized");
    assert.equal(typeof body.message, "string");
    assert.ok(!JSON.stringify(body).includes(METRICS_TOKEN));
  }
  for (const authorization of [`Bearer ${METRICS_TOKEN}`, `bearer  ${METRICS_TOKEN}`]) {
    const res = await hono.request("/metrics", { headers: { authorization } });
    assert.equal(res.status, 200, `authorization: ${authorization}`);
    assert.match(await res.text(), /trueconf_webhook_queue_depth/);
  }
});

Deno.test("an empty token setting leaves /metrics open", async () => {
  const { hono } = app("");
  const res = await hono.request("/metrics");
  assert.equal(res.status, 200);
  await res.body?.cancel();
});

Deno.test("no label value scraped through /metrics looks like a token", async () => {
  const { metrics, hono } = app();
  metrics.httpRequests.inc({ route: "hook", hook: TOKEN, status: 404 });
  metrics.httpRequests.inc({ route: "hook", hook: HOOK_ID, status: 200 });
  metrics.rateLimitRejections.inc("token");
  const x = parseExposition(await (await hono.request("/metrics")).text());
  // A hook token is >= 20 URL-safe base64 characters; a UUID (with dashes in fixed places) is
  // the only long label value allowed.
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
  for (const sample of x.samples) {
    for (const [name, value] of Object.entries(sample.labels)) {
      if (uuid.test(value)) continue;
      assert.ok(
        !/^[A-Za-z0-9_-]{20,}$/.test(value),
        `${sample.name}{${name}="${value}"} looks like a token`,
      );
    }
  }
});

Deno.test("a METRICS_TOKEN no bearer header can carry is refused when the route is built", () => {
  const metrics = createMetrics();
  assert.throws(
    () => metricsApp({ metrics, token: "pa$$ word" }),
    /METRICS_TOKEN may contain only/,
  );
});
