// Issue 10.2: who hears about a failed part. A sender speaking another product's dialect
// (Slack, Alertmanager…) whose text reached the chat gets its success answer, because it would
// retry (and post the text again) on an error; a native sender keeps 502 partial_delivery.
import assert from "node:assert/strict";
import { CHAT_ID, serveFiles, withEndpoint } from "../support/endpoint_harness.ts";
import { parseAllowlist } from "../../src/net/mod.ts";

const LOCAL = { urlAllowlist: parseAllowlist("127.0.0.1") };

/** A legacy Grafana alert whose screenshot is `imageUrl`. */
function legacyGrafana(imageUrl: string) {
  return { orgId: 1, ruleName: "CPU high", state: "alerting", message: "cpu at 97%", imageUrl };
}

Deno.test("a broken image next to delivered text: dialect senders hear success, native 502", async (t) => {
  const files = serveFiles({});
  const broken = `${files.base}/missing.png`;
  try {
    await withEndpoint(LOCAL, async (h) => {
      const token = await h.hook();
      const texts = () => h.fake.messagesIn(CHAT_ID).filter((m) => m.kind === "text");

      await t.step("Slack body with a 404 image_url: 200 ok, the text is in the chat", async () => {
        const res = await h.postJson(token, {
          text: "*deploy* done",
          attachments: [{ text: "graph", image_url: broken }],
        });
        assert.equal(res.status, 200);
        assert.equal(await res.text(), "ok");
        assert.match(texts().at(-1)?.text ?? "", /deploy/);
      });

      await t.step(
        "legacy Grafana body with a 404 imageUrl: 200 JSON naming the failed part",
        async () => {
          const res = await h.postJson(token, legacyGrafana(broken));
          const body = await res.json();
          assert.equal(res.status, 200, JSON.stringify(body));
          assert.equal(body.ok, true);
          assert.equal(body.failed.length, 1);
          assert.match(body.failed[0].item, /^image 1/);
          assert.match(texts().at(-1)?.text ?? "", /CPU high/);
        },
      );

      await t.step(
        "native body with the same image: 502 partial_delivery, text delivered",
        async () => {
          const res = await h.postJson(token, { text: "native", images: [{ url: broken }] });
          const body = await res.json();
          assert.equal(res.status, 502, JSON.stringify(body));
          assert.equal(body.error, "partial_delivery");
          assert.equal(body.failed[0].item, `image 1 (${broken})`);
          assert.equal(texts().at(-1)?.text, "native");
        },
      );
    });
  } finally {
    await files.close();
  }
});

// Issue 10.2: "Either way the failure is in the delivery status": a message answered within its
// request (no 202, no queue) gets a status record too, named in the answer, so the sender (or
// whoever reads the log) can look up which parts failed and why after the answer is gone.
Deno.test("a partial delivery answered within the request has a delivery status naming the failed part", async () => {
  const files = serveFiles({});
  const broken = `${files.base}/missing.png`;
  try {
    await withEndpoint(LOCAL, async (h) => {
      const token = await h.hook();
      const status = async (id: string) => {
        const res = await h.request(`/hook/${token}/deliveries/${id}`);
        const body = await res.json();
        assert.equal(res.status, 200, JSON.stringify(body));
        return body.delivery;
      };
      // Native: 502 partial_delivery names its delivery (body and X-Delivery-Id, as a 202 does).
      const res = await h.postJson(token, { text: "native", images: [{ url: broken }] });
      const body = await res.json();
      assert.equal(res.status, 502, JSON.stringify(body));
      assert.equal(typeof body.delivery, "string", JSON.stringify(body));
      assert.equal(res.headers.get("x-delivery-id"), body.delivery);
      const native = await status(body.delivery);
      assert.equal(native.state, "delivered");
      assert.deepEqual(native.messageIds, body.messages);
      assert.deepEqual(native.failures, body.failed);
      assert.equal(native.failures[0].item, `image 1 (${broken})`);

      // A dialect sender heard success (legacy Grafana: 200 JSON); the record is there too.
      const grafana = await h.postJson(token, legacyGrafana(broken));
      const g = await grafana.json();
      assert.equal(grafana.status, 200, JSON.stringify(g));
      assert.equal(typeof g.delivery, "string", JSON.stringify(g));
      const dialect = await status(g.delivery);
      assert.deepEqual(dialect.failures, g.failed);

      // Nothing of it could be posted: 502 with the failed parts, and a status record "failed".
      const none = await h.postJson(token, { images: [{ url: broken }] });
      const n = await none.json();
      assert.equal(none.status, 502, JSON.stringify(n));
      assert.equal(typeof n.delivery, "string", JSON.stringify(n));
      const failed = await status(n.delivery);
      assert.equal(failed.state, "failed");
      assert.deepEqual(failed.failures, n.failed);

      // A whole success writes nothing and names no delivery (the hot path stays KV-free).
      const ok = await h.postJson(token, { text: "fine" });
      const okBody = await ok.json();
      assert.equal(ok.status, 200);
      assert.equal(okBody.delivery, undefined);
    });
  } finally {
    await files.close();
  }
});

Deno.test("a dialect sender whose text itself failed still hears the error", async () => {
  await withEndpoint({}, async (h) => {
    const token = await h.hook();
    // TrueConf refuses the text (and only it) for good: nothing of the message arrived.
    h.fake.setMethodError("sendMessage", 303, 1);
    const res = await h.postJson(token, { text: "slack text", attachments: [{ text: "x" }] });
    assert.notEqual(res.status, 200, await res.clone().text());
    assert.notEqual(await res.text(), "ok");
  });
});
