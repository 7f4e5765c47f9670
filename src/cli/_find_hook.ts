/**
 * A hook found by what the operator typed at the shell: its id, or its name when one hook has
 * that name (compared as the store compares names: case and Unicode form ignored). The one
 * reading of a hook reference for every `hooks` command that takes a TARGET (`info`, `pause`,
 * `resume`, `revoke`, `rename`, `rotate`, `expire`, `verify`, `allow`) and for
 * `hooks queue [drop] --hook`. A name several chats use picks none: the answer is the
 * operator's command once per hook, with its id in place of the name.
 *
 * @module
 */
import {
  foldHookName,
  type HookRecord,
  type HookStore,
  isHookId,
  looksLikeToken,
} from "../hooks/mod.ts";

/** Why no hook was picked: the lines to print (the first without `error: `) and the exit code. */
export interface NoHook {
  /** 1: no hook has that id or name; 2: the name is several hooks' (a bad command line). */
  exitCode: 1 | 2;
  lines: string[];
}

/** The command as the operator typed it, and where in it the hook reference is. */
export interface TypedCommand {
  /** Every word, starting with `hooks`. */
  words: readonly string[];
  /** The index in {@link words} of the hook reference (its id or name). */
  at: number;
}

/**
 * The hook that `command.words[command.at]` names: the hook with that id (an id wins over a
 * name), else the one hook with that name across all chats; or why none was picked.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { HookRecord } from "../hooks/mod.ts";
 *
 * const hooks = [
 *   { id: "h1", name: "Deploys", chatId: "ops" },
 *   { id: "h2", name: "deploys", chatId: "dev" },
 *   { id: "h3", name: "CI", chatId: "ops" },
 * ] as HookRecord[];
 * const store = { get: async (id: string) => hooks.find((h) => h.id === id) ?? null, listAll: async () => hooks };
 * assert.equal((await findHook(store, { words: ["hooks", "pause", "ci"], at: 2 }) as HookRecord).id, "h3");
 * assert.deepEqual(await findHook(store, { words: ["hooks", "revoke", "deploys"], at: 2 }), {
 *   exitCode: 2,
 *   lines: [
 *     '2 webhooks are named "deploys" (ignoring case), so none was picked; name one by its id:',
 *     '  hooks revoke h2   # "deploys" in chat dev',
 *     '  hooks revoke h1   # "Deploys" in chat ops',
 *   ],
 * });
 * ```
 */
export async function findHook(
  store: Pick<HookStore, "get" | "listAll">,
  command: TypedCommand,
): Promise<HookRecord | NoHook> {
  const typed = command.words[command.at] ?? "";
  // The id first, by key: the common case reads one record, not the whole store.
  const byId = await store.get(typed);
  if (byId) return byId;
  const folded = foldHookName(typed);
  const named = folded === ""
    ? []
    : (await store.listAll()).filter((h) => foldHookName(h.name) === folded);
  if (named.length === 1) return named[0]!;
  if (named.length > 1) {
    const retyped = (id: string) =>
      command.words.map((w, i) => shellWord(i === command.at ? id : w)).join(" ");
    return {
      exitCode: 2,
      lines: [
        `${named.length} webhooks are named "${typed}" (ignoring case), so none was picked; name one by its id:`,
        // A shell comment after each: the whole line can be pasted as it is.
        ...named.sort((a, b) => a.chatId.localeCompare(b.chatId)).map((h) =>
          `  ${retyped(h.id)}   # "${h.name}" in chat ${h.chatId}`
        ),
      ],
    };
  }
  // A hook id's shape (a UUID) is a hook gone, not a token: said as any other word.
  if (typed.includes("/hook/") || (looksLikeToken(typed) && !isHookId(typed))) {
    // Not echoed: the operator's scrollback need not hold a token.
    return {
      exitCode: 1,
      lines: [
        "no webhook has that id or name. A URL's token is stored only as a hash: find the hook's id in hooks list by the token's first and last four characters (TOKEN column).",
      ],
    };
  }
  return {
    exitCode: 1,
    lines: [`no webhook with id or name "${typed}". List them with: hooks list`],
  };
}

/**
 * Prints why no hook was picked on `err` and returns the exit code.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const err: string[] = [];
 * assert.equal(refuse((l) => void err.push(l), { exitCode: 1, lines: ["no webhook"] }), 1);
 * assert.deepEqual(err, ["error: no webhook"]);
 * ```
 */
export function refuse(err: (line: string) => void, no: NoHook): number {
  no.lines.forEach((l, i) => err(i === 0 ? `error: ${l}` : l));
  return no.exitCode;
}

/** A word as a POSIX shell reads it back: bare when safe, else in single quotes. */
function shellWord(word: string): string {
  return /^[A-Za-z0-9_.,:\/@+=%-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}
