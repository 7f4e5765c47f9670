// Issue 10.3: a delivery that keeps failing for its own reason is set aside so the hook's
// later messages proceed, and it is still retried until it goes through.
import assert from "node:assert/strict";
import { withWorld } from "./_world.ts";
import { ManualClock } from "./_manual_clock.ts";

const G = "group";

Deno.test("a file TrueConf's upload keeps refusing (500) is set aside: later messages arrive, it follows once the upload works", async () => {
  await withWorld({}, async (w) => {
    w.fake.addChat({
      chatId: G,
      title: "g",
      chatType: 2,
      participants: [{ userId: w.alice, role: "owner" }],
    });
    const h = await w.hook(G, "h");
    w.fake.failUploadsNamed("poison.bin", 500);
    const first = await w.postFiles(h.token, "", [
      { name: "poison.bin", bytes: new Uint8Array([1, 2, 3]) },
    ]);
    assert.equal(first.status, 202, JSON.stringify(first.json));
    const id = String(first.json.delivery);
    // Behind it in the hook's line: queued, yet it arrives once the first is set aside.
    const after = await w.post(h.token, { text: "after" });
    assert.equal(after.status, 202);
    await w.fake.waitFor(() => w.texts(G).includes("after"));
    const st = (await w.get(h.token, `/deliveries/${id}`)).json.delivery as Record<string, unknown>;
    assert.equal(st.state, "queued");
    assert.equal(st.setAside, true);
    assert.ok((st.attempts as number) >= 3, JSON.stringify(st));
    assert.equal((st.error as { code: string }).code, "upload_unavailable");
    // Still retried: once the upload works, the file arrives (after "after").
    w.fake.failUploadsNamed(null);
    await w.fake.waitFor(() => w.queue.stats().depth === 0);
    await w.queue.engine.settled();
    assert.deepEqual(
      w.fake.messagesIn(G).map((m) => m.kind === "text" ? m.text : m.file?.name),
      ["after", "poison.bin"],
    );
    const done = (await w.get(h.token, `/deliveries/${id}`)).json.delivery as Record<
      string,
      unknown
    >;
    assert.equal(done.state, "delivered");
  });
});

Deno.test("the creator hears once that a delivery was set aside, and once when it has waited 10 minutes (injected clock)", async () => {
  const clock = new ManualClock(Date.now());
  await withWorld({ clock }, async (w) => {
    w.fake.addChat({
      chatId: G,
      title: "g",
      chatType: 2,
      participants: [{ userId: w.alice, role: "owner" }],
    });
    const h = await w.hook(G, "alerts");
    w.fake.failUploadsNamed("poison.bin", 500);
    const first = await w.postFiles(h.token, "", [
      { name: "poison.bin", bytes: new Uint8Array([1]) },
    ]);
    assert.equal(first.status, 202);
    const dm = w.fake.p2pChatId(w.alice);
    const dms = () => w.fake.messagesIn(dm).map((m) => m.text ?? "");
    // Three failed attempts (backoff on the injected clock), then it is set aside.
    for (let i = 0; i < 3; i++) {
      clock.advance(1_000);
      await w.queue.engine.settled();
    }
    await w.fake.waitFor(() => dms().length === 1);
    assert.match(dms()[0]!, /alerts.*set aside/s);
    // Ten minutes in 30 s steps: one more DM, about the wait, and only one.
    for (let i = 0; i < 21; i++) {
      clock.advance(30_000);
      await w.queue.engine.settled();
    }
    await w.fake.waitFor(() => dms().length === 2);
    assert.match(dms()[1]!, /has been waiting 1\d min/);
    for (let i = 0; i < 4; i++) {
      clock.advance(30_000);
      await w.queue.engine.settled();
    }
    assert.equal(dms().length, 2);
    w.fake.failUploadsNamed(null);
  });
});
