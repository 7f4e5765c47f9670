// /readyz and the hook endpoint while TrueConf is down or silent, over real sockets against
// the fake server. The 503 answers to POSTs come from the synchronous dispatcher (the durable
// queue answers 202 instead); /readyz comes from src/readiness.ts, as in the bot.
import assert from "node:assert/strict";
import { CHAT_ID, type EndpointHarness, withEndpoint } from "../support/endpoint_harness.ts";
import { waitUntil } from "../support/wait.ts";

type Json = Record<string, unknown>;

async function readyz(h: EndpointHarness): Promise<{ status: number; body: Json }> {
  const res = await h.request("/readyz");
  return { status: res.status, body: await res.json() };
}

function until(pred: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  return waitUntil(pred, timeoutMs, what);
}

Deno.test("readiness: 200 when connected and authorized, 503 with reasons while TrueConf refuses connections", async (t) => {
  await withEndpoint({}, async (h) => {
    const token = await h.hook();

    await t.step("connected: /readyz 200", async () => {
      const r = await readyz(h);
      assert.equal(r.status, 200);
      assert.equal(r.body.ok, true);
      assert.deepEqual(r.body.problems, []);
    });

    await h.fake.refuseConnections(true);
    await until(() => !h.client.state.connected, "the client to notice the drop");

    await t.step("down: /readyz 503 says it is not connected", async () => {
      const r = await readyz(h);
      assert.equal(r.status, 503);
      assert.equal(r.body.ok, false);
      assert.deepEqual(r.body.problems, ["not connected to TrueConf"]);
      const tc = r.body.trueconf as Json;
      assert.equal(tc.connected, false);
      assert.equal(tc.authorized, false);
      assert.equal(typeof tc.lastError, "string", "the last connection error is shown");
    });

    await t.step("sync dispatcher: POST → 503 trueconf_unavailable with Retry-After", async () => {
      const res = await h.postJson(token, { text: "while down" });
      const body = await res.json();
      assert.equal(res.status, 503);
      assert.equal(body.ok, false);
      assert.equal(body.error, "trueconf_unavailable");
      assert.match(body.message, /Retry later/);
      assert.equal(res.headers.get("retry-after"), "5");
    });

    await t.step("/healthz stays 200: the process is alive", async () => {
      const res = await h.request("/healthz");
      assert.equal(res.status, 200);
      await res.body?.cancel();
    });

    await h.fake.refuseConnections(false);
    await h.client.ready(5_000);

    await t.step("back: /readyz 200 and POSTs are delivered again", async () => {
      assert.equal((await readyz(h)).status, 200);
      const res = await h.postJson(token, { text: "after recovery" });
      assert.equal(res.status, 200);
      await res.body?.cancel();
      assert.deepEqual(
        h.fake.messagesIn(CHAT_ID).map((m) => m.text),
        ["after recovery"],
        "nothing from the outage was posted",
      );
    });
  });
});

Deno.test("readiness: wrong bot credentials keep /readyz at 503 with the auth error", async () => {
  await withEndpoint({}, async (h) => {
    // The cached token is refused (201) and a fresh one cannot be had: the password is wrong.
    h.fake.setOAuthMode("wrong_password");
    h.fake.failNextAuth(201);
    h.fake.dropAll();
    await until(
      () => /401|password|credential|invalid/i.test(h.client.state.lastError ?? ""),
      "an auth failure",
    );
    const r = await readyz(h);
    assert.equal(r.status, 503);
    assert.equal(r.body.ok, false);
    assert.equal((r.body.problems as string[]).length, 1);
    assert.match((r.body.problems as string[])[0]!, /^(not connected|connected .* not authorized)/);
    assert.match(String((r.body.trueconf as Json).lastError), /401|password|credential|invalid/i);
    h.fake.setOAuthMode("ok");
    await h.client.ready(5_000);
    assert.equal((await readyz(h)).status, 200);
  });
});

Deno.test("silent TrueConf (socket open, no answers): POST gets 503 within the delivery timeout; /readyz turns false", async (t) => {
  const timeoutMs = 300;
  await withEndpoint({ requestTimeoutMs: timeoutMs }, async (h) => {
    const token = await h.hook();
    h.fake.setMethodDelay("sendMessage", "never");

    await t.step(
      "sync dispatcher: the request ends with 503 + Retry-After, not a hang",
      async () => {
        const started = performance.now();
        const res = await h.postJson(token, { text: "into the void" });
        const ms = performance.now() - started;
        const body = await res.json();
        assert.equal(res.status, 503, JSON.stringify(body));
        assert.equal(body.error, "trueconf_unavailable");
        assert.match(body.message, /did not answer/);
        assert.equal(res.headers.get("retry-after"), "5");
        assert.ok(ms >= timeoutMs - 20 && ms < timeoutMs + 1_000, `answered after ${ms} ms`);
      },
    );

    await t.step("/readyz 503: TrueConf stopped answering, though the socket is up", async () => {
      assert.equal(h.client.state.connected, true);
      const r = await readyz(h);
      assert.equal(r.status, 503);
      assert.deepEqual(r.body.problems, ["TrueConf stopped answering requests"]);
    });

    await t.step("TrueConf answers again: /readyz recovers with no traffic (probe)", async () => {
      h.fake.setMethodDelay("sendMessage", 0);
      // No request is sent by the test: the client's own probe must clear the flag.
      await h.fake.waitFor(() => h.client.state.consecutiveTimeouts === 0, 3_000);
      assert.equal((await readyz(h)).status, 200);
      h.fake.setMethodDelay("sendMessage", "never");
      const res = await h.postJson(token, { text: "silent again" });
      assert.equal(res.status, 503);
      await res.body?.cancel();
    });

    await t.step("a silent upload step also ends in 503, not a hang", async () => {
      h.fake.setMethodDelay("sendMessage", 0);
      h.fake.setMethodDelay("uploadFile", "never");
      const form = new FormData();
      form.set("file", new File(["log"], "log.txt"));
      const started = performance.now();
      const res = await h.request(`/hook/${token}`, { method: "POST", body: form });
      const ms = performance.now() - started;
      assert.equal(res.status, 503);
      await res.body?.cancel();
      assert.ok(ms < timeoutMs + 1_000, `answered after ${ms} ms`);
      h.fake.setMethodDelay("uploadFile", 0);
    });

    await t.step("answers again: the next delivery succeeds and /readyz is 200", async () => {
      const res = await h.postJson(token, { text: "back" });
      assert.equal(res.status, 200);
      await res.body?.cancel();
      assert.equal((await readyz(h)).status, 200);
    });
  });
});
