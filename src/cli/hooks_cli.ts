/**
 * Sysadmin commands on the hook store, run from the same binary without the chat
 * (`trueconf-webhook-bot hooks list|revoke|import`). The main dispatcher parses arguments,
 * opens the store, and calls these. Output is text and never contains a token, only hints.
 *
 * @module
 */

import { type HookRecord, type HookStore, maskToken, ReferenceFormatError } from "../hooks/mod.ts";

/** Receives one line of output (no trailing newline). */
export type Out = (line: string) => void;

/**
 * Prints every hook as a table. Returns the exit code (0).
 *
 * @example
 * ```ts
 * import { HookStore } from "../hooks/mod.ts";
 *
 * const kv = await Deno.openKv(":memory:");
 * const store = new HookStore(kv);
 * await hooksList(store, console.log); // 0, after printing "No webhooks."
 * await store.close();
 * kv.close();
 * ```
 */
export async function hooksList(store: HookStore, out: Out): Promise<number> {
  const hooks = await store.listAll();
  if (hooks.length === 0) {
    out("No webhooks.");
    return 0;
  }
  const header = [
    "ID",
    "CHAT",
    "NAME",
    "TOKEN",
    "CREATED BY",
    "CREATED",
    "LAST USED",
    "DELIVERIES",
  ];
  const rows = hooks.map(row);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => width(r[i] ?? ""))));
  const line = (cells: string[]) =>
    cells.map((c, i) => c + " ".repeat((widths[i] ?? 0) - width(c))).join("  ").trimEnd();
  out(line(header));
  for (const r of rows) out(line(r));
  out(`${hooks.length} webhook${hooks.length === 1 ? "" : "s"}.`);
  return 0;
}

/**
 * Revokes a hook by id. Returns 0 when revoked, 1 when there is no such hook.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { HookStore } from "../hooks/mod.ts";
 *
 * const kv = await Deno.openKv(":memory:");
 * const store = new HookStore(kv);
 * const unknown = "1b4e28ba-2fa1-11d2-883f-0016d3cca427";
 * assert.equal(await hooksRevoke(store, unknown, console.log), 1); // "No webhook with id …"
 * await store.close();
 * kv.close();
 * ```
 */
export async function hooksRevoke(store: HookStore, id: string, out: Out): Promise<number> {
  const hook = await store.get(id);
  if (!hook || !(await store.revoke(id))) {
    out(`No webhook with id ${id}. List them with: hooks list`);
    return 1;
  }
  out(`Revoked webhook "${hook.name}" (${maskToken(hook.tokenHint)}) of chat ${hook.chatId}.`);
  out("Running servers stop accepting it within 30 seconds (their lookup cache).");
  return 0;
}

/**
 * Imports the reference Python bot's `webhooks.json`. Prints each imported and skipped
 * record. Returns 0 when the file was read (even if records were skipped), 1 when it is
 * unreadable, not JSON, or not in the reference format.
 *
 * @example
 * ```ts
 * import type { HookStore } from "../hooks/mod.ts";
 *
 * async function importCommand(store: HookStore): Promise<void> {
 *   Deno.exitCode = await importJson(store, "data/webhooks.json", console.log);
 * }
 * ```
 */
export async function importJson(store: HookStore, path: string, out: Out): Promise<number> {
  let json: unknown;
  try {
    json = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    const why = e instanceof SyntaxError ? "it is not valid JSON" : errorMessage(e);
    out(`Cannot import ${path}: ${why}.`);
    return 1;
  }
  let result;
  try {
    result = await store.importReferenceJson(json);
  } catch (e) {
    if (e instanceof ReferenceFormatError) {
      out(`Cannot import ${path}: ${e.message}`);
      return 1;
    }
    throw e;
  }
  for (const h of result.importedHooks) {
    out(`imported  chat ${h.chatId}  "${h.name}"  ${maskToken(h.tokenHint)}  id ${h.id}`);
  }
  for (const s of result.skipped) {
    out(`skipped   #${s.index}  chat ${s.chatId || "?"}  "${s.name}"  ${s.reason}`);
  }
  out(
    `Imported ${result.imported}, skipped ${result.skipped.length}. ` +
      `Existing hook URLs keep working; the JSON file still holds the tokens in plain text, ` +
      `so delete it once the bot runs on the new store.`,
  );
  return 0;
}

function row(h: HookRecord): string[] {
  return [
    h.id,
    h.chatId,
    h.name,
    maskToken(h.tokenHint),
    h.createdBy || "-",
    iso(h.createdAt),
    h.lastUsedAt === null ? "never" : iso(h.lastUsedAt),
    String(h.deliveryCount),
  ];
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

// Code points, so names with non-ASCII letters still line up in a terminal.
function width(s: string): number {
  return [...s].length;
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
