// After a restart the registry remembers nothing in memory: a post's record is found again
// through TrueConf's timestamp of it (getMessageById, then its packed row), or through its
// id-keyed row (posts without a timestamp, edited posts). Real KV file, fake TrueConf, the bot
// stopped gracefully and started again on both.
import assert from "node:assert/strict";
import { livingWorld } from "./_world.ts";
import {
  findPacked,
  type PackedValue,
  unpack,
  withoutPost,
} from "../../src/messages/_packed_posts.ts";

/** How many `getMessageById` the fake has been asked so far. */
function lookups(t: { w: { fake: { requests: { method: string }[] } } }): number {
  return t.w.fake.requests.filter((r) => r.method === "getMessageById").length;
}

Deno.test("after a restart, PATCH, DELETE and reply_to by id find posts made before it (text and file), one getMessageById each", async () => {
  const t = await livingWorld();
  try {
    const [one] = (await t.post(t.hookA, { text: "one" })).json.messages;
    const [two] = (await t.post(t.hookA, { text: "two" })).json.messages;
    const [three] = (await t.post(t.hookA, { text: "three" })).json.messages;
    const form = new FormData();
    form.append("file", new Blob(["log line\n"], { type: "text/plain" }), "build.log");
    const up = await t.send(t.hookA, { method: "POST", body: form });
    assert.equal(up.status, 200);
    const [file] = up.json.messages;
    await t.restart();

    let before = lookups(t);
    const edit = await t.patch(t.hookA, one, { text: "one, edited" });
    assert.equal(edit.status, 200, edit.text);
    assert.deepEqual(edit.json.messages, [one]);
    assert.equal(t.shown().find((m) => m.messageId === one)?.text, "one, edited");
    assert.equal(
      lookups(t) - before,
      1,
      "one round trip: the queue's look is answered from memory",
    );

    before = lookups(t);
    const gone = await t.del(t.hookA, two);
    assert.equal(gone.status, 200, gone.text);
    assert.ok(t.w.fake.removals.some((r) => r.messageId === two));
    assert.equal(lookups(t) - before, 1);

    const reply = await t.post(t.hookA, { text: "about three", reply_to: three });
    assert.equal(reply.status, 200);
    const [replyId] = reply.json.messages;
    assert.equal(t.shown().find((m) => m.messageId === replyId)?.replyMessageId, three);

    const fileEdit = await t.patch(t.hookA, file, { text: "new caption" });
    assert.equal(fileEdit.status, 409, "the file is still known as a file");
    assert.equal(fileEdit.json.error, "not_editable");
    const aboutFile = await t.post(t.hookA, { text: "about the log", reply_to: file });
    assert.equal(aboutFile.status, 200);
    const [aboutFileId] = aboutFile.json.messages;
    assert.equal(t.shown().find((m) => m.messageId === aboutFileId)?.replyMessageId, file);
    const fileGone = await t.del(t.hookA, file);
    assert.equal(fileGone.status, 200, fileGone.text);
    assert.ok(t.w.fake.removals.some((r) => r.messageId === file));

    // Removed messages are forgotten: a second DELETE or PATCH is a 404.
    assert.equal((await t.del(t.hookA, two)).status, 404);
    assert.equal((await t.patch(t.hookA, file, { text: "x" })).status, 404);
  } finally {
    await t.close();
  }
});

Deno.test("a post edited before a restart is found by id after it, also when TrueConf then shows the edit's time", async () => {
  // Each reading of the fake's clock is a millisecond later: the edit's time differs from the post's.
  let clock = Date.now();
  const t = await livingWorld({ fake: { editedTimestamp: "edit", now: () => ++clock } });
  try {
    const [byId] = (await t.post(t.hookA, { text: "v1" })).json.messages;
    assert.equal((await t.patch(t.hookA, byId, { text: "v2" })).status, 200);
    const [keyed] = (await t.post(t.hookA, { text: "k1", key: "deploy" })).json.messages;
    assert.equal((await t.post(t.hookA, { text: "k2", key: "deploy" })).status, 200);
    assert.equal(t.w.fake.edits.length, 2);
    await t.restart();

    const v3 = await t.patch(t.hookA, byId, { text: "v3" });
    assert.equal(v3.status, 200, v3.text);
    assert.equal(t.shown().find((m) => m.messageId === byId)?.text, "v3");
    const k3 = await t.patch(t.hookA, keyed, { text: "k3" });
    assert.equal(k3.status, 200, k3.text);
    assert.equal(t.shown().find((m) => m.messageId === keyed)?.text, "k3");
    // The key still names it after the restart, and a DELETE by id forgets the key too.
    assert.equal((await t.post(t.hookA, { text: "k4", key: "deploy" })).status, 200);
    assert.equal(t.shown().find((m) => m.messageId === keyed)?.text, "k4");
    assert.equal((await t.del(t.hookA, keyed)).status, 200);
    assert.equal((await t.patch(t.hookA, "deploy", { text: "x" })).status, 404);
    assert.equal((await t.del(t.hookA, byId)).status, 200);
    // Removed after an edit: gone from their packed rows as well, not only unreachable.
    await t.restart(async (path) => {
      const kv = await Deno.openKv(path);
      try {
        for await (const r of kv.list<PackedValue>({ prefix: ["posted_b"] })) {
          assert.ok(!r.value.p.includes(keyed) && !r.value.p.includes(byId), r.value.p);
        }
        assert.deepEqual(await Array.fromAsync(kv.list({ prefix: ["posted"] })), []);
      } finally {
        kv.close();
      }
    });
  } finally {
    await t.close();
  }
});

Deno.test("a keyed post edited by its key after a restart, then removed after another, is gone from its packed row too", async () => {
  const t = await livingWorld();
  try {
    const [id] = (await t.post(t.hookA, { text: "k1", key: "deploy" })).json.messages;
    await t.restart();
    // The key's row names the post; nothing of it is in this process's memory.
    assert.equal((await t.post(t.hookA, { text: "k2", key: "deploy" })).status, 200);
    assert.equal(t.shown().find((m) => m.messageId === id)?.text, "k2");
    await t.restart();
    assert.equal((await t.del(t.hookA, "deploy")).status, 200);
    await t.restart(async (path) => {
      const kv = await Deno.openKv(path);
      try {
        for await (const r of kv.list<PackedValue>({ prefix: ["posted_b"] })) {
          assert.ok(!r.value.p.includes(id), r.value.p);
        }
        assert.deepEqual(await Array.fromAsync(kv.list({ prefix: ["posted"] })), []);
      } finally {
        kv.close();
      }
    });
  } finally {
    await t.close();
  }
});

Deno.test("after a restart a hook still cannot touch another hook's post by id", async () => {
  const t = await livingWorld();
  try {
    const [mine] = (await t.post(t.hookA, { text: "mine" })).json.messages;
    await t.restart();
    for (
      const res of [await t.patch(t.hookB, mine, { text: "hijack" }), await t.del(t.hookB, mine)]
    ) {
      assert.equal(res.status, 404);
      assert.equal(res.json.error, "message_not_found");
    }
    // A reply to it is no change of it: a message of the same chat may be replied to.
    const other = await t.post(t.hookB, { text: "b", reply_to: mine });
    assert.equal(other.status, 200, other.text);
    assert.equal(
      t.shown().find((m) => m.messageId === other.json.messages[0])?.replyMessageId,
      mine,
    );
    assert.equal(t.w.fake.edits.length, 0);
    assert.equal(t.w.fake.removals.length, 0);
    // Its own hook still can, after the other hook's attempts.
    assert.equal((await t.patch(t.hookA, mine, { text: "mine, edited" })).status, 200);
  } finally {
    await t.close();
  }
});

Deno.test("TrueConf unreachable after a restart: an id known only to TrueConf answers 503 with Retry-After; keys and replies queue", async () => {
  const t = await livingWorld();
  try {
    const [first] = (await t.post(t.hookA, { text: "first" })).json.messages;
    const [keyed] = (await t.post(t.hookA, { text: "draft", key: "release" })).json.messages;
    await t.restart();
    await t.w.fake.refuseConnections(true);
    await t.w.fake.waitFor(() => !t.w.bot.client.state.authorized);

    for (const res of [await t.patch(t.hookA, first, { text: "x" }), await t.del(t.hookA, first)]) {
      assert.equal(res.status, 503, res.text);
      assert.equal(res.json.error, "trueconf_unavailable");
      assert.match(res.json.message, /retry later/i);
      assert.equal(res.headers.get("retry-after"), "10");
    }
    // A key is known locally: the edit queues as before.
    const byKey = await t.patch(t.hookA, "release", { text: "released ✅" });
    assert.equal(byKey.status, 202, byKey.text);
    // A reply to an id is resolved when it is posted, i.e. once TrueConf is back.
    const reply = await t.post(t.hookA, { text: "about first", reply_to: first });
    assert.equal(reply.status, 202, reply.text);

    await t.w.fake.refuseConnections(false);
    await t.w.fake.waitFor(() => t.shown().some((m) => m.text === "about first"), 10_000);
    assert.equal(t.shown().find((m) => m.text === "about first")?.replyMessageId, first);
    assert.equal(t.shown().find((m) => m.messageId === keyed)?.text, "released ✅");
    const edit = await t.patch(t.hookA, first, { text: "first, edited" });
    assert.ok(edit.status === 200 || edit.status === 202, edit.text);
    await t.w.fake.waitFor(() =>
      t.shown().find((m) => m.messageId === first)?.text === "first, edited"
    );
  } finally {
    await t.close();
  }
});

Deno.test("a post whose send answer had no timestamp is found after a restart without asking TrueConf", async () => {
  const t = await livingWorld({ fake: { omitSendTimestamp: true } });
  try {
    const [id] = (await t.post(t.hookA, { text: "no time" })).json.messages;
    await t.restart();
    const before = lookups(t);
    const res = await t.patch(t.hookA, id, { text: "edited" });
    assert.equal(res.status, 200, res.text);
    assert.equal(t.shown().find((m) => m.messageId === id)?.text, "edited");
    assert.equal(lookups(t), before, "its row is keyed by id");
    assert.equal((await t.patch(t.hookB, id, { text: "hijack" })).status, 404);
  } finally {
    await t.close();
  }
});

Deno.test("after a restart, posts of two hooks committed together in packed rows are edited and removed by id, each by its own hook; a row a session 4–5 bot wrote too", async () => {
  const t = await livingWorld();
  try {
    // Concurrent posts: their records are committed together, in packed rows.
    const answers = await Promise.all([
      ...Array.from({ length: 12 }, (_, i) => t.post(t.hookA, { text: `a${i}` })),
      t.post(t.hookB, { text: "b0" }),
    ]);
    const ids: string[] = answers.map((a) => a.json.messages[0]);
    const bId = ids.pop()!;
    const [legacy, edited, removed, ...rest] = ids as [string, string, string, ...string[]];
    await t.restart(async (path) => {
      const kv = await Deno.openKv(path);
      try {
        const rows = await Array.fromAsync(kv.list<PackedValue>({ prefix: ["posted_b"] }));
        assert.ok(rows.length < 13, `${rows.length} packed rows for 13 posts`);
        assert.deepEqual(await Array.fromAsync(kv.list({ prefix: ["posted_t"] })), []);
        // What a bot of sessions 4–5 wrote for one of them: a row of its own, by timestamp.
        const row = rows.find((r) => r.value.p.includes(legacy))!;
        const post = unpack(row.key, row.value).find((p) => p.messageId === legacy)!;
        const found = await findPacked(kv, post.rec.ts!, legacy);
        const left = withoutPost(found!);
        const op = kv.atomic().check(found!.entry);
        if (left) op.set(left.key, left.value);
        else op.delete(found!.entry.key);
        const { chatId, kind, key, at } = post.rec;
        op.set(["posted_t", post.rec.ts!, legacy], { hook: post.hookId, chatId, kind, key, at });
        assert.ok((await op.commit()).ok);
      } finally {
        kv.close();
      }
    });

    for (const id of [legacy, removed, edited, bId]) {
      assert.equal((await t.patch(id === bId ? t.hookA : t.hookB, id, { text: "x" })).status, 404);
    }
    assert.equal((await t.patch(t.hookA, edited, { text: "a, edited" })).status, 200);
    assert.equal(t.shown().find((m) => m.messageId === edited)?.text, "a, edited");
    assert.equal((await t.patch(t.hookB, bId, { text: "b, edited" })).status, 200);
    assert.equal((await t.del(t.hookA, removed)).status, 200);
    assert.equal((await t.del(t.hookA, legacy)).status, 200);
    assert.deepEqual(t.w.fake.removals.map((r) => r.messageId), [removed, legacy]);

    await t.restart(async (path) => {
      const kv = await Deno.openKv(path);
      try {
        // Removed messages are gone from the store, not only from the chat.
        for await (const r of kv.list<PackedValue>({ prefix: ["posted_b"] })) {
          assert.ok(!r.value.p.includes(removed));
        }
        assert.deepEqual(await Array.fromAsync(kv.list({ prefix: ["posted_t"] })), []);
      } finally {
        kv.close();
      }
    });
    for (const id of rest) {
      const res = await t.patch(t.hookA, id, { text: `${id}, edited` });
      assert.equal(res.status, 200, res.text);
    }
    assert.equal((await t.del(t.hookA, removed)).status, 404);
    assert.equal((await t.patch(t.hookA, edited, { text: "again" })).status, 200);
  } finally {
    await t.close();
  }
});
