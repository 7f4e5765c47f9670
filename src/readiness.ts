/**
 * What `/readyz` says: ready only while the TrueConf socket is connected and authorized and
 * requests are being answered. Its own module so the composition root and the endpoint tests
 * judge readiness by the same rule.
 *
 * @module
 */
import type { Readiness } from "./ingest/mod.ts";
import type { ConnectionState } from "./trueconf/mod.ts";

/** Options of {@link trueconfReadiness}. */
export interface ReadinessOptions {
  /** True while shutting down. */
  draining?: boolean;
  /** Extra details for operators (e.g. queue stats); they do not affect readiness. */
  details?: Record<string, unknown>;
  /** What everyone may see beside `ok` (e.g. the queue's depth). */
  summary?: Record<string, unknown>;
  /** Other reasons not to be ready (e.g. the storage file was deleted). */
  problems?: readonly string[];
}

/**
 * Readiness from a TrueConf connection snapshot. A silent server (socket open, requests
 * timing out) counts as not ready: a load balancer should stop sending hooks that would
 * only wait and fail.
 *
 * @example
 * ```ts
 * import type { TrueConfClient } from "./trueconf/mod.ts";
 *
 * function readyz(client: TrueConfClient): void {
 *   const r = trueconfReadiness(client.state, { draining: false });
 *   if (!r.ready) console.log(r.details["problems"]);
 * }
 * ```
 */
export function trueconfReadiness(s: ConnectionState, options: ReadinessOptions = {}): Readiness {
  const problems: string[] = [];
  if (!s.connected) problems.push("not connected to TrueConf");
  else if (!s.authorized) problems.push("connected to TrueConf but not authorized");
  if (s.consecutiveTimeouts > 0) problems.push("TrueConf stopped answering requests");
  if (options.draining) problems.push("shutting down");
  if (options.problems) problems.push(...options.problems);
  return {
    ready: problems.length === 0,
    summary: options.summary ?? {},
    details: {
      problems,
      trueconf: {
        connected: s.connected,
        authorized: s.authorized,
        lastError: s.lastError,
        botId: s.botId,
        tokenExpiresAt: s.tokenExpiresAt ? new Date(s.tokenExpiresAt).toISOString() : null,
        reconnects: s.reconnects,
      },
      ...options.details,
    },
  };
}
