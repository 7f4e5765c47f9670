// Chat commands end to end: the fake TrueConf server over real sockets, the real client, a
// real KV store and the CommandHandler, wired as src/bot.ts wires them. Every test ends by
// scanning everything the bot posted: a hook URL may appear only in the author's DM.
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  BOT,
  BOT_NAME,
  group,
  manyHooks,
  PUBLIC_URL,
  texts,
  URL_RE,
  withBot,
} from "./_command_world.ts";
import { CommandHandler } from "../../src/hooks/commands.ts";
import { HookStore, MAX_HOOKS_PER_CHAT } from "../../src/hooks/store.ts";
import { FakeTrueConf } from "../support/fake_trueconf.ts";
import { clientOptions } from "../trueconf/_helpers.ts";
import { type IncomingMessage, TrueConfClient } from "../../src/trueconf/mod.ts";

Deno.test("group: without a mention nothing happens; with one the command runs; chatter and the bot itself are ignored", async () => {
  await withBot({}, async (w) => {
    const ops = group(w);
    assert.deepEqual(await w.say(ops, w.alice, "/webhook_list"), []);
    assert.deepEqual(await w.say(ops, w.alice, "/webhook_create deploys"), []);
    assert.deepEqual(await w.say(ops, w.alice, "good morning"), []);
    assert.deepEqual(await w.say(ops, w.alice, `${w.at} thanks`), []);
    assert.deepEqual(await w.say(ops, w.alice, "@all /webhook_list"), []);
    assert.deepEqual(await w.say(ops, w.fake.botId, `${w.at} /webhook_list`), []);
    assert.deepEqual(
      await w.say(ops, w.alice, `${w.fake.mention(w.bob, "Bob")} /webhook_list`),
      [],
    );
    assert.equal((await w.store.listByChat(ops)).length, 0);

    const list = await w.say(ops, w.bob, `${w.at} /webhook_list`);
    assert.equal(list.length, 1);
    assert.equal(list[0]!.chatId, ops);
    assert.match(list[0]!.text!, /No webhooks in this chat yet/);
    assert.equal(list[0]!.parseMode, "html");

    // Mention forms: profile link, instance suffix, bare login, upper case.
    for (const suffix of ["&do=profile", "/instance-1"]) {
      const r = await w.say(
        ops,
        w.bob,
        `${w.fake.mention(w.fake.botId, "WB", suffix)} /webhook_list`,
      );
      assert.equal(r.length, 1, suffix);
    }
    const bare = w.fake.botId.split("@")[0]!.toUpperCase();
    assert.equal(
      (await w.say(ops, w.bob, `<a href="trueconf:${bare}">x</a> /webhook_list`)).length,
      1,
    );
  });
});

Deno.test("group: a comma or colon after the bot's mention still addresses it ('@Webhook Bot, /webhook_list')", async () => {
  await withBot({}, async (w) => {
    const ops = group(w);
    for (const sep of [",", ":", " :", ", "]) {
      const r = await w.say(ops, w.bob, `${w.at}${sep} /webhook_list`);
      assert.deepEqual(r.map((p) => p.chatId), [ops], JSON.stringify(sep));
      assert.match(r[0]!.text!, /No webhooks in this chat yet/);
    }
    const made = await w.say(ops, w.alice, `${w.at}:&nbsp;/webhook_create deploys`);
    assert.equal(made.length, 2);
    assert.equal((await w.store.findByName(ops, "deploys"))?.name, "deploys");
    // Chatter after the punctuation is still chatter, and someone else's mention is not ours.
    assert.deepEqual(await w.say(ops, w.alice, `${w.at}, thanks!`), []);
    assert.deepEqual(
      await w.say(ops, w.alice, `${w.fake.mention(w.bob, "Bob")}, /webhook_list`),
      [],
    );
  });
});

Deno.test("help: bare mention, /webhook_help and unknown /webhook_* commands; no stray markup", async () => {
  await withBot({}, async (w) => {
    const ops = group(w);
    for (
      const text of [w.at, `${w.at} /webhook_help`, `${w.at} /webhook_creat x`, `${w.at} /help`]
    ) {
      const r = await w.say(ops, w.bob, text);
      assert.equal(r.length, 1, text);
      const t = r[0]!.text!;
      assert.equal(r[0]!.parseMode, "html");
      for (const cmd of ["/webhook_create", "/webhook_list", "/webhook_revoke", "/webhook_help"]) {
        assert.ok(t.includes(cmd), `${cmd} in help`);
      }
      assert.match(t, /\/webhook_create deploys/);
      assert.ok(!t.includes("`"), "no backticks: TrueConf has no code spans");
      assert.doesNotMatch(t.replace(/<\/?b>|<br>/g, ""), /<[a-z]/i, "only <b> and <br> tags");
      // TrueConf shows raw newlines in HTML as spaces: every line ends in <br>.
      assert.ok(!t.includes("\n"), "no raw newline in an HTML reply");
      assert.match(t, /<br>• \/webhook_list — /);
      // /webhook_alerts also sets how CI runs and Uptime Kuma outages show, not only alert groups.
      assert.match(t, /\/webhook_alerts [^<]*CI run[^<]*monitor/);
    }
    // In a personal chat the help does not ask for a mention.
    const dm = w.dm(w.bob);
    const r = await w.say(dm, w.bob, "/webhook_help");
    assert.doesNotMatch(r[0]!.text!, /mention me/);
  });
});

Deno.test("a mistyped command says which one was meant, with the arguments typed, then the help", async () => {
  await withBot({}, async (w) => {
    const ops = group(w);
    const cases: [string, RegExp][] = [
      [
        "/webhook_crate Prod deploys",
        /^⚠️ I do not know \/webhook_crate\. Did you mean \/webhook_create Prod deploys\?$/,
      ],
      ["/webhook_lsit", /^⚠️ I do not know \/webhook_lsit\. Did you mean \/webhook_list\?$/],
      ["/webhooks_list", /^⚠️ I do not know \/webhooks_list\. Did you mean \/webhook_list\?$/],
      [
        "/Webhook-Revoke deploys",
        /^⚠️ I do not know \/webhook-revoke\. Did you mean \/webhook_revoke deploys\?$/,
      ],
      [
        "/webhook_delete deploys",
        /^⚠️ I do not know \/webhook_delete\. Did you mean \/webhook_revoke deploys\?$/,
      ],
      ["/webhook_frobnicate", /^⚠️ I do not know \/webhook_frobnicate\.$/],
      ["/deploy prod", /^⚠️ I do not know \/deploy\.$/],
      [
        "/webhook_create_ a&lt;b",
        /^⚠️ I do not know \/webhook_create_\. Did you mean \/webhook_create a&lt;b\?$/,
      ],
    ];
    for (const [typed, first] of cases) {
      const r = texts(await w.say(ops, w.bob, `${w.at} ${typed}`), ops);
      assert.equal(r.length, 1, typed);
      const [line, ...rest] = r[0]!.split("\n");
      assert.match(line!, first, `${typed} → ${line}`);
      // The help follows, as the answer to an unknown command has always been.
      assert.equal(rest[0], "<b>Webhooks for this chat</b>", typed);
    }
    // Help asked for is the help alone.
    for (const asked of ["/webhook_help", "/help", ""]) {
      const r = texts(await w.say(ops, w.bob, `${w.at} ${asked}`), ops);
      assert.match(r[0]!, /^<b>Webhooks for this chat<\/b>\n/, asked);
    }
  });
});

Deno.test("create in a group → URL only by DM, ack without the token; list; revoke → token dead", async () => {
  await withBot({}, async (w) => {
    const ops = group(w);
    const dmAlice = w.dm(w.alice);
    const posts = await w.say(ops, w.alice, `${w.at} /webhook_create Deploys`);
    assert.equal(posts.length, 2, JSON.stringify(texts(posts)));
    const [dm, ack] = posts;
    assert.equal(dm!.chatId, dmAlice, "the URL comes first, by DM");
    assert.match(dm!.text!, /Webhook <b>Deploys<\/b> for «Ops»/);
    const token = URL_RE.exec(dm!.text!)?.[1];
    assert.ok(token && token.length >= 20);
    assert.match(dm!.text!, /curl -d text=hello https:\/\/hooks\.example\.com\/hook\//);
    assert.equal(ack!.chatId, ops);
    assert.match(
      ack!.text!,
      /Webhook <b>Deploys<\/b> created\. I sent its URL to you in a private message/,
    );
    const hook = await w.store.findByToken(token);
    assert.equal(hook?.chatId, ops);
    assert.equal(hook?.createdBy, w.alice);

    // Anyone may list, and the list never shows more than the masked token.
    w.store.recordDelivery(hook!.id);
    const second = await w.say(ops, w.carol, `${w.at} /webhook_create alerts`);
    assert.equal(second.length, 2);
    const list = await w.say(ops, w.bob, `${w.at} /webhook_list`);
    assert.equal(list.length, 1);
    const text = list[0]!.text!;
    assert.match(text, /Webhooks in this chat \(2\)/);
    assert.ok(text.includes(`${token.slice(0, 4)}…${token.slice(-4)}`), text);
    assert.ok(text.indexOf("Deploys") < text.indexOf("alerts"), "sorted by creation");
    assert.match(text, new RegExp(`Deploys</b> · .* · by ${w.alice.replaceAll(".", "\\.")}`));
    assert.match(text, /created \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    assert.match(text, /1 delivery/);
    assert.match(text, /last used never · 0 deliveries/);

    // Revoke by name, case-insensitively: the token stops resolving at once.
    const revoked = await w.say(ops, w.alice, `${w.at} /webhook_revoke DEPLOYS`);
    assert.equal(revoked.length, 1);
    assert.match(revoked[0]!.text!, /Webhook <b>Deploys<\/b> revoked/);
    assert.equal(await w.store.findByToken(token), null);
    const again = await w.say(ops, w.alice, `${w.at} /webhook_revoke deploys`);
    assert.match(
      again[0]!.text!,
      /No webhook named <b>deploys<\/b>.*Webhooks here: <b>alerts<\/b>/,
    );
    const noName = await w.say(ops, w.alice, `${w.at} /webhook_revoke`);
    assert.match(
      noName[0]!.text!,
      /Which webhook\? Type \/webhook_revoke &lt;name&gt;, for example \/webhook_revoke alerts/,
    );
  });
});

Deno.test("personal chat: any /command the bot does not know is answered (no other bot is there); in a group only when addressed", async () => {
  await withBot({}, async (w) => {
    const dm = w.dm(w.bob);
    for (
      const [typed, first] of [["/webhook", /^⚠️ I do not know \/webhook\.$/], [
        "/webhooks_list",
        /^⚠️ I do not know \/webhooks_list\. Did you mean \/webhook_list\?$/,
      ], ["/delete deploys", /^⚠️ I do not know \/delete\.$/]] as const
    ) {
      const r = texts(await w.say(dm, w.bob, typed), dm);
      assert.equal(r.length, 1, typed);
      assert.match(r[0]!.split("\n")[0]!, first, typed);
    }
    assert.deepEqual(
      await w.say(dm, w.bob, "hello there"),
      [],
      "chatter right after a command needs no introduction",
    );
    const ops = group(w);
    assert.deepEqual(await w.say(ops, w.bob, "/webhook"), [], "another bot's command in a group");
  });
});

Deno.test("personal chat: no mention needed; the URL is posted right there, once", async () => {
  await withBot({}, async (w) => {
    const dm = w.dm(w.bob);
    const posts = await w.say(dm, w.bob, "/webhook_create mine");
    assert.equal(posts.length, 1);
    assert.equal(posts[0]!.chatId, dm);
    assert.match(posts[0]!.text!, /Webhook <b>mine<\/b> for this chat:/);
    const token = URL_RE.exec(posts[0]!.text!)?.[1];
    assert.equal((await w.store.findByToken(token!))?.chatId, dm);
    // A mention is accepted too.
    const list = await w.say(dm, w.bob, `${w.at} /webhook_list`);
    assert.match(list[0]!.text!, /mine/);
    // Chatter right after commands needs no introduction (the member knows the bot).
    assert.deepEqual(await w.say(dm, w.bob, "hi bot"), []);
  });
});

Deno.test("favorites chat: no mention needed; URL by DM, ack in favorites", async () => {
  await withBot({}, async (w) => {
    const fav = w.fake.addChat({
      chatId: "fav-alice",
      title: "Favorites",
      chatType: 5,
      participants: [{ userId: w.alice, role: "favorites_owner" }, {
        userId: w.fake.botId,
        role: "user",
      }],
    }).chatId;
    const posts = await w.say(fav, w.alice, "/webhook_create notes");
    assert.deepEqual(posts.map((p) => p.chatId), [w.dm(w.alice), fav]);
    assert.match(posts[1]!.text!, /created/);
  });
});

Deno.test("channel: mention required; a read-only channel gets its answers by DM and no hook", async () => {
  await withBot({}, async (w) => {
    const news = group(w, "news", { chatType: 6, title: "News & <Updates>" });
    assert.deepEqual(await w.say(news, w.alice, "/webhook_list"), []);
    assert.equal((await w.say(news, w.alice, `${w.at} /webhook_list`))[0]?.chatId, news);

    w.fake.chat(news)!.readOnlyForBot = true;
    const list = await w.say(news, w.bob, `${w.at} /webhook_list`);
    assert.equal(list.length, 1);
    assert.equal(list[0]!.chatId, w.dm(w.bob));
    assert.match(texts(list)[0]!, /^\[Reply to your command in «News &amp; &lt;Updates&gt;»\]\n/);
    assert.match(list[0]!.text!, /No webhooks/);

    // Creating a hook for a chat the bot cannot post into: the URL arrives, then is voided.
    const made = await w.say(news, w.alice, `${w.at} /webhook_create feed`);
    assert.deepEqual(made.map((p) => p.chatId), [w.dm(w.alice), w.dm(w.alice)]);
    assert.match(
      made[1]!.text!,
      /I cannot post into «News &amp; &lt;Updates&gt;».*removed it again/,
    );
    assert.equal((await w.store.listByChat(news)).length, 0);
    assert.equal(await w.store.findByToken(w.tokens.at(-1)!), null);
  });
});

Deno.test("DM failure rolls the hook back and tells the author in the origin chat", async () => {
  await withBot({}, async (w) => {
    const ops = group(w);
    // createP2PChat refused.
    w.fake.setMethodError("createP2PChat", 304, 1);
    const a = await w.say(ops, w.alice, `${w.at} /webhook_create deploys`);
    assert.equal(a.length, 1);
    assert.equal(a[0]!.chatId, ops);
    assert.match(a[0]!.text!, /could not send you a private message.*<b>deploys<\/b> was not kept/);
    assert.equal((await w.store.listByChat(ops)).length, 0);

    // The DM exists but refuses the message.
    const dm = w.dm(w.alice);
    w.fake.chat(dm)!.readOnlyForBot = true;
    const b = await w.say(ops, w.alice, `${w.at} /webhook_create deploys`);
    assert.deepEqual(b.map((p) => p.chatId), [ops]);
    assert.match(b[0]!.text!, /was not kept/);
    assert.equal((await w.store.listByChat(ops)).length, 0);

    // Once the DM works, the same name is free again.
    w.fake.chat(dm)!.readOnlyForBot = false;
    const c = await w.say(ops, w.alice, `${w.at} /webhook_create deploys`);
    assert.deepEqual(c.map((p) => p.chatId), [dm, ops]);
    assert.equal((await w.store.listByChat(ops)).length, 1);
  });
});

Deno.test("admin-only on: 250 participants over two pages, numeric roles; member refused with reason", async () => {
  await withBot({ adminOnly: true, fake: { numericRoles: true } }, async (w) => {
    const crowd = Array.from({ length: 240 }, (_, i) => ({
      userId: `member${i}@${w.fake.domain}`,
      role: "user",
    }));
    const big = w.fake.addChat({
      chatId: "big",
      title: "Everyone",
      chatType: 2,
      // alice, bob and carol sit on page 2 (pages of 200).
      participants: [
        ...crowd,
        { userId: w.fake.botId, role: "user" },
        {
          userId: w.bob,
          role: "user",
        },
        { userId: w.carol, role: "admin" },
        { userId: w.alice, role: "owner" },
      ],
    }).chatId;

    const refused = await w.say(big, w.bob, `${w.at} /webhook_create deploys`);
    assert.equal(refused.length, 1);
    assert.equal(refused[0]!.chatId, big);
    assert.match(
      refused[0]!.text!,
      /Only owners and admins of this chat can create webhooks \(WEBHOOK_ADMIN_ONLY is on\): ask an owner or admin of this chat to run it, or to make you an admin\./,
    );
    const pages = w.fake.requests.filter((r) => r.method === "getChatParticipants").map((r) =>
      (r.payload as { pageNumber: number }).pageNumber
    );
    assert.deepEqual(pages.slice(0, 2), [1, 2], "the second page was read");

    assert.equal((await w.say(big, w.carol, `${w.at} /webhook_create deploys`)).length, 2);
    assert.equal((await w.say(big, w.alice, `${w.at} /webhook_create builds`)).length, 2);
    // Anyone may list; revoking is refused like creating.
    assert.match((await w.say(big, w.bob, `${w.at} /webhook_list`))[0]!.text!, /\(2\)/);
    const r = await w.say(big, w.bob, `${w.at} /webhook_revoke deploys`);
    assert.match(r[0]!.text!, /can revoke webhooks/);
    assert.equal((await w.store.listByChat(big)).length, 2);
    // A user who is not in the list at all is refused too.
    w.fake.addUser({ login: "dave", password: "d" });
    const dave = w.fake.userId("dave");
    assert.match((await w.say(big, dave, `${w.at} /webhook_create x`))[0]!.text!, /Only owners/);

    // Participants cannot be read: denied, and told so in plain words (details only in the log).
    w.fake.setMethodError("getChatParticipants", 300, 1);
    const failed = await w.say(big, w.alice, `${w.at} /webhook_revoke builds`);
    assert.match(failed[0]!.text!, /I could not check your role in this chat right now/);
    assert.doesNotMatch(failed[0]!.text!, /error 300|getChatParticipants/);
    assert.equal((await w.store.listByChat(big)).length, 2);

    // In a personal chat the member is always allowed.
    const dm = w.dm(w.bob);
    assert.equal((await w.say(dm, w.bob, "/webhook_create own")).length, 1);
    assert.equal((await w.store.listByChat(dm)).length, 1);
  });
});

Deno.test("admin-only off: any member may create and revoke", async () => {
  await withBot({ adminOnly: false }, async (w) => {
    const ops = group(w);
    assert.equal((await w.say(ops, w.bob, `${w.at} /webhook_create bobs`)).length, 2);
    assert.match((await w.say(ops, w.bob, `${w.at} /webhook_revoke bobs`))[0]!.text!, /revoked/);
    assert.equal(
      w.fake.requests.filter((r) => r.method === "getChatParticipants").length,
      0,
      "no role lookup needed",
    );
  });
});

Deno.test("names: duplicates case-insensitive, empty, too long, control characters, entities", async () => {
  await withBot({}, async (w) => {
    const ops = group(w);
    assert.equal((await w.say(ops, w.alice, `${w.at} /webhook_create Deploys`)).length, 2);
    const dup = await w.say(ops, w.alice, `${w.at} /webhook_create  deploys `);
    assert.deepEqual(dup.map((p) => p.chatId), [ops]);
    assert.match(
      dup[0]!.text!,
      /A webhook named <b>deploys<\/b> already exists here\. Pick another name, or revoke it first with \/webhook_revoke deploys\./,
    );
    // Its URL may never have reached anyone (the bot died between storing the hook and sending
    // the DM, which no restart sends): the reply says how to get a new one.
    assert.match(
      dup[0]!.text!,
      /Lost its URL \(or signing secret\)\? \/webhook_rotate deploys sends a new one by private message\./,
    );
    const empty = await w.say(ops, w.alice, `${w.at} /webhook_create`);
    assert.match(
      empty[0]!.text!,
      /needs a name\. Type \/webhook_create &lt;name&gt;, for example \/webhook_create deploys/,
    );
    const long = await w.say(ops, w.alice, `${w.at} /webhook_create ${"x".repeat(65)}`);
    assert.match(long[0]!.text!, /65 characters long; at most 64/);
    const ctl = await w.say(ops, w.alice, `${w.at} /webhook_create bad&#7;name`);
    assert.match(ctl[0]!.text!, /control characters/);
    // Names are shown escaped: no markup injection.
    const odd = await w.say(ops, w.alice, `${w.at} /webhook_create &lt;i&gt;R&amp;D&lt;/i&gt;`);
    assert.equal(odd.length, 2);
    assert.match(odd[1]!.text!, /<b>&lt;i&gt;R&amp;D&lt;\/i&gt;<\/b> created/);
    assert.deepEqual((await w.store.listByChat(ops)).map((h) => h.name), ["Deploys", "<i>R&D</i>"]);
    // The same name in another chat is fine.
    const other = group(w, "other", { title: "Other" });
    assert.equal((await w.say(other, w.alice, `${w.at} /webhook_create deploys`)).length, 2);
  });
});

Deno.test("a chat at the hook limit: /webhook_create says what to do instead and sends no URL", async () => {
  await withBot({}, async (w) => {
    const ops = group(w);
    for (let i = 0; i < MAX_HOOKS_PER_CHAT; i++) {
      assert.ok((await w.store.create({ chatId: ops, name: `h${i}`, createdBy: w.alice })).ok);
    }
    const full = await w.say(ops, w.alice, `${w.at} /webhook_create deploys`);
    assert.deepEqual(full.map((p) => p.chatId), [ops]); // no DM: no URL went anywhere
    assert.match(
      full[0]!.text!,
      new RegExp(
        `This chat has ${MAX_HOOKS_PER_CHAT} webhooks already, the most one chat may have\\. Revoke one it no longer needs first: /webhook_list shows them, /webhook_revoke &lt;name&gt; removes one\\.`,
      ),
    );
    assert.equal((await w.store.listByChat(ops)).length, MAX_HOOKS_PER_CHAT);
  });
});

Deno.test("concurrent creates of one name: one hook, one URL, one duplicate answer", async () => {
  await withBot({}, async (w) => {
    const ops = group(w);
    const posts = await w.sayAll([
      { chatId: ops, author: w.alice, text: `${w.at} /webhook_create deploys` },
      { chatId: ops, author: w.carol, text: `${w.at} /webhook_create DEPLOYS` },
    ]);
    assert.equal((await w.store.listByChat(ops)).length, 1);
    const urls = posts.filter((p) => URL_RE.test(p.text ?? ""));
    assert.equal(urls.length, 1);
    assert.equal(posts.filter((p) => /already exists/.test(p.text ?? "")).length, 1);
    assert.equal(posts.filter((p) => /created\./.test(p.text ?? "")).length, 1);
  });
});

Deno.test("edited messages and messages from before the chat type is known are handled safely", async () => {
  await withBot({}, async (w) => {
    const ops = group(w);
    assert.deepEqual(
      await w.say(ops, w.alice, `${w.at} /webhook_create x`, { isEdited: true }),
      [],
    );
    // getChatByID fails: the chat type is unknown, so a mention is required (fail closed),
    // and the failure is cached briefly rather than retried for every message.
    const dm = w.dm(w.carol);
    w.fake.setMethodError("getChatByID", 300, 1);
    assert.deepEqual(await w.say(dm, w.carol, "/webhook_list"), []);
    assert.deepEqual(await w.say(dm, w.carol, "/webhook_list"), []);
    assert.equal((await w.say(dm, w.carol, `${w.at} /webhook_list`)).length, 1);
    // Only the DM was looked up (the edited message was dropped before any lookup), once.
    assert.equal(w.fake.requests.filter((r) => r.method === "getChatByID").length, 1);
  });
});

Deno.test("restart with the same KV file keeps the hooks", async () => {
  const dir = await Deno.makeTempDir({ prefix: "commands-test-" });
  const kvPath = join(dir, "hooks.kv");
  const fake = await FakeTrueConf.start({
    bot: { ...BOT, displayName: BOT_NAME },
    users: [
      { login: "alice", password: "a" },
      { login: "bob", password: "b" },
      { login: "carol", password: "c" },
    ],
  });
  try {
    let token = "";
    await withBot({ kvPath, reuseFake: fake }, async (w) => {
      const ops = group(w);
      await w.say(ops, w.alice, `${w.at} /webhook_create deploys`);
      token = w.tokens[0]!;
    });
    await withBot({ kvPath, reuseFake: fake }, async (w) => {
      const list = await w.say("ops", w.bob, `${w.at} /webhook_list`);
      assert.match(list[0]!.text!, /Webhooks in this chat \(1\).*deploys/s);
      assert.equal((await w.store.findByToken(token))?.name, "deploys");
      await w.say("ops", w.alice, `${w.at} /webhook_revoke deploys`);
    });
    await withBot({ kvPath, reuseFake: fake }, async (w) => {
      assert.equal(await w.store.findByToken(token), null);
    });
  } finally {
    await fake.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("close: in-flight commands finish; later messages are ignored", async () => {
  const fake = await FakeTrueConf.start({ bot: BOT, users: [{ login: "alice", password: "a" }] });
  const kv = await Deno.openKv(":memory:");
  const store = new HookStore(kv);
  const client = new TrueConfClient(clientOptions(fake));
  const commands = new CommandHandler({ client, store, publicUrl: PUBLIC_URL, adminOnly: true });
  try {
    client.start();
    await client.ready(3_000);
    const alice = fake.userId("alice");
    const dm = fake.p2pChatId(alice);
    fake.setMethodDelay("sendMessage", 150);
    const msg = (id: string): IncomingMessage => ({
      messageId: id,
      chatId: dm,
      timestamp: Date.now(),
      type: 200,
      authorId: alice,
      authorType: 1,
      text: "/webhook_create slow",
      parseMode: "text",
      mentions: [],
      isEdited: false,
      replyMessageId: null,
      raw: null,
    });
    const running = commands.handle(msg("m1"));
    await fake.waitFor(() => fake.requests.some((r) => r.method === "sendMessage"));
    await commands.close();
    assert.equal(fake.messagesIn(dm).length, 1, "the in-flight create finished");
    await running;
    await commands.handle(msg("m2"));
    assert.equal((await store.listByChat(dm)).length, 1);
  } finally {
    await store.close();
    await client.close();
    kv.close();
    await fake.close();
  }
});

Deno.test("a long /webhook_list is split at line ends under 4096 characters", async () => {
  await withBot({}, async (w) => {
    const ops = group(w);
    await manyHooks(w, ops, 40);
    const parts = await w.say(ops, w.bob, `${w.at} /webhook_list`);
    assert.ok(parts.length >= 2, `${parts.length} parts`);
    for (const p of parts) assert.ok(p.text!.length <= 4096, `${p.text!.length}`);
    const all = texts(parts).join("\n");
    // Every hook, numbered once (hooks made in the same millisecond may list in any order).
    for (let i = 0; i < 40; i++) {
      assert.ok(all.includes(`<b>${String(i).padStart(2, "0")}-`), `hook ${i}`);
      assert.equal(all.split(`\n${i + 1}. <b>`).length, 2, `number ${i + 1}`);
    }
  });
});

Deno.test("an unknown name in a chat with many hooks: the answer names 20 of them and fits in one message", async () => {
  await withBot({}, async (w) => {
    const ops = group(w);
    await manyHooks(w, ops, 80);
    for (const cmd of ["/webhook_revoke nope", "/webhook_revoke", "/webhook_pause nope"]) {
      const posts = await w.say(ops, w.alice, `${w.at} ${cmd}`);
      assert.deepEqual(posts.map((p) => p.chatId), [ops], cmd);
      assert.ok(posts[0]!.text!.length <= 4096, `${cmd}: ${posts[0]!.text!.length}`);
      assert.equal(posts[0]!.text!.split("<b>").length - 1, cmd.endsWith("nope") ? 21 : 20, cmd);
      assert.match(posts[0]!.text!, / and 60 more \(\/webhook_list shows them all\)\.$/, cmd);
    }
  });
});

Deno.test("revoke whose reply TrueConf refuses: the hook is revoked, a warning (not an error) says the reply is missing", async () => {
  await withBot({}, async (w) => {
    const ops = group(w);
    const posts = await w.say(ops, w.alice, `${w.at} /webhook_create Deploys`);
    const token = URL_RE.exec(posts[0]!.text!)?.[1];
    assert.ok(token);
    // Every reply refused ("chat not found"), the direct-message fallback too.
    w.fake.setMethodError("sendMessage", 304);
    const replies = await w.say(ops, w.alice, `${w.at} /webhook_revoke deploys`);
    w.fake.setMethodError("sendMessage", null);
    assert.equal(replies.length, 0, JSON.stringify(replies) + "\n" + w.logs.join("\n"));
    assert.equal(await w.store.findByToken(token), null, "revoked all the same");
    const line = w.logs.find((l) => l.includes("could not reply to a command"));
    assert.ok(line, w.logs.join("\n"));
    assert.match(line, /"level":"warn"/);
    assert.ok(!w.logs.some((l) => /"level":"error"/.test(l)), w.logs.join("\n"));
  });
});

// "hello" to the bot in a personal chat got no answer at all: a member who found the bot had no
// way to learn what it is. Now one short introduction, at most once per member in a while; never
// in groups or channels (other members' chatter is not for the bot), never to its own messages,
// never where an outgoing hook takes the chat's messages to a service.
Deno.test("personal chat: plain text gets one short introduction pointing at /help, at most once per member per 10 minutes", async () => {
  let now = Date.parse("2026-12-07T10:00:00Z");
  await withBot({ now: () => now }, async (w) => {
    const dm = w.dm(w.bob);
    const intro = texts(await w.say(dm, w.bob, "hello"), dm);
    assert.equal(intro.length, 1, JSON.stringify(intro));
    assert.match(intro[0]!, /webhook/i);
    assert.match(intro[0]!, /\/help\b/);
    assert.ok(intro[0]!.length < 400, intro[0]!);
    // A chatty member is not answered every line.
    assert.deepEqual(await w.say(dm, w.bob, "are you there?"), []);
    assert.deepEqual(await w.say(dm, w.bob, "hello??"), []);
    // Another member gets their own.
    const alice = w.dm(w.alice);
    assert.equal(texts(await w.say(alice, w.alice, "hi"), alice).length, 1);
    // Ten minutes on, once more.
    now += 10 * 60_000 + 1;
    assert.equal(texts(await w.say(dm, w.bob, "hello again"), dm).length, 1);
    // A member who just used a command knows the bot: their chatter after it stays unanswered.
    now += 10 * 60_000 + 1;
    assert.equal((await w.say(dm, w.bob, "/webhook_list")).length, 1);
    assert.deepEqual(await w.say(dm, w.bob, "thanks"), []);

    // Groups and channels: silence for chatter.
    const ops = group(w);
    const news = group(w, "news", { chatType: 6, title: "News" });
    const carol = w.dm(w.carol);
    assert.deepEqual(await w.say(ops, w.carol, "hello"), []);
    assert.deepEqual(await w.say(news, w.carol, "hello"), []);
    // (They did not use up carol's introduction.)
    assert.equal(texts(await w.say(carol, w.carol, "hello"), carol).length, 1);
    // The bot's own message in a personal chat is never answered.
    now += 10 * 60_000 + 1;
    assert.deepEqual(await w.say(dm, w.fake.botId, "hello"), []);
  });
});

Deno.test("personal chat with an outgoing hook: its plain text goes to the service, no introduction", async () => {
  await withBot({}, async (w) => {
    const dm = w.dm(w.bob);
    const made = await w.store.create({
      chatId: dm,
      name: "assistant",
      createdBy: w.bob,
      kind: "outgoing",
      outgoing: { url: "https://svc.example.com/x", secret: "v1.x.y", triggers: [] },
    });
    assert.ok(made.ok);
    assert.deepEqual(await w.say(dm, w.bob, "hello"), []);
  });
});
