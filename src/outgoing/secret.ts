/**
 * The signing secret of an outgoing hook: `whsec_<base64 of 32 random bytes>`, the format
 * every Standard Webhooks library accepts, and the short verification example sent with it
 * (by direct message only).
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

/**
 * Five lines of Node.js that verify a request with the npm `standardwebhooks` package,
 * with the secret filled in. Sent with the secret, so the receiver is one copy-paste away.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(verificationExample("whsec_x").split("\n").length, 5);
 * ```
 */
export function verificationExample(secret: string): string {
  return [
    `import { Webhook } from "standardwebhooks"; // npm i standardwebhooks`,
    `const wh = new Webhook("${secret}");`,
    `// rawBody: the exact bytes received; throws unless the signature and time are right`,
    `const event = wh.verify(rawBody, { "webhook-id": req.headers["webhook-id"], "webhook-timestamp": req.headers["webhook-timestamp"], "webhook-signature": req.headers["webhook-signature"] });`,
    `// dedupe on event.id (= webhook-id): a call may arrive twice after a crash`,
  ].join("\n");
}
