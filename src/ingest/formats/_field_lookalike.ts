/**
 * "Did you mean …?" for a JSON field name: the one owner of how close a sender's key must be
 * to a known field to count as its misspelling. The native format's `unknown_field`
 * (`detect.ts`) and the Slack family's `no_text` (`slack.ts`) both ask here, so `txt` is
 * recognised as `text` whichever way it arrives.
 *
 * @module
 */
import { editDistance } from "../../edit_distance.ts";

/**
 * The field of `known` that `key` looks like a misspelling of (never `key` itself), if any:
 * case, `-`, `_` and spaces are ignored, `aliases` maps a normalised key (lower case, no
 * separators) to the field meant, and otherwise one edit is allowed (two for names of eight
 * letters or more).
 */
export function fieldLookalike(
  key: string,
  known: readonly string[],
  aliases: Readonly<Record<string, string>> = {},
): string | undefined {
  if (known.includes(key)) return undefined;
  const normal = key.toLowerCase().replace(/[-_\s]/g, "");
  const alias = aliases[normal];
  if (alias !== undefined) return alias;
  for (const field of known) {
    const target = field.replace(/_/g, "");
    if (normal === target) return field;
    const allowed = target.length >= 8 ? 2 : 1;
    if (
      Math.abs(normal.length - target.length) <= allowed && editDistance(normal, target) <= allowed
    ) {
      return field;
    }
  }
  return undefined;
}

/** The first key of `object` that looks like a misspelt field of `known`, with that field. */
export function firstLookalike(
  object: Readonly<Record<string, unknown>>,
  known: readonly string[],
  aliases?: Readonly<Record<string, string>>,
): { key: string; meant: string } | undefined {
  for (const key of Object.keys(object)) {
    const meant = fieldLookalike(key, known, aliases);
    if (meant !== undefined) return { key, meant };
  }
  return undefined;
}
