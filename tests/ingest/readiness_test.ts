// /readyz and the hook endpoint while TrueConf is down or silent, over real sockets against
// the fake server, with the durable queue production uses: POSTs are accepted (202) and
// delivered once TrueConf is back; /readyz comes from src/readiness.ts, as in the bot.
import assert from "node:assert/strict";
import { CHAT_ID, type EndpointHarness, withEndpoint } from "../support/endpoint_harness.ts";
import { waitUntil } from "../support/wait.ts";

type Json = Record<string, unknown>;

// From loopback: the operator's view with every detail (the public view is in
// tests/e2e/public_surface_test.ts).
async function readyz(h: EndpointHarness): Promise<{ status: number; body: Json }> {
  const res = await h.request("/readyz", {}, "127.0.0.1");
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

    let queued = "";
    await t.step("POST while down → 202 queued with a delivery id; /readyz shows it", async () => {
      const res = await h.postJson(token, { text: "while down" });
      const body = await res.json();
      assert.equal(res.status, 202, JSON.stringify(body));
      assert.equal(body.queued, true);
      queued = body.delivery;
      assert.equal(res.headers.get("x-delivery-id"), queued);
      const r = await readyz(h);
      assert.equal(r.status, 503);
      assert.equal(((r.body as Json).queue as Json).depth, 1);
    });

    await t.step("/healthz stays 200: the process is alive", async () => {
      const res = await h.request("/healthz");
      assert.equal(res.status, 200);
      await res.body?.cancel();
    });

    await h.fake.refuseConnections(false);
    await h.client.ready(5_000);

    await t.step(
      "back: the queued message arrives, /readyz 200, POSTs delivered at once",
      async () => {
        await h.fake.waitFor(() => h.queue.stats().depth === 0, 5_000);
        assert.equal((await readyz(h)).status, 200);
        const st = await h.request(`/hook/${token}/deliveries/${queued}`);
        assert.equal((await st.json()).delivery.state, "delivered");
        const res = await h.postJson(token, { text: "after recovery" });
        assert.equal(res.status, 200);
        await res.body?.cancel();
        assert.deepEqual(h.fake.messagesIn(CHAT_ID).map((m) => m.text), [
          "while down",
          "after recovery",
        ]);
      },
    );
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

Deno.test("silent TrueConf (socket open, no answers): POST answered 202 within the delivery timeout; /readyz turns false", async (t) => {
  const timeoutMs = 300;
  await withEndpoint({ requestTimeoutMs: timeoutMs }, async (h) => {
    const token = await h.hook();
    h.fake.setMethodDelay("sendMessage", "never");
    const drained = () => h.fake.waitFor(() => h.queue.stats().depth === 0, 5_000);

    await t.step("the request ends with 202 queued after the timeout, not a hang", async () => {
      const started = performance.now();
      const res = await h.postJson(token, { text: "into the void" });
      const ms = performance.now() - started;
      const body = await res.json();
      assert.equal(res.status, 202, JSON.stringify(body));
      assert.equal(body.queued, true);
      // The upper bound tells the timeout from a hang; a loaded machine adds seconds.
      assert.ok(ms >= timeoutMs - 20 && ms < timeoutMs + 5_000, `answered after ${ms} ms`);
    });

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
      await drained();
      assert.ok(h.fake.messagesIn(CHAT_ID).some((m) => m.text === "into the void"));
      h.fake.setMethodDelay("sendMessage", "never");
      const res = await h.postJson(token, { text: "silent again" });
      assert.equal(res.status, 202);
      await res.body?.cancel();
    });

    await t.step("a silent upload step also ends in 202, not a hang", async () => {
      h.fake.setMethodDelay("sendMessage", 0);
      await drained();
      h.fake.setMethodDelay("uploadFile", "never");
      const form = new FormData();
      form.set("file", new File(["log"], "log.txt"));
      const started = performance.now();
      const res = await h.request(`/hook/${token}`, { method: "POST", body: form });
      const ms = performance.now() - started;
      assert.equal(res.status, 202);
      await res.body?.cancel();
      assert.ok(ms < timeoutMs + 5_000, `answered after ${ms} ms`);
      h.fake.setMethodDelay("uploadFile", 0);
    });

    await t.step("answers again: the next delivery succeeds and /readyz is 200", async () => {
      await drained();
      assert.ok(h.fake.messagesIn(CHAT_ID).some((m) => m.file?.name === "log.txt"));
      const res = await h.postJson(token, { text: "back" });
      assert.equal(res.status, 200);
      await res.body?.cancel();
      assert.equal((await readyz(h)).status, 200);
    });
  });
});
