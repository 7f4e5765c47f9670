/**
 * Parsing the reference Python bot's `data/webhooks.json` for migration. Pure: validates and
 * normalizes records; writing them is {@link HookStore.importReferenceJson}'s job.
 *
 * @module
 */

import type { z as Zod } from "zod";
import { HOOK_NAME_MAX_LENGTH, type HookNameError, validateHookName } from "./hook_name.ts";

const NAME_PROBLEMS: Record<HookNameError, string> = {
  empty: "empty",
  too_long: `longer than ${HOOK_NAME_MAX_LENGTH} characters`,
  control_characters: "contains control characters",
};
import { looksLikeToken } from "./token.ts";

/** A record of the reference file, validated and normalized (token still in plain text). */
export interface ReferenceHook {
  /** Position in the file's `webhooks` array, for reports. */
  index: number;
  /** The reference id when it is a UUID, so operators can correlate; else null. */
  id: string | null;
  chatId: string;
  name: string;
  nameFolded: string;
  token: string;
  createdAt: number;
  createdBy: string;
  lastUsedAt: number | null;
  usageCount: number;
}

/** A record that was not imported, and why (never contains the token). */
export interface ImportSkip {
  /** Position of the record in the file's `webhooks` array (0-based). */
  index: number;
  /** The record's name, or "" when it has none. */
  name: string;
  /** The record's chat id, or "" when it has none. */
  chatId: string;
  /** Why it was skipped, for the operator. */
  reason: string;
}

/** The file is not `{"webhooks": [...]}` at all. */
export class ReferenceFormatError extends Error {
  /** Always `ReferenceFormatError`. */
  override name = "ReferenceFormatError";
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// The reference writes ISO-8601 UTC with `Z`; a zone-less value is read as UTC too, since
// JavaScript would otherwise take it as local time.
function parseIsoUtc(s: string): number {
  const zoned = /[zZ]$|[+-]\d\d:?\d\d$/.test(s) ? s : `${s}Z`;
  return Date.parse(zoned);
}
// zod is loaded by the first reference import (the offline `import-json`), not with this
// module: `serve` loads the module but never imports, and zod would cost it about 5 MiB of
// idle RSS (docs/benchmarks.md, "Memory and start").
function makeSchemas(z: typeof Zod) {
  const isoDate = z.string().refine((s) => !Number.isNaN(parseIsoUtc(s)), {
    message: "not an ISO-8601 date",
  });

  const FileSchema = z.object({ webhooks: z.array(z.unknown()) });
  const RecordSchema = z.object({
    id: z.string().nullish(),
    chat_id: z.string().trim().min(1, { message: "empty" }),
    name: z.string(),
    token: z.string().refine(looksLikeToken, {
      message: "not a URL-safe token of 20–128 characters",
    }),
    created_at: isoDate.nullish(),
    created_by: z.string().nullish(),
    last_used_at: isoDate.nullish(),
    usage_count: z.number().int().nonnegative().nullish(),
  });
  return { FileSchema, RecordSchema };
}
let schemas: Promise<ReturnType<typeof makeSchemas>> | undefined;

/**
 * Validates a parsed reference file. Bad records are reported in `skipped`; only a file
 * that is not `{"webhooks": [...]}` throws {@link ReferenceFormatError}. Missing optional
 * fields default as the reference does: `created_at` now, `created_by` "",
 * `last_used_at` null, `usage_count` 0.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const text = '{"webhooks": [{"chat_id": "c1", "name": "deploys"}]}';
 * const { hooks, skipped } = await parseReferenceFile(JSON.parse(text), Date.now());
 * console.log(hooks.length, skipped); // a record without a token is skipped, with the reason
 * await assert.rejects(() => parseReferenceFile([], Date.now()), ReferenceFormatError);
 * ```
 */
export async function parseReferenceFile(
  json: unknown,
  now: number,
): Promise<{ hooks: ReferenceHook[]; skipped: ImportSkip[] }> {
  const { FileSchema, RecordSchema } =
    await (schemas ??= import("zod").then((m) => makeSchemas(m.z)));
  const file = FileSchema.safeParse(json);
  if (!file.success) {
    throw new ReferenceFormatError(
      'Not a reference webhooks file: expected {"webhooks": [ ... ]} at the top level.',
    );
  }
  const hooks: ReferenceHook[] = [];
  const skipped: ImportSkip[] = [];
  file.data.webhooks.forEach((raw, index) => {
    const r = RecordSchema.safeParse(raw);
    if (!r.success) {
      const issue = r.error.issues[0];
      const where = issue?.path.join(".") || "record";
      skipped.push({
        index,
        name: pickString(raw, "name"),
        chatId: pickString(raw, "chat_id"),
        reason: `malformed: ${where}: ${issue?.message ?? "invalid"}`,
      });
      return;
    }
    const v = r.data;
    const name = validateHookName(v.name);
    if (!name.ok) {
      // The record's own problem, not the chat's advice ("Type /webhook_create …").
      const reason = NAME_PROBLEMS[name.code];
      skipped.push({
        index,
        name: v.name,
        chatId: v.chat_id,
        reason: `malformed: name: ${reason}`,
      });
      return;
    }
    hooks.push({
      index,
      id: v.id && UUID.test(v.id) ? v.id.toLowerCase() : null,
      chatId: v.chat_id,
      name: name.name,
      nameFolded: name.folded,
      token: v.token,
      createdAt: v.created_at ? parseIsoUtc(v.created_at) : now,
      createdBy: v.created_by ?? "",
      lastUsedAt: v.last_used_at ? parseIsoUtc(v.last_used_at) : null,
      usageCount: v.usage_count ?? 0,
    });
  });
  return { hooks, skipped };
}

function pickString(raw: unknown, field: string): string {
  if (raw === null || typeof raw !== "object") return "";
  const v = (raw as Record<string, unknown>)[field];
  return typeof v === "string" ? v.slice(0, 100) : "";
}
