/**
 * The short verification example sent with an outgoing hook's signing secret (by direct
 * message only). The secret itself (`whsec_<base64 of 32 random bytes>`) is made by
 * `src/hooks/signing_secret.ts`; `HookStore.rotate` gives a hook a new one (`/webhook_rotate`,
 * `hooks rotate`).
 *
 * @module
 */

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
