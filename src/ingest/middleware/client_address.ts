/**
 * The client's address for a request, computed once and only when something needs it (the
 * per-IP limit, an address allowlist, the log line): parsing the peer and X-Forwarded-For is
 * work the hot path skips when nothing asks.
 *
 * @module
 */
import type { Context } from "hono";
import { clientIp } from "../client_ip.ts";
import type { IngestEnv } from "./env.ts";

/**
 * The TCP peer, or, behind a trusted proxy (`c.var.trustedProxies`), the client it names in
 * X-Forwarded-For. Cached in `c.var.clientIp`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Hono } from "hono";
 * import type { IngestEnv } from "./env.ts";
 *
 * const app = new Hono<IngestEnv>().get("/ip", (c) => c.text(clientAddress(c)));
 * const res = await app.request("/ip", {}, { remoteAddr: { hostname: "::ffff:203.0.113.7" } });
 * assert.equal(await res.text(), "203.0.113.7");
 * ```
 */
export function clientAddress(c: Context<IngestEnv>): string {
  const known = c.get("clientIp");
  if (known !== undefined) return known;
  // The server passes the peer as the env (ServeInfo); app.request() in tests may pass none.
  // (Read directly: `hono/deno`'s getConnInfo does the same, and importing it also loads
  // Hono's static-file, SSG and WebSocket helpers: 7–17 ms and ~1.5 MiB at start.)
  const peer = c.env?.remoteAddr?.hostname;
  const ip = clientIp(peer, c.req.header("x-forwarded-for") ?? null, c.get("trustedProxies") ?? []);
  c.set("clientIp", ip);
  return ip;
}
