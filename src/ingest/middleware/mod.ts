/**
 * The middleware of the hook routes, each a factory taking an options object (the Hono way).
 * A hook route runs, cheapest and most protective first:
 *
 * `requestLog` → `drainGuard` → `ipLimit` → `hookAuth` (token → `c.var.hook`) → `hookLimit`
 * → `rawBody` (size/time/memory limits, then the per-hook guards on the raw bytes) → handler.
 *
 * `src/ingest/app.ts` builds one shared set of them (its `HookPipeline`); a new route takes its
 * pieces from there so it shares the per-IP and per-hook budgets. The factories themselves are not
 * on this face (app.ts imports each from its file): their signatures are Hono's types
 * (`MiddlewareHandler`, `Context`), which no face of ours re-exports. This face holds what the
 * rest of the bot provides or reads: the hook lookup ({@link HookLookup}, the hook store),
 * per-hook checks on the raw body ({@link HookGuard}, sender trust), the counters
 * ({@link IngestMetrics}), the record of each answered request ({@link HookRequestRecord}, request
 * history), what the middleware leave in `c.var` ({@link IngestEnv}) and the JSON error shape
 * ({@link errorBody}).
 *
 * @module
 */
export {
  type DeliveryNote,
  errorBody,
  type FoundHook,
  type HookVariables,
  type IngestEnv,
  type IngestMetrics,
} from "./env.ts";
export type { HookLookup } from "./hook_auth.ts";
export type { GuardRefusal, GuardRequest, HookGuard } from "./raw_body.ts";
export type { HookRequestRecord } from "./request_log.ts";
