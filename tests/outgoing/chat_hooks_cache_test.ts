// The outgoing service asks for the chat's outgoing hooks on every chat message. It read them
// from KV each time (a list and a getMany per message, in every chat the bot is in, hooks or
// not); they are now cached per chat in the hook store and dropped on any hook change, here or
// in another process (the operator CLI, through the change feed the bot follows on its
// doorbell), as the token cache of incoming hooks is. The whole bot (createBot as `serve` wires
// it) against the fake TrueConf, a real KV file, and the CLI as a real process.
import assert from "node:assert/strict";
import type { BotWithFake } from "../support/bot_with_fake.ts";
import { hooksCommand } from "../support/serve_process.ts";
import { withHookTo, withOutgoingBot } from "./_receiver.ts";

/** The chat "ops" with one outgoing hook, and a receiver that takes every call. */
const DEPLOYS = { name: "deploys", triggers: ["/deploy"] };
const NO_CONTENT = () => new Response(null, { status: 204 });

/** The bot's KV, counting the reads of each chat's hook list (the `hooks_by_chat` index). */
function countingChatReads(reads: Map<string, number>) {
  return (raw: Deno.Kv): Deno.Kv =>
    new Proxy(raw, {
      get(target, prop) {
        if (prop === "list") {
          return (selector: Deno.KvListSelector, options?: Deno.KvListOptions) => {
            const prefix = "prefix" in selector ? selector.prefix : [];
            if (prefix[0] === "hooks_by_chat" && typeof prefix[1] === "string") {
              reads.set(prefix[1], (reads.get(prefix[1]) ?? 0) + 1);
            }
            return target.list(selector, options);
          };
        }
        const v = Reflect.get(target, prop, target);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
}

/** The whole bot (outgoing_test's world) over a KV that counts the chat list reads. */
function withBot(
  fn: (b: BotWithFake, reads: Map<string, number>, dir: string) => Promise<void>,
): Promise<void> {
  const reads = new Map<string, number>();
  return withOutgoingBot({}, (b, dir) => fn(b, reads, dir), undefined, undefined, {
    kv: countingChatReads(reads),
    // The CLI waits for a bot that holds the store's lease to apply its change.
    lease: { onLost: () => {} },
  });
}

Deno.test("chat messages in a chat whose hooks did not change read its hook list once, not per message", async () => {
  await withBot((b, reads) =>
    withHookTo(b, DEPLOYS, NO_CONTENT, async ({ alice, r }) => {
      b.addGroup({ chatId: "lobby", title: "Lobby", owner: alice });
      const before = { ops: reads.get("ops") ?? 0, lobby: reads.get("lobby") ?? 0 };
      for (let i = 0; i < 10; i++) {
        b.fake.pushMessage({ chatId: "ops", authorId: b.fake.userId("bob"), text: `chat ${i}` });
        b.fake.pushMessage({ chatId: "lobby", authorId: alice, text: `hello ${i}` });
      }
      // A chat's events are handled in order: once this call is made, so are the 10 before it.
      b.fake.pushMessage({ chatId: "ops", authorId: alice, text: `${b.mention} /deploy now` });
      assert.equal((await r.nth(1)).body.args, "now");
      b.fake.pushMessage({ chatId: "lobby", authorId: alice, text: `${b.mention} /deploy now` });
      await b.fake.waitFor(() => b.fake.messagesIn("lobby").length > 0); // its help reply
      assert.equal((reads.get("ops") ?? 0) - before.ops, 1, "ops: 12 messages, 1 read");
      assert.equal((reads.get("lobby") ?? 0) - before.lobby, 1, "lobby (no hooks): 1 read");
    })
  );
});

Deno.test("a hook paused and resumed with the CLI (another process) reaches the running bot's cached chat at once", async () => {
  await withBot((b, _reads, dir) =>
    withHookTo(b, DEPLOYS, NO_CONTENT, async ({ alice, r, hook }) => {
      const trigger = (args: string) =>
        b.fake.pushMessage({
          chatId: "ops",
          authorId: alice,
          text: `${b.mention} /deploy ${args}`,
        });
      trigger("one");
      assert.equal((await r.nth(1)).body.args, "one"); // the chat's hooks are cached now

      const paused = await hooksCommand(dir, "pause", hook.id);
      assert.equal(paused.code, 0, paused.stderr);
      // It returns once the running bot has applied it (it says so only when it has not).
      assert.doesNotMatch(paused.stdout + paused.stderr, /did not confirm/);
      const replies = b.fake.messagesIn("ops").length;
      trigger("two");
      await b.fake.waitFor(() => b.fake.messagesIn("ops").length > replies);
      assert.match(
        b.fake.messagesIn("ops").at(-1)!.text ?? "",
        /goes to webhook <b>deploys<\/b>, which is paused: nothing was sent/,
      );

      const resumed = await hooksCommand(dir, "resume", hook.id);
      assert.equal(resumed.code, 0, resumed.stderr);
      trigger("three");
      assert.equal((await r.nth(2)).body.args, "three");
      assert.equal(r.calls.length, 2, "nothing was called for 'two'");
    })
  );
});
