import assert from "node:assert/strict";
import { createMetrics } from "../../src/observability/metrics.ts";
import { find, parseExposition } from "./_exposition.ts";

const HOOK_ID = "0b9f3c1e-7a2d-4c55-9e1f-3a6b8d2c4e10";
// The shape of a real hook token: 32 bytes of URL-safe base64.
const TOKEN = "Zq3v9K_x-2mPfT8wLr0aBcDeFgHiJkLmNoPqRsTuVwX";

Deno.test("createMetrics() exposes every documented metric family with its type", async () => {
  const metrics = createMetrics({ version: "1.2.3" });
  const { contentType, body } = await metrics.render();
  assert.match(contentType, /^text\/plain; version=0\.0\.4/);
  const { types } = parseExposition(body);
  assert.deepEqual(Object.fromEntries(types), {
    trueconf_webhook_http_requests_total: "counter",
    trueconf_webhook_delivery_duration_seconds: "histogram",
    trueconf_webhook_queue_depth: "gauge",
    trueconf_webhook_queue_oldest_age_seconds: "gauge",
    trueconf_webhook_failed_parts_total: "counter",
    trueconf_webhook_trueconf_connected: "gauge",
    trueconf_webhook_trueconf_authorized: "gauge",
    trueconf_webhook_trueconf_reconnects_total: "counter",
    trueconf_webhook_trueconf_token_expiry_timestamp_seconds: "gauge",
    trueconf_webhook_rate_limit_rejections_total: "counter",
    trueconf_webhook_delivered_messages_total: "counter",
    trueconf_webhook_outgoing_calls_total: "counter",
    trueconf_webhook_outgoing_call_duration_seconds: "histogram",
    trueconf_webhook_rotated_token_uses_total: "counter",
    trueconf_webhook_build_info: "gauge",
    process_resident_memory_bytes: "gauge",
    process_heap_used_bytes: "gauge",
    process_start_time_seconds: "gauge",
  });
});

Deno.test("createMetrics() records values under the expected labels", async () => {
  const metrics = createMetrics({ now: () => 1_700_000_000_500 });
  metrics.httpRequests.inc({ route: "hook", hook: HOOK_ID, status: 200 });
  metrics.httpRequests.inc({ route: "hook", hook: HOOK_ID, status: 200 });
  metrics.httpRequests.inc({ route: "hook", hook: null, status: 404 });
  metrics.deliveryDuration.observe("delivered", 0.004);
  metrics.deliveryDuration.observe("failed", 12);
  metrics.queueDepth.set(7);
  metrics.trueconfConnected.set(true);
  metrics.trueconfAuthorized.set(false);
  metrics.trueconfReconnects.inc();
  metrics.trueconfTokenExpiry.set(1_800_000_000);
  metrics.rateLimitRejections.inc("ip");
  metrics.rateLimitRejections.inc("token");
  metrics.rateLimitRejections.inc("token");
  metrics.deliveredMessages.inc("photo", 3);
  const x = parseExposition((await metrics.render()).body);

  const value = (name: string, labels: Record<string, string> = {}) => {
    const found = find(x, name, labels);
    assert.equal(found.length, 1, `${name} ${JSON.stringify(labels)}`);
    return found[0]!.value;
  };
  const ok = { route: "hook", hook: HOOK_ID, status: "200" };
  assert.equal(value("trueconf_webhook_http_requests_total", ok), 2);
  const miss = { route: "hook", hook: "unknown", status: "404" };
  assert.equal(value("trueconf_webhook_http_requests_total", miss), 1);
  const fast = { result: "delivered", le: "0.005" };
  assert.equal(value("trueconf_webhook_delivery_duration_seconds_bucket", fast), 1);
  const failed = { result: "failed", le: "10" };
  assert.equal(value("trueconf_webhook_delivery_duration_seconds_bucket", failed), 0);
  const slowest = { result: "failed", le: "30" };
  assert.equal(value("trueconf_webhook_delivery_duration_seconds_bucket", slowest), 1);
  assert.equal(value("trueconf_webhook_queue_depth"), 7);
  assert.equal(value("trueconf_webhook_trueconf_connected"), 1);
  assert.equal(value("trueconf_webhook_trueconf_authorized"), 0);
  assert.equal(value("trueconf_webhook_trueconf_reconnects_total"), 1);
  assert.equal(value("trueconf_webhook_trueconf_token_expiry_timestamp_seconds"), 1_800_000_000);
  assert.equal(value("trueconf_webhook_rate_limit_rejections_total", { scope: "ip" }), 1);
  assert.equal(value("trueconf_webhook_rate_limit_rejections_total", { scope: "token" }), 2);
  assert.equal(value("trueconf_webhook_delivered_messages_total", { kind: "photo" }), 3);
  assert.equal(value("process_start_time_seconds"), 1_700_000_000);
  assert.ok(value("process_resident_memory_bytes") > 1_000_000);
  assert.ok(value("process_heap_used_bytes") > 0);

  metrics.trueconfTokenExpiry.set(null);
  const after = parseExposition((await metrics.render()).body);
  assert.equal(
    find(after, "trueconf_webhook_trueconf_token_expiry_timestamp_seconds")[0]?.value,
    0,
  );
});

Deno.test("httpRequests never turns a token or a free-form value into a label", async () => {
  const metrics = createMetrics();
  metrics.httpRequests.inc({ route: "hook", hook: TOKEN, status: 404 });
  metrics.httpRequests.inc({ route: "hook", hook: `/hook/${TOKEN}`, status: 404 });
  metrics.httpRequests.inc({ route: "hook", hook: HOOK_ID.toUpperCase(), status: 200 });
  // A wrong route or status from a caller's bug is folded into "other" instead of a new series.
  metrics.httpRequests.inc({ route: TOKEN as "hook", hook: undefined, status: Number.NaN });
  metrics.httpRequests.inc({ route: "other", hook: undefined, status: 1e9 });
  const { body } = await metrics.render();
  assert.ok(!body.includes(TOKEN), "the exposition contains a token");
  const x = parseExposition(body);
  const hooks = new Set(find(x, "trueconf_webhook_http_requests_total").map((s) => s.labels.hook));
  assert.deepEqual([...hooks], ["unknown"]);
  const routes = find(x, "trueconf_webhook_http_requests_total").map((s) => s.labels.route);
  assert.deepEqual(new Set(routes), new Set(["hook", "other"]));
  const statuses = find(x, "trueconf_webhook_http_requests_total").map((s) => s.labels.status);
  assert.deepEqual(new Set(statuses), new Set(["404", "200", "other"]));
});

Deno.test("httpRequests caps distinct hook labels at maxHookLabels", async () => {
  const metrics = createMetrics({ maxHookLabels: 2 });
  const ids = [1, 2, 3, 4].map((n) => `00000000-0000-4000-8000-00000000000${n}`);
  for (const hook of ids) metrics.httpRequests.inc({ route: "hook", hook, status: 200 });
  // A hook already seen keeps its own label after the cap is reached.
  metrics.httpRequests.inc({ route: "hook", hook: ids[0], status: 200 });
  const x = parseExposition((await metrics.render()).body);
  const byHook = Object.fromEntries(
    find(x, "trueconf_webhook_http_requests_total").map((s) => [s.labels.hook, s.value]),
  );
  assert.deepEqual(byHook, { [ids[0]!]: 2, [ids[1]!]: 1, other: 2 });
});

Deno.test("createMetrics() instances do not share state", async () => {
  const a = createMetrics();
  const b = createMetrics();
  a.trueconfReconnects.inc();
  const x = parseExposition((await b.render()).body);
  assert.equal(find(x, "trueconf_webhook_trueconf_reconnects_total")[0]?.value, 0);
});

Deno.test("the route label takes only the values docs/deploy.md lists: hook, hooks, deliveries, other", async () => {
  const metrics = createMetrics();
  // /healthz, /readyz and /metrics are not counted (docs/deploy.md); a caller passing one of
  // their names, or a route family the table folds into `other` (slack, ntfy, …), gets `other`.
  for (const route of ["hook", "hooks", "deliveries", "healthz", "readyz", "metrics", "slack"]) {
    metrics.httpRequests.inc({ route: route as "hook", hook: HOOK_ID, status: 200 });
  }
  const x = parseExposition((await metrics.render()).body);
  const byRoute = Object.fromEntries(
    find(x, "trueconf_webhook_http_requests_total").map((s) => [s.labels.route, s.value]),
  );
  assert.deepEqual(byRoute, { hook: 1, hooks: 1, deliveries: 1, other: 4 });
});
