/**
 * ipaddr.js is not loaded while `serve` starts (src/net/address_policy.ts): the SSRF guard's
 * entry points load it before their first check. Deno runs each test file in its own isolate,
 * so nothing has loaded it when this file starts.
 */
import assert from "node:assert/strict";
import { checkUrl, safeFetch, SafeFetchError } from "../../src/net/mod.ts";

Deno.test("the first safeFetch loads the address classes itself and refuses a private address", async () => {
  // A check called directly before anything loaded them says so, instead of letting it pass.
  assert.throws(() => checkUrl("http://10.0.0.7/x.png"), /await loadAddressClasses/);
  await assert.rejects(
    safeFetch("http://10.0.0.7/x.png", { maxBytes: 1024 }),
    (e: unknown) => e instanceof SafeFetchError && e.code === "unsafe_url",
  );
  // Loaded now: the synchronous checks classify at once.
  assert.throws(
    () => checkUrl("http://[::ffff:127.0.0.1]/x.png"),
    (e: unknown) => e instanceof SafeFetchError && e.code === "unsafe_url",
  );
  assert.equal(checkUrl("http://93.184.215.14/x.png").hostname, "93.184.215.14");
});
