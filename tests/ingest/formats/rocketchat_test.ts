/**
 * Rocket.Chat bodies. `dialects/rocketchat_attachments.json` is the example of Rocket.Chat's
 * "Incoming webhook" docs (alias Gruggy, emoji, one attachment with title link, image and colour).
 *
 * @module
 */
import assert from "node:assert/strict";
import { dialectFixture, post } from "./_request.ts";

const JSON_TYPE = "application/json";

Deno.test("Rocket.Chat docs example: alias heads the text, attachment like Slack, image as photo; answered rocketchat", async () => {
  const r = await post(dialectFixture("rocketchat_attachments"), JSON_TYPE);
  assert.equal(r.format, "rocketchat");
  assert.equal(r.reply, "rocketchat");
  assert.equal(
    r.message.text,
    "**Gruggy**: Example message\n\n🟣 **[Rocket.Chat](https://rocket.chat)**\nRocket.Chat, the best open source chat",
  );
  assert.deepEqual(r.message.attachments, [
    {
      kind: "photo",
      source: { type: "url", url: "https://rocket.chat/images/mockups/screenshot.png" },
    },
  ]);
});

Deno.test("a known emoji goes before the alias; Slack markup in text is translated", async () => {
  const r = await post(
    JSON.stringify({ alias: "CI", emoji: ":rocket:", text: "*shipped* <https://x.io|v2>" }),
    JSON_TYPE,
  );
  assert.equal(r.message.text, "🚀 **CI**: **shipped** [v2](https://x.io)");
  // The same body on the Mattermost-style path is still Rocket.Chat (Apprise rocket:// posts to /hooks/…).
  const viaHooks = await post(JSON.stringify({ text: "x", avatar: "https://a/b.png" }), JSON_TYPE, {
    route: "hooks",
  });
  assert.equal(viaHooks.format, "rocketchat");
});
