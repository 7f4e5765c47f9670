// The registry answers from memory until its batched commit lands (issue 16: the sender's
// answer does not wait for a KV commit), over a real KV.
import assert from "node:assert/strict";
import { MessageRegistry } from "../../src/messages/mod.ts";
import { createLogger } from "../../src/log.ts";
import { TrueConfApiError, TrueConfDisconnectedError } from "../../src/trueconf/mod.ts";

Deno.test("a remembered post is readable at once by id and key, and is in KV after flush", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const reg = new MessageRegistry(kv);
    const many = Array.from(
      { length: 50 },
      (_, i) => reg.remember("h1", `m${i}`, { chatId: "c1", kind: "text", key: `k${i}` }),
    );
    await Promise.all(many);
    assert.equal((await reg.get("h1", "m7"))?.chatId, "c1");
    assert.deepEqual(await reg.byKey("h1", "k7"), { messageId: "m7" });
    assert.deepEqual((await reg.resolve("h1", "k49"))?.messageId, "m49");
    assert.equal(await reg.get("h2", "m7"), null, "another hook's message is not this hook's");
    await reg.flush();
    const fresh = new MessageRegistry(kv); // reads KV only
    assert.equal((await fresh.get("h1", "m0"))?.kind, "text");
    assert.deepEqual(await fresh.byKey("h1", "k49"), { messageId: "m49" });
  } finally {
    kv.close();
  }
});

Deno.test("forgetting a post whose commit is still in flight leaves nothing behind", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const reg = new MessageRegistry(kv);
    await reg.remember("h1", "m1", { chatId: "c1", kind: "text", key: "deploy" });
    await reg.forget("h1", "m1");
    await reg.flush();
    assert.equal(await reg.get("h1", "m1"), null);
    assert.equal(await reg.byKey("h1", "deploy"), null);
    const fresh = new MessageRegistry(kv);
    assert.equal(await fresh.get("h1", "m1"), null, "the late commit did not write it back");
  } finally {
    kv.close();
  }
});

Deno.test("a commit that fails twice is logged, and the post is no longer claimed", async () => {
  const kv = await Deno.openKv(":memory:");
  const lines: Record<string, unknown>[] = [];
  try {
    const reg = new MessageRegistry(kv, {
      logger: createLogger({ write: (l) => lines.push(JSON.parse(l)) }),
    });
    // KV refuses a key over 2 KiB: this write can never commit.
    const huge = "m".repeat(3000);
    await reg.remember("h1", huge, { chatId: "c1", kind: "file" });
    assert.equal((await reg.get("h1", huge))?.kind, "file", "known from memory meanwhile");
    await reg.flush();
    assert.equal(lines.filter((l) => l.level === "error").length, 1);
    assert.match(String(lines[0]!.msg), /could not remember a posted message/);
    await assert.rejects(reg.get("h1", huge), "no longer answered from memory: KV is asked");
  } finally {
    kv.close();
  }
});

Deno.test("a post with TrueConf's timestamp is stored time-ordered and found again through getMessageById's timestamp, by its own hook only", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const reg = new MessageRegistry(kv);
    await reg.remember("h1", "m1", { chatId: "c1", kind: "file", key: "build", ts: 1_000 });
    await reg.flush();
    assert.equal((await kv.get(["posted", "h1", "m1"])).value, null, "no row keyed by the id");
    const rows = await Array.fromAsync(kv.list<{ p: string }>({ prefix: ["posted_b"] }));
    assert.deepEqual(rows.map((r) => r.key[1]), [1_000], "one packed row at its timestamp");
    assert.match(rows[0]!.value.p, /"h1"/, "the row names its hook");

    const asked: string[] = [];
    const fresh = new MessageRegistry(kv, {
      messageTime: (id) => {
        asked.push(id);
        if (id === "m1") return Promise.resolve(1_000);
        return Promise.reject(new TrueConfApiError("getMessageById", 307, "unknown message"));
      },
    });
    assert.equal((await fresh.get("h1", "m1"))?.kind, "file");
    assert.equal((await fresh.get("h1", "m1"))?.ts, 1_000);
    assert.deepEqual(asked, ["m1"], "the second look is answered from memory");
    assert.equal(await fresh.get("h2", "m1"), null, "another hook's post");
    assert.equal(await fresh.get("h1", "m2"), null, "TrueConf says the message is gone");
    // The key's row carries the timestamp: no round trip.
    asked.length = 0;
    const byKey = new MessageRegistry(kv, {
      messageTime: (id) => (asked.push(id), Promise.resolve(1_000)),
    });
    assert.deepEqual((await byKey.resolve("h1", "build"))?.message?.kind, "file");
    assert.deepEqual(asked, []);
    // Forgetting it removes its packed row (it was alone there) and the key.
    await byKey.forget("h1", "m1");
    assert.deepEqual(await Array.fromAsync(kv.list({ prefix: ["posted_b"] })), []);
    assert.equal(await byKey.byKey("h1", "build"), null);
  } finally {
    kv.close();
  }
});

Deno.test("TrueConf unreachable: an id known only to TrueConf throws; rows keyed by id (written before session 4) are found without it", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const at = Date.now() - 86_400_000;
    // What the registry wrote before its rows were time-keyed: still read, never rewritten.
    await kv.set(["posted", "h1", "old"], { chatId: "c1", kind: "text", key: "deploy", at });
    await kv.set(["posted_key", "h1", "deploy"], { messageId: "old" });
    const reg0 = new MessageRegistry(kv);
    await reg0.remember("h1", "new", { chatId: "c1", kind: "text", ts: 2_000 });
    await reg0.flush();

    const down = new MessageRegistry(kv, {
      messageTime: () => Promise.reject(new TrueConfDisconnectedError("not connected")),
    });
    assert.deepEqual(await down.get("h1", "old"), {
      chatId: "c1",
      kind: "text",
      key: "deploy",
      at,
      ts: null,
    });
    assert.equal((await down.resolve("h1", "deploy"))?.messageId, "old");
    await assert.rejects(down.get("h1", "new"), TrueConfDisconnectedError);
    await assert.rejects(
      down.resolve("h2", "old"),
      TrueConfDisconnectedError,
      "h2 has no such row",
    );
    await down.forget("h1", "old");
    assert.equal((await kv.get(["posted", "h1", "old"])).value, null);
    assert.equal((await kv.get(["posted_key", "h1", "deploy"])).value, null);
  } finally {
    kv.close();
  }
});
