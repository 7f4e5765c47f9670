// `deno task compile` on a machine that cannot download Deno's runtime (denort) ends with one
// line saying what to do (DENORT_BIN), not a Rust backtrace (issue 17.9). Runs the task itself
// in a scratch copy of what the Docker build gets; the download is made to fail for certain by
// an unusable proxy, so the test means the same on a machine with internet.
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

Deno.test("compile without internet: one line naming DENORT_BIN, no backtrace", async () => {
  const work = await Deno.makeTempDir({ prefix: "compile_offline_" });
  try {
    for (const f of ["deno.json", "deno.lock"]) await Deno.copyFile(join(ROOT, f), join(work, f));
    await new Deno.Command("cp", { args: ["-R", join(ROOT, "src"), join(work, "src")] }).output();
    const env: Record<string, string> = {
      NO_COLOR: "1",
      RUST_BACKTRACE: "1", // as a developer shell may have it: the task must still be quiet
      HTTPS_PROXY: "http://127.0.0.1:9", // nothing listens there: the download cannot succeed
      HTTP_PROXY: "http://127.0.0.1:9",
      NO_PROXY: "registry.npmjs.org", // npm packages may still come from the registry
      HOME: Deno.env.get("HOME") ?? work,
      PATH: Deno.env.get("PATH") ?? "",
    };
    // The shared Deno cache (npm packages); denort cannot be in it on a machine without
    // internet, and if it is, the compile succeeds and there is nothing to say.
    for (const name of ["DENO_DIR", "XDG_CACHE_HOME"]) {
      const v = Deno.env.get(name);
      if (v) env[name] = v;
    }
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["task", "compile"],
      cwd: work,
      env,
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    if (out.success) {
      // denort was already cached for this target: nothing to download, nothing to say.
      assert.ok((await Deno.stat(join(work, "dist/trueconf-webhook-bot"))).isFile);
      return;
    }
    assert.equal(out.code, 1, stderr);
    assert.doesNotMatch(stderr, /Stack backtrace/);
    const last = stderr.trim().split("\n").at(-1)!;
    assert.match(
      last,
      /^compile failed\. If the error above is the download of denort .* DENORT_BIN=\/path\/to\/denort \.\/deno task compile/,
    );
    assert.match(stderr, /denort-[a-z0-9_-]+\.zip/, "the failed download is named above it");
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});
