/**
 * JSON values one after another in one body, as log shippers send a batch: NDJSON (one value
 * per line: Fluent Bit `format json_lines`, Vector's `newline_delimited` framing, Fluentd) or
 * concatenated with nothing between them (Fluent Bit `format json_stream`). Splits the body
 * into the text of each top-level object or array, without parsing them.
 *
 * @module
 */

/** The texts of the values, or where the body stops being objects and arrays one after another. */
export type JsonStreamSplit =
  | { readonly values: string[] }
  | { readonly at: number };

const OPEN_OBJECT = 0x7b; // {
const CLOSE_OBJECT = 0x7d; // }
const OPEN_ARRAY = 0x5b; // [
const CLOSE_ARRAY = 0x5d; // ]
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Splits `text` into its top-level JSON objects and arrays. Between them only whitespace (and
 * RFC 7464's record separator, U+001E) may stand; strings are skipped whole, so a `}` or a line
 * break inside one does not end a value. Brackets are only counted, not matched: each value is
 * parsed afterwards, which finds any other defect.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.deepEqual(splitJsonStream('{"a":1}\n{"b":"}"}{"c":[2]}'), {
 *   values: ['{"a":1}', '{"b":"}"}', '{"c":[2]}'],
 * });
 * assert.deepEqual(splitJsonStream('{"a":1} x'), { at: 8 });
 * ```
 */
export function splitJsonStream(text: string): JsonStreamSplit {
  const values: string[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const first = text.charCodeAt(i);
    // JSON's whitespace (space, tab, LF, CR) and RFC 7464's record separator; any other
    // control character is no JSON.
    if (first === 0x20 || first === 0x0a || first === 0x0d || first === 0x09 || first === 0x1e) {
      i++;
      continue;
    }
    if (first !== OPEN_OBJECT && first !== OPEN_ARRAY) return { at: i };
    const start = i;
    let depth = 0;
    for (; i < n; i++) {
      const ch = text.charCodeAt(i);
      if (ch === QUOTE) {
        // Skip the string, escapes included.
        for (i++; i < n; i++) {
          const c = text.charCodeAt(i);
          if (c === BACKSLASH) i++;
          else if (c === QUOTE) break;
        }
      } else if (ch === OPEN_OBJECT || ch === OPEN_ARRAY) {
        depth++;
      } else if (ch === CLOSE_OBJECT || ch === CLOSE_ARRAY) {
        if (--depth === 0) {
          i++;
          break;
        }
      }
    }
    if (depth !== 0) return { at: n };
    values.push(text.slice(start, i));
  }
  return { values };
}
