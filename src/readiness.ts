/**
 * What `/readyz` says: ready only while the TrueConf socket is connected and authorized and
 * requests are being answered. Its own module so the composition root and the endpoint tests
 * judge readiness by the same rule.
 *
 * @module
 */
import type { Readiness } from "./ingest/mod.ts";
import type { ConnectionState } from "./trueconf/mod.ts";

/**
 * The problems that are TrueConf's state, not the bot's, in the fixed words `/readyz` shows.
 * While only these are listed the bot is healthy (it answers 202 and queues): the container
 * health check (`healthcheck`, src/cli/healthcheck.ts) stays healthy on them.
 */
export const TRUECONF_PROBLEMS = {
  disconnected: "not connected to TrueConf",
  unauthorized: "connected to TrueConf but not authorized",
  silent: "TrueConf stopped answering requests",
} as const;

/**
 * The bot's own problems, in the fixed words `/readyz` shows: the container health check counts
 * them as unhealthy. What a hook request gets meanwhile differs (docs/deploy.md, "Health
 * endpoints"): `storageGone` and `draining` refuse it (503), `feedUnread` does not.
 */
export const BOT_PROBLEMS = {
  storageGone: "the storage file is gone",
  feedUnread: "the store's change feed cannot be read",
  draining: "shutting down",
} as const;

/** Options of {@link trueconfReadiness}. */
export interface ReadinessOptions {
  /** True while shutting down. */
  draining?: boolean;
  /** Extra details for operators (e.g. queue stats); they do not affect readiness. */
  details?: Record<string, unknown>;
  /** What everyone may see beside `ok` (e.g. the queue's depth). */
  summary?: Record<string, unknown>;
  /**
   * Other reasons not to be ready: `detail` for operators (it may name a path), `public` in
   * fixed words for everyone (e.g. the storage file was deleted).
   */
  problems?: readonly { readonly detail: string; readonly public: string }[];
}

/**
 * Readiness from a TrueConf connection snapshot. A silent server (socket open, requests
 * timing out) counts as not ready: messages do not go out (hooks are queued, 202), which
 * monitoring should see. Not ready is not refusing: a load balancer watches `/healthz`
 * (docs/deploy.md, "Health endpoints").
 *
 * Everyone sees `problems` in fixed words (issue 4: the body says what is wrong) and nothing
 * that names TrueConf's address, the bot's id, the token's expiry or a path (issue 17.7); the
 * operator's details (METRICS_TOKEN, or loopback) add those.
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
  const shared: string[] = [];
  if (!s.connected) shared.push(TRUECONF_PROBLEMS.disconnected);
  else if (!s.authorized) shared.push(TRUECONF_PROBLEMS.unauthorized);
  if (s.consecutiveTimeouts > 0) shared.push(TRUECONF_PROBLEMS.silent);
  if (options.draining) shared.push(BOT_PROBLEMS.draining);
  const other = options.problems ?? [];
  return {
    ready: shared.length + other.length === 0,
    summary: { problems: [...shared, ...other.map((p) => p.public)], ...options.summary },
    details: {
      problems: [...shared, ...other.map((p) => p.detail)],
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
