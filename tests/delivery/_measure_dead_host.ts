// One-off measurement for docs/delivery.md (not a test): delay added to a message behind one
// whose attachment host is dead, at the default fetch budget. Run: ./deno run -A this file.
import { withEndpoint } from "../support/endpoint_harness.ts";
import { parseAllowlist } from "../../src/net/mod.ts";

const hang = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const held: Deno.Conn[] = [];
(async () => {
  for await (const c of hang) held.push(c);
})().catch(() => {});
const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const refusedPort = (closed.addr as Deno.NetAddr).port;
closed.close();
const urls: Record<string, string> = {
  hang: `http://127.0.0.1:${(hang.addr as Deno.NetAddr).port}/x.png`,
  refused: `http://127.0.0.1:${refusedPort}/x.png`,
  invalid: "http://assets.ci.invalid/x.png",
};
await withEndpoint({ urlAllowlist: parseAllowlist("127.0.0.1/32") }, async (h) => {
  const token = await h.hook();
  const texts = () => h.fake.messagesIn("ops-chat").map((m) => m.text ?? "");
  for (const [name, url] of Object.entries(urls)) {
    // Within the request (no backlog): the next message right after the first.
    await h.fake.waitFor(() => h.queue.stats().depth === 0, 30_000);
    await h.queue.engine.settled();
    let t0 = performance.now();
    const first = h.postJson(token, { text: `a-${name}`, images: [{ url }] });
    await h.fake.waitFor(() => texts().includes(`a-${name}`), 20_000);
    const textMs = performance.now() - t0;
    const r = await h.postJson(token, { text: `b-${name}` });
    await r.body?.cancel();
    const nextMs = performance.now() - t0;
    await (await first).body?.cancel();
    const firstMs = performance.now() - t0;
    // Queued (TrueConf was down): the second message waits for the first one's attachment.
    await h.fake.refuseConnections(true);
    await h.fake.waitFor(() => !h.client.state.authorized);
    await (await h.postJson(token, { text: `c-${name}`, images: [{ url }] })).body?.cancel();
    await (await h.postJson(token, { text: `d-${name}` })).body?.cancel();
    await h.fake.refuseConnections(false);
    t0 = performance.now();
    await h.fake.waitFor(() => texts().includes(`c-${name}`), 20_000);
    const cMs = performance.now() - t0;
    await h.fake.waitFor(() => texts().includes(`d-${name}`), 30_000);
    const dMs = performance.now() - t0;
    await h.fake.waitFor(() => h.queue.stats().depth === 0, 30_000);
    await h.queue.engine.settled();
    console.log(
      JSON.stringify({
        name,
        textMs: Math.round(textMs),
        nextMs: Math.round(nextMs),
        firstAnswerMs: Math.round(firstMs),
        queuedTextMs: Math.round(cMs),
        queuedNextMs: Math.round(dMs),
      }),
    );
  }
});
hang.close();
for (const c of held) c.close();
