import assert from "node:assert/strict";
import { decodeEntities } from "../src/html_entities.ts";

Deno.test("decodeEntities: named, decimal, hex; unknown and out-of-range kept", () => {
  assert.equal(decodeEntities("&amp;&lt;&gt;&quot;&apos;&#65;&#x42;"), "&<>\"'AB");
  assert.equal(decodeEntities("&bogus; &#x110000;"), "&bogus; &#x110000;");
});

Deno.test("decodeEntities: the named references rich-text editors write (arrows, dashes, quotes), case as HTML has it", () => {
  assert.equal(
    decodeEntities("a &rarr; b &larr; c &mdash; d &ndash; e&hellip;"),
    "a → b ← c — d – e…",
  );
  assert.equal(
    decodeEntities("&laquo;x&raquo; &ldquo;y&rdquo; &lsquo;z&rsquo; &bdquo;w&ldquo;"),
    "«x» “y” ‘z’ „w“",
  );
  assert.equal(decodeEntities("&rArr; &rarr; &AMP;"), "⇒ → &");
});
