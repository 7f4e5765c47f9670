import assert from "node:assert/strict";
import {
  RateLimiter,
  rateLimitHeaders,
  rateLimitWorthTelling,
} from "../../src/ingest/rate_limiter.ts";

Deno.test("RateLimiter allows a burst up to the limit, then refuses with a retry time", () => {
  let now = 0;
  const l = new RateLimiter({ perMinute: 60, now: () => now });
  for (let i = 0; i < 60; i++) assert.ok(l.take("ip").allowed, `request ${i + 1}`);
  const refused = l.take("ip");
  assert.equal(refused.allowed, false);
  assert.equal(refused.remaining, 0);
  assert.equal(refused.retryAfterSeconds, 1);
  const h = rateLimitHeaders(refused);
  assert.equal(h["Retry-After"], "1");
  assert.equal(h["X-RateLimit-Limit"], "60");
  assert.equal(h["X-RateLimit-Remaining"], "0");
  assert.equal(h["X-RateLimit-Reset"], "60");
  now += 1000; // one token refills per second at 60/min
  assert.ok(l.take("ip").allowed);
  assert.equal(l.take("ip").allowed, false);
});

Deno.test("RateLimiter keeps keys apart and its memory bounded", () => {
  const l = new RateLimiter({ perMinute: 1, maxKeys: 100 });
  assert.ok(l.take("a").allowed);
  assert.ok(l.take("b").allowed);
  assert.equal(l.take("a").allowed, false);
  for (let i = 0; i < 10_000; i++) l.take(`k${i}`);
  assert.equal(l.size, 100);
});

Deno.test("RateLimiter with limit 0 lets everything through", () => {
  const l = new RateLimiter({ perMinute: 0 });
  for (let i = 0; i < 1000; i++) assert.ok(l.take("x").allowed);
  assert.equal(l.size, 0);
});

Deno.test("rateLimitWorthTelling: refusals and the last tenth of the budget", () => {
  const l = new RateLimiter({ perMinute: 100, now: () => 0 });
  const told: number[] = [];
  for (let i = 0; i < 101; i++) {
    const d = l.take("k");
    if (rateLimitWorthTelling(d)) told.push(d.remaining);
  }
  assert.deepEqual(told, [10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0]);
  const small = new RateLimiter({ perMinute: 3, now: () => 0 });
  assert.equal(rateLimitWorthTelling(small.take("k")), true, "remaining 2 of 3 is few");
});
