/**
 * `drainGuard`: while the bot shuts down, hook requests get `503 shutting_down` with
 * Retry-After instead of reaching a store or queue that may already be closing; while the
 * storage file is lost (deleted under the running bot), `503 storage_unavailable`, since an
 * accepted message could not survive a restart.
 *
 * @module
 */
import { type Guard, guard, refuse } from "./env.ts";

/**
 * Refuses new hook requests with `503` while shutting down or while the storage is lost.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Hono } from "hono";
 * import type { IngestEnv } from "./env.ts";
 *
 * let stopping = false;
 * const app = new Hono<IngestEnv>()
 *   .post("/hook/:token", drainGuard({ draining: () => stopping }), (c) => c.text("ok"));
 * stopping = true;
 * assert.equal((await app.request("/hook/x", { method: "POST" })).status, 503);
 * ```
 */
export function drainGuard(options: {
  draining?: (() => boolean) | undefined;
  /** Non-null while the storage cannot keep what is accepted. */
  storageLost?: (() => string | null) | undefined;
}): Guard {
  const draining = options.draining ?? (() => false);
  const storageLost = options.storageLost ?? (() => null);
  return guard(function drainGuard(c) {
    if (draining()) {
      return refuse(c, 503, "shutting_down", "The bot is restarting. Retry in a few seconds.", {
        "Retry-After": "5",
      });
    }
    if (storageLost() !== null) {
      return refuse(
        c,
        503,
        "storage_unavailable",
        "The bot's storage file was deleted or replaced while it runs; nothing can be stored until an operator restarts it. Retry later.",
        { "Retry-After": "30" },
      );
    }
    return undefined;
  });
}
