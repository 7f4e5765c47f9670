/**
 * The program's module graph as `deno info --json` reports it: what `deno compile` embeds
 * (static and literal dynamic imports) and what a command loads before it runs (the static
 * part). Shared by the tests that keep lazy imports lazy and compiled binaries complete.
 */
import assert from "node:assert/strict";
import { resolve } from "node:path";

/** The repository root. */
export const ROOT = resolve(import.meta.dirname!, "../..");

/** One module of `deno info --json`'s answer. */
export interface GraphModule {
  specifier: string;
  error?: string;
  dependencies?: {
    specifier: string;
    isDynamic?: boolean;
    code?: { specifier?: string; error?: string };
  }[];
}

/** The module graph of `entry` (a path relative to the repository root). */
export async function moduleGraph(entry: string): Promise<Map<string, GraphModule>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT,
    stderr: "inherit",
  }).output();
  assert.ok(out.success, `deno info ${entry} failed`);
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as { modules: GraphModule[] };
  return new Map(info.modules.map((m) => [m.specifier, m]));
}

/** Every module `roots` import statically, directly or not (the roots included). */
export function staticClosure(graph: Map<string, GraphModule>, roots: string[]): Set<string> {
  const seen = new Set(roots);
  const unvisited = [...roots];
  while (unvisited.length > 0) {
    for (const dep of graph.get(unvisited.pop()!)?.dependencies ?? []) {
      const target = dep.code?.specifier;
      if (dep.isDynamic || !target || seen.has(target)) continue;
      seen.add(target);
      unvisited.push(target);
    }
  }
  return seen;
}
