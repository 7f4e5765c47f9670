/**
 * Who may read `/readyz` in full. The public answer is only `ok` and the queue's size: the
 * details (bot id, token expiry, TrueConf's internal address in the last error, stuck hooks)
 * help an attacker map the network, so they are shown only to a caller with METRICS_TOKEN as
 * a bearer token, or to a client on this machine (loopback, after the trusted-proxy rules:
 * a request a local reverse proxy forwards carries the real client in X-Forwarded-For and
 * does not count as local).
 *
 * @module
 */
import { normalizeIp } from "./client_ip.ts";

/**
 * True when the caller may see `/readyz` details.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(readinessDetailsAllowed("127.0.0.1", undefined, { token: null }), true);
 * assert.equal(readinessDetailsAllowed("203.0.113.9", undefined, { token: "t0k" }), false);
 * assert.equal(readinessDetailsAllowed("203.0.113.9", "Bearer t0k", { token: "t0k" }), true);
 * ```
 */
export function readinessDetailsAllowed(
  clientIp: string,
  authorization: string | undefined,
  options: { token: string | null },
): boolean {
  const ip = normalizeIp(clientIp) ?? clientIp;
  if (ip === "::1" || /^127\./.test(ip)) return true;
  if (!options.token || !authorization) return false;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  return m !== null && sameText(m[1]!, options.token);
}

/** Compares without leaking, through timing, how much of the token matched. */
function sameText(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}
