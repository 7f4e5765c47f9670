/**
 * ipaddr.js is not loaded while `serve` starts (src/net/address_policy.ts): each of the SSRF
 * guard's entry points loads it before its first check, so none can be called too early. Deno
 * runs each test file in its own isolate, so nothing has loaded it when this file starts.
 */
import assert from "node:assert/strict";
import { checkUrl, isAddressAllowed, safeFetch, SafeFetchError } from "../../src/net/mod.ts";

const unsafe = (e: unknown) => e instanceof SafeFetchError && e.code === "unsafe_url";

Deno.test("checkUrl is the first classification: it loads the address classes itself", async () => {
  await assert.rejects(checkUrl("http://10.0.0.7/x.png"), unsafe);
  await assert.rejects(checkUrl("http://[::ffff:127.0.0.1]/x.png"), unsafe);
  assert.equal((await checkUrl("http://93.184.215.14/x.png")).hostname, "93.184.215.14");
});

Deno.test("safeFetch and isAddressAllowed classify too, whichever comes first", async () => {
  await assert.rejects(safeFetch("http://10.0.0.7/x.png", { maxBytes: 1024 }), unsafe);
  assert.equal(await isAddressAllowed("127.0.0.1"), false);
  assert.equal(await isAddressAllowed("93.184.215.14"), true);
});
