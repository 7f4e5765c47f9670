// The whole bot as `serve` wires it (createBot), on a real socket, against the fake TrueConf
// server: a chat member creates a hook with a chat command, senders POST every kind of
// payload, an operator scrapes /metrics. Logs are collected at debug level for the whole run
// and, at the end, searched for the full token: only the DM that hands out the URL may hold it.
import assert from "node:assert/strict";
import { createLogger } from "../../src/log.ts";
import type { SentRecord } from "../support/fake_trueconf.ts";
import { startBotWithFake } from "../support/bot_with_fake.ts";
import { find, parseExposition } from "../observability/_exposition.ts";
import { gradient, png } from "../delivery/preview/_images.ts";

const TOKEN_LIMIT = 30;

Deno.test("e2e: chat command → hook → every payload kind → metrics; token never leaks", async (t) => {
  const lines: string[] = [];
  const logger = createLogger({ level: "debug", write: (line) => void lines.push(line) });
  const fakeLines: string[] = [];
  const dir = await Deno.makeTempDir({ prefix: "e2e-bot-" });
  // Listens first so the public URL carries the real port, as the demo does.
  const world = await startBotWithFake({
    dir,
    fake: {
      users: [
        { login: "alice", password: "a", displayName: "Alice" },
        { login: "bob", password: "b", displayName: "Bob" },
      ],
      logger: createLogger({ level: "debug", write: (l) => void fakeLines.push(l) }),
    },
    env: {
      WEBHOOK_RATE_LIMIT_PER_MINUTE: String(TOKEN_LIMIT),
      WEBHOOK_URL_ALLOWLIST: "127.0.0.1/32",
      WEBHOOK_DELIVERY_TIMEOUT_SECONDS: "3",
      LOG_LEVEL: "debug",
    },
    logger,
    trueconf: { backoff: { initialMs: 20, maxMs: 200 }, tokenCheckIntervalMs: 100 },
    readyTimeoutMs: 5000,
  });
  const { fake, bot, baseUrl: base } = world;
  const alice = fake.userId("alice");
  const bob = fake.userId("bob");
  const ops = world.addGroup({ chatId: "ops-chat", title: "Ops", owner: alice, members: [bob] });
  const dmAlice = fake.p2pChatId(alice);
  // An intranet-style image host, reachable only because the allowlist names it.
  const chart = png(gradient(200, 120), 200, 120);
  const assets = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) =>
      new URL(req.url).pathname === "/chart.png"
        ? new Response(new Uint8Array(chart), { headers: { "content-type": "image/png" } })
        : new Response("gone", { status: 404 }),
  );
  const assetBase = `http://127.0.0.1:${assets.addr.port}`;

  const mention = world.mention;
  /** Pushes a chat line and resolves with the bot's posts once `until` holds for them. */
  const say = async (
    text: string,
    until: (posts: SentRecord[]) => boolean,
    from = alice,
    chatId = ops.chatId,
  ): Promise<SentRecord[]> => {
    const before = fake.sent.length;
    fake.pushMessage({ chatId, authorId: from, text });
    await fake.waitFor(() => until(fake.sent.slice(before)), 5000);
    return fake.sent.slice(before);
  };
  const post = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(`${base}${path}`, { method: "POST", ...init });
    return { status: res.status, headers: res.headers, text: await res.text() };
  };
  const json = (body: unknown) => ({
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const opsPosts = () => fake.messagesIn(ops.chatId);

  let token = "";
  let hookId = "";
  const expected = { ok200: 0, bad400: 0, failed502: 0, notFound: 0, rejected429: 0 };

  try {
    await t.step("readyz answers 200 once TrueConf is authorized", async () => {
      const res = await fetch(`${base}/readyz`);
      assert.equal(res.status, 200);
      const body = await res.json();
      assert.equal(body.ok, true);
      assert.equal(body.trueconf.connected, true);
    });

    await t.step(
      "a member who is not an admin cannot create a hook; nothing secret is posted",
      async () => {
        const posts = await say(`${mention} /webhook_create nope`, (p) => p.length > 0, bob);
        assert.ok(
          posts.every((p) => !/\/hook\/[A-Za-z0-9_-]{20,}/.test(p.text ?? "")),
          JSON.stringify(posts),
        );
        assert.equal((await bot.store.listAll()).length, 0);
      },
    );

    await t.step("alice creates a hook in the group: the URL comes by DM only", async () => {
      const posts = await say(
        `${mention} /webhook_create deploys`,
        // The URL by DM, then the acknowledgement (without it) in the group.
        (p) =>
          p.some((r) => r.chatId === dmAlice && /\/hook\//.test(r.text ?? "")) &&
          p.some((r) => r.chatId === ops.chatId && /created/.test(r.text ?? "")),
      );
      const dm = posts.find((r) => r.chatId === dmAlice && /\/hook\//.test(r.text ?? ""))!;
      const m = new RegExp(`${base.replaceAll(".", "\\.")}/hook/([A-Za-z0-9_-]+)`).exec(dm.text!);
      assert.ok(m, dm.text ?? "");
      token = m[1]!;
      assert.ok(token.length >= 20);
      const hooks = await bot.store.listAll();
      assert.equal(hooks.length, 1);
      hookId = hooks[0]!.id;
      assert.equal(hooks[0]!.chatId, ops.chatId);
    });

    await t.step("/webhook_list in the group shows the hook masked", async () => {
      const posts = await say(
        `${mention} /webhook_list`,
        (p) => p.some((r) => r.chatId === ops.chatId),
      );
      const text = posts.filter((r) => r.chatId === ops.chatId).map((r) => r.text ?? "").join("\n");
      assert.match(text, /deploys/);
      assert.ok(text.includes(`${token.slice(0, 4)}…${token.slice(-4)}`), text);
    });

    await t.step("JSON text", async () => {
      const r = await post(`/hook/${token}`, json({ text: "Deploy of api finished" }));
      assert.equal(r.status, 200, r.text);
      expected.ok200++;
      assert.equal(JSON.parse(r.text).ok, true);
      assert.ok(opsPosts().some((p) => p.text === "Deploy of api finished"));
    });

    await t.step("Markdown", async () => {
      const r = await post(
        `/hook/${token}`,
        json({ text: "**bold** move", parse_mode: "markdown" }),
      );
      assert.equal(r.status, 200, r.text);
      expected.ok200++;
      const last = opsPosts().at(-1)!;
      assert.equal(last.text, "**bold** move");
      assert.equal(last.parseMode, "markdown");
    });

    await t.step("form field, as shell scripts send it", async () => {
      const r = await post(`/hook/${token}`, {
        body: new URLSearchParams({ text: "backup done" }),
      });
      assert.equal(r.status, 200, r.text);
      expected.ok200++;
      assert.equal(opsPosts().at(-1)!.text, "backup done");
    });

    await t.step("multipart upload: a photo with preview and a document", async () => {
      const form = new FormData();
      form.set("text", "nightly report");
      const image = png(gradient(320, 200), 320, 200);
      form.set("image", new File([new Uint8Array(image)], "chart.png", { type: "image/png" }));
      form.set("file", new File(["line 1\nline 2\n"], "build.log", { type: "text/plain" }));
      const before = opsPosts().length;
      const r = await post(`/hook/${token}`, { body: form });
      assert.equal(r.status, 200, r.text);
      expected.ok200++;
      const posts = opsPosts().slice(before);
      const photo = posts.find((p) => p.kind === "photo");
      const doc = posts.find((p) => p.kind === "document");
      assert.ok(photo?.preview, JSON.stringify(posts.map((p) => p.kind)));
      assert.equal(photo.file?.name, "chart.png");
      assert.equal(doc?.file?.name, "build.log");
      assert.equal(new TextDecoder().decode(doc.file!.bytes), "line 1\nline 2\n");
      assert.ok(posts.some((p) => (p.text ?? p.caption?.text ?? "").includes("nightly report")));
    });

    await t.step("image by URL from an allowlisted host becomes a photo", async () => {
      const before = opsPosts().length;
      const r = await post(
        `/hook/${token}`,
        json({ text: "chart attached", images: [{ url: `${assetBase}/chart.png` }] }),
      );
      assert.equal(r.status, 200, r.text);
      expected.ok200++;
      const photo = opsPosts().slice(before).find((p) => p.kind === "photo");
      assert.ok(photo?.preview);
      assert.equal(photo.file?.size, chart.length);
    });

    await t.step("attachment URLs that fail: 502 names each failed part", async () => {
      // Alone, the failing file would have carried the text as its caption: the text is
      // posted on its own, and the 502 names the file.
      let before = opsPosts().length;
      const none = await post(
        `/hook/${token}`,
        json({ text: "with a broken file", files: [{ url: `${assetBase}/missing.pdf` }] }),
      );
      assert.equal(none.status, 502, none.text);
      expected.failed502++;
      const noneBody = JSON.parse(none.text);
      assert.equal(noneBody.error, "partial_delivery");
      assert.deepEqual(noneBody.failed.map((f: { code: string }) => f.code), ["fetch_failed"]);
      assert.deepEqual(opsPosts().slice(before).map((p) => p.text), ["with a broken file"]);

      // Next to a working image, the image (with the text) arrives and only the file fails.
      before = opsPosts().length;
      const some = await post(
        `/hook/${token}`,
        json({
          text: "chart, and a broken file",
          images: [{ url: `${assetBase}/chart.png` }],
          files: [{ url: `${assetBase}/missing.pdf` }],
        }),
      );
      assert.equal(some.status, 502, some.text);
      expected.failed502++;
      const someBody = JSON.parse(some.text);
      assert.equal(someBody.error, "partial_delivery");
      assert.ok(someBody.messages.length >= 1);
      assert.equal(someBody.failed.length, 1);
      assert.match(someBody.failed[0].item, /missing\.pdf/);
      assert.ok(opsPosts().slice(before).some((p) => p.kind === "photo"));
    });

    await t.step("Slack body answers 'ok'", async () => {
      const r = await post(
        `/hook/${token}`,
        json({
          text: "*CI*",
          attachments: [{ color: "good", title: "build #42", text: "passed" }],
        }),
      );
      assert.equal(r.status, 200);
      assert.equal(r.text, "ok");
      expected.ok200++;
      assert.match(opsPosts().at(-1)!.text ?? "", /build #42/);
    });

    await t.step("Mattermost alias /hooks/<token>", async () => {
      const r = await post(`/hooks/${token}`, json({ text: "from mattermost", username: "ci" }));
      assert.equal(r.status, 200, r.text);
      assert.match(opsPosts().at(-1)!.text ?? "", /from mattermost/);
    });

    await t.step(
      "unrecognized JSON is posted as a readable block (and logged by keys)",
      async () => {
        const r = await post(`/hook/${token}`, json({ event: "custom", value: 42 }));
        assert.equal(r.status, 200, r.text);
        expected.ok200++;
        assert.match(opsPosts().at(-1)!.text ?? "", /"event"/);
      },
    );

    await t.step("bad requests: 400 with a machine code, nothing posted", async () => {
      const before = opsPosts().length;
      for (
        const body of [
          { body: "" },
          json({ text: "x", parse_mode: "shouty" }),
          { headers: { "content-type": "application/json" }, body: "{not json" },
          json({ text: "x", images: [{ url: "http://169.254.169.254/latest/meta-data" }] }),
        ]
      ) {
        const r = await post(`/hook/${token}`, body);
        assert.ok(r.status >= 400 && r.status < 500, `${r.status} ${r.text}`);
        const err = JSON.parse(r.text);
        assert.equal(err.ok, false);
        assert.equal(typeof err.error, "string");
        if (r.status === 400) expected.bad400++;
      }
      assert.equal(opsPosts().length, before);
    });

    await t.step("wrong method and unknown token", async () => {
      const get = await fetch(`${base}/hook/${token}`);
      assert.equal(get.status, 405);
      await get.body?.cancel();
      const r = await post(`/hook/${"x".repeat(43)}`, json({ text: "hi" }));
      assert.equal(r.status, 404);
      assert.equal(JSON.parse(r.text).error, "hook_not_found");
      expected.notFound++;
    });

    await t.step("Idempotency-Key: a retried request is posted once", async () => {
      const before = opsPosts().length;
      const init = () => ({
        headers: { "content-type": "application/json", "idempotency-key": "deploy-777" },
        body: JSON.stringify({ text: "exactly once" }),
      });
      const a = await post(`/hook/${token}`, init());
      const b = await post(`/hook/${token}`, init());
      assert.ok(a.status === 200 || a.status === 202, a.text);
      assert.ok(b.status === 200 || b.status === 202, b.text);
      await fake.waitFor(() => opsPosts().slice(before).some((p) => p.text === "exactly once"));
      assert.equal(opsPosts().slice(before).filter((p) => p.text === "exactly once").length, 1);
      for (const s of [a.status, b.status]) if (s === 200) expected.ok200++;
    });

    await t.step("the bot cannot post in the chat: a clear error, no 200", async () => {
      ops.readOnlyForBot = true;
      try {
        const r = await post(`/hook/${token}`, json({ text: "read-only chat" }));
        assert.ok(r.status >= 400, `${r.status} ${r.text}`);
        if (r.status === 502) expected.failed502++;
        assert.equal(JSON.parse(r.text).ok, false);
      } finally {
        ops.readOnlyForBot = false;
      }
    });

    await t.step(
      "TrueConf down: the request is queued (202), then delivered after reconnect",
      async () => {
        await fake.refuseConnections(true);
        await fake.waitFor(() => !bot.client.state.authorized, 5000);
        const r = await post(`/hook/${token}`, json({ text: "sent while TrueConf was down" }));
        assert.equal(r.status, 202, r.text);
        const delivery = JSON.parse(r.text).delivery as string;
        assert.ok(delivery);
        const queued = await fetch(`${base}/hook/${token}/deliveries/${delivery}`);
        assert.equal(queued.status, 200);
        assert.match((await queued.json()).delivery.state, /queued|delivering/);
        // Mattermost/Slack-style senders (Apprise mmost:// accepts only 200) get "ok" for a
        // persisted message too, with the delivery id in a header.
        const mm = await post(
          `/hooks/${token}`,
          json({ text: "mattermost while down", username: "Apprise" }),
        );
        assert.equal(mm.status, 200, mm.text);
        assert.equal(mm.text, "ok");
        assert.ok(mm.headers.get("x-delivery-id"));
        await fake.refuseConnections(false);
        await fake.waitFor(
          () =>
            opsPosts().some((p) => p.text === "sent while TrueConf was down") &&
            opsPosts().some((p) => (p.text ?? "").includes("mattermost while down")),
          10_000,
        );
        await fake.waitFor(() => bot.client.state.authorized, 5000);
        const done = await fetch(`${base}/hook/${token}/deliveries/${delivery}`);
        assert.equal(done.status, 200);
        assert.equal((await done.json()).delivery.state, "delivered");
      },
    );

    await t.step(
      "a queued message the chat refuses for good: dropped, creator told by DM",
      async () => {
        // A hook of its own: the creator's DMs are a digest (one per hook per 10 min), and
        // an earlier step already reported a failed part of "deploys".
        const made = await bot.store.create({
          chatId: ops.chatId,
          name: "deploys-readonly",
          createdBy: alice,
        });
        assert.ok(made.ok);
        const token = made.token;
        await fake.refuseConnections(true);
        await fake.waitFor(() => !bot.client.state.authorized, 5000);
        const r = await post(`/hook/${token}`, json({ text: "into a read-only chat" }));
        assert.equal(r.status, 202, r.text);
        const delivery = JSON.parse(r.text).delivery as string;
        const dmBefore = fake.messagesIn(dmAlice).length;
        ops.readOnlyForBot = true;
        try {
          await fake.refuseConnections(false);
          await fake.waitFor(() => fake.messagesIn(dmAlice).length > dmBefore, 10_000);
        } finally {
          ops.readOnlyForBot = false;
        }
        const note = fake.messagesIn(dmAlice).at(-1)!.text ?? "";
        assert.match(note, /deploys-readonly/);
        assert.ok(note.includes(delivery), note);
        const status = await fetch(`${base}/hook/${token}/deliveries/${delivery}`);
        assert.equal((await status.json()).delivery.state, "failed");
        assert.ok(!opsPosts().some((p) => p.text === "into a read-only chat"));
      },
    );

    await t.step("per-hook rate limit: 429 with Retry-After", async () => {
      let last = { status: 0, headers: new Headers(), text: "" };
      // Bad bodies are refused after the limiter, so the burst posts nothing.
      for (let i = 0; i < TOKEN_LIMIT + 1 && last.status !== 429; i++) {
        last = await post(`/hook/${token}`, json({ text: "x", parse_mode: "shouty" }));
        if (last.status === 400) expected.bad400++;
      }
      assert.equal(last.status, 429, last.text);
      expected.rejected429++;
      assert.ok(Number(last.headers.get("retry-after")) > 0);
      assert.equal(JSON.parse(last.text).error, "rate_limited");
    });

    await t.step("GET /metrics over the socket: counters by hook id and status", async () => {
      const res = await fetch(`${base}/metrics`);
      assert.equal(res.status, 200);
      const text = await res.text();
      const x = parseExposition(text);
      const requests = (labels: Record<string, string>) =>
        find(x, "trueconf_webhook_http_requests_total", labels).reduce((n, s) => n + s.value, 0);
      assert.ok(requests({ route: "hook", hook: hookId, status: "200" }) >= expected.ok200);
      assert.equal(requests({ route: "hook", hook: hookId, status: "400" }), expected.bad400);
      assert.equal(requests({ route: "hook", hook: hookId, status: "202" }) >= 1, true);
      assert.equal(requests({ route: "hook", hook: hookId, status: "429" }), expected.rejected429);
      assert.equal(requests({ route: "hook", hook: "unknown", status: "404" }), expected.notFound);
      assert.equal(requests({ route: "hooks", hook: hookId, status: "200" }), 2); // one delivered, one queued
      assert.equal(requests({ route: "hook", hook: hookId, status: "502" }), expected.failed502);
      assert.equal(x.types.get("trueconf_webhook_delivery_duration_seconds"), "histogram");
      const delivered = find(x, "trueconf_webhook_delivery_duration_seconds_count", {
        result: "delivered",
      });
      assert.ok((delivered[0]?.value ?? 0) >= expected.ok200, JSON.stringify(delivered));
      // A queued message is observed once, when it ends (the read-only chat's: failed).
      const ended = (result: string) =>
        find(x, "trueconf_webhook_delivery_duration_seconds_count", { result });
      assert.deepEqual(ended("queued"), []);
      assert.ok((ended("failed")[0]?.value ?? 0) >= 1);
      // Every photo and document in the chat came through delivery, and each was counted.
      const deliveredKind = (kind: string) =>
        find(x, "trueconf_webhook_delivered_messages_total", { kind })[0]?.value ?? 0;
      for (const kind of ["photo", "document"] as const) {
        const posted = fake.sent.filter((r) => r.kind === kind).length;
        assert.ok(posted > 0, `the suite posted no ${kind}`);
        assert.equal(deliveredKind(kind), posted, kind);
      }
      assert.ok(deliveredKind("text") >= expected.ok200);
      assert.equal(find(x, "trueconf_webhook_trueconf_connected")[0]?.value, 1);
      assert.equal(find(x, "trueconf_webhook_trueconf_authorized")[0]?.value, 1);
      assert.ok((find(x, "trueconf_webhook_trueconf_reconnects_total")[0]?.value ?? 0) >= 1);
      assert.equal(
        find(x, "trueconf_webhook_rate_limit_rejections_total", { scope: "token" })[0]?.value,
        1,
      );
      assert.ok(!text.includes(token), "token in /metrics");
      assert.ok(!text.includes(token.slice(4, -4)), "token body in /metrics");
    });

    await t.step("revoke in the chat: the URL answers 404 at once", async () => {
      await say(
        `${mention} /webhook_revoke deploys`,
        (p) => p.some((r) => r.chatId === ops.chatId),
      );
      assert.deepEqual((await bot.store.listAll()).map((h) => h.name), ["deploys-readonly"]);
      const r = await post(`/hook/${token}`, json({ text: "after revoke" }));
      assert.equal(r.status, 404, r.text);
      expected.notFound++;
      assert.ok(!opsPosts().some((p) => p.text === "after revoke"));
    });
  } finally {
    await world.close();
    await assets.shutdown();
    await Deno.remove(dir, { recursive: true });
  }

  await t.step("the full token appears nowhere but the DM that handed it out", () => {
    assert.ok(token, "a hook was created");
    assert.ok(lines.length > 20, `debug logging ran (${lines.length} lines)`);
    const secret = [token, token.slice(4, -4)];
    const leaks = (where: string, texts: string[]) => {
      for (const text of texts) {
        for (const s of secret) {
          assert.ok(!text.includes(s), `${where} holds the token: ${text.slice(0, 300)}`);
        }
      }
    };
    leaks("bot log", lines);
    leaks("fake server log", fakeLines);
    const nonDm = fake.sent.filter((r) => r.chatId !== dmAlice);
    leaks("a non-DM chat post", nonDm.map((r) => JSON.stringify({ ...r, file: r.file?.name })));
    const dms = fake.messagesIn(dmAlice).filter((r) => (r.text ?? "").includes(token));
    assert.equal(dms.length, 1, "exactly one DM carries the URL");
    // The masked form does show up, so operators can still follow a hook through the logs.
    assert.ok(
      lines.some((l) =>
        l.includes(`${token.slice(0, 4)}…${token.slice(-4)}`) || l.includes(hookId)
      ),
    );
    assert.deepEqual(fake.protocolErrors, []);
  });
});
