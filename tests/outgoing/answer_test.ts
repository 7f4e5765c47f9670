// A service's answer read like an incoming POST: what counts as nothing to post.
import assert from "node:assert/strict";
import { readAnswer } from "../../src/outgoing/answer.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

Deno.test("an answer of only whitespace, of any length and type, is empty: nothing posted, nobody told", async () => {
  for (const ct of ["text/plain", "application/json", null]) {
    for (const body of ["", "\n", " \r\n\t ".repeat(40), "\n".repeat(5_000)]) {
      assert.equal((await readAnswer(bytes(body), ct)).kind, "empty", `${ct} ${body.length}`);
    }
  }
  const a = await readAnswer(bytes("\n\n  deployed\n"), "text/plain");
  assert(a.kind === "message");
  assert.equal(a.message.text.trim(), "deployed");
});

Deno.test('an answer that says nothing to post ({"text":""}, HTML, JSON that is not an object) is empty too; one that cannot be read is not', async () => {
  assert.equal((await readAnswer(bytes('{"text":""}'), "application/json")).kind, "empty");
  assert.equal(
    (await readAnswer(bytes("text="), "application/x-www-form-urlencoded")).kind,
    "empty",
  );
  const bad = await readAnswer(bytes("{not json"), "application/json");
  assert.equal(bad.kind, "unreadable");
  assert.equal((await readAnswer(bytes('{"txt":"hi"}'), "application/json")).kind, "unreadable");
  assert.equal((await readAnswer(bytes("<p>OK</p>"), "text/html; charset=utf-8")).kind, "empty");
  for (const json of ["true", '"queued"', "[]", "[1,2]", "42", "null"]) {
    assert.equal((await readAnswer(bytes(json), "application/json")).kind, "empty", json);
  }
});
