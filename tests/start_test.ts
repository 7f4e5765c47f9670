/**
 * `./deno task start` runs the bot from a bundle of src/ (src/start.ts): the README's wrapper
 * makes the bundle when there is none and again after the sources change, and the stamp that
 * decides whether a bundle still matches sees any change of a file's size or time. Run in a
 * copy of the checkout (src/, deno.json, deno.lock, the wrapper), so the test's edits never
 * touch the repository.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT } from "./support/module_graph.ts";
import { sourceStamp } from "../src/start.ts";

async function copyCheckout(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "start-task-" });
  for (const name of ["deno.json", "deno.lock", "deno"]) {
    await Deno.copyFile(join(ROOT, name), join(dir, name));
  }
  await Deno.chmod(join(dir, "deno"), 0o755);
  const copyTree = async (from: string, to: string) => {
    await Deno.mkdir(to);
    for await (const e of Deno.readDir(from)) {
      if (e.isDirectory) await copyTree(join(from, e.name), join(to, e.name));
      else await Deno.copyFile(join(from, e.name), join(to, e.name));
    }
  };
  await copyTree(join(ROOT, "src"), join(dir, "src"));
  // The pinned Deno the wrapper would otherwise install from npm.
  await Deno.symlink(await Deno.realPath(join(ROOT, ".tools")), join(dir, ".tools"));
  return dir;
}

async function startHelp(dir: string): Promise<void> {
  const out = await new Deno.Command(join(dir, "deno"), {
    args: ["task", "-q", "start", "--help"],
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, text);
  assert.match(text, /Usage: trueconf-webhook-bot serve/);
}

const currentId = (dir: string) => Deno.readTextFileSync(join(dir, ".cache/start/current"));

Deno.test("./deno task start makes the bundle, and a new one after the sources change", async () => {
  const dir = await copyCheckout();
  try {
    await startHelp(dir);
    const first = currentId(dir);
    const bundle = join(dir, ".cache/start", first);
    assert.ok(Deno.statSync(join(bundle, "main.js")).isFile);
    assert.ok(Deno.statSync(join(bundle, "delivery/preview/_worker.js")).isFile);
    assert.equal(Deno.readTextFileSync(join(bundle, "stamp")), sourceStamp(`${dir}/`));

    // Unchanged sources: the same bundle serves the next start.
    await startHelp(dir);
    assert.equal(currentId(dir), first);

    // A new source file: a new bundle, and the old one is kept for a bot still running from it.
    await Deno.writeTextFile(join(dir, "src/added_later.ts"), "export const later = 1;\n");
    await startHelp(dir);
    const second = currentId(dir);
    assert.notEqual(second, first);
    assert.equal(
      Deno.readTextFileSync(join(dir, ".cache/start", second, "stamp")),
      sourceStamp(`${dir}/`),
    );
    assert.ok(Deno.statSync(join(bundle, "main.js")).isFile);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the stamp changes with a file's size even when its time is put back", async () => {
  const dir = await copyCheckout();
  try {
    const file = join(dir, "src/version.ts");
    const before = sourceStamp(`${dir}/`);
    const { mtime } = await Deno.stat(file);
    await Deno.writeTextFile(file, "// edited\n", { append: true });
    await Deno.utime(file, mtime!, mtime!);
    assert.notEqual(sourceStamp(`${dir}/`), before);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
