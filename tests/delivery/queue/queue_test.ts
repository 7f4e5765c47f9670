import assert from "node:assert/strict";
import { until, withWorld, type World } from "./_world.ts";

const G1 = "group_one";

/** `sendFile` requests the fake has received so far (answered or not). */
function sendFiles(w: World): number {
  return w.fake.requests.filter((r) => r.method === "sendFile").length;
}

/** The queue is empty and nothing runs: no further post can happen (an event, not a sleep). */
async function idle(w: World): Promise<void> {
  await until(() => w.queue.stats().depth === 0, 5_000, "an empty queue");
  await w.queue.engine.settled();
}
const G2 = "group_two";

function addGroups(w: Parameters<Parameters<typeof withWorld>[1]>[0]) {
  for (const chatId of [G1, G2]) {
    w.fake.addChat({
      chatId,
      title: chatId,
      chatType: 2,
      participants: [{ userId: w.alice, role: "owner" }],
    });
  }
}

Deno.test("TrueConf refusing connections: POSTs get 202, then all delivered once, in order per hook", async () => {
  await withWorld({ down: true }, async (w) => {
    addGroups(w);
    const a = await w.hook(G1, "a");
    const b = await w.hook(G2, "b");
    for (let i = 0; i < 15; i++) {
      const ra = await w.post(a.token, { text: `a${i}` });
      const rb = await w.post(b.token, { text: `b${i}` });
      assert.equal(ra.status, 202);
      assert.equal(rb.status, 202);
      assert.equal(ra.json.queued, true);
      assert.match(String(ra.json.delivery), /^[0-9a-z]+-[0-9a-f]{8}$/);
    }
    assert.equal(w.queue.stats().depth, 30);
    const st = await w.get(
      a.token,
      `/deliveries/${(await w.post(a.token, { text: "a15" })).json.delivery}`,
    );
    assert.equal(st.status, 200);
    assert.equal((st.json.delivery as { state: string }).state, "queued");
    assert.equal(w.fake.sentCount(), 0);

    await w.fake.refuseConnections(false);
    await until(() => w.texts(G1).length === 16 && w.texts(G2).length === 15, 10_000, "backlog");
    await idle(w); // nothing else can be posted now: the queue is empty and at rest
    assert.deepEqual(w.texts(G1), Array.from({ length: 16 }, (_, i) => `a${i}`));
    assert.deepEqual(w.texts(G2), Array.from({ length: 15 }, (_, i) => `b${i}`));
    assert.equal(w.queue.stats().depth, 0);

    // Backlog gone: the next request is delivered within the request again.
    const sync = await w.post(a.token, { text: "now" });
    assert.equal(sync.status, 200);
    assert.equal((sync.json.messages as string[]).length, 1);
  });
});

Deno.test("status: queued → delivered with message ids; unknown id → 404", async () => {
  await withWorld({ down: true }, async (w) => {
    addGroups(w);
    const a = await w.hook(G1, "a");
    const r = await w.post(a.token, { text: "hello" });
    const id = String(r.json.delivery);
    await w.fake.refuseConnections(false);
    await until(() => w.texts(G1).length === 1);
    await idle(w);
    const st = (await w.get(a.token, `/deliveries/${id}`)).json.delivery as Record<string, unknown>;
    assert.equal(st.state, "delivered");
    assert.deepEqual(st.messageIds, [w.fake.messagesIn(G1)[0]!.messageId]);
    assert.equal((await w.get(a.token, "/deliveries/zzz-00000000")).status, 404);
    // Another hook cannot read this hook's deliveries.
    const b = await w.hook(G2, "b");
    assert.equal((await w.get(b.token, `/deliveries/${id}`)).status, 404);
  });
});

Deno.test("socket dropped in the middle of text + 2 files: each part exactly once after recovery", async () => {
  await withWorld({}, async (w) => {
    addGroups(w);
    const a = await w.hook(G1, "a");
    const f1 = new Uint8Array(100_000).fill(1); // bigger than one spool chunk
    const f2 = new Uint8Array(10).fill(2);
    w.fake.setMethodDelay("sendFile", 300);
    const pending = w.postFiles(a.token, "the text", [
      { name: "one.bin", bytes: f1 },
      { name: "two.bin", bytes: f2 },
    ]);
    await until(() => w.texts(G1).length === 1, 3_000, "text posted");
    await until(() => sendFiles(w) > 0, 3_000, "sendFile of file 1 in flight");
    w.fake.setMethodDelay("sendFile", 0);
    w.fake.dropAll();
    const r = await pending;
    assert.equal(r.status, 202, JSON.stringify(r.json));
    const id = String(r.json.delivery);
    await until(() => w.fake.messagesIn(G1).length === 3, 5_000, "files delivered");
    await idle(w);
    const msgs = w.fake.messagesIn(G1);
    assert.deepEqual(msgs.map((m) => m.kind === "text" ? m.text : m.file?.name), [
      "the text",
      "one.bin",
      "two.bin",
    ]);
    assert.deepEqual(msgs[1]!.file!.bytes, f1);
    const st = (await w.get(a.token, `/deliveries/${id}`)).json.delivery as Record<
      string,
      unknown
    >;
    assert.equal(st.state, "delivered");
    assert.deepEqual(st.messageIds, msgs.map((m) => m.messageId));
    // The spool was cleaned up.
    const left = await Array.fromAsync(w.kv.list({ prefix: ["outbox_spool"] }));
    assert.equal(left.length, 0);
  });
});

Deno.test("queued multi-part delivery resumes after a drop from the part that did not arrive", async () => {
  await withWorld({ down: true }, async (w) => {
    addGroups(w);
    const a = await w.hook(G1, "a");
    const r = await w.postFiles(a.token, "queued text", [
      { name: "x.bin", bytes: new Uint8Array([1, 2, 3]) },
      { name: "y.bin", bytes: new Uint8Array([4, 5, 6]) },
    ]);
    assert.equal(r.status, 202);
    w.fake.setMethodDelay("sendFile", 300);
    await w.fake.refuseConnections(false);
    await until(() => w.texts(G1).length === 1, 5_000, "text posted");
    await until(() => sendFiles(w) > 0, 3_000, "sendFile of x.bin in flight");
    w.fake.setMethodDelay("sendFile", 0);
    w.fake.dropAll();
    await until(() => w.fake.messagesIn(G1).length === 3, 5_000, "files delivered");
    await idle(w);
    assert.deepEqual(
      w.fake.messagesIn(G1).map((m) => m.kind === "text" ? m.text : m.file?.name),
      ["queued text", "x.bin", "y.bin"],
    );
  });
});

Deno.test("restart on the same KV file: queued deliveries (uploads included) are delivered once", async () => {
  await withWorld({ down: true }, async (w) => {
    addGroups(w);
    const a = await w.hook(G1, "a");
    const big = new Uint8Array(200_000).map((_, i) => i % 251);
    assert.equal((await w.post(a.token, { text: "one" })).status, 202);
    assert.equal((await w.postFiles(a.token, "", [{ name: "big.bin", bytes: big }])).status, 202);
    // Ten parts spooled (the most one text is split into; longer ones become a file).
    assert.equal((await w.post(a.token, { text: "x".repeat(40_000) })).status, 202);
    // An orphan spool chunk (as if a crash hit between spooling and inserting).
    await w.kv.set(["outbox_spool", "nohook", 1, 0, 0], new Uint8Array(3));
    await w.restart();
    assert.equal(w.queue.stats().depth, 3);
    assert.equal(
      (await Array.fromAsync(w.kv.list({ prefix: ["outbox_spool", "nohook"] }))).length,
      0,
    );
    await w.fake.refuseConnections(false);
    await until(() => w.fake.messagesIn(G1).length === 12, 5_000, "delivered");
    await idle(w);
    const msgs = w.fake.messagesIn(G1);
    assert.equal(msgs[0]!.text, "one");
    assert.deepEqual(msgs[1]!.file!.bytes, big);
    assert.equal(msgs.slice(2).map((m) => m.text).join(""), "x".repeat(40_000));
    assert.equal((await Array.fromAsync(w.kv.list({ prefix: ["outbox"] }))).length, 0);
    assert.equal((await Array.fromAsync(w.kv.list({ prefix: ["outbox_spool"] }))).length, 0);
  });
});

Deno.test("close(grace): a sync request cut by shutdown is persisted from the first part not posted", async () => {
  await withWorld({}, async (w) => {
    addGroups(w);
    const a = await w.hook(G1, "a");
    w.fake.setMethodDelay("sendFile", "never");
    const pending = w.postFiles(a.token, "cut text", [
      { name: "f.bin", bytes: new Uint8Array([7]) },
      {
        name: "g.bin",
        bytes: new Uint8Array([8]),
      },
    ]);
    await until(() => w.texts(G1).length === 1, 3_000, "text posted");
    await until(() => sendFiles(w) > 0, 3_000, "sendFile of f.bin sent (and never answered)");
    const closing = w.queue.close(100);
    const r = await pending;
    await closing;
    assert.equal(r.status, 202, JSON.stringify(r.json));
    // New requests are refused while closed.
    assert.equal((await w.post(a.token, { text: "late" })).status, 503);
    w.fake.setMethodDelay("sendFile", 0);
    w.fake.dropAll(); // forget the swallowed request, as a restarted server would
    await w.restart();
    await until(() => w.fake.messagesIn(G1).length === 3, 5_000, "rest delivered");
    await idle(w);
    assert.deepEqual(
      w.fake.messagesIn(G1).map((m) => m.kind === "text" ? m.text : m.file?.name),
      ["cut text", "f.bin", "g.bin"],
    );
  });
});

Deno.test("close(grace): an in-flight queued delivery finishes within the grace period", async () => {
  await withWorld({ down: true }, async (w) => {
    addGroups(w);
    const a = await w.hook(G1, "a");
    assert.equal((await w.post(a.token, { text: "slow" })).status, 202);
    w.fake.setMethodDelay("sendMessage", 200);
    await w.fake.refuseConnections(false);
    await until(() => w.queue.stats().inFlight > 0, 3_000, "delivery started");
    await w.queue.close(2_000);
    assert.deepEqual(w.texts(G1), ["slow"]);
    assert.equal((await Array.fromAsync(w.kv.list({ prefix: ["outbox"] }))).length, 0);
  });
});

Deno.test("per-hook order: a request arriving while a stopped sync request is being stored waits behind it", async () => {
  await withWorld({}, async (w) => {
    addGroups(w);
    const a = await w.hook(G1, "a");
    // A: an upload (its text rides as the caption) that TrueConf refuses once with a transient error; its remainder
    // (the 2 MB file) is spooled in many KV writes before it is queued.
    w.fake.setMethodError("uploadFile", 300, 1);
    let second: ReturnType<World["post"]> | undefined;
    const push = w.logs.push.bind(w.logs);
    w.logs.push = (...lines) => {
      // B arrives exactly when A has stopped and starts storing its remainder.
      if (lines.some((l) => l.msg === "delivery stopped, the rest is queued") && !second) {
        second = w.post(a.token, { text: "B" });
      }
      return push(...lines);
    };
    const first = await w.postFiles(a.token, "A", [
      { name: "a.bin", bytes: new Uint8Array(2_000_000).fill(7) },
    ]);
    assert.equal(first.status, 202, JSON.stringify(first.json));
    assert.ok(second, "B was sent");
    assert.equal((await second).status, 202);
    await until(() => w.fake.messagesIn(G1).length === 2, 5_000, "all delivered");
    await idle(w);
    const order = w.fake.messagesIn(G1).map((m) => m.kind === "text" ? m.text : m.file?.name);
    assert.deepEqual(order, ["a.bin", "B"]);
    assert.equal(w.fake.messagesIn(G1)[0]!.caption?.text, "A");
  });
});

// Issue 5: "Queue depth visible in /readyz details and logs"; docs/delivery.md: "an info log
// line whenever it moves by 10 % (at least 100) or empties". The line went missing when the
// queue became the job engine: an operator reading the log during an outage saw no backlog.
Deno.test("the log tells the queue's depth when it moves by 10 % (at least 100) and when it empties", async () => {
  await withWorld({ down: true }, async (w) => {
    addGroups(w);
    const a = await w.hook(G1, "a");
    const depths = () =>
      w.logs.filter((l) => l.msg === "queue depth").map((l) => [l.depth, l.hooks]);
    for (let i = 0; i < 150; i++) {
      assert.equal((await w.post(a.token, { text: `m${i}` })).status, 202);
      // Not a line per message: the first comes at 100.
      assert.equal(depths().length, i < 99 ? 0 : 1, `after ${i + 1}`);
    }
    assert.deepEqual(depths(), [[100, 1]]);
    await w.fake.refuseConnections(false);
    await idle(w);
    assert.equal(w.texts(G1).length, 150);
    assert.deepEqual(depths(), [[100, 1], [0, 0]]);
  });
});
