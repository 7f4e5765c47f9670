// The served process, with the start task's flags (`--unstable-lazy-dynamic-imports`: the
// modules of an import() load only when it is reached, docs/benchmarks.md "Session 5
// (boot3)"), loads the chat side on its first command and the format adapters on its first
// hook request, and answers both as before. An import() that could not be loaded would fail
// only here, at first use.
import assert from "node:assert/strict";
import { FakeTrueConf } from "../support/fake_trueconf.ts";
import { spawnServe } from "../support/serve_process.ts";
import { addGroup, BOT_NAME, HOOK_URL, TEST_BOT } from "../support/bot_with_fake.ts";

Deno.test("serve as users start it answers its first chat command and its first hook request", async () => {
  const dir = await Deno.makeTempDir({ prefix: "first-use-process-" });
  const fake = await FakeTrueConf.start({
    bot: TEST_BOT,
    users: [{ login: "alice", password: "a", displayName: "Alice" }],
  });
  const alice = fake.userId("alice");
  addGroup(fake, { chatId: "ops", title: "Ops", owner: alice });
  await using p = spawnServe({ dir, fake });
  try {
    const { port } = await p.listening();
    await p.ready();
    const mention = fake.mention(fake.botId, BOT_NAME);
    fake.pushMessage({ chatId: "ops", authorId: alice, text: `${mention} /webhook_create alpha` });
    const dm = fake.p2pChatId(alice);
    await fake.waitFor(() => fake.messagesIn(dm).some((m) => HOOK_URL.test(m.text ?? "")), 15_000);
    const url = new URL(HOOK_URL.exec(fake.messagesIn(dm).map((m) => m.text).join(" "))![0]);
    const res = await fetch(`http://127.0.0.1:${port}${url.pathname}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text: "first delivery" }),
    });
    assert.equal(res.status, 200, await res.text());
    await fake.waitFor(
      () => fake.messagesIn("ops").some((m) => m.text === "first delivery"),
      10_000,
    );
  } finally {
    p.kill("SIGTERM");
    await p.status;
    await fake.close();
    await Deno.remove(dir, { recursive: true });
  }
});
