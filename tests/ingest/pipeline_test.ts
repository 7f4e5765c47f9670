// The plug-in points other routes and features use: per-hook guards on the raw body before it
// is parsed, the request hook after each answer, and a route built from the shared pipeline
// with its own token source drawing on the same per-IP budget.
import assert from "node:assert/strict";
import { Hono } from "hono";
import {
  CHAT_ID,
  type EndpointHarness,
  serveFiles,
  withEndpoint,
} from "../support/endpoint_harness.ts";
import { parseAllowlist } from "../../src/net/mod.ts";
import { hookPipeline } from "../../src/ingest/app.ts";
import type { HookGuard, HookRequestRecord, IngestEnv } from "../../src/ingest/middleware/mod.ts";

Deno.test("a per-hook guard sees the exact raw body and can refuse before parsing", async () => {
  const seen: { body: string; ip: string; hook: string }[] = [];
  await withEndpoint({
    guards: [(hook, req) => {
      seen.push({ body: new TextDecoder().decode(req.rawBody), ip: req.clientIp, hook: hook.id });
      return req.headers.get("x-signature") === "good"
        ? null
        : { status: 401, code: "signature_invalid", message: "The signature does not match." };
    }],
  }, async (h) => {
    const token = await h.hook();
    const before = h.fake.messagesIn(CHAT_ID).length;
    // Not even valid JSON: the guard answers before the decoder could complain.
    let res = await h.request(`/hook/${token}`, { method: "POST", body: "{not json" });
    assert.equal(res.status, 401);
    assert.equal((await res.json()).error, "signature_invalid");
    assert.deepEqual(seen.at(-1)?.body, "{not json");
    assert.equal(seen.at(-1)?.ip, "203.0.113.5");
    res = await h.request(`/hook/${token}`, {
      method: "POST",
      headers: { "x-signature": "good", "content-type": "application/json" },
      body: '{"text":"signed"}',
    });
    assert.equal(res.status, 200, await res.clone().text());
    await res.body?.cancel();
    assert.equal(h.fake.messagesIn(CHAT_ID).length, before + 1);
  });
});

Deno.test("onRequest hears each answered request of a known hook, not unknown tokens", async () => {
  const records: [string, HookRequestRecord][] = [];
  await withEndpoint({ onRequest: (id, r) => void records.push([id, r]) }, async (h) => {
    const token = await h.hook();
    await (await h.postJson(token, { text: "hi" })).body?.cancel();
    await (await h.postJson(token, 42)).body?.cancel();
    await (await h.postJson("x".repeat(43), { text: "hi" })).body?.cancel();
    assert.equal(records.length, 2);
    assert.deepEqual(records.map(([, r]) => [r.route, r.status, r.outcome]), [
      ["hook", 200, "delivered"],
      ["hook", 400, undefined],
    ]);
  });
});

Deno.test("onRequest hears the code of a failed delivery, as of any other refusal", async () => {
  // /webhook_info's last requests show it: a 502 without its code read as a bare 'refused'.
  const files = serveFiles({});
  const records: HookRequestRecord[] = [];
  try {
    await withEndpoint({
      urlAllowlist: parseAllowlist("127.0.0.1/32"),
      onRequest: (_, r) => void records.push(r),
    }, async (h) => {
      const token = await h.hook();
      const gone = { url: `${files.base}/gone.pdf` };
      let res = await h.postJson(token, { files: [gone] });
      assert.equal(res.status, 502);
      await res.body?.cancel();
      res = await h.postJson(token, { text: "x", files: [gone] });
      assert.equal(res.status, 502);
      await res.body?.cancel();
      assert.deepEqual(records.map((r) => [r.status, r.error]), [
        [502, "delivery_failed"],
        [502, "partial_delivery"],
      ]);
    });
  } finally {
    await files.close();
  }
});

/** The shared pipeline over the harness's store, for routes that answer before any dispatch. */
function pipelineOver(h: EndpointHarness, perIpPerMinute: number, guards?: HookGuard[]) {
  return hookPipeline({
    hooks: h.store,
    dispatcher: {
      dispatch: () => Promise.reject(new Error("unused")),
      status: () => Promise.resolve(null),
    },
    readiness: () => ({ ready: true, details: {} }),
    limits: { maxBodyBytes: 1024, maxAttachments: 1, perIpPerMinute, perTokenPerMinute: 0 },
    guards,
  });
}

Deno.test("a route built from the pipeline draws on its per-IP budget and token lookup", async () => {
  await withEndpoint({ limits: { perIpPerMinute: 2 } }, async (h) => {
    const token = await h.hook();
    // What a dialect route does: its own token source, the same admission, body and delivery.
    const p = pipelineOver(h, 2);
    const app = new Hono().post(
      "/message",
      ...p.admit("gotify", { token: (c) => c.req.query("token") ?? c.req.header("x-gotify-key") }),
      (c) => c.json({ hook: c.var.hook.name }),
    );
    const call = (init: RequestInit, q = "") =>
      app.request(`/message${q}`, { method: "POST", ...init }, {
        remoteAddr: { hostname: "198.51.100.9" },
      });
    let res = await call({}, `?token=${token}`);
    assert.deepEqual(await res.json(), { hook: "hook-1" });
    res = await call({ headers: { "x-gotify-key": "nope" } });
    assert.equal(res.status, 404);
    assert.equal((await res.json()).error, "hook_not_found");
    res = await call({}, `?token=${token}`);
    assert.equal(res.status, 429, "the third request from one address exceeds 2 a minute");
    await res.body?.cancel();
  });
});

Deno.test("bodyFirst: a token inside the body (ntfy's topic) is found, guards still run once", async () => {
  let guarded = 0;
  await withEndpoint({}, async (h) => {
    const token = await h.hook();
    const p = pipelineOver(h, 0, [() => {
      guarded++;
      return null;
    }]);
    const topic = (c: { var: { rawBody: Uint8Array } }) =>
      JSON.parse(new TextDecoder().decode(c.var.rawBody)).topic as string;
    const app = new Hono<IngestEnv>().post(
      "/",
      ...p.admit("ntfy", { token: topic, bodyFirst: true }),
      p.body,
      (c) => c.json({ hook: c.var.hook.name, bytes: c.var.rawBody.length }),
    ).onError(p.onError);
    const body = JSON.stringify({ topic: token, message: "disk full" });
    const res = await app.request("/", { method: "POST", body });
    assert.deepEqual(await res.json(), { hook: "hook-1", bytes: body.length });
    assert.equal(guarded, 1);
    const tooBig = await app.request("/", { method: "POST", body: "x".repeat(2048) });
    assert.equal(tooBig.status, 413, "the limits apply to a body read before the token lookup");
    await tooBig.body?.cancel();
  });
});

async function brotli(text: string): Promise<Uint8Array<ArrayBuffer>> {
  const s = new Blob([text]).stream().pipeThrough(new CompressionStream("brotli"));
  return new Uint8Array(await new Response(s).arrayBuffer());
}

// A signature is computed over the bytes on the wire: a guard that saw the decoded body would
// refuse every compressed, signed request. On a route whose token is in the body (ntfy's topic),
// the body is decoded once for the lookup and the guards still see it as sent.
Deno.test("a compressed body: guards see the bytes as sent, on a bodyFirst route too; their refusal comes before 415", async () => {
  const seen: Uint8Array[] = [];
  await withEndpoint({}, async (h) => {
    const token = await h.hook();
    const p = pipelineOver(h, 0, [(_hook, req) => {
      seen.push(req.rawBody);
      return req.headers.get("x-signature") === "good"
        ? null
        : { status: 401, code: "signature_invalid", message: "The signature does not match." };
    }]);
    const topic = (c: { var: { rawBody: Uint8Array } }) =>
      JSON.parse(new TextDecoder().decode(c.var.rawBody)).topic as string;
    const echo = (c: { var: { rawBody: Uint8Array } }) =>
      new Response(new TextDecoder().decode(c.var.rawBody));
    const app = new Hono<IngestEnv>()
      .post("/", ...p.admit("ntfy", { token: topic, bodyFirst: true }), p.body, echo)
      .post("/hook/:token", ...p.admit("hook"), p.body, echo)
      .onError(p.onError);
    const body = JSON.stringify({ topic: token, message: "disk full" });
    const sent = await brotli(body);
    for (const path of ["/", `/hook/${token}`]) {
      seen.length = 0;
      const res = await app.request(path, {
        method: "POST",
        headers: { "content-encoding": "br", "x-signature": "good" },
        body: sent,
      });
      assert.equal(await res.text(), body, path);
      assert.deepEqual(seen, [sent], `${path}: the guard ran once, on the bytes as sent`);
    }
    const unsigned = await app.request(`/hook/${token}`, {
      method: "POST",
      headers: { "content-encoding": "snappy" },
      body: sent,
    });
    assert.equal(unsigned.status, 401);
    assert.equal((await unsigned.json()).error, "signature_invalid");
  });
});
