// One outgoing call over real sockets: a loopback receiver verifies every signature with the
// npm standardwebhooks package (an implementation nobody here wrote) and answers as told.
import assert from "node:assert/strict";
import { Webhook } from "standardwebhooks";
import { parseAllowlist } from "../../src/net/mod.ts";
import { callOnce, type CallRequest, MAX_ANSWER_BYTES } from "../../src/outgoing/call.ts";
import { generateSecret } from "../../src/outgoing/mod.ts";
import { VERSION } from "../../src/version.ts";

const LOOPBACK = parseAllowlist("127.0.0.1");

interface Seen {
  headers: Headers;
  body: string;
  verified: unknown;
}

/** A receiver on 127.0.0.1 that verifies with `secret` and answers with `answer()`. */
function receiver(
  secret: string,
  answer: (n: number) => Response | Promise<Response>,
): { url: string; seen: Seen[]; close: () => Promise<void> } {
  const seen: Seen[] = [];
  const wh = new Webhook(secret);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const body = await req.text();
    const headers = Object.fromEntries(req.headers);
    seen.push({ headers: req.headers, body, verified: wh.verify(body, headers) });
    return await answer(seen.length);
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/hooks/chat?key=abc`,
    seen,
    close: () => server.shutdown(),
  };
}

function request(url: string, secrets: string[]): CallRequest {
  return {
    url,
    id: "evt_0123",
    body: JSON.stringify({ type: "message.created", id: "evt_0123", text: "ü" }),
    secrets,
  };
}

Deno.test("a call is signed the Standard Webhooks way and its 2xx answer returned", async () => {
  const secret = generateSecret();
  const r = receiver(secret, () => Response.json({ text: "deployed" }));
  try {
    const res = await callOnce(request(r.url, [secret]), {
      timeoutMs: 2_000,
      allowlist: LOOPBACK,
    });
    assert.equal(res.kind, "answered");
    assert(res.kind === "answered");
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(new TextDecoder().decode(res.body)), { text: "deployed" });
    assert.match(res.contentType ?? "", /^application\/json/);
    const [s] = r.seen;
    assert(s);
    assert.deepEqual(s.verified, { type: "message.created", id: "evt_0123", text: "ü" });
    assert.equal(s.headers.get("content-type"), "application/json");
    assert.equal(s.headers.get("user-agent"), `trueconf-webhook-bot/${VERSION}`);
    assert.equal(s.headers.get("webhook-id"), "evt_0123");
    assert.match(s.headers.get("webhook-timestamp") ?? "", /^\d{10}$/);
    assert.match(s.headers.get("webhook-signature") ?? "", /^v1,[A-Za-z0-9+/]+=*$/);
  } finally {
    await r.close();
  }
});

Deno.test("during a rotation both signatures are sent: old and new receivers both verify", async () => {
  const fresh = generateSecret();
  const old = generateSecret();
  const oldReceiver = receiver(old, () => new Response(null, { status: 204 }));
  const newReceiver = receiver(fresh, () => new Response(null, { status: 204 }));
  try {
    for (const r of [oldReceiver, newReceiver]) {
      const res = await callOnce(request(r.url, [fresh, old]), {
        timeoutMs: 2_000,
        allowlist: LOOPBACK,
      });
      assert.equal(res.kind, "answered");
      assert.equal(r.seen[0]?.headers.get("webhook-signature")?.split(" ").length, 2);
    }
  } finally {
    await oldReceiver.close();
    await newReceiver.close();
  }
});

Deno.test("5xx, 408 and 429 are retried (Retry-After honoured, capped); other 4xx and 3xx are refused", async () => {
  const secret = generateSecret();
  const answers: Response[] = [];
  const r = receiver(secret, (n) => answers[n - 1] ?? new Response("?", { status: 500 }));
  const target = receiver(secret, () => new Response("must not be reached"));
  try {
    answers.push(
      new Response("boom", { status: 500 }),
      new Response("", { status: 429, headers: { "Retry-After": "7" } }),
      new Response("", { status: 503, headers: { "Retry-After": "99999" } }),
      new Response("", { status: 408 }),
      new Response("no such hook\nsecond line", { status: 404 }),
      new Response("", { status: 302, headers: { Location: target.url } }),
    );
    const results = [];
    for (let i = 0; i < answers.length; i++) {
      results.push(
        await callOnce(request(r.url, [secret]), { timeoutMs: 2_000, allowlist: LOOPBACK }),
      );
    }
    assert.deepEqual(
      results.map((x) => [x.kind, x.status, x.kind === "retry" ? x.retryAfterMs : undefined]),
      [
        ["retry", 500, null],
        ["retry", 429, 7_000],
        ["retry", 503, 600_000],
        ["retry", 408, null],
        ["refused", 404, undefined],
        ["refused", 302, undefined],
      ],
    );
    const notFound = results[4];
    assert(notFound?.kind === "refused");
    assert.equal(new TextDecoder().decode(notFound.body), "no such hook\nsecond line");
    assert.match(results[5]?.kind === "refused" ? results[5].reason : "", /redirect/);
    assert.equal(target.seen.length, 0, "the redirect was not followed");
    assert.equal(new Set(r.seen.map((s) => s.headers.get("webhook-id"))).size, 1);
  } finally {
    await r.close();
    await target.close();
  }
});

Deno.test("a silent receiver times out; the attempt is retryable", async () => {
  const secret = generateSecret();
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => release = resolve);
  const r = receiver(secret, async () => {
    await held;
    return new Response("late");
  });
  try {
    const res = await callOnce(request(r.url, [secret]), { timeoutMs: 300, allowlist: LOOPBACK });
    assert.equal(res.kind, "retry");
    assert(res.kind === "retry");
    assert.equal(res.status, null);
    assert.match(res.reason, /did not answer within/);
  } finally {
    release();
    await r.close();
  }
});

Deno.test("an answer over 1 MiB fails for good; a loopback URL without the allowlist is refused before any connection", async () => {
  const secret = generateSecret();
  const r = receiver(secret, () => new Response("x".repeat(MAX_ANSWER_BYTES + 1)));
  try {
    const big = await callOnce(request(r.url, [secret]), { timeoutMs: 5_000, allowlist: LOOPBACK });
    assert.equal(big.kind, "failed");
    assert.equal(r.seen.length, 1);
    const unsafe = await callOnce(request(r.url, [secret]), { timeoutMs: 2_000 });
    assert.equal(unsafe.kind, "failed");
    assert(unsafe.kind === "failed");
    assert.match(unsafe.reason, /only public addresses/);
    assert.equal(r.seen.length, 1, "nothing reached the receiver");
  } finally {
    await r.close();
  }
});

Deno.test("a name that stops resolving after creation is a network error: retried, not dropped", async () => {
  const secret = generateSecret();
  for (
    const resolve of [
      () => Promise.resolve([]), // the record was removed (a deploy moving the service)
      () => Promise.reject(new Deno.errors.NotFound("NXDOMAIN")),
    ]
  ) {
    const res = await callOnce(request("https://hooks.example.com/chat", [secret]), {
      timeoutMs: 2_000,
      resolve,
    });
    assert.equal(res.kind, "retry");
    assert(res.kind === "retry");
    assert.match(res.reason, /hooks\.example\.com/);
  }
});
