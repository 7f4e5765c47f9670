/**
 * What an operator sees of a running bot: Prometheus metrics ({@link createMetrics}, served
 * by {@link metricsApp}) and the structured log ({@link createLogger}).
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
  routeOf,
} from "./metrics.ts";
export { metricsApp, type MetricsRouteOptions } from "./metrics_route.ts";
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
