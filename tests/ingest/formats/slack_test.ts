import assert from "node:assert/strict";
import { PayloadError } from "../../../src/ingest/formats/types.ts";
import { expected, fixtureBytes, post, refused } from "./_request.ts";

const JSON_TYPE = "application/json";

async function golden(name: string) {
  const result = await post(fixtureBytes(name), JSON_TYPE);
  assert.equal(result.format, "slack");
  assert.equal(result.reply, "slack_ok");
  assert.equal(result.message.parseMode, "markdown");
  assert.equal(result.message.text, expected(name));
  return result;
}

Deno.test("Slack text-only post shows mrkdwn as TrueConf Markdown: bold, links, mentions, quotes, emoji", async () => {
  const result = await golden("slack_text_only");
  assert.deepEqual(result.message.attachments, []);
});

Deno.test("Azure DevOps attachments-only post renders pretext with status emoji and field lines", async () => {
  await golden("slack_azure_devops");
});

Deno.test("Alertmanager slack_configs (attachments only, empty text) posts the linked [FIRING] title", async () => {
  const result = await golden("slack_alertmanager_attachments");
  assert.equal(result.message.text.startsWith("🔴 **[\\[FIRING:1\\] DiskFull"), true);
});

Deno.test("Grafana Slack contact point shows mentions, title, body, footer with time, and the screenshot as a photo", async () => {
  const result = await golden("slack_grafana");
  assert.deepEqual(result.message.attachments, [
    {
      kind: "photo",
      source: { type: "url", url: "https://grafana.example.com/public/img/attachments/Xy7k.png" },
    },
  ]);
});

Deno.test("Uptime Kuma details that live only in attachment blocks are shown (header, fields, button link)", async () => {
  await golden("slack_uptime_kuma");
});

Deno.test("Alertmanager Block Kit post renders every block; the fallback text is not repeated; accessory image becomes a photo", async () => {
  const result = await golden("slack_blocks_alertmanager");
  assert.equal(result.message.text.includes("[FIRING:2] NodeDown\n"), false);
  assert.equal(result.message.attachments.length, 1);
});

Deno.test("form-encoded payload=<json> (curl/Jenkins style) is read as Slack", async () => {
  const payload = JSON.stringify({ text: "Build <https://ci/1|#1> *passed*", channel: "#ci" });
  const result = await post(
    `payload=${encodeURIComponent(payload)}`,
    "application/x-www-form-urlencoded",
  );
  assert.equal(result.format, "slack");
  assert.equal(result.message.text, "Build [#1](https://ci/1) **passed**");
});

Deno.test("payload= that is not JSON is refused with invalid_json naming the field", async () => {
  const error = await refused(post("payload=%7Bnope", "application/x-www-form-urlencoded"));
  assert.equal(error.code, "invalid_json");
  assert.equal(error.message.includes('"payload"'), true);
});

Deno.test("mrkdwn: false shows the text verbatim (markup escaped)", async () => {
  const result = await post(JSON.stringify({ text: "a *b* _c_", mrkdwn: false }), JSON_TYPE);
  assert.equal(result.message.text, "a \\*b\\* \\_c\\_");
});

Deno.test("an attachment with only fallback text still shows the fallback", async () => {
  const result = await post(
    JSON.stringify({ attachments: [{ fallback: "Job 7 failed" }] }),
    JSON_TYPE,
  );
  assert.equal(result.message.text, "Job 7 failed");
});

Deno.test("thumb_url is a photo only when the attachment has nothing else to show; non-http image URLs stay visible as text", async () => {
  const both = await post(
    JSON.stringify({
      attachments: [{
        text: "x",
        image_url: "https://i/big.png",
        thumb_url: "https://i/small.png",
      }],
    }),
    JSON_TYPE,
  );
  assert.deepEqual(both.message.attachments.map((a) => a.source), [{
    type: "url",
    url: "https://i/big.png",
  }]);
  // Beside a title, text or fields Slack draws thumb_url at 75 px on the attachment's side: a
  // decoration (Netdata's status icon), not a picture of its own, and not the text's caption.
  const beside = await post(
    JSON.stringify({
      attachments: [{ text: "x", thumb_url: "https://i/small.png" }, {
        title: "t",
        fields: [{ title: "f", value: "v" }],
        thumb_url: "ftp://i/small.png",
      }],
    }),
    JSON_TYPE,
  );
  assert.equal(beside.message.text, "x\n\n**t**\n**f**: v");
  assert.deepEqual(beside.message.attachments, []);
  // Alone, the thumbnail is the attachment's content.
  const thumb = await post(
    JSON.stringify({
      text: "x",
      attachments: [{ thumb_url: "https://i/small.png", fallback: "f" }],
    }),
    JSON_TYPE,
  );
  assert.equal(thumb.message.text, "x");
  assert.deepEqual(thumb.message.attachments.map((a) => a.source), [{
    type: "url",
    url: "https://i/small.png",
  }]);
  const odd = await post(
    JSON.stringify({ attachments: [{ text: "x", image_url: "ftp://i/x.png" }] }),
    JSON_TYPE,
  );
  assert.equal(odd.message.text, "x\n🖼 ftp://i/x.png");
  assert.equal(odd.message.attachments.length, 0);
});

Deno.test("an image-only Slack payload posts the picture with no text", async () => {
  const result = await post(
    JSON.stringify({
      blocks: [{ type: "image", image_url: "https://i/chart.png", alt_text: "chart" }],
    }),
    JSON_TYPE,
  );
  assert.equal(result.message.text, "");
  assert.equal(result.message.attachments.length, 1);
});

Deno.test("legacy attachment actions with a URL become links; interactive-only buttons are left out", async () => {
  const result = await post(
    JSON.stringify({
      attachments: [{
        title: "Deploy?",
        actions: [
          { type: "button", text: "Open", url: "https://ci/7" },
          { type: "button", text: "Approve", name: "approve", value: "yes" },
        ],
      }],
    }),
    JSON_TYPE,
  );
  assert.equal(result.message.text, "**Deploy?**\n[Open](https://ci/7)");
});

Deno.test("author, hex colours and several attachments render in order with blank lines between", async () => {
  const result = await post(
    JSON.stringify({
      attachments: [
        { color: "#36a64f", author_name: "bob", author_link: "https://u/bob", text: "one" },
        { color: "#daa038", title: "two" },
        { color: "#888888", text: "three" },
      ],
    }),
    JSON_TYPE,
  );
  assert.equal(result.message.text, "🟢 [bob](https://u/bob)\none\n\n🟡 **two**\n\nthree");
});

Deno.test("rich_text blocks render styles, links, lists, code and quotes", async () => {
  const result = await post(
    JSON.stringify({
      blocks: [{
        type: "rich_text",
        elements: [
          {
            type: "rich_text_section",
            elements: [
              { type: "text", text: "Hi ", style: {} },
              { type: "text", text: "there", style: { bold: true } },
              { type: "text", text: " see " },
              { type: "link", url: "https://x.io", text: "docs" },
              { type: "emoji", name: "fire", unicode: "1f525" },
            ],
          },
          {
            type: "rich_text_list",
            style: "ordered",
            elements: [
              { type: "rich_text_section", elements: [{ type: "text", text: "a" }] },
              { type: "rich_text_section", elements: [{ type: "text", text: "b" }] },
            ],
          },
          { type: "rich_text_preformatted", elements: [{ type: "text", text: "x = *y*" }] },
          { type: "rich_text_quote", elements: [{ type: "text", text: "quoted" }] },
        ],
      }],
    }),
    JSON_TYPE,
  );
  assert.equal(
    result.message.text,
    "Hi **there** see [docs](https://x.io)🔥\n1. a\n2. b\n```\nx = *y*\n```\n> quoted",
  );
});

Deno.test("a Slack payload with nothing to show is refused with Slack's no_text", async () => {
  const error = await refused(
    post(JSON.stringify({ text: "", attachments: [{}], channel: "#x" }), JSON_TYPE),
  );
  assert.equal(error.code, "no_text");
  assert.equal(error.status, 400);
});

Deno.test("more than 100 attachments → too_many_attachments; more than 50 blocks → invalid_blocks", async () => {
  const many = Array.from({ length: 101 }, () => ({ text: "x" }));
  assert.equal(
    (await refused(post(JSON.stringify({ attachments: many }), JSON_TYPE))).code,
    "too_many_attachments",
  );
  const blocks = Array.from({ length: 51 }, () => ({ type: "divider" }));
  assert.equal((await refused(post(JSON.stringify({ blocks }), JSON_TYPE))).code, "invalid_blocks");
});

Deno.test("malformed attachments or blocks name the broken field", async () => {
  const attachments = await refused(
    post(JSON.stringify({ attachments: [{ fields: "nope" }] }), JSON_TYPE),
  );
  assert.equal(attachments.code, "invalid_attachments");
  assert.equal(attachments.message.includes("attachments[0].fields"), true);
  const blocks = await refused(post(JSON.stringify({ blocks: [{ text: "no type" }] }), JSON_TYPE));
  assert.equal(blocks.code, "invalid_blocks");
  assert.equal(blocks instanceof PayloadError, true);
});

Deno.test("numbers and nulls where Slack expects strings are tolerated", async () => {
  const result = await post(
    JSON.stringify({
      attachments: [{ title: 42, text: null, fields: [{ title: "n", value: 7 }] }],
    }),
    JSON_TYPE,
  );
  assert.equal(result.message.text, "**42**\n**n**: 7");
});

Deno.test("a text-only body with Slack markup is Slack (answered ok) and rendered, not posted raw (issue 15)", async () => {
  const r = await post(
    JSON.stringify({
      text: "Deploy <https://ci.example.com/42|build 42> by <@U024BE7LH|alice> &amp; co",
    }),
    JSON_TYPE,
  );
  assert.equal(r.format, "slack");
  assert.equal(r.reply, "slack_ok");
  assert.equal(r.message.text, "Deploy [build 42](https://ci.example.com/42) by @alice & co");
  for (const text of ["<!here> db down", "x &lt; y", "see <#C123|ops>", "<@U1>"]) {
    assert.equal((await post(JSON.stringify({ text }), JSON_TYPE)).format, "slack", text);
  }
  // Plain text, a lone `<` or a URL in angle brackets without a label stays native.
  for (const text of ["Deploy finished", "a < b and c > d", "mail <a@b.c>", "R&D team"]) {
    assert.equal((await post(JSON.stringify({ text }), JSON_TYPE)).format, "native", text);
  }
});

Deno.test("the @slack/webhook user agent makes any JSON body Slack, even plain {text}", async () => {
  const r = await post('{"text":"plain *bold*"}', JSON_TYPE, {
    headers: { "User-Agent": "@slack:webhook/8.0.2 node/20.11.1 linux/6.1.0" },
  });
  assert.equal(r.format, "slack");
  assert.equal(r.reply, "slack_ok");
  assert.equal(r.message.text, "plain **bold**");
});

Deno.test("Grafana's Slack pretext mentions (<!here|here> <!subteam^a><!subteam^b> <@u1><@u2>) render once each, apart", async () => {
  // grafana/alerting receivers/slack: channel mention, then groups and users each glued together.
  const r = await post(
    JSON.stringify({
      attachments: [{
        pretext: "<!here|here> <!subteam^group1><!subteam^group2> <@user1><@user2>",
        title: "[FIRING:1] HighCPU",
        color: "#D63232",
      }],
    }),
    JSON_TYPE,
  );
  assert.equal(r.message.text.split("\n")[0], "@here @group1 @group2 @user1 @user2");
});

Deno.test("Block Kit plain_text shows emoji shortcodes as emoji (Slack's `emoji` defaults to true)", async () => {
  const header = (text: Record<string, unknown>) =>
    post(JSON.stringify({ blocks: [{ type: "header", text }] }), JSON_TYPE);
  const shown = await header({ type: "plain_text", text: "Deploy *done* :rocket:", emoji: true });
  assert.equal(shown.message.text, "**Deploy \\*done\\* 🚀**");
  const byDefault = await header({ type: "plain_text", text: ":white_check_mark: ok" });
  assert.equal(byDefault.message.text, "**✅ ok**");
  const off = await header({ type: "plain_text", text: "raw :rocket:", emoji: false });
  assert.equal(off.message.text, "**raw :rocket:**");
});

Deno.test("a wrong Slack field type says what it must be, in English (an object, an array)", async () => {
  const e = await refused(post('{"text":"x","attachments":[null]}', JSON_TYPE));
  assert.equal(e.code, "invalid_attachments");
  assert.equal(e.message, 'Field "attachments[0]" must be an object.');
});

Deno.test('a misspelt Slack field (payload={"txt":…}) gets no_text with a did-you-mean, form and JSON alike', async () => {
  const form = await refused(
    post(`payload=${encodeURIComponent('{"txt":"x"}')}`, "application/x-www-form-urlencoded"),
  );
  assert.equal(form.code, "no_text");
  assert.match(form.message, /did you mean "text" instead of "txt"\?/i);
  const json = await refused(post('{"attachment":[{"text":"x"}],"mrkdwn":true}', JSON_TYPE));
  assert.equal(json.code, "no_text");
  assert.match(json.message, /did you mean "attachments" instead of "attachment"\?/i);
  // Nothing misspelt: the plain sentence, no guess.
  const empty = await refused(post('{"text":"","channel":"#x"}', JSON_TYPE));
  assert.doesNotMatch(empty.message, /did you mean/i);
});
