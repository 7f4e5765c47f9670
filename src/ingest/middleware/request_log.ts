/**
 * `requestLog`: the outermost middleware of a hook route. It labels the request with its
 * route, counts every answer (refusals included) and writes the one info line per delivery
 * operators read, from what the handler left in `c.var.delivery`, and one per request to a URL
 * no hook has.
 *
 * @module
 */
import type { Context } from "hono";
import { maskToken } from "../../hooks/token.ts";
import type { Logger } from "../../log.ts";
import { type IngestEnv, type IngestMetrics, type Observer, observer } from "./env.ts";
import { clientAddress } from "./client_address.ts";

/** What {@link RequestLogOptions.onRequest} hears after each answered hook request. */
export interface HookRequestRecord {
  /** The route label. */
  readonly route: string;
  /** The HTTP status answered. */
  readonly status: number;
  /** The format the body was read as, when it got that far. */
  readonly format?: string | undefined;
  /** What became of the message, when one was dispatched. */
  readonly outcome?: string | undefined;
  /** The machine code of a refusal (`signature_invalid`, `payload_too_large`…). */
  readonly error?: string | undefined;
  /** The request's headers (e.g. to release a Standard Webhooks id after a failed answer). */
  readonly headers: Headers;
  /**
   * The client address, only when the request came on a rotated-out URL during its grace: who
   * still has to switch (`/webhook_info` shows it).
   */
  readonly oldUrlFrom?: string | undefined;
}

/** Options of {@link requestLog}. */
export interface RequestLogOptions {
  /** The route label (`hook`, `hooks`, `deliveries`, `gotify`…), as metrics show it. */
  route: string;
  /** Counts every answer. */
  metrics?: IngestMetrics | undefined;
  /** Where the per-delivery info line goes. */
  logger: Logger;
  /** Called after each answer of a request whose hook was found (e.g. request history). */
  onRequest?: ((hookId: string, record: HookRequestRecord) => void) | undefined;
}

/**
 * Counts and logs the request once the rest of the chain has answered.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import type { IngestEnv } from "./env.ts";
 * import type { Logger } from "../../log.ts";
 *
 * function gotify(logger: Logger): Hono<IngestEnv> {
 *   return new Hono<IngestEnv>()
 *     .post("/message", requestLog({ route: "gotify", logger }), (c) => c.text("ok"));
 * }
 * ```
 */
export function requestLog(options: RequestLogOptions): Observer {
  const { route, metrics, logger } = options;
  const { onRequest } = options;
  return observer(function requestLog(c) {
    const started = performance.now();
    c.set("route", route);
    return () => answered(c, started);
  });

  function answered(c: Context<IngestEnv>, started: number): void {
    const hook = c.get("hook");
    const status = c.res.status;
    metrics?.request(route, hook?.id ?? "unknown", status);
    const delivery = c.get("delivery");
    if (hook && onRequest) {
      onRequest(hook.id, {
        route,
        status,
        format: delivery?.format,
        outcome: delivery?.outcome,
        error: c.get("refusal"),
        headers: c.req.raw.headers,
        oldUrlFrom: hook.viaOldToken ? clientAddress(c) : undefined,
      });
    }
    if (!hook && c.get("refusal") === "hook_not_found") {
      // A sender with a mistyped, revoked or stale URL: the operator's first question is who,
      // and with which URL (masked). At most the per-IP rate limit's worth of lines per client.
      logger.info("unknown hook URL", {
        route,
        token: maskToken(c.get("token") ?? ""),
        ip: clientAddress(c),
        status,
      });
      return;
    }
    if (!hook || !delivery) return;
    const seconds = (performance.now() - started) / 1000;
    logger.info("hook delivery", {
      hook: hook.id,
      chat: hook.chatId,
      token: maskToken(c.get("token")),
      // The client as the trusted-proxy rules resolve it: who sent this, for the operator.
      ip: clientAddress(c),
      format: delivery.format,
      status,
      outcome: delivery.outcome,
      ...(delivery.replay ? { replay: true } : {}),
      ms: Math.round(seconds * 1000),
    });
  }
}
