/**
 * `rawBody`: reads the request body within the limits into `c.var.rawBody`, then runs the
 * per-hook guards (signature checks, address allowlists…) on those exact bytes, before
 * anything parses them.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { createMiddleware } from "hono/factory";
import type { BodyReader } from "../read_body.ts";
import { clientAddress } from "./client_address.ts";
import { type FoundHook, type IngestEnv, refuse } from "./env.ts";

/** What a {@link HookGuard} sees of the request. */
export interface GuardRequest {
  /** The request's headers. */
  readonly headers: Headers;
  /** The body exactly as received. */
  readonly rawBody: Uint8Array;
  /** The client's address (as the trusted-proxy rules resolve it); computed on first read. */
  readonly clientIp: string;
}

/** A refusal from a guard: the HTTP status, a machine code and a human sentence. */
export interface GuardRefusal {
  /** The HTTP status to answer. */
  readonly status: 400 | 401 | 403 | 404 | 409 | 422 | 429 | 503;
  /** Stable machine code, e.g. `signature_invalid`. */
  readonly code: string;
  /** One human sentence for the sender. */
  readonly message: string;
}

/**
 * A per-hook check on the raw request (e.g. `401 signature_invalid`, `403 address_not_allowed`).
 * Returns null to let the request through.
 */
export type HookGuard = (
  hook: FoundHook,
  request: GuardRequest,
) => GuardRefusal | null | Promise<GuardRefusal | null>;

/** Options of {@link rawBody}. */
export interface RawBodyOptions {
  /** Largest body accepted (413 beyond). */
  maxBytes: number;
  /** The server's body reader (time limits, in-flight budget, shutdown cut); share one. */
  reader: BodyReader;
  /** Run in order after the body is read; the first refusal answers. */
  guards?: readonly HookGuard[] | undefined;
}

/**
 * Sets `c.var.rawBody`; answers the first guard's refusal. Body errors are thrown as
 * `PayloadError`/`BodyError` (413, 408, 400, 503) for the app's error handler.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Hono } from "hono";
 * import type { IngestEnv } from "./env.ts";
 * import { BodyReader } from "../read_body.ts";
 *
 * const reader = new BodyReader({ inflightBudgetBytes: 1024 * 1024 });
 * const app = new Hono<IngestEnv>()
 *   .post("/echo", rawBody({ maxBytes: 1024, reader }), (c) => c.text(new TextDecoder().decode(c.var.rawBody)));
 * const res = await app.request("/echo", { method: "POST", body: "exact bytes" });
 * assert.equal(await res.text(), "exact bytes");
 * ```
 */
export function rawBody(options: RawBodyOptions): MiddlewareHandler<IngestEnv> {
  const guards = options.guards ?? [];
  return createMiddleware<IngestEnv>(async function rawBody(c, next) {
    // A route whose token is inside the body read it before hookAuth; read only once.
    let bytes = c.get("rawBody");
    if (bytes === undefined) {
      bytes = await options.reader.read(c.req.raw, options.maxBytes);
      c.set("rawBody", bytes);
    }
    if (guards.length > 0 && c.get("hook") !== undefined) {
      const hook = c.get("hook");
      const request: GuardRequest = {
        headers: c.req.raw.headers,
        rawBody: bytes,
        get clientIp() {
          return clientAddress(c);
        },
      };
      for (const guard of guards) {
        const refusal = await guard(hook, request);
        if (refusal) return refuse(c, refusal.status, refusal.code, refusal.message);
      }
    }
    return await next();
  });
}
