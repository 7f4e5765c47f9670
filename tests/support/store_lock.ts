/**
 * Another process's hold on a KV store, for the locked-store tests: a second SQLite connection
 * (node:sqlite) to the store file, which takes SQLite's write lock the way a serving bot's
 * commit, a backup or sqlite3 by hand does.
 *
 * @module
 */

/** A second connection to a store; dispose of it to let go and close. */
export interface OtherConnection extends Disposable {
  /** Takes the write lock (`BEGIN IMMEDIATE`) until {@link release}. */
  lock(): void;
  /** Lets the write lock go (`ROLLBACK`). */
  release(): void;
  /** Closes the connection (letting go first): Deno KV's start-up waits for any other one. */
  close(): void;
}

/** A second connection to the KV store at `path`, made by a first run (one key) when absent. */
export async function otherConnection(path: string): Promise<OtherConnection> {
  const kv = await Deno.openKv(path);
  await kv.set(["probe"], 1);
  kv.close();
  const { DatabaseSync } = await import("node:sqlite");
  const db = new DatabaseSync(path);
  const release = () => {
    if (db.isOpen && db.isTransaction) db.exec("ROLLBACK");
  };
  const close = () => {
    release();
    if (db.isOpen) db.close();
  };
  return { lock: () => db.exec("BEGIN IMMEDIATE"), release, close, [Symbol.dispose]: close };
}
