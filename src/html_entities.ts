/**
 * HTML character references, decoded one way for every text that carries them: what TrueConf
 * clients write into a chat message (commands, outgoing webhook events) and the HTML of other
 * services' cards (Teams, Google Chat, Apprise's XML).
 *
 * @module
 */

// The common five and `&nbsp;` (read in any letter case, as browsers do for these), then the
// punctuation rich-text editors write as references: arrows (`/webhook_rename a &rarr; b`),
// dashes, ellipsis, typographic quotes (case-sensitive: `&rArr;` is not `&rarr;`).
const ENTITIES: Readonly<Record<string, string>> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  nbsp: " ",
};
const PUNCTUATION: Readonly<Record<string, string>> = {
  rarr: "→",
  larr: "←",
  rArr: "⇒",
  mdash: "—",
  ndash: "–",
  hellip: "…",
  laquo: "«",
  raquo: "»",
  ldquo: "“",
  rdquo: "”",
  lsquo: "‘",
  rsquo: "’",
  bdquo: "„",
  middot: "·",
  bull: "•",
};

/**
 * Decodes named (the common five, `&nbsp;`, and arrows, dashes and quotes) and numeric character
 * references; anything else (an unknown name, a code point out of range, `&#0;`) stays as
 * written.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(decodeEntities("R&amp;D &lt;3 &#x1F680;"), "R&D <3 🚀");
 * assert.equal(decodeEntities("&bogus; &#x110000;"), "&bogus; &#x110000;");
 * ```
 */
export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]{1,6}|#\d{1,7}|[a-z]{2,6});/gi, (whole, ref: string) => {
    if (ref[0] === "#") {
      const code = ref[1] === "x" || ref[1] === "X"
        ? parseInt(ref.slice(2), 16)
        : parseInt(ref.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return ENTITIES[ref.toLowerCase()] ?? PUNCTUATION[ref] ?? whole;
  });
}
