/**
 * The hook routes: `POST /hook/<token>` (and the Mattermost-style alias `/hooks/<token>`) and
 * `GET /hook/<token>/deliveries/<id>`, plus `/healthz` and `/readyz`. The bot's root app
 * (src/bot.ts) mounts them beside `/metrics`.
 *
 * Every hook route is built from one {@link HookPipeline}, so routes share the per-IP and
 * per-hook budgets, the token lookup and the request log (order and reasons:
 * src/ingest/middleware/mod.ts).
 *
 * @module
 */
import { Hono } from "hono";
import type { Context, Handler, MiddlewareHandler, Next } from "hono";
import { HTTPException } from "hono/http-exception";
import { contentTypeRefusal, decodeBody, parseJsonLenient } from "./decode_body.ts";
// The adapters load with the first request that needs them, not at start (detector.ts says why).
import { detectPayload } from "./formats/detector.ts";
import {
  type ParsedPayload,
  PayloadError,
  type RequestBody,
  ROUTE_HEADER,
} from "./formats/types.ts";
import { type DialectAnswer, successAnswer } from "./formats/answer.ts";
import { isNtfyPublish, NO_QUERY, ntfyTopic } from "./formats/ntfy_publish.ts";
import { fitAttachments } from "./formats/attachment_limit.ts";
import { GOTIFY_MISSING_TOKEN, gotifyToken } from "./formats/gotify.ts";
import { BodyError, BodyReader } from "./read_body.ts";
import type { CidrList } from "../net/mod.ts";
import { readinessDetailsAllowed } from "./readiness_access.ts";
import { payloadDigest as payloadDigestOf } from "./_payload_digest.ts";
import {
  errorBody,
  type HookGuard,
  type HookLookup,
  type HookRequestRecord,
  type IngestEnv,
  type IngestMetrics,
} from "./middleware/mod.ts";
import { ServerHeaders } from "./_server_request.ts";
// The factories are Hono middleware, kept off the middleware face (its module doc says why).
import { clientAddress } from "./middleware/client_address.ts";
import { drainGuard } from "./middleware/drain_guard.ts";
import {
  type Guard,
  guard,
  jsonAnswer,
  type Observer,
  refuse,
  setHeader,
} from "./middleware/env.ts";
import { hookAuth, type MissingToken, type TokenSource } from "./middleware/hook_auth.ts";
import { hookLimit } from "./middleware/hook_limit.ts";
import { ipLimit } from "./middleware/ip_limit.ts";
import { rawBody } from "./middleware/raw_body.ts";
import { requestLog } from "./middleware/request_log.ts";
import type { Dispatcher, DispatchOutcome, MessageEditor, PartFailure } from "../delivery/mod.ts";
import { checkUrl, SafeFetchError } from "../net/mod.ts";
import type { Message } from "../message.ts";
import { MESSAGE_KEY } from "../message.ts";
import type { Allowlist } from "../net/mod.ts";
import type { Logger } from "../log.ts";
import { silentLogger } from "../log.ts";

export { errorBody, type HookLookup, type IngestEnv, type IngestMetrics };

/** What `/readyz` reports. */
export interface Readiness {
  /** True when hooks can be delivered now (`/readyz` 200). */
  readonly ready: boolean;
  /** Everything, for operators: shown with METRICS_TOKEN or to a client on loopback. */
  readonly details: Record<string, unknown>;
  /** The public answer beside `ok` (no bot id, addresses or errors); default none. */
  readonly summary?: Record<string, unknown> | undefined;
}

/** Options of {@link createApp} and {@link hookPipeline}. */
export interface AppOptions {
  /** Finds a hook by its token (the hook store). */
  hooks: HookLookup;
  /** Delivers messages now or later (the durable queue). */
  dispatcher: Dispatcher;
  /** Edits and removals of posted messages (`PATCH`/`DELETE /hook/<token>/messages/<id>`). */
  messages?: MessageEditor | undefined;
  /** What `/readyz` answers. */
  readiness: () => Readiness;
  /** Sizes and rates (WEBHOOK_MAX_UPLOAD_MB, WEBHOOK_MAX_ATTACHMENTS, the rate limits). */
  limits: {
    /** Largest request body (413 beyond). */
    maxBodyBytes: number;
    /** Most attachments in one request. */
    maxAttachments: number;
    /** Requests per minute per client address; 0 = off. */
    perIpPerMinute: number;
    /** Requests per minute per hook; 0 = off. */
    perTokenPerMinute: number;
    /**
     * Bytes of large request bodies in flight at once (503 busy beyond); default 4 ×
     * maxBodyBytes. Ignored when {@link AppOptions.bodies} is given.
     */
    inflightBodyBytes?: number | undefined;
  };
  /** The body reader to share (bot.ts keeps it to cut unfinished bodies at shutdown). */
  bodies?: BodyReader | undefined;
  /** Peers whose X-Forwarded-For is believed. */
  trustedProxies?: CidrList | undefined;
  /** Hosts and ranges the attachment fetcher may reach although private. */
  urlAllowlist?: Allowlist | undefined;
  /** `Authorization: Bearer <this>` shows `/readyz` details (METRICS_TOKEN); loopback always may. */
  readinessToken?: string | null | undefined;
  /** True while shutting down: new hook requests get 503. */
  draining?: (() => boolean) | undefined;
  /** Non-null (the reason) while the storage cannot keep what is accepted: hook requests get 503. */
  storageLost?: (() => string | null) | undefined;
  /** Request and rate-limit counters. */
  metrics?: IngestMetrics | undefined;
  /** Per-hook checks on the raw body before it is parsed (signatures, address allowlists). */
  guards?: readonly HookGuard[] | undefined;
  /** Hears every answered request of a known hook (request history). */
  onRequest?: ((hookId: string, record: HookRequestRecord) => void) | undefined;
  /** Where refusals, deliveries and errors are logged; default silent. */
  logger?: Logger | undefined;
}

/**
 * The shared pieces every hook route is made of. A new route (another sender's dialect,
 * message edits…) takes them from here:
 *
 * ```ts
 * import { Hono } from "hono";
 * import type { IngestEnv } from "./middleware/mod.ts";
 *
 * function gotify(p: HookPipeline): Hono<IngestEnv> {
 *   const token = (c: { req: { query(name: string): string | undefined } }) => c.req.query("token");
 *   return new Hono<IngestEnv>()
 *     .post("/message", ...p.admit("gotify", { token }), p.body, p.deliver);
 * }
 * ```
 */
export interface HookPipeline {
  /**
   * Request log and metrics, the shutdown 503, the per-IP limit, token → `c.var.hook`
   * (`token` says where the token is; default the `:token` path parameter), the per-hook limit.
   */
  admit(route: string, options?: AdmitOptions): Admission;
  /** Reads the body within the limits into `c.var.rawBody` and runs the per-hook guards. */
  readonly body: MiddlewareHandler<IngestEnv>;
  /** Decodes `c.var.rawBody`, detects the format, checks attachments, dispatches, answers. */
  readonly deliver: Handler<IngestEnv>;
  /** Dispatches an already parsed payload for `c.var.hook` and answers in its sender's style. */
  dispatch(c: Context<IngestEnv>, payload: ParsedPayload): Promise<Response>;
  /** The error handler of hook routes: `PayloadError` → its 4xx, anything else → 500. */
  readonly onError: (err: Error, c: Context<IngestEnv>) => Response;
  /**
   * The steps of one route (`...admit(…), body, deliver`) as one Hono handler that runs them
   * in order with {@link HookPipeline.onError} after each, as Hono would run them given one
   * by one. Hono wraps every handler of a sub-app with its own error handler in a
   * `compose` of its own, and composes the matched handlers per request again: for seven
   * steps that was about 20 promises and closures per request (docs/benchmarks.md).
   */
  route(...steps: readonly (Mw | Handler<IngestEnv>)[]): Handler<IngestEnv>;
}

/** A middleware of the hook routes. */
export type Mw = MiddlewareHandler<IngestEnv>;

/** Options of {@link HookPipeline.admit}. */
export interface AdmitOptions {
  /** Where the token is; default the `:token` path parameter. */
  token?: TokenSource | undefined;
  /** The refusal when `token` finds none (else the usual 404). */
  missingToken?: MissingToken | undefined;
  /**
   * Read the body (within the limits, into `c.var.rawBody`) before the token lookup, for
   * senders that put the token in the body (ntfy's JSON publish: `topic`). The per-hook guards
   * still run in `p.body`, which does not read the body again.
   */
  bodyFirst?: boolean | undefined;
}
/** The five middleware of {@link HookPipeline.admit}, as a tuple so routes can spread it. */
export type Admission = readonly [Mw, Mw, Mw, Mw, Mw];

/** Builds the shared middleware and handlers of the hook routes. */
export function hookPipeline(options: AppOptions): HookPipeline {
  const log = options.logger ?? silentLogger;
  const { metrics, limits } = options;
  // One instance of each limiter: every route that admits draws on the same budgets.
  const perIp = ipLimit({
    perMinute: limits.perIpPerMinute,
    trustedProxies: options.trustedProxies,
    metrics,
  });
  const perHook = hookLimit({ perMinute: limits.perTokenPerMinute, metrics });
  const draining = drainGuard({ draining: options.draining, storageLost: options.storageLost });
  const byPath = hookAuth({ hooks: options.hooks });
  const reader = options.bodies ?? new BodyReader({
    inflightBudgetBytes: limits.inflightBodyBytes ?? 4 * limits.maxBodyBytes,
  });
  const readOnly = rawBody({ maxBytes: limits.maxBodyBytes, reader });
  const internalError = jsonOnError(log);

  const dispatch = async (c: Context<IngestEnv>, parsed: ParsedPayload) => {
    // Most messages have no attachments: no await (and its promise) then.
    const payload = parsed.message.attachments.length === 0
      ? parsed
      : await checkAttachments(parsed, limits.maxAttachments, options.urlAllowlist);
    const idempotencyKey = c.req.header("idempotency-key")?.trim();
    if (idempotencyKey !== undefined && (idempotencyKey === "" || idempotencyKey.length > 255)) {
      throw new PayloadError(
        "invalid_idempotency_key",
        idempotencyKey === ""
          ? "The Idempotency-Key header is empty: give 1 to 255 characters, or leave the header out."
          : "The Idempotency-Key header must be at most 255 characters.",
      );
    }
    const hook = c.get("hook");
    const message = withHeaderKey(payload.message, c.req.header("x-message-key"));
    const target = c.req.param("id");
    // A keyed request's payload, so a key reused for another message is told apart (422).
    const payloadDigest = idempotencyKey === undefined
      ? undefined
      : await payloadDigestOf(c.get("rawBody"), target);
    const outcome = target !== undefined && options.messages
      ? await options.messages.edit({ hook, message, idempotencyKey, payloadDigest, target })
      : await options.dispatcher.dispatch({ hook, message, idempotencyKey, payloadDigest });
    // Usage counts and the duration histogram belong to the dispatcher (one owner for both
    // paths; Idempotency-Key replays are not counted).
    c.set(
      "delivery",
      outcome.replay
        ? { format: payload.format, outcome: outcome.kind, replay: true }
        : { format: payload.format, outcome: outcome.kind },
    );
    return answer(c, payload, outcome);
  };

  const pipeline: HookPipeline = {
    admit(route, opts = {}) {
      const auth = opts.token
        ? hookAuth({ hooks: options.hooks, token: opts.token, missing: opts.missingToken })
        : byPath;
      return [
        requestLog({ route, metrics, logger: log, onRequest: options.onRequest }),
        draining,
        opts.bodyFirst
          ? guard(async (c) => (await perIp.check(c)) ?? await readOnly.check(c))
          : perIp,
        auth,
        perHook,
      ];
    },
    body: rawBody({
      maxBytes: limits.maxBodyBytes,
      reader,
      guards: options.guards,
      headRefusal: contentTypeFromHead,
    }),
    async deliver(c) {
      const contentType = c.req.header("content-type") ?? null;
      const route = c.get("route");
      const headers = routeHeaders(c, route);
      // Most hook URLs carry no query: nothing to parse and no Map then (issue 16).
      const hasQuery = c.req.url.includes("?");
      const query = hasQuery ? new Map(Object.entries(c.req.query())) : NO_QUERY;
      let forced = forcedFormat(c, route, hasQuery);
      const ntfy = publishesNtfy(c, route, forced, headers, query, contentType);
      if (ntfy) forced = "ntfy";
      const body: RequestBody = ntfy && !/^multipart\/form-data/i.test(contentType ?? "")
        ? { kind: "raw", bytes: c.get("rawBody"), contentType: contentType ?? "" }
        : await decodeBody(c.get("rawBody"), contentType);
      // At once once the adapters are loaded: no await (and its promise) then.
      const detected = detectPayload({ body, headers, query }, forced);
      const payload = detected instanceof Promise ? await detected : detected;
      if (payload.fallback) {
        log.info("unrecognized JSON posted as a code block", {
          hook: c.get("hook").id,
          chat: c.get("hook").chatId,
          keys: Object.keys(
            body.kind === "json" && body.value && typeof body.value === "object" ? body.value : {},
          ).slice(0, 20),
        });
      }
      return await dispatch(c, payload);
    },
    dispatch,
    route: (...steps) => chain(steps, (err, c) => pipeline.onError(err, c)),
    onError(err, c) {
      if (err instanceof PayloadError) {
        const hook = c.get("hook");
        // A slow, malformed or vanished client is its own business: debug, not info.
        const quiet = err instanceof BodyError && err.clientFault;
        if (err instanceof BodyError) {
          for (const [k, v] of Object.entries(err.headers)) setHeader(c, k, v);
        }
        log[quiet ? "debug" : "info"]("hook request refused", {
          hook: hook?.id,
          chat: hook?.chatId,
          status: err.status,
          error: err.code,
        });
        return err.ignored
          ? refuse(c, err.status, err.code, err.message, {}, {
            ignored: err.ignored.parts,
            note: err.ignored.note,
          })
          : refuse(c, err.status, err.code, err.message);
      }
      return internalError(err, c);
    },
  };
  return pipeline;
}

/** The request's headers as the formats read them (a view: no copy per request). */
function routeHeaders(c: Context<IngestEnv>, route: string | undefined): HeaderView {
  // The route marker is ours alone: a client must not pick Mattermost parsing by header.
  return new HeaderView(c.req.raw.headers, route === "hooks" ? "hooks" : undefined);
}

/** The format the request names: `?format=`, or Discord's `<hook>/slack` and `/github` routes. */
function forcedFormat(
  c: Context<IngestEnv>,
  route: string | undefined,
  hasQuery: boolean,
): string | null {
  return (hasQuery ? c.req.query("format") : undefined) ??
    (route === "slack" || route === "github" ? route : null);
}

/**
 * True when the request is an ntfy publish (PUT, ntfy headers or query fields, `?format=ntfy`,
 * an ntfy route), whose body carries the message or a file of any type: it is passed
 * undecoded, unless it is a form (Apprise's attachment).
 */
function publishesNtfy(
  c: Context<IngestEnv>,
  route: string | undefined,
  forced: string | null,
  headers: ReadonlyMap<string, string>,
  query: ReadonlyMap<string, string>,
  contentType: string | null,
): boolean {
  return forced?.trim().toLowerCase() === "ntfy" || route === "ntfy" ||
    (!forced && route !== "hooks" && isNtfyPublish(headers, c.req.method, query, contentType));
}

/**
 * The 415 a hook route answers for the request's Content-Type, known from its head (asked before
 * a body announced with `Expect: 100-continue` is read): none for an ntfy publish, whose body
 * may be a file of any type, nor on ntfy's routes (the JSON publish is read as JSON whatever
 * its label); Gotify's route decodes like the hook URL.
 */
function contentTypeFromHead(c: Context<IngestEnv>): PayloadError | null {
  const route = c.get("route");
  if (route === "ntfy") return null;
  const contentType = c.req.header("content-type") ?? null;
  const refusal = contentTypeRefusal(contentType);
  if (refusal === null || route === "gotify") return refusal;
  const hasQuery = c.req.url.includes("?");
  const query = hasQuery ? new Map(Object.entries(c.req.query())) : NO_QUERY;
  const forced = forcedFormat(c, route, hasQuery);
  const ntfy = publishesNtfy(c, route, forced, routeHeaders(c, route), query, contentType);
  return ntfy ? null : refusal;
}

/**
 * Runs `steps` as Hono's `compose` does (each may answer or call `next`; the answer of a
 * step that returns one becomes `c.res`; an `Error` thrown by a step and not caught by it is
 * answered by `onError` at that step, so the steps before it still see an answer), but as
 * one handler: no per-step wrappers. {@link Observer}s and {@link Guard}s run in the same
 * frame, one after another (an observer's end once the answer is set): a request waiting for
 * TrueConf holds one suspended frame here, beside the final handler's own.
 */
function chain(
  steps: readonly (Mw | Handler<IngestEnv>)[],
  onError: (err: Error, c: Context<IngestEnv>) => Response,
): Handler<IngestEnv> {
  // `runSteps` answers `c.res` itself: no closure of its own nor a `then` per request.
  return (c, next) => runSteps(steps, onError, c, next, 0);
}

/** The steps of {@link chain} from `from` on; the first call resolves with the answer. */
async function runSteps(
  steps: readonly (Mw | Handler<IngestEnv>)[],
  onError: (err: Error, c: Context<IngestEnv>) => Response,
  c: Context<IngestEnv>,
  next: Next,
  from: number,
): Promise<Response | undefined> {
  let i = from;
  let run = steps[i];
  let res: Response | void = undefined;
  let ends: (() => void)[] | undefined;
  try {
    for (; run !== undefined; run = steps[++i]) {
      if ("observe" in run) (ends ??= []).push((run as Observer).observe(c));
      else if ("check" in run) {
        const checked = (run as Guard).check(c);
        res = checked instanceof Promise ? await checked : checked;
        if (res) break;
      } else break;
    }
    if (res === undefined) {
      if (run === undefined) await next();
      else {
        const after = i + 1;
        res = await run(c, async () => {
          await runSteps(steps, onError, c, next, after);
        });
      }
    }
  } catch (err) {
    if (!(err instanceof Error)) throw err;
    c.error = err;
    c.res = onError(err, c);
    res = undefined;
  }
  if (res instanceof Response && !c.finalized) c.res = res;
  if (ends) { for (let k = ends.length - 1; k >= 0; k--) ends[k]!(); }
  return from === 0 ? c.res : undefined;
}

/**
 * Builds the hook routes and the health routes.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { type HttpServer, listenHttp } from "./http_server.ts";
 *
 * function listen(options: AppOptions): Promise<HttpServer> {
 *   const root = new Hono().route("/", createApp(options));
 *   return listenHttp({ hostname: "0.0.0.0", port: 8080, handler: root.fetch });
 * }
 * ```
 */
export function createApp(options: AppOptions): Hono<IngestEnv> {
  const p = hookPipeline(options);
  const app = new Hono<IngestEnv>();
  app.get("/healthz", (c) => c.json({ ok: true }));
  app.get("/readyz", (c) => {
    const r = options.readiness();
    c.set("trustedProxies", options.trustedProxies ?? []);
    const full = readinessDetailsAllowed(clientAddress(c), c.req.header("authorization"), {
      token: options.readinessToken ?? null,
    });
    return c.json({ ok: r.ready, ...(full ? r.details : r.summary) }, r.ready ? 200 : 503);
  });

  app.post("/hook/:token", p.route(...p.admit("hook"), p.body, p.deliver));
  app.post("/hooks/:token", p.route(...p.admit("hooks"), p.body, p.deliver));
  // Living messages (docs/messages.md): PATCH parses the body like a POST and edits.
  app.patch("/hook/:token/messages/:id", p.route(...p.admit("messages"), p.body, p.deliver));
  app.delete(
    "/hook/:token/messages/:id",
    p.route(...p.admit("messages"), async (c) => {
      if (!options.messages) return refuse(c, 404, "not_found", "Messages cannot be changed here.");
      const outcome = await options.messages.remove({
        hook: c.get("hook"),
        target: c.req.param("id") ?? "",
      });
      c.set("delivery", { format: "native", outcome: outcome.kind });
      return answer(c, { format: "native", reply: "json" }, outcome);
    }),
  );
  allowOnly(
    app,
    "/hook/:token/messages/:id",
    ["PATCH", "DELETE"],
    "Change a posted message with PATCH, remove it with DELETE.",
  );
  dialectRoutes(app, p);
  app.get(
    "/hook/:token/deliveries/:id",
    p.route(...p.admit("deliveries"), async (c) => {
      const status = await options.dispatcher.status(c.get("hook").id, c.req.param("id") ?? "");
      if (!status) {
        return refuse(c, 404, "delivery_not_found", "This webhook has no delivery with that id.");
      }
      return c.json({ ok: true, delivery: status });
    }),
  );

  // PUT is ntfy's upload.
  allowOnly(app, "/hook/:token", ["POST", "PUT"], "Send messages with POST to this URL.");
  allowOnly(app, "/hooks/:token", ["POST"], "Send messages with POST to this URL.");
  allowOnly(app, "/hook/:token/deliveries/:id", ["GET"], "Read a delivery's state with GET.");
  // No `app.onError` here: Hono wraps every route of a sub-app that has its own error handler
  // in a `compose` of its own when the app is mounted (about 2 KiB of garbage and a frame per
  // request, docs/benchmarks.md). The hook routes answer their errors in `HookPipeline.route`;
  // the few others throw nothing of their own, and the root app's JSON 500 covers the rest.
  app.notFound(jsonNotFound);
  return app;
}

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;

/** `405 method_not_allowed` with `Allow` for the other methods of `path` (after its routes). */
function allowOnly(
  app: Hono<IngestEnv>,
  path: string,
  allowed: readonly (typeof METHODS)[number][],
  message: string,
): void {
  const others = METHODS.filter((m) => !allowed.includes(m));
  const headers = { Allow: allowed.join(", ") };
  app.on(others, path, (c) => refuse(c, 405, "method_not_allowed", message, headers));
}

/**
 * The routes other services' clients call, on the same pipeline (per-IP limit, lookup,
 * per-hook limit, guards, request log) as `/hook/<token>` (docs/formats.md):
 * - ntfy: `PUT /hook/<token>` (uploads; POST is the main route), and the JSON publish
 *   `{"topic": <token>, …}` at `POST|PUT /hook` and `/` (ntfy clients post JSON to the server
 *   URL), plus `POST|PUT /<token>`, where Apprise's ntfy plugin sends attachments;
 * - Gotify: `POST /message` with the token in `?token=`, `X-Gotify-Key` or a Bearer header;
 * - ntfy's GET publish, `GET /hook/<token>/publish|send|trigger` (and at the root);
 * - Discord's Slack- and GitHub-compatible endpoints, `POST /hook/<token>/slack` (Netdata's
 *   Discord notifier posts there) and `/hook/<token>/github`, which force their format;
 * - Rocket.Chat's `POST /hooks/<integration id>/<token>`: the last segment is the hook token
 *   (Ansible's rocketchat module refuses a token without "/"; Apprise's `rocket://` too);
 * - Slack's legacy `POST /services/hooks/incoming-webhook?token=<token>`, where Ansible's
 *   slack module posts when given a `domain` and a token of neither of Slack's newer kinds.
 */
function dialectRoutes(app: Hono<IngestEnv>, p: HookPipeline): void {
  app.put("/hook/:token", p.route(...p.admit("hook"), p.body, p.deliver));
  app.post("/hook/:token/slack", p.route(...p.admit("slack"), p.body, p.deliver));
  app.post("/hook/:token/github", p.route(...p.admit("github"), p.body, p.deliver));
  app.post("/hooks/:integration/:token", p.route(...p.admit("hooks"), p.body, p.deliver));
  app.post(
    "/services/hooks/incoming-webhook",
    p.route(
      ...p.admit("slack", {
        token: (c) => c.req.query("token")?.trim() || null,
        missingToken: {
          status: 401,
          code: "missing_token",
          message:
            "Give the hook token as ?token=<token> (Slack's legacy incoming-webhook URL), or post to <public>/hook/<token>.",
        },
      }),
      p.body,
      p.deliver,
    ),
  );

  // ntfy reads the body at the server URL as JSON whatever its Content-Type (curl -d sends
  // a form type, fetch with a string text/plain).
  const fromTopic: TokenSource = (c) => {
    try {
      return ntfyTopic(parseJsonLenient(new TextDecoder().decode(c.get("rawBody"))));
    } catch {
      return null;
    }
  };
  const publishJson: Handler<IngestEnv> = async (c) => {
    const value = parseJsonLenient(new TextDecoder().decode(c.get("rawBody")));
    const headers = new Map<string, string>();
    c.req.raw.headers.forEach((v, k) => headers.set(k, v));
    const query = new Map(Object.entries(c.req.query()));
    const payload = await detectPayload({ body: { kind: "json", value }, headers, query }, "ntfy");
    return await p.dispatch(c, payload);
  };
  // What a POST to the public URL itself (instead of the hook URL) most often is.
  const NO_TOPIC = {
    status: 400,
    code: "missing_topic",
    message:
      'This URL names no webhook: post to the hook URL <public>/hook/<token> (ntfy clients: publish JSON {"topic":"<token>","message":"…"} here).',
  } as const;
  for (const path of ["/hook", "/"]) {
    app.on(
      ["POST", "PUT"],
      path,
      p.route(
        ...p.admit("ntfy", { token: fromTopic, bodyFirst: true, missingToken: NO_TOPIC }),
        p.body,
        publishJson,
      ),
    );
  }

  app.post(
    "/message",
    p.route(
      ...p.admit("gotify", {
        token: (c) =>
          gotifyToken({
            query: c.req.query("token"),
            key: c.req.header("x-gotify-key"),
            authorization: c.req.header("authorization"),
          }),
        missingToken: { status: 401, code: "missing_token", message: GOTIFY_MISSING_TOKEN },
      }),
      p.body,
      async (c) => {
        const body = await decodeBody(c.get("rawBody"), c.req.header("content-type") ?? null);
        const headers = new Map<string, string>();
        c.req.raw.headers.forEach((v, k) => headers.set(k, v));
        return await p.dispatch(c, await detectPayload({ body, headers }, "gotify"));
      },
    ),
  );

  // ntfy's webhooks for devices that can only GET: `<topic>/publish|send|trigger` publishes
  // the query's fields ("triggered" without a message), at the hook URL and the root.
  for (const verb of ["publish", "send", "trigger"]) {
    const get = p.route(...p.admit("ntfy"), p.body, p.deliver);
    app.get(`/hook/:token/${verb}`, get);
    app.get(`/:token/${verb}`, get);
  }

  // Apprise's ntfy plugin PUTs/POSTs attachments to `<server>/<topic>`. Only the topic (the
  // token) names a hook here; anything else is the usual 404.
  app.on(["POST", "PUT"], "/:token", p.route(...p.admit("ntfy"), p.body, p.deliver));
}

/**
 * A request's headers as the formats read them (a `ReadonlyMap` of lower-case names), with the
 * {@link ROUTE_HEADER} pseudo-header set by us only (a client's own is hidden). A view, not a
 * copy: formats ask for a few headers by name, and copying all of them into a Map on every
 * request (Headers iteration sorts and combines them) cost more than the lookups (issue 16).
 * Anything that iterates gets a copy made once, on first use.
 */
class HeaderView implements ReadonlyMap<string, string> {
  readonly #headers: Headers;
  readonly #route: string | undefined;
  #copy: Map<string, string> | undefined;

  constructor(headers: Headers, route: string | undefined) {
    this.#headers = headers;
    this.#route = route;
  }

  get(name: string): string | undefined {
    if (name === ROUTE_HEADER) return this.#route;
    return this.#headers.get(name) ?? undefined;
  }

  has(name: string): boolean {
    return name === ROUTE_HEADER ? this.#route !== undefined : this.#headers.has(name);
  }

  get size(): number {
    return this.#all().size;
  }

  forEach(fn: (value: string, key: string, map: ReadonlyMap<string, string>) => void): void {
    this.#all().forEach((v, k) => fn(v, k, this));
  }

  entries(): MapIterator<[string, string]> {
    return this.#all().entries();
  }

  keys(): MapIterator<string> {
    // The light request's names as they came, when that is the same set as the copy's: no copy
    // (and no sort) per request for the ntfy check, which walks them (issue 16).
    const h = this.#headers;
    if (
      this.#copy === undefined && this.#route === undefined && h instanceof ServerHeaders &&
      !h.has(ROUTE_HEADER)
    ) return h.names();
    return this.#all().keys();
  }

  values(): MapIterator<string> {
    return this.#all().values();
  }

  [Symbol.iterator](): MapIterator<[string, string]> {
    return this.#all()[Symbol.iterator]();
  }

  #all(): Map<string, string> {
    if (this.#copy) return this.#copy;
    const copy = new Map<string, string>();
    this.#headers.forEach((v, k) => copy.set(k, v));
    copy.delete(ROUTE_HEADER);
    if (this.#route !== undefined) copy.set(ROUTE_HEADER, this.#route);
    return this.#copy = copy;
  }
}

/** The request methods HTTP defines (RFC 9110 9.3, and PATCH): any other is a 501, not a 404. */
const HTTP_METHODS: ReadonlySet<string> = new Set([
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "DELETE",
  "CONNECT",
  "OPTIONS",
  "TRACE",
  "PATCH",
]);

/**
 * The JSON 404 of the whole HTTP surface; the root app sets it too (a mounted sub-app's is not
 * used). A method HTTP does not define reaches no route either: that is `501
 * method_not_implemented` (RFC 9110 9.1), asked here so that routed requests pay nothing for it.
 */
export function jsonNotFound(c: Context): Response {
  const method = c.req.method;
  if (!HTTP_METHODS.has(method)) {
    return c.json(
      errorBody(
        "method_not_implemented",
        `${
          method.slice(0, 32)
        } is not a method this server implements. Webhooks are POSTed to /hook/<token>.`,
      ),
      501,
    );
  }
  return c.json(errorBody("not_found", "Nothing here. Webhooks are POSTed to /hook/<token>."), 404);
}

/**
 * The JSON 500 of routes outside the hook pipeline (`/metrics`, health). A Hono
 * `HTTPException` is a deliberate answer, not a failure: `/metrics`' `bearerAuth` refuses a
 * scrape without the token with one (its 401), which this handler turned into a 500.
 */
export function jsonOnError(log: Logger): (err: Error, c: Context) => Response {
  return (err, c) => {
    if (err instanceof HTTPException) return err.getResponse();
    log.error("unhandled error in HTTP handler", { error: err, path: c.req.path });
    return c.json(
      errorBody("internal_error", "Something went wrong on our side; it has been logged."),
      500,
    );
  };
}

/** `X-Message-Key` (1–128 printable characters) as the message's key; a body `key` wins. */
function withHeaderKey(message: Message, header: string | undefined): Message {
  if (header === undefined || message.thread?.key !== undefined) return message;
  const key = header.trim();
  if (!MESSAGE_KEY.test(key)) {
    throw new PayloadError(
      "invalid_message_key",
      key === ""
        ? "X-Message-Key is empty: give 1 to 128 printable characters, or leave the header out to post a new message."
        : "X-Message-Key must be 1 to 128 printable characters.",
    );
  }
  return { ...message, thread: { ...message.thread, key } };
}

/** Writes a sender's own success answer (formats/answer.ts) as a response. */
function dialectResponse(c: Context<IngestEnv>, a: DialectAnswer): Response {
  const status = a.status as 200;
  if (a.body === null) return c.body(null, status);
  return typeof a.body === "string" ? c.text(a.body, status) : c.json(a.body, status);
}

/** The answer for an outcome, in the style the sender understands. */
function answer(
  c: Context<IngestEnv>,
  payload: Pick<ParsedPayload, "reply" | "format" | "echo" | "ignored">,
  outcome: DispatchOutcome,
) {
  // Parts of a form that were not read are named in the bot's own JSON answers (issue 4's
  // "unknown parts ignored", told rather than silent); status and other fields stay as they are.
  const ignored = payload.ignored
    ? { ignored: payload.ignored.parts, note: payload.ignored.note }
    : undefined;
  // Dialect senders (Slack, Discord, Teams, ntfy, Gotify …) check their own service's answer;
  // for them a persisted message is accepted too (Apprise mmost:// treats 202 as a failure).
  switch (outcome.kind) {
    case "delivered": {
      const own = dialectAnswer(c, payload, outcome.messageIds);
      if (own !== undefined) return dialectResponse(c, own);
      return jsonAnswer(
        c,
        ignored
          ? { ok: true, messages: outcome.messageIds, ...ignored }
          : { ok: true, messages: outcome.messageIds },
        200,
      );
    }
    case "queued": {
      const record = nameDelivery(c, outcome.deliveryId);
      const own = dialectAnswer(c, payload, [], outcome.deliveryId);
      if (own !== undefined) return dialectResponse(c, own);
      return jsonAnswer(c, { ok: true, queued: true, ...record, ...ignored }, 202);
    }
    case "partial": {
      // Issue 10.2: a sender speaking another product's dialect (Slack, Mattermost, Grafana,
      // Alertmanager, GitHub…) treats any error as "retry", which would post the text again;
      // Slack itself ignores broken image URLs. Once the text is in the chat such a sender
      // hears success (the failed parts are in the delivery status, the log, the failed_parts
      // metric and the creator's DM). Native senders keep the reference 502.
      // Its status record is named as a 202 names a queued one (header and `delivery`).
      const record = nameDelivery(c, outcome.deliveryId);
      if (payload.format !== "native" && textArrived(outcome.failures)) {
        const own = dialectAnswer(c, payload, outcome.messageIds);
        if (own !== undefined) return dialectResponse(c, own);
        return jsonAnswer(c, {
          ok: true,
          messages: outcome.messageIds,
          failed: outcome.failures,
          ...record,
          ...ignored,
        }, 200);
      }
      // `refuse` records the code for the hook's request history, as every refusal's.
      return refuse(
        c,
        502,
        "partial_delivery",
        `${outcome.failures.length} ${
          outcome.failures.length === 1 ? "part" : "parts"
        } could not be posted; the rest reached the chat.`,
        {},
        { messages: outcome.messageIds, failed: outcome.failures, ...record, ...ignored },
      );
    }
    case "refused": {
      // A refusal with failed parts has a status record too (dispatch.ts), named as above.
      const record = nameDelivery(c, outcome.deliveryId);
      return refuse(
        c,
        outcome.status,
        outcome.code,
        outcome.message,
        outcome.retryAfterSeconds === undefined
          ? {}
          : { "Retry-After": String(outcome.retryAfterSeconds) },
        outcome.failures ? { failed: outcome.failures, ...record, ...ignored } : { ...ignored },
      );
    }
  }
}

/** What {@link nameDelivery} gives an answer without a status record: no `delivery` field. */
const NO_RECORD: { delivery?: string } = Object.freeze({});

/**
 * Names a delivery's status record (`GET /hook/<token>/deliveries/<id>`) the one way every
 * answer does: the `X-Delivery-Id` header, and the `delivery` field returned here for the JSON
 * body (spread it in; a dialect sender's own answer keeps only the header). Nothing when the
 * outcome has no record. A queued delivery and a partial one are named alike, so a sender
 * reads either the same way.
 */
function nameDelivery(
  c: Context<IngestEnv>,
  deliveryId: string | undefined,
): { delivery?: string } {
  if (deliveryId === undefined) return NO_RECORD;
  setHeader(c, "X-Delivery-Id", deliveryId);
  return { delivery: deliveryId };
}

/** A dialect sender's own success answer; undefined for the bot's own JSON (most answers). */
function dialectAnswer(
  c: Context<IngestEnv>,
  payload: Pick<ParsedPayload, "reply" | "echo">,
  messageIds: readonly string[],
  deliveryId?: string,
): DialectAnswer | undefined {
  // The bot's own JSON needs nothing of what successAnswer is given.
  if (payload.reply === "json") return undefined;
  return successAnswer(payload, {
    messageIds,
    deliveryId,
    hookId: c.get("hook").id,
    chatId: c.get("hook").chatId,
    topic: c.get("token"),
    query: (name) => c.req.query(name),
    now: new Date(),
  });
}

/** True when no failed part is the text (or one of its pieces: `text 2/3`). */
function textArrived(failures: readonly PartFailure[]): boolean {
  return !failures.some((f) => f.item === "text" || f.item.startsWith("text "));
}

/**
 * Attachment count and the syntactic SSRF check, so a bad URL is refused before anything is
 * posted. Only for the native format, whose sender listed its attachments on purpose: a
 * dialect's pictures (Grafana screenshots from an on-premises host, a graph per Slack
 * attachment) must not cost the notification, which those senders never send again after a
 * 4xx. Theirs are cut to the limit (the rest named in the text, see `fitAttachments`), and a
 * URL the guard refuses fails its own part at delivery, reported like any failed part.
 */
async function checkAttachments(
  payload: ParsedPayload,
  max: number,
  allowlist?: Allowlist,
): Promise<ParsedPayload> {
  const attachments = payload.message.attachments;
  if (payload.format !== "native") return fitAttachments(payload, max);
  if (attachments.length > max) {
    throw new PayloadError(
      "too_many_attachments",
      `At most ${max} attachments per request (WEBHOOK_MAX_ATTACHMENTS); this one has ${attachments.length}.`,
    );
  }
  for (const [i, a] of attachments.entries()) {
    if (a.source.type !== "url") continue;
    try {
      await checkUrl(a.source.url, allowlist);
    } catch (e) {
      if (e instanceof SafeFetchError) {
        throw new PayloadError(
          e.code === "invalid_url" ? "invalid_url" : "unsafe_url",
          `Attachment ${i + 1} (${a.source.url.slice(0, 200)}) cannot be fetched: ${e.message}.`,
        );
      }
      throw e;
    }
  }
  return payload;
}
