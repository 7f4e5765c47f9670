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
 * - KV's SQLite table keeps every entry in an expiry index too (`expiration_ms`, −1 when it
 *   never expires). An entry with `expireIn` lands at that index's end, shared by the whole
 *   commit; one without lands by its key. So a space with random keys (`posted`,
 *   `posted_key`) costs a third less CPU per write with its `expireIn` than without
 *   (docs/benchmarks.md, "KV per delivery").
 *
 * @module
 */

/** Key spaces in use, first key part → what lives there. */
export const KEY_SPACES = {
  hook: "hook record (JSON), by token hash; the canonical copy",
  hook_id: "token hash, by hook id",
  hook_name: "token hash, by (chat id, case-folded name); enforces unique names",
  hooks_by_chat: "token hash, by (chat id, created at ms, hook id); listing in creation order",
  hook_old_token:
    "a rotated-out token still in its grace period (JSON: hook id, until; own expireIn), by old token hash",
  hook_history: "the last 10 requests of a hook (JSON array, bounded), by hook id",
  hook_change:
    "change feed entry (JSON: hook id, what; expireIn 1 h), by (time-ordered change id); other processes follow it",
  hook_change_head: "id of the newest change feed entry; polled to notice changes made elsewhere",
  hook_change_applied:
    "the change feed head the serving bot has applied; the CLI waits for it to pass its own change",
  outbox: "queued delivery (JSON), by (hook id, seq); per-hook FIFO order by seq",
  outbox_spool: "bytes ≤ 60 KiB, by (hook id, seq, slot, chunk no.); uploads and large part lists",
  outbox_done:
    "final status of a finished delivery (JSON, own expiresAt), by (hook id, delivery id)",
  idem:
    "Idempotency-Key claim or first outcome (JSON, own expiresAt; the first request's payload digest, absent from records stored before it existed), by (hook id, key)",
  call_event:
    "the call job made for an outgoing hook's event (JSON: job id, own expiresAt; expireIn twice the call's max age), by (hook id, event id): an event TrueConf pushes again makes no second call",
  queue_cmd:
    "an operator's queue command (retry/drop, JSON) for the running bot, by (time-ordered command id)",
  queue_cmd_done: "the bot's answer to a queue command (JSON; expireIn 10 min), by command id",
  queue_unclean:
    "set when a shutdown left a worker's post unconfirmed (TrueConf held its answer past the cut): the next start checks each hook's head in the chat's history, as after a crash, and deletes it",
  lease: "the one-active-instance lease (holder, host, pid, started, heartbeat), by role",
  secret_key_check:
    "a fixed text sealed with the store's secret key, and whether any secret is sealed yet (SecretBox.forStore): another key is refused before it seals anything",
  posted:
    "a message a hook posted (JSON: chat, kind, key, and an edited post's TrueConf timestamp; expireIn 30 d), by (hook id, message id); posts without TrueConf's timestamp, edited posts, and every post before session 4",
  posted_t:
    "a message a hook posted (JSON: hook id, chat, kind, key; expireIn 30 d), by (TrueConf's timestamp of the post, message id): what sessions 4–5 wrote, read until they expire",
  posted_b:
    "the posts of one registry commit (JSON: at, packed posts; expireIn 30 d), by (TrueConf's earliest timestamp among them, row id): time-ordered, found through getMessageById",
  posted_key:
    "the message of a sender's key (JSON: message id or null while queued, TrueConf's timestamp of its post; expireIn 30 d), by (hook id, key)",
  posted_group:
    "an alert group's or CI run's message (JSON: message id, state, title; expireIn 30 d), by (hook id, group id)",
} as const;

/** The first part of a key. */
export type KeySpace = keyof typeof KEY_SPACES;

/**
 * The hook record itself, keyed by the SHA-256 of its token. The record lives here (not
 * under its id) so that the hot path, resolving `POST /hook/<token>`, is one KV read.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const tokenHash = "3b7c".padEnd(64, "0"); // hashToken(token) in src/hooks/token.ts
 * assert.deepEqual(hook(tokenHash), ["hook", tokenHash]); // kv.get(hook(tokenHash))
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

/**
 * A rotated-out token during its grace period: old token hash → `{hookId, until}`. A
 * second read on the hot path only for tokens not found as current ones.
 */
export function hookOldToken(oldTokenHash: string): Deno.KvKey {
  return ["hook_old_token", oldTokenHash];
}

/** The bounded request history of one hook (one value, at most 10 entries). */
export function hookHistory(hookId: string): Deno.KvKey {
  return ["hook_history", hookId];
}

/**
 * One entry of the hook change feed. `changeId` is `<ms, 15 digits>-<random>`, the ms bumped
 * past the writer's last one, so a list returns entries in time order (one writer's in the
 * order written) and a reader can resume after the last id it saw.
 */
export function hookChange(changeId: string): Deno.KvKey {
  return ["hook_change", changeId];
}

/** Prefix of the hook change feed. */
export function hookChangePrefix(): Deno.KvKey {
  return ["hook_change"];
}

/** The id of the newest change feed entry: one cheap read tells a poller whether to list. */
export function hookChangeHead(): Deno.KvKey {
  return ["hook_change_head"];
}

/**
 * The change feed head the serving bot has applied (written when it moved): a CLI command's
 * change has reached the running bot once this is at or past the head after it.
 */
export function hookChangeApplied(): Deno.KvKey {
  return ["hook_change_applied"];
}

/**
 * A queued delivery of one hook. `seq` is a number that only grows (microseconds of the
 * enqueue time, bumped past the last one), so a prefix list returns a hook's queue in order.
 */
export function outbox(hookId: string, seq: number): Deno.KvKey {
  return ["outbox", hookId, seq];
}

/** Prefix of every queued delivery (start-up load), or of one hook's when `hookId` is given. */
export function outboxPrefix(hookId?: string): Deno.KvKey {
  return hookId === undefined ? ["outbox"] : ["outbox", hookId];
}

/**
 * One chunk of a spooled blob of a queued delivery. `slot` is the part index for uploaded
 * attachment bytes, or -1 for the part list itself when it is too big for the entry value.
 */
export function outboxSpool(hookId: string, seq: number, slot: number, chunk: number): Deno.KvKey {
  return ["outbox_spool", hookId, seq, slot, chunk];
}

/** Prefix of spool chunks: all (orphan sweep), one delivery's, or one blob's. */
export function outboxSpoolPrefix(hookId?: string, seq?: number, slot?: number): Deno.KvKey {
  const k: Deno.KvKeyPart[] = ["outbox_spool"];
  if (hookId !== undefined) k.push(hookId);
  if (seq !== undefined) k.push(seq);
  if (slot !== undefined) k.push(slot);
  return k;
}

/** Status of a finished (delivered or failed) delivery, kept for status queries. */
export function outboxDone(hookId: string, deliveryId: string): Deno.KvKey {
  return ["outbox_done", hookId, deliveryId];
}

/** An operator's queue command (`hooks queue retry|drop`), waiting for the running bot. */
export function queueCommand(commandId?: string): Deno.KvKey {
  return commandId === undefined ? ["queue_cmd"] : ["queue_cmd", commandId];
}

/** The running bot's answer to a queue command. */
export function queueCommandDone(commandId: string): Deno.KvKey {
  return ["queue_cmd_done", commandId];
}

/**
 * An `Idempotency-Key` of one hook: a claim while processing, then the first outcome; both with
 * the first request's payload digest (records stored before it have none).
 */
export function idempotency(hookId: string, key: string): Deno.KvKey {
  return ["idem", hookId, key];
}

/** The call job an outgoing hook made for one event (a re-pushed event finds it). */
export function callEvent(hookId: string, eventId: string): Deno.KvKey {
  return ["call_event", hookId, eventId];
}

/** The mark a shutdown leaves when it cut a post TrueConf may have carried out (see KEY_SPACES). */
export function queueUnclean(): Deno.KvKey {
  return ["queue_unclean"];
}

/**
 * The lease of a role (`"serve"`): which process may act on this store. See
 * `src/storage/lease.ts`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(lease("serve"), ["lease", "serve"]);
 * ```
 */
export function lease(role: string): Deno.KvKey {
  return ["lease", role];
}

/**
 * The store's key check: a fixed text sealed with the key its secrets are sealed with.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(secretKeyCheck(), ["secret_key_check"]);
 * ```
 */
export function secretKeyCheck(): Deno.KvKey {
  return ["secret_key_check"];
}

/**
 * A message a hook posted, so `PATCH`/`DELETE /hook/<token>/messages/<id>` accept only the
 * hook's own messages (src/messages/registry.ts).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(posted("h1", "m1"), ["posted", "h1", "m1"]);
 * ```
 */
export function posted(hookId: string, messageId: string): Deno.KvKey {
  return ["posted", hookId, messageId];
}

/**
 * Legacy (sessions 4–5): a message a hook posted, by TrueConf's timestamp of the post and its id,
 * the hook id in the value, one row per post. Posts are now packed ({@link postedBatch}); these
 * rows are only read and deleted until they expire, 30 days after the upgrade.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(postedAt(1735314170572, "m1"), ["posted_t", 1735314170572, "m1"]);
 * ```
 */
export function postedAt(timestamp: number, messageId: string): Deno.KvKey {
  return ["posted_t", timestamp, messageId];
}

/**
 * One packed row of the message registry: the posts of one commit whose TrueConf timestamps lie
 * within a bounded span, keyed by the earliest of them and a row id unique to the writing
 * process (src/messages/_packed_posts.ts). Time-ordered like {@link postedAt}, but one row per
 * commit instead of one per post; a lookup by id lists the rows that may hold the timestamp
 * `getMessageById` answers ({@link postedBatchRange}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(postedBatch(1735314170572, "a1b2c3d4.7"), ["posted_b", 1735314170572, "a1b2c3d4.7"]);
 * ```
 */
export function postedBatch(minTimestamp: number, rowId: string): Deno.KvKey {
  return ["posted_b", minTimestamp, rowId];
}

/**
 * The packed rows whose earliest timestamp lies in `[from, to]` (whole milliseconds, as
 * TrueConf's timestamps are), for a reverse `list`: newest first.
 */
export function postedBatchRange(from: number, to: number): Deno.KvListSelector {
  return { start: ["posted_b", from], end: ["posted_b", Math.floor(to) + 1] };
}

/** The message a sender's key names within one hook. */
export function postedKey(hookId: string, key: string): Deno.KvKey {
  return ["posted_key", hookId, key];
}

/** The message of an alert group or CI run within one hook. */
export function postedGroup(hookId: string, groupId: string): Deno.KvKey {
  return ["posted_group", hookId, groupId];
}

/** How long a posted-message record (and its key and group records) is kept: 30 days. */
export const POSTED_TTL_MS = 30 * 86_400_000;

/** How long a change feed entry is kept (other processes follow the feed within seconds). */
export const HOOK_CHANGE_TTL_MS = 3_600_000;

/**
 * Key spaces whose entries belong to the running process, not to the data: never put into a
 * backup. The lease names the instance holding the store (and `hook_change_applied` how far it
 * followed the change feed); an operator's queue command and the
 * bot's answer to it were a conversation with the bot of that moment, and a restored command
 * would run again.
 */
export const PROCESS_SPACES: ReadonlySet<string> = new Set([
  "lease",
  "hook_change_applied",
  "queue_cmd",
  "queue_cmd_done",
]);

/**
 * The `expireIn` an entry gets back when a backup is restored: KV cannot read an entry's
 * expiry, so each key space's rule is here, beside its layout. `null`: the entry never
 * expires; `0`: it has expired already and is not restored.
 *
 * - `outbox_done`, `idem`, `call_event`: their own `expiresAt`;
 * - `posted`, `posted_t`, `posted_b`: 30 days from when it was posted (`at`; a packed row's
 *   is its commit's); `posted_key` and
 *   `posted_group` carry no time, so 30 days from the restore;
 * - `hook_change`: an hour from the restore;
 * - everything else never expires (`hook_old_token` is one per hook at most, and the hook
 *   record's `rotation.until` decides whether the old token still works).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const now = Date.UTC(2026, 0, 10);
 * assert.equal(restoreExpireIn(["outbox_done", "h", "d"], { expiresAt: now + 5_000 }, now), 5_000);
 * assert.equal(restoreExpireIn(["idem", "h", "k"], { expiresAt: now - 1 }, now), 0);
 * assert.equal(restoreExpireIn(["hook", "abc"], { name: "x" }, now), null);
 * const day = 86_400_000;
 * assert.equal(restoreExpireIn(["posted_t", now - day, "m1"], { hook: "h", at: now - day }, now), 29 * day);
 * ```
 */
export function restoreExpireIn(key: Deno.KvKey, value: unknown, now: number): number | null {
  const field = (name: string): number | null => {
    const v = value !== null && typeof value === "object"
      ? (value as Record<string, unknown>)[name]
      : undefined;
    return typeof v === "number" && Number.isFinite(v) ? v : null;
  };
  const left = (until: number) => Math.max(0, Math.round(until - now));
  switch (key[0]) {
    case "outbox_done":
    case "idem":
    case "call_event": {
      const expiresAt = field("expiresAt");
      return expiresAt === null ? null : left(expiresAt);
    }
    case "posted":
    case "posted_t":
    case "posted_b": {
      const at = field("at");
      return at === null ? POSTED_TTL_MS : left(at + POSTED_TTL_MS);
    }
    case "posted_key":
    case "posted_group":
      return POSTED_TTL_MS;
    case "hook_change":
      return HOOK_CHANGE_TTL_MS;
    default:
      return null;
  }
}
