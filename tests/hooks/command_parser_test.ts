// parseCommand on envelopes as TrueConf clients send them (protocol notes §5.2–5.4).
import assert from "node:assert/strict";
import { parseCommand } from "../../src/hooks/command_parser.ts";
import { help } from "../../src/hooks/replies.ts";
import { parseIncomingMessage } from "../../src/trueconf/mod.ts";
import type { IncomingMessage } from "../../src/trueconf/mod.ts";

const BOT = "webhook_bot@video.example.com";
const ALICE = "alice@video.example.com";

/** A message through the client's own envelope parser, so the tests see what production sees. */
function msg(
  text: string,
  opts: { parseMode?: string; author?: string; type?: number; authorType?: number } = {},
): IncomingMessage {
  const m = parseIncomingMessage({
    messageId: "m-1",
    chatId: "c-1",
    timestamp: 1735314170572,
    type: opts.type ?? 200,
    author: { id: opts.author ?? ALICE, type: opts.authorType ?? 1 },
    box: { id: 1, position: "0" },
    isEdited: false,
    replyMessageId: null,
    content: { text, parseMode: opts.parseMode ?? (text.includes("<a ") ? "html" : "text") },
  });
  assert.ok(m);
  return m;
}

const a = (href: string, name = "Webhook Bot") => `<a href="trueconf:${href}">${name}</a>`;

Deno.test("mention by link target: suffixes, case, no domain, display name ≠ login", () => {
  for (
    const href of [
      BOT,
      `${BOT}&do=profile`,
      `${BOT}&amp;do=profile`,
      `${BOT}/instance-42`,
      `${BOT}?x=1`,
      "Webhook_Bot@Video.Example.com",
      "webhook_bot",
      "webhook_bot%40video.example.com",
    ]
  ) {
    assert.deepEqual(parseCommand(msg(`${a(href, "Совсем другое имя")} /webhook_list`), BOT), {
      command: "webhook_list",
      args: "",
      addressed: true,
    }, href);
  }
});

Deno.test("mention of the bot's login on another server, another user, @all: not for us", () => {
  assert.equal(parseCommand(msg(`${a("webhook_bot@other.example.com")} /webhook_list`), BOT), null);
  assert.equal(parseCommand(msg(`${a(ALICE, "Webhook Bot")} /webhook_list`), BOT), null);
  assert.equal(parseCommand(msg("@all /webhook_list"), BOT), null);
  // The display name "Webhook Bot" on a link to someone else does not make it ours.
  assert.equal(
    parseCommand(
      msg(`<a href="trueconf:bob@video.example.com">Webhook Bot</a> /webhook_create x`),
      BOT,
    ),
    null,
  );
});

Deno.test("no mention: a command, unaddressed (the chat type decides); chatter is null", () => {
  assert.deepEqual(parseCommand(msg("/webhook_create deploys"), BOT), {
    command: "webhook_create",
    args: "deploys",
    addressed: false,
  });
  assert.equal(parseCommand(msg("hello there"), BOT), null);
  assert.equal(parseCommand(msg("see /webhook_list"), BOT), null);
  // Another bot's command in a group, a mistyped one in a personal chat: the handler decides
  // by chat type (unaddressed commands count only in personal chats).
  assert.deepEqual(parseCommand(msg("/deploy now"), BOT), {
    command: "webhook_help",
    args: "now",
    addressed: false,
    unknown: "deploy",
    foreign: true,
  });
  assert.equal(parseCommand(msg(""), BOT), null);
});

Deno.test("plain @login mention, markdown mention link", () => {
  assert.deepEqual(parseCommand(msg("@webhook_bot /webhook_list"), BOT)?.addressed, true);
  assert.deepEqual(parseCommand(msg(`@${BOT} /webhook_list`), BOT)?.addressed, true);
  assert.equal(parseCommand(msg("@alice /webhook_list"), BOT), null);
  assert.deepEqual(
    parseCommand(
      msg(`[Webhook Bot](trueconf:${BOT}) /webhook_revoke old`, { parseMode: "markdown" }),
      BOT,
    ),
    { command: "webhook_revoke", args: "old", addressed: true },
  );
});

Deno.test("bare mention, unknown /webhook_* command, /help and addressed foreign commands → help", () => {
  const help = (text: string) => parseCommand(msg(text, { parseMode: "html" }), BOT)?.command;
  assert.equal(help(a(BOT)), "webhook_help");
  assert.equal(help(`${a(BOT)}&nbsp;`), "webhook_help");
  assert.equal(help(`${a(BOT)} <br>`), "webhook_help");
  assert.equal(help(`${a(BOT)} /webhook_craete x`), "webhook_help");
  assert.equal(help("/webhook_whatever"), "webhook_help");
  assert.equal(help("/help"), "webhook_help");
  assert.equal(help("/start"), "webhook_help");
  assert.equal(help(`${a(BOT)} /deploy`), "webhook_help");
  // Talking to the bot without a command is chatter, not a request for help.
  assert.equal(help(`${a(BOT)} thanks!`), undefined);
});

Deno.test("command word: @suffix dropped, case-insensitive, NBSP and wrapper tags tolerated", () => {
  const p = (text: string, parseMode = "html") => parseCommand(msg(text, { parseMode }), BOT);
  assert.equal(p("/webhook_list@webhook_bot", "text")?.command, "webhook_list");
  assert.equal(p("/Webhook_List", "text")?.command, "webhook_list");
  assert.deepEqual(p(`<p>${a(BOT)}&nbsp;/webhook_create&nbsp;deploys</p>`), {
    command: "webhook_create",
    args: "deploys",
    addressed: true,
  });
  assert.deepEqual(p(`  ${a(BOT)}\u00a0/webhook_create\u00a0Prod  alerts `), {
    command: "webhook_create",
    args: "Prod alerts",
    addressed: true,
  });
});

Deno.test("args: mentions removed, tags stripped, entities decoded (html only), spaces collapsed", () => {
  const args = (text: string, parseMode = "html") =>
    parseCommand(msg(text, { parseMode }), BOT)?.args;
  assert.equal(args(`${a(BOT)} /webhook_create R&amp;D &lt;prod&gt;`), "R&D <prod>");
  assert.equal(args(`${a(BOT)} /webhook_create <b>deploys</b>   ${a(BOT)}`), "deploys");
  assert.equal(args(`${a(BOT)} /webhook_create caf&#233; &#x1F680;`), "café 🚀");
  assert.equal(args(`/webhook_create deploys @webhook_bot`, "text"), "deploys");
  assert.equal(args(`/webhook_create ops@home`, "text"), "ops@home", "not a mention");
  // Text mode is literal: entities stay as typed.
  assert.equal(args("/webhook_create R&amp;D", "text"), "R&amp;D");
  assert.equal(args(`${a(BOT)} /webhook_create line1<br>line2`), "line1 line2");
});

Deno.test("ignored: the bot's own messages (any id form), system authors, other envelope types", () => {
  assert.equal(parseCommand(msg("/webhook_list", { author: BOT }), BOT), null);
  assert.equal(parseCommand(msg("/webhook_list", { author: `${BOT}/inst` }), BOT), null);
  assert.equal(parseCommand(msg("/webhook_list", { author: "WEBHOOK_BOT" }), BOT), null);
  assert.equal(parseCommand(msg("/webhook_list", { authorType: 0 }), BOT), null);
  assert.equal(parseCommand(msg("/webhook_list", { type: 202 }), BOT), null);
  assert.equal(parseCommand(msg("/webhook_list", { type: 201 }), BOT), null);
});

// README's command table, docs/chat_commands.md's and the /help reply are three lists of one
// set: the commands parseCommand knows. A command added to the bot (or renamed) must show up
// in all three, and none of them may list one the bot answers with "I do not know".
Deno.test("README's and chat_commands.md's command tables and /help list exactly the commands the bot knows", async () => {
  const root = new URL("../../", import.meta.url);
  const tableCommands = async (file: string) => {
    const text = await Deno.readTextFile(new URL(file, root));
    const start = text.indexOf("| Command");
    const table = text.slice(start, text.indexOf("\n\n", start));
    return new Set(
      table.split("\n").flatMap((row) =>
        [...(row.split("|")[1] ?? "").matchAll(/`\/(webhook_[a-z]+)/g)].map((m) => m[1]!)
      ),
    );
  };
  const readme = await tableCommands("README.md");
  const docs = await tableCommands("docs/chat_commands.md");
  const reply = new Set(
    [...help(false).matchAll(/^• (.*)$/gm)].flatMap((m) =>
      [...m[1]!.split(" — ")[0]!.matchAll(/\/(webhook_[a-z]+)/g)].map((c) => c[1]!)
    ),
  );
  const known = (name: string) => {
    const parsed = parseCommand(msg(`/${name} deploys`), BOT);
    return parsed?.command === name && parsed.unknown === undefined;
  };
  assert.ok(readme.size >= 15, `README's table read as ${[...readme]}`);
  for (const name of readme) {
    assert.ok(known(name), `README lists /${name}, which the bot does not know`);
  }
  // chat_commands.md's table leaves /webhook_alerts and /webhook_mentions to their own section.
  const livingSection = await Deno.readTextFile(new URL("docs/chat_commands.md", root));
  for (const name of ["webhook_alerts", "webhook_mentions"]) {
    assert.match(livingSection, new RegExp(`^## .*\`/${name}\``, "m"));
    docs.add(name);
  }
  assert.deepEqual([...docs].sort(), [...readme].sort(), "docs/chat_commands.md's table");
  assert.deepEqual([...reply].sort(), [...readme].sort(), "the /help reply");
});
