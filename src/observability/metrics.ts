/**
 * Prometheus metrics of the bot, on a registry the app owns (never a global one, so tests and
 * several app instances never share counters).
 *
 * Label values are closed sets or hook ids, never anything a caller typed: a hook token in a
 * label would be published to whoever can scrape `/metrics`, and free-form values would let
 * callers grow the series count without bound.
 *
 * @module
 */
import { Counter, Gauge, Histogram, Registry } from "./_exposition.ts";

/** Reasons a part fails for good (label values of `failed_parts_total`); others are `other`. */
const PART_REASONS = new Set([
  "fetch_failed",
  "unsafe_url",
  "upload_failed",
  "upload_rejected",
  "chat_unavailable",
  "trueconf_error",
  "spool_lost",
]);

/**
 * Route families counted in `http_requests_total` (the hook routes; `/healthz`, `/readyz` and
 * `/metrics` are not counted). Every other route (messages, Slack, GitHub, Gotify, ntfy) counts
 * as `other`, as docs/deploy.md's metrics table says.
 */
export type HttpRoute = "hook" | "hooks" | "deliveries" | "other";

/**
 * How an accepted message's delivery ended: every part posted, some parts failed for good, or
 * none posted (a queued message ends later, and is observed then with its wait).
 */
export type DeliveryResult = "delivered" | "partial" | "failed";

/** Which limiter rejected a request. */
export type RateLimitScope = "ip" | "token";
const RATE_LIMIT_SCOPES: readonly RateLimitScope[] = ["ip", "token"];

/** What kind of chat message was sent. */
export type DeliveredKind = "text" | "photo" | "document";
const DELIVERED_KINDS: readonly DeliveredKind[] = ["text", "photo", "document"];

/** How one outgoing webhook attempt ended (see `src/outgoing/call.ts`). */
export type OutgoingOutcome = "answered" | "retry" | "refused" | "failed";
const OUTGOING_OUTCOMES: readonly OutgoingOutcome[] = ["answered", "retry", "refused", "failed"];

/** Options of {@link createMetrics}. */
export interface MetricsOptions {
  /** Shown in `trueconf_webhook_build_info{version}`; omitted when not given. */
  version?: string;
  /**
   * Most distinct hook ids kept as label values; later ones count as `other`. Default 1000.
   * Bounds memory and scrape size even if hooks are created and revoked in a loop.
   */
  maxHookLabels?: number;
  /** Clock for the process start time; tests pass a fixed one. Default `Date.now`. */
  now?: () => number;
}

/** Labels of one counted HTTP request. */
export interface HttpRequestLabels {
  /** Which route answered; a value outside {@link HttpRoute} is counted as `other`. */
  route: HttpRoute;
  /** The hook's id (a UUID) once the token was resolved; anything else is counted as `unknown`. */
  hook?: string | null | undefined;
  /** The HTTP status sent. */
  status: number;
}

/** The bot's metrics with typed helpers; see {@link createMetrics}. */
export interface Metrics {
  /** `trueconf_webhook_http_requests_total{route,hook,status}`. */
  readonly httpRequests: { inc(labels: HttpRequestLabels): void };
  /** `trueconf_webhook_delivery_duration_seconds{result}`. */
  readonly deliveryDuration: {
    observe(result: DeliveryResult, seconds: number): void;
  };
  /** `trueconf_webhook_queue_depth`: messages waiting in the durable queue. */
  readonly queueDepth: { set(depth: number): void };
  /**
   * `trueconf_webhook_queue_oldest_age_seconds`: age of the oldest waiting delivery, read
   * from `source` at scrape time (0 when nothing waits).
   */
  readonly queueOldestAge: { source(read: () => number): void };
  /** `trueconf_webhook_failed_parts_total{reason}`: parts (attachments, texts) that failed for good. */
  readonly failedParts: { inc(reason: string): void };
  /** `trueconf_webhook_trueconf_connected`: 1 while the WebSocket is open. */
  readonly trueconfConnected: { set(up: boolean): void };
  /** `trueconf_webhook_trueconf_authorized`: 1 once the bot authenticated on the socket. */
  readonly trueconfAuthorized: { set(ok: boolean): void };
  /** `trueconf_webhook_trueconf_reconnects_total`. */
  readonly trueconfReconnects: { inc(): void };
  /** `trueconf_webhook_trueconf_token_expiry_timestamp_seconds`; `null` (unknown) shows 0. */
  readonly trueconfTokenExpiry: { set(unixSeconds: number | null): void };
  /** `trueconf_webhook_rate_limit_rejections_total{scope}`. */
  readonly rateLimitRejections: { inc(scope: RateLimitScope): void };
  /** `trueconf_webhook_delivered_messages_total{kind}`. */
  readonly deliveredMessages: { inc(kind: DeliveredKind, count?: number): void };
  /**
   * `trueconf_webhook_outgoing_calls_total{outcome}` and
   * `trueconf_webhook_outgoing_call_duration_seconds{outcome}`: one outgoing webhook attempt.
   */
  readonly outgoingCall: { observe(outcome: OutgoingOutcome, seconds: number): void };
  /**
   * `trueconf_webhook_rotated_token_uses_total{hook}`: requests that used a hook's old,
   * rotated-out URL during its grace period (find the senders still to update before it ends).
   */
  readonly rotatedTokenUses: { inc(hook: string): void };
  /** The exposition text and its content type, for `GET /metrics`. */
  render(): Promise<{ contentType: string; body: string }>;
}

const PREFIX = "trueconf_webhook_";

// Hook ids are UUIDs minted by the store. Matching the exact shape is what keeps a token (URL-safe
// base64 of another length and alphabet) out of the label even when a caller passes one by mistake.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// One attempt: from a 1 ms in-memory hand-off to a 30 s upload to a slow server (the delivery
// timeout caps it).
const ATTEMPT_BUCKETS = [
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  20,
  30,
];

// A message's delivery: one attempt, or a queued message's wait for TrueConf (minutes to hours;
// buckets past the last one a sync delivery can reach cost it nothing: the search stops early).
const DELIVERY_BUCKETS = [...ATTEMPT_BUCKETS, 60, 300, 900, 3600];

const ROUTES: ReadonlySet<string> = new Set<HttpRoute>(["hook", "hooks", "deliveries", "other"]);

/**
 * Creates the bot's metrics on a fresh registry.
 *
 * Process metrics are a small set of our own (resident memory, heap, start time), read from
 * `Deno.memoryUsage()`, which needs no permission.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const metrics = createMetrics({ version: "1.0.0" });
 * metrics.httpRequests.inc({ route: "hook", hook: "7f3a", status: 200 });
 * const { contentType, body } = await metrics.render();
 * assert.match(contentType, /^text\/plain/);
 * assert.match(body, /route="hook"/);
 * ```
 */
export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  const registers = [registry];
  const maxHookLabels = options.maxHookLabels ?? 1000;
  const seenHooks = new Set<string>();
  const startSeconds = Math.floor((options.now ?? Date.now)() / 1000);

  const hookLabel = (hook: string | null | undefined): string => {
    // A hook seen before passed the shape check then: no regex per counted request (issue 16).
    if (hook && seenHooks.has(hook)) return hook;
    if (!hook || !UUID.test(hook)) return "unknown";
    if (seenHooks.size >= maxHookLabels) return "other";
    seenHooks.add(hook);
    return hook;
  };

  const requests = new Counter({
    name: `${PREFIX}http_requests_total`,
    help: "HTTP requests by route family, hook id (never the token) and status code.",
    labelNames: ["route", "hook", "status"] as const,
    registers,
  });
  const duration = new Histogram({
    name: `${PREFIX}delivery_duration_seconds`,
    help:
      "Time from accepting a webhook message to its delivery outcome (a queued one's wait included), once per message.",
    labelNames: ["result"] as const,
    buckets: DELIVERY_BUCKETS,
    registers,
  });
  const queue = new Gauge({
    name: `${PREFIX}queue_depth`,
    help: "Messages waiting in the durable delivery queue.",
    registers,
  });
  let oldestAge: () => number = () => 0;
  new Gauge({
    name: `${PREFIX}queue_oldest_age_seconds`,
    help: "Age of the oldest delivery waiting in the durable queue, in seconds (0 when empty).",
    registers,
    collect() {
      this.set(oldestAge());
    },
  });
  const failedParts = new Counter({
    name: `${PREFIX}failed_parts_total`,
    help: "Parts of messages (attachments, texts) that failed for good, by reason.",
    labelNames: ["reason"] as const,
    registers,
  });
  const connected = new Gauge({
    name: `${PREFIX}trueconf_connected`,
    help: "1 while the WebSocket to TrueConf Server is open, else 0.",
    registers,
  });
  const authorized = new Gauge({
    name: `${PREFIX}trueconf_authorized`,
    help: "1 once the bot is authorized on the TrueConf socket, else 0.",
    registers,
  });
  const reconnects = new Counter({
    name: `${PREFIX}trueconf_reconnects_total`,
    help: "Reconnections to TrueConf Server after the socket closed.",
    registers,
  });
  const tokenExpiry = new Gauge({
    name: `${PREFIX}trueconf_token_expiry_timestamp_seconds`,
    help: "Unix time when the bot's TrueConf access token expires; 0 when unknown.",
    registers,
  });
  const rejections = new Counter({
    name: `${PREFIX}rate_limit_rejections_total`,
    help: "Requests rejected by a rate limiter, by limiter scope.",
    labelNames: ["scope"] as const,
    registers,
  });
  const delivered = new Counter({
    name: `${PREFIX}delivered_messages_total`,
    help: "Chat messages sent to TrueConf, by kind.",
    labelNames: ["kind"] as const,
    registers,
  });
  const outgoingCalls = new Counter({
    name: `${PREFIX}outgoing_calls_total`,
    help: "Outgoing webhook attempts, by outcome (answered, retry, refused, failed).",
    labelNames: ["outcome"] as const,
    registers,
  });
  const outgoingDuration = new Histogram({
    name: `${PREFIX}outgoing_call_duration_seconds`,
    help: "Time of one outgoing webhook attempt, from sending to the end of the answer.",
    labelNames: ["outcome"] as const,
    buckets: ATTEMPT_BUCKETS,
    registers,
  });
  const rotatedTokenUses = new Counter({
    name: `${PREFIX}rotated_token_uses_total`,
    help: "Requests that used a hook's old URL during its rotation grace period, by hook id.",
    labelNames: ["hook"] as const,
    registers,
  });
  if (options.version) {
    new Gauge({
      name: `${PREFIX}build_info`,
      help: "Always 1; the version label names the running build.",
      labelNames: ["version"] as const,
      registers,
    }).set({ version: options.version }, 1);
  }
  new Gauge({
    name: "process_resident_memory_bytes",
    help: "Resident memory size in bytes.",
    registers,
    collect() {
      this.set(Deno.memoryUsage().rss);
    },
  });
  new Gauge({
    name: "process_heap_used_bytes",
    help: "V8 heap in use, in bytes.",
    registers,
    collect() {
      this.set(Deno.memoryUsage().heapUsed);
    },
  });
  new Gauge({
    name: "process_start_time_seconds",
    help: "Start time of the process since the Unix epoch, in seconds.",
    registers,
  }).set(startSeconds);

  // Closed label sets start at 0: a series that first appears at 1 is invisible to increase()
  // and rate() (no earlier sample), so an alert on the first rejection or failed part missed it.
  for (const reason of [...PART_REASONS, "other"]) failedParts.inc({ reason }, 0);
  for (const scope of RATE_LIMIT_SCOPES) rejections.inc({ scope }, 0);
  for (const kind of DELIVERED_KINDS) delivered.inc({ kind }, 0);
  for (const outcome of OUTGOING_OUTCOMES) outgoingCalls.inc({ outcome }, 0);

  return {
    httpRequests: {
      inc({ route, hook, status }) {
        requests.inc({
          route: ROUTES.has(route) ? route : "other",
          hook: hookLabel(hook),
          status: statusLabel(status),
        });
      },
    },
    deliveryDuration: {
      observe(result, seconds) {
        duration.observe({ result }, seconds);
      },
    },
    queueDepth: { set: (depth) => queue.set(depth) },
    queueOldestAge: {
      source(read) {
        oldestAge = read;
      },
    },
    failedParts: {
      inc: (reason) => failedParts.inc({ reason: PART_REASONS.has(reason) ? reason : "other" }),
    },
    outgoingCall: {
      observe(outcome, seconds) {
        outgoingCalls.inc({ outcome });
        outgoingDuration.observe({ outcome }, seconds);
      },
    },
    trueconfConnected: { set: (up) => connected.set(up ? 1 : 0) },
    trueconfAuthorized: { set: (ok) => authorized.set(ok ? 1 : 0) },
    trueconfReconnects: { inc: () => reconnects.inc() },
    trueconfTokenExpiry: { set: (unixSeconds) => tokenExpiry.set(unixSeconds ?? 0) },
    rateLimitRejections: { inc: (scope) => rejections.inc({ scope }) },
    deliveredMessages: { inc: (kind, count = 1) => delivered.inc({ kind }, count) },
    rotatedTokenUses: { inc: (hook) => rotatedTokenUses.inc({ hook: hookLabel(hook) }) },
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}

// Status codes are a closed set too: a NaN or 1e9 from a bug must not mint a new series.
function statusLabel(status: number): string {
  return Number.isInteger(status) && status >= 100 && status <= 599 ? String(status) : "other";
}
