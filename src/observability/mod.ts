/**
 * What an operator sees of a running bot: Prometheus metrics ({@link createMetrics}) and the
 * structured log ({@link createLogger}).
 *
 * The `GET /metrics` route that serves the metrics (`metricsApp` in `metrics_route.ts`) is a
 * Hono app, so it is not on this face (Hono's types are not ours to document); the composition
 * root (`src/bot.ts`) imports it from its file and mounts it on the bot's root app.
 *
 * @module
 */

export {
  createMetrics,
  type DeliveredKind,
  type DeliveryResult,
  type HttpRequestLabels,
  type HttpRoute,
  type Metrics,
  type MetricsOptions,
  type OutgoingOutcome,
  type RateLimitScope,
} from "./metrics.ts";
export {
  createLogger,
  type LogFields,
  type LogFormat,
  type Logger,
  type LoggerOptions,
  type LogLevel,
  redact,
  silentLogger,
} from "../log.ts";
