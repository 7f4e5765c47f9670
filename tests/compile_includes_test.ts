/**
 * Keeps `deno task compile` honest without a runnable binary on this machine: every file the
 * program loads at run time by URL (`new URL("./x", import.meta.url)`, `import.meta.resolve`)
 * must exist and be embedded with `--include`, or the compiled binary fails only in production
 * (for a Worker: when the first photo arrives).
 */
import assert from "node:assert/strict";
import { dirname, join, relative, resolve, sep } from "node:path";
import { pathToFileURL } from "node:url";
import { moduleGraph } from "./support/module_graph.ts";

const ROOT = resolve(import.meta.dirname!, "..");

// `new URL("…", import.meta.url)` and `import.meta.resolve("…")`, with any quote style.
const REFERENCE = new RegExp(
  String.raw`new\s+URL\(\s*(["'\x60])([^"'\x60]+)\1\s*,\s*import\.meta\.url\s*\)` +
    String.raw`|import\.meta\.resolve\(\s*(["'\x60])([^"'\x60]+)\3\s*\)`,
  "g",
);

/** A runtime file reference found in the sources. */
interface Reference {
  /** The referencing source file, relative to the repo root. */
  from: string;
  /** The referenced file, relative to the repo root. */
  target: string;
}

async function* sourceFiles(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* sourceFiles(path);
    else if (/\.(ts|tsx|js|mjs)$/.test(entry.name)) yield path;
  }
}

/** A source file without its comment lines: doc comments show patterns as examples. */
async function codeOf(file: string): Promise<string> {
  return (await Deno.readTextFile(file))
    .split("\n")
    .filter((line) => !/^\s*(\*|\/\/|\/\*)/.test(line))
    .join("\n");
}

async function findReferences(): Promise<Reference[]> {
  const found: Reference[] = [];
  // Only the modules the binary is built from: src/start.ts (the start task's launcher) is not.
  const compiled = await moduleGraph("src/main.ts");
  for await (const file of sourceFiles(join(ROOT, "src"))) {
    if (!compiled.has(pathToFileURL(file).href)) continue;
    const code = await codeOf(file);
    for (const m of code.matchAll(REFERENCE)) {
      const spec = m[2] ?? m[4]!;
      // Bare or remote specifiers are module imports the graph already embeds.
      if (!spec.startsWith("./") && !spec.startsWith("../")) continue;
      // The sources are TypeScript: a .js file is an output of the start task's bundle
      // (src/start.ts), referenced only when the module runs from that bundle.
      if (spec.endsWith(".js")) continue;
      found.push({
        from: relative(ROOT, file),
        target: relative(ROOT, resolve(dirname(file), spec)),
      });
    }
  }
  return found;
}

/** Splits a task command line into words, honouring simple single/double quotes. */
function words(command: string): string[] {
  return [...command.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
}

/** The full argument list of a task, following `deno task <other> …` chains. */
function taskWords(tasks: Record<string, string | { command: string }>, name: string): string[] {
  const task = tasks[name];
  assert.ok(task, `deno.json has no "${name}" task`);
  const command = typeof task === "string" ? task : task.command;
  // Leading VAR=value words set the environment; `||` starts the failure message.
  const all = words(command);
  const from = all.findIndex((x) => !/^[A-Z_]+=/.test(x));
  const end = all.indexOf("||");
  const w = all.slice(from, end < 0 ? undefined : end);
  if (w[0] === "deno" && w[1] === "task" && w[2]) {
    return [...taskWords(tasks, w[2]), ...w.slice(3)];
  }
  return w;
}

async function compileTask(): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  return taskWords(config.tasks ?? {}, "compile");
}

function flagValues(args: string[], flag: string): string[] {
  const values: string[] = [];
  args.forEach((arg, i) => {
    if (arg === flag && args[i + 1]) values.push(args[i + 1]!);
    else if (arg.startsWith(`${flag}=`)) values.push(arg.slice(flag.length + 1));
  });
  return values;
}

function covers(include: string, target: string): boolean {
  const inc = include.replace(/^\.\//, "").replace(/\/+$/, "");
  return target === inc || target.startsWith(inc + sep) || target.startsWith(inc + "/");
}

Deno.test("every file referenced with import.meta.url exists and is in the compile --include list", async () => {
  const refs = await findReferences();
  const includes = flagValues(await compileTask(), "--include");
  const missing = refs.filter((r) => !includes.some((inc) => covers(inc, r.target)));
  const absent: string[] = [];
  for (const r of refs) {
    const exists = await Deno.stat(join(ROOT, r.target)).then(() => true, () => false);
    if (!exists) absent.push(`${r.target} (referenced from ${r.from})`);
  }
  assert.deepEqual(absent, [], "referenced runtime files that do not exist");
  assert.deepEqual(
    missing.map((r) => `--include ${r.target}   (referenced from ${r.from})`),
    [],
    "add these to the compile task in deno.json",
  );
});

Deno.test("every compile --include names a file or folder that exists", async () => {
  for (const inc of flagValues(await compileTask(), "--include")) {
    const exists = await Deno.stat(join(ROOT, inc)).then(() => true, () => false);
    assert.ok(exists, `--include ${inc} does not exist`);
  }
});

Deno.test("the compile task builds src/main.ts into dist/trueconf-webhook-bot without baked-in secrets", async () => {
  const args = await compileTask();
  assert.deepEqual(args.slice(0, 2), ["deno", "compile"]);
  assert.equal(args.at(-1), "src/main.ts", "the entry point must be the last word");
  assert.deepEqual(flagValues(args, "--output").concat(flagValues(args, "-o")), [
    "dist/trueconf-webhook-bot",
  ]);
  assert.ok(args.includes("--frozen"), "--frozen keeps the build on the locked dependencies");
  // --env-file would embed the .env values in plain text; TLS laxness is a runtime setting.
  for (
    const banned of ["--env-file", "--unsafely-ignore-certificate-errors", "-A", "--allow-all"]
  ) {
    assert.ok(
      !args.some((a) => a === banned || a.startsWith(`${banned}=`)),
      `${banned} must not be used at compile time`,
    );
  }
  for (const needed of ["--allow-net", "--allow-env", "--allow-read", "--allow-write"]) {
    assert.ok(args.some((a) => a === needed || a.startsWith(`${needed}=`)), `${needed} missing`);
  }
});

/**
 * The one flag `deno task start` has and the binary must not: `deno run` walks the modules of
 * every literal `import()` before the program starts unless told to walk each when it is reached
 * (idle RSS −3 MiB, start −5 to −11 ms: docs/benchmarks.md, "Session 5 (boot3)"). `deno compile`
 * embeds what that same walk finds: given the flag it leaves the `import()`ed modules out
 * (measured with a stand-in denort: no `src/chat_side.ts` in the output, 19.0 instead of 21.7
 * MB), and the binary would fail at their first use (a chat command, a first hook request).
 */
const START_ONLY = "--unstable-lazy-dynamic-imports";

Deno.test("the binary (Docker image, systemd unit) runs with the start task's V8 flags, unstable features and permissions", async () => {
  // `deno task start`, the compiled binary and everything built from it (the Docker image and
  // the systemd unit run that binary) must run the same program: a V8 flag, an unstable
  // feature or a permission added to one task only would make the binary measure and behave
  // differently. The one allowed difference is START_ONLY (above).
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  const start = taskWords(config.tasks ?? {}, "start");
  const compile = await compileTask();
  const runtime = (args: string[]) =>
    args.filter((a) =>
      a.startsWith("--v8-flags") || a.startsWith("--allow-") || a.startsWith("--unstable-")
    ).sort();
  assert.deepEqual(runtime(compile), runtime(start).filter((a) => a !== START_ONLY));
  assert.ok(start.includes(START_ONLY));
  // deno.json's "unstable" list applies to compile too.
  assert.ok(!(config.unstable ?? []).includes(START_ONLY.slice("--unstable-".length)));
});

Deno.test("every import() in src/ names its module literally, so deno compile embeds it", async () => {
  // `deno compile` embeds what `deno info src/main.ts` finds, dynamic imports included, but
  // only those whose specifier is a literal: `import(name)` would be missing from the binary
  // and fail only when first used (the chat side, the preview maker, node's HTTP and crypto…).
  const dynamic: string[] = [];
  const graph = await moduleGraph("src/main.ts");
  for await (const file of sourceFiles(join(ROOT, "src"))) {
    // src/start.ts, the start task's launcher, imports the bundle by path; it is not compiled.
    if (!graph.has(pathToFileURL(file).href)) continue;
    const code = await codeOf(file);
    for (const m of code.matchAll(/(?<!typeof\s+)\bimport\(\s*([^)]*?)\s*[,)]/g)) {
      const spec = m[1]!;
      assert.match(spec, /^"[^"]+"$|^'[^']+'$/, `${relative(ROOT, file)}: import(${spec})`);
      dynamic.push(spec.slice(1, -1));
    }
  }
  assert.ok(dynamic.length > 0);
  const found = new Map<string, string | undefined>();
  for (const m of graph.values()) {
    assert.equal(m.error, undefined, `${m.specifier}: ${m.error}`);
    for (const d of m.dependencies ?? []) {
      if (!d.isDynamic) continue;
      assert.ok(d.code?.specifier && !d.code.error, `${m.specifier}: import("${d.specifier}")`);
      found.set(d.specifier, d.code.specifier);
    }
  }
  // Every import() of the sources is in the program's graph (none is in an unreachable file).
  assert.deepEqual([...new Set(dynamic)].filter((s) => !found.has(s)), []);
});
