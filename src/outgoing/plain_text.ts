/**
 * The plain text a reader sees of a TrueConf message (issue 12: `message.text`, `args` and a
 * trigger's first word are read from it): the markup of its `parseMode` rendered away, the
 * way a chat client shows it, mentions as `@Display Name`.
 *
 * TrueConf's Markdown (protocol reference §5.2; python-trueconf-bot 1.5
 * `trueconf/utils/formatting/decorations.py`): `**bold**`/`__bold__`, `*italic*`/`_italic_`,
 * `~~strike~~`, `` `code` ``, `[text](url)`, `>` quotes, and backslash escapes of the
 * characters the SDK's `MarkdownDecoration.escape` escapes. HTML: `<b> <i> <s> <u> <a href>`,
 * `<br>`, paragraphs, entities.
 *
 * @module
 */

import { decodeEntities } from "../html_entities.ts";

const HTML_MENTION = /<a\b[^>]*?\bhref\s*=\s*["']\s*trueconf:[^"']*["'][^>]*>([\s\S]*?)<\/a>/gi;
const MD_MENTION = /\[([^\]]*)\]\(\s*trueconf:[^)\s]*\s*\)/gi;
/** `[text](url)` with one level of parentheses inside the URL. */
const MD_LINK = /\[([^\]\n]*)\]\(\s*((?:[^()\s]|\([^()\s]*\))*)\s*\)/g;
/** Characters a backslash escapes (the SDK's `MarkdownDecoration.PATTERN`). */
const MD_ESCAPE = /\\([_*[\]()~`>#+\-=|{}.!\\])/g;
/** Placeholders for escaped characters while markup is removed (private-use code points). */
const HELD = /\uE000(\d+)\uE001/g;

/**
 * The text a reader sees: in HTML, mention anchors become `@Display Name`, line breaks and
 * paragraphs become new lines, other tags go and entities are decoded; in Markdown, mention
 * links become `@Display Name`, links their text, and emphasis, strike, code and quote marks
 * go (escaped characters stay, without their backslash). Text mode is returned as sent.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const html = '<a href="trueconf:bot@srv">Webhook Bot</a> /deploy <b>staging</b> &amp; prod';
 * assert.equal(plainText(html, "html"), "@Webhook Bot /deploy staging & prod");
 * assert.equal(plainText("hi [Alice](trueconf:alice@srv)", "markdown"), "hi @Alice");
 * assert.equal(plainText("/deploy **staging** to _eu\\_west_", "markdown"), "/deploy staging to eu_west");
 * assert.equal(plainText("/deploy **staging**", "text"), "/deploy **staging**");
 * ```
 */
export function plainText(text: string, parseMode: string): string {
  if (parseMode === "html") {
    const s = text
      .replace(HTML_MENTION, (_all, name: string) => `@${name.replace(/<[^>]*>/g, "").trim()}`)
      .replace(/<br\s*\/?>/gi, "\n")
      .replace(/<\/p>\s*<p\b[^>]*>/gi, "\n")
      .replace(/<[^>]*>/g, "");
    return decodeEntities(s);
  }
  if (parseMode === "markdown") return markdownText(text);
  return text;
}

/** Markdown → what a reader sees (see {@link plainText}). */
function markdownText(text: string): string {
  const held: string[] = [];
  const hold = (s: string) => `\uE000${held.push(s) - 1}\uE001`;
  let s = text
    // Escaped characters are text: set aside so no rule below reads them as markup.
    .replace(MD_ESCAPE, (_all, ch: string) => hold(ch))
    // Code is shown as written, markup characters and all.
    .replace(/```[^\n]*\n([\s\S]*?)\n?```/g, (_all, code: string) => hold(code))
    .replace(/`([^`\n]+)`/g, (_all, code: string) => hold(code))
    .replace(MD_MENTION, (_all, name: string) => `@${name}`)
    .replace(MD_LINK, (_all, label: string) => label)
    .replace(/^[ \t]{0,3}>[ \t]?/gm, "");
  // Emphasis, innermost first; `_` only at word edges (snake_case stays as written).
  let before: string;
  do {
    before = s;
    s = s
      .replace(/\*\*(?=\S)([\s\S]*?\S)\*\*/g, "$1")
      .replace(/(^|[^\p{L}\p{N}_])__(?=\S)([\s\S]*?\S)__(?![\p{L}\p{N}_])/gu, "$1$2")
      .replace(/~~(?=\S)([\s\S]*?\S)~~/g, "$1")
      .replace(/\*(?=[^\s*])([^*\n]*?[^\s*])\*/g, "$1")
      .replace(/(^|[^\p{L}\p{N}_])_(?=[^\s_])([^_\n]*?[^\s_])_(?![\p{L}\p{N}_])/gu, "$1$2");
  } while (s !== before);
  return s.replace(HELD, (_all, i: string) => held[Number(i)] ?? "");
}
