/**
 * What `serve` loads before it is ready (issue 16: idle RSS and start → ready): the modules an
 * idle bot does not need are imported on first use, so they must stay out of `serve`'s static
 * module graph. A static import added by mistake would cost the start its memory and time
 * again without failing anything else (docs/benchmarks.md, "Memory and start").
 */
import assert from "node:assert/strict";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { moduleGraph, ROOT, staticClosure } from "./support/module_graph.ts";

const local = (path: string) => pathToFileURL(resolve(ROOT, path)).href;

/** What `serve` loads before it runs: `main.ts`'s static graph and `cli/serve.ts`'s. */
async function startGraph(): Promise<Set<string>> {
  return staticClosure(await moduleGraph("src/main.ts"), [
    local("src/main.ts"),
    local("src/cli/serve.ts"),
  ]);
}

Deno.test("serve's start does not import what an idle bot does not use", async () => {
  const graph = await startGraph();
  const lazy = [
    // node's HTTP, TLS, DNS and crypto: attachments and outgoing calls, TrueConf with TLS
    // verification off, the token hash of the first request (session 4).
    "node:crypto",
    "node:http",
    "node:https",
    "node:dns/promises",
    "node:tls",
    // On top of the node timers every start loads (the global setTimeout is node's), these
    // two loaded 85 more of node's scripts, about 1 MiB (session 5, idle): the store's paths
    // are src/storage/_path.ts's, a backup's base64 Uint8Array's own.
    "node:path",
    "node:buffer",
    // The chat side, the preview maker, the signature libraries (session 3).
    local("src/chat_side.ts"),
    local("src/delivery/preview/mod.ts"),
  ];
  assert.deepEqual(lazy.filter((m) => graph.has(m)), []);
  const npm = [...graph].filter((m) => m.startsWith("npm:"));
  for (const pkg of ["@octokit/webhooks-methods", "standardwebhooks", "zod"]) {
    assert.ok(!npm.some((m) => m.startsWith(`npm:${pkg}@`)), `${pkg} is loaded at start`);
  }
  // The test sees the graph at all: serve's own modules are in it.
  assert.ok(graph.has(local("src/bot.ts")));
});

Deno.test("nothing serve loads at start needs node's compatibility layer from npm", async () => {
  // lru-cache's node build and ipaddr.js (CommonJS, node's module loader) each load node's
  // layer: 28–56 ms and about 9 MiB before ready (docs/benchmarks.md, "Session 5 (boot3)").
  // src/bounded_cache.ts replaces the first; src/net/ip_address.ts parses addresses without
  // the second, which loads with the first address classification (src/net/address_policy.ts).
  const npm = [...await startGraph()].filter((m) => m.startsWith("npm:"));
  for (const pkg of ["lru-cache", "ipaddr.js"]) {
    assert.ok(!npm.some((m) => m.startsWith(`npm:${pkg}@`)), `${pkg} is loaded at start`);
  }
  assert.ok(npm.some((m) => m.startsWith("npm:hono@")), "the test sees serve's npm imports");
});
