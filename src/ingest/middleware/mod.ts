/**
 * The middleware of the hook routes, each a factory taking an options object (the Hono way).
 * A hook route runs, cheapest and most protective first:
 *
 * `requestLog` → `drainGuard` → `ipLimit` → `hookAuth` (token → `c.var.hook`) → `hookLimit`
 * → `rawBody` (size/time/memory limits, then the per-hook guards on the raw bytes) → handler.
 *
 * `src/ingest/app.ts` builds one shared set of them (its `HookPipeline`); a new route takes its
 * pieces from there so it shares the per-IP and per-hook budgets.
 *
 * @module
 */
export { clientAddress } from "./client_address.ts";
export { drainGuard } from "./drain_guard.ts";
export {
  type DeliveryNote,
  errorBody,
  type FoundHook,
  type HookVariables,
  type IngestEnv,
  type IngestMetrics,
  refuse,
} from "./env.ts";
export { hookAuth, type HookAuthOptions, type HookLookup, type TokenSource } from "./hook_auth.ts";
export { hookLimit, type HookLimitOptions } from "./hook_limit.ts";
export { ipLimit, type IpLimitOptions } from "./ip_limit.ts";
export {
  type GuardRefusal,
  type GuardRequest,
  type HookGuard,
  rawBody,
  type RawBodyOptions,
} from "./raw_body.ts";
export { type HookRequestRecord, requestLog, type RequestLogOptions } from "./request_log.ts";
