// Trigger words and create arguments: the pure rules of issue 12.
import assert from "node:assert/strict";
import type { IncomingMessage } from "../../src/trueconf/mod.ts";
import { isBotCommand, matchTrigger, parseOutgoingCreate } from "../../src/outgoing/triggers.ts";

const BOT = "webhook_bot@srv";

function msg(text: string, parseMode = "text", type = 200): IncomingMessage {
  return {
    messageId: "m1",
    chatId: "c1",
    timestamp: 1,
    type,
    authorId: "alice@srv",
    authorType: 1,
    text,
    parseMode,
    mentions: [],
    isEdited: false,
    replyMessageId: null,
    raw: {},
  };
}

Deno.test("trigger words: optional leading mention of the bot, case-insensitive, args after", () => {
  const triggers = ["/deploy", "!status"];
  const mention = '<a href="trueconf:webhook_bot@srv&do=profile">Webhook Bot</a>';
  assert.deepEqual(matchTrigger(msg(`${mention} /deploy staging`, "html"), BOT, triggers), {
    trigger: "/deploy",
    args: "staging",
  });
  assert.deepEqual(matchTrigger(msg(`${mention}&nbsp;<b>!STATUS</b>`, "html"), BOT, triggers), {
    trigger: "!status",
    args: "",
  });
  assert.deepEqual(
    matchTrigger(msg("[Bot](trueconf:webhook_bot@srv) /deploy a  b", "markdown"), BOT, triggers),
    {
      trigger: "/deploy",
      args: "a  b",
    },
  );
  assert.deepEqual(matchTrigger(msg("@webhook_bot /deploy x"), BOT, triggers), {
    trigger: "/deploy",
    args: "x",
  });
  // Addressed to somebody else, not first, a prefix only, a file: no match.
  const carol = '<a href="trueconf:carol@srv">Carol</a>';
  assert.equal(matchTrigger(msg(`${carol} /deploy x`, "html"), BOT, triggers), null);
  assert.equal(matchTrigger(msg("please /deploy x"), BOT, triggers), null);
  assert.equal(matchTrigger(msg("/deployment x"), BOT, triggers), null);
  assert.equal(matchTrigger(msg("/deploy", "text", 202), BOT, triggers), null);
  assert.equal(matchTrigger(msg("/deploy"), BOT, []), null);
});

Deno.test("the bot's own commands are recognised, with or without a mention", () => {
  assert.equal(isBotCommand(msg("/webhook_list"), BOT), true);
  assert.equal(isBotCommand(msg("@webhook_bot /WEBHOOK_create x"), BOT), true);
  assert.equal(isBotCommand(msg("/deploy"), BOT), false);
  // "@Bot, /webhook_list" is a command to the bot (src/hooks/command_parser.ts), not an event.
  const mention = '<a href="trueconf:webhook_bot@srv">Webhook Bot</a>';
  assert.equal(isBotCommand(msg(`${mention}, /webhook_list`, "html"), BOT), true);
  assert.equal(isBotCommand(msg(`${mention}:&nbsp;/webhook_list`, "html"), BOT), true);
  // A client's wrapper tags before the mention are skipped as the command parser skips them.
  assert.equal(isBotCommand(msg(`<p>${mention} /webhook_list</p>`, "html"), BOT), true);
  assert.deepEqual(matchTrigger(msg(`<p>${mention} /deploy x</p>`, "html"), BOT, ["/deploy"]), {
    trigger: "/deploy",
    args: "x",
  });
  assert.deepEqual(matchTrigger(msg(`${mention}: /deploy x`, "html"), BOT, ["/deploy"]), {
    trigger: "/deploy",
    args: "x",
  });
});

Deno.test("create arguments: name before the URL, trigger words after, clear refusals", () => {
  assert.deepEqual(parseOutgoingCreate("help desk https://tickets.example.com/in"), {
    ok: true,
    name: "help desk",
    url: "https://tickets.example.com/in",
    triggers: [],
  });
  assert.deepEqual(parseOutgoingCreate("x HTTP://a.example/ /a /A /b"), {
    ok: true,
    name: "x",
    url: "HTTP://a.example/",
    triggers: ["/a", "/b"],
  });
  for (
    const [args, why] of [
      ["https://a.example/", /name goes before the URL/],
      ["x https://a.example/ /webhook_list", /bot's own commands/],
      ["x https://a.example/ https://b.example/", /only one URL/],
      [`x https://a.example/ ${"y".repeat(33)}`, /longer than 32/],
      [
        `x https://a.example/ ${Array.from({ length: 11 }, (_, i) => `/t${i}`).join(" ")}`,
        /at most 10/,
      ],
    ] as const
  ) {
    const r = parseOutgoingCreate(args);
    assert(!r.ok, args);
    assert.match(r.reason, why);
  }
});
