/**
 * `rawBody`: reads the request body within the limits into `c.var.rawBody`, then runs the
 * per-hook guards (signature checks, address allowlists…) on those exact bytes, before
 * anything parses them.
 *
 * @module
 */
import { contentCodings, decodeContent } from "../content_coding.ts";
import type { BodyReader } from "../read_body.ts";
import { clientAddress } from "./client_address.ts";
import type { Context } from "hono";
import { type FoundHook, type Guard, guard, type IngestEnv, refuse } from "./env.ts";
import type { PayloadError } from "../formats/types.ts";

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
  /**
   * What the route refuses from the request head alone (an unsupported Content-Type), asked
   * before a body announced with `Expect: 100-continue` is read; see {@link rawBody}.
   */
  headRefusal?: ((c: Context<IngestEnv>) => PayloadError | null) | undefined;
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
export function rawBody(options: RawBodyOptions): Guard {
  const guards = options.guards ?? [];
  const { reader, maxBytes } = options;
  const trust = (c: Context<IngestEnv>, bytes: Uint8Array) => {
    const hook = c.get("hook");
    if (guards.length === 0 || hook === undefined) return undefined;
    return runGuards(c, guards, hook, new RequestForGuards(c, bytes), 0);
  };
  const take = (c: Context<IngestEnv>, bytes: Uint8Array) => {
    c.set("rawBody", bytes);
    // A compressed body (log shippers send gzip, deflate or zstd when told to): the guards
    // check the bytes as sent, the rest reads them decoded. One header lookup per request;
    // the decoder is reached only when the header is there.
    const coding = c.req.raw.headers.get("content-encoding");
    if (coding === null || bytes.byteLength === 0) return trust(c, bytes);
    return Promise.resolve(trust(c, bytes)).then(async (refused) => {
      if (refused) return refused;
      // After the guards: a sender they refuse learns nothing of the codings read (415).
      const codings = contentCodings(coding);
      if (codings.length === 0) return undefined;
      c.set("sentBody", bytes);
      // Decoded bytes draw on the in-flight budget while they are made (issue 18.3): a few KiB
      // on the wire may be 25 MiB decoded.
      const share = reader.share();
      try {
        c.set("rawBody", await decodeContent(bytes, codings, maxBytes, share));
      } finally {
        share.release();
      }
      return undefined;
    });
  };
  return guard(function rawBody(c) {
    // A route whose token is inside the body read (and decoded) it before hookAuth: read only
    // once, and the guards see the bytes as sent.
    const read = c.get("rawBody");
    if (read !== undefined) return trust(c, c.get("sentBody") ?? read);
    const bytes = reader.readBuffered(c.req.raw, maxBytes);
    if (bytes === null) {
      // A body still to come. A client that announced it with `Expect: 100-continue` waits for
      // the 100 that reading sends: what the head alone refuses is answered instead (RFC 9110
      // 10.1.1), so a body the bot cannot read is never sent. (A declared size over the limit
      // is the reader's 413, also before the 100.) Never reached by a body that came whole
      // with its head, as small webhooks do.
      if (c.req.raw.headers.has("expect")) refuseFromHead(c, options.headRefusal);
      return reader.read(c.req.raw, maxBytes).then((got) => take(c, got));
    }
    return take(c, bytes);
  });
}

/**
 * Throws what the request head alone refuses: an unsupported Content-Encoding (415 with
 * `Accept-Encoding`), then the route's own refusal.
 */
function refuseFromHead(
  c: Context<IngestEnv>,
  routeRefusal: ((c: Context<IngestEnv>) => PayloadError | null) | undefined,
): void {
  const coding = c.req.raw.headers.get("content-encoding");
  if (coding !== null) contentCodings(coding);
  const refusal = routeRefusal?.(c);
  if (refusal) throw refusal;
}

/**
 * The {@link GuardRequest} of a request. A class, not an object literal with a getter: such a
 * literal builds its accessor and the getter's closure anew for every request (issue 16).
 */
class RequestForGuards implements GuardRequest {
  readonly #c: Context<IngestEnv>;
  readonly headers: Headers;
  readonly rawBody: Uint8Array;

  constructor(c: Context<IngestEnv>, rawBody: Uint8Array) {
    this.#c = c;
    this.headers = c.req.raw.headers;
    this.rawBody = rawBody;
  }

  get clientIp(): string {
    return clientAddress(this.#c);
  }
}

/**
 * Runs `guards` from `i` in order; the first refusal answers. Synchronous as long as the
 * guards answer synchronously (a hook that verifies nothing): no promise per request then.
 */
function runGuards(
  c: Context<IngestEnv>,
  guards: readonly HookGuard[],
  hook: FoundHook,
  request: GuardRequest,
  i: number,
): Response | undefined | Promise<Response | undefined> {
  for (; i < guards.length; i++) {
    const verdict = guards[i]!(hook, request);
    if (verdict instanceof Promise) {
      const next = i + 1;
      return verdict.then((refusal) =>
        refusal ? answer(c, refusal) : runGuards(c, guards, hook, request, next)
      );
    }
    if (verdict) return answer(c, verdict);
  }
  return undefined;
}

function answer(c: Context<IngestEnv>, refusal: GuardRefusal): Response {
  return refuse(c, refusal.status, refusal.code, refusal.message);
}
