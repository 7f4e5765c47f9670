import assert from "node:assert/strict";
import { HookStore, type HookStoreOptions } from "../../src/hooks/mod.ts";
import { SecretBox } from "../../src/storage/mod.ts";
import { createLogger } from "../../src/log.ts";
import { fullDiskKv, type KvCall } from "../support/full_disk_kv.ts";

const CHAT = "c_ops@tc.example";
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

async function setup() {
  let t = Date.parse("2026-01-01T00:00:00Z");
  const kv = await Deno.openKv(":memory:");
  const clock = { now: () => t, advance: (ms: number) => void (t += ms) };
  const store = new HookStore(kv, { now: clock.now, usageFlushIntervalMs: 60_000 });
  return {
    kv,
    clock,
    store,
    async [Symbol.asyncDispose]() {
      await store.close();
      kv.close();
    },
  };
}

async function make(store: HookStore, name = "deploys", extra = {}) {
  const r = await store.create({ chatId: CHAT, name, createdBy: "alice@tc.example", ...extra });
  assert.ok(r.ok);
  return r;
}

Deno.test("pause: the token finds nothing (404) until resumed; the record stays listed", async () => {
  await using s = await setup();
  const { hook, token } = await make(s.store);
  assert.ok(await s.store.findByToken(token)); // cached
  const p = await s.store.pause(hook.id, "bob@tc.example");
  assert.ok(p.ok && p.hook.paused?.by === "bob@tc.example" && p.hook.paused.reason === "user");
  assert.equal(await s.store.findByToken(token), null);
  assert.equal((await s.store.listByChat(CHAT))[0]!.paused?.reason, "user");
  assert.ok((await s.store.resume(hook.id)).ok);
  assert.equal((await s.store.findByToken(token))?.id, hook.id);
});

Deno.test("rename: same token, new name; a taken or invalid name is refused", async () => {
  await using s = await setup();
  const { hook, token } = await make(s.store);
  await make(s.store, "alerts");
  const taken = await s.store.rename(hook.id, "ALERTS");
  assert.ok(!taken.ok && taken.reason === "name_taken");
  const bad = await s.store.rename(hook.id, "");
  assert.ok(!bad.ok && bad.reason === "invalid_name");
  const r = await s.store.rename(hook.id, "Prod deploys");
  assert.ok(r.ok && r.hook.name === "Prod deploys");
  assert.equal((await s.store.findByName(CHAT, "prod DEPLOYS"))?.id, hook.id);
  assert.equal(await s.store.findByName(CHAT, "deploys"), null);
  assert.equal((await s.store.findByToken(token))?.name, "Prod deploys");
  // The old name is free again.
  await make(s.store, "deploys");
});

Deno.test("rotate: old token works through the grace period (counted), then 404", async () => {
  await using s = await setup();
  const { hook, token: oldToken } = await make(s.store);
  assert.ok(await s.store.findByToken(oldToken)); // cached as current
  const r = await s.store.rotate(hook.id, 2 * HOUR);
  assert.ok(r.ok && r.token);
  const newToken = r.token;
  assert.notEqual(newToken, oldToken);
  const viaNew = await s.store.findByToken(newToken);
  assert.equal(viaNew?.id, hook.id);
  assert.equal(viaNew?.viaOldToken, undefined);
  const viaOld = await s.store.findByToken(oldToken);
  assert.equal(viaOld?.id, hook.id);
  assert.equal(viaOld?.viaOldToken, true);
  await s.store.findByToken(oldToken);
  await s.store.flush();
  const info = await s.store.get(hook.id);
  assert.equal(info?.rotation?.oldUses, 2);
  assert.equal(info?.rotation?.oldLastUsedAt, s.clock.now());
  s.clock.advance(2 * HOUR - 1);
  assert.ok(await s.store.findByToken(oldToken));
  s.clock.advance(1);
  assert.equal(await s.store.findByToken(oldToken), null);
  assert.ok(await s.store.findByToken(newToken));
  // A fresh store (another process) agrees.
  const other = new HookStore(s.kv, { now: s.clock.now });
  assert.equal(await other.findByToken(oldToken), null);
  assert.equal((await other.findByToken(newToken))?.id, hook.id);
  await other.close();
});

Deno.test("rotate with grace 0: the old token stops at once; more than 7 days is refused", async () => {
  await using s = await setup();
  const { hook, token } = await make(s.store);
  assert.ok(await s.store.findByToken(token));
  assert.ok(!(await s.store.rotate(hook.id, 7 * DAY + 1)).ok);
  const r = await s.store.rotate(hook.id, 0);
  assert.ok(r.ok && r.token && r.hook.rotation === null);
  assert.equal(await s.store.findByToken(token), null);
  assert.ok(await s.store.findByToken(r.token));
  // Rotating again during a grace ends the first old token's grace.
  const a = await s.store.rotate(hook.id, HOUR);
  assert.ok(a.ok && a.token);
  const b = await s.store.rotate(hook.id, HOUR);
  assert.ok(b.ok && b.token);
  assert.equal(await s.store.findByToken(r.token), null);
  assert.ok(await s.store.findByToken(a.token));
  assert.ok(await s.store.findByToken(b.token));
});

Deno.test("expiry: 404 from the expiry on; warning due 3 days before or at half-life", async () => {
  await using s = await setup();
  const now = s.clock.now();
  const long = await make(s.store, "long", { expiresAt: now + 30 * DAY });
  const short = await make(s.store, "short", { expiresAt: now + 2 * DAY });
  let due = await s.store.dueExpiries();
  assert.deepEqual(due, { expired: [], warn: [] });
  s.clock.advance(DAY); // half of short's lifetime
  due = await s.store.dueExpiries();
  assert.deepEqual(due.warn.map((h) => h.name), ["short"]);
  await s.store.markExpiryWarned(short.hook.id);
  assert.deepEqual((await s.store.dueExpiries()).warn, []);
  s.clock.advance(DAY);
  assert.equal(await s.store.findByToken(short.token), null);
  due = await s.store.dueExpiries();
  assert.deepEqual(due.expired.map((h) => h.name), ["short"]);
  s.clock.advance(25 * DAY); // 27 days: 3 days before long's expiry
  assert.deepEqual((await s.store.dueExpiries()).warn.map((h) => h.name), ["long"]);
  assert.ok(await s.store.findByToken(long.token));
  assert.ok((await s.store.setExpiry(long.hook.id, null)).ok);
  s.clock.advance(10 * DAY);
  assert.ok(await s.store.findByToken(long.token));
});

Deno.test("verification secret is stored sealed and opens with the store's key", async () => {
  const kv = await Deno.openKv(":memory:");
  const box = await SecretBox.forStorage(":memory:");
  const store = new HookStore(kv, { secrets: box });
  try {
    const { hook } = await make(store);
    const r = await store.setVerification(hook.id, "standard");
    assert.ok(r.ok && r.secret?.startsWith("whsec_"));
    let dump = "";
    for await (const e of kv.list({ prefix: [] })) dump += JSON.stringify(e.value);
    assert.ok(!dump.includes(r.secret!.slice(6)), "secret stored in plain text");
    const rec = await store.get(hook.id);
    assert.equal(rec?.verification?.mode, "standard");
    assert.equal(await box.open(rec!.verification!.secret), r.secret);
    assert.ok((await store.setVerification(hook.id, null)).ok);
    assert.equal((await store.get(hook.id))?.verification, null);
  } finally {
    await store.close();
    kv.close();
  }
});

Deno.test("another process's revoke reaches a watching store: cache dropped, listener told", async () => {
  await using s = await setup();
  const { hook, token } = await make(s.store);
  const cli = new HookStore(s.kv, { now: s.clock.now });
  const ended: string[] = [];
  s.store.onRevoked((id, reason) => ended.push(`${id}:${reason}`));
  await s.store.pollChanges(); // start following from here
  ended.length = 0;
  assert.ok(await s.store.findByToken(token)); // cached for 30 s
  assert.ok(await cli.revoke(hook.id));
  await s.store.pollChanges();
  assert.equal(await s.store.findByToken(token), null);
  assert.deepEqual(ended, [`${hook.id}:hook_revoked`]);
  // A pause made elsewhere also shows at the next poll, though the hook was cached.
  const b = await make(s.store, "b");
  assert.ok(await s.store.findByToken(b.token));
  assert.ok((await cli.pause(b.hook.id, "cli")).ok);
  await s.store.pollChanges();
  assert.equal(await s.store.findByToken(b.token), null);
  // Its own changes do not call the listener a second time.
  const c = await make(s.store, "c");
  await s.store.revoke(c.hook.id);
  await s.store.pollChanges();
  assert.deepEqual(ended, [`${hook.id}:hook_revoked`, `${c.hook.id}:hook_revoked`]);
  await cli.close();
});

/**
 * A serving bot's store that follows the change feed when the test polls (as on its doorbell),
 * its log lines kept, and whose KV call named by `failing.op` fails as on a full disk
 * (`commit`: its atomic writes); and an operator CLI's store on the same KV.
 */
async function botAndCli(botOptions: HookStoreOptions = {}, cliOptions: HookStoreOptions = {}) {
  const raw = await Deno.openKv(":memory:");
  const failing: { op: KvCall | null } = { op: null };
  const lines: string[] = [];
  const bot = new HookStore(fullDiskKv(raw, (call) => call === failing.op), {
    logger: createLogger({ level: "info", write: (l) => void lines.push(l) }),
    pollIntervalMs: 0,
    ...botOptions,
  });
  const cli = new HookStore(raw, cliOptions);
  await bot.watch();
  return {
    failing,
    lines,
    bot,
    cli,
    async [Symbol.asyncDispose]() {
      failing.op = null;
      await cli.close();
      await bot.close();
      raw.close();
    },
  };
}

// A poll of the change feed reads the log and then writes how far it got (the CLI waits on that
// write). The warning named only the read, so an operator with a full disk looked for a broken
// read; and the write was never tried again, so every later CLI change waited its 3 s in vain.
Deno.test("following another process's changes: a failed read and a failed 'applied' write each log their own step, and the write is retried", async () => {
  await using w = await botAndCli();
  const { failing, lines, bot, cli } = w;
  const { hook, token } = await make(cli);
  assert.ok(await bot.findByToken(token)); // cached

  failing.op = "get";
  await bot.pollChangesOrWarn(); // never throws: the doorbell's listener
  failing.op = null;
  assert.equal(lines.length, 1, lines.join("\n"));
  assert.match(lines[0]!, /"level":"warn"/);
  assert.match(lines[0]!, /could not read the hook change feed; retrying/);

  assert.ok((await cli.pause(hook.id, "cli")).ok);
  failing.op = "set";
  await bot.pollChangesOrWarn();
  failing.op = null;
  assert.equal(lines.length, 2, lines.join("\n"));
  assert.match(lines[1]!, /could not record that the hook changes were applied; retrying/);
  assert.doesNotMatch(lines[1]!, /could not read/);
  assert.equal(await bot.findByToken(token), null, "the change itself was applied");
  assert.equal(await cli.changesApplied(0), false, "the CLI is not told what was not written");

  // Nothing new in the feed, but the write that failed is made at the next poll.
  await bot.pollChangesOrWarn();
  assert.equal(lines.length, 3, lines.join("\n"));
  assert.match(lines[2]!, /"level":"info".*hook change feed readable again after 0s/);
  assert.equal(await cli.changesApplied(0), true);
});

// The bot's first read of the feed is at start (watch). When it failed, watch threw, the bot
// never started its doorbell and followed no change of the CLI's for its whole life. It is now
// one more failed read, retried by the next poll, which reads the feed from the start of the
// watch: a revoke made while the store could not be read is applied then, not taken as seen.
Deno.test("the first read of the change feed fails: warned as a read, feedUnread says since when, and a revoke made meanwhile is applied at the next poll that reads", async () => {
  const raw = await Deno.openKv(":memory:");
  const failing = { on: false };
  const lines: string[] = [];
  const bot = new HookStore(
    fullDiskKv(
      raw,
      (call, keys) => failing.on && call === "get" && keys[0]?.[0] === "hook_change_head",
    ),
    {
      logger: createLogger({ level: "info", write: (l) => void lines.push(l) }),
      pollIntervalMs: 0,
    },
  );
  const cli = new HookStore(raw, {});
  try {
    const ended: string[] = [];
    bot.onRevoked((id, reason) => ended.push(`${id}:${reason}`));
    const { hook, token } = await make(cli);
    assert.ok(await bot.findByToken(token)); // cached

    failing.on = true;
    await bot.watch(); // never throws
    assert.equal(lines.length, 1, lines.join("\n"));
    assert.match(lines[0]!, /"level":"warn"/);
    assert.match(lines[0]!, /could not read the hook change feed; retrying/);
    const unread = bot.feedUnread;
    assert.ok(unread !== null);
    assert.match(unread.error, /database or disk is full/);

    assert.ok(await cli.revoke(hook.id)); // the operator, while the bot cannot read the feed
    await bot.pollChangesOrWarn();
    assert.equal(lines.length, 1, "the retry that fails again is not a second warning");
    assert.equal(bot.feedUnread?.since, unread.since, "unread since the first failure");
    assert.deepEqual(ended, []);

    failing.on = false;
    await bot.pollChangesOrWarn();
    assert.equal(bot.feedUnread, null);
    assert.deepEqual(ended, [`${hook.id}:hook_revoked`]);
    assert.equal(await bot.findByToken(token), null, "the cached hook is gone");
    assert.equal(await cli.changesApplied(0), true, "the CLI is told");
    assert.equal(lines.filter((l) => l.includes('"warn"')).length, 1, lines.join("\n"));
    assert.match(lines.at(-1)!, /"level":"info".*hook change feed readable again after/);
  } finally {
    failing.on = false;
    await cli.close();
    await bot.close();
    raw.close();
  }
});

// The bot's doorbell polls the feed every 5 s while nothing rings: a store that stayed unreadable
// wrote the same warning twelve times a minute for as long as it lasted.
Deno.test("a change feed unreadable for minutes: one warning when it starts, a reminder after 1 and 3 minutes, one info line when it reads again", async () => {
  let t = Date.parse("2026-01-01T00:00:00Z");
  await using w = await botAndCli({ now: () => t });
  const { failing, lines, bot, cli } = w;
  const { hook, token } = await make(cli);
  assert.ok(await bot.findByToken(token));
  const parsed = () => lines.map((l) => JSON.parse(l) as { level: string; msg: string });

  failing.op = "get";
  for (let ms = 0; ms < 4 * 60_000; ms += 5_000) { // the safety poll, for four minutes
    await bot.pollChangesOrWarn();
    t += 5_000;
  }
  assert.deepEqual(parsed().map((l) => [l.level, l.msg]), [
    ["warn", "could not read the hook change feed; retrying"],
    ["warn", "could not read the hook change feed; still failing after 1m 0s (13 tries); retrying"],
    ["warn", "could not read the hook change feed; still failing after 3m 0s (37 tries); retrying"],
  ]);
  assert.ok(bot.feedUnread !== null, "/readyz still says so meanwhile");

  assert.ok(await cli.revoke(hook.id));
  failing.op = null;
  await bot.pollChangesOrWarn();
  assert.equal(bot.feedUnread, null);
  assert.equal(await bot.findByToken(token), null, "the revoke made meanwhile is applied");
  assert.deepEqual(parsed().slice(3).map((l) => [l.level, l.msg]), [
    ["info", "hook ended elsewhere"],
    ["info", "hook change feed readable again after 4m 0s"],
  ]);
});

// The outgoing service asks for a chat's outgoing hooks on every chat message: answered from
// memory until a hook changes (here, or in another process as the change feed shows), and read
// again after cacheTtlMs at the latest, the bound a cached token has while the feed is unread.
Deno.test("outgoingByChat: cached per chat, dropped by a change seen in the feed, read again after cacheTtlMs without one", async () => {
  let t = Date.parse("2026-01-01T00:00:00Z");
  await using w = await botAndCli({ now: () => t, cacheTtlMs: 30_000 });
  const { bot, cli } = w;
  const made = await cli.create({
    chatId: CHAT,
    name: "calls",
    createdBy: "alice@tc.example",
    kind: "outgoing",
    outgoing: { url: "https://ci.example.com/x", secret: await cli.sealSecret("s"), triggers: [] },
  });
  assert.ok(made.ok);
  await make(cli, "incoming one");
  await bot.pollChanges();

  const first = await bot.outgoingByChat(CHAT);
  assert.deepEqual(first.map((h) => h.name), ["calls"], "outgoing hooks only");
  assert.equal(bot.outgoingByChat(CHAT), first, "from memory, not a promise");
  assert.deepEqual(await bot.outgoingByChat("c_empty@tc.example"), []);
  assert.ok(Array.isArray(bot.outgoingByChat("c_empty@tc.example")), "a chat without any too");

  assert.ok((await cli.pause(made.hook.id, "cli")).ok);
  await bot.pollChanges(); // the bot's doorbell
  assert.notEqual((await bot.outgoingByChat(CHAT))[0]!.paused, null);

  // A change the feed has not shown (it cannot be read): at most cacheTtlMs.
  assert.ok((await cli.resume(made.hook.id)).ok);
  t += 29_000;
  assert.notEqual((await bot.outgoingByChat(CHAT))[0]!.paused, null);
  t += 1_001;
  assert.equal((await bot.outgoingByChat(CHAT))[0]!.paused, null);
});

// A burst of messages in a chat not asked about yet (its events and a command's trigger are
// handled side by side) found the cache empty each time until the first read came back: one KV
// read per message in flight.
Deno.test("outgoingByChat: asks while a chat is being read share that read; a change meanwhile reads again; a failed read is not kept", async () => {
  const raw = await Deno.openKv(":memory:");
  const reads: string[] = [];
  let failList = false;
  const bot = new HookStore(
    fullDiskKv(raw, (call, keys) => {
      if (call !== "list" || keys[0]?.[0] !== "hooks_by_chat") return false;
      reads.push(String(keys[0][1]));
      return failList;
    }),
    { pollIntervalMs: 0 },
  );
  try {
    const outgoing = async (name: string) =>
      assert.ok(
        (await bot.create({
          chatId: CHAT,
          name,
          createdBy: "alice@tc.example",
          kind: "outgoing",
          outgoing: {
            url: "https://ci.example.com/x",
            secret: await bot.sealSecret("s"),
            triggers: [],
          },
        })).ok,
      );
    await outgoing("calls");
    reads.length = 0;

    const asks = [bot.outgoingByChat(CHAT), bot.outgoingByChat(CHAT), bot.outgoingByChat(CHAT)];
    const answers = await Promise.all(asks);
    assert.deepEqual(reads, [CHAT], "three asks, one read");
    assert.deepEqual(answers.map((a) => a.map((h) => h.name)), [["calls"], ["calls"], ["calls"]]);

    // A hook made while the chat is read: the read in flight is not kept, the next ask sees it.
    reads.length = 0;
    const during = bot.outgoingByChat(CHAT);
    await outgoing("deploys");
    await during;
    assert.deepEqual((await bot.outgoingByChat(CHAT)).map((h) => h.name).sort(), [
      "calls",
      "deploys",
    ]);
    assert.equal(reads.length, 2);

    // A read that fails fails its asks, and the next ask reads again.
    await outgoing("third"); // empties the cache
    reads.length = 0;
    failList = true;
    await assert.rejects(Promise.resolve(bot.outgoingByChat(CHAT)), /disk is full/);
    failList = false;
    assert.equal((await bot.outgoingByChat(CHAT)).length, 3);
    assert.equal(reads.length, 2);
  } finally {
    await bot.close();
    raw.close();
  }
});

// `hooks list` and `hooks info` ask the bot for the counts it keeps in memory (written every
// 5 s otherwise): the ask is a change feed entry, the answer the usual "applied" mark, written
// once the counts are. A flush that fails leaves the CLI unanswered and names itself.
Deno.test("the CLI's ask for usage: the watching store writes its counts before it marks the feed applied; a failed write names itself", async () => {
  // Only the ask writes the counts here.
  await using w = await botAndCli({ usageFlushIntervalMs: 3_600_000 });
  const { failing, lines, bot, cli } = w;
  const { hook } = await make(cli);
  await bot.pollChangesOrWarn();
  bot.recordDelivery(hook.id);
  bot.recordDelivery(hook.id);
  assert.equal((await cli.get(hook.id))?.deliveryCount, 0);

  await cli.askForUsage();
  failing.op = "commit";
  await bot.pollChangesOrWarn();
  failing.op = null;
  assert.equal(lines.length, 1, lines.join("\n"));
  assert.match(
    lines[0]!,
    /could not write the delivery counts the operator CLI asked for; retrying/,
  );
  assert.equal(await cli.changesApplied(0), false);
  assert.equal((await cli.get(hook.id))?.deliveryCount, 0);

  await bot.pollChangesOrWarn(); // the retry
  assert.equal(await cli.changesApplied(0), true);
  assert.equal((await cli.get(hook.id))?.deliveryCount, 2);
  assert.equal(lines.length, 2, lines.join("\n"));
  assert.match(lines[1]!, /"level":"info".*hook change feed readable again/);
});

// A change id was `<ms>-<random>`: two changes of one writer within a millisecond were ordered by
// chance, and a second one sorting before the first (the feed head "before" what the bot had
// applied) counted as applied at once, so the CLI returned before the bot had it.
Deno.test("changes one process makes within a millisecond are not reported applied before the watching store polls", async () => {
  await using w = await botAndCli({}, { now: () => Date.parse("2026-01-01T00:00:00Z") });
  const { bot, cli } = w;
  const { hook } = await make(cli);
  await bot.pollChangesOrWarn();
  assert.equal(await cli.changesApplied(0), true);
  for (let i = 0; i < 20; i++) {
    assert.ok((await cli.rename(hook.id, `deploys ${i}`)).ok);
    assert.equal(await cli.changesApplied(0), false, `change ${i} is not applied yet`);
    await bot.pollChangesOrWarn();
    assert.equal(await cli.changesApplied(0), true, `change ${i} is applied`);
  }
  assert.deepEqual(w.lines, []);
});

Deno.test("a record written before the lifecycle fields reads with defaults and can be changed", async () => {
  await using s = await setup();
  const hash = "ab".repeat(32);
  const legacy = {
    id: "legacy-1",
    chatId: CHAT,
    name: "old",
    nameFolded: "old",
    tokenHash: hash,
    tokenHint: { head: "abcd", tail: "wxyz" },
    createdAt: 1,
    createdBy: "",
    lastUsedAt: null,
    deliveryCount: 3,
  };
  await s.kv.atomic()
    .set(["hook", hash], legacy)
    .set(["hook_id", "legacy-1"], hash)
    .set(["hook_name", CHAT, "old"], hash)
    .set(["hooks_by_chat", CHAT, 1, "legacy-1"], hash)
    .commit();
  const rec = await s.store.get("legacy-1");
  assert.equal(rec?.kind, "incoming");
  assert.equal(rec?.paused, null);
  assert.equal(rec?.allow, null);
  assert.deepEqual(rec?.settings, {});
  assert.ok((await s.store.pause("legacy-1", "x")).ok);
  assert.equal((await s.store.get("legacy-1"))?.deliveryCount, 3);
});

Deno.test("outgoing hooks are never found by token; request history is bounded to 10", async () => {
  await using s = await setup();
  const out = await s.store.create({
    chatId: CHAT,
    name: "ci",
    createdBy: "a",
    kind: "outgoing",
    outgoing: { url: "https://ci.example.com/x", secret: "v1.x.y", triggers: [] },
  });
  assert.ok(out.ok && out.hook.kind === "outgoing");
  assert.equal(await s.store.findByToken(out.token), null);
  const { hook } = await make(s.store);
  for (let i = 0; i < 15; i++) {
    s.store.recordRequest(hook.id, { status: 200 + i, format: "native", outcome: "delivered" });
  }
  assert.deepEqual((await s.store.history(hook.id)).map((h) => h.status), [
    205,
    206,
    207,
    208,
    209,
    210,
    211,
    212,
    213,
    214,
  ]);
  await s.store.flush();
  s.store.recordRequest(hook.id, { status: 401, format: "", outcome: "refused", error: "x" });
  await s.store.flush();
  const h = await s.store.history(hook.id);
  assert.equal(h.length, 10);
  assert.equal(h.at(-1)?.status, 401);
  assert.equal(h[0]?.status, 206);
});
