/**
 * `hookLimit`: the per-hook rate limit, after `hookAuth` (it keys on `c.var.hook.id`).
 *
 * @module
 */
import { RateLimiter, rateLimitHeaders, rateLimitWorthTelling } from "../rate_limiter.ts";
import { type Guard, guard, type IngestMetrics, refuse, setHeader } from "./env.ts";

/** Options of {@link hookLimit}. */
export interface HookLimitOptions {
  /** Requests per minute per hook; 0 turns the limit off. */
  perMinute: number;
  /** Counts refusals. */
  metrics?: IngestMetrics | undefined;
  /** A limiter to share between routes; default one of `perMinute`. */
  limiter?: RateLimiter | undefined;
}

/**
 * Refuses with `429 rate_limited` when the hook has used its budget.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import type { IngestEnv } from "./env.ts";
 * import { hookAuth, type HookLookup } from "./hook_auth.ts";
 *
 * function limited(hooks: HookLookup): Hono<IngestEnv> {
 *   return new Hono<IngestEnv>()
 *     .post("/hook/:token", hookAuth({ hooks }), hookLimit({ perMinute: 60 }), (c) => c.text("ok"));
 * }
 * ```
 */
export function hookLimit(options: HookLimitOptions): Guard {
  const limiter = options.limiter ?? new RateLimiter({ perMinute: options.perMinute });
  const { metrics } = options;
  return guard(function hookLimit(c) {
    if (limiter.disabled) return undefined;
    const decision = limiter.take(c.get("hook").id);
    if (rateLimitWorthTelling(decision)) {
      for (const [k, v] of Object.entries(rateLimitHeaders(decision))) setHeader(c, k, v);
    }
    if (!decision.allowed) {
      metrics?.rateLimited("token");
      return refuse(
        c,
        429,
        "rate_limited",
        `This webhook takes at most ${decision.limit} requests a minute. Retry in ${decision.retryAfterSeconds} s.`,
        {},
        { retry_after: decision.retryAfterSeconds },
      );
    }
    return undefined;
  });
}
