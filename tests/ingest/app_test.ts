// The hook endpoint through app.request(), with a hook in a real store and the real client
// connected to the fake TrueConf server over real sockets: every input format and field,
// every error code, the body limit, rate-limit order and headers, long-text splitting.
import assert from "node:assert/strict";
import { CHAT_ID, type EndpointHarness, withEndpoint } from "../support/endpoint_harness.ts";
import { generateToken, maskToken } from "../../src/hooks/token.ts";
import { TEXT_LIMIT } from "../../src/delivery/split_text.ts";
import { RawHttp } from "../support/raw_http.ts";

type Json = Record<string, unknown>;

async function json(res: Response): Promise<Json> {
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  return await res.json();
}

/** Asserts the error shape `{ok:false, error, message}` with a human sentence. */
async function assertError(res: Response, status: number, code: string): Promise<Json> {
  const body = await json(res);
  assert.equal(res.status, status, `status for ${code}: ${JSON.stringify(body)}`);
  assert.equal(body.ok, false);
  assert.equal(body.error, code);
  assert.equal(typeof body.message, "string");
  assert.ok((body.message as string).length > 15, `message is a sentence: ${body.message}`);
  // Words for a person, not a validator's internals leaking through.
  assert.doesNotMatch(body.message as string, /undefined|nonoptional|\[object /);
  return body;
}

function texts(h: EndpointHarness) {
  return h.fake.messagesIn(CHAT_ID).filter((m) => m.kind === "text");
}

function post(h: EndpointHarness, token: string, body: BodyInit, type?: string, ip?: string) {
  return h.request(`/hook/${token}`, {
    method: "POST",
    ...(type ? { headers: { "content-type": type } } : {}),
    body,
  }, ip);
}

Deno.test("hook endpoint: every accepted body format reaches the chat", async (t) => {
  await withEndpoint({}, async (h) => {
    const token = await h.hook();

    await t.step("JSON text with each parse mode; 200 lists the TrueConf message ids", async () => {
      for (const mode of ["text", "markdown", "html"] as const) {
        const text = mode === "html" ? "<b>deploy</b> done" : `**${mode}** message`;
        const res = await h.postJson(token, { text, parse_mode: mode });
        const body = await json(res);
        assert.equal(res.status, 200, JSON.stringify(body));
        const last = texts(h).at(-1)!;
        assert.deepEqual(body, { ok: true, messages: [last.messageId] });
        assert.equal(last.text, text);
        assert.equal(last.parseMode, mode);
      }
    });

    await t.step(
      "parse_mode in Telegram's letter case (HTML, Markdown) is read as its mode",
      async () => {
        for (const [mode, want] of [["HTML", "html"], ["Markdown", "markdown"]] as const) {
          let res = await h.postJson(token, { text: "t", parse_mode: mode });
          assert.equal(res.status, 200, await res.clone().text());
          await res.body?.cancel();
          assert.equal(texts(h).at(-1)!.parseMode, want);
          res = await post(
            h,
            token,
            `text=f&parse_mode=${mode}`,
            "application/x-www-form-urlencoded",
          );
          assert.equal(res.status, 200, await res.clone().text());
          await res.body?.cancel();
          assert.equal(texts(h).at(-1)!.parseMode, want);
        }
      },
    );

    await t.step("JSON without parse_mode posts plain text", async () => {
      const res = await h.postJson(token, { text: "plain" });
      assert.equal(res.status, 200);
      await res.body?.cancel();
      assert.equal(texts(h).at(-1)!.parseMode, "text");
    });

    await t.step("text/plain: the whole body is the text", async () => {
      const body = "line one\nline two {not json}";
      const res = await post(h, token, body, "text/plain; charset=utf-8");
      assert.equal(res.status, 200, await res.clone().text());
      await res.body?.cancel();
      assert.equal(texts(h).at(-1)!.text, body);
    });

    await t.step("curl -d text=hello (urlencoded form), with parse_mode", async () => {
      let res = await post(h, token, "text=hello", "application/x-www-form-urlencoded");
      assert.equal(res.status, 200);
      await res.body?.cancel();
      assert.equal(texts(h).at(-1)!.text, "hello");
      res = await post(
        h,
        token,
        "text=**bold**+%26+more&parse_mode=markdown",
        "application/x-www-form-urlencoded",
      );
      assert.equal(res.status, 200);
      await res.body?.cancel();
      assert.deepEqual(
        { text: texts(h).at(-1)!.text, mode: texts(h).at(-1)!.parseMode },
        { text: "**bold** & more", mode: "markdown" },
      );
    });

    await t.step(
      "curl -d 'Backup successful' (ntfy's and scripts' plain message) → posted",
      async () => {
        const res = await post(
          h,
          token,
          "Backup successful 😀",
          "application/x-www-form-urlencoded",
        );
        assert.equal(res.status, 200, await res.clone().text());
        await res.body?.cancel();
        assert.equal(texts(h).at(-1)!.text, "Backup successful 😀");
      },
    );

    await t.step("multipart text and parse_mode; unknown parts ignored", async () => {
      const form = new FormData();
      form.set("text", "<i>from a form</i>");
      form.set("parse_mode", "html");
      form.set("channel", "#ignored");
      form.set("whatever", new File(["x"], "x.bin"));
      const before = h.fake.messagesIn(CHAT_ID).length;
      const res = await post(h, token, form);
      const body = await json(res);
      assert.equal(res.status, 200, JSON.stringify(body));
      const posted = h.fake.messagesIn(CHAT_ID).slice(before);
      assert.equal(posted.length, 1, "the unknown file part is not posted");
      assert.deepEqual({ text: posted[0]!.text, mode: posted[0]!.parseMode }, {
        text: "<i>from a form</i>",
        mode: "html",
      });
    });

    await t.step("Slack body gets exactly `ok` as text/plain", async () => {
      const res = await h.postJson(token, {
        text: "*deploy* finished",
        attachments: [{ color: "good", text: "all green" }],
      });
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type") ?? "", /^text\/plain/);
      assert.equal(await res.text(), "ok");
      assert.match(texts(h).at(-1)!.text!, /deploy/);
    });

    await t.step("/hooks/<token> (Mattermost alias) posts and answers ok", async () => {
      const res = await h.request(`/hooks/${token}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ text: "from mattermost", username: "ci" }),
      });
      assert.equal(res.status, 200);
      assert.equal(await res.text(), "ok");
      assert.match(texts(h).at(-1)!.text!, /from mattermost/);
    });
  });
});

Deno.test("hook endpoint: every bad input has its status, code and sentence; nothing is posted", async (t) => {
  await withEndpoint({ limits: { maxAttachments: 2 } }, async (h) => {
    const token = await h.hook();
    const cases: {
      name: string;
      body: BodyInit;
      type?: string;
      status: number;
      code: string;
      message?: string;
    }[] = [
      {
        name: "invalid JSON",
        body: '{"text": "hi",}',
        type: "application/json",
        status: 400,
        code: "invalid_json",
      },
      {
        name: "empty JSON body",
        body: "",
        type: "application/json",
        status: 400,
        code: "invalid_json",
      },
      {
        name: "text is a number",
        body: '{"text": 42}',
        type: "application/json",
        status: 400,
        code: "invalid_field_type",
      },
      {
        name: "images is not a list",
        body: '{"text":"x","images":"http://a.example/x.png"}',
        type: "application/json",
        status: 400,
        code: "invalid_field_type",
      },
      {
        name: "empty text, no attachment",
        body: '{"text": "  "}',
        type: "application/json",
        status: 400,
        code: "empty_payload",
      },
      {
        name: "empty form",
        body: "text=",
        type: "application/x-www-form-urlencoded",
        status: 400,
        code: "empty_payload",
      },
      {
        name: "empty text/plain",
        body: "",
        type: "text/plain",
        status: 400,
        code: "empty_payload",
      },
      {
        name: "bad parse mode (JSON)",
        body: '{"text":"x","parse_mode":"bbcode"}',
        type: "application/json",
        status: 400,
        code: "invalid_parse_mode",
      },
      {
        name: "bad parse mode (form)",
        body: "text=x&parse_mode=MarkdownV2",
        type: "application/x-www-form-urlencoded",
        status: 400,
        code: "invalid_parse_mode",
      },
      {
        name: "an image without its url",
        body: '{"images":[{}]}',
        type: "application/json",
        status: 400,
        code: "invalid_url",
        message:
          'Field "images[0].url" is missing: give each attachment an absolute http:// or https:// URL.',
      },
      {
        name: "a file without its url",
        body: '{"text":"x","files":[{"filename":"a.pdf"}]}',
        type: "application/json",
        status: 400,
        code: "invalid_url",
        message:
          'Field "files[0].url" is missing: give each attachment an absolute http:// or https:// URL.',
      },
      {
        name: "a button without its url",
        body: '{"text":"x","buttons":[[{"text":"Logs"}]]}',
        type: "application/json",
        status: 400,
        code: "invalid_field_type",
        message: 'Field "buttons[0][0].url" is missing.',
      },
      {
        name: "buttons as one flat list (not rows)",
        body: '{"text":"x","buttons":[{"text":"Open","url":"https://x.io"}]}',
        type: "application/json",
        status: 400,
        code: "invalid_field_type",
        message: 'Field "buttons[0]" must be an array, got an object. "buttons" takes rows of ' +
          'buttons: [[{"text":"Open","url":"https://…"}]].',
      },
      {
        name: "relative image URL",
        body: '{"images":[{"url":"/x.png"}]}',
        type: "application/json",
        status: 400,
        code: "invalid_url",
      },
      {
        name: "ftp file URL",
        body: '{"files":[{"url":"ftp://example.com/a"}]}',
        type: "application/json",
        status: 400,
        code: "invalid_url",
      },
      {
        name: "too many URLs",
        body: JSON.stringify({
          images: [1, 2, 3].map((i) => ({ url: `https://example.com/${i}.png` })),
        }),
        type: "application/json",
        status: 400,
        code: "too_many_attachments",
      },
      {
        name: "unsupported content type",
        body: "\x82\xa4text",
        type: "application/msgpack",
        status: 415,
        code: "unsupported_content_type",
      },
      {
        name: "bad UTF-8",
        body: new Uint8Array([0x74, 0xff, 0xfe]),
        type: "text/plain",
        status: 400,
        code: "invalid_encoding",
      },
    ];
    for (const c of cases) {
      await t.step(`${c.name} → ${c.status} ${c.code}`, async () => {
        const body = await assertError(await post(h, token, c.body, c.type), c.status, c.code);
        if (c.message !== undefined) assert.equal(body.message, c.message);
      });
    }

    await t.step("too many uploaded files → 400 too_many_attachments", async () => {
      const form = new FormData();
      for (const n of ["a", "b", "c"]) form.append("file", new File([n], `${n}.txt`));
      const body = await assertError(await post(h, token, form), 400, "too_many_attachments");
      assert.equal(
        body.message,
        "At most 2 attachments per request (WEBHOOK_MAX_ATTACHMENTS); this one has 3.",
      );
    });

    await t.step(
      "URLs and uploads together over the limit → 400 too_many_attachments",
      async () => {
        const form = new FormData();
        form.append("image_url", "https://example.com/a.png");
        form.append("file_url", "https://example.com/b.pdf");
        form.append("file", new File(["c"], "c.txt"));
        await assertError(await post(h, token, form), 400, "too_many_attachments");
      },
    );

    // Each with the words the sender reads: what the host is, in plain English.
    const unsafe: [string, string][] = [
      ["http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address;"],
      ["http://localhost:8080/admin", "localhost is a local or internal host name;"],
      ["http://10.0.0.7/x.png", "10.0.0.7 is a private address;"],
      ["http://192.168.1.1/x.png", "192.168.1.1 is a private address;"],
      ["http://100.64.0.1/x.png", "100.64.0.1 is a carrier-grade NAT address (100.64.0.0/10);"],
      ["http://[fc00::1]/x.png", "[fc00::1] is a unique local address (fc00::/7);"],
      ["http://0.0.0.0/x.png", "0.0.0.0 is an unspecified address;"],
      ["http://[::1]/x.png", "[::1] is a loopback address;"],
      ["http://127.1/x.png", "127.0.0.1 is a loopback address;"],
      ["http://0x7f000001/x.png", "127.0.0.1 is a loopback address;"],
      ["http://[::ffff:127.0.0.1]/x.png", "[::ffff:7f00:1] is a loopback address;"],
      [
        "http://[64:ff9b::10.0.0.1]/x.png",
        "[64:ff9b::a00:1] is a NAT64 address of 10.0.0.1, a private address;",
      ],
      ["http://[2002:7f00:1::]/x.png", "[2002:7f00:1::] is a 6to4 address (2002::/16);"],
      [
        "http://metadata.google.internal/computeMetadata/v1/",
        "metadata.google.internal is a cloud metadata host name;",
      ],
      ["http://printer.local/x.png", "printer.local is a local or internal host name;"],
    ];
    for (const [url, words] of unsafe) {
      await t.step(`SSRF ${url} → 400 unsafe_url at request time`, async () => {
        const asImage = await h.postJson(token, { text: "look", images: [{ url }] });
        const body = await assertError(asImage, 400, "unsafe_url");
        assert.equal(
          body.message,
          `Attachment 1 (${url}) cannot be fetched: ${words} only public ${
            /host name/.test(words) ? "hosts" : "addresses"
          } can be fetched (an operator can allow internal ones with WEBHOOK_URL_ALLOWLIST).`,
        );
        const form = new FormData();
        form.set("text", "look");
        form.set("file_url", url);
        await assertError(await post(h, token, form), 400, "unsafe_url");
      });
    }

    await t.step(
      "GET/DELETE on a hook URL → 405 with Allow: POST, PUT (PUT is ntfy's upload)",
      async () => {
        for (const method of ["GET", "DELETE", "OPTIONS"]) {
          const res = await h.request(`/hook/${token}`, { method });
          await assertError(res, 405, "method_not_allowed");
          assert.equal(res.headers.get("allow"), "POST, PUT");
        }
        for (const method of ["GET", "PUT", "DELETE"]) {
          const res = await h.request(`/hooks/${token}`, { method });
          await assertError(res, 405, "method_not_allowed");
          assert.equal(res.headers.get("allow"), "POST");
        }
        const res = await h.request(`/hook/${token}/deliveries/x`, { method: "POST" });
        await assertError(res, 405, "method_not_allowed");
        assert.equal(res.headers.get("allow"), "GET");
      },
    );

    assert.equal(h.fake.messagesIn(CHAT_ID).length, 0, "no refused request posted anything");
  });
});

Deno.test("hook endpoint: unknown and revoked tokens get the same 404", async () => {
  await withEndpoint({}, async (h) => {
    const token = await h.hook("doomed");
    const ok = await h.postJson(token, { text: "before revoke" });
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
    const hook = await h.store.findByToken(token);
    assert.ok(hook && await h.store.revoke(hook.id));

    const revoked = await h.postJson(token, { text: "after revoke" });
    const unknown = await h.postJson(generateToken(), { text: "never existed" });
    const junk = await h.postJson("not-a-token", { text: "junk" });
    const bodies = [];
    for (const res of [revoked, unknown, junk]) {
      bodies.push(await assertError(res, 404, "hook_not_found"));
    }
    assert.deepEqual(bodies[0], bodies[1]);
    assert.deepEqual(bodies[1], bodies[2]);
    assert.deepEqual(
      [...revoked.headers.keys()].sort(),
      [...unknown.headers.keys()].sort(),
      "same headers too",
    );
    assert.deepEqual(texts(h).map((m) => m.text), ["before revoke"]);
    // The operator sees who keeps calling a dead URL, with the URL masked.
    const unknownLines = h.logs.map((l) => JSON.parse(l)).filter((l) =>
      l.msg === "unknown hook URL"
    );
    assert.equal(unknownLines.length, 3);
    assert.equal(unknownLines[0].token, maskToken(token));
    const delivered = h.logs.map((l) => JSON.parse(l)).find((l) => l.msg === "hook delivery");
    assert.ok(unknownLines[0].ip && unknownLines[0].ip === delivered.ip, "the same client");
    assert.equal(unknownLines[0].status, 404);
  });
});

/** A body stream of `chunks` chunks of `size` bytes that counts how many were pulled. */
function countingStream(chunks: number, size: number) {
  const state = { pulled: 0, cancelled: false };
  const chunk = new Uint8Array(size).fill(0x61); // "aaaa…", valid text
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (state.pulled === chunks) return controller.close();
      state.pulled++;
      controller.enqueue(chunk.slice());
    },
    cancel() {
      state.cancelled = true;
    },
  }, { highWaterMark: 0 });
  return { stream, state };
}

Deno.test("hook endpoint: a body over WEBHOOK_MAX_UPLOAD_MB is refused while streaming (413)", async (t) => {
  const limit = 64 * 1024;
  await withEndpoint({ limits: { maxBodyBytes: limit } }, async (h) => {
    const token = await h.hook();

    await t.step(
      "chunked body of 16 MiB without Content-Length: stops right after the limit",
      async () => {
        const chunk = 16 * 1024;
        const { stream, state } = countingStream(1024, chunk);
        const res = await h.request(`/hook/${token}`, {
          method: "POST",
          headers: { "content-type": "text/plain" },
          body: stream,
          duplex: "half",
        } as RequestInit);
        await assertError(res, 413, "payload_too_large");
        assert.ok(
          state.pulled * chunk <= limit + 2 * chunk,
          `read ${state.pulled} chunks (${state.pulled * chunk} bytes) for a ${limit}-byte limit`,
        );
        assert.ok(state.cancelled, "the rest of the body is cancelled, not drained");
      },
    );

    await t.step("a declared Content-Length over the limit is refused before reading", async () => {
      const { stream, state } = countingStream(1024, 16 * 1024);
      const res = await h.request(`/hook/${token}`, {
        method: "POST",
        headers: { "content-type": "text/plain", "content-length": String(16 * 1024 * 1024) },
        body: stream,
        duplex: "half",
      } as RequestInit);
      await assertError(res, 413, "payload_too_large");
      assert.ok(state.pulled <= 1, `pulled ${state.pulled} chunks`);
    });

    await t.step("a multipart upload just under the limit passes", async () => {
      const form = new FormData();
      form.set("file", new File([new Uint8Array(limit - 1024)], "blob.bin"));
      const res = await post(h, token, form);
      assert.equal(res.status, 200, await res.clone().text());
      await res.body?.cancel();
    });

    assert.equal(texts(h).length, 0);
  });
});

Deno.test("hook endpoint: per-IP limit is checked before the token lookup", async (t) => {
  await withEndpoint({ limits: { perIpPerMinute: 5, perTokenPerMinute: 3 } }, async (h) => {
    await t.step(
      "20 random tokens from one IP: 5 lookups (404), then 429 without lookups",
      async () => {
        const statuses: number[] = [];
        for (let i = 0; i < 20; i++) {
          const res = await h.postJson(generateToken(), { text: "guess" }, "198.51.100.7");
          statuses.push(res.status);
          await res.body?.cancel();
        }
        assert.deepEqual(statuses, [...Array(5).fill(404), ...Array(15).fill(429)]);
        assert.equal(h.lookups.count, 5, "the store saw only the admitted requests");
      },
    );

    await t.step("429 carries Retry-After, X-RateLimit-* and retry_after", async () => {
      const res = await h.postJson(generateToken(), { text: "again" }, "198.51.100.7");
      const body = await assertError(res, 429, "rate_limited");
      const retry = Number(res.headers.get("retry-after"));
      assert.ok(retry >= 1 && retry <= 60, `Retry-After ${retry}`);
      assert.equal(body.retry_after, retry);
      assert.equal(res.headers.get("x-ratelimit-limit"), "5");
      assert.equal(res.headers.get("x-ratelimit-remaining"), "0");
      const reset = Number(res.headers.get("x-ratelimit-reset"));
      assert.ok(reset >= retry && reset <= 60, `X-RateLimit-Reset ${reset}`);
      assert.equal(h.lookups.count, 5);
    });

    await t.step("IPv4-mapped IPv6 form of the same peer shares its bucket", async () => {
      const res = await h.postJson(generateToken(), { text: "x" }, "::ffff:198.51.100.7");
      assert.equal(res.status, 429);
      await res.body?.cancel();
    });

    const token = await h.hook();
    await t.step(
      "another IP is unaffected; per-token limit (3) applies after the lookup",
      async () => {
        const statuses: number[] = [];
        const remaining: (string | null)[] = [];
        for (let i = 0; i < 4; i++) {
          const res = await h.postJson(token, { text: `t${i}` }, "192.0.2.44");
          statuses.push(res.status);
          remaining.push(res.headers.get("x-ratelimit-remaining"));
          if (res.status === 429) {
            const body = await assertError(res, 429, "rate_limited");
            assert.match(body.message as string, /webhook takes at most 3/);
            assert.ok(Number(res.headers.get("retry-after")) >= 1);
            assert.equal(res.headers.get("x-ratelimit-limit"), "3");
          } else await res.body?.cancel();
        }
        assert.deepEqual(statuses, [200, 200, 200, 429]);
        assert.deepEqual(remaining, ["2", "1", "0", "0"]);
        assert.deepEqual(texts(h).map((m) => m.text), ["t0", "t1", "t2"]);
      },
    );

    await t.step("the token limit holds across IPs", async () => {
      const res = await h.postJson(token, { text: "from elsewhere" }, "192.0.2.99");
      assert.equal(res.status, 429);
      await res.body?.cancel();
    });
  });
});

Deno.test("hook endpoint: text over 4096 characters is split into ordered messages", async () => {
  await withEndpoint({}, async (h) => {
    const token = await h.hook();
    const lines: string[] = [];
    for (let i = 0; lines.join("\n").length < 10_000; i++) {
      lines.push(`line ${String(i).padStart(4, "0")}: ${"word ".repeat(1 + (i % 13))}`.trim());
    }
    const text = lines.join("\n");
    const res = await h.postJson(token, { text });
    const body = await json(res);
    assert.equal(res.status, 200, JSON.stringify(body));
    const posted = texts(h);
    assert.ok(posted.length >= 3, `${posted.length} messages`);
    assert.deepEqual(body.messages, posted.map((m) => m.messageId), "ids in chat order");
    for (const m of posted) {
      assert.ok([...m.text!].length <= TEXT_LIMIT, `${m.text!.length} characters`);
      // Split at line boundaries: every message is whole lines.
      for (const line of m.text!.trim().split("\n")) assert.ok(lines.includes(line), line);
    }
    const squash = (s: string) => s.replace(/\s+/g, " ").trim();
    assert.equal(squash(posted.map((m) => m.text).join("\n")), squash(text));
  });
});

Deno.test("hook endpoint: one long line without breaks is split at word boundaries", async () => {
  await withEndpoint({}, async (h) => {
    const token = await h.hook();
    const words = Array.from({ length: 1500 }, (_, i) => `w${i}`);
    const text = words.join(" ");
    const res = await h.postJson(token, { text });
    assert.equal(res.status, 200);
    await res.body?.cancel();
    const posted = texts(h).map((m) => m.text!);
    assert.ok(posted.length >= 2);
    assert.deepEqual(posted.join(" ").split(/\s+/).filter(Boolean), words, "no word is cut");
  });
});

Deno.test("hook endpoint: a text longer than ten messages is its beginning plus the whole text as message.txt", async () => {
  await withEndpoint({}, async (h) => {
    const token = await h.hook();
    // A build log piped into the hook: 60,000 characters would be 15 messages.
    const lines = Array.from({ length: 1200 }, (_, i) => `step ${i}: ok ${"·".repeat(40)}`);
    const text = lines.join("\n");
    const res = await h.postJson(token, { text });
    const body = await json(res);
    assert.equal(res.status, 200, JSON.stringify(body));
    const posted = h.fake.messagesIn(CHAT_ID);
    assert.equal(posted.length, 2, "one text and one file, not 15 messages");
    const [head, file] = posted;
    assert.ok(text.startsWith(head!.text!.split("\n\n…")[0]!), "the text's beginning");
    assert.match(head!.text!, /… [\d,]+ characters in all: the whole text is in message\.txt$/);
    assert.ok([...head!.text!].length <= TEXT_LIMIT);
    assert.equal(file!.kind, "document");
    assert.equal(file!.file?.name, "message.txt");
    assert.equal(new TextDecoder().decode(file!.file!.bytes), text, "the whole text, unchanged");
    assert.deepEqual(body.messages, posted.map((m) => m.messageId));
  });
});

Deno.test("health: /healthz is 200 while the process runs; unknown paths are JSON 404", async () => {
  await withEndpoint({}, async (h) => {
    const res = await h.request("/healthz");
    assert.equal(res.status, 200);
    assert.deepEqual(await json(res), { ok: true });
    await assertError(await h.request("/nope"), 404, "not_found");
  });
});

// RFC 9110 8.6: a HEAD answer may omit Content-Length, but one it carries must be the GET
// answer's length. Hono answers HEAD with the GET handler's headers and no body, and the server
// wrote 'content-length: 0' for it (an uptime checker's HEAD /healthz read a 0-byte page).
Deno.test("health: HEAD /healthz over the wire is 200 without a body and without a false Content-Length", async () => {
  await withEndpoint({}, async (h) => {
    const port = await h.listen();
    const c = await RawHttp.connect(port);
    try {
      await c.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
      const get = await c.response();
      assert.equal(get?.headers.get("content-length"), String(get!.body.length));
      await c.write("HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      const head = await c.response();
      assert.equal(head?.status, 200);
      assert.equal(head?.body, "");
      const length = head?.headers.get("content-length");
      assert.ok(length === undefined || length === String(get!.body.length), `length ${length}`);
    } finally {
      c.close();
    }
  });
});

Deno.test("logs and metrics: deliveries are traceable by hook id and masked token, never the token", async () => {
  await withEndpoint({ limits: { perTokenPerMinute: 1 } }, async (h) => {
    const token = await h.hook();
    const hook = (await h.store.findByToken(token))!;
    for (const text of ["one", "two"]) {
      const res = await h.postJson(token, { text });
      await res.body?.cancel();
    }
    const bad = await h.postJson(token.slice(0, -1) + (token.endsWith("A") ? "B" : "A"), {});
    await bad.body?.cancel();
    const delivered = h.logs.map((l) => JSON.parse(l)).find((l) => l.msg === "hook delivery");
    assert.ok(delivered, "the delivery is logged");
    assert.equal(delivered.hook, hook.id);
    assert.equal(delivered.chat, CHAT_ID);
    assert.equal(delivered.token, maskToken(token));
    assert.ok(!delivered.token.includes(token.slice(4, -4)), "the middle of the token is hidden");
    assert.deepEqual(h.metrics.filter((m) => m.startsWith('["request"')), [
      JSON.stringify(["request", "hook", hook.id, 200]),
      JSON.stringify(["request", "hook", hook.id, 429]),
      JSON.stringify(["request", "hook", "unknown", 404]),
    ]);
    // withEndpoint then scans every log line and metric for every full token.
  });
});

Deno.test("hook endpoint: with the per-token limit off, successes carry no X-RateLimit headers", async () => {
  // "Remaining: 0" on every answer would make polite clients back off for nothing.
  await withEndpoint({ limits: { perTokenPerMinute: 0 } }, async (h) => {
    const token = await h.hook();
    const res = await h.postJson(token, { text: "unlimited" });
    assert.equal(res.status, 200);
    await res.body?.cancel();
    assert.equal(res.headers.get("x-ratelimit-remaining"), null);
    assert.equal(res.headers.get("x-ratelimit-limit"), null);
  });
});

Deno.test("while shutting down: hook POSTs and delivery status get 503 shutting_down with Retry-After", async () => {
  let draining = false;
  await withEndpoint({ draining: () => draining }, async (h) => {
    const token = await h.hook();
    draining = true;
    for (
      const res of [
        await h.postJson(token, { text: "late" }),
        await h.request(`/hook/${token}/deliveries/some-id`, { method: "GET" }),
      ]
    ) {
      await assertError(res, 503, "shutting_down");
      assert.equal(res.headers.get("retry-after"), "5");
    }
    assert.equal(h.fake.messagesIn(CHAT_ID).length, 0);
  });
});

Deno.test("hook endpoint: X-RateLimit-* appear on successes only once few requests are left", async () => {
  // Far from the limit they tell a client nothing it needs and cost every response Deno's fast
  // path; near it (a tenth of the limit, at least the last two) and on 429 they are sent.
  await withEndpoint({ limits: { perTokenPerMinute: 30 } }, async (h) => {
    const token = await h.hook();
    const seen: (string | null)[] = [];
    for (let i = 0; i < 30; i++) {
      const res = await h.postJson(token, { text: `n${i}` });
      assert.equal(res.status, 200);
      await res.body?.cancel();
      seen.push(res.headers.get("x-ratelimit-remaining"));
    }
    assert.deepEqual(seen.slice(0, 26), Array(26).fill(null));
    assert.deepEqual(seen.slice(26), ["3", "2", "1", "0"]);
    const refused = await h.postJson(token, { text: "one too many" });
    assert.equal(refused.status, 429);
    await refused.body?.cancel();
    assert.equal(refused.headers.get("x-ratelimit-limit"), "30");
  });
});

/** `data` gzip-compressed, as a sender with compression on sends it. */
async function gzipped(data: string | Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([data]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

// Log shippers (Vector's http sink, Fluent Bit's http output) compress with gzip when asked.
// Such a body was read as text: 400 invalid_encoding "not valid UTF-8", blaming the charset.
Deno.test("hook endpoint: a Content-Encoding: gzip body is inflated; past the limit 413, not gzip 400", async () => {
  await withEndpoint({ limits: { maxBodyBytes: 64 * 1024 } }, async (h) => {
    const token = await h.hook();
    const port = await h.listen();
    const post = async (body: Uint8Array<ArrayBuffer>, type = "application/json") =>
      await fetch(`http://127.0.0.1:${port}/hook/${token}`, {
        method: "POST",
        headers: { "content-type": type, "content-encoding": "gzip" },
        body,
      });
    const json = await post(await gzipped(JSON.stringify({ text: "from a log shipper" })));
    assert.equal(json.status, 200, await json.clone().text());
    await json.body?.cancel();
    const plain = await post(await gzipped("plain and zipped"), "text/plain");
    assert.equal(plain.status, 200, await plain.clone().text());
    await plain.body?.cancel();
    assert.deepEqual(texts(h).map((m) => m.text), ["from a log shipper", "plain and zipped"]);
    // 1 MiB of one letter: about 1 KiB on the wire, over the 64 KiB limit once inflated.
    const bomb = await post(await gzipped("a".repeat(1024 * 1024)), "text/plain");
    const refused = await assertError(bomb, 413, "payload_too_large");
    assert.match(String(refused.message), /once decoded \(Content-Encoding: gzip\)/);
    // gzip's magic bytes, then garbage.
    const broken = await post(new Uint8Array([0x1f, 0x8b, 1, 2, 3, 4, 5, 6, 7, 8]), "text/plain");
    const bad = await assertError(broken, 400, "invalid_body");
    assert.match(String(bad.message), /Content-Encoding: gzip but does not decode/);
    assert.equal(texts(h).length, 2);
  });
});

/** `data` compressed in `format` by the runtime (what Node, Python and Go senders produce). */
async function compressed(
  data: string,
  format: "deflate" | "deflate-raw" | "brotli",
): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([data]).stream().pipeThrough(
    new CompressionStream(format as CompressionFormat),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function zstd(data: string): Promise<Uint8Array<ArrayBuffer>> {
  const { zstdCompressSync } = await import("node:zlib") as unknown as {
    zstdCompressSync(data: Uint8Array): Uint8Array<ArrayBuffer>;
  };
  return new Uint8Array(zstdCompressSync(new TextEncoder().encode(data)));
}

// Vector's http sink sends `deflate` (zlib-wrapped, RFC 9110 8.4.1.2) or `zstd` when its
// compression is set to zlib or zstd; some senders write raw deflate under the same name; br is
// what Node's and Python's brotli write. Each got '400 invalid_encoding: not valid UTF-8'.
Deno.test("hook endpoint: deflate (zlib or raw), br and zstd bodies are decoded within the limit", async () => {
  await withEndpoint({ limits: { maxBodyBytes: 64 * 1024 } }, async (h) => {
    const token = await h.hook();
    const port = await h.listen();
    const post = async (coding: string, body: Uint8Array<ArrayBuffer>, type = "text/plain") =>
      await fetch(`http://127.0.0.1:${port}/hook/${token}`, {
        method: "POST",
        headers: { "content-type": type, "content-encoding": coding },
        body,
      });
    const sent: [string, Uint8Array<ArrayBuffer>][] = [
      ["deflate", await compressed("zlib-wrapped deflate", "deflate")],
      ["deflate", await compressed("raw deflate", "deflate-raw")],
      ["br", await compressed("brotli", "brotli")],
      ["zstd", await zstd("zstandard")],
      ["Identity", new TextEncoder().encode("identity means none")],
      ["x-gzip", await gzipped("x-gzip is gzip")],
      // Codings in the order they were applied (RFC 9110 8.4): deflate first, then br.
      [
        "deflate, br",
        await compressed("raw deflate", "deflate-raw").then(async (raw) => {
          const s = new Blob([raw]).stream().pipeThrough(new CompressionStream("brotli"));
          return new Uint8Array(await new Response(s).arrayBuffer());
        }),
      ],
    ];
    for (const [coding, body] of sent) {
      const res = await post(coding, body);
      assert.equal(res.status, 200, `${coding}: ${await res.clone().text()}`);
      await res.body?.cancel();
    }
    const json = await post(
      "br",
      await compressed(JSON.stringify({ text: "br json" }), "brotli"),
      "application/json",
    );
    assert.equal(json.status, 200, await json.clone().text());
    await json.body?.cancel();
    assert.deepEqual(texts(h).map((m) => m.text), [
      "zlib-wrapped deflate",
      "raw deflate",
      "brotli",
      "zstandard",
      "identity means none",
      "x-gzip is gzip",
      "raw deflate",
      "br json",
    ]);
    // 1 MiB of one letter, a few hundred bytes on the wire: over the 64 KiB limit once decoded.
    const big = "a".repeat(1024 * 1024);
    const bombs: [string, Uint8Array<ArrayBuffer>][] = [
      ["deflate", await compressed(big, "deflate")],
      ["br", await compressed(big, "brotli")],
      ["zstd", await zstd(big)],
    ];
    for (const [coding, body] of bombs) {
      const refused = await assertError(await post(coding, body), 413, "payload_too_large");
      assert.match(
        String(refused.message),
        new RegExp(`once decoded \\(Content-Encoding: ${coding}\\)`),
      );
    }
    // 421 bytes of brotli that decode to 256 MiB of zeros: the web DecompressionStream made
    // that one 256 MiB chunk before any limit could look at it; the decoder must stop at the
    // limit, holding about that much.
    const bomb = await Deno.readFile(new URL("./fixtures/zeros_256mib.br", import.meta.url));
    const before = Deno.memoryUsage().rss;
    const stopped = await assertError(await post("br", bomb), 413, "payload_too_large");
    const grew = Deno.memoryUsage().rss - before;
    assert.match(String(stopped.message), /once decoded \(Content-Encoding: br\)/);
    assert.ok(grew < 64 * 1024 * 1024, `decoding a bomb took ${grew >> 20} MiB`);
    // Bytes that are not what the header says.
    for (const coding of ["br", "zstd", "deflate"]) {
      const bad = await assertError(
        await post(coding, new TextEncoder().encode("plain text, not compressed")),
        400,
        "invalid_body",
      );
      assert.match(
        String(bad.message),
        new RegExp(`Content-Encoding: ${coding} but does not decode`),
      );
    }
    assert.equal(texts(h).length, 8);
  });
});

// RFC 9110 15.5.16 and 12.5.3: a content coding the server does not know is 415, with
// Accept-Encoding naming those it does. Vector's `snappy` and the old `compress` got
// '400 invalid_encoding: not valid UTF-8', blaming the charset.
Deno.test("hook endpoint: an unsupported Content-Encoding is 415 unsupported_content_encoding with Accept-Encoding", async () => {
  await withEndpoint({}, async (h) => {
    const token = await h.hook();
    const port = await h.listen();
    for (const coding of ["snappy", "compress", "lz4", "gzip, snappy"]) {
      const res = await fetch(`http://127.0.0.1:${port}/hook/${token}`, {
        method: "POST",
        headers: { "content-type": "application/json", "content-encoding": coding },
        body: new Uint8Array([0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59]),
      });
      assert.equal(res.headers.get("accept-encoding"), "gzip, deflate, br, zstd");
      const refused = await assertError(res, 415, "unsupported_content_encoding");
      const named = coding.split(", ").at(-1)!;
      assert.match(
        String(refused.message),
        new RegExp(`Content-Encoding: ${named} is not supported`),
      );
      assert.match(String(refused.message), /gzip, deflate, br or zstd/);
    }
    // An unknown token still needs a valid one first: 404 for a token that names no hook.
    const unknown = await fetch(`http://127.0.0.1:${port}/hook/${"x".repeat(43)}`, {
      method: "POST",
      headers: { "content-type": "text/plain", "content-encoding": "snappy" },
      body: "hi",
    });
    assert.equal(unknown.status, 404);
    await unknown.body?.cancel();
    assert.equal(texts(h).length, 0);
  });
});

Deno.test("hook endpoint: unrecognised JSON is posted as readable text (200) with a log line naming its keys", async () => {
  // Issue 6: "posted as a readable code block (200) with a log line": the operator can see which
  // sender needs a format, from the log alone.
  await withEndpoint({}, async (h) => {
    const token = await h.hook();
    const res = await h.postJson(token, { event: "backup", host: "nas-1", ok: false });
    assert.equal(res.status, 200);
    assert.equal((await json(res)).ok, true);
    assert.match(texts(h).at(-1)?.text ?? "", /does not recognise:\n\{\n {2}"event": "backup",/);
    const line = h.logs.map((l) => JSON.parse(l)).find((l) =>
      l.msg === "unrecognized JSON posted as a code block"
    );
    assert.ok(line, "the fallback is logged");
    assert.equal(line.level, "info");
    assert.deepEqual(line.keys, ["event", "host", "ok"]);
    assert.equal(line.chat, CHAT_ID);
  });
});
