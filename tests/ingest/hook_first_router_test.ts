// The bot's router answers `POST /hook/<token>` from one earlier search of Hono's trie router:
// it must answer exactly what the trie answers, for every path, or the hook routes would run
// other handlers (or other parameters) than the app declared.
import assert from "node:assert/strict";
import { Hono } from "hono";
import { TrieRouter } from "hono/router/trie-router";
import { HookFirstRouter } from "../../src/ingest/hook_first_router.ts";

type Route = [method: string, path: string];

// The shapes of the bot's routes (src/ingest/app.ts, src/observability/metrics_route.ts): a
// catch-all middleware, the hook routes, ntfy's topic routes at the root, static routes.
const ROUTES: Route[] = [
  ["ALL", "*"],
  ["GET", "/healthz"],
  ["GET", "/readyz"],
  ["GET", "/metrics"],
  ["POST", "/hook/:token"],
  ["PUT", "/hook/:token"],
  ["POST", "/hooks/:token"],
  ["POST", "/hook/:token/slack"],
  ["POST", "/hook/:token/github"],
  ["PATCH", "/hook/:token/messages/:id"],
  ["GET", "/hook/:token/deliveries/:id"],
  ["POST", "/hooks/:integration/:token"],
  ["POST", "/hook"],
  ["POST", "/"],
  ["GET", "/hook/:token/json"],
  ["GET", "/:token/json"],
  ["POST", "/:token"],
  ["PUT", "/:token"],
  ["DELETE", "/hook/:token"],
];

const PATHS = [
  "/hook/abcDEF0123456789_-abcDEF0123456789_-abcde",
  "/hook/x",
  "/hook/%41%42",
  "/hook/a.b",
  "/hook/",
  "/hook",
  "/hook/abc/slack",
  "/hook/abc/messages/7",
  "/hooks/abc",
  "/hooks/i/abc",
  "/topic",
  "/",
  "/healthz",
];

/** What a router answers, with each handler named by its route and its parameters copied. */
function answer(router: { match(m: string, p: string): unknown }, method: string, path: string) {
  const [found] = router.match(method, path) as [[string, Record<string, string>][]];
  return found.map(([handler, params]) => [handler, { ...params }]);
}

function routers(routes: Route[]) {
  const trie = new TrieRouter<string>();
  const ours = new HookFirstRouter<string>();
  for (const [m, p] of routes) {
    trie.add(m, p, `${m} ${p}`);
    ours.add(m, p, `${m} ${p}`);
  }
  return { trie, ours };
}

Deno.test("the hook-first router answers every method and path as Hono's trie router does, POST /hook/<token> included, again and again", () => {
  const { trie, ours } = routers(ROUTES);
  for (let round = 0; round < 2; round++) {
    for (const method of ["GET", "POST", "PUT", "PATCH", "DELETE"]) {
      for (const path of PATHS) {
        assert.deepEqual(
          answer(ours, method, path),
          answer(trie, method, path),
          `${method} ${path}`,
        );
      }
    }
  }
  // The short way gives each request its own token, never the probe's or an earlier one's.
  assert.deepEqual(answer(ours, "POST", "/hook/first"), [["ALL *", {}], [
    "POST /hook/:token",
    { token: "first" },
  ]]);
  assert.deepEqual(answer(ours, "POST", "/hook/second")[1], ["POST /hook/:token", {
    token: "second",
  }]);
});

Deno.test("a literal or a pattern where the token stands leaves every POST /hook/<x> to the trie", () => {
  for (
    const extra of [
      ["POST", "/hook/status"],
      ["ALL", "/hook/status"],
      ["POST", "/hook/:token{[0-9]+}"],
      ["POST", "/:a/:b{[a-z]+}"],
      ["POST", "/hook/:token?"],
    ] as Route[]
  ) {
    const { trie, ours } = routers([...ROUTES, extra]);
    for (const path of ["/hook/status", "/hook/123", "/hook/abc", "/hook/ABC"]) {
      assert.deepEqual(answer(ours, "POST", path), answer(trie, "POST", path), `${extra} ${path}`);
    }
  }
});

Deno.test("in a Hono app, a POST /hook/<token> reaches the hook route with its token, under a trailing slash too", async () => {
  const app = new Hono({ strict: false, router: new HookFirstRouter() });
  app.use("*", async (c, next) => {
    await next();
    c.header("x-seen", "yes");
  });
  app.post("/hook/:token", (c) => c.json({ token: c.req.param("token") }));
  app.post("/hook/:token/slack", (c) => c.text("slack"));
  for (const token of ["t1", "t2", "A%2FB"]) {
    const res = await app.request(`/hook/${token}`, { method: "POST" });
    assert.equal(res.headers.get("x-seen"), "yes");
    assert.deepEqual(await res.json(), { token: decodeURIComponent(token) });
  }
  const slashed = await app.request("/hook/t3/", { method: "POST" });
  assert.deepEqual(await slashed.json(), { token: "t3" });
  assert.equal(await (await app.request("/hook/t4/slack", { method: "POST" })).text(), "slack");
  assert.equal((await app.request("/hook/t5", { method: "GET" })).status, 404);
});
