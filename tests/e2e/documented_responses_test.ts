// README's "Responses" table is the HTTP contract testers hold the bot to: every machine `code`
// with its status. Session 14's outside-in audit found the table ending in "…" while the bot
// answered 23 codes it never named (`invalid_payload`, `invalid_multipart`, 401 `missing_token`,
// 404 `delivery_not_found`, 405 `method_not_allowed`, 431 `headers_too_large`, 500 …), and
// no 401/403/405/414/431/500 rows at all. These tests keep the table and the code together:
// every code the HTTP side can answer is in the table, every code in the table is one the code
// knows, and a sample of them is driven over the bot's real socket and must come back with the
// table's status and the headers it promises.
import assert from "node:assert/strict";
import { type BotWithFake, startBotWithFake } from "../support/bot_with_fake.ts";
import { RawHttp } from "../support/raw_http.ts";

const ROOT = new URL("../../", import.meta.url);
const README = Deno.readTextFileSync(new URL("README.md", ROOT));

/**
 * Code → status from README's Responses table: a code is a backticked snake_case word in the
 * Body column of a 4xx or 5xx row (`Retry-After`, `Allow` and the JSON shape are not codes).
 */
function documentedCodes(): Map<string, number> {
  const start = README.indexOf("### Responses");
  const section = README.slice(start, README.indexOf("\n## ", start));
  const codes = new Map<string, number>();
  for (const line of section.split("\n")) {
    const row = /^\| (\d{3}) +\|([^|]*)\|/.exec(line);
    if (!row || Number(row[1]) < 400) continue;
    for (const [, code] of row[2]!.matchAll(/`([a-z]+(?:_[a-z]+)*)`/g)) {
      assert.ok(!codes.has(code!), `${code} is in two rows of README's Responses table`);
      codes.set(code!, Number(row[1]));
    }
  }
  return codes;
}

/** The source files that answer HTTP requests, without their comments. */
function httpSources(): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const e of Deno.readDirSync(new URL(dir, ROOT))) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) walk(path);
      else if (e.name.endsWith(".ts")) {
        const text = Deno.readTextFileSync(new URL(path, ROOT));
        files.set(path, text.replace(/^\s*(\*|\/\/|\/\*\*).*$/gm, ""));
      }
    }
  };
  for (const dir of ["src/ingest", "src/delivery/queue", "src/messages"]) walk(dir);
  for (const f of ["src/hooks/verify.ts", "src/observability/metrics_route.ts"]) {
    files.set(f, Deno.readTextFileSync(new URL(f, ROOT)));
  }
  return files;
}

/**
 * The codes the HTTP side answers, found where they are made: a `PayloadError`/`BodyError`
 * (status in the call), `refuse(c, <status>, "<code>"`, a `{status, code}` refusal, the HTTP
 * server's `explain` of a framing mistake, `errorBody` and the /metrics 401. The status is
 * known where it stands next to the code.
 */
function answeredCodes(): Map<string, { status: number | null; where: string }> {
  const found = new Map<string, { status: number | null; where: string }>();
  const patterns: [RegExp, "code-first" | "status-first"][] = [
    [/new (?:PayloadError|BodyError)\(\s*"([a-z_]+)"/g, "code-first"],
    [/errorBody\(\s*"([a-z_]+)"/g, "code-first"],
    [/\brefuse\(\s*c,\s*(\d{3}),\s*"([a-z_]+)"/g, "status-first"],
    [/\brefused\(\s*(\d{3}),\s*"([a-z_]+)"/g, "status-first"],
    [/\bstatus: (\d{3}),\s*code: "([a-z_]+)"/g, "status-first"],
    [/\bstatus === (\d{3})\) \{\s*return \[\s*"([a-z_]+)"/g, "status-first"],
    [/\berror: "([a-z_]+)",[\s\S]{0,200}?\bstatus: (\d{3})/g, "code-first"],
  ];
  for (const [path, text] of httpSources()) {
    for (const [re, order] of patterns) {
      for (const m of text.matchAll(re)) {
        const [code, status] = order === "code-first" ? [m[1]!, m[2]] : [m[2]!, m[1]];
        const known = found.get(code);
        found.set(code, {
          status: status ? Number(status) : known?.status ?? null,
          where: known?.where ?? path,
        });
      }
    }
  }
  return found;
}

Deno.test("README's Responses table names every code the HTTP side answers, under its status", () => {
  const documented = documentedCodes();
  const answered = answeredCodes();
  // The scan really reads the code (a pattern that stopped matching would pass silently).
  assert.ok(answered.size >= 40, `only ${answered.size} codes found: ${[...answered.keys()]}`);
  const missing = [...answered].filter(([code]) => !documented.has(code))
    .map(([code, { status, where }]) => `${status ?? "?"} ${code} (${where})`);
  assert.deepEqual(missing, [], "answered but not in README's Responses table");
  const wrongStatus = [...answered]
    .filter(([code, { status }]) => status !== null && documented.get(code) !== status)
    .map(([code, { status }]) => `${code}: README ${documented.get(code)}, code ${status}`);
  assert.deepEqual(wrongStatus, []);
});

Deno.test("every code README's Responses table names is one the bot can answer", () => {
  const answered = answeredCodes();
  // Codes made outside the scanned shapes: a failed run's code carried to the 502 refusal
  // (post_job.ts, deliverer.ts), the idempotency refusal's constant, the attachment check's
  // choice between invalid_url and unsafe_url. Each still has to be in the sources.
  const all = [
    ...httpSources().values(),
    Deno.readTextFileSync(new URL("src/delivery/deliverer.ts", ROOT)),
  ]
    .join("\n");
  const unknown = [...documentedCodes().keys()].filter((code) =>
    !answered.has(code) && !all.includes(`"${code}"`)
  );
  assert.deepEqual(unknown, [], "in README's Responses table but nowhere in the code");
});

async function withBot(fn: (b: BotWithFake) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "documented_responses_" });
  const b = await startBotWithFake({
    dir,
    env: { METRICS_TOKEN: "documented-responses", WEBHOOK_RATE_LIMIT_PER_MINUTE: "40" },
  });
  try {
    await fn(b);
  } finally {
    await b.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** A POST of `body` as `type`. */
const typed = (type: string, body: string, headers: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  headers: { "content-type": type, ...headers },
  body,
});
const json = (body: unknown, headers: Record<string, string> = {}): RequestInit =>
  typed("application/json", typeof body === "string" ? body : JSON.stringify(body), headers);

Deno.test("a sample of refusals over the real socket: the table's status, the code, a sentence, the promised headers", async () => {
  const documented = documentedCodes();
  await withBot(async (b) => {
    const ops = b.addGroup({ chatId: "ops", title: "Ops", owner: b.fake.userId("alice") });
    const { url } = await b.createHook(ops.chatId, "deploys", b.fake.userId("alice"));
    const port = Number(new URL(b.baseUrl).port);

    const check = (
      code: string,
      res: { status: number; body: string; header: (name: string) => string | null },
      headers: Record<string, RegExp> = {},
    ) => {
      const body = JSON.parse(res.body);
      assert.equal(body.error, code, res.body);
      assert.equal(body.ok, false, res.body);
      assert.ok(typeof body.message === "string" && body.message.length > 10, res.body);
      assert.equal(
        res.status,
        documented.get(code),
        `${code}: README says ${documented.get(code)}`,
      );
      for (const [name, value] of Object.entries(headers)) {
        assert.match(res.header(name) ?? "", value, `${code}: ${name}`);
      }
    };
    const send = async (target: string, init: RequestInit = {}) => {
      const res = await fetch(target, init);
      return {
        status: res.status,
        body: await res.text(),
        header: (n: string) => res.headers.get(n),
      };
    };
    const raw = async (request: string) => {
      const conn = await RawHttp.connect(port);
      try {
        await conn.write(request);
        const res = await conn.response();
        assert.ok(res, `no answer to ${request.slice(0, 60)}`);
        return {
          status: res.status,
          body: res.body,
          header: (n: string) => res.headers.get(n) ?? null,
        };
      } finally {
        conn.close();
      }
    };

    check("invalid_json", await send(url, json("{")));
    check("invalid_field_type", await send(url, json({ text: 5 })));
    check("invalid_parse_mode", await send(url, json({ text: "a", parse_mode: "xml" })));
    check("empty_payload", await send(url, json({ text: "" })));
    // A batch of records is for ?format=logs only.
    check("invalid_payload", await send(`${url}?format=slack`, json([{ text: "a" }])));
    check(
      "unsafe_url",
      await send(url, json({ text: "a", images: [{ url: "http://127.0.0.1/a.png" }] })),
    );
    const eleven = Array.from({ length: 11 }, (_, i) => ({ url: `https://example.com/${i}.png` }));
    check("too_many_attachments", await send(url, json({ text: "a", images: eleven })));
    check("unknown_format", await send(`${url}?format=nope`, json({ text: "a" })));
    const emptyLabel = [[{ text: "", url: "https://ci.example.com/42" }]];
    check("invalid_buttons", await send(url, json({ text: "a", buttons: emptyLabel })));
    check(
      "invalid_actions",
      await send(url, typed("text/plain", "a", { title: "t", actions: "[broken" })),
    );
    check("invalid_multipart", await send(url, typed("multipart/form-data", "x")));
    check("unsupported_content_type", await send(url, typed("application/pdf", "%PDF")));
    check(
      "unsupported_content_encoding",
      await send(url, json({ text: "a" }, { "content-encoding": "snappy" })),
      { "accept-encoding": /^gzip, deflate, br, zstd$/ },
    );
    check(
      "invalid_idempotency_key",
      await send(url, json({ text: "a" }, { "idempotency-key": "k".repeat(300) })),
    );
    check(
      "invalid_message_key",
      await send(url, json({ text: "a" }, { "x-message-key": "k".repeat(200) })),
    );
    check(
      "hook_not_found",
      await send(`${b.baseUrl}/hook/${"x".repeat(43)}`, json({ text: "a" })),
    );
    check("delivery_not_found", await send(`${url}/deliveries/nope`));
    check("message_not_found", await send(`${url}/messages/nope`, { method: "DELETE" }));
    check("method_not_allowed", await send(url), { allow: /^POST, PUT$/ });
    check("not_found", await send(`${b.baseUrl}/nothing-here`));
    // A method HTTP does not define is not a missing page (RFC 9110 9.1: 501).
    check("method_not_implemented", await send(url, { method: "BREW", body: "coffee" }));
    check("missing_topic", await send(`${b.baseUrl}/`, { method: "POST", body: "hello" }));
    check("missing_token", await send(`${b.baseUrl}/message`, json({ message: "a" })));
    check("unauthorized", await send(`${b.baseUrl}/metrics`));
    check(
      "payload_too_large",
      await raw(
        `POST /hook/${url.split("/hook/")[1]} HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n` +
          `Content-Length: ${26 * 1024 * 1024}\r\n\r\n`,
      ),
    );
    check(
      "uri_too_long",
      await raw(`GET /${"a".repeat(17 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n`),
    );
    check(
      "headers_too_large",
      await raw(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(17 * 1024)}\r\n\r\n`),
    );
    check("invalid_request", await raw("GET /healthz HTTP/1.1\r\n\r\n"));

    // The same key with another body: nothing posted the second time.
    const posted = b.fake.messagesIn(ops.chatId).length;
    const first = await send(url, json({ text: "first" }, { "idempotency-key": "deploy-1" }));
    assert.equal(first.status, 200, first.body);
    check(
      "idempotency_key_reused",
      await send(url, json({ text: "second" }, { "idempotency-key": "deploy-1" })),
    );
    assert.equal(b.fake.messagesIn(ops.chatId).length, posted + 1, "only the first text posted");

    // Last: the hook's limit (40 a minute here) runs out within the next 40 requests.
    let limited = null;
    for (let i = 0; i < 41 && !limited; i++) {
      const res = await send(url, json({ text: "" }));
      if (res.status !== 400) limited = res;
    }
    assert.ok(limited, "the per-hook limit never answered");
    check("rate_limited", limited, {
      "retry-after": /^\d+$/,
      "x-ratelimit-limit": /^40$/,
      "x-ratelimit-remaining": /^0$/,
      "x-ratelimit-reset": /^\d+$/,
    });
  });
});
