/**
 * The dialects through the HTTP app (`app.request`, the real pipeline) into the fake TrueConf:
 * each sender's answer, the ntfy and Gotify routes, and that the new routes share the per-IP
 * limit and lookup of `/hook/`. Fixtures as named in the per-dialect tests.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  CHAT_ID,
  type EndpointHarness,
  serveFiles,
  withEndpoint,
} from "../../support/endpoint_harness.ts";
import { parseAllowlist } from "../../../src/net/mod.ts";
import { capture, dialectFixture } from "./_request.ts";
import { RawHttp } from "../../support/raw_http.ts";

function chat(h: EndpointHarness) {
  return h.fake.messagesIn(CHAT_ID);
}

function postRaw(
  h: EndpointHarness,
  path: string,
  body: string | Uint8Array | FormData,
  headers: Record<string, string> = {},
  method = "POST",
  ip?: string,
) {
  const sent = body instanceof Uint8Array ? new Uint8Array(body) : body;
  return h.request(path, { method, body: sent, headers }, ip);
}

const PNG = Uint8Array.fromBase64(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
);

Deno.test("Discord: 204 without ?wait; ?wait=true answers the created message; the chat shows the rendering", async () => {
  await withEndpoint({}, async (h) => {
    const token = await h.hook();
    const json = { "content-type": "application/json" };
    const plain = await postRaw(h, `/hook/${token}`, '{"content":"first","username":"CI"}', json);
    assert.equal(plain.status, 204);
    assert.equal(await plain.text(), "");
    assert.equal(chat(h).at(-1)?.text, "**CI**: first");

    const waited = await postRaw(
      h,
      `/hook/${token}?wait=true`,
      dialectFixture("chatalot_seed"),
      json,
    );
    assert.equal(waited.status, 200);
    const body = await waited.json();
    const posted = chat(h).at(-1);
    assert.equal(posted?.text, "**Backup Bot**: Nightly backup completed: 42 GB in 18 minutes");
    assert.equal(body.id, posted?.messageId);
    assert.equal(body.channel_id, CHAT_ID);
    assert.equal(body.content, "Nightly backup completed: 42 GB in 18 minutes");
    assert.equal(Number.isNaN(Date.parse(body.timestamp)), false);
  });
});

Deno.test("Discord's Slack- and GitHub-compatible endpoints: <hook>/slack (Netdata's Discord notifier) and <hook>/github", async () => {
  // Netdata's alarm-notify.sh `send_discord` posts `payload=<Slack JSON>` (curl
  // --data-urlencode) to "${DISCORD_WEBHOOK_URL}/slack" and counts only HTTP 200 as sent;
  // GitHub users point a repository webhook at "<discord webhook>/github".
  await withEndpoint({}, async (h) => {
    const token = await h.hook();
    const netdata = {
      channel: "#alarms",
      username: "netdata on db1",
      text: "db1 is critical, `disk_space._` (_/_), *disk space = 97%*",
      icon_url: "https://registry.my-netdata.io/images/seo-performance-128.png",
      attachments: [{
        color: "danger",
        title: "disk space = 97%",
        title_link: "https://registry.my-netdata.io/goto-host-from-alarm.html?host=db1",
        text: "Disk / is almost full",
        fields: [{ title: "disk_space._", value: "/" }],
        footer: "db1",
        ts: 1700000000,
      }],
    };
    const slack = await postRaw(
      h,
      `/hook/${token}/slack`,
      `payload=${encodeURIComponent(JSON.stringify(netdata))}`,
      { "Content-Type": "application/x-www-form-urlencoded" },
    );
    assert.equal(slack.status, 200);
    assert.equal(await slack.text(), "ok");
    assert.match(
      chat(h).at(-1)?.text ?? "",
      /^db1 is critical, `disk_space._` \(_\/_\), \*\*disk space = 97%\*\*/,
    );
    assert.match(chat(h).at(-1)?.text ?? "", /🔴 \*\*\[disk space = 97%\]/);

    const github = await postRaw(
      h,
      `/hook/${token}/github`,
      '{"zen":"Design for failure.","hook_id":1,"repository":{"full_name":"acme/api","html_url":"https://github.com/acme/api"}}',
      { "Content-Type": "application/json", "X-GitHub-Event": "ping" },
    );
    assert.equal(github.status, 200, await github.clone().text());
    await github.body?.cancel();
    assert.match(chat(h).at(-1)?.text ?? "", /GitHub webhook is set up for \[acme\/api\]/);
  });
});

Deno.test("Teams: a connector MessageCard is answered 1, a Workflows Adaptive Card 202", async () => {
  await withEndpoint({}, async (h) => {
    const token = await h.hook();
    const json = { "content-type": "application/json" };
    const connector = await postRaw(
      h,
      `/hook/${token}`,
      dialectFixture("teams_connector_sample"),
      json,
    );
    assert.equal(connector.status, 200);
    assert.equal(await connector.text(), "1");
    assert.match(chat(h).at(-1)?.text ?? "", /^\*\*Larry Bryant created a new task\*\*/);
    const workflow = await postRaw(
      h,
      `/hook/${token}`,
      dialectFixture("teams_grafana_adaptive"),
      json,
    );
    assert.equal(workflow.status, 202);
    assert.match(chat(h).at(-1)?.text ?? "", /\[View URL\]\(http:\/\/localhost\/alerting\/list\)$/);
  });
});

Deno.test("Google Chat and Rocket.Chat answer their message JSON; ?format= forces a dialect", async () => {
  await withEndpoint({}, async (h) => {
    const token = await h.hook();
    const json = { "content-type": "application/json" };
    const res = await postRaw(h, `/hook/${token}?threadKey=t1`, '{"text":"*hi*"}', json);
    assert.equal(res.status, 200);
    const msg = await res.json();
    assert.equal(msg.name, `spaces/${CHAT_ID}/messages/${chat(h).at(-1)?.messageId}`);
    assert.deepEqual(msg.thread, { name: `spaces/${CHAT_ID}/threads/t1`, threadKey: "t1" });
    assert.equal(chat(h).at(-1)?.text, "**hi**");

    const rocket = await postRaw(h, `/hook/${token}`, '{"alias":"Gruggy","text":"Example"}', json);
    assert.deepEqual(await rocket.json(), { success: true });
    assert.equal(chat(h).at(-1)?.text, "**Gruggy**: Example");

    const forced = await postRaw(h, `/hook/${token}?format=discord`, '{"content":"forced"}', json);
    assert.equal(forced.status, 204);
  });
});

Deno.test("ntfy: headers publish to /hook/<token>, PUT upload with Filename, JSON publish at /hook and /; ntfy's answer", async () => {
  await withEndpoint({}, async (h) => {
    const token = await h.hook();
    const res = await postRaw(h, `/hook/${token}`, "Backup of nas1 done", {
      Title: "Backup",
      Priority: "high",
      Tags: "floppy_disk,nas",
      Click: "https://nas.example.com/",
      // curl -d sends this; ntfy (and the bot) read the body as the message anyway.
      "Content-Type": "application/x-www-form-urlencoded",
    });
    assert.equal(res.status, 200);
    const answer = await res.json();
    assert.equal(answer.event, "message");
    // ntfy's answer names the topic: the token of the topic URL.
    assert.equal(answer.topic, token);
    assert.equal(answer.id, chat(h).at(-1)?.messageId);
    assert.equal(answer.message, "Backup of nas1 done");
    assert.equal(answer.title, "Backup");
    assert.equal(answer.priority, 4);
    assert.deepEqual(answer.tags, ["floppy_disk", "nas"]);
    assert.equal(
      chat(h).at(-1)?.text,
      "❗ 💾 **Backup**\nBackup of nas1 done\n\nTags: nas\n[Open](https://nas.example.com/)",
    );

    const put = await postRaw(h, `/hook/${token}`, PNG, { Filename: "shot.png" }, "PUT");
    assert.equal(put.status, 200, await put.clone().text());
    assert.equal(chat(h).at(-1)?.kind, "photo");

    for (const path of ["/hook", "/"]) {
      const json = await postRaw(
        h,
        path,
        JSON.stringify({
          topic: token,
          title: `via ${path}`,
          message: "json publish",
          tags: ["tada"],
        }),
        { "Content-Type": "application/json" },
      );
      assert.equal(json.status, 200, path);
      const a = await json.json();
      assert.equal(a.topic, token);
      assert.equal(chat(h).at(-1)?.text, `🎉 **via ${path}**\njson publish`);
    }

    // A shell script's JSON with a raw line break inside a string is read as leniently as /hook/.
    const lenient = await postRaw(h, "/", `{"topic":"${token}","message":"line 1\nline 2"}`, {});
    assert.equal(lenient.status, 200);
    await lenient.body?.cancel();
    assert.equal(chat(h).at(-1)?.text, "line 1\nline 2");

    const unknown = await postRaw(h, "/hook", JSON.stringify({ topic: "nope", message: "x" }), {
      "Content-Type": "application/json",
    });
    assert.equal(unknown.status, 404);
    assert.equal((await unknown.json()).error, "hook_not_found");
    const bad = await postRaw(h, `/hook/${token}`, "x", { Title: "t", Priority: "9" });
    assert.equal(bad.status, 400);
    assert.equal((await bad.json()).error, "invalid_priority");
  });
});

Deno.test("Gotify: POST /message with ?token= or X-Gotify-Key; Gotify's answer; bad token 404", async () => {
  await withEndpoint({}, async (h) => {
    const token = await h.hook();
    const res = await postRaw(
      h,
      `/message?token=${token}`,
      '{"title":"T","message":"M","priority":9}',
      {
        "Content-Type": "application/json",
      },
    );
    assert.equal(res.status, 200);
    const a = await res.json();
    assert.equal(typeof a.id, "number");
    assert.deepEqual([a.title, a.message, a.priority], ["T", "M", 9]);
    assert.equal(chat(h).at(-1)?.text, "🚨 **T**\nM");
    const form = new FormData();
    form.set("title", "F");
    form.set("message", "from a form");
    const viaHeader = await h.request("/message", {
      method: "POST",
      body: form,
      headers: { "X-Gotify-Key": token },
    });
    assert.equal(viaHeader.status, 200);
    assert.equal(chat(h).at(-1)?.text, "**F**\nfrom a form");
    const wrong = await postRaw(h, "/message?token=nope", '{"message":"x"}', {
      "Content-Type": "application/json",
    });
    assert.equal(wrong.status, 404);
    const missing = await postRaw(h, `/message?token=${token}`, '{"title":"no message"}', {
      "Content-Type": "application/json",
    });
    assert.equal(missing.status, 400);
  });
});

/** A capture in tests/ingest/fixtures/real/ sent again, its token `tok123` replaced. */
function resend(h: EndpointHarness, name: string, token: string) {
  const c = capture(name);
  const headers = Object.fromEntries(
    Object.entries(c.headers).filter(([k]) => !["host", "content-length"].includes(k)),
  );
  return postRaw(
    h,
    c.path.replace("tok123", token),
    Uint8Array.fromBase64(c.bodyBase64),
    headers,
    c.method,
  );
}

Deno.test("Rocket.Chat's /hooks/<id>/<token>: Ansible's rocketchat module (token: hook/<token>) posts and gets 200", async () => {
  // community.general.rocketchat builds `<protocol>://<domain>/hooks/<token>` and refuses a
  // token without "/" (Rocket.Chat's webhook URLs are /hooks/<integration id>/<token>): the
  // last segment is the hook token, whatever comes before it.
  await withEndpoint({}, async (h) => {
    const token = await h.hook();
    const res = await resend(h, "ansible-7.7.0_rocketchat_danger", token);
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(chat(h).at(-1)?.text, "**Ansible**\n\n🔴 Deploy of api FAILED on web1");
    const viaHook = await postRaw(h, `/hooks/hook/${token}`, '{"text":"via hook/<token>"}', {
      "Content-Type": "application/json",
    });
    assert.equal(viaHook.status, 200);
    assert.equal(chat(h).at(-1)?.text, "via hook/<token>");
    const wrong = await postRaw(h, `/hooks/hook/nope`, '{"text":"x"}', {
      "Content-Type": "application/json",
    });
    assert.equal(wrong.status, 404);
    assert.equal((await wrong.json()).error, "hook_not_found");
  });
});

Deno.test("Slack's legacy /services/hooks/incoming-webhook?token=: Ansible's slack module with domain (HTTPS via a proxy) answered ok", async () => {
  // community.general.slack posts to `https://<domain>/services/hooks/incoming-webhook?token=`
  // when the token is neither XXXX/YYYY/ZZZZ (hooks.slack.com) nor xox… (Slack's Web API),
  // and fails on anything but 200.
  await withEndpoint({}, async (h) => {
    const token = await h.hook();
    const res = await resend(h, "ansible-7.7.0_slack_legacy_color", token);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "ok");
    assert.equal(
      chat(h).at(-1)?.text,
      "🟢 Deploy of **api** finished on [web1](https://ci.example.com/42)",
    );
    const json = { "Content-Type": "application/json" };
    const wrong = await postRaw(
      h,
      "/services/hooks/incoming-webhook?token=nope",
      '{"text":"x"}',
      json,
    );
    assert.equal(wrong.status, 404);
    const none = await postRaw(h, "/services/hooks/incoming-webhook", '{"text":"x"}', json);
    assert.equal(none.status, 401);
    const body = await none.json();
    assert.equal(body.error, "missing_token");
    assert.match(body.message, /\?token=/);
    assert.equal(chat(h).length, 1);
  });
});

Deno.test("ntfy: a POST with Content-Type: text/markdown is a Markdown publish, not a 415", async () => {
  await withEndpoint({}, async (h) => {
    const token = await h.hook();
    const res = await postRaw(h, `/hook/${token}`, "Look ma, **bold text**", {
      "Content-Type": "text/markdown",
    });
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal((await res.json()).event, "message");
    assert.equal(chat(h).at(-1)?.text, "Look ma, **bold text**");
  });
});

Deno.test("ntfy: GET <topic>/publish, /send, /trigger publish from the query (ntfy's webhooks for GET-only devices)", async () => {
  // ntfy server.go: GET on `^/<topic>/(publish|send|trigger)$` publishes; the message and
  // fields come from the query, and no message is "triggered".
  await withEndpoint({}, async (h) => {
    const token = await h.hook();
    const trigger = await h.request(`/hook/${token}/trigger`);
    assert.equal(trigger.status, 200, await trigger.clone().text());
    const answer = await trigger.json();
    assert.deepEqual([answer.event, answer.topic, answer.message], ["message", token, "triggered"]);
    assert.equal(chat(h).at(-1)?.text, "triggered");
    const publish = await h.request(
      `/hook/${token}/publish?message=Door+opened&title=Front+door&priority=high`,
    );
    assert.equal(publish.status, 200, await publish.clone().text());
    await publish.body?.cancel();
    assert.equal(chat(h).at(-1)?.text, "❗ **Front door**\nDoor opened");
    // At the server root too (ntfy's server URL may be the bot's root).
    const send = await h.request(`/${token}/send?m=hello`);
    assert.equal(send.status, 200, await send.clone().text());
    await send.body?.cancel();
    assert.equal(chat(h).at(-1)?.text, "hello");
    const unknown = await h.request("/hook/nope/trigger");
    assert.equal(unknown.status, 404);
    await unknown.body?.cancel();
  });
});

Deno.test("ntfy: non-ASCII header values, raw UTF-8 (curl -H 'Title: Привет') or RFC 2047, read as ntfy reads them", async () => {
  // Go's net/http (ntfy) keeps header bytes, so `curl -H 'Title: Привет'` shows Cyrillic; ntfy
  // also decodes MIME encoded words (`=?UTF-8?B?…?=`, util.go maybeDecodeHeader). The
  // bot's HTTP layer hands header bytes over as Latin-1 characters.
  await withEndpoint({}, async (h) => {
    const token = await h.hook();
    const port = await h.listen();
    const body = new TextEncoder().encode("тело");
    const head = new TextEncoder().encode(
      `POST /hook/${token} HTTP/1.1\r\nHost: x\r\nTitle: Привет 🚀\r\nTags: warning,белый\r\n` +
        `Filename: отчёт.txt\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
    );
    const c = await RawHttp.connect(port);
    try {
      await c.write(new Uint8Array([...head, ...body]));
      const res = await c.response();
      assert.equal(res?.status, 200, res?.body ?? "no answer");
      assert.equal(JSON.parse(res!.body).title, "Привет 🚀");
    } finally {
      c.close();
    }
    const upload = chat(h).at(-1);
    assert.equal(upload?.file?.name, "отчёт.txt");
    assert.match(
      upload?.caption?.text ?? chat(h).at(-2)?.text ?? "",
      /⚠️ \*\*Привет 🚀\*\*[\s\S]*Tags: белый/,
    );

    const encoded = await postRaw(h, `/hook/${token}`, "encoded word", {
      Title: "=?UTF-8?B?0J/RgNC40LLQtdGC?=",
      Tags: "=?utf-8?q?caf=C3=A9_ouvert?=",
    });
    assert.equal(encoded.status, 200, await encoded.clone().text());
    await encoded.body?.cancel();
    assert.equal(chat(h).at(-1)?.text, "**Привет**\nencoded word\n\nTags: café ouvert");
  });
});

Deno.test("a POST to the root or /hook that names no hook says where to post, not 'revoked'", async () => {
  // `curl -d '{"text":"hi"}' https://bot.example.com/` (the public URL instead of the hook URL)
  // is ntfy's JSON publish route without a topic; the answer named a revoked webhook.
  await withEndpoint({}, async (h) => {
    for (const path of ["/", "/hook"]) {
      for (const body of ['{"text":"hi"}', "{bad json"]) {
        const res = await postRaw(h, path, body, { "Content-Type": "application/json" });
        assert.equal(res.status, 400, `${path} ${body}`);
        const answer = await res.json();
        assert.equal(answer.error, "missing_topic");
        assert.match(answer.message, /\/hook\/<token>/);
      }
    }
    const unknown = await postRaw(h, "/", '{"topic":"nope","message":"x"}', {
      "Content-Type": "application/json",
    });
    assert.equal(unknown.status, 404);
    await unknown.body?.cancel();
  });
});

Deno.test("Gotify: the token as Authorization: Bearer works; no token at all is 401 missing_token", async () => {
  // Gotify's server reads the application token from ?token=, X-Gotify-Key or
  // `Authorization: Bearer` (auth/authentication.go, readTokenFromRequest), in that order, an
  // empty ?token= falling through; with none it answers 401.
  await withEndpoint({}, async (h) => {
    const token = await h.hook();
    const json = { "Content-Type": "application/json" };
    const bearer = await postRaw(h, "/message", '{"message":"via bearer"}', {
      ...json,
      Authorization: `Bearer ${token}`,
    });
    assert.equal(bearer.status, 200, await bearer.clone().text());
    assert.equal(chat(h).at(-1)?.text, "via bearer");
    const emptyQuery = await postRaw(h, "/message?token=", '{"message":"header wins"}', {
      ...json,
      "X-Gotify-Key": token,
    });
    assert.equal(emptyQuery.status, 200, await emptyQuery.clone().text());
    assert.equal(chat(h).at(-1)?.text, "header wins");
    const none = await postRaw(h, "/message", '{"message":"x"}', json);
    assert.equal(none.status, 401);
    const body = await none.json();
    assert.equal(body.error, "missing_token");
    assert.match(body.message, /X-Gotify-Key/);
  });
});

Deno.test("the dialect routes share /hook/'s per-IP limit", async () => {
  await withEndpoint({ limits: { perIpPerMinute: 3 } }, async (h) => {
    const token = await h.hook();
    const ip = "198.51.100.7";
    const json = { "Content-Type": "application/json" };
    assert.equal((await h.postJson(token, { text: "1" }, ip)).status, 200);
    assert.equal(
      (await postRaw(h, `/message?token=${token}`, '{"message":"2"}', json, "POST", ip)).status,
      200,
    );
    assert.equal(
      (await postRaw(h, "/", JSON.stringify({ topic: token, message: "3" }), json, "POST", ip))
        .status,
      200,
    );
    const limited = await postRaw(
      h,
      `/message?token=${token}`,
      '{"message":"4"}',
      json,
      "POST",
      ip,
    );
    assert.equal(limited.status, 429);
    assert.equal((await limited.json()).error, "rate_limited");
    // Another address is not limited.
    assert.equal(
      (await postRaw(h, `/message?token=${token}`, '{"message":"5"}', json)).status,
      200,
    );
    assert.deepEqual(chat(h).map((m) => m.text), ["1", "2", "3", "5"]);
  });
});

Deno.test("a Slack text-only body with Slack markup is answered ok; a dialect body whose image fails still gets its success answer", async () => {
  const files = serveFiles({});
  try {
    await withEndpoint({ urlAllowlist: parseAllowlist("127.0.0.1/32") }, async (h) => {
      const token = await h.hook();
      const res = await h.postJson(token, {
        text: "Deploy <https://ci.example.com/1|#1> &amp; more",
      });
      assert.equal(res.status, 200);
      assert.equal(await res.text(), "ok");
      assert.equal(chat(h).at(-1)?.text, "Deploy [#1](https://ci.example.com/1) & more");
      // Issue 10: the text reached the chat, the embed image is a 404 → Discord's 204, not a 502.
      const partial = await postRaw(
        h,
        `/hook/${token}`,
        JSON.stringify({
          content: "chart below",
          embeds: [{ image: { url: `${files.base}/gone.png` } }],
        }),
        { "Content-Type": "application/json" },
      );
      assert.equal(partial.status, 204);
      assert.equal(chat(h).at(-1)?.text, "chart below");
      assert.deepEqual(files.hits, ["/gone.png"]);
    });
  } finally {
    await files.close();
  }
});

Deno.test("ntfy: with Attach the body is the message and Filename names the linked file (ntfy's docs: curl -H 'Attach: …' -H 'Filename: …' -d …)", async () => {
  const files = serveFiles({
    "/F-Droid.apk": { body: "apk bytes", type: "application/vnd.android.package-archive" },
  });
  try {
    await withEndpoint({ urlAllowlist: parseAllowlist("127.0.0.1/32") }, async (h) => {
      const token = await h.hook();
      const port = await h.listen();
      const url = `${files.base}/F-Droid.apk`;
      // What curl sends for -d: a form type; ntfy reads the body as the message all the same.
      const res = await fetch(`http://127.0.0.1:${port}/hook/${token}`, {
        method: "POST",
        headers: {
          Attach: url,
          Filename: "fdroid.apk",
          "Content-Type": "application/x-www-form-urlencoded",
        },
        body: "Get the app here",
      });
      assert.equal(res.status, 200);
      const answer = await res.json();
      assert.equal(answer.message, "Get the app here");
      assert.deepEqual(answer.attachment, { name: "fdroid.apk", url });
      // One document, the linked file under its given name; the body is its caption, not a file.
      const posted = chat(h).filter((m) => m.kind === "document");
      assert.equal(posted.length, 1);
      assert.equal(posted[0]?.file?.name, "fdroid.apk");
      assert.equal(new TextDecoder().decode(posted[0]?.file?.bytes), "apk bytes");
      assert.equal(posted[0]?.caption?.text, "Get the app here");
      assert.deepEqual(files.hits, ["/F-Droid.apk"]);

      // An empty body with Attach: ntfy's answer says what arrived, as ntfy does.
      const empty = await fetch(`http://127.0.0.1:${port}/hook/${token}`, {
        method: "PUT",
        headers: { Attach: url },
      });
      assert.equal(empty.status, 200);
      assert.equal((await empty.json()).message, "You received a file: F-Droid.apk");
    });
  } finally {
    await files.close();
  }
});

Deno.test("ntfy: the docs' three title headers (X-Title, Title, t) each title the message", async () => {
  await withEndpoint({}, async (h) => {
    const token = await h.hook();
    const port = await h.listen();
    // ntfy's "Message title": curl -H "t: Dogs are better than cats" -d "Oh my ..." <topic url>
    for (const name of ["X-Title", "Title", "t"]) {
      const res = await fetch(`http://127.0.0.1:${port}/hook/${token}`, {
        method: "POST",
        headers: {
          [name]: "Dogs are better than cats",
          "Content-Type": "application/x-www-form-urlencoded",
        },
        body: "Oh my ...",
      });
      assert.equal(res.status, 200, name);
      const answer = await res.json();
      assert.equal(answer.event, "message", name);
      assert.equal(answer.title, "Dogs are better than cats", name);
      assert.equal(chat(h).at(-1)?.text, "**Dogs are better than cats**\nOh my ...", name);
    }
    // A client's own X-Webhook-Route (the bot's internal route marker) changes nothing.
    const res = await fetch(`http://127.0.0.1:${port}/hook/${token}`, {
      method: "POST",
      headers: {
        "X-Webhook-Route": "hooks",
        "Title": "Cats are better than dogs",
        "Content-Type": "application/x-www-form-urlencoded",
      },
      body: "Oh no ...",
    });
    assert.equal(res.status, 200);
    assert.equal((await res.json()).title, "Cats are better than dogs");
    assert.equal(chat(h).at(-1)?.text, "**Cats are better than dogs**\nOh no ...");
  });
});

Deno.test("Google Chat: Grafana's Google Chat contact point (previewText, fallbackText, legacy cards) is rendered and answered as Google Chat", async () => {
  await withEndpoint({}, async (h) => {
    const token = await h.hook();
    const port = await h.listen();
    // The body grafana/alerting's receivers/googlechat/v1 test expects for one firing alert.
    const res = await fetch(`http://127.0.0.1:${port}/hook/${token}`, {
      method: "POST",
      headers: { "Content-Type": "application/json; charset=UTF-8" },
      body: new Uint8Array(dialectFixture("googlechat_grafana")),
    });
    assert.equal(res.status, 200);
    const answer = await res.json();
    assert.equal(answer.sender.type, "BOT");
    assert.match(answer.name, /^spaces\/.+\/messages\/.+/);
    const text = chat(h).at(-1)?.text ?? "";
    assert.doesNotMatch(text, /does not recognise/);
    assert.match(text, /^\*\*\\\[FIRING:1\\\] +\(val1\)\*\*\n/);
    assert.match(text, /alertname = alert1/);
    assert.match(text, /\[OPEN IN GRAFANA\]\(http:\/\/localhost\/alerting\/list\)/);
  });
});

Deno.test("ntfy: a POST with no body and the message in a Message header publishes it (ntfy reads Message/X-Message when the body is empty)", async () => {
  await withEndpoint({}, async (h) => {
    const token = await h.hook();
    const port = await h.listen();
    for (const name of ["Message", "X-Message"]) {
      const res = await fetch(`http://127.0.0.1:${port}/hook/${token}`, {
        method: "POST",
        headers: { [name]: "Backup done\\non nas1" },
      });
      assert.equal(res.status, 200, name);
      const answer = await res.json();
      assert.equal(answer.event, "message", name);
      assert.equal(answer.message, "Backup done\non nas1", name);
      assert.equal(chat(h).at(-1)?.text, "Backup done\non nas1", name);
    }
  });
});

Deno.test("ntfy: the Actions header's quoted values and key=value pairs in any order, as ntfy's docs define the format", async () => {
  await withEndpoint({}, async (h) => {
    const token = await h.hook();
    const port = await h.listen();
    const res = await fetch(`http://127.0.0.1:${port}/hook/${token}`, {
      method: "POST",
      headers: {
        Title: "Door",
        // ntfy: "Values may be quoted … if the value itself contains commas or semicolons";
        // "The action= and label= prefix are optional … url= … optional in the view action".
        Actions: `view, "Open portal, now", https://home.example.com/; ` +
          `url=https://cam.example.com/, action=view, label='Camera; front'; ` +
          `http, Close door, https://api.example.com/, body='{"a": 1, "b": 2}'`,
      },
      body: "Someone rang",
    });
    assert.equal(res.status, 200);
    await res.body?.cancel();
    assert.equal(
      chat(h).at(-1)?.text,
      "**Door**\nSomeone rang\n\n[Open portal, now](https://home.example.com/) · " +
        "[Camera; front](https://cam.example.com/)",
    );
  });
});

/** POSTs `body` as JSON over the socket on `port`; returns the chat text it made. */
async function postedText(h: EndpointHarness, port: number, path: string, body: unknown) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  assert.ok(res.ok, String(res.status));
  await res.body?.cancel();
  return chat(h).at(-1)?.text ?? "";
}

Deno.test("links a renderer makes open only web, mail, phone and TrueConf addresses: javascript: and data: stay text (Slack and Discord link no such scheme either)", async () => {
  await withEndpoint({}, async (h) => {
    const token = await h.hook();
    const port = await h.listen();
    const post = (body: unknown) => postedText(h, port, `/hook/${token}`, body);
    const slack = await post({
      text: "see <javascript:alert(1)|logs> and <https://ci.example.com/1|build>",
      attachments: [{ title: "Run", title_link: "javascript:alert(2)", text: "x" }],
    });
    assert.doesNotMatch(slack, /\]\(javascript:/);
    assert.match(slack, /see logs and \[build\]\(https:\/\/ci\.example\.com\/1\)/);
    assert.match(slack, /\*\*Run\*\*/);
    const discord = await post({
      content: "[here](javascript:alert(1)) [data](data:text/html,x) [ok](https://ok.example.com)",
    });
    assert.equal(discord, "here data [ok](https://ok.example.com)");
  });
});

Deno.test("Markdown a sender wrote keeps its web links and loses links to other schemes (Mattermost, Teams, Markdown inside Slack text)", async () => {
  await withEndpoint({}, async (h) => {
    const token = await h.hook();
    const port = await h.listen();
    const post = (path: string, body: unknown) => postedText(h, port, path, body);
    const md = "[run](javascript:alert(1)) [docs](https://docs.example.com/a_(b)) [rel](/x)";
    const kept = "run [docs](https://docs.example.com/a_(b)) [rel](/x)";
    assert.equal(await post(`/hooks/${token}`, { text: md, username: "ci" }), `**ci**: ${kept}`);
    assert.equal(await post(`/hook/${token}`, { text: md, attachments: [] }), kept);
    assert.equal(
      await post(`/hook/${token}`, { "@type": "MessageCard", text: md }),
      kept,
    );
  });
});

Deno.test("ntfy and Gotify Markdown messages keep web links and lose links to other schemes", async () => {
  await withEndpoint({}, async (h) => {
    const token = await h.hook();
    const port = await h.listen();
    const md = "**Door** [open](javascript:alert(1)) [cam](https://cam.example.com/)";
    const kept = "**Door** open [cam](https://cam.example.com/)";
    const ntfy = await fetch(`http://127.0.0.1:${port}/hook/${token}`, {
      method: "POST",
      headers: { Markdown: "yes" },
      body: md,
    });
    assert.equal(ntfy.status, 200);
    await ntfy.body?.cancel();
    assert.equal(chat(h).at(-1)?.text, kept);
    const gotify = await fetch(`http://127.0.0.1:${port}/message`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Gotify-Key": token },
      body: JSON.stringify({
        message: md,
        extras: { "client::display": { contentType: "text/markdown" } },
      }),
    });
    assert.equal(gotify.status, 200);
    await gotify.body?.cancel();
    assert.equal(chat(h).at(-1)?.text, kept);
  });
});

Deno.test("ntfy: an image uploaded without Filename (curl -T chart.png <topic url>) is a photo, as ntfy detects its type", async () => {
  await withEndpoint({}, async (h) => {
    const token = await h.hook();
    const port = await h.listen();
    const res = await fetch(`http://127.0.0.1:${port}/hook/${token}`, {
      method: "PUT",
      body: new Uint8Array(PNG),
    });
    assert.equal(res.status, 200);
    const answer = await res.json();
    assert.equal(answer.attachment.type, "image/png");
    assert.equal(answer.attachment.size, PNG.length);
    assert.equal(chat(h).at(-1)?.kind, "photo");
  });
});

// Grafana's webhook contact point has an "HTTP Method" option, POST or PUT (Grafana docs,
// "Configure webhook notifications"). A PUT was taken for an ntfy upload and its JSON was posted
// into the chat as raw text. A JSON PUT without ntfy's headers is read like a POST now; an ntfy
// upload of a .json file names itself with Filename (Apprise's, `curl -T … -H Filename:`).
Deno.test("Grafana with HTTP method PUT renders its alert; a JSON upload with Filename stays ntfy's", async () => {
  await withEndpoint({}, async (h) => {
    const token = await h.hook();
    const grafana = JSON.stringify({
      receiver: "ops",
      status: "firing",
      orgId: 1,
      alerts: [{
        status: "firing",
        labels: { alertname: "HighCPU", instance: "db1" },
        annotations: { summary: "CPU at 93%" },
        startsAt: "2026-12-08T00:00:00Z",
        endsAt: "0001-01-01T00:00:00Z",
      }],
      groupLabels: { alertname: "HighCPU" },
      commonLabels: { alertname: "HighCPU" },
      externalURL: "https://grafana.example.com/",
      version: "1",
      groupKey: '{}:{alertname="HighCPU"}',
      title: "[FIRING:1] HighCPU",
      state: "alerting",
    });
    const json = { "content-type": "application/json", "user-agent": "Grafana" };
    const put = await postRaw(h, `/hook/${token}`, grafana, json, "PUT");
    assert.equal(put.status, 200);
    await put.body?.cancel();
    assert.match(chat(h).at(-1)?.text ?? "", /^🔥 \*\*\\\[FIRING:1\\\] HighCPU\*\*\nReceiver: ops/);

    const upload = await postRaw(h, `/hook/${token}`, '{"a":1}', {
      "content-type": "application/json",
      filename: "data.json",
    }, "PUT");
    assert.equal(upload.status, 200);
    assert.equal((await upload.json()).attachment?.name, "data.json");
    assert.equal(chat(h).at(-1)?.file?.name, "data.json");
  });
});
