/**
 * Turns a zod issue path into the field name a sender recognises, private to the formats folder.
 *
 * @module
 */

/** `["attachments", 0, "title"]` → `attachments[0].title`. */
export function issuePath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out === "" ? String(key) : `.${String(key)}`;
  }
  return out === "" ? "the body" : out;
}

/** What a JSON value is, in the words of an error message ("a number", "null", "nothing"). */
export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing"; // a missing field, not "a undefined"
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  const type = typeof value;
  return type === "object" ? "an object" : `a ${type}`;
}
