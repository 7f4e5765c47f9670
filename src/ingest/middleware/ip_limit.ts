/**
 * `ipLimit`: the per-client-address rate limit, first thing on every hook route so a flood
 * costs one bucket lookup and no token lookup.
 *
 * @module
 */
import type { CidrList } from "../../net/mod.ts";
import { RateLimiter, rateLimitHeaders } from "../rate_limiter.ts";
import { clientAddress } from "./client_address.ts";
import { type Guard, guard, type IngestMetrics, refuse } from "./env.ts";

/** Options of {@link ipLimit}. */
export interface IpLimitOptions {
  /** Requests per minute per client address; 0 turns the limit off. */
  perMinute: number;
  /** Peers whose X-Forwarded-For is believed (a reverse proxy). */
  trustedProxies?: CidrList | undefined;
  /** Counts refusals. */
  metrics?: IngestMetrics | undefined;
  /** An existing limiter to share between apps (tests); default: a new one. */
  limiter?: RateLimiter | undefined;
}

/**
 * Refuses with `429 rate_limited` (Retry-After, X-RateLimit-*) when the client's address has
 * used its budget. Share one instance between all routes that draw on the same budget.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Hono } from "hono";
 * import type { IngestEnv } from "./env.ts";
 *
 * const app = new Hono<IngestEnv>().post("/hook/:token", ipLimit({ perMinute: 1 }), (c) => c.text("ok"));
 * const peer = { remoteAddr: { hostname: "198.51.100.1" } };
 * assert.equal((await app.request("/hook/x", { method: "POST" }, peer)).status, 200);
 * assert.equal((await app.request("/hook/x", { method: "POST" }, peer)).status, 429);
 * ```
 */
export function ipLimit(options: IpLimitOptions): Guard {
  const limiter = options.limiter ?? new RateLimiter({ perMinute: options.perMinute });
  const trusted = options.trustedProxies ?? [];
  const { metrics } = options;
  return guard(function ipLimit(c) {
    c.set("trustedProxies", trusted);
    // With the limit off nothing needs the address yet: skip parsing it.
    if (limiter.disabled) return undefined;
    const decision = limiter.take(clientAddress(c));
    if (!decision.allowed) {
      metrics?.rateLimited("ip");
      return refuse(
        c,
        429,
        "rate_limited",
        `Too many requests from your address: at most ${decision.limit} a minute. Retry in ${decision.retryAfterSeconds} s.`,
        rateLimitHeaders(decision),
        { retry_after: decision.retryAfterSeconds },
      );
    }
    return undefined;
  });
}
