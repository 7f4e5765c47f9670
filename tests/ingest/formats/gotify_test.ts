/**
 * Gotify message bodies (Gotify's API docs, `POST /message`: `{title, message, priority,
 * extras}`; extras per gotify.net/docs/msgextras). Gotify is chosen by its route, so here it is
 * forced as the route does.
 *
 * @module
 */
import assert from "node:assert/strict";
import { post, refused } from "./_request.ts";

const gotify = (body: string, type = "application/json") => post(body, type, { format: "gotify" });

Deno.test("JSON {title, message, priority}: bold title, escaped message; answered gotify with the echo", async () => {
  const r = await gotify('{"title":"Backup","message":"done *all*","priority":5}');
  assert.equal(r.format, "gotify");
  assert.equal(r.reply, "gotify");
  assert.equal(r.message.text, "**Backup**\ndone \\*all\\*");
  assert.deepEqual(r.echo, {
    title: "Backup",
    message: "done *all*",
    priority: 5,
    extras: undefined,
  });
});

Deno.test("text/markdown display, high priority, click URL and bigImageUrl extras", async () => {
  const r = await gotify(JSON.stringify({
    title: "Deploy",
    message: "**v1.2** is live",
    priority: 8,
    extras: {
      "client::display": { contentType: "text/markdown" },
      "client::notification": {
        click: { url: "https://ci.example.com/42" },
        bigImageUrl: "https://ci.example.com/42.png",
      },
    },
  }));
  assert.equal(
    r.message.text,
    "🚨 **Deploy**\n**v1.2** is live\n\n[Open](https://ci.example.com/42)",
  );
  assert.deepEqual(r.message.attachments, [
    { kind: "photo", source: { type: "url", url: "https://ci.example.com/42.png" } },
  ]);
});

Deno.test("form bodies (curl -F title=… -F message=…) work; a missing message is refused like Gotify", async () => {
  const r = await gotify("title=Hi&message=there&priority=2", "application/x-www-form-urlencoded");
  assert.equal(r.message.text, "**Hi**\nthere");
  assert.equal(r.echo?.priority, 2);
  const e = await refused(gotify('{"title":"only a title"}'));
  assert.equal(e.code, "empty_payload");
  assert.equal(e.status, 400);
  assert.equal(
    (await refused(gotify('{"message":"x","priority":"high"}'))).code,
    "invalid_priority",
  );
});

Deno.test("a Gotify body is never guessed on /hook/: {title, message} stays Apprise", async () => {
  assert.equal(
    (await post('{"title":"a","message":"b","priority":5}', "application/json")).format,
    "apprise",
  );
});
