/**
 * `GET /metrics`: the Prometheus scrape endpoint, optionally behind a bearer token
 * (`METRICS_TOKEN`, checked by Hono's `bearerAuth`), because queue depth and per-hook traffic
 * tell an outsider a lot about the chats behind the bot even though no token or message text
 * is ever exposed.
 *
 * @module
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import type { Metrics } from "./metrics.ts";

/** Options of {@link metricsApp}. */
export interface MetricsRouteOptions {
  /** The metrics to render. */
  metrics: Metrics;
  /** When set (non-empty), scrapes must send `Authorization: Bearer <token>`. */
  token?: string | null | undefined;
}

/** The characters `bearerAuth` (RFC 6750 token68) accepts; any other token could never match. */
const TOKEN68 = /^[A-Za-z0-9._~+/-]+=*$/;

// Every refusal is the same 401 with the JSON error shape, whatever was wrong with the header:
// a scraper needs one answer, and the body must not hint which check failed.
function unauthorized(): Response {
  return new Response(
    JSON.stringify({
      ok: false,
      error: "unauthorized",
      message: "GET /metrics needs the header 'Authorization: Bearer <METRICS_TOKEN>'.",
    }),
    {
      status: 401,
      headers: { "content-type": "application/json", "cache-control": "no-store" },
    },
  );
}

/**
 * The `/metrics` route as a Hono app, to mount on the root app.
 *
 * @throws Error when the token has characters a bearer token cannot carry.
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { createMetrics } from "./metrics.ts";
 * const app = new Hono().route("/", metricsApp({ metrics: createMetrics(), token: "s3cret" }));
 * ```
 */
export function metricsApp(options: MetricsRouteOptions): Hono {
  const { metrics, token } = options;
  const app = new Hono();
  if (token) {
    if (!TOKEN68.test(token)) {
      throw new Error(
        "METRICS_TOKEN may contain only letters, digits and . _ ~ + / - (optionally ending in =): a bearer token cannot carry other characters.",
      );
    }
    const message = { message: unauthorized };
    app.use(
      "/metrics",
      bearerAuth({
        token,
        realm: "metrics",
        noAuthenticationHeader: message,
        invalidAuthenticationHeader: message,
        invalidToken: message,
      }),
    );
  }
  app.get("/metrics", async (c: Context) => {
    const { contentType, body } = await metrics.render();
    return c.body(body, 200, { "Content-Type": contentType, "Cache-Control": "no-store" });
  });
  return app;
}
