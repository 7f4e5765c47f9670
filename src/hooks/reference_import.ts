/**
 * Parsing the reference Python bot's `data/webhooks.json` for migration. Pure: validates and
 * normalizes records; writing them is {@link HookStore.importReferenceJson}'s job.
 *
 * @module
 */

import type { z as Zod } from "zod";
import {
  HOOK_NAME_MAX_LENGTH,
  type HookNameError,
  nearestHookName,
  validateHookName,
} from "./hook_name.ts";
import { isHookId } from "./hook_id.ts";
import { looksLikeToken } from "./token.ts";

const NAME_PROBLEMS: Record<HookNameError, string> = {
  empty: "is empty",
  too_long: `is longer than ${HOOK_NAME_MAX_LENGTH} characters`,
  control_characters: "contains control characters",
};

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
  /**
   * What in the record broke the rules and what was stored instead (a name, a date, a count):
   * the hook is imported anyway, since its URL is what senders use. Never contains the token.
   */
  adjusted: string[];
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
  // Without these a record cannot keep its URL: where it posts, and the token itself.
  const RecordSchema = z.object({
    chat_id: z.string().trim().min(1, { message: "empty" }),
    token: z.string().refine(looksLikeToken, {
      message: "not a URL-safe token of 20–128 characters",
    }),
  });
  // These only describe the hook: a bad one is replaced by its default and reported.
  const MetaSchemas = {
    id: z.string().nullish(),
    created_at: isoDate.nullish(),
    created_by: z.string().nullish(),
    last_used_at: isoDate.nullish(),
    usage_count: z.number().int().nonnegative().nullish(),
  };
  return { FileSchema, RecordSchema, MetaSchemas };
}

/** A field's value as a report shows it: JSON, cut short. */
function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 39)}…` : text;
}
let schemas: Promise<ReturnType<typeof makeSchemas>> | undefined;

/**
 * Validates a parsed reference file. A record without a usable `chat_id` and `token` (or not
 * an object) is reported in `skipped`; only a file that is not `{"webhooks": [...]}` throws
 * {@link ReferenceFormatError}. Missing optional fields default as the reference does:
 * `created_at` now, `created_by` "", `last_used_at` null, `usage_count` 0; a malformed one
 * gets the same default and a line in the hook's `adjusted`, and a name that breaks the rules
 * is mended ({@link nearestHookName}, or `imported <n>`): skipping such a record would turn a
 * working URL into a 404 over a date or a name.
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
  const { FileSchema, RecordSchema, MetaSchemas } =
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
    const fields = raw as Record<string, unknown>;
    const adjusted: string[] = [];
    const meta = <T>(key: keyof typeof MetaSchemas, schema: Zod.ZodType<T>, fallback: string) => {
      const m = schema.safeParse(fields[key]);
      if (m.success) return m.data;
      adjusted.push(
        `${key} ${shown(fields[key])}: ${m.error.issues[0]?.message ?? "invalid"} → ${fallback}`,
      );
      return undefined;
    };
    const id = meta("id", MetaSchemas.id, "a new id");
    const createdAt = meta("created_at", MetaSchemas.created_at, "now");
    const createdBy = meta("created_by", MetaSchemas.created_by, '""');
    const lastUsedAt = meta("last_used_at", MetaSchemas.last_used_at, "never");
    const usageCount = meta("usage_count", MetaSchemas.usage_count, "0");
    const name = importedName(fields.name, index);
    if (name.note) adjusted.push(name.note);
    hooks.push({
      index,
      id: id && isHookId(id) ? id.toLowerCase() : null,
      chatId: v.chat_id,
      name: name.name,
      nameFolded: name.folded,
      token: v.token,
      createdAt: createdAt ? parseIsoUtc(createdAt) : now,
      createdBy: createdBy ?? "",
      lastUsedAt: lastUsedAt ? parseIsoUtc(lastUsedAt) : null,
      usageCount: usageCount ?? 0,
      adjusted,
    });
  });
  return { hooks, skipped };
}

/** The record's name, mended when it breaks the rules (with a note saying how). */
function importedName(
  raw: unknown,
  index: number,
): { name: string; folded: string; note: string | null } {
  const given = typeof raw === "string" ? validateHookName(raw) : null;
  if (given?.ok) return { ...given, note: null };
  const why = given ? NAME_PROBLEMS[given.code] : raw === undefined ? "is missing" : "is not text";
  const near = typeof raw === "string" ? nearestHookName(raw) : null;
  const mended = validateHookName(near ?? `imported ${index + 1}`);
  if (!mended.ok) throw new Error(`unreachable: "${near}" is not a valid name`);
  return {
    name: mended.name,
    folded: mended.folded,
    note: `name ${typeof raw === "string" ? shown(raw) + " " : ""}${why} → "${mended.name}"`,
  };
}

function pickString(raw: unknown, field: string): string {
  if (raw === null || typeof raw !== "object") return "";
  const v = (raw as Record<string, unknown>)[field];
  return typeof v === "string" ? v.slice(0, 100) : "";
}
