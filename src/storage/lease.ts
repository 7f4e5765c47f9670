/**
 * One active instance per store: a lease record in KV that the serving process renews
 * (a heartbeat) and every other `serve` on the same store reads before it starts.
 *
 * A holder is judged alive by whether its record *changes*, observed on the reader's own
 * clock, never by comparing the holder's timestamps with ours: that works unchanged across
 * hosts whose clocks disagree, which is what a standby instance on a shared KV Connect
 * database (docs/deploy.md) needs. The rules:
 *
 * - no record → take it (an atomic commit checked against "absent", so of two starters
 *   exactly one wins);
 * - a record of this host whose process is gone (or has our own pid and no held lock file: a
 *   container restarted as PID 1) → the holder died: take over at once. "Gone" is told by the holder's own lock
 *   file (`<store>.lock-<pid>`, which it keeps `flock`ed while it lives; the kernel unlocks it
 *   when the process dies), because Deno lets only `--allow-all` read `/proc`, and the binary
 *   and the start task run with narrower permissions. `/proc` is the fallback for a record
 *   whose holder kept no lock file;
 * - otherwise watch it for up to `silenceMs`: if its heartbeat moves, the holder is alive →
 *   {@link LeaseHeldError} (or, with `wait`, keep watching: a standby); if it stays still
 *   that long, the holder is gone (SIGKILL, power loss, a frozen VM) → take over, again by an
 *   atomic commit checked against the record we watched.
 *
 * The holder renews every `heartbeatMs`, each renewal checked against its own last write; a
 * failed check means another instance took over (this one was frozen longer than
 * `silenceMs`): `lost` resolves and the process must stop at once.
 *
 * @module
 */
import { lease as leaseKey } from "./keys.ts";
import { isStoreFile } from "./_path.ts";
import { commitWhenFree } from "./store_busy.ts";

/** The stored record. Times are the holder's clock (shown to operators, never compared). */
export interface LeaseRecord {
  /** Random id of the holding process. */
  readonly holder: string;
  /** Host name of the holder. */
  readonly host: string;
  /** Its process id. */
  readonly pid: number;
  /** When the holder took the lease (ms since the epoch). */
  readonly started: number;
  /** The holder's last renewal (ms since the epoch). */
  readonly heartbeat: number;
  /** The holder keeps its lock file locked while it lives ({@link LeaseOptions.lockFile}). */
  readonly locked?: boolean | undefined;
}

/** Renewal interval. A dead holder is taken over {@link LEASE_SILENCE_MS} after its last beat. */
export const LEASE_HEARTBEAT_MS = 2_000;
/** How long a record may stay unchanged before its holder counts as gone. */
export const LEASE_SILENCE_MS = 6_000;

/** Options of {@link acquireLease}. */
export interface LeaseOptions {
  /** What the lease guards. Default `"serve"`. */
  role?: string | undefined;
  /** Default {@link LEASE_HEARTBEAT_MS}. */
  heartbeatMs?: number | undefined;
  /** Default {@link LEASE_SILENCE_MS}. */
  silenceMs?: number | undefined;
  /** While watching a held lease, read it this often. Default 200 ms. */
  pollMs?: number | undefined;
  /** Standby: keep waiting while the holder is alive instead of throwing {@link LeaseHeldError}. */
  wait?: boolean | undefined;
  /** Stops waiting (throws the signal's reason). */
  signal?: AbortSignal | undefined;
  /** Called when a held lease is about to be watched (to say why the start pauses). */
  onWatch?: ((holder: LeaseRecord) => void) | undefined;
  /** Called once when a renewal finds another holder. */
  onLost?: ((why: string) => void) | undefined;
  /** Identity of this process; defaults from the OS. */
  host?: string | undefined;
  /** Process id of this process; defaults to `Deno.pid`. */
  pid?: number | undefined;
  /** Whether a pid of this host is running: true, false, or null when it cannot be told. */
  isRunning?: ((pid: number) => boolean | null) | undefined;
  /**
   * The lock file a holder of this host with a given pid keeps locked while it lives
   * ({@link leaseLockFile}); none for a store without a local folder (`:memory:`, KV Connect).
   */
  lockFile?: ((pid: number) => string) | undefined;
}

/**
 * The lock files of a store on this machine (`<path>.lock-<pid>`, one per holder, so a frozen
 * former holder's lock never stands for its successor), or undefined for `:memory:` and KV
 * Connect URLs, which have no folder other local processes share.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(leaseLockFile("/var/lib/bot/webhooks.kv")?.(42), "/var/lib/bot/webhooks.kv.lock-42");
 * assert.equal(leaseLockFile(":memory:"), undefined);
 * ```
 */
export function leaseLockFile(storagePath: string): ((pid: number) => string) | undefined {
  if (!isStoreFile(storagePath)) return undefined;
  return (pid) => `${storagePath}.lock-${pid}`;
}

/** Another live instance holds the lease. The message is the one sentence to print. */
export class LeaseHeldError extends Error {
  /** Always `LeaseHeldError`. */
  override name = "LeaseHeldError";
  /** The live holder. */
  readonly holder: LeaseRecord;
  /** The error for `holder`'s lease on the store named `storeName`. */
  constructor(holder: LeaseRecord, storeName: string) {
    super(
      `The store ${storeName} is in use by another running instance (${describeHolder(holder)}): ` +
        "stop that one first, or give this one its own WEBHOOK_STORAGE_PATH.",
    );
    this.holder = holder;
  }
}

/** `pid 123 on host web1, started 2026-…Z` */
export function describeHolder(r: LeaseRecord): string {
  return `pid ${r.pid} on host ${r.host}, started ${new Date(r.started).toISOString()}`;
}

/** A held lease; renewal runs until {@link Lease.release}. */
export interface Lease {
  /** The record as this process wrote it. */
  readonly record: LeaseRecord;
  /** Resolves (with the reason) if another instance takes the lease away. */
  readonly lost: Promise<string>;
  /** How the lease was obtained, for the start-up log line. */
  readonly how: "free" | "holder_gone" | "holder_silent";
  /** Stops renewing and deletes the record if it is still ours. */
  release(): Promise<void>;
}

/** Reads the lease of a role without touching it (for `check-config`). */
export async function readLease(kv: Deno.Kv, role = "serve"): Promise<LeaseRecord | null> {
  return (await kv.get<LeaseRecord>(leaseKey(role))).value;
}

/**
 * The live holder of the store's `serve` lease (a running bot to ask), or null: no record, or
 * one left by a stopped or long-silent instance ({@link judgeLease}; without `storagePath` a
 * stopped holder of this host is told only by its silence). For the operator's commands, which
 * must not wait for an answer nobody will give.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const kv = await Deno.openKv(":memory:");
 * assert.equal(await servingHolder(kv, ":memory:"), null);
 * kv.close();
 * ```
 */
export async function servingHolder(
  kv: Deno.Kv,
  storagePath?: string | undefined,
): Promise<LeaseRecord | null> {
  const holder = await readLease(kv);
  const lockFile = storagePath === undefined ? undefined : leaseLockFile(storagePath);
  return holder && judgeLease(holder, lockFile).live ? holder : null;
}

/**
 * Takes the lease, waiting out a silent holder (at most `silenceMs`); throws
 * {@link LeaseHeldError} when a live instance holds it (unless `wait`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const kv = await Deno.openKv(":memory:");
 * const lease = await acquireLease(kv, { host: "h1", pid: 1, heartbeatMs: 20 });
 * assert.equal(lease.how, "free");
 * // h1 renews within the silence period: it is alive, so h2 is refused.
 * await assert.rejects(acquireLease(kv, { host: "h2", pid: 2, silenceMs: 5000 }), LeaseHeldError);
 * await lease.release();
 * kv.close();
 * ```
 */
export async function acquireLease(
  kv: Deno.Kv,
  options: LeaseOptions & { storeName?: string | undefined } = {},
): Promise<Lease> {
  const key = leaseKey(options.role ?? "serve");
  const heartbeatMs = options.heartbeatMs ?? LEASE_HEARTBEAT_MS;
  const silenceMs = options.silenceMs ?? LEASE_SILENCE_MS;
  const pollMs = options.pollMs ?? Math.min(200, heartbeatMs / 2);
  const host = options.host ?? thisHost();
  const pid = options.pid ?? Deno.pid;
  const isRunning = options.isRunning ?? processRunning;
  const storeName = options.storeName ?? "this store";

  for (;;) {
    options.signal?.throwIfAborted();
    const seen = await kv.get<LeaseRecord>(key);
    let how: Lease["how"] = "free";
    if (seen.value) {
      const r = seen.value;
      // Our own pid is a restart of the holder (a container's PID 1) unless its lock is held:
      // then it is another live process with our pid and host name (two containers, both
      // PID 1, one host name, one volume).
      const stopped = () =>
        r.host === host &&
        holderStopped(r, options.lockFile, r.pid === pid ? () => false : isRunning);
      const gone = stopped();
      if (!gone) {
        options.onWatch?.(r);
        // A holder of this host is also watched by its lock (or pid): its death is seen at
        // the next poll, not after the silence (a standby on the same host takes over at once).
        const still = await watch(
          kv,
          key,
          seen.versionstamp!,
          silenceMs,
          pollMs,
          options.signal,
          r.host === host ? stopped : undefined,
        );
        if (still === "changed") {
          if (!options.wait) {
            const now = (await kv.get<LeaseRecord>(key)).value;
            throw new LeaseHeldError(now ?? r, storeName);
          }
          continue;
        }
        if (still === "deleted" || still === "stopped") continue;
      }
      how = gone ? "holder_gone" : "holder_silent";
    }
    // Locked before the record says so: a reader that sees `locked` can trust the lock.
    const lock = options.lockFile ? takeLock(options.lockFile(pid)) : null;
    const now = Date.now();
    const record: LeaseRecord = {
      holder: crypto.randomUUID(),
      host,
      pid,
      started: now,
      heartbeat: now,
      ...(lock ? { locked: true } : {}),
    };
    const res = await commitWhenFree(kv, kv.atomic().check(seen).set(key, record));
    if (!res.ok) {
      lock?.close();
      continue; // someone else moved first: look again
    }
    // A dead holder's lock file is litter now (ours, after a restart as the same pid, is reused).
    const old = seen.value;
    if (how === "holder_gone" && old?.locked && old.pid !== pid && options.lockFile) {
      removeQuietly(options.lockFile(old.pid));
    }
    const ownFile = lock && options.lockFile ? options.lockFile(pid) : null;
    return holdLease(kv, key, record, res.versionstamp, heartbeatMs, how, options.onLost, {
      file: lock,
      path: ownFile,
    });
  }
}

/**
 * Watches a record until it changes, is deleted, its holder is seen `stopped` (a holder of
 * this host), or it stays still for `silenceMs`.
 */
async function watch(
  kv: Deno.Kv,
  key: Deno.KvKey,
  versionstamp: string,
  silenceMs: number,
  pollMs: number,
  signal: AbortSignal | undefined,
  stopped: (() => boolean) | undefined,
): Promise<"changed" | "deleted" | "stopped" | "silent"> {
  const until = performance.now() + silenceMs;
  while (performance.now() < until) {
    await pause(Math.min(pollMs, Math.max(0, until - performance.now())), signal);
    const now = await kv.get(key);
    if (now.versionstamp === null) return "deleted";
    if (now.versionstamp !== versionstamp) return "changed";
    if (stopped?.()) return "stopped";
  }
  return "silent";
}

function holdLease(
  kv: Deno.Kv,
  key: Deno.KvKey,
  first: LeaseRecord,
  firstStamp: string,
  heartbeatMs: number,
  how: Lease["how"],
  onLost: ((why: string) => void) | undefined,
  lock: { file: Deno.FsFile | null; path: string | null },
): Lease {
  let stamp: string | null = firstStamp;
  let record = first;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let stopped = false;
  let renewing: Promise<void> = Promise.resolve();
  const lost = Promise.withResolvers<string>();
  const dropLock = () => {
    lock.file?.close();
    lock.file = null;
    if (lock.path) removeQuietly(lock.path);
    lock.path = null;
  };

  const beat = async () => {
    if (stopped || stamp === null) return;
    const next = { ...record, heartbeat: Date.now() };
    try {
      const res = await kv.atomic().check({ key, versionstamp: stamp }).set(key, next).commit();
      if (res.ok) {
        stamp = res.versionstamp;
        record = next;
      } else if (!stopped) {
        stamp = null;
        const now = (await kv.get<LeaseRecord>(key)).value;
        const why = now
          ? `another instance took over the store (${describeHolder(now)})`
          : "the lease record was removed";
        // Not the holder any more, and about to exit: its lock file would be litter that no
        // successor removes (one that took over by silence never judged this process gone).
        dropLock();
        lost.resolve(why);
        onLost?.(why);
        return;
      }
    } catch {
      // A failing store (full disk): keep trying; if it lasts beyond the silence period a
      // standby takes over, and the next successful renewal notices.
    }
    if (!stopped) timer = setTimeout(() => renewing = beat(), heartbeatMs);
  };
  timer = setTimeout(() => renewing = beat(), heartbeatMs);

  return {
    record: first,
    lost: lost.promise,
    how,
    async release() {
      if (stopped) return;
      stopped = true;
      if (timer !== null) clearTimeout(timer);
      await renewing;
      try {
        if (stamp !== null) {
          await kv.atomic().check({ key, versionstamp: stamp }).delete(key).commit();
        }
      } finally {
        dropLock();
      }
    },
  };
}

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }
    function onAbort() {
      clearTimeout(t);
      reject(signal!.reason);
    }
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * How a lease looks to an operator right now, judged by this machine's clock (fine for a
 * report; taking over never relies on it): live, left by a stopped process of this host, or
 * silent for a while.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const r = { holder: "x", host: "elsewhere", pid: 1, started: 0, heartbeat: Date.now() };
 * assert.equal(judgeLease(r).live, true);
 * ```
 */
export function judgeLease(
  r: LeaseRecord,
  lockFile?: ((pid: number) => string) | undefined,
): { live: boolean; detail: string } {
  const who = describeHolder(r);
  if (r.host === thisHost() && holderStopped(r, lockFile, processRunning)) {
    return {
      live: false,
      detail:
        `left by a stopped instance (${who}; that process no longer runs): serve takes over at once`,
    };
  }
  const age = Math.max(0, Date.now() - r.heartbeat);
  const ago = `${(age / 1000).toFixed(1)} s ago`;
  if (age < LEASE_SILENCE_MS) {
    return {
      live: true,
      detail: `the store is in use by a running instance (${who}, renewed ${ago}): ` +
        "a second serve would exit 1; stop that one first",
    };
  }
  return {
    live: false,
    detail: `held by ${who}, last renewed ${ago}: serve takes over once it has stayed silent for ${
      LEASE_SILENCE_MS / 1000
    } s`,
  };
}

/** This machine's host name as leases record it. */
export function thisHost(): string {
  try {
    return Deno.hostname();
  } catch {
    return "unknown";
  }
}

/**
 * Whether the holder of `r` (a process of this host) has stopped: its lock file is free when
 * it kept one, else its pid is gone. False when that cannot be told.
 */
function holderStopped(
  r: LeaseRecord,
  lockFile: ((pid: number) => string) | undefined,
  isRunning: (pid: number) => boolean | null,
): boolean {
  if (r.locked && lockFile !== undefined) {
    const held = lockHeld(lockFile(r.pid));
    if (held !== null) return !held;
  }
  return isRunning(r.pid) === false;
}

/** Whether some process holds `path` locked; null when that cannot be told. */
function lockHeld(path: string): boolean | null {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch (e) {
    // No file: nobody holds it (a holder creates it before saying `locked`).
    return e instanceof Deno.errors.NotFound ? false : null;
  }
  try {
    // Closing the file below drops the lock this probe may have taken.
    return !file.tryLockSync(true);
  } catch {
    return null;
  } finally {
    file.close();
  }
}

/**
 * Opens and locks a holder's lock file; null when it cannot (a read-only folder, a file
 * system without locks): the lease then works as before, by `/proc` or by silence.
 */
function takeLock(path: string): Deno.FsFile | null {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true, write: true, create: true, mode: 0o600 });
  } catch {
    return null;
  }
  try {
    if (file.tryLockSync(true)) return file;
  } catch {
    // an OS or file system without locks: fall through
  }
  file.close();
  return null;
}

function removeQuietly(path: string): void {
  try {
    Deno.removeSync(path);
  } catch {
    // already gone, or not ours to remove: a stale lock file is harmless (nobody holds it)
  }
}

/**
 * Linux: /proc/<pid>/stat exists while the process exists; a zombie (state Z: killed, not yet
 * reaped by its parent) counts as gone. Elsewhere, or with /proc hidden: unknown.
 */
function processRunning(pid: number): boolean | null {
  try {
    Deno.statSync("/proc/self/stat");
  } catch {
    return null;
  }
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}
