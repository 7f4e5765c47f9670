/**
 * Hook names: what chat members type after `/webhook_create`, unique per chat.
 *
 * @module
 */

/** Longest name, in characters (code points) after trimming. */
export const HOOK_NAME_MAX_LENGTH = 64;

/** Why a name was refused; stable codes for callers, next to the human sentence. */
export type HookNameError = "empty" | "too_long" | "control_characters";

/** Result of {@link validateHookName}. */
export type HookNameResult =
  | {
    ok: true;
    /** Trimmed, NFC-normalized: what is stored and shown. */
    name: string;
    /** Case-folded {@link name}: what uniqueness is decided on. */
    folded: string;
  }
  | { ok: false; code: HookNameError; reason: string };

// C0/C1 controls, line/paragraph separators, the bidi embedding/override/isolate controls and
// direction marks (they can make a name render as a different one in /webhook_list), and
// invisible characters that make two names look the same ("deploys" and "deploys" + zero-width
// space, word joiner, BOM or soft hyphen: a member would revoke the wrong one). The zero-width
// joiner, variation selectors and tag characters stay allowed: emoji sequences need them.
const FORBIDDEN =
  /[\p{Cc}\u00AD\u200B\u200E\u200F\u2028\u2029\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]/u;
// The invisible ones among them: {@link nearestHookName} drops these (the rest become blanks).
const INVISIBLE = /[\u00AD\u200B\u200E\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]/gu;

/**
 * The key two names are compared on: NFC, then lower case (locale-independent), so
 * "Deploys", " deploys " and a decomposed "é" vs a composed one collide.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(foldHookName("  Deploys "), "deploys");
 * ```
 */
export function foldHookName(name: string): string {
  return name.trim().normalize("NFC").toLowerCase().normalize("NFC");
}

/**
 * Validates a hook name as typed by a user and returns the stored and comparison forms.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(validateHookName(" Deploys "), { ok: true, name: "Deploys", folded: "deploys" });
 * const empty = validateHookName(""); // { ok: false, code: "empty", reason: "The name is empty. …" }
 * assert.equal(empty.ok ? "" : empty.code, "empty");
 * ```
 */
export function validateHookName(raw: string): HookNameResult {
  const name = raw.trim().normalize("NFC");
  if (name.length === 0) {
    return {
      ok: false,
      code: "empty",
      reason:
        "The name is empty. Type /webhook_create <name>, for example /webhook_create deploys.",
    };
  }
  if (FORBIDDEN.test(name)) {
    return {
      ok: false,
      code: "control_characters",
      reason: "The name contains control characters; use letters, digits and punctuation.",
    };
  }
  const length = [...name].length;
  if (length > HOOK_NAME_MAX_LENGTH) {
    return {
      ok: false,
      code: "too_long",
      reason: `The name is too long (${length} characters, at most ${HOOK_NAME_MAX_LENGTH}).`,
    };
  }
  return { ok: true, name, folded: foldHookName(name) };
}

// Opening quote → its closing one: ASCII, typographic (English, German) and guillemets.
const QUOTE_PAIRS: Readonly<Record<string, string>> = {
  '"': '"',
  "'": "'",
  "“": "”",
  "„": "“",
  "‘": "’",
  "«": "»",
};

/**
 * A name typed inside one pair of quotes, without them: members quote names that have spaces
 * (`/webhook_revoke "Prod deploys"`, `«Prod deploys»`), and the quotes are not part of the name.
 * Anything else is returned as it is (`He said "hi"`, `"a" and "b"`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(unquoteName(' "Prod deploys" '), "Prod deploys");
 * assert.equal(unquoteName("«Prod deploys»"), "Prod deploys");
 * assert.equal(unquoteName('"a" and "b"'), '"a" and "b"');
 * ```
 */
export function unquoteName(raw: string): string {
  const q = leadingQuotedName(raw);
  return q && q.rest === "" ? q.name : raw;
}

/**
 * A name in one pair of quotes at the start of `text`, and the text after it
 * (`/webhook_test "CI two" hello`); null when `text` does not start with a quoted name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(leadingQuotedName('"CI two" hello'), { name: "CI two", rest: "hello" });
 * assert.equal(leadingQuotedName("CI two hello"), null);
 * ```
 */
export function leadingQuotedName(text: string): { name: string; rest: string } | null {
  const t = text.trim();
  const close = QUOTE_PAIRS[t[0] ?? ""];
  if (close === undefined) return null;
  const end = t.indexOf(close, 1);
  const name = end < 0 ? "" : t.slice(1, end).trim();
  return name === "" ? null : { name, rest: t.slice(end + 1).trim() };
}

/**
 * The nearest valid name to `raw`, for records that come from elsewhere (the reference bot's
 * file) and must keep their URL although their name breaks the rules: invisible characters are
 * dropped and other forbidden ones become blanks, then the name is trimmed and cut to
 * {@link HOOK_NAME_MAX_LENGTH}. Null when
 * nothing is left.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(nearestHookName("deploy\nprod"), "deploy prod");
 * assert.equal(nearestHookName(" \t"), null);
 * ```
 */
export function nearestHookName(raw: string): string | null {
  const cleaned = raw.replace(INVISIBLE, "").replace(new RegExp(FORBIDDEN.source, "gu"), " ")
    .trim().normalize("NFC");
  const cut = [...cleaned].slice(0, HOOK_NAME_MAX_LENGTH).join("").trim();
  return cut === "" ? null : cut;
}
