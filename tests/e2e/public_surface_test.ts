// What the public side of the bot shows and serves, over real sockets against the fake
// TrueConf (issue 17.5–17.7): /readyz minimal unless METRICS_TOKEN or loopback; the client IP
// (as the trusted-proxy rules resolve it) on each delivery log line; a WEBHOOK_PUBLIC_URL with
// a path served end to end.
import assert from "node:assert/strict";
import { createLogger } from "../../src/log.ts";
import { startBotWithFake } from "../support/bot_with_fake.ts";
import { FakeTrueConf } from "../support/fake_trueconf.ts";
import { fetchOAuthToken } from "../../src/trueconf/oauth.ts";
import { waitUntil } from "../support/wait.ts";
import { find, parseExposition } from "../observability/_exposition.ts";

const METRICS_TOKEN = "readyz-details-token";
const FORM = { "content-type": "application/x-www-form-urlencoded" };

async function withBot(
  extra: { publicPath?: string; lines?: string[] },
  fn: (b: Awaited<ReturnType<typeof startBotWithFake>>) => Promise<void>,
) {
  const dir = await Deno.makeTempDir({ prefix: "public_surface_" });
  const lines = extra.lines;
  const b = await startBotWithFake({
    dir,
    env: { METRICS_TOKEN },
    ...(extra.publicPath ? { publicPath: extra.publicPath } : {}),
    ...(lines ? { logger: createLogger({ write: (l) => lines.push(l) }) } : {}),
  });
  try {
    await fn(b);
  } finally {
    await b.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("/readyz: the public answer is status and queue depth; details need METRICS_TOKEN or loopback", async () => {
  await withBot({}, async (b) => {
    const get = async (headers: Record<string, string>) => {
      const res = await fetch(`${b.baseUrl}/readyz`, { headers });
      return { status: res.status, text: await res.text() };
    };
    // A request the local reverse proxy forwards from the internet (the peer is loopback, a
    // trusted proxy, and X-Forwarded-For names the real client).
    const viaProxy = { "x-forwarded-for": "203.0.113.9" };
    const pub = await get(viaProxy);
    assert.equal(pub.status, 200);
    assert.deepEqual(JSON.parse(pub.text), {
      ok: true,
      problems: [],
      queue: { depth: 0, oldestAgeSeconds: 0 },
    });
    assert.ok(!pub.text.includes(b.fake.botId), "no bot id");
    assert.ok(!pub.text.includes("127.0.0.1"), "no internal address");

    const wrong = await get({ ...viaProxy, authorization: "Bearer not-the-token" });
    assert.deepEqual(Object.keys(JSON.parse(wrong.text)).sort(), ["ok", "problems", "queue"]);

    for (
      const headers of [
        { ...viaProxy, authorization: `Bearer ${METRICS_TOKEN}` }, // the monitoring system
        {}, // curl on the bot's own machine
      ]
    ) {
      const full = JSON.parse((await get(headers)).text);
      assert.equal(full.ok, true);
      // The README: "Everyone gets {ok, problems, queue: {depth, oldestAgeSeconds}}"; the
      // details add to that shape, so a monitor's query works from anywhere (it lacked
      // oldestAgeSeconds on the bot's own machine, where step 5 of the install checks it).
      assert.deepEqual(
        { depth: full.queue.depth, oldestAgeSeconds: full.queue.oldestAgeSeconds },
        { depth: 0, oldestAgeSeconds: 0 },
      );
      assert.equal(full.trueconf.connected, true);
      assert.equal(full.trueconf.botId, b.fake.botId.toLowerCase());
      assert.deepEqual(full.problems, []);
    }
  });
});

// Issue 2: "with a static token, warn in the log as expiry approaches and report it in
// readiness". A static TRUECONF_TOKEN is never renewed, so /readyz's details (and the metric)
// are where an operator sees the date it stops working, before it does.
Deno.test("/readyz details with a static TRUECONF_TOKEN: the token's expiry, as the JWT says", async () => {
  const dir = await Deno.makeTempDir({ prefix: "public_surface_" });
  const fake = await FakeTrueConf.start({
    bot: { login: "webhook_bot", password: "secret" },
    tokenTtlSeconds: 3 * 86_400,
  });
  try {
    const { token, expiresAt } = await fetchOAuthToken(
      { server: "127.0.0.1", https: false, port: fake.port, verifyTls: true },
      { username: "webhook_bot", password: "secret" },
    );
    const lines: string[] = [];
    const b = await startBotWithFake({
      dir,
      reuseFake: fake,
      env: { TRUECONF_TOKEN: token },
      logger: createLogger({ write: (l) => lines.push(l) }),
    });
    try {
      const warned = lines.map((l) => JSON.parse(l)).find((l) => l.level === "warn");
      assert.equal(warned?.msg, "trueconf static token expires soon; set a new TRUECONF_TOKEN");
      assert.equal(fake.tokensIssued, 1, "the bot used the static token, asked for none");
      const full = await (await fetch(`${b.baseUrl}/readyz`)).json();
      assert.equal(full.ok, true);
      assert.equal(full.trueconf.tokenExpiresAt, new Date(expiresAt!).toISOString());
      const x = parseExposition(await (await fetch(`${b.baseUrl}/metrics`)).text());
      assert.equal(
        find(x, "trueconf_webhook_trueconf_token_expiry_timestamp_seconds")[0]?.value,
        Math.floor(expiresAt! / 1000),
      );
    } finally {
      await b.close();
    }
  } finally {
    await fake.close();
    await Deno.remove(dir, { recursive: true });
  }
});

// Issue 4 asks /readyz to say what is wrong; issue 17.7 to keep the public answer minimal. The
// public answer said only {"ok": false}: a monitor outside the host could not tell a TrueConf
// outage from a bot shutting down. Now the reason, in fixed words, and nothing internal.
Deno.test("/readyz not ready: the public answer says what is wrong, never where or who", async () => {
  await withBot({}, async (b) => {
    const viaProxy = { "x-forwarded-for": "203.0.113.9" };
    const get = async (headers: Record<string, string> = viaProxy) => {
      const res = await fetch(`${b.baseUrl}/readyz`, { headers });
      return { status: res.status, text: await res.text() };
    };
    await b.fake.refuseConnections(true);
    await waitUntil(async () => (await get()).status === 503, 5_000, "/readyz 503");
    const pub = await get();
    assert.deepEqual(JSON.parse(pub.text), {
      ok: false,
      problems: ["not connected to TrueConf"],
      queue: { depth: 0, oldestAgeSeconds: 0 },
    });
    assert.ok(!pub.text.includes(String(b.fake.port)), "no internal address");
    assert.ok(!pub.text.includes(b.fake.botId), "no bot id");
    // The operator's view still has the cause.
    const full = JSON.parse((await get({ authorization: `Bearer ${METRICS_TOKEN}` })).text);
    assert.equal(full.trueconf.connected, false);
    assert.deepEqual(full.problems, ["not connected to TrueConf"]);
    assert.equal(typeof full.trueconf.lastError, "string");
    await b.fake.refuseConnections(false);
    await waitUntil(async () => (await get()).status === 200, 10_000, "/readyz 200 again");
    assert.deepEqual(JSON.parse((await get()).text), {
      ok: true,
      problems: [],
      queue: { depth: 0, oldestAgeSeconds: 0 },
    });
  });
});

// The metrics route alone answered 401 (its unit test), but mounted in the bot its refusal
// reached the root app's error handler and became "500 internal_error" with an error log line,
// for every scrape without the token: Prometheus saw a broken bot, not a missing credential.
Deno.test("/metrics with METRICS_TOKEN: 401 unauthorized without or with a wrong token, 200 with it", async () => {
  const lines: string[] = [];
  await withBot({ lines }, async (b) => {
    for (const headers of [{}, { authorization: "Bearer wrong" }] as Record<string, string>[]) {
      const res = await fetch(`${b.baseUrl}/metrics`, { headers });
      const body = await res.json();
      assert.equal(res.status, 401, JSON.stringify(body));
      assert.equal(body.error, "unauthorized");
      assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer /);
    }
    const ok = await fetch(`${b.baseUrl}/metrics`, {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    assert.equal(ok.status, 200);
    assert.match(await ok.text(), /^# HELP trueconf_webhook_/m);
  });
  assert.ok(!lines.some((l) => JSON.parse(l).level === "error"), lines.join("\n"));
});

// A counter series that first appears at 1 is invisible to increase()/rate(): Prometheus has no
// earlier sample, so an alert on "any rate-limit rejection" or "any failed part" missed the first
// one, and a dashboard showed "no data" instead of 0. The closed label sets are there from start.
Deno.test("/metrics of a fresh bot: every counter of a closed label set is already there at 0", async () => {
  await withBot({}, async (b) => {
    const res = await fetch(`${b.baseUrl}/metrics`, {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    assert.equal(res.status, 200);
    const x = parseExposition(await res.text());
    // The label values are the ones docs/deploy.md's metrics table lists for each counter.
    const table = Deno.readTextFileSync(new URL("../../docs/deploy.md", import.meta.url));
    for (
      const name of [
        "trueconf_webhook_rate_limit_rejections_total",
        "trueconf_webhook_delivered_messages_total",
        "trueconf_webhook_outgoing_calls_total",
        "trueconf_webhook_failed_parts_total",
      ]
    ) {
      const row = table.split("\n").find((l) => l.startsWith(`| \`${name}\``)) ?? "";
      const [, label, list] = row.match(/\| `(\w+)` \(([^)]+)\)/) ?? [];
      assert.ok(label && list, `docs/deploy.md lists no label values for ${name}`);
      for (const v of list.split(", ")) {
        const found = find(x, name, { [label]: v });
        assert.equal(found.length, 1, `${name}{${label}="${v}"} missing`);
        assert.equal(found[0]!.value, 0, `${name}{${label}="${v}"}`);
      }
    }
  });
});

// docs/deploy.md's metrics table is what a dashboard is built from. Session 14's audit found its
// `route` label promising healthz, readyz and metrics series that no request ever made (only hook
// URLs are counted); this keeps the table and the scrape together, name by name and type by type.
Deno.test("/metrics is docs/deploy.md's metrics table: every family with its type, and the route values it lists", async () => {
  await withBot({}, async (b) => {
    const ops = b.addGroup({ chatId: "ops", title: "Ops", owner: b.fake.userId("alice") });
    const { url } = await b.createHook(ops.chatId, "deploys", b.fake.userId("alice"));
    const post = (target: string) =>
      fetch(target, { method: "POST", body: "text=hello", headers: FORM }).then((r) => r.text());
    await post(url);
    await post(`${url}/slack`);
    await post(url.replace("/hook/", "/hooks/"));
    await (await fetch(`${url}/deliveries/none`)).text();
    for (const path of ["/healthz", "/readyz", "/metrics"]) {
      await (await fetch(b.baseUrl + path)).text();
    }
    const res = await fetch(`${b.baseUrl}/metrics`, {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    const x = parseExposition(await res.text());

    const deploy = Deno.readTextFileSync(new URL("../../docs/deploy.md", import.meta.url));
    // The Metrics section's table (other sections have tables whose rows start alike).
    const docs = /^## Metrics\n([\s\S]*?)^## /m.exec(deploy)?.[1] ?? "";
    const table = new Map<string, string>(); // name → type
    let routes: string[] = [];
    for (const line of docs.split("\n")) {
      const row = /^\| (`[^|]*`) +\| ([^|]+?) +\|(.*)\|$/.exec(line);
      if (!row) continue;
      const names = [...row[1]!.matchAll(/`([^`]+)`/g)].map((m) =>
        m[1]!.replace(/^…/, "trueconf_webhook")
      );
      const types = row[2]!.split(", ").map((t) => t.split(" ")[0]!);
      names.forEach((n, i) => table.set(n, types[Math.min(i, types.length - 1)]!));
      const route = /`route` \(([^)]+)\)/.exec(row[3]!);
      if (route) routes = route[1]!.split(", ");
    }
    assert.ok(table.size >= 15, `docs/deploy.md's table read as ${[...table.keys()]}`);
    assert.deepEqual(new Map([...x.types].sort()), new Map([...table].sort()));

    const seen = new Set(
      x.samples.filter((s) => s.name === "trueconf_webhook_http_requests_total")
        .map((s) => s.labels.route!),
    );
    // One request of each route the table lists (Slack's shape is `other`), and /healthz,
    // /readyz and /metrics, which are not counted.
    assert.deepEqual([...seen].sort(), [...routes].sort());
  });
});

Deno.test("each delivery log line names the client, as the trusted-proxy rules resolve it", async () => {
  const lines: string[] = [];
  await withBot({ lines }, async (b) => {
    b.addGroup({ chatId: "ops", title: "Ops", owner: b.fake.userId("alice") });
    const { url } = await b.createHook("ops", "ci", b.fake.userId("alice"));
    for (const headers of [{ "x-forwarded-for": "198.51.100.23" }, {}]) {
      const res = await fetch(url, {
        method: "POST",
        headers,
        body: new URLSearchParams({ text: "hi" }),
      });
      assert.equal(res.status, 200, await res.text());
    }
    const ips = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === "hook delivery")
      .map((l) => l.ip);
    assert.deepEqual(ips, ["198.51.100.23", "127.0.0.1"]);
  });
});

// A queued message's request line says 202 queued; the line that tells the operator how it ended
// carried no outcome and its duration under another name (waitedMs), so a query for deliveries by
// outcome and ms (the fields of the request's line) missed every queued one.
Deno.test("a queued delivery's end is logged with hook, chat, outcome and ms, like a request's line", async () => {
  const lines: string[] = [];
  await withBot({ lines }, async (b) => {
    b.addGroup({ chatId: "ops", title: "Ops", owner: b.fake.userId("alice") });
    const { url } = await b.createHook("ops", "ci", b.fake.userId("alice"));
    await b.fake.refuseConnections(true);
    b.fake.dropAll();
    await waitUntil(() => !b.bot.client.authorized, 10_000, "link down");
    const res = await fetch(url, { method: "POST", body: new URLSearchParams({ text: "later" }) });
    const body = await res.text();
    assert.equal(res.status, 202, body);
    const { delivery } = JSON.parse(body);
    await b.fake.refuseConnections(false);
    const parsed = () => lines.map((l) => JSON.parse(l));
    await waitUntil(
      () => parsed().some((l) => l.delivery === delivery && l.msg === "queued delivery delivered"),
      30_000,
      "the queued delivery's end",
    );
    const end = parsed().find((l) => l.msg === "queued delivery delivered")!;
    const hook = parsed().find((l) => l.msg === "hook delivery")!.hook;
    assert.equal(end.hook, hook);
    assert.equal(end.chat, "ops");
    assert.equal(end.outcome, "delivered");
    assert.equal(typeof end.ms, "number");
    assert.ok(end.ms >= 0);
  });
});

Deno.test("WEBHOOK_PUBLIC_URL with a path: its hook URLs work as given, and without the prefix", async () => {
  await withBot({ publicPath: "/tc" }, async (b) => {
    b.addGroup({ chatId: "ops", title: "Ops", owner: b.fake.userId("alice") });
    const { url, token } = await b.createHook("ops", "ci", b.fake.userId("alice"));
    assert.equal(url, `${b.baseUrl}/tc/hook/${token}`);
    // A proxy that passes the path through…
    const through = await fetch(url, {
      method: "POST",
      body: new URLSearchParams({ text: "via /tc" }),
    });
    assert.equal(through.status, 200, await through.text());
    // …and one that strips it.
    const stripped = await fetch(`${b.baseUrl}/hook/${token}`, {
      method: "POST",
      body: new URLSearchParams({ text: "stripped" }),
    });
    assert.equal(stripped.status, 200, await stripped.text());
    assert.deepEqual(b.fake.messagesIn("ops").map((m) => m.text).slice(-2), [
      "via /tc",
      "stripped",
    ]);
    const ready = await fetch(`${b.baseUrl}/tc/readyz`);
    assert.equal(ready.status, 200);
    await ready.body?.cancel();
    const unknown = await fetch(`${b.baseUrl}/tc/hook/not-a-token`, { method: "POST", body: "x" });
    assert.equal(unknown.status, 404);
    assert.equal((await unknown.json()).error, "hook_not_found");
  });
});

Deno.test("WEBHOOK_PUBLIC_URL with a path: the dialects' own URLs under it (ntfy <public>/hook and <public>/, Gotify <public>/message, Mattermost <public>/hooks/, Discord <hook>/slack)", async () => {
  // docs/formats.md gives these as <public>/…: a sender configured with the public URL, path
  // included, must reach the hook (issue 15's routes, issue 17's served path).
  await withBot({ publicPath: "/tc" }, async (b) => {
    b.addGroup({ chatId: "ops", title: "Ops", owner: b.fake.userId("alice") });
    const { url, token } = await b.createHook("ops", "ci", b.fake.userId("alice"));
    const publicUrl = `${b.baseUrl}/tc`;
    const json = (body: unknown, headers: Record<string, string> = {}) => ({
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    });
    const answers: [string, number, string][] = [];
    for (
      const [label, target, init] of [
        ["ntfy /hook", `${publicUrl}/hook`, json({ topic: token, message: "ntfy at /hook" })],
        ["ntfy root", `${publicUrl}/`, json({ topic: token, message: "ntfy at the root" })],
        ["gotify", `${publicUrl}/message`, json({ message: "gotify" }, { "X-Gotify-Key": token })],
        ["mattermost", `${publicUrl}/hooks/${token}`, json({ text: "mattermost" })],
        ["discord slack", `${url}/slack`, json({ text: "discord's slack endpoint" })],
      ] as const
    ) {
      const res = await fetch(target, init);
      const text = await res.text();
      answers.push([label, res.status, text.slice(0, 80)]);
    }
    assert.deepEqual(answers.map(([label, status]) => [label, status]), [
      ["ntfy /hook", 200],
      ["ntfy root", 200],
      ["gotify", 200],
      ["mattermost", 200],
      ["discord slack", 200],
    ], JSON.stringify(answers));
    assert.match(answers[0]![2], /^\{"id":"[0-9a-f]+","time":/);
    assert.match(answers[2]![2], /^\{"id":\d+,"appid":/);
    assert.equal(answers[3]![2], "ok");
    assert.deepEqual(b.fake.messagesIn("ops").map((m) => m.text).slice(-5), [
      "ntfy at /hook",
      "ntfy at the root",
      "gotify",
      "mattermost",
      "discord's slack endpoint",
    ]);
  });
});

Deno.test("a hook URL pasted with a trailing slash works as without it", async () => {
  await withBot({ publicPath: "/tc" }, async (b) => {
    b.addGroup({ chatId: "ops", title: "Ops", owner: b.fake.userId("alice") });
    const { url, token } = await b.createHook("ops", "ci", b.fake.userId("alice"));
    // Some senders' URL fields and copy-pastes end the URL with "/" (Apprise's json://, Uptime
    // Kuma's webhook field): the bot's own routes answer it, under the prefix and without.
    for (const [i, target] of [`${url}/`, `${b.baseUrl}/hook/${token}/`].entries()) {
      const res = await fetch(target, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ text: `slash ${i}` }),
      });
      assert.equal(res.status, 200, await res.text());
    }
    assert.deepEqual(b.fake.messagesIn("ops").map((m) => m.text).slice(-2), ["slash 0", "slash 1"]);
    const ready = await fetch(`${b.baseUrl}/readyz/`);
    assert.equal(ready.status, 200);
    await ready.body?.cancel();
  });
});
