/**
 * "Did you mean …?": how far one word is from another, for the answers to a mistyped setting
 * name (`src/config.ts`), a misspelt JSON field (`src/ingest/formats/_field_lookalike.ts`)
 * and a mistyped chat command (`src/hooks/commands.ts`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(editDistance("webhook_crate", "webhook_create"), 1);
 * assert.equal(editDistance("lsit", "list"), 2);
 * ```
 *
 * @module
 */

/**
 * Levenshtein distance: the fewest single-character insertions, deletions and substitutions
 * that turn `a` into `b` (UTF-16 units; the words compared are short).
 */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}
