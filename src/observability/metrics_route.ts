/**
 * `GET /metrics`: the Prometheus scrape endpoint, optionally behind a bearer token
 * (`METRICS_TOKEN`), because queue depth and per-hook traffic tell an outsider a lot about the
 * chats behind the bot even though no token or message text is ever exposed.
 *
 * @module
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { Context } from "hono";
import type { Metrics } from "./metrics.ts";

/** Options of {@link metricsRoute}. */
export interface MetricsRouteOptions {
  /** The metrics to render. */
  metrics: Metrics;
  /** When set (non-empty), scrapes must send `Authorization: Bearer <token>`. */
  token?: string | null | undefined;
}

/**
 * Creates the Hono handler for `GET /metrics`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Hono } from "hono";
 * import { createMetrics } from "./metrics.ts";
 *
 * const app = new Hono();
 * app.get("/metrics", metricsRoute({ metrics: createMetrics(), token: "s3cret" }));
 * assert.equal((await app.request("/metrics")).status, 401);
 * const res = await app.request("/metrics", { headers: { authorization: "Bearer s3cret" } });
 * assert.equal(res.status, 200);
 * ```
 */
export function metricsRoute(options: MetricsRouteOptions): (c: Context) => Promise<Response> {
  const { metrics } = options;
  const expected = options.token ? digest(options.token) : null;
  return async function metricsHandler(c: Context): Promise<Response> {
    if (expected && !authorized(c.req.header("authorization"), expected)) {
      c.header("WWW-Authenticate", 'Bearer realm="metrics"');
      c.header("Cache-Control", "no-store");
      return c.json({
        ok: false,
        error: "unauthorized",
        message: "GET /metrics needs the header 'Authorization: Bearer <METRICS_TOKEN>'.",
      }, 401);
    }
    const { contentType, body } = await metrics.render();
    return c.body(body, 200, { "Content-Type": contentType, "Cache-Control": "no-store" });
  };
}

// Comparing fixed-length digests keeps the comparison constant-time and hides the token length.
function digest(text: string): Uint8Array {
  return createHash("sha256").update(text).digest();
}

function authorized(header: string | undefined, expected: Uint8Array): boolean {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? "");
  const given = digest(match?.[1] ?? "");
  // Always compare, even when the header is missing, so timing does not reveal which check failed.
  return timingSafeEqual(given, expected) && match !== null;
}
