// Replay memory of SenderTrust: per hook, released when the bot's own answer failed so the
// sender's retry (same webhook-id) is accepted. Signatures made by the npm standardwebhooks
// package; the full HTTP path of every mode is in tests/e2e/lifecycle_test.ts.
import assert from "node:assert/strict";
import { Webhook } from "standardwebhooks";
import { SenderTrust } from "../../src/hooks/verify.ts";

const SECRET = "whsec_" + btoa("k".repeat(32));

function signed(id: string, body: Uint8Array) {
  const now = new Date();
  return new Headers({
    "webhook-id": id,
    "webhook-timestamp": String(Math.floor(now.getTime() / 1000)),
    "webhook-signature": new Webhook(SECRET).sign(id, now, body),
  });
}

Deno.test("standard: a replay is refused per hook; released after the bot's own 5xx, kept after 2xx/4xx", async () => {
  const refusals: string[] = [];
  const trust = new SenderTrust({
    openSecret: (sealed) => Promise.resolve(sealed === "sealed" ? SECRET : ""),
    onRefused: (hookId, code) => void refusals.push(`${hookId}:${code}`),
  });
  const [, signature] = trust.guards();
  const body = new TextEncoder().encode('{"text":"hi"}');
  const hook = (id: string) => ({
    id,
    verification: { mode: "standard" as const, secret: "sealed" },
  });
  const req = (headers: Headers) => ({ headers, rawBody: body, clientIp: "192.0.2.1" });

  const h1 = signed("msg_1", body);
  assert.equal(await signature!(hook("a"), req(h1)), null);
  const replay = await signature!(hook("a"), req(h1));
  assert.equal(replay?.status, 401);
  assert.equal(replay?.code, "signature_invalid");
  assert.match(replay!.message, /already accepted/);
  // The same message delivered to another hook is not a replay there.
  assert.equal(await signature!(hook("b"), req(h1)), null);
  // Our answer was 503: the sender retries with the same id, and that is accepted.
  trust.requestDone("a", h1, 503);
  assert.equal(await signature!(hook("a"), req(h1)), null);
  // After a 202 or a 400 the id stays used.
  trust.requestDone("a", h1, 202);
  trust.requestDone("a", h1, 400);
  assert.equal((await signature!(hook("a"), req(h1)))?.code, "signature_invalid");
  assert.deepEqual(refusals, ["a:signature_invalid", "a:signature_invalid"]);
});

Deno.test("allowlist: only listed ranges; no list or an empty one lets everyone in", () => {
  const trust = new SenderTrust({ openSecret: () => Promise.resolve("") });
  const hook = { id: "h", allow: ["10.0.0.0/8", "2001:db8::/32"] };
  assert.equal(trust.checkAddress(hook, "10.1.2.3"), null);
  assert.equal(trust.checkAddress(hook, "::ffff:10.1.2.3"), null);
  assert.equal(trust.checkAddress(hook, "2001:db8::1"), null);
  assert.equal(trust.checkAddress(hook, "192.0.2.1")?.code, "address_not_allowed");
  assert.equal(trust.checkAddress(hook, "unknown")?.status, 403);
  assert.equal(trust.checkAddress({ id: "h", allow: null }, "192.0.2.1"), null);
  assert.equal(trust.checkAddress({ id: "h" }, "192.0.2.1"), null);
  assert.equal(trust.checkAddress({ id: "h", allow: [] }, "192.0.2.1"), null);
});
