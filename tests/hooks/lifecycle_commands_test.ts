// The lifecycle chat commands end to end (fake TrueConf over real sockets, real client, real
// KV, the CommandHandler): pause, resume, rename, rotate, expire, info, verify, allow, and
// the admin rule. The world scans every message outside a personal chat for tokens and
// the secrets registered in `w.secrets`.
import assert from "node:assert/strict";
import { group, manyHooks, texts, URL_RE, withBot, type World } from "./_command_world.ts";
import { runHooksCli } from "../../src/cli/hooks_cli.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function clock(start = Date.parse("2026-03-01T12:00:00Z")) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

/** Creates a hook from the group as its owner (alice) and returns its token. */
async function create(w: World, chat: string, name: string): Promise<string> {
  const posts = await w.say(chat, w.alice, `${w.at} /webhook_create ${name}`);
  const url = posts.map((p) => URL_RE.exec(p.text ?? "")?.[1]).find(Boolean);
  assert.ok(url, `no URL in ${JSON.stringify(texts(posts))}`);
  return url;
}

Deno.test("pause and resume: 404 while paused, /webhook_list marks it; names with spaces, any case", async () => {
  await withBot({}, async (w) => {
    const ops = group(w);
    const token = await create(w, ops, "Prod Deploys");
    let r = texts(await w.say(ops, w.carol, `${w.at} /webhook_pause prod deploys`), ops);
    assert.equal(r.length, 1);
    assert.match(r[0]!, /⏸ Webhook <b>Prod Deploys<\/b> paused/);
    assert.equal(await w.store.findByToken(token), null);
    r = texts(await w.say(ops, w.bob, `${w.at} /webhook_list`), ops);
    assert.match(r[0]!, /⏸ <b>Prod Deploys<\/b> \(paused\)/);
    r = texts(await w.say(ops, w.carol, `${w.at} /webhook_pause PROD DEPLOYS`), ops);
    assert.match(r[0]!, /already paused; \/webhook_resume Prod Deploys switches it on again\./);
    r = texts(await w.say(ops, w.alice, `${w.at} /webhook_resume Prod Deploys`), ops);
    assert.match(r[0]!, /resumed/);
    r = texts(await w.say(ops, w.alice, `${w.at} /webhook_resume Prod Deploys`), ops);
    assert.match(r[0]!, /already active; \/webhook_pause Prod Deploys switches it off\./);
    assert.ok(await w.store.findByToken(token));
    r = texts(await w.say(ops, w.alice, `${w.at} /webhook_pause nope`), ops);
    assert.match(r[0]!, /No webhook named <b>nope<\/b>.*Prod Deploys/);
    r = texts(await w.say(ops, w.alice, `${w.at} /webhook_pause`), ops);
    assert.match(r[0]!, /Type \/webhook_pause &lt;name&gt;/);
    // Without a name the answer names the chat's hooks, as a revoke without one does.
    assert.match(
      r[0]!,
      /Type \/webhook_pause &lt;name&gt;\. Webhooks here: <b>Prod Deploys<\/b>\.$/,
    );
    r = texts(await w.say(ops, w.bob, `${w.at} /webhook_info`), ops);
    assert.match(
      r[0]!,
      /^⚠️ Type \/webhook_info &lt;name&gt;\. Webhooks here: <b>Prod Deploys<\/b>\.$/,
    );
  });
});

Deno.test("admin rule: a plain member may not pause, rename, rotate, expire, verify or allow; info is open", async () => {
  await withBot({ adminOnly: true }, async (w) => {
    const ops = group(w);
    const token = await create(w, ops, "deploys");
    for (
      const cmd of [
        "/webhook_pause deploys",
        "/webhook_resume deploys",
        "/webhook_rename deploys -> x",
        "/webhook_rotate deploys",
        "/webhook_expire deploys 1d",
        "/webhook_verify deploys github",
        "/webhook_allow deploys 10.0.0.0/8",
        "/webhook_verify deploys", // even the usage hint is for managers only
      ]
    ) {
      const r = texts(await w.say(ops, w.bob, `${w.at} ${cmd}`));
      assert.equal(r.length, 1, cmd);
      assert.match(r[0]!, /Only owners and admins of this chat can manage webhooks/, cmd);
    }
    const h = await w.store.findByToken(token);
    assert.ok(h && h.name === "deploys" && h.verification === null && h.allow === null);
    const info = texts(await w.say(ops, w.bob, `${w.at} /webhook_info deploys`), ops);
    assert.match(info[0]!, /<b>Webhook deploys<\/b>/);
  });
});

Deno.test("rename: both arrows, same URL, uniqueness and name rules as create", async () => {
  await withBot({}, async (w) => {
    const ops = group(w);
    const token = await create(w, ops, "deploys");
    await create(w, ops, "alerts");
    let r = texts(await w.say(ops, w.alice, `${w.at} /webhook_rename deploys -> Prod deploys`));
    assert.match(r[0]!, /<b>deploys<\/b> is now <b>Prod deploys<\/b>/);
    assert.equal((await w.store.findByToken(token))?.name, "Prod deploys");
    r = texts(await w.say(ops, w.alice, `${w.at} /webhook_rename prod DEPLOYS → Alerts`));
    assert.match(r[0]!, /already exists/);
    r = texts(
      await w.say(ops, w.alice, `${w.at} /webhook_rename prod deploys → ${"x".repeat(70)}`),
    );
    assert.match(r[0]!, /70 characters long/);
    // What to type instead is a rename of this hook, not a create.
    assert.match(r[0]!, /for example \/webhook_rename Prod deploys -&gt; deploys\.$/);
    r = texts(await w.say(ops, w.alice, `${w.at} /webhook_rename prod deploys`));
    assert.match(r[0]!, /Type \/webhook_rename &lt;old name&gt; -&gt; &lt;new name&gt;/);
    // HTML clients send the arrow as an entity.
    w.fake.pushMessage({
      chatId: ops,
      authorId: w.alice,
      text: `${w.at} /webhook_rename Prod deploys -&gt; CI`,
      parseMode: "html",
    });
    await w.fake.waitFor(() => w.fake.sent.some((p) => /is now <b>CI<\/b>/.test(p.text ?? "")));
    assert.equal((await w.store.findByToken(token))?.name, "CI");
    // Arrows as rich editors and phone keyboards write them: an entity, an em dash, "=>".
    const renames: [string, string, "html" | "text"][] = [
      ["CI &rarr; CI 2", "CI 2", "html"],
      ["CI 2 —&gt; CI 3", "CI 3", "html"],
      ["CI 3 => CI 4", "CI 4", "text"],
      ["CI 4 –> CI 5", "CI 5", "text"],
    ];
    for (const [args, to, parseMode] of renames) {
      const before = w.fake.sent.length;
      w.fake.pushMessage({
        chatId: ops,
        authorId: w.alice,
        text: `${w.at} /webhook_rename ${args}`,
        parseMode,
      });
      await w.fake.waitFor(() => w.fake.sent.length > before);
      assert.match(w.fake.sent.at(-1)!.text!, new RegExp(`is now <b>${to}</b>`), args);
    }
    assert.equal((await w.store.findByToken(token))?.name, "CI 5");
  });
});

Deno.test("rotate: the new URL only by DM; the old one works through the grace (clock injected), then 404", async () => {
  const c = clock();
  await withBot({ now: c.now }, async (w) => {
    const ops = group(w);
    const old = await create(w, ops, "deploys");
    const posts = await w.say(ops, w.alice, `${w.at} /webhook_rotate deploys 2h`);
    const inOps = texts(posts, ops);
    assert.equal(inOps.length, 1);
    assert.match(
      inOps[0]!,
      /new URL, sent to you in a private message.*until 2026-03-01 14:00 UTC/,
    );
    const dm = texts(posts, w.dm(w.alice));
    assert.equal(dm.length, 1);
    const fresh = URL_RE.exec(dm[0]!)?.[1];
    assert.ok(fresh && fresh !== old);
    assert.equal((await w.store.findByToken(fresh))?.name, "deploys");
    assert.equal((await w.store.findByToken(old))?.viaOldToken, true);
    c.advance(2 * HOUR - 1);
    assert.ok(await w.store.findByToken(old));
    const info = texts(await w.say(ops, w.alice, `${w.at} /webhook_info deploys`), ops);
    assert.match(info[0]!, /Rotation: old URL works until 2026-03-01 14:00 UTC · used 2 times/);
    c.advance(1);
    assert.equal(await w.store.findByToken(old), null);
    assert.ok(await w.store.findByToken(fresh));
    // Default grace is 24 h; 0 stops the old URL at once; more than 7d is refused.
    let r = texts(await w.say(ops, w.alice, `${w.at} /webhook_rotate deploys 8d`), ops);
    assert.match(r[0]!, /«8d» is not a grace period/);
    r = texts(await w.say(ops, w.alice, `${w.at} /webhook_rotate deploys soon`), ops);
    assert.match(r[0]!, /«soon» is not a grace period: use minutes, hours or days/);
    r = texts(await w.say(ops, w.alice, `${w.at} /webhook_rotate deploy soon`), ops);
    assert.match(r[0]!, /No webhook named <b>deploy soon<\/b>.*Webhooks here: <b>deploys<\/b>/);
    const posts0 = await w.say(ops, w.alice, `${w.at} /webhook_rotate deploys 0`);
    r = texts(posts0, ops);
    assert.match(r[0]!, /The old URL stopped working now/);
    assert.match(
      texts(posts0, w.dm(w.alice))[0]!,
      /\nThe old URL stopped working now\.\nPut the new URL into every sender now\.$/,
    );
    assert.match(
      dm[0]!,
      /\nPut the new URL into every sender before then; after that the old one answers 404\.$/,
    );
    assert.equal(await w.store.findByToken(fresh), null);
  });
});

Deno.test("expire: at creation and later; reminder by DM at half-life, then removed with a notice", async () => {
  const c = clock();
  await withBot({ now: c.now }, async (w) => {
    const ops = group(w);
    let posts = await w.say(ops, w.alice, `${w.at} /webhook_create deploys expires=2d`);
    const token = URL_RE.exec(texts(posts, w.dm(w.alice))[0]!)?.[1];
    assert.ok(token);
    // Both the acknowledgement and the URL's message say when it ends.
    assert.match(
      texts(posts, ops)[0]!,
      /created\. It expires 2026-03-03 12:00 UTC \(reminder before\)\. I sent/,
    );
    assert.match(
      texts(posts, w.dm(w.alice))[0]!,
      /\nIt expires 2026-03-03 12:00 UTC: \/webhook_expire deploys never keeps it\.\n/,
    );
    // Made in the personal chat itself: the one message says it too.
    posts = await w.say(w.dm(w.alice), w.alice, `/webhook_create mine expires=30m`);
    assert.match(
      texts(posts)[0]!,
      /\nIt expires 2026-03-01 12:30 UTC: \/webhook_expire mine never keeps it\.\n/,
    );
    assert.ok(await w.store.revokeByName(w.dm(w.alice), "mine"));
    assert.equal((await w.store.findByToken(token))?.expiresAt, c.now() + 2 * DAY);
    let r = texts(await w.say(ops, w.alice, `${w.at} /webhook_create x expires=soon`), ops);
    assert.match(r[0]!, /«expires=soon» is not a duration/);
    r = texts(await w.say(ops, w.alice, `${w.at} /webhook_expire deploys`), ops);
    assert.match(r[0]!, /Type \/webhook_expire/);
    r = texts(await w.say(ops, w.alice, `${w.at} /webhook_list`), ops);
    assert.match(r[0]!, /expires 2026-03-03 12:00 UTC/);

    const before = w.fake.sent.length;
    await w.commands.sweepExpiries();
    assert.equal(w.fake.sent.length, before, "nothing due yet");
    c.advance(DAY);
    await w.commands.sweepExpiries();
    await w.commands.sweepExpiries(); // the reminder goes once
    posts = w.fake.sent.slice(before);
    assert.deepEqual(posts.map((p) => p.chatId), [w.dm(w.alice)]);
    assert.match(
      posts[0]!.text!,
      /expires 2026-03-03 12:00 UTC\. To keep it, type \/webhook_expire deploys never/,
    );
    c.advance(DAY);
    assert.equal(await w.store.findByToken(token), null);
    await w.commands.sweepExpiries();
    assert.match(w.fake.sent.at(-1)!.text!, /expired and was removed/);
    assert.deepEqual(await w.store.listByChat(ops), []);

    // /webhook_expire sets and clears.
    const t2 = await create(w, ops, "alerts");
    r = texts(await w.say(ops, w.alice, `${w.at} /webhook_expire alerts 30m`), ops);
    assert.match(r[0]!, /expires 2026-03-03 12:30 UTC/);
    r = texts(await w.say(ops, w.alice, `${w.at} /webhook_expire alerts never`), ops);
    assert.match(r[0]!, /no longer expires/);
    c.advance(HOUR);
    assert.ok(await w.store.findByToken(t2));
  });
});

Deno.test("verify: the secret goes only to the caller's DM, with where to paste it; off clears it", async () => {
  await withBot({}, async (w) => {
    const ops = group(w);
    await create(w, ops, "gh");
    const cases = [
      ["github", /GitHub: Settings → Webhooks → your webhook → <b>Secret<\/b>/],
      ["gitlab", /<b>Secret token<\/b>/],
      ["grafana", /HMAC Signature/],
      ["standard", /Standard Webhooks secret/],
      ["bearer", /Authorization: Bearer/],
    ] as const;
    for (const [mode, where] of cases) {
      const posts = await w.say(ops, w.carol, `${w.at} /webhook_verify gh ${mode}`);
      const dm = texts(posts, w.dm(w.carol));
      assert.equal(dm.length, 1, mode);
      assert.match(dm[0]!, where);
      const secret = dm[0]!.split("\n")[1]!;
      assert.ok(secret.length >= 40, secret);
      if (mode === "standard" || mode === "gitlab") assert.match(secret, /^whsec_/);
      w.secrets.push(secret);
      const inOps = texts(posts, ops);
      assert.equal(inOps.length, 1);
      assert.match(inOps[0]!, /now requires a valid/);
      const rec = await w.store.findByName(ops, "gh");
      assert.equal(rec?.verification?.mode, mode);
      assert.equal(await w.store.openSecret(rec!.verification!.secret), secret);
    }
    let r = texts(await w.say(ops, w.carol, `${w.at} /webhook_verify gh sha1`), ops);
    // The reply names the word it did not understand, and the command with the modes to type.
    assert.match(
      r[0]!,
      /«sha1» is not a verification mode: type \/webhook_verify gh github\|gitlab\|grafana\|standard\|bearer\|off\./,
    );
    r = texts(await w.say(ops, w.carol, `${w.at} /webhook_info gh`), ops);
    assert.match(r[0]!, /Verification: bearer token/);
    r = texts(await w.say(ops, w.carol, `${w.at} /webhook_verify gh off`), ops);
    assert.match(r[0]!, /no longer checks sender signatures/);
    assert.equal((await w.store.findByName(ops, "gh"))?.verification, null);
  });
});

Deno.test("allow: addresses and CIDRs normalized, bad entries named, any clears", async () => {
  await withBot({}, async (w) => {
    const ops = group(w);
    await create(w, ops, "ci runners");
    let r = texts(
      await w.say(
        ops,
        w.alice,
        `${w.at} /webhook_allow ci runners 10.0.0.0/8, 192.168.1.5,2001:db8::/32`,
      ),
      ops,
    );
    assert.match(r[0]!, /only from 10\.0\.0\.0\/8, 192\.168\.1\.5\/32, 2001:db8::\/32/);
    assert.deepEqual((await w.store.findByName(ops, "ci runners"))?.allow, [
      "10.0.0.0/8",
      "192.168.1.5/32",
      "2001:db8::/32",
    ]);
    r = texts(await w.say(ops, w.alice, `${w.at} /webhook_allow ci runners 10.0.0.300`), ops);
    assert.match(r[0]!, /«10\.0\.0\.300» is not an IP address or CIDR range/);
    r = texts(await w.say(ops, w.alice, `${w.at} /webhook_allow ci runners`), ops);
    assert.match(r[0]!, /Type \/webhook_allow/);
    r = texts(await w.say(ops, w.alice, `${w.at} /webhook_info ci runners`), ops);
    assert.match(r[0]!, /Allowed addresses: 10\.0\.0\.0\/8/);
    r = texts(await w.say(ops, w.alice, `${w.at} /webhook_allow ci runners any`), ops);
    assert.match(r[0]!, /from any address again/);
    assert.equal((await w.store.findByName(ops, "ci runners"))?.allow, null);
  });
});

Deno.test("allow: a name that ends in a number ('build 2') is still the hook's name, not an address", async () => {
  await withBot({}, async (w) => {
    const ops = group(w);
    await create(w, ops, "build 2");
    await create(w, ops, "build");
    let r = texts(await w.say(ops, w.alice, `${w.at} /webhook_allow build 2 10.0.0.0/8`), ops);
    assert.match(r[0]!, /<b>build 2<\/b> accepts requests only from 10\.0\.0\.0\/8/);
    assert.deepEqual((await w.store.findByName(ops, "build 2"))?.allow, ["10.0.0.0/8"]);
    assert.equal((await w.store.findByName(ops, "build"))?.allow, null);
    r = texts(await w.say(ops, w.alice, `${w.at} /webhook_allow build 192.0.2.7 10.1.0.0/16`), ops);
    assert.match(
      r[0]!,
      /<b>build<\/b> accepts requests only from 192\.0\.2\.7\/32, 10\.1\.0\.0\/16/,
    );
  });
});

Deno.test("info: kind, creator, state, expiry, verification, allowlist and the last 10 requests, no secret", async () => {
  await withBot({}, async (w) => {
    const ops = group(w);
    const token = await create(w, ops, "deploys");
    const hook = (await w.store.findByToken(token))!;
    for (let i = 0; i < 12; i++) {
      w.store.recordRequest(hook.id, {
        status: i === 11 ? 401 : 202,
        format: "slack",
        outcome: i === 11 ? "refused" : "queued",
        ...(i === 11 ? { error: "signature_invalid" } : {}),
      });
    }
    await w.store.flush();
    const r = texts(await w.say(ops, w.bob, `${w.at} /webhook_info DEPLOYS`), ops).join("\n");
    assert.match(r, /Kind: incoming ← .{4}….{4}\n/);
    assert.match(r, /by alice@/);
    assert.match(r, /State: active/);
    assert.match(r, /Expires: never/);
    assert.match(r, /Verification: off/);
    assert.match(r, /Allowed addresses: any/);
    assert.match(r, /Last 10 requests:\n• .* · 401 · slack · refused · signature_invalid/);
    assert.equal(r.split("\n• ").length - 1, 10);
    assert.ok(!r.includes(token.slice(4, -4)));
  });
});

Deno.test("a hook made without the chat (CLI, import) learns the chat's title from the next command there", async () => {
  await withBot({}, async (w) => {
    const ops = group(w, "ops", { title: "Ops team" });
    const made = await w.store.create({ chatId: ops, name: "from cli", createdBy: "cli" });
    assert.ok(made.ok && made.hook.chatTitle === null);
    await w.say(ops, w.bob, `${w.at} /webhook_list`);
    assert.equal((await w.store.get(made.hook.id))?.chatTitle, "Ops team");
  });
});

Deno.test("rotate whose private message is refused changes nothing: the old URL keeps working, no grace starts", async () => {
  const c = clock();
  await withBot({ now: c.now }, async (w) => {
    const ops = group(w);
    const old = await create(w, ops, "deploys");
    const dm = w.dm(w.alice);
    // The personal chat exists but refuses the bot's message (as a blocked bot would).
    w.fake.chat(dm)!.readOnlyForBot = true;
    for (const grace of ["0", "2h"]) {
      const posts = await w.say(ops, w.alice, `${w.at} /webhook_rotate deploys ${grace}`);
      assert.deepEqual(posts.map((p) => p.chatId), [ops], grace);
      assert.match(posts[0]!.text!, /could not send you a private message.*was not changed/, grace);
      // Nobody received a new URL, so the one the senders have must still be the hook's,
      // with no rotation under way (a retry must not end this URL's life either).
      const hook = await w.store.findByToken(old);
      assert.equal(hook?.name, "deploys", grace);
      assert.equal(hook?.viaOldToken, undefined, grace);
      assert.equal(hook?.rotation, null, grace);
    }
    // Once the DM works, a rotation goes through and the old URL gets its grace.
    w.fake.chat(dm)!.readOnlyForBot = false;
    const ok = await w.say(ops, w.alice, `${w.at} /webhook_rotate deploys 2h`);
    assert.deepEqual(ok.map((p) => p.chatId), [dm, ops]);
    assert.equal((await w.store.findByToken(old))?.viaOldToken, true);
  });
});

Deno.test("expire set on an old hook: the reminder comes at half of the time left, not at once", async () => {
  const c = clock();
  await withBot({ now: c.now }, async (w) => {
    const ops = group(w);
    await create(w, ops, "deploys");
    c.advance(30 * DAY);
    const r = texts(await w.say(ops, w.alice, `${w.at} /webhook_expire deploys 2d`), ops);
    assert.match(r[0]!, /expires 2026-04-02 12:00 UTC/);
    // Alice has just typed the expiry: a reminder now would tell her what she said.
    const before = w.fake.sent.length;
    await w.commands.sweepExpiries();
    assert.equal(w.fake.sent.length, before, "no reminder right after setting the expiry");
    c.advance(DAY);
    await w.commands.sweepExpiries();
    assert.deepEqual(w.fake.sent.slice(before).map((p) => p.chatId), [w.dm(w.alice)]);
    assert.match(w.fake.sent.at(-1)!.text!, /expires 2026-04-02 12:00 UTC\. To keep it/);
    // A longer expiry set later is reminded of three days before it.
    await w.say(ops, w.alice, `${w.at} /webhook_expire deploys 10d`);
    const later = w.fake.sent.length;
    c.advance(7 * DAY - 1);
    await w.commands.sweepExpiries();
    assert.equal(w.fake.sent.length, later, "not before three days are left");
    c.advance(1);
    await w.commands.sweepExpiries();
    assert.equal(w.fake.sent.length, later + 1);
  });
});

Deno.test("the bot removed from a chat with many hooks: the creator's notice names 20 and fits in one message", async () => {
  await withBot({}, async (w) => {
    const ops = group(w);
    await manyHooks(w, ops, 70);
    const before = w.fake.sent.length;
    await w.commands.chatLost(ops, "bot_removed");
    const posts = w.fake.sent.slice(before);
    assert.deepEqual(posts.map((p) => p.chatId), [w.dm(w.alice)]);
    assert.ok(posts[0]!.text!.length <= 4096, `${posts[0]!.text!.length}`);
    assert.match(posts[0]!.text!, / and 50 more are paused \(their URLs answer 404\)/);
    assert.equal((await w.store.listByChat(ops)).filter((h) => h.paused).length, 70);
  });
});

Deno.test("names in quotes: a name typed in quotes is the name without them, in every command", async () => {
  await withBot({}, async (w) => {
    const ops = group(w);
    const token = await create(w, ops, `"Prod deploys"`);
    assert.deepEqual((await w.store.listByChat(ops)).map((h) => h.name), ["Prod deploys"]);
    let r = texts(await w.say(ops, w.alice, `${w.at} /webhook_info 'prod deploys'`), ops);
    assert.match(r[0]!, /^<b>Webhook Prod deploys<\/b>/);
    r = texts(await w.say(ops, w.alice, `${w.at} /webhook_pause “Prod deploys”`), ops);
    assert.match(r[0]!, /⏸ Webhook <b>Prod deploys<\/b> paused/);
    r = texts(await w.say(ops, w.alice, `${w.at} /webhook_resume «Prod deploys»`), ops);
    assert.match(r[0]!, /▶️ Webhook <b>Prod deploys<\/b> resumed/);
    r = texts(
      await w.say(ops, w.alice, `${w.at} /webhook_rename "Prod deploys" -> "Deploys (prod)"`),
      ops,
    );
    assert.match(r[0]!, /<b>Prod deploys<\/b> is now <b>Deploys \(prod\)<\/b>/);
    r = texts(await w.say(ops, w.alice, `${w.at} /webhook_expire "deploys (prod)" 30d`), ops);
    assert.match(r[0]!, /⏳ Webhook <b>Deploys \(prod\)<\/b> expires/);
    r = texts(await w.say(ops, w.alice, `${w.at} /webhook_allow "deploys (prod)" 10.0.0.0/8`), ops);
    assert.match(r[0]!, /<b>Deploys \(prod\)<\/b> accepts requests only from 10\.0\.0\.0\/8/);
    r = texts(await w.say(ops, w.alice, `${w.at} /webhook_alerts "deploys (prod)" new`), ops);
    assert.match(r[0]!, /Deploys \(prod\)/);
    const posts = await w.say(ops, w.alice, `${w.at} /webhook_rotate "deploys (prod)" 0`);
    assert.match(texts(posts, ops)[0]!, /<b>Deploys \(prod\)<\/b> has a new URL/);
    assert.equal(await w.store.findByToken(token), null, "rotated with grace 0");
    r = texts(await w.say(ops, w.alice, `${w.at} /webhook_revoke "Deploys (prod)"`), ops);
    assert.match(r[0]!, /🗑 Webhook <b>Deploys \(prod\)<\/b> revoked/);
    assert.deepEqual(await w.store.listByChat(ops), []);
    // A name stored with its quotes (made before, or by the CLI) is still found as typed.
    assert.ok((await w.store.create({ chatId: ops, name: `"q"`, createdBy: w.alice })).ok);
    r = texts(await w.say(ops, w.alice, `${w.at} /webhook_info "q"`), ops);
    assert.match(r[0]!, /^<b>Webhook &quot;q&quot;<\/b>/);
  });
});

Deno.test("pause then expire: once the expiry has passed, commands say the hook expired (its URL already answers 404), before the sweep removes it", async () => {
  const c = clock();
  await withBot({ now: c.now }, async (w) => {
    const ops = group(w);
    const token = await create(w, ops, "deploys");
    await w.say(ops, w.alice, `${w.at} /webhook_expire deploys 1h`);
    await w.say(ops, w.alice, `${w.at} /webhook_pause deploys`);
    c.advance(HOUR);
    assert.equal(await w.store.findByToken(token), null);
    for (
      const cmd of [
        "/webhook_resume deploys",
        "/webhook_rotate deploys 1h",
        "/webhook_info deploys",
      ]
    ) {
      const r = texts(await w.say(ops, w.alice, `${w.at} ${cmd}`), ops);
      assert.equal(r.length, 1, cmd);
      assert.equal(
        r[0],
        "⌛ Webhook <b>deploys</b> expired at 2026-03-01 13:00 UTC; its URL answers 404 and it is being removed. Create a new one with /webhook_create deploys.",
        cmd,
      );
    }
    const list = texts(await w.say(ops, w.bob, `${w.at} /webhook_list`), ops);
    assert.match(list[0]!, /1\. ⌛ <b>deploys<\/b> \(expired\) · /);
    assert.equal(
      w.fake.messagesIn(w.dm(w.alice)).filter((p) => /New URL/.test(p.text ?? "")).length,
      0,
    );
    // The sweep removes it and tells the creator, as for any expiry.
    await w.commands.sweepExpiries();
    assert.match(w.fake.sent.at(-1)!.text!, /expired and was removed/);
    assert.deepEqual(await w.store.listByChat(ops), []);
  });
});

Deno.test("pause then rotate, verify or allow: the reply says the hook is still paused (both URLs answer 404) and how to resume", async () => {
  await withBot({}, async (w) => {
    const ops = group(w);
    await create(w, ops, "deploys");
    await w.say(ops, w.alice, `${w.at} /webhook_pause deploys`);
    const note =
      "\n⏸ Webhook <b>deploys</b> is still paused: its URLs answer 404 until /webhook_resume deploys.";
    const posts = await w.say(ops, w.alice, `${w.at} /webhook_rotate deploys 1h`);
    assert.ok(texts(posts, ops)[0]!.endsWith(note), texts(posts, ops)[0]!);
    assert.ok(texts(posts, w.dm(w.alice))[0]!.endsWith(note), "the URL's message too");
    let r = texts(await w.say(ops, w.alice, `${w.at} /webhook_allow deploys 10.0.0.0/8`), ops);
    assert.ok(r[0]!.endsWith(note), r[0]!);
    r = texts(await w.say(ops, w.alice, `${w.at} /webhook_verify deploys bearer`), ops);
    assert.ok(r[0]!.endsWith(note), r[0]!);
    w.secrets.push(
      ...texts(w.fake.messagesIn(w.dm(w.alice)).slice(-1)).map((t) => t.split("\n")[1]!),
    );
    await w.say(ops, w.alice, `${w.at} /webhook_resume deploys`);
    r = texts(await w.say(ops, w.alice, `${w.at} /webhook_allow deploys any`), ops);
    assert.ok(!r[0]!.includes("paused"), r[0]!);
  });
});

Deno.test("pause then verify in a personal chat: the one message (with the secret) says the hook is still paused", async () => {
  await withBot({}, async (w) => {
    const dm = w.dm(w.alice);
    await w.say(dm, w.alice, "/webhook_create mine");
    await w.say(dm, w.alice, "/webhook_pause mine");
    const note =
      "\n⏸ Webhook <b>mine</b> is still paused: its URLs answer 404 until /webhook_resume mine.";
    let r = texts(await w.say(dm, w.alice, "/webhook_verify mine bearer"), dm);
    assert.equal(r.length, 1, "one message: the secret and where to paste it");
    assert.match(r[0]!, /Secret for webhook <b>mine<\/b>/);
    assert.ok(r[0]!.endsWith(note), r[0]!);
    // Switching verification off is a change to a paused hook too.
    r = texts(await w.say(dm, w.alice, "/webhook_verify mine off"), dm);
    assert.ok(r[0]!.endsWith(note), r[0]!);
    await w.say(dm, w.alice, "/webhook_resume mine");
    r = texts(await w.say(dm, w.alice, "/webhook_verify mine bearer"), dm);
    assert.ok(!r[0]!.includes("paused"), r[0]!);
  });
});

// A hook the operator made with `hooks create` has no chat member as its creator. Its expiry
// reminder went to a user named "cli" (nobody; a warning in the log). Now `--owner` names the
// member who gets it by DM, as a chat-made hook's creator does; without one it is posted in
// the hook's chat, where the people it serves (and who can type /webhook_expire) read.
Deno.test("hooks created by the CLI: expiry reminder and notice to --owner by DM, else into the hook's chat", async () => {
  const c = clock();
  await withBot({ now: c.now }, async (w) => {
    const ops = group(w);
    const out: string[] = [];
    const cli = (...args: string[]) =>
      runHooksCli(args, {
        openStore: (fn) => fn(w.store),
        publicUrl: "https://hooks.example.com",
        out: (l) => void out.push(l),
        err: (l) => void out.push(l),
        now: c.now,
      });
    assert.equal(await cli("create", "--chat", ops, "--name", "nightly", "--expires", "2d"), 0);
    assert.equal(
      await cli("create", "--chat", ops, "--name", "backup", "--expires", "2d", "--owner", "alice"),
      0,
    );
    // The owner is the hook's creator wherever that is shown.
    const list = texts(await w.say(ops, w.bob, `${w.at} /webhook_list`), ops).join("\n");
    assert.match(list, /<b>backup<\/b>.* by alice ·/);
    assert.match(list, /<b>nightly<\/b>.* by cli ·/);
    // A bad --owner is a usage error, and nothing is created.
    assert.equal(await cli("create", "--chat", ops, "--name", "x", "--owner", "a b"), 2);
    assert.match(out.at(-1)!, /--owner a b is not a TrueConf user/);
    assert.equal(await w.store.findByName(ops, "x"), null);
    const before = w.fake.sent.length;
    c.advance(DAY + 1);
    await w.commands.sweepExpiries();
    const reminders = w.fake.sent.slice(before);
    assert.deepEqual(
      reminders.map((p) => [p.chatId, /<b>(\w+)<\/b>/.exec(p.text!)?.[1]]).sort(),
      [[ops, "nightly"], [w.dm(w.alice), "backup"]].sort(),
    );
    const inChat = reminders.find((p) => p.chatId === ops)!.text!;
    assert.match(
      inChat,
      /^⏳ Webhook <b>nightly<\/b> expires .*\. To keep it, type \/webhook_expire nightly never \(or a new duration\) here\.$/,
    );
    c.advance(DAY);
    const later = w.fake.sent.length;
    await w.commands.sweepExpiries();
    const notices = w.fake.sent.slice(later);
    assert.deepEqual(notices.map((p) => p.chatId).sort(), [ops, w.dm(w.alice)].sort());
    assert.match(
      notices.find((p) => p.chatId === ops)!.text!,
      /^⌛ Webhook <b>nightly<\/b> expired and was removed; its URL answers 404\./,
    );
    assert.ok(!w.logs.some((l) => /not sent/.test(l)), w.logs.join("\n"));
  });
});
