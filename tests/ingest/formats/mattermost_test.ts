import assert from "node:assert/strict";
import { expected, fixtureBytes, post, refused } from "./_request.ts";

const JSON_TYPE = "application/json";

Deno.test("Mattermost post shows urgency, the sender name, Markdown text as is, and the props.card section", async () => {
  const result = await post(fixtureBytes("mattermost_card_priority"), JSON_TYPE);
  assert.equal(result.format, "mattermost");
  assert.equal(result.reply, "slack_ok");
  assert.equal(result.message.parseMode, "markdown");
  assert.equal(result.message.text, expected("mattermost_card_priority"));
  // Mattermost Markdown: *x* is italic and must not become bold.
  assert.equal(result.message.text.includes("Release *v2.1.0*"), true);
});

Deno.test("Apprise mmost:// body on /hooks/<token> is accepted, shown with its sender, and answered with ok", async () => {
  const result = await post(fixtureBytes("mattermost_apprise"), JSON_TYPE, { route: "hooks" });
  assert.equal(result.format, "mattermost");
  assert.equal(result.reply, "slack_ok");
  assert.equal(result.message.text, expected("mattermost_apprise"));
  assert.equal(result.message.text.includes("\r"), false);
});

Deno.test("plain {text} on /hooks/<token> is Mattermost (reply ok), on /hook/<token> it is native", async () => {
  const body = JSON.stringify({ text: "hi" });
  assert.equal((await post(body, JSON_TYPE, { route: "hooks" })).format, "mattermost");
  assert.equal((await post(body, JSON_TYPE, { route: "hook" })).format, "native");
});

Deno.test("Mattermost without Content-Type (treated as JSON) and with payload= form both work on /hooks", async () => {
  const bare = await post('{"text":"no header"}', null, { route: "hooks" });
  assert.equal(bare.message.text, "no header");
  const form = await post(
    `payload=${encodeURIComponent('{"text":"from form","username":"ci"}')}`,
    "application/x-www-form-urlencoded",
    { route: "hooks" },
  );
  assert.equal(form.message.text, "**ci**: from form");
});

Deno.test("Mattermost multipart fields (text, username) are read like JSON fields", async () => {
  const form = new FormData();
  form.set("text", "multi *part*");
  form.set("username", "jenkins");
  const request = new Request("http://x/", { method: "POST", body: form });
  const bytes = new Uint8Array(await request.arrayBuffer());
  const result = await post(bytes, request.headers.get("content-type"), { route: "hooks" });
  assert.equal(result.message.text, "**jenkins**: multi *part*");
});

Deno.test("Mattermost-only keys (props, priority, root_id, custom type) select Mattermost on any route", async () => {
  for (
    const extra of [{ props: {} }, { priority: { priority: "important" } }, { root_id: "abc" }, {
      type: "custom_x",
    }]
  ) {
    const result = await post(JSON.stringify({ text: "t", ...extra }), JSON_TYPE);
    assert.equal(result.format, "mattermost", JSON.stringify(extra));
  }
});

Deno.test("important priority gets a ❗ line; Slack-style <url|label> links and <!channel> are translated", async () => {
  const result = await post(
    JSON.stringify({
      text: "<!channel> see <https://x.io/a_b|the doc> &amp; more",
      priority: { priority: "important" },
    }),
    JSON_TYPE,
  );
  assert.equal(
    result.message.text,
    "❗ **Important**\n@channel see [the doc](https://x.io/a_b) & more",
  );
});

Deno.test("Mattermost attachments render like Slack's but keep Markdown emphasis", async () => {
  const result = await post(
    JSON.stringify({
      username: "gitlab",
      attachments: [{
        color: "good",
        title: "Pipeline #9",
        title_link: "https://gl/p/9",
        text: "*passed* in **2m**",
      }],
    }),
    JSON_TYPE,
    { route: "hooks" },
  );
  assert.equal(
    result.message.text,
    "**gitlab**\n\n🟢 **[Pipeline #9](https://gl/p/9)**\n*passed* in **2m**",
  );
});

Deno.test("a card alone is enough to post; an empty Mattermost payload is refused with no_text", async () => {
  const card = await post(JSON.stringify({ props: { card: "details" } }), JSON_TYPE);
  assert.equal(card.message.text, "details");
  const error = await refused(
    post(JSON.stringify({ username: "x", icon_url: null }), JSON_TYPE, { route: "hooks" }),
  );
  assert.equal(error.code, "no_text");
});
