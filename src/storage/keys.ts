/**
 * Every Deno KV key layout of the application, in one place.
 *
 * Rules for adding keys (the durable delivery queue will add outbox, idempotency and spool
 * keys here):
 * - The first part is a unique snake_case string naming the key space; add it to
 *   {@link KEY_SPACES} so the layout stays reviewable at a glance.
 * - KV lists by key-part prefix, not string prefix: `["hook"]` never matches
 *   `["hook_id", …]`, so short space names are safe.
 * - Put a component you list by (chat id, time) before the unique tail (id), so `list`
 *   returns entries in the order you want without sorting.
 * - Keys are at most 2 048 bytes; values at most 65 536 bytes; an atomic takes at most 100
 *   checks and 1 000 mutations, and `getMany` at most 10 keys.
 *
 * @module
 */

/** Key spaces in use, first key part → what lives there. */
export const KEY_SPACES = {
  hook: "hook record (JSON), by token hash; the canonical copy",
  hook_id: "token hash, by hook id",
  hook_name: "token hash, by (chat id, case-folded name); enforces unique names",
  hooks_by_chat: "token hash, by (chat id, created at ms, hook id); listing in creation order",
} as const;

/** The first part of a key. */
export type KeySpace = keyof typeof KEY_SPACES;

/**
 * The hook record itself, keyed by the SHA-256 of its token. The record lives here (not
 * under its id) so that the hot path, resolving `POST /hook/<token>`, is one KV read.
 *
 * @example
 * ```ts
 * await kv.get(keys.hook(await hashToken(token)));
 * ```
 */
export function hook(tokenHash: string): Deno.KvKey {
  return ["hook", tokenHash];
}

/** Prefix of every hook record (for sysadmin listing). */
export function hookPrefix(): Deno.KvKey {
  return ["hook"];
}

/** Hook id → token hash, so records can be found by id (revoke, usage flush). */
export function hookId(id: string): Deno.KvKey {
  return ["hook_id", id];
}

/**
 * (chat, folded name) → token hash. Created with `check(versionstamp: null)` in the same
 * atomic as the record, which is what makes names unique per chat under concurrency.
 */
export function hookName(chatId: string, foldedName: string): Deno.KvKey {
  return ["hook_name", chatId, foldedName];
}

/** One chat's hooks in creation order: (chat, created ms, id) → token hash. */
export function hookByChat(chatId: string, createdAt: number, id: string): Deno.KvKey {
  return ["hooks_by_chat", chatId, createdAt, id];
}

/** Prefix listing {@link hookByChat} entries of one chat. */
export function hooksByChatPrefix(chatId: string): Deno.KvKey {
  return ["hooks_by_chat", chatId];
}
