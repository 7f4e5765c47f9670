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
  assert.equal(r.imported, 2);
  assert.deepEqual(r.importedHooks.map((h) => h.name), ["Deploys", "alerts"]);
  assert.deepEqual(
    r.skipped.map((x) => [x.index, x.name, x.chatId, x.reason]),
    [
      [2, "Deploys", OPS, "already imported"],
      [
        3,
        "DEPLOYS",
        OPS,
        "a hook with this name and a different token already exists in this chat",
      ],
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
  assert.deepEqual((await s.store.listByChat(OPS)).map((h) => h.name), ["Deploys", "alerts"]);
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
    "a hook with this name and a different token already exists in this chat",
    "malformed",
    "malformed",
  ]);
  const after: unknown[] = [];
  for await (const e of s.kv.list({ prefix: [] })) after.push([e.key, e.value]);
  assert.deepEqual(after, before);
});

Deno.test("import: bad records are skipped, never fatal; reasons never contain tokens", async () => {
  await using s = await setup();
  const token = "g4yL-KtkMCidCvKVFX8g0ebzSZjtm0OQEJ85POTl-Io";
  const r = await s.store.importReferenceJson({
    webhooks: [
      null,
      { chat_id: OPS, name: "no token" },
      { chat_id: "", name: "x", token },
      { chat_id: OPS, name: "", token },
      { chat_id: OPS, name: "bad\ncontrol", token },
      { chat_id: OPS, name: "date", token, created_at: "yesterday" },
      { chat_id: OPS, name: "count", token, usage_count: -1 },
      { chat_id: OPS, name: "ok", token: token + "x" },
      { chat_id: OPS, name: "naive date", token, created_at: "2024-05-01T10:20:30" },
    ],
  });
  assert.equal(r.imported, 2);
  assert.deepEqual(r.skipped.map((x) => x.index), [0, 1, 2, 3, 4, 5, 6]);
  for (const x of r.skipped) {
    assert.ok(!x.reason.includes(token), x.reason);
    assert.ok(x.reason.length > 5);
  }
  assert.equal(r.skipped[3]!.reason, "malformed: name: empty");
  assert.match(r.skipped[5]!.reason, /created_at: not an ISO-8601 date/);
  // A zone-less time is read as UTC, as the reference writes UTC.
  assert.equal((await s.store.findByToken(token))?.createdAt, Date.parse("2024-05-01T10:20:30Z"));
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
