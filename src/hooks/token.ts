/**
 * Hook tokens: the secret part of a hook URL (`/hook/<token>`).
 *
 * A token is 32 bytes from the platform CSPRNG in URL-safe base64 without padding (43
 * characters), the same shape as the reference bot's `secrets.token_urlsafe(32)`, so imported
 * URLs and new ones look alike. Only {@link hashToken}'s output is ever stored.
 *
 * @module
 */

import type { hash as Hash } from "node:crypto";

/** Bytes of randomness in a new token (256 bits). */
export const TOKEN_BYTES = 32;
/** Shortest string {@link looksLikeToken} accepts; shorter cannot be a hook token. */
export const TOKEN_MIN_LENGTH = 20;
/** Longest string {@link looksLikeToken} accepts; bounds the work an attacker can cause. */
export const TOKEN_MAX_LENGTH = 128;

const TOKEN_SHAPE = /^[A-Za-z0-9_-]+$/;

/**
 * Returns a new random token: 43 URL-safe base64 characters.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const token = generateToken(); // e.g. "q3X0…"
 * assert.equal(token.length, 43);
 * ```
 */
export function generateToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(TOKEN_BYTES));
  return base64url(bytes);
}

/**
 * SHA-256 of the token, as 64 lowercase hex characters; the only form of a token we store.
 *
 * A plain, unsalted hash is the right tool here: a token carries 256 bits of entropy, so
 * neither a dictionary nor a precomputed table can reverse it, and a salt or a slow KDF
 * would only make every request slower. (Passwords need a KDF because people pick them.)
 * Being deterministic is what lets a lookup be one KV read by hash.
 *
 * Computed with `node:crypto` rather than `crypto.subtle`: measured in Deno 2.9.6 on this
 * machine kind, a 43-character token took about 0.7 µs versus about 20 µs through
 * `crypto.subtle.digest` (an async op round trip), and this runs on every request; its
 * one-shot `hash()` builds no `Hash` stream object per call (issue 16). `node:crypto` is
 * loaded with the first hash (the first hook request or command), not at start (about 1 MiB;
 * docs/benchmarks.md, "Memory and start", session 4): only that first answer is a Promise,
 * every later hash is returned at once (no promise per request either).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const key = await hashToken(generateToken()); // "3b7c…"
 * assert.match(key, /^[0-9a-f]{64}$/);
 * ```
 */
export function hashToken(token: string): string | Promise<string> {
  if (hash) return hash("sha256", token, "hex");
  return (loading ??= import("node:crypto").then((m) => hash = m.hash))
    .then((loaded) => loaded("sha256", token, "hex"));
}

let hash: typeof Hash | undefined;
let loading: Promise<typeof Hash> | undefined;

/** The first and last four characters of a token, kept so lists can show `abcd…wxyz`. */
export interface TokenHint {
  /** The first four characters. */
  head: string;
  /** The last four characters. */
  tail: string;
}

/**
 * The parts of a token that may be shown and stored.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(tokenHint("abcdefghijklmnopqrstuvwxyz"), { head: "abcd", tail: "wxyz" });
 * ```
 */
export function tokenHint(token: string): TokenHint {
  return { head: token.slice(0, 4), tail: token.slice(-4) };
}

/**
 * Masks a token (or formats a stored hint) as `abcd…wxyz`, safe for chats and logs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(maskToken("abcdefghijklmnopqrstuvwxyz"), "abcd…wxyz");
 * assert.equal(maskToken({ head: "abcd", tail: "wxyz" }), "abcd…wxyz");
 * ```
 */
export function maskToken(token: string | TokenHint): string {
  const { head, tail } = typeof token === "string" ? tokenHint(token) : token;
  return `${head}…${tail}`;
}

/**
 * Cheap shape check done before hashing, so garbage paths cost no SHA-256 and no KV read.
 * Accepts URL-safe base64 characters, 20–128 long (new tokens and the reference bot's are 43).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(looksLikeToken(generateToken()), true);
 * assert.equal(looksLikeToken("../etc/passwd"), false);
 * ```
 */
export function looksLikeToken(s: string): boolean {
  return s.length >= TOKEN_MIN_LENGTH && s.length <= TOKEN_MAX_LENGTH && TOKEN_SHAPE.test(s);
}

function base64url(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}
