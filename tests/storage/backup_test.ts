// A restore gives expiring records their lifetime back (KV's own expiry cannot be read into a
// backup), leaves out what has expired since, and never carries the running process's state.
import assert from "node:assert/strict";
import { exportStore, importStore } from "../../src/storage/backup.ts";
import { POSTED_TTL_MS } from "../../src/storage/keys.ts";

async function backupOf(kv: Deno.Kv): Promise<string[]> {
  const lines: string[] = [];
  for await (const line of exportStore(kv)) lines.push(line);
  return lines;
}

Deno.test("restore: expiring records expire again, expired ones are left out, process state stays behind", async () => {
  const now = Date.now();
  const source = await Deno.openKv(":memory:");
  await source.set(["hook", "abc"], { name: "deploys" });
  await source.set(["outbox_done", "h1", "d-live"], { expiresAt: now + 60_000 }, {
    expireIn: 60_000,
  });
  await source.set(["outbox_done", "h1", "d-gone"], { expiresAt: now - 1_000 });
  await source.set(["posted", "h1", "m1"], { chatId: "c", kind: "text", key: null, at: now });
  // The registry's time-keyed row: TrueConf's timestamp (a number) in the key.
  await source.set(["posted_t", now - 5, "m2"], {
    hook: "h1",
    chatId: "c",
    kind: "file",
    key: null,
    at: now,
  });
  await source.set(["queue_cmd", "q1"], { op: "drop", id: "x" });
  await source.set(["lease", "serve"], { holder: "me" });
  const lines = await backupOf(source);
  source.close();
  assert.ok(!lines.some((l) => l.includes('"queue_cmd"') || l.includes('"lease"')));

  const target = await Deno.openKv(":memory:");
  try {
    const report = await importStore(target, lines);
    assert.deepEqual(report, { entries: 4, expired: 1 });
    assert.equal((await target.get(["outbox_done", "h1", "d-gone"])).versionstamp, null);
    assert.ok((await target.get(["outbox_done", "h1", "d-live"])).versionstamp);
    assert.ok((await target.get(["posted", "h1", "m1"])).versionstamp);
    assert.equal(
      (await target.get<{ hook: string }>(["posted_t", now - 5, "m2"])).value?.hook,
      "h1",
    );
    assert.ok((await target.get(["hook", "abc"])).versionstamp);
    // The expiry itself is KV's (lazy, so not observable in a test); its computation is
    // restoreExpireIn's, checked by its doc example; here: a record posted 30 days ago is gone.
    const old = await Deno.openKv(":memory:");
    await old.set(["posted", "h1", "m0"], {
      chatId: "c",
      kind: "text",
      key: null,
      at: now - POSTED_TTL_MS - 1,
    });
    await old.set(["posted_t", now - POSTED_TTL_MS - 10, "m00"], {
      hook: "h1",
      chatId: "c",
      kind: "text",
      key: null,
      at: now - POSTED_TTL_MS - 1,
    });
    const oldLines = await backupOf(old);
    old.close();
    const fresh = await Deno.openKv(":memory:");
    assert.deepEqual(await importStore(fresh, oldLines), { entries: 0, expired: 2 });
    fresh.close();
  } finally {
    target.close();
  }
});

Deno.test("bytes round-trip through a backup; bytes that are not base64 are refused with their line", async () => {
  const source = await Deno.openKv(":memory:");
  const bytes = new Uint8Array([0, 1, 2, 250, 251, 252, 253, 254, 255]);
  await source.set(["spool", "d1"], bytes);
  await source.set(["hook", "k"], { secret: new Uint8Array(0) });
  const lines = await backupOf(source);
  source.close();
  assert.ok(lines.some((l) => l.includes('{"$":"bytes","v":"AAEC+vv8/f7/"}')), lines.join("\n"));
  const target = await Deno.openKv(":memory:");
  try {
    assert.deepEqual(await importStore(target, lines), { entries: 2, expired: 0 });
    assert.deepEqual((await target.get(["spool", "d1"])).value, bytes);
    assert.deepEqual((await target.get(["hook", "k"])).value, { secret: new Uint8Array(0) });
  } finally {
    target.close();
  }
  const broken = lines.map((l) => l.replace("AAEC+vv8/f7/", "AAEC*vv8"));
  const other = await Deno.openKv(":memory:");
  try {
    await assert.rejects(importStore(other, broken), /line \d+: bytes that are not base64/);
  } finally {
    other.close();
  }
});

// The documented restore starts the new store fresh; a serve (or a command) that opened it first
// has recorded its key check there. That is no data: the backup's own check replaces it, so the
// next start learns whether it has the key the backup's secrets need.
Deno.test("restore into a store that holds only its key check: the backup's check wins", async () => {
  const from = await Deno.openKv(":memory:");
  const into = await Deno.openKv(":memory:");
  try {
    await from.set(["hook", "h1"], { name: "a" });
    await from.set(["secret_key_check"], { sealed: "v1.backup", used: true });
    const lines: string[] = [];
    for await (const line of exportStore(from)) lines.push(line);
    await into.set(["secret_key_check"], { sealed: "v1.fresh", used: false });
    await importStore(into, lines);
    assert.deepEqual((await into.get(["secret_key_check"])).value, {
      sealed: "v1.backup",
      used: true,
    });
    assert.deepEqual((await into.get(["hook", "h1"])).value, { name: "a" });
  } finally {
    from.close();
    into.close();
  }
});
