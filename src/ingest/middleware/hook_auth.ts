/**
 * `hookAuth`: finds the hook a request names (by default the `:token` path parameter) and
 * puts it into `c.var.hook`; unknown, revoked and paused hooks all answer the same 404.
 *
 * @module
 */
import type { Context } from "hono";
import { type FoundHook, type Guard, guard, type IngestEnv, refuse } from "./env.ts";

/** The hook lookup the routes need (the KV hook store satisfies it). */
export interface HookLookup {
  /**
   * The hook a token names, or null (unknown, revoked, paused, expired); at once when the
   * answer is cached, a promise when it must be read.
   */
  findByToken(token: string): FoundHook | null | Promise<FoundHook | null>;
}

/** Where a route's token comes from: path, query, a header, or a body read before. */
export type TokenSource = (c: Context<IngestEnv>) => string | null | undefined;

/** The answer to a request that names no hook at all (status, machine code, sentence). */
export interface MissingToken {
  readonly status: 400 | 401;
  readonly code: string;
  readonly message: string;
}

/** Options of {@link hookAuth}. */
export interface HookAuthOptions {
  /** Where tokens are looked up (the hook store). */
  hooks: HookLookup;
  /** Default: the `:token` path parameter. */
  token?: TokenSource | undefined;
  /**
   * For a token outside the path (a query, a header, the body): the refusal when the request
   * gives none, e.g. `401 missing_token`. Without it a missing token is the usual 404.
   */
  missing?: MissingToken | undefined;
}

const fromPath: TokenSource = (c) => c.req.param("token");

/**
 * Sets `c.var.hook` and `c.var.token`, or answers `404 hook_not_found` ({@link
 * HookAuthOptions.missing} when the request gives no token and the route says what to give).
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import type { IngestEnv } from "./env.ts";
 *
 * // Gotify: POST /message?token=… or X-Gotify-Key
 * function gotifyRoute(hooks: HookLookup): Hono<IngestEnv> {
 *   const auth = hookAuth({
 *     hooks,
 *     token: (c) => c.req.query("token") ?? c.req.header("x-gotify-key"),
 *   });
 *   return new Hono<IngestEnv>().post("/message", auth, (c) => c.json({ hook: c.var.hook.id }));
 * }
 * ```
 */
export function hookAuth(options: HookAuthOptions): Guard {
  const tokenOf = options.token ?? fromPath;
  const { hooks, missing } = options;
  const found = (c: Context<IngestEnv>, token: string, hook: FoundHook | null) => {
    // Set for a refused URL too: the request log names it, masked, for the operator.
    c.set("token", token);
    if (!hook) {
      // Unknown and revoked look the same on purpose: the URL is the credential.
      return refuse(
        c,
        404,
        "hook_not_found",
        "No webhook has this URL: it was revoked or never existed. Ask in the chat for a new one with /webhook_create <name>.",
      );
    }
    c.set("hook", hook);
    return undefined;
  };
  // Not async: a cached hook is found at once, and the check then answers at once too (no
  // frame or promise per request, issue 16).
  return guard(function hookAuth(c) {
    const token = tokenOf(c) ?? "";
    if (token === "" && missing !== undefined) {
      return refuse(c, missing.status, missing.code, missing.message);
    }
    const hook = token === "" ? null : hooks.findByToken(token);
    return hook instanceof Promise ? hook.then((h) => found(c, token, h)) : found(c, token, hook);
  });
}
