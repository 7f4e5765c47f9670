/**
 * The entry of `deno task start` (the bot run from source) and of `deno task bundle`:
 *
 * - `src/start.ts --bundle` (the `bundle` task): bundles the sources with Deno's bundler
 *   (`--unstable-bundle`) into `.cache/start/<id>/`, unless the current bundle matches the
 *   tree: the size and modification time of every file under `src/` and of `deno.json` and
 *   `deno.lock`, so an edit, a `git pull` or a changed dependency gets a new one (about a
 *   second). The `./deno` wrapper runs it before `./deno task start` whenever one of those
 *   files is newer than the current bundle. It runs in a process of its own because the
 *   bundler keeps some 40 MiB of native memory in the process that ran it.
 * - `src/start.ts <command>` (the `start` task's `serve`): imports the bundle's `main.js` when
 *   the bundle matches the tree, else `src/main.ts`, and runs {@link main}.
 *
 * Why: `deno run` resolves, reads and looks up the compiled code of some 130 TypeScript modules
 * one by one. That was about 50 ms of each start and 6 MiB of idle RSS, which a bundle of a few
 * chunks does not cost (docs/benchmarks.md, "Start from a bundle"). A bot that finds no current
 * bundle (a start with another `deno` than `./deno` after a change, a read-only checkout, an
 * older Deno) runs from the sources as it would without this file: this module only chooses
 * where `main` comes from, never what it does. The compiled binary (`deno task compile`: the
 * Docker image and the systemd unit) and the CLI commands run as `deno run -A src/main.ts …`
 * do not use it.
 *
 * @module
 */
import type { main } from "./main.ts";

type Main = { main: typeof main };

const ROOT = new URL("../", import.meta.url);
const CACHE = new URL(".cache/start/", ROOT);
/** The modules the bundle starts from: the program, and the preview worker it spawns by URL. */
const ENTRIES = ["src/main.ts", "src/delivery/preview/_worker.ts"];
/** Bundles kept: the current one and the one before it (a bot may still run from it). */
const KEEP = 2;

/**
 * Size and modification time of every file the bundle is made of, one line each in a fixed
 * order: what decides whether a bundle still matches the source tree. `root` is the folder
 * holding `src/` (a path). Plain string paths: a URL per file cost 3× the time of the walk.
 */
export function sourceStamp(root: string): string {
  const lines: string[] = [];
  const walk = (dir: string) => {
    for (const entry of Deno.readDirSync(dir)) {
      if (entry.isDirectory) walk(`${dir}/${entry.name}`);
      else lines.push(fileLine(`${dir}/${entry.name}`));
    }
  };
  walk(`${root}src`);
  for (const name of ["deno.json", "deno.lock"]) lines.push(fileLine(`${root}${name}`));
  return lines.sort().join("\n");
}

function fileLine(path: string): string {
  try {
    const stat = Deno.statSync(path);
    return `${path} ${stat.size} ${stat.mtime?.getTime() ?? 0}`;
  } catch {
    return `${path} -`;
  }
}

/** The current bundle's `main.js` if the bundle matches the tree `stamp` describes. */
function currentBundle(stamp: string): URL | null {
  const current = readText(new URL("current", CACHE));
  if (current && readText(new URL(`${current}/stamp`, CACHE)) === stamp) {
    return new URL(`${current}/main.js`, CACHE);
  }
  return null;
}

/** Step 1: makes a bundle of the tree unless the current one matches it. */
async function bundle(): Promise<void> {
  const stamp = sourceStamp(decodeURIComponent(ROOT.pathname));
  if (currentBundle(stamp)) return;
  // Built in a folder of its own, then named current with an atomic rename: a start never
  // sees half a bundle, and bots started from an older one keep their chunks.
  const id = `${Date.now().toString(36)}-${Deno.pid}`;
  const dir = new URL(`${id}/`, CACHE);
  const result = await Deno.bundle({
    entrypoints: ENTRIES.map((path) => decodeURIComponent(new URL(path, ROOT).pathname)),
    outputDir: decodeURIComponent(dir.pathname),
    platform: "deno",
    format: "esm",
    codeSplitting: true,
    write: true,
  });
  if (!result.success) throw new Error(result.errors.map((e) => e.text).join("; "));
  Deno.writeTextFileSync(new URL("stamp", dir), stamp);
  Deno.writeTextFileSync(new URL(`current.${id}`, CACHE), id);
  Deno.renameSync(new URL(`current.${id}`, CACHE), new URL("current", CACHE));
  prune();
}

function readText(url: URL): string | null {
  try {
    return Deno.readTextFileSync(url);
  } catch {
    return null;
  }
}

/**
 * Removes all but the {@link KEEP} newest bundles. Their names start with the time they were
 * built (base 36, fixed width until the year 2059), so the newest sort last.
 */
function prune(): void {
  const names = [...Deno.readDirSync(CACHE)].filter((e) => e.isDirectory).map((e) => e.name);
  for (const old of names.sort().slice(0, -KEEP)) {
    try {
      Deno.removeSync(new URL(`${old}/`, CACHE), { recursive: true });
    } catch { /* removed by a concurrent start */ }
  }
}

/** Step 2: the program's `main`, from the bundle when it matches the tree. */
async function load(): Promise<Main> {
  try {
    const entry = currentBundle(sourceStamp(decodeURIComponent(ROOT.pathname)));
    if (entry) return await import(entry.href) as Main;
  } catch {
    // An unreadable cache, a bundle that fails to load: run from the sources instead.
  }
  return await import("./main.ts");
}

if (import.meta.main) {
  if (Deno.args[0] === "--bundle") {
    // Never fails the start: without a bundle the bot runs from the sources.
    await bundle().catch((e) => console.error(`no bundle of src/ (the bot runs from src/): ${e}`));
  } else {
    Deno.exit(await (await load()).main(Deno.args));
  }
}
