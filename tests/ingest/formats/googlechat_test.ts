/**
 * Google Chat bodies. Fixtures (tests/ingest/fixtures/dialects/): `googlechat_cardsv2.json`
 * uses the card of Google's "Card builder"/cardsV2 reference (header, sections, decoratedText,
 * textParagraph with Google's HTML subset, divider, image, buttonList); `googlechat_legacy_cards.json`
 * is the legacy `cards` example of Google's Hangouts Chat card docs (Pizza Bot: keyValue,
 * image, textButton).
 *
 * @module
 */
import assert from "node:assert/strict";
import { dialectFixture, post, refused } from "./_request.ts";

const JSON_TYPE = "application/json";

Deno.test("cardsV2: text with Google formatting, header, decoratedText, HTML paragraph, divider, link buttons, image as photo", async () => {
  const r = await post(dialectFixture("googlechat_cardsv2"), JSON_TYPE);
  assert.equal(r.format, "googlechat");
  assert.equal(r.reply, "googlechat");
  assert.equal(
    r.message.text,
    [
      "Build **#1042** finished: [details](https://ci.example.com/b/1042)",
      "",
      "**Build 1042 passed**",
      "api · main",
      "",
      "**Details**",
      "**Duration**: 4m 12s",
      "**Commit**: **a1b2c3d** Fix login redirect",
      "_by alice_",
      "All _312_ tests passed.",
      "Coverage 87%",
      "──────────",
      // The "Rerun" button calls an app function: nothing to open from TrueConf.
      "[Open build](https://ci.example.com/b/1042)",
    ].join("\n"),
  );
  assert.deepEqual(r.message.attachments, [
    { kind: "photo", source: { type: "url", url: "https://ci.example.com/charts/1042.png" } },
  ]);
});

Deno.test("legacy cards: keyValue lines, section header, textButton link, image as photo", async () => {
  const r = await post(dialectFixture("googlechat_legacy_cards"), JSON_TYPE);
  assert.equal(r.format, "googlechat");
  assert.equal(
    r.message.text,
    "**Pizza Bot Customer Support**\npizzabot@example.com\n\n**Order No.**: 12345\n**Status**: In Delivery\n\n**Location**\n\n[OPEN ORDER](https://example.com/orders/12345)",
  );
  assert.equal(r.message.attachments.length, 1);
});

Deno.test("?threadKey= makes a text-only body Google Chat and is echoed; <users/…> mentions become @", async () => {
  const r = await post('{"text":"<users/all> deploy *done* by <users/123>"}', JSON_TYPE, {
    query: { threadKey: "deploy-42" },
  });
  assert.equal(r.format, "googlechat");
  assert.equal(r.message.text, "@all deploy **done** by @123");
  assert.equal(r.echo?.threadKey, "deploy-42");
  // Living messages: the thread key (first message starts the thread, later ones reply).
  assert.deepEqual(r.message.thread, { replyKey: "deploy-42" });
  // Without it, {"text"} stays the native format.
  assert.equal((await post('{"text":"hi"}', JSON_TYPE)).format, "native");
});

Deno.test("an HTML paragraph cannot smuggle a javascript: link or raw Markdown", async () => {
  const r = await post(
    JSON.stringify({
      cardsV2: [{
        card: {
          sections: [{
            widgets: [{
              textParagraph: { text: '<a href="javascript:alert(1)">x</a> *y* [z](http://e)' },
            }],
          }],
        },
      }],
    }),
    JSON_TYPE,
  );
  assert.equal(r.message.text, "x \\*y\\* \\[z\\](http://e)");
});

Deno.test("a card with nothing to show is refused, unless fallbackText says something", async () => {
  const empty = await refused(post('{"cardsV2":[{"card":{"sections":[]}}]}', JSON_TYPE));
  assert.equal(empty.code, "empty_payload");
  const fallback = await post('{"cardsV2":[],"fallbackText":"Build *done*"}', JSON_TYPE);
  assert.equal(fallback.message.text, "Build **done**");
});
