/**
 * Notices when the KV file is deleted or replaced under a running bot (issue 18.6). SQLite
 * keeps writing into the unlinked file without an error, so every later write, a 202 included,
 * would be lost at the next start; only the file's identity (device and inode) tells.
 *
 * @module
 */

/** Options of {@link watchFileIdentity}. */
export interface FileIdentityOptions {
  /** How often the file is checked. Default 5 000 ms. */
  intervalMs?: number | undefined;
  /** Called once, when the file is first found missing or replaced. */
  onLost: (why: string) => void;
}

/** A running watch; `lost` is the reason once the file is gone, else null. */
export interface FileIdentityWatch {
  /** Why the file counts as lost, or null while it is fine. */
  readonly lost: string | null;
  /** Checks now (also what the timer does); resolves the current state. */
  check(): Promise<string | null>;
  /** Ends the watch. */
  stop(): void;
}

/**
 * Remembers the identity of `path` now and checks it every `intervalMs`. Paths that are not
 * files (`:memory:`, a KV Connect URL) are not watched.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/x.kv`, "");
 * const watch = await watchFileIdentity(`${dir}/x.kv`, { onLost: () => {} });
 * await Deno.remove(`${dir}/x.kv`);
 * assert.match((await watch.check()) ?? "", /deleted/);
 * watch.stop();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function watchFileIdentity(
  path: string,
  options: FileIdentityOptions,
): Promise<FileIdentityWatch> {
  const first = await identity(path);
  let lost: string | null = null;
  let timer: ReturnType<typeof setInterval> | undefined;
  const check = async (): Promise<string | null> => {
    if (lost !== null || first === null) return lost;
    // A failing stat (permissions, I/O) proves nothing: only a missing or other file counts.
    const now = await identity(path).catch(() => first);
    const why = now === null
      ? `the storage file ${path} was deleted`
      : now !== first
      ? `the storage file ${path} was replaced by another file`
      : null;
    if (why !== null && lost === null) {
      lost = why;
      options.onLost(why);
    }
    return lost;
  };
  if (first !== null) {
    timer = setInterval(() => void check(), options.intervalMs ?? 5_000);
    Deno.unrefTimer(timer);
  }
  return {
    get lost() {
      return lost;
    },
    check,
    stop() {
      clearInterval(timer);
    },
  };
}

/** `dev:ino` of a regular file, or null when there is none (or the platform has no inodes). */
async function identity(path: string): Promise<string | null> {
  try {
    const s = await Deno.stat(path);
    if (!s.isFile || s.ino === null || s.dev === null) return null;
    return `${s.dev}:${s.ino}`;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}
