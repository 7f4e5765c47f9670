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

/** `deno doc --lint` of `faces`: its exit code and report, without deno's unrelated warnings. */
async function docLint(faces: string[]): Promise<{ code: number; report: string }> {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--lint", ...faces],
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
  return { code, report };
}

Deno.test("deno doc --lint finds nothing to fix on any mod.ts face", async () => {
  const faces = await countFaces(join(ROOT, "src"));
  const { code, report } = await docLint(["src/**/mod.ts"]);
  assert.equal(code, 0, report);
  // The glob really reached every face (a pattern matching nothing would pass silently).
  assert.equal(report, `Checked ${faces} files`);
});

Deno.test("the top-level faces document themselves without the nested ones", async () => {
  // Issue 11's check, `deno doc --lint src/**/mod.ts`, typed unquoted into bash (no globstar)
  // reaches only src/<folder>/mod.ts: a type public only through a nested face
  // (delivery/queue/, ingest/formats/) then reads as private. Each face re-exports what its
  // signatures name.
  const top: string[] = [];
  for await (const entry of Deno.readDir(join(ROOT, "src"))) {
    if (!entry.isDirectory) continue;
    try {
      await Deno.stat(join(ROOT, "src", entry.name, "mod.ts"));
      top.push(`src/${entry.name}/mod.ts`);
    } catch { /* a folder without a face */ }
  }
  const { code, report } = await docLint(top.sort());
  assert.equal(code, 0, report);
  assert.equal(report, `Checked ${top.length} files`);
});
