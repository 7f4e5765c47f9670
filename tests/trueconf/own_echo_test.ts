// TrueConf's echo of the bot's own posts, acked without parsing (issue 16: JSON.parse of the
// echo was the largest single item left on the main thread). The recogniser must never say
// yes to a frame the full path would pass on to handlers.
import assert from "node:assert/strict";
import { ownEchoRecogniser } from "../../src/trueconf/_own_echo.ts";
import { ALICE, waitUntil, withClient } from "./_helpers.ts";

const BOT = "bot@video.example.com";
const ownEchoAckId = ownEchoRecogniser(BOT)!;
const frame = (id: number, payload: Record<string, unknown>) =>
  JSON.stringify({ type: 1, id, method: "sendMessage", payload });
const envelope = (author: string, extra: Record<string, unknown> = {}) => ({
  messageId: "m-1",
  chatId: "c-1",
  timestamp: 1735314170572,
  type: 200,
  author: { id: author, type: 1 },
  box: { id: 42, position: "42" },
  isEdited: false,
  content: { text: "deploy finished", parseMode: "text" },
  ...extra,
});

Deno.test("an echo of the bot's own post is recognised from its text, with its push id", () => {
  assert.equal(ownEchoAckId(frame(4_294_967_295, envelope(BOT))), 4_294_967_295);
  // A user's text that spells out the bot as author is inside a string, so escaped: still ours.
  const quoting = envelope(BOT, {
    content: { text: `"author":{"id":"${BOT}"}`, parseMode: "text" },
  });
  assert.equal(ownEchoAckId(frame(7, quoting)), 7);
});

Deno.test("anything the full parse would pass on to handlers, or might, is not recognised", () => {
  const cases: Record<string, string> = {
    "another author": frame(1, envelope("alice@video.example.com")),
    "an author whose id starts with the bot's": frame(1, envelope(`${BOT}.evil`)),
    "the bot quoted in a user's text": frame(
      1,
      envelope("alice@video.example.com", {
        content: { text: `"author":{"id":"${BOT}"}`, parseMode: "text" },
      }),
    ),
    // A forward (201) carries a full envelope in its content: the bot's post, forwarded by Alice.
    "a forward of the bot's post, nested author first": frame(1, {
      type: 201,
      content: envelope(BOT),
      author: { id: "alice@video.example.com", type: 1 },
    }),
    "a forward of the bot's post, own author first": frame(1, {
      author: { id: "alice@video.example.com", type: 1 },
      type: 201,
      content: envelope(BOT),
    }),
    // Only one author, and it is the bot's: but it is nested, not the envelope's own.
    "a nested author before the envelope's own": frame(1, {
      quoted: { author: { id: BOT, type: 1 } },
      author: { id: "alice@video.example.com", type: 1 },
    }),
    "a forward whose only author is the nested one": frame(1, {
      type: 201,
      content: envelope(BOT),
    }),
    "no author at all": frame(1, { messageId: "m-1", content: { text: "x" } }),
    "another method": JSON.stringify({
      type: 1,
      id: 1,
      method: "editMessage",
      payload: envelope(BOT),
    }),
    "an answer": JSON.stringify({ type: 2, id: 1, payload: envelope(BOT) }),
    "keys in another order": JSON.stringify({
      id: 1,
      type: 1,
      method: "sendMessage",
      payload: envelope(BOT),
    }),
    "spaced keys": frame(1, envelope(BOT)).replace('"id":1,', '"id": 1,'),
    "an id past uint32": frame(4_294_967_296, envelope(BOT)),
    "no id": frame(1, envelope(BOT)).replace('"id":1,', '"id":,'),
  };
  for (const [what, text] of Object.entries(cases)) {
    assert.equal(ownEchoAckId(text), -1, what);
  }
  // An own id that JSON escapes is never compared raw: `a\"` could match the author `a"`.
  assert.equal(ownEchoRecogniser('a\\"'), null);
  assert.equal(ownEchoRecogniser(""), null);
});

/** Runs `fn` counting the `JSON.parse` calls on text that holds an envelope's author. */
async function countingEnvelopeParses(fn: (parses: { count: number }) => Promise<void>) {
  const parse = JSON.parse;
  const parses = { count: 0 };
  JSON.parse = function (text: string, reviver?: Parameters<typeof parse>[1]) {
    if (typeof text === "string" && text.includes('"author":')) parses.count++;
    return parse(text, reviver);
  };
  try {
    await fn(parses);
  } finally {
    JSON.parse = parse;
  }
}

Deno.test("the bot's own posts pushed back are acked without being parsed, once the first has been; a member's forward of one still reaches handlers", async () => {
  await withClient({ echoOwnMessages: true }, {}, async (fake, client) => {
    const alice = fake.userId(ALICE.login);
    const chatId = fake.p2pChatId(alice);
    const heard: string[] = [];
    client.onEvent((e) => {
      if (e.type === "message.created") heard.push(`${e.message.authorId}: ${e.message.type}`);
    });
    const first = await client.sendMessage(chatId, "own 0", "text");
    await waitUntil(() => client.stats.ownEchoesDropped === 1, 3_000, "the first echo");
    await countingEnvelopeParses(async (parses) => {
      for (let i = 1; i <= 5; i++) await client.sendMessage(chatId, `own ${i}`, "text");
      await waitUntil(() => client.stats.ownEchoesDropped === 6, 3_000, "the echoes");
      await waitUntil(() => fake.unackedPushes.length === 0, 3_000, "every echo acked");
      assert.equal(parses.count, 0, "no echo was parsed");
      // Alice forwards the bot's post: its content is the bot's envelope, its author is Alice.
      fake.pushEnvelope({
        chatId,
        authorId: alice,
        type: 201,
        content: { ...first, author: { id: fake.botId, type: 1 } },
      });
      await waitUntil(() => heard.length === 1, 3_000, "the forward");
      assert.equal(parses.count, 1);
    });
    assert.deepEqual(heard, [`${alice}: 201`]);
    assert.equal(client.stats.ownEchoesDropped, 6);
    assert.equal(fake.unackedPushes.length, 0);
  });
});
