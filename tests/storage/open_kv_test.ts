import assert from "node:assert/strict";
import { join } from "node:path";
import { inspectStorage, openKv, STORE_WAIT_MS, storeBusySentence } from "../../src/storage/mod.ts";

Deno.test("openKv: creates missing parent folders for a file path", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/a/b/c/hooks.kv`;
    const kv = await openKv(path);
    await kv.set(["x"], 1);
    kv.close();
    assert.ok((await Deno.stat(path)).isFile);
    const again = await openKv(path);
    assert.equal((await again.get(["x"])).value, 1);
    again.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openKv: :memory: passes through", async () => {
  const kv = await openKv(":memory:");
  await kv.set(["x"], 1);
  kv.close();
});

Deno.test("openKv: a folder, a file as parent, or an empty path give clear errors", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(() => openKv(dir), /is a folder; give a file path inside it/);
    await Deno.writeTextFile(`${dir}/plain`, "x");
    await assert.rejects(() => openKv(`${dir}/plain/hooks.kv`), /Cannot create the folder/);
    await assert.rejects(() => openKv(""), /storage path is empty/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "openKv: a read-only file is reported as not writable",
  // root ignores file modes
  ignore: Deno.build.os === "windows" || Deno.uid() === 0,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const path = `${dir}/hooks.kv`;
      await Deno.writeFile(path, new Uint8Array());
      await Deno.chmod(path, 0o444);
      await assert.rejects(() => openKv(path), /is not writable by this user/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("openKv: a file that is not a database gives a clear error", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/hooks.kv`;
    await Deno.writeTextFile(path, "this is not sqlite ".repeat(100));
    await assert.rejects(() => openKv(path), /Cannot open the storage file .* as a KV database/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a storage path that cannot be looked at says what to do, to serve and to check-config", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // A loop of links fails the look itself (not "missing"), for root too, which ignores the
    // permission bits an unreachable folder would have.
    await Deno.symlink(`${dir}/b`, `${dir}/a`);
    await Deno.symlink(`${dir}/a`, `${dir}/b`);
    const path = `${dir}/a/webhooks.kv`;
    const remedy = /set WEBHOOK_STORAGE_PATH to a file in a folder it can use/;
    await assert.rejects(openKv(path), (e: Error) => {
      assert.match(e.message, /Cannot inspect the storage path/);
      assert.match(e.message, remedy);
      return true;
    });
    const seen = await inspectStorage(path);
    assert.equal(seen.ok, false);
    assert.match(seen.detail, remedy);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openKv: a store it creates is the bot user's alone (folder 0700, file and its -wal/-shm 0600, whatever the umask)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "open_kv_mode_" });
  const before = Deno.umask(0o022);
  try {
    const path = join(dir, "data", "webhooks.kv");
    const kv = await openKv(path);
    await kv.set(["x"], 1); // writes the WAL
    assert.equal((await Deno.stat(join(dir, "data"))).mode! & 0o777, 0o700);
    for (const file of [path, `${path}-wal`, `${path}-shm`]) {
      assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600, file);
    }
    kv.close();
    // An existing store keeps the mode its operator gave it.
    await Deno.chmod(path, 0o640);
    (await openKv(path)).close();
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o640);
  } finally {
    Deno.umask(before);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a commit on a store another process keeps locked fails after KV's wait, and reads as 'busy'", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "hooks.kv");
  const kv = await openKv(path);
  // The CLI's reads come first (the store is open and read before its change is committed).
  await kv.set(["x"], 1);
  const { DatabaseSync } = await import("node:sqlite");
  const other = new DatabaseSync(path);
  try {
    other.exec("BEGIN IMMEDIATE"); // what a busy serving bot's writer does for longer than 5 s
    const err = await kv.set(["x"], 2).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof Error, "the commit should fail while the lock is held");
    const sentence = storeBusySentence(err, path);
    assert.ok(sentence !== null, `not recognised as busy: ${err}`);
    assert.match(sentence, new RegExp(`the store ${path} is busy`));
    assert.match(sentence, /Run the command again/);
    assert.equal(storeBusySentence(new Error("disk I/O error"), path), null);
    other.exec("ROLLBACK");
    assert.equal((await kv.get(["x"])).value, 1, "the refused change was not written");
  } finally {
    if (other.isTransaction) other.exec("ROLLBACK");
    other.close();
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openKv with commitWithinMs: a commit refused after KV's own wait is tried again, says so once, and lands once", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "hooks.kv");
  const { DatabaseSync } = await import("node:sqlite");
  const other = new DatabaseSync(path);
  let notices = 0;
  const kv = await openKv(path, {
    answerWithinMs: STORE_WAIT_MS,
    commitWithinMs: STORE_WAIT_MS,
    onCommitWaiting: () => {
      notices++;
      other.exec("ROLLBACK"); // the other process lets go once the command says it waits
    },
  });
  try {
    await kv.set(["x"], 1);
    other.exec("BEGIN IMMEDIATE");
    // No checks: KV itself waits about 5 s for the lock before it refuses this one.
    await kv.atomic().sum(["n"], 1n).set(["x"], 2).commit();
    assert.equal(notices, 1);
    assert.equal((await kv.get(["x"])).value, 2);
    assert.equal((await kv.get<Deno.KvU64>(["n"])).value?.value, 1n, "written once");
  } finally {
    if (other.isTransaction) other.exec("ROLLBACK");
    other.close();
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
});
