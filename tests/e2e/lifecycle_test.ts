// Hook lifecycle and sender trust through the whole bot (createBot as `serve` wires it) on a
// real socket against the fake TrueConf: signatures made by implementations we did not
// write (GitHub's algorithm from its docs, @octokit/webhooks-methods, the npm
// standardwebhooks package), replays, address allowlists behind trusted and untrusted
// proxies, pause, the bot removed from a chat, and the operator CLI (a real subprocess)
// reaching the running bot at once.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { sign as octokitSign } from "@octokit/webhooks-methods";
import { Webhook } from "standardwebhooks";
import {
  type BotWithFake,
  type BotWithFakeOptions,
  startBotWithFake,
} from "../support/bot_with_fake.ts";
import { hooksCommand } from "../support/serve_process.ts";
import { waitUntil } from "../support/wait.ts";
import { createLogger } from "../../src/log.ts";
import { shownText } from "../support/shown_text.ts";

interface World extends BotWithFake {
  dir: string;
  alice: string;
  ops: string;
  /** Creates a hook from the chat as alice; resolves once both the DM and the ack arrived. */
  create(chatId: string, name: string): Promise<{ url: string; token: string }>;
  /** Sends a chat line and resolves with the bot's posts once one lands in `expectIn`. */
  say(text: string, expectIn?: string): Promise<{ chatId: string; text: string }[]>;
  post(token: string, body: string, headers?: Record<string, string>): Promise<Response>;
  /** The secret from the DM after `/webhook_verify <name> <mode>`. */
  verify(name: string, mode: string): Promise<string>;
}

async function withWorld(
  env: Record<string, string>,
  fn: (w: World) => Promise<void>,
  hooks?: BotWithFakeOptions["hooks"],
) {
  const dir = await Deno.makeTempDir({ prefix: "e2e-lifecycle-" });
  const base = await startBotWithFake({
    dir,
    ...(hooks ? { hooks } : {}),
    env: { LOG_LEVEL: "error", ...env },
    trueconf: { backoff: { initialMs: 20, maxMs: 200 } },
  });
  const alice = base.fake.userId("alice");
  const ops = base.addGroup({ chatId: "ops-chat", title: "Ops", owner: alice }).chatId;
  const dm = base.fake.p2pChatId(alice);
  const w: World = {
    ...base,
    dir,
    alice,
    ops,
    async create(chatId, name) {
      const made = await base.createHook(chatId, name, alice);
      await base.fake.waitFor(() =>
        base.fake.messagesIn(chatId).some((p) => p.text?.includes(`<b>${name}</b> created`))
      );
      return made;
    },
    async say(text, expectIn = ops) {
      const before = base.fake.sent.length;
      base.fake.pushMessage({ chatId: ops, authorId: alice, text: `${base.mention} ${text}` });
      await base.fake.waitFor(() =>
        base.fake.sent.slice(before).some((p) => p.chatId === expectIn)
      );
      // As a member sees them: HTML line breaks rendered.
      return base.fake.sent.slice(before).map((p) => ({ chatId: p.chatId, text: shownText(p) }));
    },
    post: (token, body, headers = {}) =>
      fetch(`${base.baseUrl}/hook/${token}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body,
      }),
    async verify(name, mode) {
      const posts = await w.say(`/webhook_verify ${name} ${mode}`, dm);
      const secret = posts.find((p) => p.chatId === dm)!.text.split("\n")[1]!;
      // The secret never appears outside the personal chat.
      for (const p of base.fake.sent) {
        if (p.chatId !== dm) assert.ok(!(p.text ?? "").includes(secret), "secret leaked");
      }
      return secret;
    },
  };
  try {
    await fn(w);
  } finally {
    await base.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const body = JSON.stringify({ text: "signed hello" });

/** A refusal as the endpoint answers it: status, machine code and a sentence. */
async function refused(res: Response, status: number, code: string) {
  const j = await res.json();
  assert.equal(res.status, status, JSON.stringify(j));
  assert.equal(j.error, code);
  assert.ok(typeof j.message === "string" && j.message.length > 10);
}

Deno.test("verify: GitHub, GitLab, Grafana, Standard Webhooks and bearer proofs; 401 signature_invalid otherwise, nothing posted", async () => {
  await withWorld({}, async (w) => {
    const { token } = await w.create(w.ops, "signed");
    const posted = () => w.fake.messagesIn(w.ops).filter((p) => p.text?.includes("signed hello"));
    const accept = async (headers: Record<string, string>, what: string) => {
      const before = posted().length;
      const res = await w.post(token, body, headers);
      assert.ok(
        res.status === 200 || res.status === 202,
        `${what}: ${res.status} ${await res.text()}`,
      );
      await w.fake.waitFor(() => posted().length === before + 1);
    };
    const reject = async (headers: Record<string, string>, what: string) => {
      const before = posted().length;
      await refused(await w.post(token, body, headers), 401, "signature_invalid");
      assert.equal(posted().length, before, what);
    };

    // GitHub, the algorithm written from GitHub's docs: sha256= + hex HMAC-SHA256 of the body.
    let secret = await w.verify("signed", "github");
    const gh = "sha256=" + createHmac("sha256", secret).update(body).digest("hex");
    await accept({ "x-hub-signature-256": gh }, "github (docs)");
    await accept({ "x-hub-signature-256": await octokitSign(secret, body) }, "github (octokit)");
    await reject({}, "github without header");
    await reject(
      { "x-hub-signature-256": gh.replace(/.$/, (c) => c === "0" ? "1" : "0") },
      "gh bad",
    );
    await reject({ "x-hub-signature-256": await octokitSign("other", body) }, "gh other secret");

    // GitLab: the Secret token header, or Standard Webhooks signing with the same secret.
    secret = await w.verify("signed", "gitlab");
    await accept({ "x-gitlab-token": secret }, "gitlab token");
    await reject({ "x-gitlab-token": secret + "x" }, "gitlab wrong token");
    const gl = new Webhook(secret);
    const glId = crypto.randomUUID();
    const glTs = new Date();
    await accept({
      "webhook-id": glId,
      "webhook-timestamp": String(Math.floor(glTs.getTime() / 1000)),
      "webhook-signature": gl.sign(glId, glTs, body),
    }, "gitlab signing");
    // The old GitHub secret no longer works.
    await reject({ "x-hub-signature-256": gh }, "mode changed");

    // Grafana 12: hex HMAC of the body, or of "timestamp:body" with a timestamp header.
    secret = await w.verify("signed", "grafana");
    await accept({
      "x-grafana-alerting-signature": createHmac("sha256", secret).update(body).digest("hex"),
    }, "grafana");
    const ts = String(Math.floor(Date.now() / 1000));
    await accept({
      "x-grafana-alerting-signature": createHmac("sha256", secret).update(`${ts}:${body}`).digest(
        "hex",
      ),
      "x-grafana-alerting-signature-timestamp": ts,
    }, "grafana with timestamp");
    await reject({
      "x-grafana-alerting-signature": createHmac("sha256", secret).update(body).digest("hex"),
      "x-grafana-alerting-signature-timestamp": ts, // signed without it
    }, "grafana timestamp not signed");

    // Standard Webhooks by the npm package; a replayed webhook-id is refused.
    secret = await w.verify("signed", "standard");
    assert.match(secret, /^whsec_/);
    const wh = new Webhook(secret);
    const id = crypto.randomUUID();
    const now = new Date();
    const headers = {
      "webhook-id": id,
      "webhook-timestamp": String(Math.floor(now.getTime() / 1000)),
      "webhook-signature": wh.sign(id, now, body),
    };
    await accept(headers, "standard");
    await reject(headers, "standard replay");
    const old = new Date(Date.now() - 6 * 60_000);
    const id2 = crypto.randomUUID();
    await reject({
      "webhook-id": id2,
      "webhook-timestamp": String(Math.floor(old.getTime() / 1000)),
      "webhook-signature": wh.sign(id2, old, body),
    }, "standard too old");

    // Bearer (Alertmanager http_config.authorization.credentials).
    secret = await w.verify("signed", "bearer");
    await accept({ authorization: `Bearer ${secret}` }, "bearer");
    await reject({ authorization: `Bearer ${secret.slice(1)}` }, "bearer wrong");
    await reject({}, "bearer missing");

    await w.say("/webhook_verify signed off");
    await accept({}, "verification off");
    // Each refusal is in the hook's history.
    const hook = (await w.bot.store.findByToken(token))!;
    const history = await w.bot.store.history(hook.id);
    assert.ok(
      history.some((h) => h.status === 401 && h.error === "signature_invalid"),
      JSON.stringify(history),
    );
  });
});

Deno.test("allow: the client address as the trusted-proxy rules resolve it; 403 address_not_allowed", async () => {
  // Loopback is a trusted proxy by default: its X-Forwarded-For names the client.
  await withWorld({}, async (w) => {
    const { token } = await w.create(w.ops, "ci");
    await w.say("/webhook_allow ci 203.0.113.0/24");
    await refused(await w.post(token, body), 403, "address_not_allowed");
    await refused(
      await w.post(token, body, { "x-forwarded-for": "198.51.100.7" }),
      403,
      "address_not_allowed",
    );
    const ok = await w.post(token, body, { "x-forwarded-for": "203.0.113.9" });
    assert.ok(ok.status < 300, `${ok.status}`);
    await ok.body?.cancel();
    await w.say("/webhook_allow ci any");
    const any = await w.post(token, body);
    assert.ok(any.status < 300);
    await any.body?.cancel();
  });
  // Loopback not trusted: X-Forwarded-For is ignored, the peer (127.0.0.1) is the client.
  await withWorld({ WEBHOOK_TRUSTED_PROXIES: "10.9.9.9/32" }, async (w) => {
    const { token } = await w.create(w.ops, "ci");
    await w.say("/webhook_allow ci 203.0.113.0/24");
    await refused(
      await w.post(token, body, { "x-forwarded-for": "203.0.113.9" }),
      403,
      "address_not_allowed",
    );
    await w.say("/webhook_allow ci 127.0.0.1");
    const ok = await w.post(token, body, { "x-forwarded-for": "203.0.113.9" });
    assert.ok(ok.status < 300, `${ok.status}`);
    await ok.body?.cancel();
  });
});

Deno.test("allow: ranges at their edges, IPv6, and IPv4-mapped entries admit the IPv4 client they name", async () => {
  const status = async (res: Response) => {
    await res.body?.cancel();
    return res.status;
  };
  // Loopback is trusted by default: X-Forwarded-For names the client.
  await withWorld({}, async (w) => {
    const { token } = await w.create(w.ops, "ci");
    const from = (ip: string) => w.post(token, body, { "x-forwarded-for": ip }).then(status);
    await w.say("/webhook_allow ci 203.0.113.0/24, 2001:db8::/32");
    assert.equal(await from("203.0.113.0"), 200);
    assert.equal(await from("203.0.113.255"), 200);
    assert.equal(await from("203.0.112.255"), 403);
    assert.equal(await from("203.0.114.0"), 403);
    assert.equal(await from("2001:db8:ffff::1"), 200);
    assert.equal(await from("2001:db9::1"), 403);
    // A dual-stack proxy may write the client as IPv4-mapped IPv6: it is the same client.
    assert.equal(await from("::ffff:203.0.113.9"), 200);
    // Written as the network it matches: host bits dropped, as the reply and info show.
    const r = await w.say("/webhook_allow ci 198.51.100.77/24");
    assert.match(r.at(-1)!.text, /only from 198\.51\.100\.0\/24; others get 403/);
    assert.equal(await from("198.51.100.1"), 200);
  });
  // Loopback not trusted: the TCP peer 127.0.0.1 is the client. An operator who copies the
  // address from a dual-stack log (::ffff:127.0.0.1) means that client.
  await withWorld({ WEBHOOK_TRUSTED_PROXIES: "10.9.9.9/32" }, async (w) => {
    const { token } = await w.create(w.ops, "ci");
    let r = await w.say("/webhook_allow ci ::ffff:127.0.0.1");
    assert.match(r.at(-1)!.text, /only from 127\.0\.0\.1\/32; others get 403/);
    assert.equal(await status(await w.post(token, body)), 200);
    r = await w.say("/webhook_allow ci ::ffff:127.0.0.0/104");
    assert.match(r.at(-1)!.text, /only from 127\.0\.0\.0\/8; others get 403/);
    assert.equal(await status(await w.post(token, body)), 200);
    const hook = (await w.bot.store.findByToken(token))!;
    assert.deepEqual(hook.allow, ["127.0.0.0/8"]);
  });
});

Deno.test("rotate: /webhook_info names the client address of each request on the old URL, so the owner finds the straggler", async () => {
  await withWorld({}, async (w) => {
    const { token: old } = await w.create(w.ops, "ci");
    const dm = w.fake.p2pChatId(w.alice);
    const posts = await w.say("/webhook_rotate ci 1h", dm);
    const fresh = posts.find((p) => p.chatId === dm)!.text.match(/\/hook\/([A-Za-z0-9_-]+)/)![1]!;
    // Loopback is a trusted proxy by default: X-Forwarded-For names the client.
    const straggler = await w.post(old, body, { "x-forwarded-for": "203.0.113.9" });
    assert.equal(straggler.status, 200, await straggler.text());
    const switched = await w.post(fresh, body, { "x-forwarded-for": "198.51.100.2" });
    assert.equal(switched.status, 200, await switched.text());
    const info = (await w.say("/webhook_info ci")).map((p) => p.text).join("\n");
    assert.match(
      info,
      /Rotation: old URL works until .* · used 1 time since, last .*, from 203\.0\.113\.9/,
    );
    const lines = info.split("\n").filter((l) => l.startsWith("• "));
    assert.equal(lines.length, 2, info);
    assert.match(lines[0]!, /· 200 · native · delivered$/, "the new URL's request: no note");
    assert.match(lines[1]!, /· 200 · native · delivered · old URL from 203\.0\.113\.9$/);
    assert.ok(!info.includes("198.51.100.2"), "addresses are shown only for old-URL requests");
  });
});

Deno.test("rotate: each use of the old URL in its grace is counted in /metrics by hook id; the new URL is not", async () => {
  await withWorld({}, async (w) => {
    const { token: old } = await w.create(w.ops, "ci");
    const hook = (await w.bot.store.findByToken(old))!;
    const dm = w.fake.p2pChatId(w.alice);
    const posts = await w.say("/webhook_rotate ci 1h", dm);
    const fresh = posts.find((p) => p.chatId === dm)!.text.match(/\/hook\/([A-Za-z0-9_-]+)/)![1]!;
    assert.notEqual(fresh, old);
    const series = `trueconf_webhook_rotated_token_uses_total{hook="${hook.id}"}`;
    const scrape = async () => await (await fetch(`${w.baseUrl}/metrics`)).text();
    assert.ok(!(await scrape()).includes(series), "counted before any use");
    for (let i = 0; i < 2; i++) {
      const res = await w.post(old, JSON.stringify({ text: `old ${i}` }));
      assert.equal(res.status, 200, await res.text());
    }
    const viaNew = await w.post(fresh, JSON.stringify({ text: "new" }));
    assert.equal(viaNew.status, 200, await viaNew.text());
    const text = await scrape();
    assert.match(text, new RegExp(`^${series.replace(/[{}"]/g, "\\$&")} 2$`, "m"));
    assert.ok(!text.includes(old) && !text.includes(fresh), "a token in /metrics");
  });
});

// docs/security.md: "Each use of the old URL during the grace is logged (`old webhook URL used
// during its grace period`, hook id only; the request's `hook delivery` line has its `ip`)".
Deno.test("rotate: each use of the old URL in its grace is logged, by hook id with the client on its delivery line; the new URL's are not", async () => {
  const dir = await Deno.makeTempDir({ prefix: "e2e-lifecycle-" });
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level: "info", write: (l) => void lines.push(JSON.parse(l)) });
  const w = await startBotWithFake({ dir, logger });
  try {
    const alice = w.fake.userId("alice");
    w.addGroup({ chatId: "ops", title: "Ops", owner: alice });
    const { token: old } = await w.createHook("ops", "ci", alice);
    const hook = (await w.bot.store.findByToken(old))!;
    const dm = w.fake.p2pChatId(alice);
    const seen = w.fake.messagesIn(dm).length;
    w.fake.pushMessage({
      chatId: "ops",
      authorId: alice,
      text: `${w.mention} /webhook_rotate ci 1h`,
    });
    await w.fake.waitFor(() => w.fake.messagesIn(dm).length > seen);
    const fresh = /\/hook\/([A-Za-z0-9_-]+)/.exec(w.fake.messagesIn(dm).at(-1)!.text!)![1]!;
    const post = async (token: string, ip: string) => {
      const res = await fetch(`${w.baseUrl}/hook/${token}`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-forwarded-for": ip },
        body: JSON.stringify({ text: "hello" }),
      });
      assert.equal(res.status, 200, await res.text());
    };
    await post(old, "203.0.113.9");
    await post(fresh, "198.51.100.2");
    await post(old, "203.0.113.10");
    const used = lines.filter((l) => l.msg === "old webhook URL used during its grace period");
    assert.equal(used.length, 2, JSON.stringify(lines));
    for (const l of used) assert.equal(l.hook, hook.id);
    const delivered = lines.filter((l) => l.msg === "hook delivery").map((l) => l.ip);
    assert.deepEqual(delivered, ["203.0.113.9", "198.51.100.2", "203.0.113.10"]);
    for (const l of lines) {
      const text = JSON.stringify(l);
      assert.ok(!text.includes(old) && !text.includes(fresh), `a token in the log: ${text}`);
    }
  } finally {
    await w.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pause answers 404 like an unknown token, nothing queued; the bot removed from a chat pauses its hooks and tells the creator", async () => {
  await withWorld({}, async (w) => {
    const { token } = await w.create(w.ops, "deploys");
    const hook0 = (await w.bot.store.findByToken(token))!;
    await w.say("/webhook_pause deploys");
    const before = w.fake.messagesIn(w.ops).length;
    await refused(await w.post(token, body), 404, "hook_not_found");
    await w.say("/webhook_resume deploys");
    assert.equal(w.fake.messagesIn(w.ops).length, before + 1, "only the resume reply");
    const res = await w.post(token, body);
    assert.ok(res.status < 300);
    await res.body?.cancel();

    // TrueConf away: the request is queued (202); the later delivery shows in the history.
    await w.fake.refuseConnections(true);
    w.fake.dropAll();
    await waitUntil(() => !w.bot.client.state.authorized, 5_000, "bot disconnected");
    const queued = await w.post(token, JSON.stringify({ text: "while away" }));
    assert.equal(queued.status, 202);
    await queued.body?.cancel();
    await w.fake.refuseConnections(false);
    await w.fake.waitFor(() => w.fake.messagesIn(w.ops).some((p) => p.text === "while away"));
    const info = await w.say("/webhook_info deploys");
    await waitUntil(
      async () => {
        const h = await w.bot.store.history(hook0.id);
        return h.some((e) => e.status === 0 && e.outcome === "delivered");
      },
      5_000,
      "queued delivery in the history",
    );
    assert.match(info.map((p) => p.text).join("\n"), /· 202 · native · queued/);

    // The bot is removed from the chat (TrueConf removeChatParticipant for the bot).
    const dm = w.fake.p2pChatId(w.alice);
    const dmBefore = w.fake.messagesIn(dm).length;
    w.fake.pushEvent("removeChatParticipant", {
      chatId: w.ops,
      userId: w.fake.botId,
      removedBy: { id: w.alice, type: 1 },
      timestamp: Date.now(),
    });
    await w.fake.waitFor(() => w.fake.messagesIn(dm).length > dmBefore);
    assert.match(
      w.fake.messagesIn(dm).at(-1)!.text!,
      /I was removed from «Ops», so your webhook <b>deploys<\/b> is paused/,
    );
    await refused(await w.post(token, body), 404, "hook_not_found");
    const hook = (await w.bot.store.listByChat(w.ops))[0]!;
    assert.equal(hook.paused?.reason, "bot_removed");
    // Back in the chat (TrueConf addChatParticipant for the bot): /webhook_resume there, as the
    // notice says, and the URL works again.
    w.fake.pushEvent("addChatParticipant", {
      chatId: w.ops,
      userId: w.fake.botId,
      addedBy: { id: w.alice, type: 1 },
      timestamp: Date.now(),
    });
    const resumed = await w.say("/webhook_resume deploys");
    assert.match(resumed.map((p) => p.text).join("\n"), /deploys.* resumed/);
    const back = await w.post(token, body);
    assert.ok(back.status < 300, `${back.status}`);
    await back.body?.cancel();

    // The chat removed: another chat's hooks pause too.
    const dev = w.addGroup({ chatId: "dev-chat", title: "Dev", owner: w.alice }).chatId;
    const t2 = await w.create(dev, "builds");
    w.fake.pushEvent("removeChat", { chatId: dev });
    await waitUntil(async () => (await w.bot.store.findByName(dev, "builds"))?.paused !== null);
    await refused(await w.post(t2.token, body), 404, "hook_not_found");
  });
});

Deno.test("expiry through the whole bot: the sweep warns the creator, then the expired hook answers 404 and its waiting deliveries end hook_expired", async () => {
  const DAY = 86_400_000;
  let now = Date.UTC(2026, 0, 1);
  await withWorld({}, async (w) => {
    const { token } = await w.create(w.ops, "nightly");
    const hook = (await w.bot.store.findByToken(token))!;
    await w.say("/webhook_expire nightly 10d");
    assert.equal((await w.bot.store.get(hook.id))?.expiresAt, now + 10 * DAY);
    const dm = w.fake.p2pChatId(w.alice);
    const warned = () =>
      w.fake.messagesIn(dm).some((p) => p.text?.includes("⏳ Webhook <b>nightly</b>"));
    assert.ok(!warned());

    // Eight days on (less than three days left): the bot's own sweep timer sends the reminder.
    now += 8 * DAY;
    await w.fake.waitFor(warned, 5_000);
    assert.ok((await w.bot.store.get(hook.id))?.expiryWarnedAt !== null);
    const ok = await w.post(token, body);
    assert.ok(ok.status < 300, await ok.text());

    // A backlog: TrueConf refuses sendMessage, so new deliveries wait in the queue.
    w.fake.setMethodError("sendMessage", 300);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await w.post(token, JSON.stringify({ text: `late ${i}` }));
      assert.equal(r.status, 202);
      ids.push((await r.json()).delivery);
    }
    const before = w.fake.messagesIn(w.ops).length;

    // Past the expiry: the next sweep revokes the hook and drops what waits.
    now += 3 * DAY;
    await waitUntil(async () => (await w.bot.store.get(hook.id)) === null, 5_000, "hook expired");
    await refused(await w.post(token, body), 404, "hook_not_found");
    await waitUntil(
      async () => {
        const s = await Promise.all(ids.map((id) => w.bot.queue.status(hook.id, id)));
        return s.every((x) => x?.state === "failed" && x.error?.code === "hook_expired");
      },
      5_000,
      "waiting deliveries dropped as hook_expired",
    );
    // TrueConf recovers: nothing of the dropped backlog reaches the chat.
    w.fake.setMethodError("sendMessage", null);
    await w.say("/webhook_list");
    assert.ok(!w.fake.messagesIn(w.ops).slice(before).some((p) => p.text?.includes("late ")));
  }, { now: () => now, expirySweepMs: 20 });
});

Deno.test("revoke from the chat with a backlog: the next POST is 404, the waiting deliveries end hook_revoked, nothing posts after TrueConf recovers", async () => {
  await withWorld({}, async (w) => {
    const { token } = await w.create(w.ops, "deploys");
    const hook = (await w.bot.store.findByToken(token))!;
    // A backlog: TrueConf refuses sendMessage (a transient error), so deliveries wait queued.
    w.fake.setMethodError("sendMessage", 300);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await w.post(token, JSON.stringify({ text: `backlog ${i}` }));
      assert.equal(r.status, 202);
      ids.push((await r.json()).delivery);
    }
    for (const id of ids) {
      assert.ok(["queued", "delivering"].includes((await w.bot.queue.status(hook.id, id))!.state));
    }

    // Revoked from the chat (its answer cannot be posted while TrueConf refuses; the revoke
    // itself does not wait for it).
    w.fake.pushMessage({
      chatId: w.ops,
      authorId: w.alice,
      text: `${w.mention} /webhook_revoke deploys`,
    });
    await waitUntil(async () => (await w.bot.store.get(hook.id)) === null, 5_000, "revoked");
    await refused(await w.post(token, body), 404, "hook_not_found");
    await waitUntil(
      async () => {
        const s = await Promise.all(ids.map((id) => w.bot.queue.status(hook.id, id)));
        return s.every((x) => x?.state === "failed" && x.error?.code === "hook_revoked");
      },
      5_000,
      "waiting deliveries dropped as hook_revoked",
    );

    // TrueConf recovers: the chat works again, and none of the dropped backlog reaches it.
    w.fake.setMethodError("sendMessage", null);
    const posts = await w.say("/webhook_list");
    assert.ok(posts.some((p) => p.chatId === w.ops), "the bot answers again");
    assert.ok(
      !w.fake.messagesIn(w.ops).some((p) => p.text?.includes("backlog ")),
      "a dropped delivery was posted",
    );
    assert.equal(w.bot.queue.stats().depth, 0);
  });
});

// The CLI rings the store's doorbell and the bot looks at once: milliseconds when idle. A lost
// ring leaves the change to the doorbell's safety poll (every 5 s, at any phase), which 3 s
// catches at most checks (tests/storage/doorbell_test.ts proves the ring without the poll);
// a bot kept off the CPU for 2 s by a loaded machine still passes.
const PICKUP_MS = 3_000;

Deno.test("operator CLI changes reach the running bot at once (its doorbell); revoke drops the waiting deliveries", async () => {
  await withWorld({}, async (w) => {
    const { token } = await w.create(w.ops, "deploys");
    const hook = (await w.bot.store.findByToken(token))!;
    const cached = await w.post(token, body); // the running bot now has it cached
    assert.ok(cached.status < 300);
    await cached.body?.cancel();

    const paused = await hooksCommand(w.dir, "pause", "--chat", w.ops, "--name", "deploys");
    assert.equal(paused.code, 0, paused.stderr);
    let t0 = Date.now();
    await waitUntil(
      async () => {
        const r = await w.post(token, body);
        await r.body?.cancel();
        return r.status === 404;
      },
      PICKUP_MS,
      "404 after hooks pause",
    );
    const pauseMs = Date.now() - t0;
    assert.ok(pauseMs < PICKUP_MS, `${pauseMs} ms`);

    assert.equal((await hooksCommand(w.dir, "resume", hook.id)).code, 0);
    await waitUntil(
      async () => {
        const r = await w.post(token, body);
        await r.body?.cancel();
        return r.status < 300;
      },
      PICKUP_MS,
      "accepted after hooks resume",
    );

    // A backlog: TrueConf stops answering sendMessage, so deliveries wait in the queue.
    w.fake.setMethodDelay("sendMessage", "never");
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await w.post(token, JSON.stringify({ text: `backlog ${i}` }));
      assert.equal(r.status, 202);
      ids.push((await r.json()).delivery);
    }
    const revoked = await hooksCommand(w.dir, "revoke", "--chat", w.ops, "--name", "deploys");
    assert.equal(revoked.code, 0, revoked.stderr);
    t0 = Date.now();
    await waitUntil(
      async () => {
        const r = await w.post(token, body);
        await r.body?.cancel();
        return r.status === 404;
      },
      PICKUP_MS,
      "404 after hooks revoke",
    );
    // The waiting ones (not the one stuck in TrueConf's hands) end failed: hook_revoked.
    await waitUntil(
      async () => {
        const s = await Promise.all(ids.slice(1).map((id) => w.bot.queue.status(hook.id, id)));
        return s.every((x) => x?.state === "failed" && x.error?.code === "hook_revoked");
      },
      PICKUP_MS,
      "waiting deliveries dropped",
    );
    assert.ok(Date.now() - t0 < PICKUP_MS, `${Date.now() - t0} ms`);
    w.fake.setMethodDelay("sendMessage", 0);
  });
});
