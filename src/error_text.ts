/**
 * The sentence of an error as an operator should read it. Deno's permission refusals end in
 * ", run again with the --allow-all flag" (or `--allow-read`, …): advice for someone running
 * `deno run`, wrong for the compiled binary, whose permissions are fixed at build time. The
 * path the refusal names stays; the flag advice goes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const e = new Deno.errors.NotCapable(
 *   'Requires all access to "/proc/x.kv", run again with the --allow-all flag',
 * );
 * assert.equal(errorText(e), 'Requires all access to "/proc/x.kv"');
 * ```
 *
 * @module
 */

/** `e`'s message (or `e` as text) without Deno's "run again with the --allow-… flag" hint. */
export function errorText(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.replace(DENO_FLAG_HINT, "");
}

const DENO_FLAG_HINT = /,? run again with the --allow-[a-z-]+ flags?/g;
