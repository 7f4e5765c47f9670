import assert from "node:assert/strict";
import {
  bold,
  code,
  escapeHtml,
  escapeMarkdown,
  limitText,
  mdLink,
  oneLine,
  optLink,
  plain,
  safeUrl,
  truncate,
} from "../../../src/ingest/formats/_markup.ts";

Deno.test("escapeMarkdown escapes every markup character", () => {
  assert.equal(
    escapeMarkdown("*b* _i_ ~~s~~ [t](u) `c` \\"),
    "\\*b\\* \\_i\\_ \\~\\~s\\~\\~ \\[t\\]\\(u\\) \\`c\\` \\\\",
  );
  assert.equal(escapeMarkdown("plain text 123"), "plain text 123");
});

Deno.test("escapeHtml escapes tags, entities and quotes", () => {
  assert.equal(escapeHtml(`<a href="x">&</a>`), "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;");
});

Deno.test("truncate counts code points and never splits a surrogate pair", () => {
  assert.equal(truncate("abcdef", 6), "abcdef");
  assert.equal(truncate("abcdefg", 6), "abcde…");
  assert.equal(truncate("🔥🔥🔥", 3), "🔥🔥🔥");
  assert.equal(truncate("🔥🔥🔥🔥", 3), "🔥🔥…");
  assert.equal(truncate("abc", 0), "");
  assert.equal(truncate("", 5), "");
});

Deno.test("oneLine and plain flatten line breaks so a value cannot add lines", () => {
  assert.equal(oneLine(" a\n\r\tb  c "), "a b c");
  assert.equal(plain("x\n**y**"), "x \\*\\*y\\*\\*");
});

Deno.test("bold and code wrap escaped text; empty stays empty", () => {
  assert.equal(bold("a*b"), "**a\\*b**");
  assert.equal(bold("  "), "");
  assert.equal(code("feat/x_y"), "`feat/x\\_y`");
});

Deno.test("only http(s) URLs become links; others leave the escaped label", () => {
  assert.equal(mdLink("site", "https://example.com/a"), "[site](https://example.com/a)");
  assert.equal(mdLink("x", "javascript:alert(1)"), "x");
  assert.equal(mdLink("x", "data:text/html,hi"), "x");
  assert.equal(mdLink("x", "/relative"), "x");
  assert.equal(mdLink("[x](y)", 42), "\\[x\\]\\(y\\)");
  assert.equal(optLink("x", "ftp://h/"), undefined);
  assert.equal(optLink("x", "http://h/"), "[x](http://h/)");
});

Deno.test("safeUrl percent-encodes characters that would end a Markdown link early", () => {
  assert.equal(safeUrl("https://e.com/a(b)?q=x y"), "https://e.com/a%28b%29?q=x%20y");
  assert.equal(safeUrl("https://e.com/" + "a".repeat(3000)), undefined);
  assert.equal(safeUrl("https://[::1]:8080/p"), "https://[::1]:8080/p");
});

Deno.test("limitText cuts at a line boundary and says so", () => {
  const text = Array.from({ length: 100 }, (_, i) => `line ${i} [link](https://e.com/${i})`).join(
    "\n",
  );
  const cut = limitText(text, 500);
  assert.ok(cut.length <= 500);
  assert.ok(cut.endsWith("\n… (message shortened)"));
  for (const line of cut.split("\n").slice(0, -1)) {
    assert.match(line, /^line \d+ \[link\]\(https:\/\/e\.com\/\d+\)$/);
  }
  assert.equal(limitText("short", 500), "short");
});
