// Issue 2: `.ci/run` "prints `N passed, M failed` as its last line, and exits non-zero on any
// failure". CI systems and the lead read that line; a failure before the tests ran (Deno or
// the frozen dependencies not installable) ended the script with the tool's error instead, and
// a failed format, lint, type or compile check left it saying "0 failed".
import assert from "node:assert/strict";
import { join } from "node:path";

const ROOT = new URL("../", import.meta.url).pathname;

/**
 * Runs `.ci/run` in a scratch folder holding the script, `./deno` and this checkout's Deno,
 * plus what `prepare` writes there; returns the exit code, stdout and stderr.
 */
async function ciRunIn(
  prepare: (dir: string) => Promise<void>,
): Promise<{ code: number; text: string; stderr: string }> {
  const dir = await Deno.makeTempDir({ prefix: "ci_run_" });
  try {
    await Deno.mkdir(join(dir, ".ci"));
    await Deno.copyFile(join(ROOT, ".ci/run"), join(dir, ".ci/run"));
    await Deno.copyFile(join(ROOT, "deno"), join(dir, "deno"));
    await Deno.chmod(join(dir, "deno"), 0o755);
    await Deno.symlink(await Deno.realPath(join(ROOT, ".tools")), join(dir, ".tools"));
    await prepare(dir);
    const out = await new Deno.Command("bash", {
      args: [".ci/run"],
      cwd: dir,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decoder = new TextDecoder();
    return { code: out.code, text: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const lastLine = (text: string) => text.trimEnd().split("\n").at(-1);

Deno.test(".ci/run: an install that fails still ends with the 'N passed, M failed' line and exit 1", async () => {
  // A lockfile that names a version deno.json does not ask for: the frozen install fails at
  // once, before any download or test.
  const { code, text, stderr } = await ciRunIn(async (dir) => {
    await Deno.copyFile(join(ROOT, "deno.json"), join(dir, "deno.json"));
    const lock = await Deno.readTextFile(join(ROOT, "deno.lock"));
    const hono = /"hono@(\d+)\.(\d+)\.(\d+)"/.exec(lock);
    assert.ok(hono, "deno.lock names hono");
    const other = `"hono@${hono[1]}.${hono[2]}.${Number(hono[3]) + 1}"`;
    await Deno.writeTextFile(join(dir, "deno.lock"), lock.replace(hono[0], other));
  });
  assert.equal(code, 1, text + stderr);
  assert.match(stderr, /lockfile/i, "the install's own error is shown");
  assert.equal(lastLine(text), "0 passed, 1 failed", text + stderr);
});

Deno.test(".ci/run: a format, lint, type or compile check that fails is counted in the 'N passed, M failed' line", async () => {
  // One passing test, one badly formatted file, no compile script: two checks fail (format,
  // compile path) while every test passes, so the line must not say 0 failed.
  const { code, text, stderr } = await ciRunIn(async (dir) => {
    await Deno.writeTextFile(
      join(dir, "deno.json"),
      JSON.stringify({ tasks: { test: "deno test --allow-all" } }),
    );
    await Deno.writeTextFile(join(dir, "ok_test.ts"), 'Deno.test("passes", () => {});\n');
    await Deno.writeTextFile(join(dir, "messy.ts"), "export const  x =1\n");
  });
  assert.equal(code, 1, text + stderr);
  assert.equal(lastLine(text), "1 passed, 2 failed", text + stderr);
});
