/**
 * `hooks export [FILE]` and `hooks import FILE`: the whole store as JSON lines and back
 * (src/storage/backup.ts), so a backup needs neither sqlite3 nor a stopped bot. Tokens are
 * stored, and so exported, only as hashes.
 *
 * @module
 */
import { errorText } from "../error_text.ts";
import { TextLineStream } from "./_lines.ts";
import {
  BackupError,
  describeHolder,
  exportStore,
  importStore,
  judgeLease,
  leaseLockFile,
  readLease,
  SecretBox,
} from "../storage/mod.ts";
import type { Out } from "./hooks_cli.ts";

/**
 * Writes every entry of the store to `path` (created 0600; `-` or absent: standard output).
 * The report goes to `err`, so standard output carries only the data.
 */
export async function hooksExport(
  kv: Deno.Kv,
  path: string | undefined,
  storagePath: string,
  err: Out,
): Promise<number> {
  const toStdout = path === undefined || path === "-";
  let file: Deno.FsFile | null = null;
  try {
    file = toStdout
      ? null
      : await Deno.open(path, { write: true, create: true, truncate: true, mode: 0o600 });
  } catch (e) {
    err(`Cannot write ${path}: ${errorText(e)}`);
    return 1;
  }
  const sink = file ?? Deno.stdout;
  const enc = new TextEncoder();
  let entries = -1; // the header is not an entry
  try {
    let buf = "";
    for await (const line of exportStore(kv)) {
      entries++;
      buf += line + "\n";
      if (buf.length > 64 * 1024) {
        await writeAll(sink, enc.encode(buf));
        buf = "";
      }
    }
    await writeAll(sink, enc.encode(buf));
  } catch (e) {
    err(`Export failed: ${errorText(e)}`);
    return 1;
  } finally {
    file?.close();
  }
  err(
    `Exported ${entries} entries${toStdout ? "" : ` to ${path}`}. Tokens are in it only as ` +
      `hashes; secrets are sealed with the store's key, so keep WEBHOOK_SECRET_KEY (or the ` +
      `secret.key file next to ${storagePath}) with the backup. Entries that change while the ` +
      `bot runs may appear in either state; stop the bot first for a point-in-time copy.`,
  );
  return 0;
}

/**
 * Restores an export into the (empty) store; refuses while a live instance holds it
 * (`storagePath` finds a local holder's lock file, to tell a live one from a crashed one).
 * The report goes to `out`, a refusal to `err` (standard error in main.ts), and so does a
 * note when the restored secrets do not open with the key serve would use (`secretKey`, or
 * the key file beside `storagePath`).
 */
export async function hooksImport(
  kv: Deno.Kv,
  path: string,
  out: Out,
  storagePath?: string,
  err: Out = out,
  secretKey: string | null = null,
): Promise<number> {
  const holder = await readLease(kv);
  const lease = holder &&
    judgeLease(holder, storagePath === undefined ? undefined : leaseLockFile(storagePath));
  if (holder && lease?.live) {
    // An import writes the whole store: the running bot would keep serving from what it holds
    // in memory (hooks, the queue) and overwrite the restored records.
    err(
      `Cannot import: a bot is serving this store (${
        describeHolder(holder)
      }). Stop it first (systemctl stop trueconf-webhook-bot, or docker compose stop), then import.`,
    );
    return 1;
  }
  // `-`: standard input, which needs no permission to open (under `systemd-run --pipe` or
  // `docker compose run -T`, /dev/stdin is a pipe owned by root: EACCES for the service's user).
  let input: ReadableStream<Uint8Array>;
  try {
    input = path === "-" ? Deno.stdin.readable : (await Deno.open(path, { read: true })).readable;
  } catch (e) {
    err(`Cannot read ${path}: ${errorText(e)}`);
    return 1;
  }
  try {
    const lines = input.pipeThrough(new TextDecoderStream()).pipeThrough(
      new TextLineStream(),
    );
    const report = await importStore(kv, lines);
    out(
      `Imported ${report.entries} entries from ${path}` +
        (report.expired > 0
          ? ` (${report.expired} had expired since the backup and were left out).`
          : "."),
    );
    if (storagePath !== undefined) await noteSecretKey(kv, storagePath, secretKey, err);
    return 0;
  } catch (e) {
    if (e instanceof BackupError) {
      err(`Cannot import ${path}: ${e.message}.`);
      return 1;
    }
    throw e;
  }
}

/**
 * The backup holds secrets sealed with the old store's key, which is not in it: a restore into
 * a new folder has no such key yet (and a `hooks` command run there makes another), so the
 * operator is told at once which key to put where, rather than by 500s after serve starts.
 */
async function noteSecretKey(
  kv: Deno.Kv,
  storagePath: string,
  secretKey: string | null,
  err: Out,
): Promise<void> {
  const { state, source } = await SecretBox.predict(kv, storagePath, secretKey);
  if (state === "none" || state === "fits") return;
  const fix = source === "WEBHOOK_SECRET_KEY"
    ? "set WEBHOOK_SECRET_KEY to the key the backed-up store used"
    : `copy the backed-up store's secret.key to ${source} (or set WEBHOOK_SECRET_KEY to the key it used)`;
  err(
    `note: the restored verification and signing secrets are sealed with a key ${
      state === "no_key_file" ? `that is not here (no ${source})` : `other than ${source}`
    }: ${fix} before serve starts, or hooks with /webhook_verify answer 500 and outgoing ` +
      `hooks cannot sign. check-config says "OK secrets" once it fits.`,
  );
}

async function writeAll(w: { write(p: Uint8Array): Promise<number> }, bytes: Uint8Array) {
  for (let off = 0; off < bytes.length;) off += await w.write(bytes.subarray(off));
}
