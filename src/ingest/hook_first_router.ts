/**
 * The bot's Hono router: Hono's trie router, with `POST /hook/<token>` (every webhook delivery)
 * answered without a search.
 *
 * Why: the trie router walks its nodes and builds arrays for every request, about 2 % of the
 * bot's main thread and 0.9 KiB of JS heap per delivery at c=64 (issue 16,
 * docs/benchmarks.md). Hono's faster `RegExpRouter` refuses the bot's routes (ntfy's
 * `/:token/json` beside `/hook/:token/json` is ambiguous to it), so `SmartRouter` fell back to
 * the trie anyway.
 *
 * How it stays exact: the first `POST /hook/<token>` asks the trie once with a probe token and
 * keeps what it answered (the handlers, in order, with their parameters). Every later such path
 * gets that answer with the probe replaced by its own token: the trie answers the same handlers
 * for any one-segment token unless a route names a literal or a pattern there, and then this
 * router never takes the short way ({@link HookFirstRouter.add} looks at every route). Every
 * other method and path is the trie's.
 *
 * @module
 */
import type { Params, Result, Router } from "hono/router";
import { TrieRouter } from "hono/router/trie-router";

const HOOK = "/hook/";
// The probe search's token: 43 letters, a token's length and alphabet, so it matches where a
// token does.
const PROBE = "hookRouteProbe".padEnd(43, "z");

/** Hono's `TrieRouter`, with `POST /hook/<token>` answered from one earlier search. */
export class HookFirstRouter<T> implements Router<T> {
  /** Hono shows it in its errors. */
  readonly name = "HookFirstRouter";
  readonly #trie = new TrieRouter<T>();
  /** The answer for the probe: handlers with the names of the parameters that held it. */
  #hook: { handler: T; params: Params; probed: string[] }[] | undefined;
  /** False once a route could answer one hook token differently from another. */
  #short = true;

  /** Adds a route (Hono calls it for every route of every app mounted on this one). */
  add(method: string, path: string, handler: T): void {
    this.#trie.add(method, path, handler);
    this.#hook = undefined;
    if (method === "POST" || method === "ALL") {
      // `/hook/<literal>`, or a pattern or an optional segment on a route that may reach
      // `/hook/<token>`: the trie may answer one token differently from another.
      const oneSegment = path.startsWith(HOOK) && !path.slice(HOOK.length).includes("/");
      const token = /^\/hook\/(?::[A-Za-z0-9_]+|\*)$/.test(path);
      const elsewhere = /^\/(?!hook\/)[A-Za-z0-9_.~-]+\//.test(path);
      if ((oneSegment && !token) || (/[{?]/.test(path) && !elsewhere)) this.#short = false;
    }
  }

  /** The handlers of `path` for `method`, with their parameters. */
  match(method: string, path: string): Result<T> {
    if (
      this.#short && method === "POST" && path.length > HOOK.length && path.startsWith(HOOK) &&
      path.indexOf("/", HOOK.length) < 0
    ) {
      const hook = this.#hook ??= this.#probe();
      const token = path.slice(HOOK.length);
      return [hook.map(({ handler, params, probed }) => {
        if (probed.length === 0) return [handler, params];
        const own: Params = Object.create(null);
        for (const k in params) own[k] = params[k]!;
        for (const k of probed) own[k] = token;
        return [handler, own];
      })];
    }
    return this.#trie.match(method, path);
  }

  #probe(): { handler: T; params: Params; probed: string[] }[] {
    const [found] = this.#trie.match("POST", HOOK + PROBE) as [[T, Params][]];
    return found.map(([handler, params]) => ({
      handler,
      params,
      probed: Object.keys(params).filter((k) => params[k] === PROBE),
    }));
  }
}
