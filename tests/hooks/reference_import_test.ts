import assert from "node:assert/strict";
import { HookStore, ReferenceFormatError } from "../../src/hooks/mod.ts";

const FIXTURE = new URL("./fixtures/webhooks.json", import.meta.url);
const OPS = "c_ops@trueconf.example";
const NOW = Date.parse("2025-01-01T00:00:00Z");

async function setup() {
  const kv = await Deno.openKv(":memory:");
  const store = new HookStore(kv, { now: () => NOW });
  return {
    kv,
    store,
    async [Symbol.asyncDispose]() {
      await store.close();
      kv.close();
    },
  };
}

async function fixture(): Promise<{ webhooks: Record<string, unknown>[] }> {
  return JSON.parse(await Deno.readTextFile(FIXTURE));
}

Deno.test("import: counts, reasons, fields and defaults from the reference file", async () => {
  await using s = await setup();
  const json = await fixture();
  const r = await s.store.importReferenceJson(json);
  assert.equal(r.imported, 3);
  // " DEPLOYS " names another hook of the chat ("Deploys"): its URL works under a numbered name.
  assert.deepEqual(r.importedHooks.map((h) => h.name), ["Deploys", "alerts", "DEPLOYS (2)"]);
  assert.deepEqual(r.adjusted, [{
    index: 3,
    hookId: "11111111-2222-4333-8444-555555555555",
    notes: ['name "DEPLOYS" is another hook\'s in this chat → "DEPLOYS (2)"'],
  }]);
  assert.ok(await s.store.findByToken(String(json.webhooks[3]!.token)));
  assert.deepEqual(
    r.skipped.map((x) => [x.index, x.name, x.chatId, x.reason]),
    [
      [2, "Deploys", OPS, "already imported"],
      [
        4,
        "builds",
        "c_dev@trueconf.example",
        "malformed: token: not a URL-safe token of 20–128 characters",
      ],
      [5, "", "", "malformed: record: Invalid input: expected object, received string"],
    ],
  );

  // The full record keeps the reference's id, times and counters.
  const full = await s.store.findByToken(String(json.webhooks[0]!.token));
  assert.deepEqual(full, {
    id: "6f1c2a3e-8b4d-4e5f-9a0b-1c2d3e4f5a6b",
    chatId: OPS,
    name: "Deploys",
    tokenHash: full?.tokenHash,
    tokenHint: { head: "g4yL", tail: "l-Io" },
    createdAt: Date.parse("2024-05-01T10:20:30Z"),
    createdBy: "alice@trueconf.example",
    lastUsedAt: Date.parse("2024-06-02T08:00:00Z"),
    deliveryCount: 42,
    // Lifecycle fields start empty.
    kind: "incoming",
    chatTitle: null,
    paused: null,
    expiresAt: null,
    expiryWarnedAt: null,
    expirySetAt: null,
    rotation: null,
    verification: null,
    allow: null,
    settings: {},
    outgoing: null,
  });
  // Missing optional fields default as the reference does.
  const sparse = await s.store.findByToken(String(json.webhooks[1]!.token));
  assert.ok(sparse);
  assert.equal(sparse.createdAt, NOW);
  assert.equal(sparse.createdBy, "");
  assert.equal(sparse.lastUsedAt, null);
  assert.equal(sparse.deliveryCount, 0);
  // Imported hooks behave like created ones: listed, unique names, revocable.
  assert.deepEqual(
    (await s.store.listByChat(OPS)).map((h) => h.name).sort(),
    ["DEPLOYS (2)", "Deploys", "alerts"],
  );
  const dup = await s.store.create({ chatId: OPS, name: "deploys", createdBy: "x" });
  assert.ok(!dup.ok && dup.reason === "duplicate_name");
});

Deno.test("import is idempotent: a second run imports nothing and changes nothing", async () => {
  await using s = await setup();
  const json = await fixture();
  await s.store.importReferenceJson(json);
  const before: unknown[] = [];
  for await (const e of s.kv.list({ prefix: [] })) before.push([e.key, e.value]);
  const again = await s.store.importReferenceJson(json);
  assert.equal(again.imported, 0);
  assert.deepEqual(again.skipped.map((x) => x.reason.split(":")[0]), [
    "already imported",
    "already imported",
    "already imported",
    "already imported",
    "malformed",
    "malformed",
  ]);
  const after: unknown[] = [];
  for await (const e of s.kv.list({ prefix: [] })) after.push([e.key, e.value]);
  assert.deepEqual(after, before);
});

// A record whose token is good but whose name or dates break a rule was skipped, so its URL
// answered 404 after the migration over a date. Only a record without a chat or a usable token
// is skipped now; the rest are imported with the field mended and the change reported.
Deno.test("import: only a missing chat or a bad token skips a record; bad metadata is mended and reported", async () => {
  await using s = await setup();
  const token = (c: string) => c.repeat(43);
  const r = await s.store.importReferenceJson({
    webhooks: [
      null,
      { chat_id: OPS, name: "no token" },
      { chat_id: "", name: "x", token: token("a") },
      { chat_id: OPS, name: "", token: token("b") },
      { chat_id: OPS, name: "bad\ncontrol", token: token("c") },
      { chat_id: OPS, name: "date", token: token("d"), created_at: "yesterday" },
      { chat_id: OPS, name: "count", token: token("e"), usage_count: -1, created_by: 7 },
      { chat_id: OPS, name: "ok", token: token("f") + "!" },
      { chat_id: OPS, name: "naive date", token: token("g"), created_at: "2024-05-01T10:20:30" },
      { chat_id: OPS, token: token("h"), last_used_at: 5 },
      { chat_id: OPS, name: "x".repeat(70), token: token("i") },
    ],
  });
  assert.deepEqual(r.skipped.map((x) => [x.index, x.reason]), [
    [0, "malformed: record: Invalid input: expected object, received null"],
    [1, "malformed: token: Invalid input: expected string, received undefined"],
    [2, "malformed: chat_id: empty"],
    [7, "malformed: token: not a URL-safe token of 20–128 characters"],
  ]);
  for (const x of r.skipped) assert.ok(!x.reason.includes(token("f")), x.reason);
  assert.deepEqual(r.importedHooks.map((h) => h.name), [
    "imported 4",
    "bad control",
    "date",
    "count",
    "naive date",
    "imported 10",
    "x".repeat(64),
  ]);
  assert.deepEqual(r.adjusted.map((a) => [a.index, a.notes]), [
    [3, ['name "" is empty → "imported 4"']],
    [4, ['name "bad\\ncontrol" contains control characters → "bad control"']],
    [5, ['created_at "yesterday": not an ISO-8601 date → now']],
    [6, [
      'created_by 7: Invalid input: expected string, received number → ""',
      "usage_count -1: Too small: expected number to be >=0 → 0",
    ]],
    [9, [
      "last_used_at 5: Invalid input: expected string, received number → never",
      'name is missing → "imported 10"',
    ]],
    [10, [`name "${"x".repeat(38)}… is longer than 64 characters → "${"x".repeat(64)}"`]],
  ]);
  // Every imported URL works; the mended fields hold their defaults.
  for (const c of "bcdeghi") assert.ok(await s.store.findByToken(token(c)), c);
  const dated = await s.store.findByToken(token("d"));
  assert.equal(dated?.createdAt, NOW);
  const counted = await s.store.findByToken(token("e"));
  assert.equal(counted?.deliveryCount, 0);
  assert.equal(counted?.createdBy, "");
  // A zone-less time is read as UTC, as the reference writes UTC.
  assert.equal(
    (await s.store.findByToken(token("g")))?.createdAt,
    Date.parse("2024-05-01T10:20:30Z"),
  );
});

Deno.test("import: a file that is not {webhooks: [...]} throws ReferenceFormatError", async () => {
  await using s = await setup();
  for (const bad of [null, [], {}, { webhooks: {} }, "x"]) {
    await assert.rejects(() => s.store.importReferenceJson(bad), ReferenceFormatError);
  }
  assert.deepEqual(await s.store.importReferenceJson({ webhooks: [] }), {
    imported: 0,
    importedHooks: [],
    skipped: [],
    adjusted: [],
  });
});

Deno.test("import: a reference id already used by another hook gets a fresh id", async () => {
  await using s = await setup();
  const id = "6f1c2a3e-8b4d-4e5f-9a0b-1c2d3e4f5a6b";
  const r = await s.store.importReferenceJson({
    webhooks: [
      { id, chat_id: OPS, name: "a", token: "a".repeat(43) },
      { id, chat_id: OPS, name: "b", token: "b".repeat(43) },
    ],
  });
  assert.equal(r.imported, 2);
  assert.equal(r.importedHooks[0]!.id, id);
  assert.notEqual(r.importedHooks[1]!.id, id);
  assert.ok(await s.store.findByToken("b".repeat(43)));
});
