/**
 * The HTTP side's building blocks other folders use: the bot's HTTP/1.1 server
 * ({@link listenHttp}; docs/limits.md says why it is not `Deno.serve`), what `/readyz` reports
 * ({@link Readiness}), body decoding ({@link decodeBody}, also used for the answers of outgoing
 * webhooks), the body reader with its size, time and memory limits ({@link BodyReader}), the
 * client address behind trusted proxies ({@link clientIp}; the ranges themselves are
 * `src/net/`'s) and the rate limiter. Payload formats (native, Slack, Grafana, …) live in
 * `formats/`, with their own face; the contracts the hook routes' middleware ask of the rest of
 * the bot (the hook lookup, per-hook guards, metrics, the request record) are the face of
 * `middleware/`.
 *
 * The Hono app itself (`createApp` in `app.ts`: `POST /hook/<token>` and the other hook routes,
 * `/healthz`, `/readyz`; the `HookPipeline` every hook route is built from and the middleware
 * factories) is not part of this face: its signatures are Hono's types (`Hono`, `Context`,
 * `MiddlewareHandler`), which are not ours to document. The composition root (`src/bot.ts`)
 * imports it from `app.ts` and mounts it on the bot's root app beside `/metrics`, whose router
 * (`hook_first_router.ts`: `POST /hook/<token>` without a search) it takes from there too.
 *
 * @module
 */

export type { Readiness } from "./app.ts";
export { clientIp, normalizeIp } from "./client_ip.ts";
export { ACCEPTED_CONTENT_TYPES, decodeBody, type DecodeLimits } from "./decode_body.ts";
export { decodeContentEncoding } from "./content_coding.ts";
export {
  type ClientMistake,
  type FetchHandler,
  type HttpServer,
  type HttpServerOptions,
  listenHttp,
  MAX_CONNECTIONS,
  type ServeInfo,
} from "./http_server.ts";
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
  type BudgetShare,
  readBodyLimited,
  SMALL_BODY_BYTES,
} from "./read_body.ts";
// Named by decodeBody's and BodyError's signatures.
export {
  type IgnoredParts,
  PayloadError,
  type RequestBody,
  type UploadedFile,
} from "./formats/types.ts";
