// The served process, started as the start task starts it (src/start.ts: the program from a
// bundle of the source, whose import()s are chunks loaded when first reached, docs/benchmarks.md
// "Start from a bundle"), loads the chat side on its first command, the format adapters on its
// first hook request and the preview worker (the bundle's second entry) on its first large
// photo, and answers all three as before. An import() or a worker that could not be loaded
// would fail only here, at first use.
import assert from "node:assert/strict";
import { FakeTrueConf } from "../support/fake_trueconf.ts";
import { spawnServe } from "../support/serve_process.ts";
import { addGroup, BOT_NAME, HOOK_URL, TEST_BOT } from "../support/bot_with_fake.ts";
import { gradient, jpeg } from "../delivery/preview/_images.ts";

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
    const { port, line } = await p.listening();
    assert.equal(line.modules, "bundle", "the start task runs the bundle, not the sources");
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
    // Wider than 1280 px: not its own preview, so the preview worker makes one.
    const form = new FormData();
    form.set("text", "wide chart");
    const photo = jpeg(gradient(1600, 1200), 1600, 1200);
    form.set("image", new File([new Uint8Array(photo)], "wide.jpg", { type: "image/jpeg" }));
    const sent = await fetch(`http://127.0.0.1:${port}${url.pathname}`, {
      method: "POST",
      body: form,
    });
    assert.equal(sent.status, 200, await sent.text());
    const posted = fake.messagesIn("ops").find((m) => m.kind === "photo");
    assert.ok(posted?.preview, p.text());
    if (posted.preview.size >= photo.length) {
      // The original went out as its own preview: only allowed when the machine was too busy
      // to finish within the preview budget; a worker that cannot be loaded is not a timeout.
      const failed = await p.line(
        (l) => l.msg === "preview failed",
        "the line: preview failed",
        10_000,
      );
      assert.equal(failed.reason, "timeout", p.text());
    }
  } finally {
    p.kill("SIGTERM");
    await p.status;
    await fake.close();
    await Deno.remove(dir, { recursive: true });
  }
});
