/**
 * Standard Webhooks signing (https://www.standardwebhooks.com), done by the npm
 * `standardwebhooks` package rather than by hand: `webhook-signature` is
 * `v1,<base64 HMAC-SHA256(key, id + "." + timestamp + "." + body)>` where the key is the
 * base64-decoded part of the `whsec_` secret. During a secret rotation's grace period the
 * header carries one signature per secret, space-separated, as the specification allows, so
 * a receiver still holding the old secret keeps verifying.
 *
 * @module
 */

import { Webhook } from "standardwebhooks";
import type { HookRecord } from "../storage/mod.ts";

/** The headers a signed request carries. */
export interface SignatureHeaders {
  /** The event id, the same on every retry (receivers dedupe on it). */
  "webhook-id": string;
  /** Unix seconds of this attempt. */
  "webhook-timestamp": string;
  /** `v1,<sig>` per secret, space-separated. */
  "webhook-signature": string;
}

/**
 * Signs one attempt of a call. `secrets` lists the current secret first, then (during a
 * rotation) the old one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Webhook } from "standardwebhooks";
 *
 * const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
 * const body = '{"type":"ping"}';
 * const headers = signatureHeaders("evt_1", new Date(), body, [secret]);
 * assert.deepEqual(new Webhook(secret).verify(body, { ...headers }), { type: "ping" });
 * ```
 */
export function signatureHeaders(
  id: string,
  at: Date,
  body: string | Uint8Array,
  secrets: readonly string[],
): SignatureHeaders {
  if (secrets.length === 0) throw new TypeError("signatureHeaders: no secret");
  return {
    "webhook-id": id,
    "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
    "webhook-signature": secrets.map((s) => new Webhook(s).sign(id, at, body)).join(" "),
  };
}

/**
 * The secrets an outgoing request of `hook` is signed with, opened: the current one, then the
 * old one while a rotation's grace runs. Every request of the hook (event calls and the
 * `/webhook_test` ping alike) signs with these, so a receiver still holding the old secret
 * keeps verifying all of them during the grace.
 */
export async function signingSecrets(
  hook: Pick<HookRecord, "outgoing" | "rotation">,
  open: (sealed: string) => Promise<string>,
  now: number,
): Promise<string[]> {
  if (!hook.outgoing) throw new TypeError("signingSecrets: not an outgoing hook");
  const secrets = [await open(hook.outgoing.secret)];
  const old = hook.rotation?.oldSecret;
  if (old && hook.rotation && hook.rotation.until > now) secrets.push(await open(old));
  return secrets;
}
