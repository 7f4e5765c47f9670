/**
 * The entry of `deno task start` (the bot run from source): runs {@link main} from a bundle of
 * the source tree when one matches the tree, so a start loads a few chunks instead of some 130
 * TypeScript modules one by one.
 *
 * Why: `deno run` resolves, reads and looks up the compiled code of every module separately.
 * For this program that was about 50 ms of each start and 6 MiB of idle RSS (docs/benchmarks.md,
 * "Start from a bundle"). The compiled binary (`deno task compile`: the Docker image and the
 * systemd unit run it) embeds its modules and does not use this file; nor do the CLI commands
 * run as `deno run -A src/main.ts …`, which are short-lived.
 *
 * The bundle is built with `Deno.bundle` (`--unstable-bundle`) by the first start that finds
 * none for the current tree, into `.cache/start/<fingerprint>/` next to `src/`: that start
 * takes about a second longer. The fingerprint covers the size and modification time of every
 * file under `src/` and of `deno.json` and `deno.lock`, so an edit, a `git pull` or a changed
 * dependency gets a new bundle. The two newest bundles are kept: a bot still running from the
 * previous one loads its lazily imported chunks from there. Whenever a bundle cannot be made
 * or used (a read-only checkout, a bundling error, a Deno without the API), the program runs
 * from `src/main.ts` as it would without this file: this module only chooses where `main`
 * comes from, never what it does.
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

/** The bundle's `main.js` for the current tree, built if missing; null when there is none. */
async function bundledMain(): Promise<URL | null> {
  const stamp = sourceStamp(decodeURIComponent(ROOT.pathname));
  const current = readText(new URL("current", CACHE));
  if (current && readText(new URL(`${current}/stamp`, CACHE)) === stamp) {
    return new URL(`${current}/main.js`, CACHE);
  }
  if (typeof Deno.bundle !== "function") return null;
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
  if (!result.success) return null;
  Deno.writeTextFileSync(new URL("stamp", dir), stamp);
  Deno.writeTextFileSync(new URL(`current.${id}`, CACHE), id);
  Deno.renameSync(new URL(`current.${id}`, CACHE), new URL("current", CACHE));
  prune();
  return new URL("main.js", dir);
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

async function load(): Promise<Main> {
  try {
    const entry = await bundledMain();
    if (entry) return await import(entry.href) as Main;
  } catch {
    // Unreadable cache, a bundle that fails to load: run from the source instead.
  }
  return await import("./main.ts");
}

if (import.meta.main) {
  Deno.exit(await (await load()).main(Deno.args));
}
