/**
 * Opening the application's Deno KV database.
 *
 * @module
 */

import { errorText } from "../error_text.ts";
import { isStoreFile, storagePaths } from "./_path.ts";
import { rememberStorePath } from "./doorbell.ts";
import * as keys from "./keys.ts";
import { patientCommits, STORE_SLOW_MS, StoreBusyError } from "./store_busy.ts";

/** Where the hook store lives when `WEBHOOK_STORAGE_PATH` is not set. */
export const DEFAULT_KV_PATH = "data/webhooks.kv";

/** Options of {@link openKv}. */
export interface OpenKvOptions {
  /**
   * For an offline command: the store file must answer a first read within this many ms, else
   * {@link openKv} throws a {@link StoreBusyError}. Unset (`serve`): it waits as long as it takes.
   */
  answerWithinMs?: number | undefined;
  /**
   * Called once when the first read has waited `waitingAfterMs`, so the operator learns why
   * nothing happens yet (another process keeps the store locked) instead of watching a silent
   * start (`serve`, which waits as long as it takes) or a silent command.
   */
  onWaiting?: ((waitedMs: number) => void) | undefined;
  /** When `onWaiting` is told: {@link STORE_SLOW_MS} unless set. */
  waitingAfterMs?: number | undefined;
  /**
   * For an offline command: each commit that another process's lock refuses is tried again
   * until it has waited this many ms in total, then fails with a {@link StoreBusyError}
   * ({@link patientCommits}). Unset (`serve`): its commit owners wait through `commitWhenFree`.
   */
  commitWithinMs?: number | undefined;
  /** With `commitWithinMs`: called once, when a commit has been refused for a while. */
  onCommitWaiting?: (() => void) | undefined;
}

/**
 * Opens a KV database. For a file path the parent folder is created first and the path is
 * checked up front, because sqlite's own errors ("unable to open database file") do not tell
 * an operator what to fix. A folder or file made here is the bot user's alone (0700, 0600:
 * the store holds queued messages and uploaded files; sqlite gives its -wal and -shm files the
 * database file's mode); existing ones keep theirs. `:memory:` and KV Connect URLs (`http(s)://…`, token in
 * `DENO_KV_ACCESS_TOKEN`) pass through unchanged.
 *
 * The caller owns the handle and closes it.
 *
 * @example
 * ```ts
 * async function open(): Promise<Deno.Kv> {
 *   return await openKv(Deno.env.get("WEBHOOK_STORAGE_PATH") ?? DEFAULT_KV_PATH);
 * }
 * ```
 */
export async function openKv(path: string, options: OpenKvOptions = {}): Promise<Deno.Kv> {
  if (!isStoreFile(path)) return await Deno.openKv(path);
  if (path.trim() === "") throw new Error("The storage path is empty; give a file path.");

  const info = await statOrNull(path);
  if (info?.isDirectory) {
    throw new Error(
      `The storage path ${path} is a folder; give a file path inside it, e.g. ${path}/webhooks.kv.`,
    );
  }
  const parent = (await storagePaths()).dirname(path);
  try {
    await Deno.mkdir(parent, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new Error(`Cannot create the folder ${parent} for the storage file: ${message(e)}.`, {
      cause: e,
    });
  }
  try {
    // An empty file is a valid empty sqlite database, so this probe leaves nothing odd behind.
    const f = await Deno.open(path, { read: true, write: true, create: true, mode: 0o600 });
    f.close();
  } catch (e) {
    throw new Error(
      `The storage file ${path} is not writable by this user: ${message(e)}. ` +
        `Fix its permissions or set WEBHOOK_STORAGE_PATH to a writable file.`,
      { cause: e },
    );
  }
  let kv: Deno.Kv;
  try {
    kv = await Deno.openKv(path);
  } catch (e) {
    throw new Error(`Cannot open the storage file ${path} as a KV database: ${message(e)}.`, {
      cause: e,
    });
  }
  if (options.commitWithinMs !== undefined) {
    kv = patientCommits(kv, {
      path,
      withinMs: options.commitWithinMs,
      onWaiting: options.onCommitWaiting ?? (() => {}),
    });
  }
  rememberStorePath(kv, path); // so a CLI's change can ring the serving bot's doorbell
  if (options.answerWithinMs !== undefined || options.onWaiting) {
    await firstAnswer(kv, path, options);
  }
  return kv;
}

/**
 * Waits for `kv`'s first read: at most `answerWithinMs` when given (then a
 * {@link StoreBusyError}), telling `onWaiting` once it has waited `waitingAfterMs`. Deno KV's
 * first operation on a new handle waits for SQLite's write lock without limit (measured with
 * Deno 2.9.6: another process in `BEGIN IMMEDIATE` kept a first `get` waiting for as long as it
 * held the lock; its start-up also deletes the keys that expired meanwhile, in one transaction);
 * after it, a read does not wait for the lock (WAL) and a refused commit fails (store_busy.ts).
 * So this is the one wait without a bound of its own.
 */
async function firstAnswer(
  kv: Deno.Kv,
  path: string,
  { answerWithinMs, onWaiting, waitingAfterMs = STORE_SLOW_MS }: OpenKvOptions,
): Promise<void> {
  const timers: ReturnType<typeof setTimeout>[] = [];
  if (onWaiting) timers.push(setTimeout(() => onWaiting(waitingAfterMs), waitingAfterMs));
  const read = kv.get(keys.secretKeyCheck());
  try {
    if (answerWithinMs === undefined) {
      await read;
      return;
    }
    const late = new Promise<"late">((resolve) =>
      timers.push(setTimeout(() => resolve("late"), answerWithinMs))
    );
    if (await Promise.race([read, late]) === "late") {
      throw new StoreBusyError(path, answerWithinMs);
    }
  } finally {
    for (const t of timers) clearTimeout(t);
  }
}

async function statOrNull(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.stat(path);
  } catch (e) {
    // NotADirectory: a parent is a file; mkdir below reports that in plain words.
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return null;
    // NotCapable: Deno itself keeps the bot out (/proc and the like); file modes cannot help.
    const remedy = e instanceof Deno.errors.NotCapable
      ? "The bot may not use that place (a system folder such as /proc): set "
      : "Give the bot's user access to every folder on that path (e.g. chmod o+x, or chown " +
        "to that user), or set ";
    throw new Error(
      `Cannot inspect the storage path ${path}: ${message(e)}. ${remedy}` +
        `WEBHOOK_STORAGE_PATH to a file in a folder it can use.`,
      { cause: e },
    );
  }
}

// Shown to operators: without Deno's "--allow-…" hint, which the binary's user cannot follow.
function message(e: unknown): string {
  return errorText(e);
}

/** What {@link inspectStorage} found. */
export type StorageInspection =
  | { readonly ok: true; readonly exists: boolean; readonly detail: string }
  | { readonly ok: false; readonly detail: string };

/**
 * Checks what {@link openKv} would need, without creating or changing anything (for
 * `check-config`): a file path (not a folder), writable if it exists, else a folder that
 * exists or can be created, writable by this user.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * assert.deepEqual(await inspectStorage(dir), {
 *   ok: false,
 *   detail: `${dir} is a folder; give a file path inside it, e.g. ${dir}/webhooks.kv`,
 * });
 * await Deno.remove(dir);
 * ```
 */
export async function inspectStorage(path: string): Promise<StorageInspection> {
  if (path === ":memory:") return { ok: true, exists: false, detail: "in memory (lost at exit)" };
  if (/^https?:\/\//i.test(path)) {
    return { ok: true, exists: true, detail: `remote KV Connect database ${path}` };
  }
  let info: Deno.FileInfo | null;
  try {
    info = await statOrNull(path);
  } catch (e) {
    return { ok: false, detail: message(e) };
  }
  if (info?.isDirectory) {
    return {
      ok: false,
      detail: `${path} is a folder; give a file path inside it, e.g. ${path}/webhooks.kv`,
    };
  }
  if (info) {
    try {
      (await Deno.open(path, { read: true, write: true })).close();
    } catch (e) {
      return {
        ok: false,
        detail: `${path} is not writable by this user: ${
          message(e)
        }. Fix its permissions or set WEBHOOK_STORAGE_PATH to a writable file`,
      };
    }
    return { ok: true, exists: true, detail: `${path} (writable)` };
  }
  // Not there yet: the nearest existing folder above it must be a writable folder.
  const { dirname } = await storagePaths();
  let dir = dirname(path);
  let probe: Deno.FileInfo | null = null;
  for (;;) {
    try {
      probe = await statOrNull(dir);
    } catch (e) {
      return { ok: false, detail: message(e) };
    }
    if (probe || dirname(dir) === dir) break;
    dir = dirname(dir);
  }
  if (probe && !probe.isDirectory) {
    return { ok: false, detail: `cannot create ${path}: ${dir} is a file, not a folder` };
  }
  try {
    const tmp = await Deno.makeTempFile({ dir, prefix: ".check-config-" });
    await Deno.remove(tmp);
  } catch (e) {
    return {
      ok: false,
      detail: `cannot create ${path}: the folder ${dir} is not writable by this user (${
        message(e)
      })`,
    };
  }
  return { ok: true, exists: false, detail: `${path} (created at first start, in ${dir})` };
}
