// The creator's DMs through the real client and the fake TrueConf: the first problem at once,
// later ones in one digest at the end of the interval, each naming the hook and its chat.
import assert from "node:assert/strict";
import { CreatorNotifier } from "../../src/delivery/creator_notifier.ts";
import { ManualClock } from "./queue/_manual_clock.ts";
import { ALICE, withClient } from "../trueconf/_helpers.ts";
import { addGroup } from "../support/bot_with_fake.ts";

Deno.test("creator DMs name the hook's chat, in the first notice and in the digest", async () => {
  await withClient({}, {}, async (fake, client) => {
    const alice = fake.userId(ALICE.login);
    addGroup(fake, { chatId: "ops", title: "Ops", owner: alice });
    const clock = new ManualClock();
    const notifier = new CreatorNotifier({ client, clock, intervalMs: 600_000 });
    const hook = { id: "h1", name: "audit", chatId: "ops", createdBy: alice };
    const dm = fake.p2pChatId(alice);
    const texts = () => fake.messagesIn(dm).map((m) => m.text ?? "");
    notifier.report(hook, "first");
    await fake.waitFor(() => texts().length === 1);
    notifier.report(hook, "second");
    notifier.report(hook, "third");
    clock.advance(600_000);
    await fake.waitFor(() => texts().length === 2);
    await notifier.close();
    assert.deepEqual(texts(), [
      'Webhook "audit" in «Ops»: first',
      'Webhook "audit" in «Ops»: 2 more problem(s) in the last 10 min:\n• second\n• third',
    ]);
  });
});
