// Issue 10.1–10.3: an attachment's trouble belongs to the attachment. A loopback asset
// server that refuses, hangs, answers 404 or 500, and a name that does not resolve
// (`.invalid`): the text reaches the chat within the request, the failed part is named in
// the answer, and a message posted right after arrives without waiting for the dead host.
// Real sockets: the endpoint with the production queue, the fake TrueConf, the SSRF-guarded
// fetcher (127.0.0.1 allowed by the allowlist).
import assert from "node:assert/strict";
import { CHAT_ID, type EndpointHarness, withEndpoint } from "../support/endpoint_harness.ts";
import { parseAllowlist } from "../../src/net/mod.ts";

/** The image fetch budget: the hanging host holds the first request this long. */
const BUDGET_MS = 3_000;

/** Asset hosts: each path answers its way; `/hang` accepts and never answers. */
function startAssets() {
  const held: Deno.Conn[] = [];
  const hang = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  (async () => {
    for await (const c of hang) held.push(c); // read nothing, answer nothing
  })().catch(() => {});
  const http = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/500.png") return new Response("oops", { status: 500 });
    return new Response("not found", { status: 404 });
  });
  // A port nobody listens on: bound, then closed.
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const refusedPort = (closed.addr as Deno.NetAddr).port;
  closed.close();
  const httpBase = `http://127.0.0.1:${http.addr.port}`;
  return {
    urls: {
      refused: `http://127.0.0.1:${refusedPort}/chart.png`,
      hang: `http://127.0.0.1:${(hang.addr as Deno.NetAddr).port}/chart.png`,
      "404": `${httpBase}/404.png`,
      "500": `${httpBase}/500.png`,
      invalid: "http://assets.ci.invalid/chart.png",
    } as Record<string, string>,
    async close() {
      hang.close();
      for (const c of held) c.close();
      await http.shutdown();
    },
  };
}

function texts(h: EndpointHarness): string[] {
  return h.fake.messagesIn(CHAT_ID).map((m) => m.text ?? m.caption?.text ?? `[${m.kind}]`);
}

Deno.test("a dead attachment host fails only its part: text at once, 502 names the part, the next message does not wait", async (t) => {
  const assets = startAssets();
  try {
    await withEndpoint({
      urlAllowlist: parseAllowlist("127.0.0.1/32"),
      fetchBudgetMs: BUDGET_MS,
      deferAfterMs: 200,
    }, async (h) => {
      const token = await h.hook();
      for (const [name, url] of Object.entries(assets.urls)) {
        await t.step(`${name}: ${url}`, async () => {
          const started = performance.now();
          let firstAnswered = false;
          const first = h.postJson(token, { text: `alert ${name}`, images: [{ url }] });
          void first.then(() => firstAnswered = true, () => {});
          // The text arrives while the request is still waiting for the image (or is done).
          await h.fake.waitFor(() => texts(h).includes(`alert ${name}`), BUDGET_MS);
          // The hanging host holds its image for the whole fetch budget: the text must not wait
          // for it. (Ordered by events, not by a wall-clock bound: a loaded machine is slow,
          // but the text still comes before the budget ends.)
          if (name === "hang") assert.ok(!firstAnswered, "the text waited for the image");
          // A message posted right now arrives at once, whatever the image does.
          const next = await h.postJson(token, { text: `next ${name}` });
          assert.equal(next.status, 200, await next.clone().text());
          await next.body?.cancel();
          if (name === "hang") assert.ok(!firstAnswered, "the next message waited for the image");
          const res = await first;
          const body = await res.json();
          const firstMs = performance.now() - started;
          assert.equal(res.status, 502, JSON.stringify(body));
          assert.equal(body.error, "partial_delivery");
          assert.equal(body.failed.length, 1);
          assert.equal(body.failed[0].item, `image 1 (${url})`);
          assert.equal(body.failed[0].code, "fetch_failed");
          assert.equal(body.messages.length, 1, "the text was delivered");
          // The answer comes once the budget ends, not after some longer wait (generous: the
          // suite may share the machine with other work).
          assert.ok(firstMs < BUDGET_MS * 3, `answered after ${firstMs} ms`);
          const status = await h.request(`/hook/${token}/deliveries/x-00000000`);
          await status.body?.cancel();
        });
      }
      await t.step("each failed part is counted in the failed-parts metric", () => {
        const counted = h.metrics.filter((m) => m.startsWith('["failedParts"'));
        assert.equal(counted.length, Object.keys(assets.urls).length);
      });
      await t.step("the creator gets one DM (a digest holds the rest)", async () => {
        const dm = h.fake.p2pChatId(h.fake.userId("alice"));
        await h.fake.waitFor(() => h.fake.messagesIn(dm).length === 1);
        const note = h.fake.messagesIn(dm)[0]!.text ?? "";
        assert.match(note, /image 1 \(http/);
      });
    });
  } finally {
    await assets.close();
  }
});
