/**
 * TrueConf user ids (`login@server`) as they appear in auth responses, message authors,
 * participant lists and mention links, and how to compare them.
 *
 * @module
 */

/**
 * Normalizes a TrueConf id for comparison: drops a `trueconf:` scheme, everything from
 * the first `/` (instance suffix), `&` (`&do=profile`) or `?` (query), surrounding
 * whitespace, and lower-cases the rest. TrueConf logins and server names are matched
 * case-insensitively by the server, so comparisons here must be too.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(normalizeTrueConfId("Bot@Video.example.com/4f2a"), "bot@video.example.com");
 * assert.equal(normalizeTrueConfId("trueconf:alice@srv&do=profile"), "alice@srv");
 * ```
 */
export function normalizeTrueConfId(id: string): string {
  let s = id.trim();
  if (/^trueconf:/i.test(s)) s = s.slice("trueconf:".length);
  const cut = s.search(/[/&?]/);
  if (cut >= 0) s = s.slice(0, cut);
  return s.trim().toLowerCase();
}

/** The login part of an id (before `@`), normalized. */
export function trueConfLocalPart(id: string): string {
  const n = normalizeTrueConfId(id);
  const at = n.indexOf("@");
  return at < 0 ? n : n.slice(0, at);
}

/**
 * Whether two ids name the same user. When both carry a server they must match fully;
 * when either is bare (some servers send ids without a domain) only the logins are
 * compared.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(sameTrueConfId("alice@srv/1", "ALICE@srv"), true);
 * assert.equal(sameTrueConfId("alice", "alice@srv"), true);
 * assert.equal(sameTrueConfId("alice@a", "alice@b"), false);
 * ```
 */
export function sameTrueConfId(a: string, b: string): boolean {
  const x = normalizeTrueConfId(a);
  const y = normalizeTrueConfId(b);
  if (x === "" || y === "") return false;
  if (x.includes("@") && y.includes("@")) return x === y;
  return trueConfLocalPart(x) === trueConfLocalPart(y);
}
