// The registry answers from memory until its batched commit lands (issue 16: the sender's
// answer does not wait for a KV commit), over a real KV.
import assert from "node:assert/strict";
import { MessageRegistry } from "../../src/messages/mod.ts";
import { createLogger } from "../../src/log.ts";

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
