/**
 * The HTTP side of the bot: `POST /hook/<token>` (and the Mattermost-style alias
 * `/hooks/<token>`), delivery status, health and readiness.
 *
 * Order on the hot path, cheapest and most protective first: per-IP limit → token lookup
 * (cached) → per-hook limit → body read with size limit → decode → detect format →
 * attachment checks → dispatch.
 *
 * @module
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { type CidrList, clientIp } from "./client_ip.ts";
import { decodeBody } from "./decode_body.ts";
import { detectFormat } from "./formats/detect.ts";
import { ROUTE_HEADER } from "./formats/mattermost.ts";
import { type ParsedPayload, PayloadError } from "./formats/types.ts";
import { RateLimiter, rateLimitHeaders } from "./rate_limiter.ts";
import { readBodyLimited } from "./read_body.ts";
import type { Dispatcher, DispatchOutcome, HookRef } from "../delivery/dispatch.ts";
import { checkUrl, SafeFetchError } from "../net/mod.ts";
import type { Allowlist } from "../net/mod.ts";
import { maskToken } from "../hooks/token.ts";
import type { Logger } from "../log.ts";
import { silentLogger } from "../log.ts";

/** The hook lookup the endpoint needs (the KV hook store satisfies it). */
export interface HookLookup {
  findByToken(token: string): Promise<(HookRef & { readonly id: string }) | null>;
  recordDelivery(hookId: string): void;
}

/** What `/readyz` reports. */
export interface Readiness {
  readonly ready: boolean;
  readonly details: Record<string, unknown>;
}

/** Counters the endpoint reports; the Prometheus module implements them. */
export interface IngestMetrics {
  request(route: string, hookId: string, status: number): void;
  rateLimited(scope: "ip" | "token"): void;
  delivery(result: "delivered" | "queued" | "failed", seconds: number): void;
}

/** Options of {@link createApp}. */
export interface AppOptions {
  hooks: HookLookup;
  dispatcher: Dispatcher;
  readiness: () => Readiness;
  limits: {
    maxBodyBytes: number;
    maxAttachments: number;
    perIpPerMinute: number;
    perTokenPerMinute: number;
  };
  /** Peers whose X-Forwarded-For is believed. */
  trustedProxies?: CidrList;
  /** Hosts and ranges the attachment fetcher may reach although private. */
  urlAllowlist?: Allowlist;
  /** True while shutting down: new hook requests get 503. */
  draining?: () => boolean;
  metrics?: IngestMetrics;
  /** Extra routes (e.g. `/metrics`) mounted before the catch-all 404. */
  extraRoutes?: (app: Hono) => void;
  logger?: Logger;
}

/** The JSON error body every failure uses. */
export function errorBody(code: string, message: string, extra: Record<string, unknown> = {}) {
  return { ok: false as const, error: code, message, ...extra };
}

type Env = { Bindings: { remoteAddr?: { hostname?: string } } };

/**
 * Builds the Hono app. `Deno.serve` passes its connection info as the env, which is how the
 * per-IP limit sees the peer address.
 *
 * @example
 * ```ts
 * function listen(options: AppOptions): Deno.HttpServer {
 *   const app = createApp(options);
 *   return Deno.serve({ port: 8080 }, app.fetch);
 * }
 * ```
 */
export function createApp(options: AppOptions): Hono<Env> {
  const log = options.logger ?? silentLogger;
  const ipLimiter = new RateLimiter({ perMinute: options.limits.perIpPerMinute });
  const hookLimiter = new RateLimiter({ perMinute: options.limits.perTokenPerMinute });
  const trusted = options.trustedProxies ?? [];
  const metrics = options.metrics;
  const app = new Hono<Env>();

  app.get("/healthz", (c) => c.json({ ok: true }));
  app.get("/readyz", (c) => {
    const r = options.readiness();
    return c.json({ ok: r.ready, ...r.details }, r.ready ? 200 : 503);
  });

  const refuse = (
    c: Context<Env>,
    status: number,
    code: string,
    message: string,
    headers: Record<string, string> = {},
    extra: Record<string, unknown> = {},
  ) => {
    for (const [k, v] of Object.entries(headers)) c.header(k, v);
    return c.json(errorBody(code, message, extra), status as 400);
  };

  /** Per-IP limit, then the token lookup; answers the refusal itself or returns the hook. */
  const admit = async (c: Context<Env>, route: string) => {
    const ip = clientIp(
      c.env?.remoteAddr?.hostname,
      c.req.header("x-forwarded-for") ?? null,
      trusted,
    );
    const ipDecision = ipLimiter.take(ip);
    if (!ipDecision.allowed) {
      metrics?.rateLimited("ip");
      metrics?.request(route, "unknown", 429);
      return {
        response: refuse(
          c,
          429,
          "rate_limited",
          `Too many requests from your address: at most ${ipDecision.limit} a minute. Retry in ${ipDecision.retryAfterSeconds} s.`,
          rateLimitHeaders(ipDecision),
          { retry_after: ipDecision.retryAfterSeconds },
        ),
      };
    }
    const token = c.req.param("token") ?? "";
    const hook = await options.hooks.findByToken(token);
    if (!hook) {
      metrics?.request(route, "unknown", 404);
      // Unknown and revoked look the same on purpose: the URL is the credential.
      return {
        response: refuse(
          c,
          404,
          "hook_not_found",
          "No webhook has this URL: it was revoked or never existed. Ask in the chat for a new one with /webhook_create <name>.",
        ),
      };
    }
    const hookDecision = hookLimiter.take(hook.id);
    // A disabled limiter has nothing to announce; "Remaining: 0" would make clients back off.
    if (!hookLimiter.disabled) {
      for (const [k, v] of Object.entries(rateLimitHeaders(hookDecision))) c.header(k, v);
    }
    if (!hookDecision.allowed) {
      metrics?.rateLimited("token");
      metrics?.request(route, hook.id, 429);
      return {
        response: refuse(
          c,
          429,
          "rate_limited",
          `This webhook takes at most ${hookDecision.limit} requests a minute. Retry in ${hookDecision.retryAfterSeconds} s.`,
          {},
          { retry_after: hookDecision.retryAfterSeconds },
        ),
      };
    }
    return { hook, token };
  };

  const answer = (c: Context<Env>, payload: ParsedPayload, outcome: DispatchOutcome) => {
    switch (outcome.kind) {
      case "delivered":
        if (payload.reply === "slack_ok") return c.text("ok", 200);
        return c.json({ ok: true, messages: outcome.messageIds }, 200);
      case "queued":
        c.header("X-Delivery-Id", outcome.deliveryId);
        // Slack/Mattermost senders accept exactly "200 ok" (Apprise mmost:// treats 202 as a
        // failure); for them "ok" means accepted, which a persisted message is.
        if (payload.reply === "slack_ok") return c.text("ok", 200);
        return c.json({ ok: true, queued: true, delivery: outcome.deliveryId }, 202);
      case "partial":
        return c.json(
          errorBody(
            "partial_delivery",
            `${outcome.failures.length} part(s) could not be posted; the rest reached the chat.`,
            { messages: outcome.messageIds, failed: outcome.failures },
          ),
          502,
        );
      case "refused":
        if (outcome.retryAfterSeconds !== undefined) {
          c.header("Retry-After", String(outcome.retryAfterSeconds));
        }
        return c.json(
          errorBody(
            outcome.code,
            outcome.message,
            outcome.failures ? { failed: outcome.failures } : {},
          ),
          outcome.status,
        );
    }
  };

  const post = (route: string) => async (c: Context<Env>) => {
    const started = performance.now();
    if (options.draining?.()) {
      metrics?.request(route, "unknown", 503);
      return refuse(c, 503, "shutting_down", "The bot is restarting. Retry in a few seconds.", {
        "Retry-After": "5",
      });
    }
    const admitted = await admit(c, route);
    if ("response" in admitted) return admitted.response;
    const { hook, token } = admitted;
    let payload: ParsedPayload;
    try {
      const bytes = await readBodyLimited(c.req.raw, options.limits.maxBodyBytes);
      const body = await decodeBody(bytes, c.req.header("content-type") ?? null, {
        maxFiles: options.limits.maxAttachments,
      });
      const headers = new Map<string, string>();
      c.req.raw.headers.forEach((v, k) => headers.set(k, v));
      // The route marker is ours alone: a client must not pick Mattermost parsing by header.
      headers.delete(ROUTE_HEADER);
      if (route === "hooks") headers.set(ROUTE_HEADER, "hooks");
      const detected = detectFormat({ body, headers }, c.req.query("format") ?? null);
      if (detected.fallback) {
        log.info("unrecognized JSON posted as a code block", {
          hook: hook.id,
          chat: hook.chatId,
          keys: Object.keys(
            body.kind === "json" && body.value && typeof body.value === "object" ? body.value : {},
          )
            .slice(0, 20),
        });
      }
      payload = detected;
      checkAttachments(payload, options.limits.maxAttachments, options.urlAllowlist);
    } catch (e) {
      if (e instanceof PayloadError) {
        metrics?.request(route, hook.id, e.status);
        log.info("hook request refused", {
          hook: hook.id,
          chat: hook.chatId,
          status: e.status,
          error: e.code,
        });
        return refuse(c, e.status, e.code, e.message);
      }
      throw e;
    }

    const idempotencyKey = c.req.header("idempotency-key")?.trim() || undefined;
    if (idempotencyKey && idempotencyKey.length > 255) {
      return refuse(
        c,
        400,
        "invalid_idempotency_key",
        "The Idempotency-Key header must be at most 255 characters.",
      );
    }
    const outcome = await options.dispatcher.dispatch({
      hook,
      message: payload.message,
      idempotencyKey,
    });
    const response = answer(c, payload, outcome);
    const seconds = (performance.now() - started) / 1000;
    if (outcome.kind === "delivered" || outcome.kind === "partial") {
      options.hooks.recordDelivery(hook.id);
    }
    metrics?.request(route, hook.id, response.status);
    metrics?.delivery(
      outcome.kind === "delivered" ? "delivered" : outcome.kind === "queued" ? "queued" : "failed",
      seconds,
    );
    log.info("hook delivery", {
      hook: hook.id,
      chat: hook.chatId,
      token: maskToken(token),
      format: payload.format,
      status: response.status,
      outcome: outcome.kind,
      ms: Math.round(seconds * 1000),
    });
    return response;
  };

  app.post("/hook/:token", post("hook"));
  app.post("/hooks/:token", post("hooks"));

  app.get("/hook/:token/deliveries/:id", async (c) => {
    // While shutting down the store may already be closing: answer plainly instead of a 500.
    if (options.draining?.()) {
      return refuse(c, 503, "shutting_down", "The bot is restarting. Retry in a few seconds.", {
        "Retry-After": "5",
      });
    }
    const admitted = await admit(c, "deliveries");
    if ("response" in admitted) return admitted.response;
    const status = await options.dispatcher.status(admitted.hook.id, c.req.param("id"));
    if (!status) {
      return refuse(c, 404, "delivery_not_found", "This webhook has no delivery with that id.");
    }
    return c.json({ ok: true, delivery: status });
  });

  const wrongMethod = (c: Context<Env>) =>
    refuse(c, 405, "method_not_allowed", "Send messages with POST to this URL.", {
      Allow: "POST",
    });
  app.on(
    ["GET", "PUT", "PATCH", "DELETE", "OPTIONS"],
    ["/hook/:token", "/hooks/:token"],
    wrongMethod,
  );
  app.on(
    ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
    "/hook/:token/deliveries/:id",
    (c) =>
      refuse(c, 405, "method_not_allowed", "Read a delivery's state with GET.", { Allow: "GET" }),
  );

  options.extraRoutes?.(app as unknown as Hono);

  app.notFound((c) =>
    c.json(errorBody("not_found", "Nothing here. Webhooks are POSTed to /hook/<token>."), 404)
  );
  app.onError((err, c) => {
    log.error("unhandled error in HTTP handler", { error: err, path: c.req.path });
    return c.json(
      errorBody("internal_error", "Something went wrong on our side; it has been logged."),
      500,
    );
  });
  return app;
}

/** Attachment count and the syntactic SSRF check, so a bad URL is refused before anything is posted. */
function checkAttachments(payload: ParsedPayload, max: number, allowlist?: Allowlist): void {
  const attachments = payload.message.attachments;
  if (attachments.length > max) {
    throw new PayloadError(
      "too_many_attachments",
      `At most ${max} attachments per request (WEBHOOK_MAX_ATTACHMENTS); this one has ${attachments.length}.`,
    );
  }
  attachments.forEach((a, i) => {
    if (a.source.type !== "url") return;
    try {
      checkUrl(a.source.url, allowlist);
    } catch (e) {
      if (e instanceof SafeFetchError) {
        throw new PayloadError(
          e.code === "invalid_url" ? "invalid_url" : "unsafe_url",
          `Attachment ${i + 1} (${a.source.url.slice(0, 200)}) cannot be fetched: ${e.message}`,
        );
      }
      throw e;
    }
  });
}
