/**
 * `drainGuard`: while the bot shuts down, hook requests get `503 shutting_down` with
 * Retry-After instead of reaching a store or queue that may already be closing.
 *
 * @module
 */
import { createMiddleware } from "hono/factory";
import { type IngestEnv, refuse } from "./env.ts";

/**
 * @example
 * ```ts ignore
 * app.post("/hook/:token", drainGuard({ draining: () => stopping }), handler);
 * ```
 */
export function drainGuard(options: { draining?: (() => boolean) | undefined }) {
  const draining = options.draining ?? (() => false);
  return createMiddleware<IngestEnv>(async function drainGuard(c, next) {
    if (draining()) {
      return refuse(c, 503, "shutting_down", "The bot is restarting. Retry in a few seconds.", {
        "Retry-After": "5",
      });
    }
    return await next();
  });
}
