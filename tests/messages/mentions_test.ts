// Mentions that notify: the whole bot against the fake TrueConf (participants and display
// names come from the fake over the real protocol).
import assert from "node:assert/strict";
import { Mentions } from "../../src/messages/mod.ts";
import { withClient } from "../trueconf/_helpers.ts";
import { livingWorld } from "./_world.ts";
import { visibleLength } from "../../src/trueconf/mod.ts";

const BOB = "[Bob Smith](trueconf:bob@video.example.com)";

Deno.test("@login of a participant becomes a mention; a non-participant stays plain; a text message turns Markdown with the rest escaped", async () => {
  const t = await livingWorld();
  try {
    await t.post(t.hookA, {
      text:
        "deploy by @bob and @dave, cc @alice@video.example.com: 50% done_now, mail bob@example.com",
    });
    const m = t.shown()[0];
    assert.equal(m?.parseMode, "markdown");
    assert.equal(
      m?.text,
      `deploy by ${BOB} and @dave, cc [Alice](trueconf:alice@video.example.com): 50% done\\_now, mail bob@example.com`,
    );
    await t.post(t.hookA, { text: "**hi** @Bob", parse_mode: "markdown" });
    assert.equal(t.shown()[1]?.text, `**hi** ${BOB}`);
    await t.post(t.hookA, {
      text: '<b>hi</b> @bob <a href="https://x/@bob">x</a>',
      parse_mode: "html",
    });
    assert.equal(
      t.shown()[2]?.text,
      '<b>hi</b> <a href="trueconf:bob@video.example.com">Bob Smith</a> <a href="https://x/@bob">x</a>',
    );
    // A line that starts with ">" would be a quote in TrueConf Markdown: escaped as well.
    await t.post(t.hookA, { text: "> 90% disk\n@bob please look" });
    assert.equal(t.shown().at(-1)?.text, `\\> 90% disk\n${BOB} please look`);
    // Nothing to mention: the text is sent as it came.
    await t.post(t.hookA, { text: "no one_here @dave" });
    assert.equal(t.shown()[4]?.text, "no one_here @dave");
    assert.equal(t.shown()[4]?.parseMode, "text");
  } finally {
    await t.close();
  }
});

Deno.test("@here/@all/<!channel> notify only under /webhook_mentions all; none leaves every mention plain", async () => {
  const t = await livingWorld();
  try {
    const say = t.say;
    const last = () => t.shown().at(-1)?.text;
    await t.post(t.hookA, { text: "@here disk full, @bob" });
    assert.equal(
      last(),
      `@\u2060here disk full, ${BOB}`,
      "people (default): @here addresses nobody",
    );

    await say("/webhook_mentions alerts all", /mentions = <b>all<\/b>/);
    await t.post(t.hookA, { text: "@here disk full" });
    assert.equal(last(), "@all disk full");
    await t.post(t.hookA, { text: "<!channel> deploy <@U024BE7LH|bob>", attachments: [] });
    assert.equal(last(), `@all deploy ${BOB}`);

    await say("/webhook_mentions alerts none", /mentions = <b>none<\/b>/);
    await t.post(t.hookA, { text: "@all ping @bob" });
    assert.equal(last(), "@\u2060all ping @bob");
  } finally {
    await t.close();
  }
});

Deno.test("an alert's `mention` annotation notifies the people it names", async () => {
  const t = await livingWorld();
  try {
    const base = JSON.parse(
      Deno.readTextFileSync(
        new URL("../ingest/fixtures/alertmanager_firing.json", import.meta.url),
      ),
    );
    base.alerts[0].annotations.mention = "@bob @dave";
    await t.post(t.hookA, base);
    const text = t.shown()[0]?.text ?? "";
    assert.match(text, /Notify: \[Bob Smith\]\(trueconf:bob@video\.example\.com\) @dave/);
  } finally {
    await t.close();
  }
});

Deno.test("at most 50 mentions per message; the rest stay plain text", async () => {
  await withClient({}, {}, async (fake, client) => {
    const users = Array.from({ length: 60 }, (_, i) => `u${i}`);
    fake.addChat({
      chatId: "big",
      title: "Big",
      chatType: 2,
      participants: [...users.map((u) => ({ userId: fake.userId(u), role: "user" })), {
        userId: fake.botId,
        role: "user",
      }],
    });
    const mentions = new Mentions(client);
    const r = await mentions.render(
      "big",
      { text: users.map((u) => `@${u}`).join(" "), parseMode: "markdown" },
      { hook: "h" },
    );
    assert.equal((r.text.match(/\(trueconf:/g) ?? []).length, 50);
    assert.ok(r.text.endsWith("@u50 @u51 @u52 @u53 @u54 @u55 @u56 @u57 @u58 @u59"));
  });
});

Deno.test("a text near TrueConf's 4096-character limit stays within it: mentions that would not fit stay plain", async () => {
  const t = await livingWorld();
  try {
    // 4090 characters and a mention: "[Bob Smith](trueconf:…)" shows 40 characters where
    // "@bob" showed 4, so it does not fit; the text goes as written (the SDK refuses more).
    const near = "x".repeat(4090) + " @bob";
    await t.post(t.hookA, { text: near });
    assert.equal(t.shown().at(-1)?.text, near);
    assert.equal(t.shown().at(-1)?.parseMode, "text");
    // A long text full of mentions is split at 4096; each part keeps the mentions that fit:
    // none in the full first part, 50 (the most per message) in the short second one.
    await t.post(t.hookA, { text: "ping @alice ".repeat(400) });
    const parts = t.shown().slice(-2);
    assert.equal(parts.length, 2);
    const mentions = parts.map((p) => p.text?.split("(trueconf:alice@video.example.com)").length);
    assert.deepEqual(mentions, [1, 51]);
    for (const p of parts) {
      assert.ok(visibleLength(p.text ?? "") <= 4096, `${visibleLength(p.text ?? "")} visible`);
    }
    assert.deepEqual(t.w.fake.protocolErrors, []);
  } finally {
    await t.close();
  }
});

Deno.test("code and link text are left as written: no mention inside `code`, ``` blocks, [labels] or <code>/<a>", async () => {
  const t = await livingWorld();
  try {
    const last = () => t.shown().at(-1)?.text;
    await t.post(t.hookA, {
      text: "run `notify @bob` and see [ask @bob](https://x.example/doc), then @bob",
      parse_mode: "markdown",
    });
    assert.equal(
      last(),
      `run \`notify @bob\` and see [ask @bob](https://x.example/doc), then ${BOB}`,
    );
    await t.post(t.hookA, {
      text: "```\nlog: paged @bob and @here\n```\ndone @bob",
      parse_mode: "markdown",
    });
    // Inside code an audience mention still addresses nobody (the word joiner), and notifies
    // nobody even under `/webhook_mentions all`.
    assert.equal(last(), `\`\`\`\nlog: paged @bob and @\u2060here\n\`\`\`\ndone ${BOB}`);
    await t.say("/webhook_mentions alerts all", /mentions = <b>all<\/b>/);
    await t.post(t.hookA, { text: "`@here` is what pages; @here", parse_mode: "markdown" });
    assert.equal(last(), "`@\u2060here` is what pages; @all");
    await t.post(t.hookA, {
      text: '<code>@bob</code> <pre>@here</pre> <a href="https://x">@bob</a> @bob',
      parse_mode: "html",
    });
    assert.equal(
      last(),
      '<code>@bob</code> <pre>@\u2060here</pre> <a href="https://x">@bob</a> <a href="trueconf:bob@video.example.com">Bob Smith</a>',
    );
  } finally {
    await t.close();
  }
});
