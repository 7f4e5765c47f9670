// A service's answer across a crash: the bot dies after the answer was stored (queued to be
// posted behind the call) but before the call itself was marked made. After the restart the
// call is made again (at least once, same webhook-id), the service answers again, and the chat
// must still show the answer once. Found by a chaos run (SIGKILL mid-burst with trigger-word
// hooks: one answer of 733 posted twice in 4 kills); here the death is placed exactly, with a
// store that stops writing from the call's own finish on (nothing after it reaches the disk).
import assert from "node:assert/strict";
import { startBotWithFake } from "../support/bot_with_fake.ts";
import { waitUntil } from "../support/wait.ts";
import { makeOutgoingHook, startReceiver } from "./_receiver.ts";

/**
 * `raw` until `dies` says so of a commit (given the keys it deletes); from that commit on every
 * atomic commit fails as on a full disk: as far as the file is concerned the process died
 * there, since nothing it would have written reaches it.
 */
function dyingKv(
  raw: Deno.Kv,
  dies: (deleted: readonly Deno.KvKey[]) => boolean,
  onDeath: () => void,
): Deno.Kv {
  let dead = false;
  return new Proxy(raw, {
    get(target, prop) {
      if (prop === "atomic") {
        return () => {
          const op = target.atomic();
          const deleted: Deno.KvKey[] = [];
          const del = op.delete.bind(op);
          const mutate = op.mutate.bind(op);
          const commit = op.commit.bind(op);
          op.delete = (key) => (deleted.push(key), del(key));
          op.mutate = (...ms) => {
            for (const m of ms) if (m.type === "delete") deleted.push(m.key);
            return mutate(...ms);
          };
          op.commit = () => {
            if (!dead && dies(deleted)) {
              dead = true;
              onDeath();
            }
            return dead ? Promise.reject(new Error("database or disk is full")) : commit();
          };
          return op;
        };
      }
      const v = Reflect.get(target, prop, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

Deno.test("a crash between a service's stored answer and its call's end: after the restart the call is made again, the answer shows once", async () => {
  const dir = await Deno.makeTempDir();
  let answered = 0;
  let secret = "";
  const r = startReceiver(() => secret, (body) => {
    answered++;
    return Response.json({ text: `deployed ${body.args}` });
  });
  const died = Promise.withResolvers<void>();
  // The first life dies at the call's finish (its queue entry deleted), which comes after the
  // answer's post was stored behind it.
  let hookId = "";
  const first = await startBotWithFake({
    dir,
    env: { WEBHOOK_URL_ALLOWLIST: "127.0.0.1" },
    strictProtocol: false, // the first life is abandoned mid-way
    kv: (raw) =>
      dyingKv(
        raw,
        (keys) => answered > 0 && keys.some((k) => k[0] === "outbox" && k[1] === hookId),
        died.resolve,
      ),
  });
  const fake = first.fake;
  try {
    const alice = fake.userId("alice");
    first.addGroup({ chatId: "ops", title: "Ops", owner: alice });
    const made = await makeOutgoingHook(first, {
      chatId: "ops",
      name: "deploys",
      url: r.url,
      triggers: ["/deploy"],
    });
    secret = made.secret;
    hookId = made.hook.id;
    const trigger = fake.pushMessage({ chatId: "ops", authorId: alice, text: "/deploy staging" });
    await r.nth(1);
    await died.promise;
    // The first life is gone: its store writes nothing more (closing it fails to write).
    await first.closeBot().catch(() => {});
    const calls = r.calls.length;

    const second = await startBotWithFake({
      dir,
      reuseFake: fake,
      env: { WEBHOOK_URL_ALLOWLIST: "127.0.0.1" },
    });
    try {
      const call = await r.nth(calls + 1, 15_000);
      assert.equal(
        call.headers.get("webhook-id"),
        r.calls[0]!.headers.get("webhook-id"),
        "the same call, made again",
      );
      // The hook's deliveries run in order: once a later trigger's answer is in the chat, the
      // earlier ones (both lives') have been posted or dropped.
      fake.pushMessage({ chatId: "ops", authorId: alice, text: "/deploy prod" });
      const texts = () => fake.messagesIn("ops").map((m) => m.text);
      await waitUntil(() => texts().includes("deployed prod"), 15_000, "the later answer");
      const replies = fake.messagesIn("ops").filter((m) => m.text === "deployed staging");
      assert.equal(replies.length, 1, `the answer once, not once per call: ${texts()}`);
      assert.equal(replies[0]!.replyMessageId, trigger.messageId);
    } finally {
      await second.close();
    }
  } finally {
    await r.close();
    await fake.close();
    await Deno.remove(dir, { recursive: true });
  }
});
