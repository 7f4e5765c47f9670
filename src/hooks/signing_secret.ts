/**
 * Signing secrets in the Standard Webhooks format, `whsec_<base64 of 32 random bytes>`, which
 * every Standard Webhooks library accepts. The hook domain makes them for both directions: an
 * incoming hook's sender signature (`/webhook_verify <name> standard|gitlab`) and an outgoing
 * hook's signing key (`/webhook_create <name> <url>`, `/webhook_rotate`).
 *
 * @module
 */

/** Prefix of a Standard Webhooks secret. */
export const SECRET_PREFIX = "whsec_";

/**
 * A new signing secret.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const s = generateSecret();
 * assert.match(s, /^whsec_[A-Za-z0-9+/]{43}=$/);
 * assert.equal(atob(s.slice(6)).length, 32);
 * ```
 */
export function generateSecret(): string {
  return SECRET_PREFIX + btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
}
