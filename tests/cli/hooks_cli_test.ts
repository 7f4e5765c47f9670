import assert from "node:assert/strict";
import {
  HOOKS_USAGE,
  hooksList,
  hooksRevoke,
  importJson,
  runHooksCli,
} from "../../src/cli/hooks_cli.ts";
import { HookStore } from "../../src/hooks/mod.ts";
import { acquireLease } from "../../src/storage/mod.ts";
import { fullDiskKv } from "../support/full_disk_kv.ts";

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
  assert.match(
    header!,
    /^ID +CHAT +TITLE +NAME +KIND +STATE +TOKEN +CREATED BY +CREATED +LAST USED +DELIVERIES$/,
  );
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
  assert.match(s.lines[1]!, /within a second/);
  assert.equal(await s.store.findByToken(made.token), null);
  assert.equal(await hooksRevoke(s.store, made.hook.id, s.out), 1);
  assert.match(s.text(), /No webhook with id/);
  assert.ok(!s.text().includes(made.token));
});

Deno.test("importJson: prints imported and skipped, idempotent, no tokens; exit 1 when records are lost", async () => {
  await using s = await setup();
  // The fixture holds two records that cannot be imported (a bad token, not an object): their
  // URLs would answer 404, so the exit status says so (issue 17.10). A name clash is imported
  // under a numbered name, and the line says so.
  assert.equal(await importJson(s.store, FIXTURE, s.out), 1);
  const first = s.text();
  assert.equal(s.lines.filter((l) => l.startsWith("imported")).length, 3);
  assert.equal(s.lines.filter((l) => l.startsWith("skipped")).length, 3);
  assert.match(
    first,
    /^imported {2}chat c_ops@trueconf\.example {2}"DEPLOYS \(2\)" {2}9i--…VYGE {2}id 11111111-2222-4333-8444-555555555555\n {10}adjusted: name "DEPLOYS" is another hook's in this chat → "DEPLOYS \(2\)"$/m,
  );
  assert.match(
    first,
    /Imported 3 \(1 with adjusted fields, listed above\), skipped 3 \(2 could not be imported: their URLs will answer 404/,
  );
  // Every well-formed token of the fixture (three distinct ones), whole and by its middle.
  const fixture = await Deno.readTextFile(FIXTURE);
  const tokens = new Set(
    [...fixture.matchAll(/"token": "([A-Za-z0-9_-]{20,})"/g)].map((m) => m[1]!),
  );
  assert.equal(tokens.size, 3);
  for (const token of tokens) {
    assert.ok(!first.includes(token), "token printed");
    assert.ok(!first.includes(token.slice(4, -4)), "token middle printed");
  }
  s.lines.length = 0;
  assert.equal(await importJson(s.store, FIXTURE, s.out), 1);
  assert.match(s.text(), /Imported 0, skipped 6 \(2 could not be imported/);
  // A clean file imported twice: the second run skips everything as "already imported", exit 0.
  const clean = await Deno.makeTempFile({ suffix: ".json" });
  try {
    const all = JSON.parse(await Deno.readTextFile(FIXTURE)).webhooks;
    await Deno.writeTextFile(clean, JSON.stringify({ webhooks: all.slice(0, 2) }));
    s.lines.length = 0;
    assert.equal(await importJson(s.store, clean, s.out), 0, s.text());
    assert.match(s.text(), /^Imported 0, skipped 2\. /m);
  } finally {
    await Deno.remove(clean);
  }
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

/** runHooksCli on a store (as main.ts wires it), capturing stdout and stderr. */
/** An outgoing hook "ci" of chat c1 to `url`, its secret stored as `secret`. */
async function outgoingHook(
  store: HookStore,
  url: string,
  secret: string,
): Promise<{ hook: { id: string } }> {
  const made = await store.create({
    chatId: "c1",
    name: "ci",
    createdBy: "bob",
    kind: "outgoing",
    outgoing: { url, secret, triggers: [] },
  });
  assert.ok(made.ok);
  return made;
}

async function cliWorld(publicUrl: string | null = "https://hooks.example.com") {
  const kv = await Deno.openKv(":memory:");
  let t = Date.parse("2026-02-01T00:00:00Z");
  const now = () => t;
  const store = new HookStore(kv, { now });
  const out: string[] = [];
  const err: string[] = [];
  const run = (...args: string[]) =>
    runHooksCli(args, {
      openStore: (fn) => fn(store),
      publicUrl,
      out: (l) => void out.push(l),
      err: (l) => void err.push(l),
      now,
    });
  return {
    store,
    out,
    err,
    run,
    advance: (ms: number) => void (t += ms),
    async [Symbol.asyncDispose]() {
      await store.close();
      kv.close();
    },
  };
}

Deno.test("hooks create/pause/resume/rename/expire/allow/info by --chat --name or id; --json", async () => {
  await using w = await cliWorld();
  assert.equal(
    await w.run("create", "--chat", "c1", "--name", "Prod deploys", "--expires", "30d"),
    0,
  );
  assert.equal(w.out.length, 1);
  const url = w.out[0]!;
  assert.match(url, /^https:\/\/hooks\.example\.com\/hook\/[A-Za-z0-9_-]{43}$/);
  const token = url.slice(url.lastIndexOf("/") + 1);
  const hook = (await w.store.findByToken(token))!;
  assert.equal(hook.expiresAt, Date.parse("2026-03-03T00:00:00Z"));

  w.out.length = 0;
  assert.equal(await w.run("pause", "--chat", "c1", "--name", "PROD DEPLOYS"), 0);
  assert.match(w.out[0]!, /^Paused webhook "Prod deploys"/);
  assert.equal(await w.store.findByToken(token), null);
  assert.equal(await w.run("resume", hook.id), 0);
  assert.ok(await w.store.findByToken(token));
  assert.equal(await w.run("rename", hook.id, "--to", "CI"), 0);
  assert.equal((await w.store.get(hook.id))?.name, "CI");
  assert.equal(await w.run("expire", hook.id, "never"), 0);
  assert.equal((await w.store.get(hook.id))?.expiresAt, null);
  assert.equal(await w.run("allow", hook.id, "10.0.0.0/8,192.168.1.5"), 0);
  assert.deepEqual((await w.store.get(hook.id))?.allow, ["10.0.0.0/8", "192.168.1.5/32"]);
  w.store.recordRequest(hook.id, { status: 202, format: "native", outcome: "queued" });

  w.out.length = 0;
  assert.equal(await w.run("info", hook.id, "--json"), 0);
  const info = JSON.parse(w.out.join("\n"));
  assert.equal(info.name, "CI");
  assert.equal(info.state, "active");
  assert.deepEqual(info.allow, ["10.0.0.0/8", "192.168.1.5/32"]);
  assert.equal(info.history.length, 1);
  assert.equal(info.history[0].status, 202);

  w.out.length = 0;
  assert.equal(await w.run("list", "--json"), 0);
  const list = JSON.parse(w.out.join("\n"));
  assert.ok(Array.isArray(list) && list.length === 1);
  assert.equal(list[0].token, `${token.slice(0, 4)}…${token.slice(-4)}`);
  assert.equal(list[0].kind, "incoming");
  for (const l of w.out) assert.ok(!l.includes(token) && !l.includes(hook.tokenHash));
});

Deno.test("hooks rotate prints only the new URL; verify prints only the secret; revoke", async () => {
  await using w = await cliWorld();
  await w.run("create", "--chat", "c1", "--name", "deploys");
  const old = w.out[0]!.slice(w.out[0]!.lastIndexOf("/") + 1);
  const id = (await w.store.findByToken(old))!.id;
  w.out.length = 0;
  assert.equal(await w.run("rotate", "--chat", "c1", "--name", "deploys", "--grace", "1h"), 0);
  assert.equal(w.out.length, 1);
  const fresh = w.out[0]!.slice(w.out[0]!.lastIndexOf("/") + 1);
  assert.notEqual(fresh, old);
  assert.equal((await w.store.findByToken(old))?.viaOldToken, true);
  w.advance(3_600_000);
  assert.equal(await w.store.findByToken(old), null);
  assert.ok(await w.store.findByToken(fresh));

  w.out.length = 0;
  assert.equal(await w.run("verify", id, "standard"), 0);
  assert.equal(w.out.length, 1);
  assert.match(w.out[0]!, /^whsec_/);
  const rec = await w.store.get(id);
  assert.equal(await w.store.openSecret(rec!.verification!.secret), w.out[0]);
  assert.equal(await w.run("verify", id, "off"), 0);
  assert.equal((await w.store.get(id))?.verification, null);

  w.out.length = 0;
  assert.equal(await w.run("revoke", id), 0);
  assert.match(w.out[0]!, /^Revoked webhook "deploys"/);
  assert.equal(await w.store.findByToken(fresh), null);
});

// As the chat commands say since bef643c: rotating, verifying, allowing or setting the expiry
// of a paused hook is done, and the operator is told (on stderr: stdout stays the new URL or
// secret alone) that it still answers 404 until resumed. The CLI said nothing.
Deno.test("hooks rotate/verify/allow/expire of a paused hook: done, and stderr says it is still paused", async () => {
  await using w = await cliWorld();
  await w.run("create", "--chat", "c1", "--name", "deploys");
  const id = (await w.store.findByName("c1", "deploys"))!.id;
  assert.equal(await w.run("pause", id), 0);
  const note =
    `note: webhook "deploys" is still paused: its URLs answer 404 until hooks resume ${id}.`;
  for (
    const args of [["rotate", id, "--grace", "0"], ["verify", id, "bearer"], [
      "allow",
      id,
      "10.0.0.0/8",
    ], ["expire", id, "30d"]]
  ) {
    w.out.length = 0;
    w.err.length = 0;
    assert.equal(await w.run(...args), 0, args.join(" "));
    assert.equal(w.out.length, 1, args.join(" "));
    assert.ok(!w.out[0]!.includes("paused"), "stdout is the answer alone");
    assert.deepEqual(w.err, [note], args.join(" "));
  }
  assert.equal(await w.run("resume", id), 0);
  w.err.length = 0;
  assert.equal(await w.run("allow", id, "any"), 0);
  assert.deepEqual(w.err, []);
  // An empty --owner says what it needs.
  assert.equal(await w.run("create", "--chat", "c1", "--name", "x", "--owner", ""), 2);
  assert.match(w.err.at(-1)!, /^error: --owner needs a TrueConf user: give a login \(alice\)/);
});

// A chat-made hook stores its author as TrueConf's id, normalised (src/trueconf/ids.ts); the
// CLI's --owner is the same member however the operator typed or pasted it.
Deno.test("hooks create --owner: the owner is stored as the chat stores a creator's id", async () => {
  await using w = await cliWorld();
  let n = 0;
  for (
    const [typed, stored] of <[string, string][]> [
      ["Alice@Video.Example.com", "alice@video.example.com"],
      ["trueconf:alice@video.example.com/7f3a", "alice@video.example.com"],
      [" Alice ", "alice"],
    ]
  ) {
    const name = `owned ${++n}`;
    assert.equal(await w.run("create", "--chat", "c1", "--name", name, "--owner", typed), 0);
    assert.equal((await w.store.findByName("c1", name))?.createdBy, stored, typed);
  }
  assert.equal(await w.run("create", "--chat", "c1", "--name", "y", "--owner", "trueconf:/x"), 2);
  assert.match(w.err.at(-1)!, /^error: --owner trueconf:\/x is not a TrueConf user/);
});

// A script reads the answer's state like every other change's (pause says "paused"): revoke
// said "active" beside revoked: true.
Deno.test("hooks revoke --json: the hook's state is revoked", async () => {
  await using w = await cliWorld();
  await w.run("create", "--chat", "c1", "--name", "deploys");
  w.out.length = 0;
  assert.equal(await w.run("revoke", "--chat", "c1", "--name", "deploys", "--json"), 0);
  const shown = JSON.parse(w.out.join("\n"));
  assert.equal(shown.state, "revoked");
  assert.equal(shown.revoked, true);
  assert.equal(shown.name, "deploys");
});

Deno.test("hooks: unknown targets exit 1, bad command lines exit 2 with usage", async () => {
  await using w = await cliWorld();
  const gone = crypto.randomUUID();
  assert.equal(await w.run("pause", gone), 1);
  assert.equal(
    w.err.at(-1),
    `error: no webhook with id or name "${gone}". List them with: hooks list`,
  );
  assert.equal(await w.run("pause", "--chat", "c1", "--name", "x"), 1);
  assert.match(w.err.at(-1)!, /no webhook named "x" in chat c1/);
  for (
    const args of [
      ["frobnicate"],
      ["pause"],
      ["pause", "--chat", "c1"],
      ["create", "--chat", "c1"],
      ["create", "--chat", "c1", "--name", "x", "--expires", "soon"],
      ["list", "--bogus"],
    ]
  ) {
    w.err.length = 0;
    assert.equal(await w.run(...args), 2, args.join(" "));
    assert.match(w.err.join("\n"), /Usage: trueconf-webhook-bot hooks/, args.join(" "));
  }
  await w.run("create", "--chat", "c1", "--name", "x");
  const id = (await w.store.listAll())[0]!.id;
  assert.equal(await w.run("rotate", id, "--grace", "8d"), 2);
  assert.equal(await w.run("verify", id, "sha1"), 2);
  assert.equal(await w.run("allow", id, "10.0.0.300"), 2);
  assert.match(w.err.at(-1)!, /«10\.0\.0\.300» is not an IP address/);
});

// `hooks info deploys` worked but `hooks pause deploys` answered with the command to type
// instead: every command that takes a TARGET now takes a name one hook has, through the one
// lookup (src/cli/_find_hook.ts); a hook id still wins.
Deno.test("hooks pause/resume/rename/rotate/expire/verify/allow/revoke take a name one hook has (ignoring case)", async () => {
  await using w = await cliWorld();
  await w.run("create", "--chat", "ops@srv", "--name", "Deploys");
  const id = (await w.store.listAll())[0]!.id;
  const hook = async () => (await w.store.get(id))!;
  assert.equal(await w.run("pause", "deploys"), 0, w.err.join("\n"));
  assert.ok((await hook()).paused);
  assert.equal(await w.run("resume", "DEPLOYS"), 0, w.err.join("\n"));
  assert.equal((await hook()).paused, null);
  assert.equal(await w.run("rename", "deploys", "--to", "Prod deploys"), 0, w.err.join("\n"));
  assert.equal((await hook()).name, "Prod deploys");
  assert.equal(await w.run("expire", "prod deploys", "30d"), 0, w.err.join("\n"));
  assert.equal((await hook()).expiresAt, Date.parse("2026-03-03T00:00:00Z"));
  assert.equal(await w.run("allow", "Prod Deploys", "10.0.0.0/8"), 0, w.err.join("\n"));
  assert.deepEqual((await hook()).allow, ["10.0.0.0/8"]);
  w.out.length = 0;
  assert.equal(await w.run("verify", "prod deploys", "standard"), 0, w.err.join("\n"));
  assert.equal((await hook()).verification?.mode, "standard");
  const oldHash = (await hook()).tokenHash;
  assert.equal(await w.run("rotate", "prod deploys", "--grace", "0"), 0, w.err.join("\n"));
  assert.notEqual((await hook()).tokenHash, oldHash);
  w.out.length = 0;
  assert.equal(await w.run("revoke", "PROD DEPLOYS"), 0, w.err.join("\n"));
  assert.match(w.out[0]!, /^Revoked webhook "Prod deploys"/);
  assert.equal(await w.store.get(id), null);
});

Deno.test("hooks: a name several chats use is refused (exit 2) with one command per hook, by its id; nothing changes", async () => {
  await using w = await cliWorld();
  await w.run("create", "--chat", "ops@srv", "--name", "Deploys");
  await w.run("create", "--chat", "dev@srv", "--name", "deploys");
  const ops = (await w.store.listByChat("ops@srv"))[0]!.id;
  const dev = (await w.store.listByChat("dev@srv"))[0]!.id;
  const before = await w.store.listAll();
  for (
    const [args, retyped] of <[string[], (id: string) => string][]> [
      [["revoke", "DEPLOYS"], (id) => `hooks revoke ${id}`],
      [["pause", "deploys", "--json"], (id) => `hooks pause ${id} --json`],
      [["resume", "deploys"], (id) => `hooks resume ${id}`],
      [
        ["rename", "deploys", "--to", "it's live"],
        (id) => `hooks rename ${id} --to 'it'\\''s live'`,
      ],
      [["rotate", "--grace", "1h", "deploys"], (id) => `hooks rotate --grace 1h ${id}`],
      [["expire", "deploys", "never"], (id) => `hooks expire ${id} never`],
      [["verify", "deploys", "bearer"], (id) => `hooks verify ${id} bearer`],
      [["allow", "deploys", "any"], (id) => `hooks allow ${id} any`],
      [["info", "deploys"], (id) => `hooks info ${id}`],
    ]
  ) {
    w.out.length = 0;
    w.err.length = 0;
    assert.equal(await w.run(...args), 2, args.join(" "));
    assert.deepEqual(w.out, [], args.join(" "));
    assert.deepEqual(w.err, [
      `error: 2 webhooks are named "${
        args[args.indexOf("deploys") === -1 ? 1 : args.indexOf("deploys")]
      }" (ignoring case), so none was picked; name one by its id:`,
      `  ${retyped(dev)}   # "deploys" in chat dev@srv`,
      `  ${retyped(ops)}   # "Deploys" in chat ops@srv`,
    ], args.join(" "));
  }
  assert.deepEqual(await w.store.listAll(), before, "nothing changed");
  // Either id picks its hook.
  assert.equal(await w.run("pause", ops), 0);
  assert.ok((await w.store.get(ops))?.paused);
  assert.equal((await w.store.get(dev))?.paused, null);
});

Deno.test("hooks: an id that is another hook's name still means the id", async () => {
  await using w = await cliWorld();
  await w.run("create", "--chat", "ops@srv", "--name", "deploys");
  const id = (await w.store.listAll())[0]!.id;
  await w.run("create", "--chat", "dev@srv", "--name", id.toUpperCase());
  const named = (await w.store.listByChat("dev@srv"))[0]!;
  assert.equal(await w.run("pause", id), 0, w.err.join("\n"));
  assert.ok((await w.store.get(id))?.paused, "the hook with that id");
  assert.equal((await w.store.get(named.id))?.paused, null, "not the hook with that name");
  assert.equal(await w.run("revoke", id), 0);
  assert.equal(await w.store.get(id), null);
  assert.ok(await w.store.get(named.id));
  // With the id gone, the same word is the other hook's name.
  assert.equal(await w.run("pause", id), 0, w.err.join("\n"));
  assert.ok((await w.store.get(named.id))?.paused);
});

Deno.test("hooks: a URL or token where a hook goes says where ids are; an unknown word says hooks list", async () => {
  await using w = await cliWorld();
  await w.run("create", "--chat", "ops@srv", "--name", "deploys");
  const url = "https://hooks.example.com/hook/" + "x".repeat(43);
  for (const typed of [url, "x".repeat(43)]) {
    for (const sub of ["revoke", "info"]) {
      w.err.length = 0;
      assert.equal(await w.run(sub, typed), 1);
      assert.match(
        w.err.join("\n"),
        /^error: no webhook has that id or name\. A URL's token is stored only as a hash: find the hook's id in hooks list by the token's first and last four characters \(TOKEN column\)\.$/,
      );
      assert.ok(!w.err.join("\n").includes("x".repeat(43)), "the token is not echoed");
    }
  }
  assert.equal(await w.run("pause", "nope"), 1);
  assert.equal(
    w.err.at(-1),
    'error: no webhook with id or name "nope". List them with: hooks list',
  );
  assert.equal((await w.store.listAll())[0]!.paused, null, "nothing was changed");
});

Deno.test("hooks verify and allow of an outgoing hook exit 1 and change nothing: they guard an incoming hook's URL", async () => {
  await using w = await cliWorld();
  const made = await outgoingHook(w.store, "https://ci.example.com/x", "sealed");
  assert.equal(await w.run("verify", made.hook.id, "github"), 1);
  assert.match(w.err.join("\n"), /outgoing/);
  assert.equal(await w.run("allow", made.hook.id, "10.0.0.0/8"), 1);
  assert.equal(w.out.length, 0, "no secret printed");
  const after = await w.store.get(made.hook.id);
  assert.equal(after?.verification, null);
  assert.equal(after?.allow, null);
});

// The operator at the shell is told the shell's way out, not the chat's: the store's sentence
// ended "revoke the old one with /webhook_revoke deploys", a chat command.
Deno.test("hooks create with a name taken in that chat: exit 1, the CLI command that frees it", async () => {
  await using w = await cliWorld();
  assert.equal(await w.run("create", "--chat", "c1", "--name", "deploys"), 0);
  const [first] = await w.store.listByChat("c1");
  assert.equal(await w.run("create", "--chat", "c1", "--name", "Deploys"), 1);
  assert.deepEqual(w.err, [
    `error: chat c1 already has a webhook named "deploys" (${
      first!.id
    }). Pick another --name, or free this one first: hooks revoke ${first!.id}`,
  ]);
});

Deno.test("hooks rotate of an outgoing hook prints only the new signing secret; the old one signs during the grace", async () => {
  await using w = await cliWorld();
  const old = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const made = await outgoingHook(
    w.store,
    "https://ci.example.com/x",
    await w.store.sealSecret(old),
  );
  assert.equal(await w.run("rotate", made.hook.id, "--grace", "1h"), 0);
  assert.equal(w.out.length, 1);
  const fresh = w.out[0]!;
  assert.match(fresh, /^whsec_[A-Za-z0-9+/]{43}=$/);
  const rec = (await w.store.get(made.hook.id))!;
  assert.equal(await w.store.openSecret(rec.outgoing!.secret), fresh);
  assert.equal(await w.store.openSecret(rec.rotation!.oldSecret!), old);
  assert.equal(rec.rotation!.until, Date.parse("2026-02-01T01:00:00Z"));
  w.out.length = 0;
  assert.equal(await w.run("rotate", made.hook.id, "--grace", "0"), 0);
  assert.equal((await w.store.get(made.hook.id))?.rotation, null);
  assert.equal(await w.run("pause", made.hook.id), 0);
  // A word, not digits inside the hook id (a UUID) or the secret printed before.
  assert.doesNotMatch(w.out.join("\n"), /(^|\s)404\b/, "an outgoing hook has no URL to answer 404");
  // Its history lists calls: one that got no HTTP answer, and an answer posted into the chat.
  w.store.recordRequest(made.hook.id, {
    status: 0,
    format: "message.created",
    outcome: "retry",
    error: "unreachable",
  });
  w.store.recordRequest(made.hook.id, { status: 0, format: "", outcome: "delivered" });
  w.out.length = 0;
  assert.equal(await w.run("info", made.hook.id), 0);
  const info = w.out.join("\n");
  assert.ok(info.includes("  no answer  message.created  retry  unreachable"), info);
  assert.ok(info.includes("  answer →  -  delivered"), info);
  w.out.length = 0;
  assert.equal(await w.run("revoke", made.hook.id), 0);
  assert.match(w.out[0]!, /^Revoked webhook "ci" .*\(→ https:\/\/ci\.example\.com\/x\)\.$/);
  assert.match(w.out[1]!, /stops its calls/);
});

Deno.test("hooks create and rotate without WEBHOOK_PUBLIC_URL: the path alone on stdout and in --json, the hint on stderr", async () => {
  await using w = await cliWorld(null);
  assert.equal(await w.run("create", "--chat", "c1", "--name", "deploys", "--json"), 0);
  // Automation reads .url: it must be the URL's path, not a path with a sentence after it.
  const made = JSON.parse(w.out.join("\n"));
  assert.match(made.url, /^\/hook\/[A-Za-z0-9_-]{43}$/);
  assert.ok(await w.store.findByToken(made.url.slice(6)));
  assert.match(w.err.join("\n"), /set WEBHOOK_PUBLIC_URL to print the full URL/);
  w.out.length = 0;
  w.err.length = 0;
  assert.equal(await w.run("rotate", "--chat", "c1", "--name", "deploys"), 0);
  assert.equal(w.out.length, 1);
  assert.match(w.out[0]!, /^\/hook\/[A-Za-z0-9_-]{43}$/);
  assert.match(w.err.join("\n"), /WEBHOOK_PUBLIC_URL/);
});

Deno.test("hooks of an expired hook (paused or not) before the sweep: state expired; changes exit 1 saying so; info and revoke work", async () => {
  await using w = await cliWorld();
  assert.equal(await w.run("create", "--chat", "c1", "--name", "ci", "--expires", "1h"), 0);
  const hook = (await w.store.findByName("c1", "ci"))!;
  assert.equal(await w.run("pause", hook.id), 0);
  w.advance(3_600_000);
  w.out.length = 0;
  assert.equal(await w.run("info", hook.id, "--json"), 0);
  assert.equal(JSON.parse(w.out.join("\n")).state, "expired");
  for (const args of [["resume"], ["rotate"], ["rename", "--to", "x"], ["allow", "any"]]) {
    w.err.length = 0;
    assert.equal(await w.run(args[0]!, hook.id, ...args.slice(1)), 1, args.join(" "));
    assert.match(
      w.err.join("\n"),
      /^error: webhook "ci" \(.+\) expired at 2026-02-01T01:00:00Z: its URL answers 404 and a running bot removes it within a minute\. hooks revoke .+ removes it now; hooks create makes a new one\.$/,
      args.join(" "),
    );
  }
  assert.equal((await w.store.get(hook.id))?.paused?.reason, "user", "nothing changed");
  assert.equal(await w.run("revoke", hook.id), 0);
});

// A file Deno refuses (a system path such as /proc, or permissions it was not given) is named
// without Deno's "run again with the --allow-… flag": the binary takes no flags.
Deno.test({
  name:
    "import-json, hooks import and hooks export name a file Deno refuses without its --allow advice",
  permissions: { read: false, write: false },
  async fn() {
    await using s = await setup();
    const { hooksExport, hooksImport } = await import("../../src/cli/backup_cli.ts");
    const path = "/var/backups/webhooks.json";
    const kv = await Deno.openKv(":memory:");
    try {
      assert.equal(await importJson(s.store, path, s.out), 1);
      assert.equal(await hooksImport(kv, path, s.out), 1);
      assert.equal(await hooksExport(kv, path, ":memory:", s.out), 1);
    } finally {
      kv.close();
    }
    assert.deepEqual(s.lines, [
      `Cannot import ${path}: Requires read access to "${path}".`,
      `Cannot read ${path}: Requires read access to "${path}"`,
      `Cannot write ${path}: Requires write access to "${path}"`,
    ]);
  },
});

// `hooks info deploys` answered "no webhook with id deploys" while `hooks queue --hook deploys`
// found it: both now read what the operator typed the same way (src/cli/_find_hook.ts).
Deno.test("hooks info takes a hook id or a name, as hooks queue --hook does; --chat --name still works", async () => {
  await using w = await cliWorld();
  await w.run("create", "--chat", "ops@srv", "--name", "Deploys");
  const id = (await w.store.listAll())[0]!.id;
  for (const target of [["deploys"], [id], ["--chat", "ops@srv", "--name", "Deploys"]]) {
    w.out.length = 0;
    assert.equal(await w.run("info", ...target, "--json"), 0, `${target}: ${w.err.at(-1)}`);
    assert.equal(JSON.parse(w.out.join("\n")).id, id, String(target));
  }
  // A name two chats use: both ids, and the way to pick one.
  await w.run("create", "--chat", "dev@srv", "--name", "deploys");
  const other = (await w.store.listByChat("dev@srv"))[0]!.id;
  assert.equal(await w.run("info", "DEPLOYS"), 2);
  const both = w.err.join("\n");
  assert.ok(both.includes(`hooks info ${id}`) && both.includes(`hooks info ${other}`), both);
  assert.equal(await w.run("info", "nope"), 1);
  assert.match(
    w.err.at(-1)!,
    /^error: no webhook with id or name "nope"\. List them with: hooks list$/,
  );
  assert.match(w.err.at(-1)!, /hooks list/);
  // The help says so.
  assert.match(HOOKS_USAGE, /TARGET is a hook id, a name one hook has/);
});

// `--owner cli` stored the very mark of a hook made without an owner: the operator meant to name
// somebody, and nobody would ever have been told anything by private message.
Deno.test("hooks create --owner cli is refused with what to type instead; a member whose login is cli is cli@server", async () => {
  await using w = await cliWorld();
  for (const typed of ["cli", "CLI", " cli "]) {
    assert.equal(await w.run("create", "--chat", "c1", "--name", "x", "--owner", typed), 2, typed);
    assert.match(
      w.err.at(-1)!,
      /^error: --owner cli is what a hook made without an owner stores: nobody would get its notices by private message\. Give the member's login \(--owner alice\) or id \(--owner alice@video\.example\.com; a member whose login is cli: --owner cli@<server>\), or leave --owner out/,
    );
  }
  assert.deepEqual(await w.store.listAll(), []);
  assert.equal(await w.run("create", "--chat", "c1", "--name", "x", "--owner", "cli@srv"), 0);
  assert.equal((await w.store.findByName("c1", "x"))?.createdBy, "cli@srv");
});

// Issue 12: "`hooks list` shows the kind and target host" (scheme, host and path; the query,
// which may carry a key, masked; never the signing secret).
Deno.test("hooks list shows each hook's kind: an outgoing hook's target URL, query masked; an incoming one's token", async () => {
  await using w = await cliWorld();
  await w.run("create", "--chat", "c1", "--name", "alerts");
  const made = await outgoingHook(
    w.store,
    "https://ci.example.com/hooks/chat?key=s3cr3t",
    "sealed",
  );
  w.out.length = 0;
  assert.equal(await w.run("list"), 0);
  const row = w.out.find((l) => l.startsWith(made.hook.id)) ?? "";
  assert.match(row, / ci +→ https:\/\/ci\.example\.com\/hooks\/chat\?… +active +- /);
  assert.match(w.out.find((l) => l.includes(" alerts "))!, / alerts +← +active +.{4}….{4} /);
  w.out.length = 0;
  assert.equal(await w.run("list", "--json"), 0);
  const ci = (JSON.parse(w.out.join("\n")) as { id: string; kind: string; target: string }[])
    .find((h) => h.id === made.hook.id);
  assert.equal(ci?.kind, "outgoing");
  assert.equal(ci?.target, "https://ci.example.com/hooks/chat?…");
  assert.ok(!w.out.join("\n").includes("s3cr3t") && !w.out.join("\n").includes("sealed"));
});

// hooks list and info ask the running bot to write the counts it keeps in memory (written every
// 5 s otherwise) and wait for it, as a change waits to be applied (e2e/cli_process_test.ts). A
// bot that does not answer (stopped, busy), or a store that refuses the ask (a full disk), still
// gets its table, with a note on stderr: stdout stays the table or the JSON.
Deno.test("hooks list and info when the running bot does not write its counts: the table as stored, and a note that they may be late", async () => {
  const raw = await Deno.openKv(":memory:");
  const full = { on: false };
  const kv = fullDiskKv(raw, (call) => full.on && call === "commit");
  const store = new HookStore(kv);
  const lease = await acquireLease(raw); // a bot serves the store, and never follows its feed
  const out: string[] = [];
  const err: string[] = [];
  const run = (...args: string[]) =>
    runHooksCli(args, {
      openStore: (fn) => fn(store, kv),
      publicUrl: null,
      out: (l) => void out.push(l),
      err: (l) => void err.push(l),
    });
  try {
    const made = await store.create({ chatId: "c1", name: "deploys", createdBy: "alice" });
    assert.ok(made.ok);
    assert.equal(await run("list"), 0);
    assert.match(out.join("\n"), /^\S+\s+c1\s+-\s+deploys\s.*\snever\s+0$/m);
    assert.deepEqual(err, [
      "note: the running bot did not write its latest counts within 3 s; DELIVERIES and LAST USED are as of the bot's last write of them (every 5 s while it runs).",
    ]);
    out.length = err.length = 0;
    full.on = true;
    assert.equal(await run("info", made.hook.id, "--json"), 0);
    assert.equal(JSON.parse(out.join("\n")).deliveryCount, 0);
    assert.deepEqual(err, [
      "note: could not ask the running bot for its latest counts (database or disk is full); deliveryCount, lastUsedAt and the requests are as of the bot's last write of them (every 5 s while it runs).",
    ]);
  } finally {
    full.on = false;
    await lease.release();
    await store.close();
    raw.close();
  }
});
