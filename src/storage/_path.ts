/**
 * `dirname` and `join` for the store's start (the storage file's folder, the key file beside
 * it), without `node:path` on Linux and macOS: importing it there loaded 85 of node's
 * compatibility scripts into every start, about 1 MiB of idle RSS (docs/benchmarks.md, "Session 5
 * (idle)"). POSIX paths are this module's, with `node:path`'s results
 * (tests/storage/path_test.ts compares them on generated paths); Windows paths (drive letters,
 * backslashes, UNC shares) are `node:path`'s own, loaded there on first use.
 *
 * @module
 */

/**
 * True when the store is a file on this machine: not `:memory:`, not a KV Connect URL. Only
 * such a store has a folder beside it (lock files, the doorbell, the key file).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(isStoreFile("data/webhooks.kv"), true);
 * assert.equal(isStoreFile(":memory:"), false);
 * assert.equal(isStoreFile("https://api.deno.com/databases/x/connect"), false);
 * ```
 */
export function isStoreFile(path: string): boolean {
  return path !== ":memory:" && !/^https?:\/\//i.test(path);
}

/** The two functions the store needs, for this system's paths. */
export interface PathFunctions {
  dirname(path: string): string;
  join(...parts: string[]): string;
}

/** {@link dirname} and {@link join} on POSIX systems; `node:path`'s on Windows. */
export async function storagePaths(): Promise<PathFunctions> {
  return Deno.build.os === "windows" ? await import("node:path") : { dirname, join };
}

/**
 * The folder part of a POSIX `path`, as `node:path`'s `dirname`: trailing slashes are not a name, a
 * name without a folder is in ".", and the slashes before the last name are kept as written.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(dirname("/var/lib/bot/webhooks.kv"), "/var/lib/bot");
 * assert.equal(dirname("webhooks.kv"), ".");
 * assert.equal(dirname("/webhooks.kv"), "/");
 * ```
 */
export function dirname(path: string): string {
  if (path === "") return ".";
  // The last name ends at the last character that is not a trailing slash (never the first).
  let last = path.length - 1;
  while (last > 0 && path[last] === "/") last--;
  const slash = path.lastIndexOf("/", last);
  if (slash <= 0) return path[0] === "/" ? "/" : ".";
  // "//x": POSIX leaves the meaning of a leading "//" to the system, so node keeps both.
  if (slash === 1 && path[0] === "/") return "//";
  return path.slice(0, slash);
}

/**
 * POSIX `parts` joined with "/" and normalised, as `node:path`'s `join`: "." and empty segments
 * dropped, ".." taking back the segment before it, "." for nothing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(join("/var/lib/bot", "secret.key"), "/var/lib/bot/secret.key");
 * assert.equal(join(".", "secret.key"), "secret.key");
 * assert.equal(join("./data/", "../secret.key"), "secret.key");
 * ```
 */
export function join(...parts: string[]): string {
  const path = parts.filter((p) => p !== "").join("/");
  if (path === "") return ".";
  const absolute = path[0] === "/";
  const names: string[] = [];
  for (const name of path.split("/")) {
    if (name === "" || name === ".") continue;
    if (name !== "..") names.push(name);
    else if (names.length > 0 && names[names.length - 1] !== "..") names.pop();
    else if (!absolute) names.push("..");
  }
  let out = names.join("/");
  if (out === "" && !absolute) out = ".";
  if (out !== "" && path.endsWith("/")) out += "/";
  return absolute ? `/${out}` : out;
}
