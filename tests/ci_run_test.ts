// Issue 2: `.ci/run` "prints `N passed, M failed` as its last line, and exits non-zero on any
// failure". CI systems and the lead read that line; a failure before the tests ran (Deno or
// the frozen dependencies not installable) ended the script with the tool's error instead.
// Run on a scratch copy whose lockfile names a version deno.json does not ask for, so the
// frozen install fails at once, before any download or test.
import assert from "node:assert/strict";
import { join } from "node:path";

const ROOT = new URL("../", import.meta.url).pathname;

Deno.test(".ci/run: an install that fails still ends with the 'N passed, M failed' line and exit 1", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ci_run_" });
  try {
    await Deno.mkdir(join(dir, ".ci"));
    await Deno.copyFile(join(ROOT, ".ci/run"), join(dir, ".ci/run"));
    await Deno.copyFile(join(ROOT, "deno"), join(dir, "deno"));
    await Deno.chmod(join(dir, "deno"), 0o755);
    await Deno.copyFile(join(ROOT, "deno.json"), join(dir, "deno.json"));
    await Deno.symlink(await Deno.realPath(join(ROOT, ".tools")), join(dir, ".tools"));
    const lock = await Deno.readTextFile(join(ROOT, "deno.lock"));
    const hono = /"hono@(\d+)\.(\d+)\.(\d+)"/.exec(lock);
    assert.ok(hono, "deno.lock names hono");
    const other = `"hono@${hono[1]}.${hono[2]}.${Number(hono[3]) + 1}"`;
    await Deno.writeTextFile(join(dir, "deno.lock"), lock.replace(hono[0], other));
    const out = await new Deno.Command("bash", {
      args: [".ci/run"],
      cwd: dir,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 1, text + stderr);
    assert.match(stderr, /lockfile/i, "the install's own error is shown");
    assert.equal(text.trimEnd().split("\n").at(-1), "0 passed, 1 failed", text + stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test(".ci/run: a format, lint, type or compile check that fails is counted in the 'N passed, M failed' line", async () => {
  // A scratch project: one passing test, one badly formatted file, no compile script. Two
  // checks fail (format, compile path), every test passes: the line must not say 0 failed.
  const dir = await Deno.makeTempDir({ prefix: "ci_run_" });
  try {
    await Deno.mkdir(join(dir, ".ci"));
    await Deno.copyFile(join(ROOT, ".ci/run"), join(dir, ".ci/run"));
    await Deno.copyFile(join(ROOT, "deno"), join(dir, "deno"));
    await Deno.chmod(join(dir, "deno"), 0o755);
    await Deno.symlink(await Deno.realPath(join(ROOT, ".tools")), join(dir, ".tools"));
    await Deno.writeTextFile(
      join(dir, "deno.json"),
      JSON.stringify({ tasks: { test: "deno test --allow-all" } }),
    );
    await Deno.writeTextFile(
      join(dir, "ok_test.ts"),
      'Deno.test("passes", () => {});\n',
    );
    await Deno.writeTextFile(join(dir, "messy.ts"), "export const  x =1\n");
    const out = await new Deno.Command("bash", {
      args: [".ci/run"],
      cwd: dir,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 1, text + stderr);
    assert.equal(text.trimEnd().split("\n").at(-1), "1 passed, 2 failed", text + stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
