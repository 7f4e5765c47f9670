import assert from "node:assert/strict";
import { waitUntil } from "../support/wait.ts";
import { fullDiskKv } from "../support/full_disk_kv.ts";
import { HookStore, type HookStoreOptions, MAX_HOOKS_PER_CHAT } from "../../src/hooks/mod.ts";
import { openKv } from "../../src/storage/mod.ts";
import { countingKv } from "../storage/counting_kv.ts";
import { createLogger } from "../../src/log.ts";

const CHAT = "c_ops@trueconf.example";
const USER = "alice@trueconf.example";

/** A store on a fresh in-memory KV; `await using` closes both. */
async function setup(options: HookStoreOptions = {}) {
  const raw = await Deno.openKv(":memory:");
  const { kv, counts, reset } = countingKv(raw);
  const store = new HookStore(kv, options);
  return {
    kv,
    raw,
    store,
    counts,
    reset,
    async [Symbol.asyncDispose]() {
      await store.close();
      raw.close();
    },
  };
}

/** Every key but the change feed's (which expires by itself). */
async function hookKeys(kv: Deno.Kv): Promise<Deno.KvKey[]> {
  const out: Deno.KvKey[] = [];
  for await (const e of kv.list({ prefix: [] })) {
    if (e.key[0] !== "hook_change" && e.key[0] !== "hook_change_head") out.push(e.key);
  }
  return out;
}

async function mustCreate(store: HookStore, name: string, chatId = CHAT) {
  const r = await store.create({ chatId, name, createdBy: USER });
  assert.ok(r.ok, `create ${name}: ${r.ok ? "" : r.message}`);
  return r;
}

Deno.test("create returns the token once; find by token, id and name", async () => {
  let t = 1_700_000_000_000;
  await using s = await setup({ now: () => t++ });
  const { hook, token } = await mustCreate(s.store, "  Deploys ");
  assert.equal(hook.name, "Deploys");
  assert.equal(hook.chatId, CHAT);
  assert.equal(hook.createdBy, USER);
  assert.equal(hook.deliveryCount, 0);
  assert.equal(hook.lastUsedAt, null);
  assert.deepEqual(hook.tokenHint, { head: token.slice(0, 4), tail: token.slice(-4) });
  assert.match(hook.id, /^[0-9a-f-]{36}$/);

  assert.deepEqual(await s.store.findByToken(token), hook);
  assert.deepEqual(await s.store.get(hook.id), hook);
  assert.deepEqual(await s.store.findByName(CHAT, "DEPLOYS"), hook);
  assert.equal(await s.store.findByName("other", "deploys"), null);
  assert.equal(
    await s.store.findByToken(token.slice(0, -1) + (token.endsWith("A") ? "B" : "A")),
    null,
  );
  assert.equal(await s.store.findByToken("not a token"), null);
  assert.equal(await s.store.get(crypto.randomUUID()), null);
});

Deno.test("findByToken is one KV read, then served from the cache", async () => {
  await using s = await setup();
  const { token } = await mustCreate(s.store, "deploys");
  s.reset();
  assert.ok(await s.store.findByToken(token));
  assert.deepEqual({ ...s.counts }, { get: 1, getMany: 0, list: 0, commits: 0 });
  for (let i = 0; i < 10; i++) assert.ok(await s.store.findByToken(token));
  assert.equal(s.counts.get, 1);
  // Unknown tokens are cached too (a sender retrying a dead URL does not hit KV each time).
  // An unknown token costs two reads: as a current token, then as a rotated-out one.
  const ghost = "x".repeat(43);
  for (let i = 0; i < 10; i++) assert.equal(await s.store.findByToken(ghost), null);
  assert.equal(s.counts.get, 3);
  // Strings that cannot be tokens cost nothing.
  assert.equal(await s.store.findByToken("../etc"), null);
  assert.equal(s.counts.get, 3);
  assert.deepEqual(s.store.stats().cacheMisses, 2);
});

Deno.test("listByChat: creation order, only that chat", async () => {
  let t = 1_000;
  await using s = await setup({ now: () => (t += 10) });
  const names = ["zeta", "alpha", "Mid", "beta"];
  for (const n of names) await mustCreate(s.store, n);
  await mustCreate(s.store, "alpha", "another-chat");
  const list = await s.store.listByChat(CHAT);
  assert.deepEqual(list.map((h) => h.name), names);
  assert.deepEqual((await s.store.listByChat("another-chat")).map((h) => h.name), ["alpha"]);
  assert.deepEqual(await s.store.listByChat("empty"), []);
  assert.equal((await s.store.listAll()).length, 5);
});

Deno.test("a chat holds at most MAX_HOOKS_PER_CHAT hooks; a revoke makes room; other chats are not counted", async () => {
  await using s = await setup();
  for (let i = 0; i < MAX_HOOKS_PER_CHAT; i++) await mustCreate(s.store, `h${i}`);
  const full = await s.store.create({ chatId: CHAT, name: "one more", createdBy: USER });
  assert.ok(!full.ok);
  assert.equal(full.reason, "too_many");
  assert.match(full.message, new RegExp(`has ${MAX_HOOKS_PER_CHAT} webhooks already`));
  assert.equal((await s.store.listByChat(CHAT)).length, MAX_HOOKS_PER_CHAT);
  await mustCreate(s.store, "one more", "c_dev@trueconf.example");
  const h0 = (await s.store.listByChat(CHAT)).find((h) => h.name === "h0")!;
  assert.ok(await s.store.revoke(h0.id));
  await mustCreate(s.store, "one more");
});

Deno.test("duplicate names in a chat are refused (trimmed, case-insensitive, NFC)", async () => {
  await using s = await setup();
  await mustCreate(s.store, "Deploys");
  for (const dup of ["Deploys", "deploys", "  DEPLOYS  "]) {
    const r = await s.store.create({ chatId: CHAT, name: dup, createdBy: USER });
    assert.ok(!r.ok);
    assert.equal(r.reason, "duplicate_name");
    assert.match(r.message, /already exists in this chat/);
  }
  await mustCreate(s.store, "Café");
  const r = await s.store.create({ chatId: CHAT, name: "CAFE\u0301", createdBy: USER });
  assert.ok(!r.ok && r.reason === "duplicate_name");
  // Same name elsewhere is fine.
  await mustCreate(s.store, "deploys", "c_dev@trueconf.example");
  assert.equal((await s.store.listByChat(CHAT)).length, 2);
});

Deno.test("invalid names are refused with the human reason", async () => {
  await using s = await setup();
  const r = await s.store.create({ chatId: CHAT, name: "  ", createdBy: USER });
  assert.ok(!r.ok);
  assert.equal(r.reason, "invalid_name");
  assert.match(r.message, /^The name is empty\. Type \/webhook_create <name>/);
  const long = await s.store.create({ chatId: CHAT, name: "n".repeat(70), createdBy: USER });
  assert.ok(!long.ok && /too long \(70 characters, at most 64\)/.test(long.message));
  assert.deepEqual(await s.store.listAll(), []);
});

Deno.test("20 concurrent creates of one name in one chat: exactly one succeeds", async () => {
  const dir = await Deno.makeTempDir();
  const kv = await openKv(`${dir}/hooks.kv`);
  // Two stores on one file stand in for two processes as well.
  const a = new HookStore(kv);
  const b = new HookStore(kv);
  try {
    const results = await Promise.all(
      Array.from(
        { length: 20 },
        (_, i) =>
          (i % 2 ? a : b).create({ chatId: CHAT, name: i % 3 ? "Race" : "race ", createdBy: USER }),
      ),
    );
    const ok = results.filter((r) => r.ok);
    assert.equal(ok.length, 1);
    assert.ok(results.every((r) => r.ok || r.reason === "duplicate_name"));
    assert.equal((await a.listByChat(CHAT)).length, 1);
    // Concurrent creates of different names all succeed.
    const many = await Promise.all(
      Array.from(
        { length: 20 },
        (_, i) => a.create({ chatId: CHAT, name: `n${i}`, createdBy: USER }),
      ),
    );
    assert.ok(many.every((r) => r.ok));
  } finally {
    await a.close();
    await b.close();
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("revoke: next findByToken is null even when cached; name is free again", async () => {
  await using s = await setup();
  const { hook, token } = await mustCreate(s.store, "deploys");
  assert.ok(await s.store.findByToken(token)); // now cached
  assert.equal(await s.store.revoke(hook.id), true);
  assert.equal(await s.store.findByToken(token), null);
  assert.equal(await s.store.get(hook.id), null);
  assert.equal(await s.store.findByName(CHAT, "deploys"), null);
  assert.deepEqual(await s.store.listByChat(CHAT), []);
  assert.equal(await s.store.revoke(hook.id), false);
  // Every index entry is gone, not just the record (the change feed, which other processes
  // follow, expires on its own).
  assert.deepEqual(await hookKeys(s.raw), []);
  const again = await mustCreate(s.store, "Deploys");
  assert.notEqual(again.token, token);
  assert.equal(await s.store.findByToken(token), null);
});

Deno.test("revokeByName is case-insensitive and returns the revoked hook", async () => {
  await using s = await setup();
  const { hook, token } = await mustCreate(s.store, "Deploys");
  assert.equal(await s.store.revokeByName(CHAT, "other"), null);
  assert.equal(await s.store.revokeByName("other-chat", "deploys"), null);
  assert.deepEqual(await s.store.revokeByName(CHAT, " DEPLOYS "), hook);
  assert.equal(await s.store.findByToken(token), null);
});

Deno.test("a lookup racing with a revoke never leaves the revoked hook cached", async () => {
  await using s = await setup();
  for (let i = 0; i < 50; i++) {
    const { hook, token } = await mustCreate(s.store, `h${i}`);
    const inFlight = s.store.findByToken(token);
    await s.store.revoke(hook.id);
    await inFlight;
    assert.equal(await s.store.findByToken(token), null, `round ${i}`);
  }
});

Deno.test("cache: other processes' revokes show after cacheTtlMs; unknowns expire sooner", async () => {
  let now = 1_000_000;
  const kv = await Deno.openKv(":memory:");
  const server = new HookStore(kv, { now: () => now, cacheTtlMs: 30_000 });
  const cli = new HookStore(kv, { now: () => now });
  try {
    const { hook, token } = await mustCreate(cli, "deploys");
    assert.ok(await server.findByToken(token));
    assert.equal(await cli.revoke(hook.id), true);
    now += 29_000;
    assert.ok(await server.findByToken(token), "still cached within the TTL");
    now += 1_001;
    assert.equal(await server.findByToken(token), null);

    // An unknown token cached as unknown is found once the negative entry expires (5 s),
    // e.g. when the sysadmin CLI imported it in another process.
    const imported = "g4yL-KtkMCidCvKVFX8g0ebzSZjtm0OQEJ85POTl-Io";
    assert.equal(await server.findByToken(imported), null);
    const r = await cli.importReferenceJson({
      webhooks: [{ id: crypto.randomUUID(), chat_id: CHAT, name: "old", token: imported }],
    });
    assert.equal(r.imported, 1);
    now += 4_000;
    assert.equal(await server.findByToken(imported), null, "negative entry still fresh");
    now += 1_001;
    assert.ok(await server.findByToken(imported));
  } finally {
    await server.close();
    await cli.close();
    kv.close();
  }
});

Deno.test("cache: an unknown-token entry never hides a hook imported in this process", async () => {
  await using s = await setup();
  const token = "JHgkOPbZpsshs7-gdls6fT1kOZEdn1jDI2NR5RnGt_A";
  assert.equal(await s.store.findByToken(token), null);
  await s.store.importReferenceJson({ webhooks: [{ chat_id: CHAT, name: "x", token }] });
  assert.ok(await s.store.findByToken(token));
});

Deno.test("cache is bounded: a spray of unknown tokens does not evict known hooks", async () => {
  await using s = await setup({ cacheMax: 50 });
  const { token } = await mustCreate(s.store, "deploys");
  await s.store.findByToken(token);
  for (let i = 0; i < 500; i++) {
    assert.equal(await s.store.findByToken(`${i}`.padStart(43, "z")), null);
  }
  s.reset();
  assert.ok(await s.store.findByToken(token));
  assert.equal(s.counts.get, 0, "known hook still cached");
});

Deno.test("restart: hooks survive closing and reopening the KV file", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/nested/data/hooks.kv`;
  try {
    let token: string;
    let id: string;
    {
      const kv = await openKv(path);
      const store = new HookStore(kv);
      const made = await mustCreate(store, "deploys");
      token = made.token;
      id = made.hook.id;
      store.recordDelivery(id, 5_000);
      store.recordDelivery(id, 6_000);
      await store.close(); // flushes the usage
      kv.close();
    }
    const kv = await openKv(path);
    const store = new HookStore(kv);
    try {
      const hook = await store.findByToken(token);
      assert.ok(hook);
      assert.equal(hook.id, id);
      assert.equal(hook.deliveryCount, 2);
      assert.equal(hook.lastUsedAt, 6_000);
      const dup = await store.create({ chatId: CHAT, name: "Deploys", createdBy: USER });
      assert.ok(!dup.ok);
    } finally {
      await store.close();
      kv.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("usage: 1000 deliveries cost one commit; counts exact; listed before the flush", async () => {
  let t = 1_000;
  // A ticking clock: hooks created in the same millisecond list in id (random) order.
  await using s = await setup({ usageFlushIntervalMs: 60_000, now: () => t++ });
  const a = await mustCreate(s.store, "a");
  const b = await mustCreate(s.store, "b");
  s.reset();
  for (let i = 0; i < 1000; i++) s.store.recordDelivery(a.hook.id, 10_000 + i);
  for (let i = 0; i < 7; i++) s.store.recordDelivery(b.hook.id, 50);
  assert.equal(s.counts.commits, 0, "no KV write per delivery");

  const listed = await s.store.listByChat(CHAT);
  assert.deepEqual(listed.map((h) => [h.deliveryCount, h.lastUsedAt]), [[1000, 10_999], [7, 50]]);
  assert.equal((await s.store.findByToken(a.token))?.deliveryCount, 1000);

  s.reset();
  await s.store.flush();
  assert.equal(s.counts.commits, 1, "one atomic for both hooks");
  assert.equal(s.store.stats().usageCommits, 1);
  await s.store.flush();
  assert.equal(s.counts.commits, 1, "nothing pending, nothing written");

  // A second store (no pending increments) reads what is in KV.
  const fresh = new HookStore(s.kv);
  assert.equal((await fresh.get(a.hook.id))?.deliveryCount, 1000);
  assert.equal((await fresh.get(a.hook.id))?.lastUsedAt, 10_999);
  assert.equal((await fresh.get(b.hook.id))?.deliveryCount, 7);
  // The cached copy was refreshed rather than double-counted.
  assert.equal((await s.store.findByToken(a.token))?.deliveryCount, 1000);
  s.store.recordDelivery(a.hook.id, 20_000);
  await s.store.flush();
  assert.equal((await fresh.get(a.hook.id))?.deliveryCount, 1001);
  assert.equal((await fresh.get(a.hook.id))?.lastUsedAt, 20_000);
  await fresh.close();
});

Deno.test("usage: 250 hooks flush in batches of at most 100 per atomic", async () => {
  await using s = await setup();
  const ids: string[] = [];
  // Spread over chats: one chat holds at most MAX_HOOKS_PER_CHAT.
  for (let i = 0; i < 250; i++) {
    ids.push((await mustCreate(s.store, `h${i}`, `c${i % 5}@trueconf.example`)).hook.id);
  }
  for (const id of ids) for (let k = 0; k < 3; k++) s.store.recordDelivery(id, 1);
  s.reset();
  await s.store.flush();
  assert.equal(s.counts.commits, 3);
  const all = await new HookStore(s.kv).listByChat(CHAT);
  assert.ok(all.every((h) => h.deliveryCount === 3));
});

Deno.test("usage: flushed by the timer and on close", async () => {
  const kv = await Deno.openKv(":memory:");
  const store = new HookStore(kv, { usageFlushIntervalMs: 20 });
  const reader = new HookStore(kv);
  try {
    const { hook } = await mustCreate(store, "deploys");
    store.recordDelivery(hook.id);
    store.recordDelivery(hook.id);
    // Nothing but the 20 ms timer writes them: waiting for the count is waiting for the timer.
    let count: number | undefined;
    await waitUntil(
      async () => {
        count = (await reader.get(hook.id))?.deliveryCount;
        return count === 2;
      },
      5_000,
      "the timer's flush",
    );
    assert.equal(count, 2);
    store.recordDelivery(hook.id);
    await store.close(); // clears the timer (the sanitizer checks) and flushes
    assert.equal((await reader.get(hook.id))?.deliveryCount, 3);
  } finally {
    await store.close();
    kv.close();
  }
});

Deno.test("usage: a revoked hook is not resurrected by a pending flush", async () => {
  const kv = await Deno.openKv(":memory:");
  const server = new HookStore(kv, { usageFlushIntervalMs: 60_000 });
  const cli = new HookStore(kv);
  try {
    const { hook, token } = await mustCreate(server, "deploys");
    server.recordDelivery(hook.id);
    // Revoked by another process, so the server still holds pending usage for it.
    assert.ok(await cli.revoke(hook.id));
    await server.flush();
    assert.equal(await cli.get(hook.id), null);
    assert.equal(await cli.findByToken(token), null);
    assert.deepEqual(await hookKeys(kv), []);
    // Unknown ids are dropped too.
    server.recordDelivery(crypto.randomUUID());
    await server.flush();
    assert.deepEqual(await hookKeys(kv), [], "nothing may be written");
  } finally {
    await server.close();
    await cli.close();
    kv.close();
  }
});

Deno.test("tokens never appear in plain text in KV", async () => {
  await using s = await setup();
  const tokens: string[] = [];
  for (let i = 0; i < 5; i++) tokens.push((await mustCreate(s.store, `h${i}`)).token);
  const imported = "9i--rQfrJIRi4gZNR0d46MHZftYwhxuZS5mPGiTVYGE";
  await s.store.importReferenceJson({
    webhooks: [{ chat_id: CHAT, name: "old", token: imported }],
  });
  tokens.push(imported);
  s.store.recordDelivery((await s.store.findByToken(imported))!.id);
  await s.store.flush();
  let dump = "";
  for await (const e of s.raw.list({ prefix: [] })) {
    dump += JSON.stringify(e.key) + JSON.stringify(e.value) + "\n";
  }
  assert.ok(dump.length > 1000);
  for (const t of tokens) {
    assert.ok(!dump.includes(t), "full token stored");
    assert.ok(!dump.includes(t.slice(4, -4)), "token middle stored");
  }
});

Deno.test("records stay small", async () => {
  await using s = await setup();
  const { hook } = await mustCreate(s.store, "n".repeat(64));
  let biggest = 0;
  for await (const e of s.raw.list({ prefix: [] })) {
    biggest = Math.max(biggest, JSON.stringify(e.value).length);
  }
  // With every lifecycle field present but empty; KV allows 64 KiB.
  assert.ok(biggest < 1024, `${biggest} bytes`);
  assert.ok(hook);
});

/** `raw` whose atomic commits reject ("disk full", as SQLite's do) whenever `fails()` says so. */
function failingCommits(raw: Deno.Kv, fails: () => boolean): Deno.Kv {
  return fullDiskKv(raw, (call) => call === "commit" && fails());
}

Deno.test("usage: a KV failure mid-flush neither loses nor double-counts deliveries", async () => {
  const raw = await Deno.openKv(":memory:");
  let failCommit = -1;
  let commits = 0;
  // Fails the n-th commit, like a full disk would.
  const kv = failingCommits(raw, () => commits++ === failCommit);
  const store = new HookStore(kv, { usageFlushIntervalMs: 60_000 });
  try {
    const ids: string[] = [];
    for (let i = 0; i < 250; i++) {
      ids.push((await mustCreate(store, `h${i}`, `c${i % 5}@trueconf.example`)).hook.id);
    }
    for (const id of ids) store.recordDelivery(id);
    failCommit = commits + 1; // the second of three batches
    await assert.rejects(() => store.flush(), /disk is full/);
    // Pending counts still show up in reads.
    assert.ok((await store.listByChat(CHAT)).every((h) => h.deliveryCount === 1));
    await store.flush();
    const reader = new HookStore(raw);
    assert.ok((await reader.listByChat(CHAT)).every((h) => h.deliveryCount === 1));
    await reader.close();
  } finally {
    await store.close();
    raw.close();
  }
});

Deno.test("usage: a full disk at close is logged and close still resolves (the shutdown goes on)", async () => {
  const raw = await Deno.openKv(":memory:");
  let full = false;
  const kv = failingCommits(raw, () => full);
  const lines: string[] = [];
  const store = new HookStore(kv, {
    usageFlushIntervalMs: 60_000,
    logger: createLogger({ level: "debug", write: (l) => lines.push(l) }),
  });
  try {
    const { hook } = await mustCreate(store, "deploys");
    store.recordDelivery(hook.id);
    full = true;
    await store.close();
    const line = lines.find((l) => l.includes("could not be written at shutdown"));
    assert.ok(line, lines.join("\n"));
    assert.match(line, /"level":"error"/);
    assert.match(line, /disk is full/);
  } finally {
    raw.close();
  }
});
