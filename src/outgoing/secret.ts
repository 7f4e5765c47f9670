/**
 * The signing secret of an outgoing hook: `whsec_<base64 of 32 random bytes>`, the format
 * every Standard Webhooks library accepts, and the short verification example sent with it
 * (by direct message only).
 *
 * @module
 */

import type { HookStore } from "../hooks/store.ts";
import type { HookRecord } from "../storage/mod.ts";

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

/**
 * Gives an outgoing hook a new signing secret (`/webhook_rotate` in the chat, `hooks rotate` on
 * the machine). Until `until` the old secret signs too: every request carries both signatures.
 * `until` at or before now ends the old secret at once. Returns the new secret, to be shown
 * once (by DM, or on standard output), with the hook before and after (`store.undoRotation`
 * takes it back when the DM fails), or null when the hook is gone or not an outgoing one.
 */
export async function rotateSecret(
  store: Pick<HookStore, "update" | "sealSecret">,
  hookId: string,
  grace: { graceMs: number; until: number },
): Promise<{ secret: string; hook: HookRecord; before: HookRecord } | null> {
  const secret = generateSecret();
  const sealed = await store.sealSecret(secret);
  const r = await store.update(hookId, (h) =>
    h.kind === "outgoing" && h.outgoing
      ? {
        ...h,
        outgoing: { ...h.outgoing, secret: sealed },
        rotation: grace.graceMs > 0
          ? { until: grace.until, oldSecret: h.outgoing.secret, oldUses: 0, oldLastUsedAt: null }
          : null,
      }
      : null);
  return r.ok && r.hook.outgoing?.secret === sealed
    ? { secret, hook: r.hook, before: r.before }
    : null;
}
