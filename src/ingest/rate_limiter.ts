/**
 * Per-key token-bucket rate limiting with bounded memory: the state of at most `maxKeys`
 * keys is kept in a bounded cache, so a flood of random client IPs or tokens cannot grow it.
 *
 * A bucket holds `limit` tokens and refills continuously at `limit` per minute, which
 * allows short bursts and an even long-run rate (unlike fixed windows, which allow twice
 * the limit across a window edge).
 *
 * @module
 */
import { type BoundedCache, boundedCache } from "../bounded_cache.ts";

/** Options of {@link RateLimiter}. */
export interface RateLimiterOptions {
  /** Requests per minute per key; 0 disables the limiter. */
  perMinute: number;
  /** Most keys tracked at once; the least recently seen are forgotten. Default 100 000. */
  maxKeys?: number;
  /** Clock in ms; injectable for tests. */
  now?: () => number;
}

/** The decision for one request, with what the `X-RateLimit-*` headers should say. */
export interface RateDecision {
  /** Whether the request may pass. */
  readonly allowed: boolean;
  /** Requests a minute (0 = off). */
  readonly limit: number;
  /** Tokens left after this request. */
  readonly remaining: number;
  /** Seconds until the bucket is full again. */
  readonly resetSeconds: number;
  /** Seconds to wait before the next request can pass (0 when allowed). */
  readonly retryAfterSeconds: number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/**
 * A token-bucket limiter keyed by client IP or hook id.
 *
 * @example
 * ```ts
 * const ip = new RateLimiter({ perMinute: 120 });
 * const d = ip.take("203.0.113.7");
 * if (!d.allowed) console.log(`retry in ${d.retryAfterSeconds}s`);
 * ```
 */
export class RateLimiter {
  readonly #limit: number;
  readonly #perMs: number;
  readonly #now: () => number;
  readonly #maxKeys: number;
  /** Built on first use: with the limit off (or before any request) it costs no memory. */
  #buckets: BoundedCache<string, Bucket> | undefined;

  /** A limiter; buckets are created on first use. */
  constructor(options: RateLimiterOptions) {
    this.#limit = options.perMinute;
    this.#perMs = options.perMinute / 60_000;
    this.#now = options.now ?? Date.now;
    this.#maxKeys = options.maxKeys ?? 100_000;
  }

  /** True when the limiter lets everything through. */
  get disabled(): boolean {
    return this.#limit <= 0;
  }

  /** Number of keys currently tracked (bounded by `maxKeys`). */
  get size(): number {
    return this.#buckets?.size ?? 0;
  }

  /** Takes one token for `key` if there is one. */
  take(key: string): RateDecision {
    const limit = this.#limit;
    if (limit <= 0) {
      return { allowed: true, limit: 0, remaining: 0, resetSeconds: 0, retryAfterSeconds: 0 };
    }
    const now = this.#now();
    const buckets = this.#buckets ??= boundedCache(this.#maxKeys);
    let b = buckets.get(key);
    if (!b) {
      b = { tokens: limit, updatedAt: now };
      buckets.set(key, b);
    } else {
      b.tokens = Math.min(limit, b.tokens + (now - b.updatedAt) * this.#perMs);
      b.updatedAt = now;
    }
    const allowed = b.tokens >= 1;
    if (allowed) b.tokens -= 1;
    return {
      allowed,
      limit,
      remaining: Math.floor(b.tokens),
      resetSeconds: Math.ceil((limit - b.tokens) / this.#perMs / 1000),
      retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil((1 - b.tokens) / this.#perMs / 1000)),
    };
  }
}

/**
 * True when a decision should carry the `X-RateLimit-*` headers on a success: only once few
 * requests are left (at most a tenth of the limit, and at least the last two). Sending them on
 * every answer would take each response off Deno's fast path for static responses (issue 16:
 * +4–5 µs each) to tell clients far from the limit nothing they need; refusals always carry them.
 */
export function rateLimitWorthTelling(d: RateDecision): boolean {
  return !d.allowed || d.remaining <= Math.max(2, Math.floor(d.limit / 10));
}

/** The `X-RateLimit-*` (and, when refused, `Retry-After`) headers for a decision. */
export function rateLimitHeaders(d: RateDecision): Record<string, string> {
  const h: Record<string, string> = {
    "X-RateLimit-Limit": String(d.limit),
    "X-RateLimit-Remaining": String(d.remaining),
    "X-RateLimit-Reset": String(d.resetSeconds),
  };
  if (!d.allowed) h["Retry-After"] = String(d.retryAfterSeconds);
  return h;
}
