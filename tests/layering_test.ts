/**
 * The folder rules a newcomer relies on (issue 11; docs/design.md, "Faces and imports"), checked
 * over every import in src/ so a shortcut taken in a hurry fails the README's test command:
 *
 * - the lower floors (delivery, storage, net, trueconf) import nothing from the HTTP layer
 *   (ingest) or the hook domain (hooks): issue 11's "Done when";
 * - a `_private` file is imported only from its own folder (and that folder's subfolders);
 * - outgoing hooks build on the hook domain, never the other way round: `src/hooks/` imports
 *   nothing from `src/outgoing/` (the two folders imported each other's modules once, so no
 *   decision had one home a newcomer could find);
 * - src/ imports nothing outside src/ (issue 7: production code does not depend on the fake).
 */
import assert from "node:assert/strict";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname!, "..");

/** Every `.ts` file under `dir`, as paths relative to the repository root. */
async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(join(ROOT, dir))) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) out.push(...await sources(path));
    else if (entry.name.endsWith(".ts")) out.push(path);
  }
  return out;
}

// Static imports and re-exports (`… from "./x.ts"`) and literal dynamic imports
// (`import("./x.ts")`); type-only imports count too: they tie the folders as surely.
const IMPORT = /\bfrom\s+["'](\.{1,2}\/[^"']+)["']|\bimport\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g;

/** `[importer, imported]` for every relative import in src/, both as root-relative paths. */
async function imports(): Promise<[string, string][]> {
  const edges: [string, string][] = [];
  for (const file of await sources("src")) {
    const text = await Deno.readTextFile(join(ROOT, file));
    for (const m of text.matchAll(IMPORT)) {
      const target = relative(ROOT, resolve(ROOT, dirname(file), (m[1] ?? m[2])!));
      edges.push([file, target]);
    }
  }
  return edges;
}

Deno.test("delivery, storage, net and trueconf import nothing from ingest or hooks", async () => {
  const edges = await imports();
  const lower = /^src\/(delivery|storage|net|trueconf)\//;
  const upper = /^src\/(ingest|hooks)\//;
  const upward = edges.filter(([from, to]) => lower.test(from) && upper.test(to));
  assert.deepEqual(upward.map(([from, to]) => `${from} → ${to}`), []);
  // The scan sees imports at all (a broken pattern would pass the check above silently).
  assert.ok(edges.some(([from, to]) => from === "src/bot.ts" && to === "src/config.ts"));
});

Deno.test("a _private file is imported only from its own folder", async () => {
  const edges = await imports();
  const strangers = edges.filter(([from, to]) => {
    const name = to.slice(to.lastIndexOf("/") + 1);
    if (!name.startsWith("_")) return false;
    const home = dirname(to);
    return dirname(from) !== home && !dirname(from).startsWith(`${home}/`);
  });
  assert.deepEqual(strangers.map(([from, to]) => `${from} → ${to}`), []);
  assert.ok(edges.some(([, to]) => to.includes("/_")), "the scan sees private imports");
});

Deno.test("hooks import nothing from outgoing: outgoing hooks build on the hook domain", async () => {
  const edges = await imports();
  const back = edges.filter(([from, to]) =>
    from.startsWith("src/hooks/") && to.startsWith("src/outgoing/")
  );
  assert.deepEqual(back.map(([from, to]) => `${from} → ${to}`), []);
  assert.ok(
    edges.some(([from, to]) => from.startsWith("src/outgoing/") && to.startsWith("src/hooks/")),
    "the scan sees outgoing's imports of the hook domain",
  );
});

// Issue 7: "Production code does not depend on the fake." The fake TrueConf server and the other
// test helpers live in tests/, the demo in demo/; the binary and the Docker image are built from
// src/ alone (.dockerignore, scripts/check_compile.sh), so an import from src/ into tests/ or
// demo/ would ship the fake or break those builds, which only .ci/run's compile step saw.
Deno.test("src imports nothing outside src/: production never depends on the fake TrueConf", async () => {
  const edges = await imports();
  const outside = edges.filter(([, to]) => !to.startsWith("src/"));
  assert.deepEqual(outside.map(([from, to]) => `${from} → ${to}`), []);
});
