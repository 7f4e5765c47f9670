/**
 * What `serve` loads before it is ready (issue 16: idle RSS and start → ready): the modules an
 * idle bot does not need are imported on first use, so they must stay out of `serve`'s static
 * module graph. A static import added by mistake would cost the start its memory and time
 * again without failing anything else (docs/benchmarks.md, "Memory and start").
 */
import assert from "node:assert/strict";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const ROOT = resolve(import.meta.dirname!, "..");

interface InfoModule {
  specifier: string;
  dependencies?: { isDynamic?: boolean; code?: { specifier?: string } }[];
}

/** Every module `entry` imports statically, directly or not (`deno info --json`). */
async function staticGraph(entry: string): Promise<Set<string>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT,
    stderr: "inherit",
  }).output();
  assert.ok(out.success, "deno info failed");
  const info = JSON.parse(new TextDecoder().decode(out.stdout));
  const modules = new Map<string, InfoModule>(
    (info.modules as InfoModule[]).map((m) => [m.specifier, m]),
  );
  const seen = new Set<string>(info.roots);
  const todo = [...seen];
  while (todo.length > 0) {
    for (const dep of modules.get(todo.pop()!)?.dependencies ?? []) {
      const target = dep.code?.specifier;
      if (dep.isDynamic || !target || seen.has(target)) continue;
      seen.add(target);
      todo.push(target);
    }
  }
  return seen;
}

Deno.test("serve's start does not import what an idle bot does not use", async () => {
  const graph = await staticGraph("src/cli/serve.ts");
  const local = (path: string) => pathToFileURL(resolve(ROOT, path)).href;
  const lazy = [
    // node's HTTP, TLS, DNS and crypto: attachments and outgoing calls, TrueConf with TLS
    // verification off, the token hash of the first request (session 4).
    "node:crypto",
    "node:http",
    "node:https",
    "node:dns/promises",
    "node:tls",
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
