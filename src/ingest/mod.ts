/**
 * The HTTP side: the Hono app that takes `POST /hook/<token>`, its limits (body size, rates,
 * trusted proxies) and body decoding. Payload formats (native, Slack, Grafana, …) live in
 * `formats/`, with their own face.
 *
 * @module
 */

export {
  type Admission,
  type AdmitOptions,
  type AppOptions,
  createApp,
  type HookPipeline,
  hookPipeline,
  jsonNotFound,
  jsonOnError,
  type Mw,
  type Readiness,
} from "./app.ts";
export * from "./middleware/mod.ts";
export { type CidrList, clientIp, inCidrList, normalizeIp, parseCidrList } from "./client_ip.ts";
export { ACCEPTED_CONTENT_TYPES, decodeBody, type DecodeLimits } from "./decode_body.ts";
export {
  type RateDecision,
  RateLimiter,
  type RateLimiterOptions,
  rateLimitHeaders,
} from "./rate_limiter.ts";
export {
  BodyError,
  BodyReader,
  type BodyReaderOptions,
  readBodyLimited,
  SMALL_BODY_BYTES,
} from "./read_body.ts";

// Types the public API above names, so a reader of this face finds them here.
export type { Context, Handler, Hono, MiddlewareHandler } from "hono";
