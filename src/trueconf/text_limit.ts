/**
 * TrueConf's limit on one text message or caption: 4096 **visible** characters. The official
 * Python SDK checks it before sending (`visible_len` in `trueconf/utils/split_text.py`, raising
 * `TextMessageTooLongError` / `FileCaptionTooLongError` in `Bot.send_message`,
 * `Bot.edit_message`, `send_document`, `send_photo`; SDK 1.2.0+), so no source shows what a
 * server does with more (openclaw says it truncates; protocol reference §8, §11.16). Markup
 * is not counted; a link counts as its text, a space and its URL (TrueConf shows both).
 *
 * Raw code points are never fewer than visible characters, which is why splitting at 4096
 * code points (delivery's `splitText`) always fits; these helpers are for text that grows
 * after the split (mentions, appended links or notes) and for single messages that cannot
 * be split (a message that will be edited).
 *
 * @module
 */

/** Most visible characters in one text message or caption. */
export const TEXT_LIMIT = 4096;

const ANCHOR = /^<a(\s[^>]*)>([\s\S]*?)<\/a>/i;
const HREF = /href\s*=\s*["']([^"']+)["']/i;
const TAG = /^<\/?(quote|br|[biusa])(\s[^>]*)?\s*\/?>/i;
const MD_LINK = /^\[([^\]]+)\]\(([^)]+)\)/;
const ALNUM = /[\p{L}\p{N}]/u;

/**
 * Visible characters of a text as the SDK counts them (`visible_len`): markup is not
 * counted, a link counts as its text, a space and its URL, anything else one per code point.
 * Parse-mode blind, as the SDK's count is.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(visibleLength("**hi** [a](http://x)"), "hi a http://x".length);
 * assert.equal(visibleLength('<b>hi</b> <a href="http://x">a</a>'), "hi a http://x".length);
 * assert.equal(visibleLength("snake_case_name"), 15);
 * ```
 */
export function visibleLength(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length;) {
    const c = text[i]!;
    if (c === "<") {
      const rest = text.slice(i, i + 8_200);
      const a = ANCHOR.exec(rest);
      if (a) {
        const href = HREF.exec(a[1] ?? "")?.[1] ?? "";
        n += visibleLength(a[2] ?? "") + (href ? 1 + [...href].length : 0);
        i += a[0].length;
        continue;
      }
      const t = TAG.exec(rest);
      if (t) {
        i += t[0].length;
        continue;
      }
    } else if (c === "[") {
      const m = MD_LINK.exec(text.slice(i, i + 8_200));
      if (m) {
        n += visibleLength(m[1]!) + 1 + [...m[2]!].length;
        i += m[0].length;
        continue;
      }
    } else if (c === "*" || c === "_" || c === "~") {
      // As the SDK's tokenizer: `__` and single markers inside a word (snake_case) are text;
      // elsewhere markers, single or doubled.
      const underlines = c === "_" && text[i + 1] === "_";
      const width = underlines || text[i + 1] === c ? 2 : 1;
      const next = text[i + (underlines ? 2 : 1)] ?? "";
      const inWord = ALNUM.test(text[i - 1] ?? "") && ALNUM.test(next);
      if (inWord) n += underlines ? 2 : 1;
      i += inWord && !underlines ? 1 : width;
      continue;
    } else if (c === ">" && (i === 0 || text[i - 1] === "\n")) {
      i++;
      continue;
    }
    const cp = text.codePointAt(i)!;
    i += cp > 0xffff ? 2 : 1;
    n++;
  }
  return n;
}

/**
 * `text` followed by `suffix`, cut so that together they show at most `limit` characters:
 * unchanged when they fit, else `text` is cut (never `suffix`) and ends with "…". For a
 * single message that must fit (an edit can change only one message).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(fitText("short", " ✅"), "short ✅");
 * assert.equal(fitText("abcdefghij", " ✅", 8), "abcde… ✅");
 * ```
 */
export function fitText(text: string, suffix = "", limit = TEXT_LIMIT): string {
  const whole = text + suffix;
  // UTF-16 units are never fewer than visible characters: most texts need no count.
  if (whole.length <= limit || visibleLength(whole) <= limit) return whole;
  const room = limit - visibleLength(suffix) - 1;
  if (room < 0) return fitText(suffix, "", limit);
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (visibleLength(text.slice(0, mid)) <= room) lo = mid;
    else hi = mid - 1;
  }
  const c = text.charCodeAt(lo - 1);
  if (c >= 0xd800 && c <= 0xdbff) lo--; // never half of a surrogate pair
  return text.slice(0, lo).trimEnd() + "…" + suffix;
}
