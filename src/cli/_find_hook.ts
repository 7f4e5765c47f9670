/**
 * A hook found by what the operator typed at the shell: its id, or its name when one hook has
 * that name (compared as the store compares names: case and Unicode form ignored). The one
 * reading of a hook reference for `hooks info ID|NAME` and `hooks queue [drop] --hook ID|NAME`.
 *
 * @module
 */
import { foldHookName, type HookRecord } from "../hooks/mod.ts";

/**
 * The hook `typed` names among `hooks`, or the sentence that says why none was picked.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { HookRecord } from "../hooks/mod.ts";
 *
 * const hooks = [{ id: "h1", name: "Deploys", chatId: "ops" }] as HookRecord[];
 * assert.equal((findHook(hooks, "deploys") as HookRecord).id, "h1");
 * assert.equal(findHook(hooks, "nope"), 'no webhook with id or name "nope". List them with: hooks list');
 * ```
 */
export function findHook(hooks: readonly HookRecord[], typed: string): HookRecord | string {
  const byId = hooks.find((h) => h.id === typed);
  if (byId) return byId;
  const folded = foldHookName(typed);
  const named = hooks.filter((h) => foldHookName(h.name) === folded);
  if (named.length === 1) return named[0]!;
  if (named.length > 1) {
    return `${named.length} hooks are named "${typed}" (ignoring case): ${
      named.map((h) => `${h.id} in chat ${h.chatId}`).join(", ")
    }; give the hook id instead`;
  }
  return `no webhook with id or name "${typed}". List them with: hooks list`;
}
