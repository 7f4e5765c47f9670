/**
 * Microsoft Teams bodies. Fixtures (tests/ingest/fixtures/dialects/):
 * - `teams_connector_sample.json`: the MessageCard sample of Microsoft's "Send a message card
 *   with the Office 365 connector" docs (Larry Bryant's task);
 * - `teams_alertmanager_msteams.json`: what Alertmanager's `msteams_configs` sends
 *   (prometheus/alertmanager notify/msteams/msteams.go: `type` MessageCard, title, summary, text,
 *   themeColor 8C1A1A for firing) with its default text template rendered;
 * - `teams_gitea_push.json`: Gitea/Forgejo's msteams push payload (services/webhook/msteams.go);
 * - `teams_grafana_adaptive.json`: Grafana's Teams contact point, taken from grafana/alerting
 *   receivers/teams/teams_test.go ("Default config with one alert");
 * - `teams_workflow_activity.json`: adaptivecards.io's "Activity Update" sample in a Workflows
 *   `{"type":"message","attachments":[…]}` envelope.
 *
 * @module
 */
import assert from "node:assert/strict";
import { dialectFixture, post, refused } from "./_request.ts";

const JSON_TYPE = "application/json";

async function card(name: string) {
  const r = await post(dialectFixture(name), JSON_TYPE);
  assert.equal(r.format, "teams");
  assert.equal(r.message.parseMode, "markdown");
  return r;
}

Deno.test("connector MessageCard: activity title, subtitle, facts and the OpenUri action; answered as the connector (1)", async () => {
  const r = await card("teams_connector_sample");
  assert.equal(r.reply, "teams_connector");
  assert.equal(
    r.message.text,
    [
      "**Larry Bryant created a new task**",
      "On Project Tango",
      "**Assigned to**: Unassigned",
      "**Due date**: Mon May 01 2017 17:07:18 GMT-0700 (Pacific Daylight Time)",
      "**Status**: Not started",
      "",
      "[Learn More](https://learn.microsoft.com/outlook/actionable-messages)",
    ].join("\n"),
  );
  // activityImage is the sender's avatar, not content.
  assert.deepEqual(r.message.attachments, []);
});

Deno.test("Alertmanager msteams_configs (type: MessageCard): red title, Markdown heading as a bold line", async () => {
  const r = await card("teams_alertmanager_msteams");
  assert.equal(r.reply, "teams_connector");
  const lines = r.message.text.split("\n");
  assert.equal(lines[0], "🔴 **\\[FIRING:1\\] DiskFull (db1:9100 critical)**");
  assert.equal(lines[1], "**Alerts Firing:**");
  assert.equal(r.message.text.includes("  - summary = Disk on db1 is 97% full"), true);
});

Deno.test("a card title is Markdown (Ansible's **bold** title), but a snake_case alert name keeps its underscores", async () => {
  // Prometheus alert names are snake_case: read as Markdown, `_filesystem_` could turn
  // italic. Teams shows intra-word underscores as written; so does the title here.
  // The first line the chat shows for a MessageCard with this title (and `extra` fields).
  const titleLine = async (title: string, extra: Record<string, unknown> = {}) => {
    const card = { "@type": "MessageCard", title, text: "x", ...extra };
    return (await post(JSON.stringify(card), "application/json")).message.text.split("\n")[0];
  };
  assert.equal(
    await titleLine("[FIRING:1] node_filesystem_almost_full (db1 _critical_)", {
      themeColor: "8C1A1A",
    }),
    "🔴 **\\[FIRING:1\\] node\\_filesystem\\_almost\\_full (db1 _critical_)**",
  );
  assert.equal(await titleLine("Deploy of **api** finished"), "Deploy of **api** finished");
  // Not in code, a link's address or a bare URL, where the escape would show.
  assert.equal(
    await titleLine(
      "`disk_used` on [db_1](https://grafana.example.com/d/disk_used) https://x.io/a_b",
    ),
    "**`disk_used` on [db\\_1](https://grafana.example.com/d/disk_used) https://x.io/a_b**",
  );
});

Deno.test("Gitea's push MessageCard: title with theme colour, author, facts without the trailing colon, commit links", async () => {
  const r = await card("teams_gitea_push");
  assert.equal(
    r.message.text,
    [
      "🔵 **\\[org/api:main\\] 2 new commits**",
      "",
      "**alice**",
      "Alice Liddell",
      "**Repository**: org/api",
      "**Commit count**: 2",
      "[a1b2c3d](https://git.example.com/org/api/commit/a1b2c3d) Fix login redirect - Alice Liddell",
      "",
      "[e4f5a6b](https://git.example.com/org/api/commit/e4f5a6b) Bump deps - Alice Liddell",
      "",
      "[View in Gitea](https://git.example.com/org/api/compare/0123456...e4f5a6b)",
    ].join("\n"),
  );
});

Deno.test("Grafana's Teams contact point (Adaptive Card): bold title, message, View URL link; answered 202 (Workflows)", async () => {
  const r = await card("teams_grafana_adaptive");
  assert.equal(r.reply, "teams_workflow");
  const lines = r.message.text.split("\n");
  // Grafana colours the heading `attention` while firing: the status emoji, as for connector cards.
  assert.equal(lines[0], "🔴 **[FIRING:1]  (val1)**");
  assert.equal(lines[1], "**Firing**");
  assert.equal(lines.at(-1), "[View URL](http://localhost/alerting/list)");
});

Deno.test("Workflows Adaptive Card: columns, FactSet, <at> mention, DATE(), container image as photo, person avatar skipped", async () => {
  const r = await card("teams_workflow_activity");
  assert.equal(
    r.message.text,
    [
      "**Publish Adaptive Card Schema**",
      "**Matt Hidinger**",
      "Created 2017-02-14",
      "Now that we have defined the main rules and features of the format, we need to produce a schema and publish it to GitHub.",
      "**Board**: Adaptive Cards",
      "**List**: Backlog",
      "**Assigned to**: @Matt Hidinger",
      "**Due date**: Not set",
      "",
      "[View](https://adaptivecards.io/)",
    ].join("\n"),
  );
  assert.deepEqual(r.message.attachments, [
    { kind: "photo", source: { type: "url", url: "https://adaptivecards.io/content/cats/1.png" } },
  ]);
});

Deno.test("a bare AdaptiveCard and a connector card inside a Workflows attachment are read too", async () => {
  const bare = await post(
    JSON.stringify({
      type: "AdaptiveCard",
      body: [{ type: "TextBlock", text: "hello" }, {
        type: "Table",
        rows: [{
          cells: [{ items: [{ type: "TextBlock", text: "a" }] }, {
            items: [{ type: "TextBlock", text: "b" }],
          }],
        }],
      }],
    }),
    JSON_TYPE,
  );
  assert.equal(bare.message.text, "hello\na | b");
  const wrapped = await post(
    JSON.stringify({
      type: "message",
      attachments: [{
        contentType: "application/vnd.microsoft.teams.card.o365connector",
        content: { "@type": "MessageCard", title: "Wrapped", text: "body <b>bold</b><br>next" },
      }],
    }),
    JSON_TYPE,
  );
  assert.equal(wrapped.reply, "teams_workflow");
  assert.equal(wrapped.message.text, "**Wrapped**\nbody **bold**\nnext");
});

Deno.test("an empty card is refused; deep nesting is bounded, not a crash", async () => {
  const empty = await refused(post('{"@type":"MessageCard","sections":[]}', JSON_TYPE));
  assert.equal(empty.code, "empty_payload");
  let item: Record<string, unknown> = { type: "TextBlock", text: "deep" };
  for (let i = 0; i < 5000; i++) item = { type: "Container", items: [item] };
  const deep = await refused(
    post(JSON.stringify({ type: "AdaptiveCard", body: [item] }), JSON_TYPE),
  );
  assert.equal(deep.code, "empty_payload");
});

Deno.test("an activity title with its own bold is not wrapped in bold again", async () => {
  const r = await post(
    JSON.stringify({
      "@type": "MessageCard",
      sections: [{ activityTitle: "**Miguel** commented on [PR 7](https://x.io/7)", text: "LGTM" }],
    }),
    JSON_TYPE,
  );
  assert.equal(r.message.text, "**Miguel** commented on [PR 7](https://x.io/7)\nLGTM");
});

Deno.test("a heading TextBlock's colour (Attention, Warning, Good) shows the status emoji (Alertmanager msteamsv2_configs)", async () => {
  // Alertmanager 0.28 msteamsv2 (notify/msteamsv2): title TextBlock, heading style, colour
  // Attention while firing and Good once resolved.
  const heading = (color: string) =>
    post(
      JSON.stringify({
        type: "message",
        attachments: [{
          contentType: "application/vnd.microsoft.card.adaptive",
          content: {
            type: "AdaptiveCard",
            version: "1.2",
            body: [
              {
                type: "TextBlock",
                text: "[RESOLVED] DiskFull",
                weight: "Bolder",
                size: "Medium",
                wrap: true,
                style: "heading",
                color,
              },
              { type: "TextBlock", text: "Alerts Resolved", wrap: true, color },
            ],
          },
        }],
      }),
      JSON_TYPE,
    );
  assert.equal((await heading("Good")).message.text, "🟢 **[RESOLVED] DiskFull**\nAlerts Resolved");
  assert.equal(
    (await heading("Attention")).message.text,
    "🔴 **[RESOLVED] DiskFull**\nAlerts Resolved",
  );
  assert.equal(
    (await heading("Warning")).message.text,
    "🟡 **[RESOLVED] DiskFull**\nAlerts Resolved",
  );
  assert.equal((await heading("Accent")).message.text, "**[RESOLVED] DiskFull**\nAlerts Resolved");
});
