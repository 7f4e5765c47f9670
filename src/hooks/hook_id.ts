/**
 * What a hook id looks like: the store mints them with `crypto.randomUUID()` (store.ts), and a
 * reference bot's UUID is kept as the hook's id on import, so one pattern answers both "is this
 * word an id?" (the CLI's TARGET) and "can this id be kept?" (reference_import.ts).
 *
 * @module
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Whether `word` has a hook id's shape (a UUID, either case).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.ok(isHookId(crypto.randomUUID()));
 * assert.ok(!isHookId("deploys"));
 * ```
 */
export function isHookId(word: string): boolean {
  return UUID.test(word);
}
