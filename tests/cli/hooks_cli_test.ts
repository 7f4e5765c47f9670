import assert from "node:assert/strict";
import { hooksList, hooksRevoke, importJson } from "../../src/cli/hooks_cli.ts";
import { HookStore } from "../../src/hooks/mod.ts";

const FIXTURE = new URL("../hooks/fixtures/webhooks.json", import.meta.url).pathname;

async function setup() {
  const kv = await Deno.openKv(":memory:");
  const store = new HookStore(kv, { now: () => Date.parse("2025-01-02T03:04:05.678Z") });
  const lines: string[] = [];
  return {
    store,
    lines,
    out: (l: string) => void lines.push(l),
    text: () => lines.join("\n"),
    async [Symbol.asyncDispose]() {
      await store.close();
      kv.close();
    },
  };
}

Deno.test("hooksList: a masked table, never a token", async () => {
  await using s = await setup();
  assert.equal(await hooksList(s.store, s.out), 0);
  assert.deepEqual(s.lines, ["No webhooks."]);
  s.lines.length = 0;

  const made = await s.store.create({ chatId: "c1", name: "Деплой", createdBy: "bob" });
  assert.ok(made.ok);
  s.store.recordDelivery(made.hook.id, Date.parse("2025-02-01T00:00:00Z"));
  assert.equal(await hooksList(s.store, s.out), 0);
  const [header, row, footer] = s.lines;
  assert.match(header!, /^ID +CHAT +NAME +TOKEN +CREATED BY +CREATED +LAST USED +DELIVERIES$/);
  assert.ok(row!.includes(made.hook.id));
  assert.ok(row!.includes(`${made.token.slice(0, 4)}…${made.token.slice(-4)}`));
  assert.ok(row!.includes("2025-01-02T03:04:05Z"));
  assert.ok(row!.includes("2025-02-01T00:00:00Z"));
  assert.match(row!, / 1$/);
  assert.equal(footer, "1 webhook.");
  assert.ok(!s.text().includes(made.token));
  // Columns line up: the TOKEN column starts at the same place in both lines.
  assert.equal(header!.indexOf("TOKEN"), [...row!].join("").indexOf(made.token.slice(0, 4)));
});

Deno.test("hooksRevoke: by id; unknown id is exit code 1", async () => {
  await using s = await setup();
  const made = await s.store.create({ chatId: "c1", name: "deploys", createdBy: "bob" });
  assert.ok(made.ok);
  assert.equal(await hooksRevoke(s.store, made.hook.id, s.out), 0);
  assert.match(s.lines[0]!, /^Revoked webhook "deploys" \(.{4}….{4}\) of chat c1\.$/);
  assert.equal(await s.store.findByToken(made.token), null);
  assert.equal(await hooksRevoke(s.store, made.hook.id, s.out), 1);
  assert.match(s.text(), /No webhook with id/);
  assert.ok(!s.text().includes(made.token));
});

Deno.test("importJson: prints imported and skipped, idempotent, no tokens", async () => {
  await using s = await setup();
  assert.equal(await importJson(s.store, FIXTURE, s.out), 0);
  const first = s.text();
  assert.equal(s.lines.filter((l) => l.startsWith("imported")).length, 2);
  assert.equal(s.lines.filter((l) => l.startsWith("skipped")).length, 4);
  assert.match(first, /Imported 2, skipped 4\./);
  const fixture = await Deno.readTextFile(FIXTURE);
  for (const [, token] of fixture.matchAll(/"token": "([^"]+)"/g)) {
    if (token!.length > 8) assert.ok(!first.includes(token!), "token printed");
  }
  s.lines.length = 0;
  assert.equal(await importJson(s.store, FIXTURE, s.out), 0);
  assert.match(s.text(), /Imported 0, skipped 6\./);
});

Deno.test("importJson: unreadable, not JSON, or wrong shape is exit code 1", async () => {
  await using s = await setup();
  const dir = await Deno.makeTempDir();
  try {
    assert.equal(await importJson(s.store, `${dir}/missing.json`, s.out), 1);
    assert.match(s.lines.at(-1)!, /^Cannot import .*missing\.json: /);
    await Deno.writeTextFile(`${dir}/bad.json`, "{not json");
    assert.equal(await importJson(s.store, `${dir}/bad.json`, s.out), 1);
    assert.match(s.lines.at(-1)!, /it is not valid JSON/);
    await Deno.writeTextFile(`${dir}/shape.json`, '{"hooks": []}');
    assert.equal(await importJson(s.store, `${dir}/shape.json`, s.out), 1);
    assert.match(s.lines.at(-1)!, /expected \{"webhooks": \[ \.\.\. \]\}/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
