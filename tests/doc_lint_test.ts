/**
 * Keeps every folder's face (`mod.ts`) documented for its readers (issue 11): `deno doc --lint`
 * over all faces together reports nothing, so the README's test command (what CI runs) catches
 * an export without a doc comment, or a public signature that names a type no face exports
 * (Hono's, say: the Hono apps and middleware stay off the faces). `deno task ok` runs the same
 * lint on its own.
 */
import assert from "node:assert/strict";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname!, "..");

async function countFaces(dir: string): Promise<number> {
  let n = 0;
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isDirectory) n += await countFaces(join(dir, entry.name));
    else if (entry.name === "mod.ts") n++;
  }
  return n;
}

Deno.test("deno doc --lint finds nothing to fix on any mod.ts face", async () => {
  const faces = await countFaces(join(ROOT, "src"));
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--lint", "src/**/mod.ts"],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "null",
    stderr: "piped",
  }).output();
  // deno doc warns that it cannot resolve @types/node's reference paths (pulled in by ws's
  // types); those lines say nothing about our faces.
  const report = new TextDecoder().decode(stderr).split("\n")
    .filter((line) => !/^Warning Failed resolving types|^\s+at file:/.test(line))
    .join("\n").trim();
  assert.equal(code, 0, report);
  // The glob really reached every face (a pattern matching nothing would pass silently).
  assert.equal(report, `Checked ${faces} files`);
});
