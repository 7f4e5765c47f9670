/**
 * The Hono environment every hook route shares: what the server (`listenHttp`) passes as bindings and what
 * the middleware put into `c.var` for the handlers after them.
 *
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import type { HookRef } from "../../delivery/mod.ts";
import type { CidrList } from "../../net/mod.ts";
import { JsonAnswer } from "../_server_response.ts";

/**
 * A hook found by its token: what delivery needs plus its id, and `viaOldToken` when the token
 * is a rotated-out one in its grace period.
 */
export type FoundHook = HookRef & { readonly id: string; readonly viaOldToken?: boolean };

/** What the middleware leave in `c.var`, in the order they run. */
export interface HookVariables {
  /** The route label for metrics and logs (`hook`, `hooks`, `deliveries`…); set by {@link requestLog}. */
  route: string;
  /** The client's address once something asked for it ({@link clientAddress}). */
  clientIp: string;
  /** Peers whose X-Forwarded-For is believed; set by `ipLimit`, read by {@link clientAddress}. */
  trustedProxies: CidrList;
  /** The hook the token names; set by `hookAuth`. */
  hook: FoundHook;
  /** The token as the client sent it (never logged in full). */
  token: string;
  /** The whole request body, read within the size, time and memory limits; set by `rawBody`. */
  rawBody: Uint8Array;
  /** The body as sent when it came with a `Content-Encoding` (`rawBody` holds it decoded). */
  sentBody: Uint8Array;
  /** What the handler did, for the request log line and the metrics; set by the handler. */
  delivery: DeliveryNote;
  /** The machine code of a refusal answered by {@link refuse} (for the hook's request history). */
  refusal: string;
  /** Headers the answer carries, set by {@link setHeader} (rate limits, `X-Delivery-Id`…). */
  answerHeaders: [string, string][];
}

/** What a handler that dispatched a message tells {@link requestLog}. */
export interface DeliveryNote {
  /** Which format the body was read as. */
  readonly format: string;
  /** What became of the message. */
  readonly outcome: "delivered" | "queued" | "partial" | "refused";
  /** The stored answer of an earlier request with the same `Idempotency-Key`. */
  readonly replay?: boolean;
}

/** The Hono env of the hook routes. The server (`listenHttp`) passes the peer as bindings. */
export type IngestEnv = {
  Bindings: { remoteAddr?: { hostname?: string; port?: number; transport?: string } };
  Variables: HookVariables;
};

/** The JSON error body every failure uses: `{ok:false, error, message, ...extra}`. */
export function errorBody(
  code: string,
  message: string,
  extra: Record<string, unknown> = {},
): { ok: false; error: string; message: string; [field: string]: unknown } {
  return { ok: false as const, error: code, message, ...extra };
}

/** Answers an error in the common shape, with extra headers. */
export function refuse(
  c: Context,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
  extra: Record<string, unknown> = {},
): Response {
  for (const [k, v] of Object.entries(headers)) setHeader(c, k, v);
  c.set("refusal", code);
  return jsonAnswer(c, errorBody(code, message, extra), status);
}

/**
 * Sets a header of the answer: for a {@link jsonAnswer} and for an answer Hono builds
 * (`c.json`, `c.text`: the dialects' own answers). Every header the hook routes set goes
 * through here, since a {@link jsonAnswer} does not see what `c.header` alone set.
 */
export function setHeader(c: Context, name: string, value: string): void {
  c.header(name, value);
  const set = (c as Context<IngestEnv>).get("answerHeaders");
  if (set === undefined) (c as Context<IngestEnv>).set("answerHeaders", [[name, value]]);
  else {
    const at = set.findIndex(([n]) => n.toLowerCase() === name.toLowerCase());
    if (at >= 0) set[at] = [name, value];
    else set.push([name, value]);
  }
}

/**
 * A JSON answer of the hook routes, with the headers {@link setHeader} set: the bot's server
 * writes it without a fetch `Response` (`_server_response.ts` says why); to Hono and to tests
 * it is a `Response`.
 */
export function jsonAnswer(c: Context, body: unknown, status: number): Response {
  const headers = (c as Context<IngestEnv>).get("answerHeaders");
  return new JsonAnswer(JSON.stringify(body), status, headers) as unknown as Response;
}

/** Counters the hook routes report; the Prometheus module implements them. */
export interface IngestMetrics {
  /** One answered request of a route (and hook, once known). */
  request(route: string, hookId: string, status: number): void;
  /** One request refused by a rate limit. */
  rateLimited(scope: "ip" | "token"): void;
}

/**
 * A step of a hook route that answers (a refusal) or lets the request go on (`undefined`),
 * possibly after awaiting something: the shutdown 503, the rate limits, the token lookup, the
 * body read. Used as a Hono middleware it calls `next` when the check passes; the hook routes'
 * pipeline (`HookPipeline.route` in app.ts) calls the checks one after another in one frame
 * instead, so a request does not hold an async frame, a promise and a `next` closure per step
 * for as long as it is delivered: objects of requests in flight are what a scavenge promotes
 * (issue 16, docs/benchmarks.md).
 */
export type Guard = MiddlewareHandler<IngestEnv> & {
  /** The check itself: an answer to stop with, or `undefined` to go on. */
  readonly check: (
    c: Context<IngestEnv>,
  ) => Response | undefined | Promise<Response | undefined>;
};

/** Makes a {@link Guard} of a check. */
export function guard(check: Guard["check"]): Guard {
  const middleware: MiddlewareHandler<IngestEnv> = async (c, next) => {
    return (await check(c)) ?? await next();
  };
  return Object.assign(middleware, { check });
}

/**
 * A step that watches a request rather than deciding it: `observe` runs when the request
 * reaches it and returns what runs once the answer is set (the request log and its metrics).
 * Used as a Hono middleware it wraps `next`; the hook routes' pipeline calls both ends in its
 * one frame (see {@link Guard} for why).
 */
export type Observer = MiddlewareHandler<IngestEnv> & {
  /** Runs before the rest of the route; returns what runs after its answer. */
  readonly observe: (c: Context<IngestEnv>) => () => void;
};

/** Makes an {@link Observer}. */
export function observer(observe: Observer["observe"]): Observer {
  const middleware: MiddlewareHandler<IngestEnv> = async (c, next) => {
    const end = observe(c);
    await next();
    end();
  };
  return Object.assign(middleware, { observe });
}
