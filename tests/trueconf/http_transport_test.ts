import assert from "node:assert/strict";
import { HttpTransport } from "../../src/trueconf/_http.ts";

Deno.test("an upload whose signal is already aborted fails at once with the reason", async () => {
  // A server that accepts and never answers: only the abort can end the upload. (Before the
  // fix such an upload waited forever: the deadline's own abort was already spent.)
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) conns.push(conn);
  })();
  const transport = new HttpTransport({ verifyTls: true });
  let bound: ReturnType<typeof setTimeout> | undefined;
  try {
    const ac = new AbortController();
    ac.abort(new Error("the socket to TrueConf dropped"));
    const sending = transport.send(`http://127.0.0.1:${listener.addr.port}/upload`, {
      method: "POST",
      headers: {},
      chunks: [new Uint8Array(16)],
      timeoutMs: 30_000,
      signal: ac.signal,
    });
    // A bound on the failure, not a synchronisation: the rejection comes at once.
    const outcome = await Promise.race([
      sending.then(() => "answered", (e: unknown) => e),
      new Promise((r) => bound = setTimeout(() => r("still waiting after 5 s"), 5_000)),
    ]);
    assert.ok(outcome instanceof Error, String(outcome));
    assert.match(outcome.message, /the socket to TrueConf dropped/);
  } finally {
    clearTimeout(bound);
    listener.close();
    await accepting.catch(() => {});
    for (const c of conns) c.close();
  }
});
