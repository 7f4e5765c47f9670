import assert from "node:assert/strict";
import { decodeEntities } from "../src/html_entities.ts";

Deno.test("decodeEntities: named, decimal, hex; unknown and out-of-range kept", () => {
  assert.equal(decodeEntities("&amp;&lt;&gt;&quot;&apos;&#65;&#x42;"), "&<>\"'AB");
  assert.equal(decodeEntities("&bogus; &#x110000;"), "&bogus; &#x110000;");
});
