/**
 * The text of a header value as its sender meant it. Header values are bytes, which the HTTP
 * layer hands over as Latin-1 characters (one per byte, as `fetch` does): UTF-8 sent raw
 * (`curl -H 'Title: Привет'`, Go and Python clients) arrives as `ÐÑÐ¸Ð²ÐµÑ`. Careful clients
 * send non-ASCII as MIME encoded words instead (RFC 2047, `=?UTF-8?B?0J/RgNC40LLQtdGC?=`). ntfy
 * reads both (Go keeps the bytes; server/util.go `maybeDecodeHeader`), so its senders use both.
 *
 * @module
 */

/** Strict UTF-8: a Latin-1 value that is not UTF-8 stays as it is. */
const UTF8 = new TextDecoder("utf-8", { fatal: true });
const ENCODED_WORD = /=\?([^?\s*]+)(?:\*[^?\s]*)?\?([bBqQ])\?([^?\s]*)\?=/g;

/**
 * `value` with raw UTF-8 bytes and RFC 2047 encoded words decoded; anything else unchanged.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { headerText } from "./_header_text.ts";
 *
 * assert.equal(headerText("=?UTF-8?B?0J/RgNC40LLQtdGC?="), "Привет");
 * assert.equal(headerText("=?utf-8?q?caf=C3=A9_ouvert?="), "café ouvert");
 * const raw = String.fromCharCode(...new TextEncoder().encode("Привет"));
 * assert.equal(headerText(raw), "Привет");
 * assert.equal(headerText("Café"), "Café"); // Latin-1 that is no UTF-8
 * ```
 */
export function headerText(value: string): string {
  let text = value;
  // Only ASCII and Latin-1 characters: the bytes as received (nothing above U+00FF).
  if (/[\u0080-\u00ff]/.test(text) && !/[\u0100-\u{10ffff}]/u.test(text)) {
    try {
      text = UTF8.decode(Uint8Array.from(text, (c) => c.charCodeAt(0)));
    } catch { /* Latin-1 text, not UTF-8 bytes */ }
  }
  if (!text.includes("=?")) return text;
  // Whitespace between two encoded words is not part of the text (RFC 2047 section 6.2).
  return text.replace(/\?=\s+=\?/g, "?==?").replace(ENCODED_WORD, decodeWord);
}

function decodeWord(word: string, charset: string, encoding: string, data: string): string {
  try {
    const bytes = encoding.toLowerCase() === "b" ? Uint8Array.fromBase64(data) : qBytes(data);
    return new TextDecoder(charset, { fatal: true }).decode(bytes);
  } catch {
    return word; // an unknown charset or broken data: shown as sent
  }
}

/** RFC 2047 "Q": `_` is a space, `=XX` a byte. */
function qBytes(data: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < data.length; i++) {
    const c = data[i]!;
    if (c === "_") out.push(0x20);
    else if (c === "=" && /^[0-9A-Fa-f]{2}$/.test(data.slice(i + 1, i + 3))) {
      out.push(parseInt(data.slice(i + 1, i + 3), 16));
      i += 2;
    } else out.push(c.charCodeAt(0) & 0xff);
  }
  return Uint8Array.from(out);
}
