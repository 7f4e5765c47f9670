import assert from "node:assert/strict";
import {
  escapeMarkdown,
  markdownLink,
  slackToMarkdown,
} from "../../../src/ingest/formats/_mrkdwn.ts";
import { colorEmoji } from "../../../src/ingest/formats/_slack_render.ts";

Deno.test("Slack emphasis becomes TrueConf Markdown: *b* → **b**, ~s~ → ~~s~~, _i_ kept", () => {
  assert.equal(slackToMarkdown("*bold* _it_ ~gone~"), "**bold** _it_ ~~gone~~");
  assert.equal(slackToMarkdown("2*3*4 and a * b * c"), "2*3*4 and a * b * c");
});

Deno.test("Slack links, mailto, mentions, channels and broadcasts become readable text", () => {
  assert.equal(
    slackToMarkdown("<https://x.io/a_b_c|the *doc*>"),
    "[the *doc*](https://x.io/a_b_c)",
  );
  assert.equal(slackToMarkdown("*see <https://x.io|here>*"), "**see [here](https://x.io)**");
  assert.equal(slackToMarkdown("<https://x.io>"), "https://x.io");
  assert.equal(
    slackToMarkdown("<mailto:ops@x.io|ops@x.io> <mailto:a@x.io|Alice>"),
    "ops@x.io [Alice](mailto:a@x.io)",
  );
  assert.equal(slackToMarkdown("<@U123|bob> <@U456> <#C1|general>"), "@bob @U456 #general");
  assert.equal(slackToMarkdown("<!here> <!channel|channel> <!everyone>"), "@here @channel @all");
  assert.equal(slackToMarkdown("<!subteam^S1|@oncall> <!subteam^S2>"), "@oncall @S2");
  assert.equal(slackToMarkdown("<!date^1714564800^{date}|May 1st>"), "May 1st");
  assert.equal(slackToMarkdown("<!date^1714564800^{date}>"), "2024-05-01 12:00 UTC");
});

Deno.test("Slack entities are unescaped and &gt; quotes become Markdown quotes", () => {
  assert.equal(slackToMarkdown("a &amp; b &lt;c&gt;\n&gt; quoted"), "a & b <c>\n> quoted");
});

Deno.test("code spans and ``` blocks are kept verbatim", () => {
  assert.equal(
    slackToMarkdown("run `a*b*c` then\n```\n*x* <https://y|z>\n```"),
    "run `a*b*c` then\n```\n*x* <https://y|z>\n```",
  );
});

Deno.test("emoji shortcodes senders use become emoji; unknown ones and times stay", () => {
  assert.equal(
    slackToMarkdown(":white_check_mark: ok :rotating_light: :custom: 12:30:45"),
    "✅ ok 🚨 :custom: 12:30:45",
  );
});

Deno.test("Mattermost mode translates <…> tokens but keeps Markdown emphasis", () => {
  assert.equal(
    slackToMarkdown("*it* **b** <https://x|y>", { emphasis: false }),
    "*it* **b** [y](https://x)",
  );
});

Deno.test("escaping and links cannot be broken by sender text", () => {
  assert.equal(
    escapeMarkdown("a_b *c* [d] `e` ~f~ \\"),
    "a\\_b \\*c\\* \\[d\\] \\`e\\` \\~f\\~ \\\\",
  );
  assert.equal(markdownLink("x]y", "https://h/a b(1)"), "[x\\]y](https://h/a%20b%281%29)");
});

Deno.test("attachment colours map to status emoji; greys get none", () => {
  assert.deepEqual(
    [
      "good",
      "warning",
      "danger",
      "#2eb886",
      "#daa038",
      "#D63232",
      "#36a64f",
      "#ff9900",
      "#1e90ff",
      "#888888",
      "",
      "bogus",
    ].map(colorEmoji),
    ["🟢", "🟡", "🔴", "🟢", "🟡", "🔴", "🟢", "🟠", "🔵", "", "", ""],
  );
});

// Slack's own Block Kit templates write links without a scheme (the "Approval" template:
// `*Created by:*\n<example.com|Fred Enriquez>`), and Slack shows them as links to http://…;
// the bot left the whole token in the chat.
Deno.test("Slack links to a bare host name become http links; other scheme-less tokens stay", () => {
  assert.equal(
    slackToMarkdown("*Created by:*\n<example.com|Fred Enriquez>"),
    "**Created by:**\n[Fred Enriquez](http://example.com)",
  );
  assert.equal(
    slackToMarkdown("<grafana.example.com:3000/d/abc?x=1|dashboard>"),
    "[dashboard](http://grafana.example.com:3000/d/abc?x=1)",
  );
  assert.equal(slackToMarkdown("<example.com>"), "example.com");
  assert.equal(slackToMarkdown("<not a link|x> <T>"), "<not a link|x> <T>");
});
