import assert from "node:assert/strict";
import fc from "fast-check";
import { codePoints, splitText } from "../../src/delivery/split_text.ts";

Deno.test("a text within the limit is one chunk; an empty or blank text is none", () => {
  assert.deepEqual(splitText("hello"), ["hello"]);
  assert.deepEqual(splitText("x".repeat(4096)), ["x".repeat(4096)]);
  assert.deepEqual(splitText(""), []);
  assert.deepEqual(splitText(" \n\n "), []);
});

Deno.test("long texts split at paragraph breaks first", () => {
  const a = "a".repeat(30);
  const b = "b".repeat(30);
  assert.deepEqual(splitText(`${a}\nline\n\n${b}`, 50), [`${a}\nline`, b]);
});

Deno.test("then at line breaks, then at spaces", () => {
  assert.deepEqual(splitText("first line here\nsecond line here", 20), [
    "first line here",
    "second line here",
  ]);
  assert.deepEqual(splitText("alpha beta gamma delta", 12), ["alpha beta", "gamma delta"]);
});

Deno.test("a word longer than the limit is cut hard, never inside an emoji's surrogate pair", () => {
  const emoji = "😀".repeat(5); // 5 code points, 10 UTF-16 units
  const chunks = splitText(emoji, 2);
  assert.deepEqual(chunks, ["😀😀", "😀😀", "😀"]);
  for (const chunk of splitText(`x${emoji}`, 3)) assert.equal(chunk.isWellFormed(), true);
});

Deno.test("the limit counts characters (code points), not UTF-16 units", () => {
  const text = "ё😀".repeat(2048); // 4096 code points
  assert.deepEqual(splitText(text), [text]);
  assert.equal(splitText(`${text}!`).length, 2);
});

Deno.test("a ``` fence cut across chunks is closed and reopened with its language", () => {
  const code = Array.from({ length: 12 }, (_, i) => `line ${i}`).join("\n");
  const text = `Intro\n\n\`\`\`bash\n${code}\n\`\`\`\nafter`;
  const chunks = splitText(text, 60);
  assert.equal(chunks.length > 1, true);
  for (const chunk of chunks) {
    assert.equal(codePoints(chunk) <= 60, true, chunk);
    assert.equal((chunk.match(/^```/gm)?.length ?? 0) % 2, 0, `unbalanced fence in: ${chunk}`);
  }
  assert.equal(chunks[1]?.startsWith("```bash\n"), true);
  assert.equal(chunks.join("\n").includes("line 11"), true);
});

Deno.test("fence handling can be turned off for plain text", () => {
  const text = `\`\`\`\n${"word ".repeat(30)}`;
  const chunks = splitText(text, 40, { fences: false });
  assert.equal(chunks.slice(1).some((c) => c.startsWith("```")), false);
});

Deno.test("property: chunks fit, are never blank, keep order, and lose nothing but whitespace", () => {
  const unit = fc.constantFrom("a", "b", " ", "\n", "\n\n", "😀", "ё", "word", "```", "\t");
  fc.assert(
    fc.property(
      fc.array(unit, { maxLength: 200 }).map((u) => u.join("")),
      fc.integer({ min: 1, max: 80 }),
      (text, limit) => {
        const chunks = splitText(text, limit, { fences: false });
        for (const chunk of chunks) {
          assert.equal(codePoints(chunk) <= limit, true);
          assert.notEqual(chunk.trim(), "");
          assert.equal(chunk.isWellFormed(), true);
        }
        assert.equal(chunks.join("").replace(/\s/g, ""), text.replace(/\s/g, ""));
      },
    ),
    { numRuns: 500 },
  );
});

Deno.test("property: with fences on, every chunk still fits the limit", () => {
  const unit = fc.constantFrom("code", " ", "\n", "```", "```js\n", "😀");
  fc.assert(
    fc.property(
      fc.array(unit, { maxLength: 200 }).map((u) => u.join("")),
      fc.integer({ min: 1, max: 80 }),
      (text, limit) => {
        for (const chunk of splitText(text, limit)) {
          assert.equal(codePoints(chunk) <= limit, true, JSON.stringify({ chunk, limit }));
          assert.notEqual(chunk.trim(), "");
        }
      },
    ),
    { numRuns: 500 },
  );
});
