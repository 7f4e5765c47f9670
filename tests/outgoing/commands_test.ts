// Outgoing hooks managed from the chat, against the whole bot and the fake TrueConf: create
// (secret only by DM), unsafe URLs refused, /webhook_list for both kinds, /webhook_revoke
// cutting calls, /webhook_test for both kinds, trigger words not answered with help.
import assert from "node:assert/strict";
import { Webhook } from "standardwebhooks";
import type { BotWithFake } from "../support/bot_with_fake.ts";
import { waitUntil } from "../support/wait.ts";
import { command, startReceiver, withOutgoingBot } from "./_receiver.ts";
import { createLogger, type Logger } from "../../src/log.ts";
import { ManualClock } from "../delivery/queue/_manual_clock.ts";

/** The bot with the group "ops" that alice owns (every test here starts there). */
function withOps(
  fn: (b: BotWithFake, alice: string) => Promise<void>,
  logger?: Logger,
): Promise<void> {
  return withOutgoingBot({ WEBHOOK_OUTGOING_TIMEOUT_SECONDS: "2" }, (b) => {
    const alice = b.fake.userId("alice");
    b.addGroup({ chatId: "ops", title: "Ops", owner: alice });
    return fn(b, alice);
  }, logger);
}

const SECRET = /whsec_[A-Za-z0-9+/]{43}=/;

/**
 * Alice types `/webhook_create ci <url> /job` in the group "ops"; resolves with the newest
 * signing secret her direct messages hold once it arrived.
 */
async function createCi(b: BotWithFake, url: string): Promise<string> {
  const dm = b.fake.p2pChatId(b.fake.userId("alice"));
  const before = b.fake.messagesIn(dm).length;
  await command(b, "ops", `/webhook_create ci ${url} /job`);
  await b.fake.waitFor(() =>
    b.fake.messagesIn(dm).slice(before).some((x) => SECRET.test(x.text ?? ""))
  );
  return b.fake.messagesIn(dm).flatMap((x) => (x.text ?? "").match(SECRET) ?? []).at(-1)!;
}

Deno.test("create from a group: the secret goes only to the creator's DM and signs the calls", async () => {
  await withOps(async (b, alice) => {
    let secret = "";
    const r = startReceiver(() => secret, () => Response.json({ text: "on it" }));
    try {
      const ack = await command(b, "ops", `/webhook_create CI deploys ${r.url} /deploy !status`);
      assert.match(ack, /Outgoing webhook <b>CI deploys<\/b> created/);
      assert.match(ack, /\/hooks\/chat\?…/);
      assert.doesNotMatch(ack, /whsec_|key=abc/);
      const dm = b.fake.p2pChatId(alice);
      await b.fake.waitFor(() => b.fake.messagesIn(dm).some((x) => SECRET.test(x.text ?? "")));
      const dmText = b.fake.messagesIn(dm).map((x) => x.text ?? "").join("\n");
      secret = SECRET.exec(dmText)![0];
      assert.match(dmText, /new Webhook\(&quot;whsec_/, "verification example with the secret");
      // The stored secret is sealed: the record never holds it in clear.
      const hook = (await b.bot.store.listByChat("ops"))[0]!;
      assert.equal(hook.kind, "outgoing");
      assert.deepEqual(hook.outgoing?.triggers, ["/deploy", "!status"]);
      assert.ok(!JSON.stringify(hook).includes(secret));
      // The signing secret works: a trigger (with the bot mentioned) reaches the receiver,
      // which verifies with it, and is not answered with help.
      b.fake.pushMessage({ chatId: "ops", authorId: alice, text: `${b.mention} /deploy prod` });
      const call = await r.nth(1);
      assert.equal(call.body.args, "prod");
      await b.fake.waitFor(() => b.fake.messagesIn("ops").some((x) => x.text === "on it"));
      assert.ok(
        !b.fake.messagesIn("ops").some((x) => /Webhooks for this chat/.test(x.text ?? "")),
        "no help reply to a trigger word",
      );
      // Nowhere but the DM: scan every message of every other chat.
      for (const s of b.fake.sent) {
        if (s.chatId !== dm) assert.doesNotMatch(s.text ?? s.caption?.text ?? "", /whsec_/);
      }
      assert.equal(r.rejected, 0);
    } finally {
      await r.close();
    }
  });
});

Deno.test("unsafe or malformed URLs are refused at creation with the reason; nothing is created", async () => {
  await withOps(async (b) => {
    const cases: [string, RegExp][] = [
      [
        "x http://169.254.169.254/latest/meta-data",
        /cannot be used: 169\.254\.169\.254 is a .*address/,
      ],
      ["x http://10.1.2.3:8080/hook", /cannot be used: 10\.1\.2\.3 is a private/],
      ["x https://metadata.google.internal/x", /cannot be used: .*metadata/],
      ["x https://user:pw@ci.example.com/hook", /user name or password/],
      ["x http://localhost:9000/", /local or internal host name/],
      ["https://ci.example.com/hook /deploy", /name goes before the URL/],
      ["x https://ci.example.com/h /webhook_list", /bot's own commands/],
      // Another scheme is a URL too, not a word of an incoming hook's name.
      [
        "x ftp://files.example.com/drop",
        /ftp:\/\/files\.example\.com\/drop is not an http:\/\/ or https:\/\/ URL/,
      ],
      ["x ws://ci.example.com/socket /deploy", /ws:\/\/ci\.example\.com\/socket is not an http/],
    ];
    for (const [args, reason] of cases) {
      const said = await command(b, "ops", `/webhook_create ${args}`);
      assert.match(said, reason, args);
    }
    assert.equal((await b.bot.store.listByChat("ops")).length, 0);
  });
});

Deno.test("/webhook_list shows both kinds; /webhook_test reports for both; names are unique across kinds", async () => {
  await withOps(async (b, alice) => {
    let secret = "";
    const r = startReceiver(() => secret, () => new Response("pong from CI\nsecond line"));
    try {
      await command(b, "ops", `/webhook_create alerts ${r.url}`);
      const dm = b.fake.p2pChatId(alice);
      await b.fake.waitFor(() => b.fake.messagesIn(dm).some((x) => SECRET.test(x.text ?? "")));
      secret = SECRET.exec(b.fake.messagesIn(dm).map((x) => x.text).join("\n"))![0];
      await b.createHook("ops", "grafana", alice);
      await b.fake.waitFor(() =>
        b.fake.messagesIn("ops").some((x) => /Webhook <b>grafana<\/b> created/.test(x.text ?? ""))
      );
      const dup = await command(b, "ops", `/webhook_create grafana ${r.url}`);
      assert.match(dup, /already exists/);
      const list = await command(b, "ops", "/webhook_list");
      assert.match(
        list,
        /<b>alerts<\/b> · → http:\/\/127\.0\.0\.1:\d+\/hooks\/chat\?… · all events/,
      );
      assert.match(list, /<b>grafana<\/b> · ← [A-Za-z0-9_-]{4}…[A-Za-z0-9_-]{4}/);
      assert.doesNotMatch(list, /key=abc/);

      const ping = await command(b, "ops", "/webhook_test alerts hello there");
      assert.match(
        ping,
        /^✅ <b>alerts<\/b> → http:\/\/127\.0\.0\.1:\d+\/hooks\/chat\?…: HTTP 200 in \d+ ms\npong from CI$/,
      );
      const pinged = r.calls.find((c) => c.body.type === "ping");
      assert.ok(pinged);
      assert.equal((pinged.body.message as { text: string }).text, "hello there");
      // The shape of message.created: the author with their display name, the chat's title.
      assert.deepEqual((pinged.body.message as { author: unknown }).author, {
        id: alice,
        name: "Alice",
      });
      assert.deepEqual(pinged.body.chat, { id: "ops", title: "Ops", type: "group" });
      assert.ok(new Webhook(secret).verify(pinged.raw, Object.fromEntries(pinged.headers)));

      // The test message arrives first, then the report.
      const test = await command(b, "ops", "/webhook_test grafana");
      assert.match(test, /^🧪 Test from \/webhook_test by alice@/);
      await b.fake.waitFor(() =>
        b.fake.messagesIn("ops").some((x) =>
          /grafana<\/b>: the test message was posted through the webhook's delivery path/.test(
            x.text ?? "",
          )
        )
      );
      const unknown = await command(b, "ops", "/webhook_test nope");
      assert.match(
        unknown,
        /^⚠️ No webhook here is named «nope» \(or what it starts with\)\. Type \/webhook_test &lt;name&gt; \[text\]\. Webhooks here: <b>alerts<\/b>, <b>grafana<\/b>\.$/,
      );
      assert.match(
        await command(b, "ops", "/webhook_test"),
        /^⚠️ Which webhook\? Type \/webhook_test/,
      );
      // A member who may not manage hooks is told so in words that fit a test.
      const before = b.fake.messagesIn("ops").length;
      b.fake.pushMessage({
        chatId: "ops",
        authorId: b.fake.userId("bob"),
        text: `${b.mention} /webhook_test grafana`,
      });
      await b.fake.waitFor(() => b.fake.messagesIn("ops").length > before);
      assert.equal(
        b.fake.messagesIn("ops").at(-1)?.text,
        "⛔ Only owners and admins of this chat can manage webhooks (WEBHOOK_ADMIN_ONLY is on): " +
          "ask an owner or admin of this chat to run it, or to make you an admin.",
      );
    } finally {
      await r.close();
    }
  });
});

Deno.test("/webhook_revoke cuts the running call and drops the waiting ones", async () => {
  await withOps(async (b, alice) => {
    let secret = "";
    let release: () => void = () => {};
    const hold = new Promise<void>((resolve) => release = resolve);
    const r = startReceiver(() => secret, async () => {
      await hold;
      return new Response(null, { status: 204 });
    });
    try {
      secret = await createCi(b, r.url);
      for (const n of [1, 2, 3]) {
        b.fake.pushMessage({ chatId: "ops", authorId: alice, text: `/job ${n}` });
      }
      await r.nth(1);
      await b.fake.waitFor(() => b.bot.queue.stats().depth === 3);
      const said = await command(b, "ops", "/webhook_revoke ci");
      assert.match(said, /revoked/);
      await b.fake.waitFor(() => b.bot.queue.stats().depth === 0);
      // Each trigger's author hears that its call was dropped (the cut one and the waiting two).
      const dropped = () =>
        b.fake.messagesIn("ops").filter((x) =>
          x.text === "❌ ci: not sent: the webhook was revoked." && x.replyMessageId
        );
      await b.fake.waitFor(() => dropped().length === 3);
      b.fake.pushMessage({ chatId: "ops", authorId: alice, text: "/job 4" });
      const marker = await command(b, "ops", "/webhook_list");
      assert.match(marker, /No webhooks/);
      assert.equal(r.calls.length, 1, "only the call that was running when revoked");
    } finally {
      release();
      await r.close();
    }
  });
});

Deno.test("/webhook_rotate of an outgoing hook: the new secret by DM; during the grace both signatures verify", async () => {
  await withOps(async (b, alice) => {
    const dm = b.fake.p2pChatId(alice);
    const secrets = () => b.fake.messagesIn(dm).flatMap((x) => (x.text ?? "").match(SECRET) ?? []);
    // Two receivers at one hook's URL is not possible, so one receiver checks with the old
    // secret and a second check with the new one is done on the recorded request.
    let oldSecret = "";
    const r = startReceiver(() => oldSecret, () => new Response(null, { status: 204 }));
    try {
      await command(b, "ops", `/webhook_create ci ${r.url} /job`);
      await b.fake.waitFor(() => secrets().length === 1);
      oldSecret = secrets()[0]!;
      const said = await command(b, "ops", "/webhook_rotate ci 1h");
      assert.doesNotMatch(said, /whsec_/);
      await b.fake.waitFor(() => secrets().length === 2);
      const newSecret = secrets()[1]!;
      assert.notEqual(newSecret, oldSecret);
      b.fake.pushMessage({ chatId: "ops", authorId: alice, text: "/job 1" });
      const call = await r.nth(1);
      assert.equal(call.headers.get("webhook-signature")?.split(" ").length, 2);
      new Webhook(newSecret).verify(call.raw, Object.fromEntries(call.headers));
      assert.equal(r.rejected, 0, "the old secret still verifies during the grace");
      // /webhook_test is an outgoing request too: its ping carries both signatures as well.
      const tested = await command(b, "ops", "/webhook_test ci");
      assert.match(tested, /^✅ <b>ci<\/b> → .*HTTP 204/);
      assert.equal(r.calls[1]?.body.type, "ping");
      new Webhook(newSecret).verify(r.calls[1]!.raw, Object.fromEntries(r.calls[1]!.headers));
      assert.equal(r.rejected, 0, "the ping verifies with the old secret during the grace");
      // The call and the ping are counted in /metrics by outcome, with their latency.
      let body = "";
      await waitUntil(
        async () => {
          body = (await b.bot.metrics.render()).body;
          return /trueconf_webhook_outgoing_calls_total\{outcome="answered"\} 2\b/.test(body);
        },
        5_000,
        "the call and the ping counted",
      );
      assert.match(
        body,
        /trueconf_webhook_outgoing_call_duration_seconds_count\{outcome="answered"\} 2\b/,
      );
    } finally {
      await r.close();
    }
  });
});

// The bot's injected clock reaches the outgoing calls (BotOptions.clock): the grace a rotation
// gives ends for the calls' signatures when the commands say it ends, and webhook-timestamp is
// that clock's. The service signed on the wall clock, so with the hooks' clock moved past the
// grace it still sent both signatures. (The receiver here records and does not verify: a
// verifier compares webhook-timestamp with its own wall clock; the signatures are checked
// with the npm standardwebhooks package's sign().)
Deno.test("/webhook_rotate of an outgoing hook: after the grace (clock moved, no waiting) a call carries the new signature alone", async () => {
  const clock = new ManualClock(Date.now());
  const got: { headers: Headers; raw: string }[] = [];
  await using receiver = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (req) => {
      got.push({ headers: req.headers, raw: await req.text() });
      return new Response(null, { status: 204 });
    },
  );
  /** The signatures a call carries, and those the given secrets make for it. */
  const signatures = (call: { headers: Headers; raw: string }, ...secrets: string[]) => {
    const id = call.headers.get("webhook-id")!;
    const at = new Date(Number(call.headers.get("webhook-timestamp")) * 1000);
    return {
      sent: call.headers.get("webhook-signature")!.split(" ").sort(),
      made: secrets.map((s) => new Webhook(s).sign(id, at, call.raw)).sort(),
    };
  };
  await withOutgoingBot(
    { WEBHOOK_OUTGOING_TIMEOUT_SECONDS: "2" },
    async (b) => {
      const alice = b.fake.userId("alice");
      b.addGroup({ chatId: "ops", title: "Ops", owner: alice });
      const old = await createCi(b, `http://127.0.0.1:${receiver.addr.port}/hooks/chat`);
      await command(b, "ops", "/webhook_rotate ci 10m");
      const dm = b.fake.p2pChatId(alice);
      const newest = () =>
        b.fake.messagesIn(dm).flatMap((x) => (x.text ?? "").match(SECRET) ?? []).at(-1)!;
      await b.fake.waitFor(() => newest() !== old);
      const secret = newest();
      b.fake.pushMessage({ chatId: "ops", authorId: alice, text: "/job 1" });
      await b.fake.waitFor(() => got.length === 1 && b.bot.queue.stats().depth === 0);
      let s = signatures(got[0]!, old, secret);
      assert.deepEqual(s.sent, s.made, "both during the grace");
      // Past the grace on the bot's clock, within WEBHOOK_OUTGOING_MAX_AGE_SECONDS of the
      // messages (the fake stamps them with the wall clock).
      clock.advance(10 * 60_000 + 1);
      b.fake.pushMessage({ chatId: "ops", authorId: alice, text: "/job 2" });
      await b.fake.waitFor(() => got.length === 2);
      s = signatures(got[1]!, secret);
      assert.deepEqual(s.sent, s.made, "the new secret's alone after it");
      assert.equal(
        Number(got[1]!.headers.get("webhook-timestamp")),
        Math.floor(clock.now() / 1000),
        "signed at the bot's time",
      );
    },
    undefined,
    { clock },
  );
});

Deno.test("create whose secret DM is refused keeps no hook, says so in the chat, and never shows the secret there", async () => {
  await withOps(async (b, alice) => {
    const r = startReceiver(() => "", () => new Response(null, { status: 204 }));
    try {
      b.fake.p2pChatId(alice);
      b.fake.chat(b.fake.p2pChatId(alice))!.readOnlyForBot = true;
      const said = await command(b, "ops", `/webhook_create ci ${r.url} /job`);
      assert.match(said, /could not send you a private message.*<b>ci<\/b> was not kept/);
      assert.equal((await b.bot.store.listByChat("ops")).length, 0, "the hook was removed again");
      for (const s of b.fake.sent) assert.doesNotMatch(s.text ?? "", /whsec_/);
      // Nothing is sent for a hook that is not kept.
      b.fake.pushMessage({ chatId: "ops", authorId: alice, text: "/job 1" });
      b.fake.pushMessage({ chatId: "ops", authorId: alice, text: `${b.mention} /webhook_list` });
      await b.fake.waitFor(() =>
        b.fake.messagesIn("ops").some((x) => /No webhooks/.test(x.text ?? ""))
      );
      assert.equal(r.calls.length, 0);
    } finally {
      await r.close();
    }
  });
});

Deno.test("/webhook_rotate of an outgoing hook whose DM is refused keeps the old secret alone", async () => {
  await withOps(async (b, alice) => {
    let secret = "";
    const r = startReceiver(() => secret, () => new Response(null, { status: 204 }));
    try {
      secret = await createCi(b, r.url);
      const dm = b.fake.p2pChatId(alice);
      b.fake.chat(dm)!.readOnlyForBot = true;
      const said = await command(b, "ops", "/webhook_rotate ci 1h");
      assert.match(said, /could not send you a private message.*<b>ci<\/b> was not changed/);
      // Nobody got a new secret: calls are signed with the service's secret only, as before.
      b.fake.pushMessage({ chatId: "ops", authorId: alice, text: "/job 1" });
      const call = await r.nth(1);
      assert.equal(call.headers.get("webhook-signature")?.split(" ").length, 1);
      assert.equal(r.rejected, 0);
      assert.equal((await b.bot.store.listByChat("ops"))[0]?.rotation, null);
    } finally {
      await r.close();
    }
  });
});

Deno.test("pause, resume and rotate of an outgoing hook speak of its calls and its secret, not of a URL", async () => {
  await withOps(async (b, alice) => {
    const dm = b.fake.p2pChatId(alice);
    const r = startReceiver(() => "", () => new Response(null, { status: 204 }));
    try {
      await createCi(b, r.url);
      const paused = await command(b, "ops", "/webhook_pause ci");
      assert.match(paused, /^⏸ Webhook <b>ci<\/b> paused: /);
      // (not /404/: the receiver's random port may contain it)
      assert.doesNotMatch(paused, /answers 404|posted/, "an outgoing hook has no URL of its own");
      assert.match(paused, /nothing is sent to http:\/\/127\.0\.0\.1:\d+\/hooks\/chat\?…/);
      // A test of a paused hook still pings the service (to check it before resuming), and
      // says that the chat's events are not sent meanwhile.
      const tested = await command(b, "ops", "/webhook_test ci");
      assert.match(tested, /HTTP 401/);
      assert.match(
        tested,
        /\n⏸ <b>ci<\/b> is paused: chat events are not sent until \/webhook_resume ci\.$/,
      );
      const resumed = await command(b, "ops", "/webhook_resume ci");
      assert.doesNotMatch(resumed, /URL works/);
      assert.match(resumed, /resumed; calls go to http:\/\/127\.0\.0\.1:\d+\/hooks\/chat\?… again/);
      const rotated = await command(b, "ops", "/webhook_rotate ci 1h");
      assert.doesNotMatch(rotated, /new URL|old URL/);
      assert.match(rotated, /has a new signing secret, sent to you in a private message/);
      assert.match(rotated, /signed with both the new and the old secret until /);
      await b.fake.waitFor(() =>
        b.fake.messagesIn(dm).filter((x) => SECRET.test(x.text ?? "")).length === 2
      );
      const secretDm = b.fake.messagesIn(dm).at(-1)?.text ?? "";
      assert.doesNotMatch(secretDm, /each use of it is logged/, "old-secret uses are not counted");
      assert.match(secretDm, /signed with both the new and the old secret until /);
      const now = await command(b, "ops", "/webhook_rotate ci 0");
      assert.match(now, /The old secret no longer signs/);
      const revoked = await command(b, "ops", "/webhook_revoke ci");
      assert.doesNotMatch(revoked, /URL no longer works/);
      assert.match(revoked, /revoked; nothing more is sent to http:\/\/127\.0\.0\.1:\d+\/hooks/);
    } finally {
      await r.close();
    }
  });
});

Deno.test("a trigger word of a paused outgoing hook said to the bot: told it is paused and how to resume, not the help", async () => {
  await withOps(async (b) => {
    let secret = "";
    const r = startReceiver(() => secret, () => new Response(null, { status: 204 }));
    try {
      secret = await createCi(b, r.url);
      await command(b, "ops", "/webhook_pause ci");
      const said = await command(b, "ops", "/JOB deploy prod");
      assert.equal(
        said,
        "⏸ /job goes to webhook <b>ci</b>, which is paused: nothing was sent. /webhook_resume ci switches it on again.",
      );
      // A quoted name is the name without its quotes, for outgoing hooks as for incoming ones.
      const quoted = await command(b, "ops", `/webhook_create "CI two" ${r.url} /two expires=7d`);
      assert.match(quoted, /Outgoing webhook <b>CI two<\/b> created/);
      // An expiry given at creation is confirmed.
      assert.match(
        quoted,
        /message\. It expires \d{4}-\d\d-\d\d \d\d:\d\d UTC \(reminder before\)\.$/,
      );
      // /webhook_test takes the quoted name too, the rest being the test text.
      const tested = await command(b, "ops", `/webhook_test "ci TWO" hello there`);
      assert.match(tested, /<b>CI two<\/b> → http:\/\/127\.0\.0\.1:\d+\/hooks\/chat\?…: HTTP 401/);
      // Another command said to the bot by name is still answered with the help.
      assert.match(await command(b, "ops", "/nope"), /^⚠️ I do not know \/nope\.\n<b>Webhooks/);
      await command(b, "ops", "/webhook_resume ci");
      b.fake.pushMessage({ chatId: "ops", authorId: b.fake.userId("alice"), text: "/job again" });
      const call = await r.nth(1);
      assert.match(call.raw, /"text":"\/job again"/, "the first call is the one after resume");
      assert.equal(r.rejected, 1, "only the ping of CI two, signed with its own secret");
    } finally {
      await r.close();
    }
  });
});

Deno.test("/webhook_info of an outgoing hook shows its calls: last used, count, and each call's status, event and outcome", async () => {
  await withOps(async (b, alice) => {
    let secret = "";
    const r = startReceiver(
      () => secret,
      (body) =>
        (body.message as { text?: string }).text?.startsWith("/job gone")
          ? new Response("no such job", { status: 404 })
          : Response.json({ text: "started" }),
    );
    try {
      secret = await createCi(b, r.url);
      b.fake.pushMessage({ chatId: "ops", authorId: alice, text: "/job build" });
      await b.fake.waitFor(() => b.fake.messagesIn("ops").some((x) => x.text === "started"));
      b.fake.pushMessage({ chatId: "ops", authorId: alice, text: "/job gone" });
      await b.fake.waitFor(() =>
        b.fake.messagesIn("ops").some((x) => /answered 404/.test(x.text ?? ""))
      );
      const info = await command(b, "ops", "/webhook_info ci");
      // Where it calls (the query masked) and on what, as /webhook_list shows it; no sender checks.
      assert.match(
        info,
        /Kind: outgoing → http:\/\/127\.0\.0\.1:\d+\/hooks\/chat\?… · triggers \/job\n/,
      );
      assert.match(info, /Signing: Standard Webhooks/);
      assert.doesNotMatch(info, /Verification:|Allowed addresses:/);
      assert.doesNotMatch(info, /Last used never/, "an answered call is a use");
      assert.match(info, /· 1 delivery\b/, "one call was taken by the service");
      assert.doesNotMatch(info, /No requests yet/);
      // Two calls, and the first one's answer posted into the chat.
      assert.match(info, /Last 3 requests:/);
      assert.match(info, /• [\d-]+ [\d:]+ UTC · answer → · - · delivered/);
      assert.match(info, /• [\d-]+ [\d:]+ UTC · 404 · message\.created · refused · http_404/);
      assert.match(info, /• [\d-]+ [\d:]+ UTC · 200 · message\.created · answered/);
    } finally {
      await r.close();
    }
  });
});

Deno.test("/webhook_verify and /webhook_allow of an outgoing hook say they are for incoming hooks and change nothing", async () => {
  await withOps(async (b, alice) => {
    const dm = b.fake.p2pChatId(alice);
    const r = startReceiver(() => "", () => new Response(null, { status: 204 }));
    try {
      await createCi(b, r.url);
      const dms = b.fake.messagesIn(dm).length;
      const verify = await command(b, "ops", "/webhook_verify ci github");
      assert.match(verify, /^⚠️ <b>ci<\/b> is an outgoing webhook/);
      assert.match(verify, /\/webhook_rotate ci/);
      const allow = await command(b, "ops", "/webhook_allow ci 10.0.0.0/8");
      assert.match(allow, /^⚠️ <b>ci<\/b> is an outgoing webhook/);
      assert.equal(b.fake.messagesIn(dm).length, dms, "no verification secret sent");
      const [hook] = await b.bot.store.listByChat("ops");
      assert.equal(hook?.verification, null);
      assert.equal(hook?.allow, null);
    } finally {
      await r.close();
    }
  });
});

Deno.test("a /webhook_test ping is an outgoing call to the operator too: its log line, /metrics and /webhook_info", async () => {
  const lines: string[] = [];
  await withOps(async (b) => {
    let secret = "";
    const r = startReceiver(
      () => secret,
      (body) =>
        body.type === "ping"
          ? new Response("nope", { status: 503 })
          : new Response(null, { status: 204 }),
    );
    try {
      secret = await createCi(b, r.url);
      const said = await command(b, "ops", "/webhook_test ci");
      assert.match(said, /^❌ <b>ci<\/b> → .*: HTTP 503 in \d+ ms/);
      // One line per call, as for every attempt of an event's call: hook, masked URL, status…
      const logged = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === "outgoing call");
      assert.equal(logged.length, 1, lines.join("\n"));
      const [line] = logged;
      const hook = (await b.bot.store.listByChat("ops"))[0]!;
      assert.equal(line.hook, hook.id);
      assert.match(line.url, /^http:\/\/127\.0\.0\.1:\d+\/hooks\/chat\?…$/);
      assert.equal(line.event, "ping");
      assert.match(line.id, /^evt_ping_/);
      assert.equal(line.status, 503);
      assert.equal(typeof line.durationMs, "number");
      assert.equal(line.attempt, 1);
      assert.equal(line.outcome, "failed", "a ping is never retried");
      assert.ok(!lines.some((l) => l.includes("key=abc") || l.includes("whsec_")));
      // Counted by outcome with its latency, like any call.
      const metrics = await (await fetch(`${b.baseUrl}/metrics`)).text();
      assert.match(metrics, /^trueconf_webhook_outgoing_calls_total\{outcome="failed"\} 1$/m);
      assert.match(
        metrics,
        /^trueconf_webhook_outgoing_call_duration_seconds_count\{outcome="failed"\} 1$/m,
      );
      // And in the hook's history, not as a use of the hook.
      const info = await command(b, "ops", "/webhook_info ci");
      assert.match(info, /• [\d-]+ [\d:]+ UTC · 503 · ping · failed · http_503/);
      assert.match(info, /Last used never/);
    } finally {
      await r.close();
    }
  }, createLogger({ level: "info", write: (line) => lines.push(line) }));
});
