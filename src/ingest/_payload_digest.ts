/**
 * What an `Idempotency-Key` request is compared by when its key comes again: a digest of its
 * payload (draft-ietf-httpapi-idempotency-key-header: a key reused with a different payload is
 * `422`). The body is taken decoded (after `Content-Encoding`), so a retry that compresses the
 * same body is the same request; the message an edit (`PATCH …/messages/<id>`) targets is part
 * of it. Nothing else of the URL is: the same hook is reached by its old and new token during
 * a rotation's grace period, and some senders put the token in the query.
 *
 * @module
 */
import { hexOf } from "../bytes.ts";

/**
 * SHA-256 (hex) of the decoded body; for an edit, of its target and that.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const body = new TextEncoder().encode('{"text":"hi"}');
 * assert.equal(await payloadDigest(body, undefined), await payloadDigest(body.slice(), undefined));
 * assert.notEqual(await payloadDigest(body, undefined), await payloadDigest(body, "m1"));
 * ```
 */
export async function payloadDigest(body: Uint8Array, target: string | undefined): Promise<string> {
  // The body alone, not a copy of it joined to the target: it may be a 25 MiB upload.
  const ofBody = await sha256Hex(body as Uint8Array<ArrayBuffer>);
  return target === undefined
    ? ofBody
    : await sha256Hex(new TextEncoder().encode(`${target}\n${ofBody}`));
}

async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  return hexOf(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)));
}
