/**
 * JWT-shaped tokens for the fake OAuth endpoint. Clients decode the payload locally (the
 * Python SDK refuses an `exp` in the past; the reference bot schedules refresh from it), so
 * the shape must be real; the signature only has to look like one because the fake checks
 * tokens by lookup, not by verifying it.
 *
 * @module
 */

const encoder = new TextEncoder();

/** Base64url without padding, as JWT segments use. */
export function base64url(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** Builds `header.payload.signature` with an HS256 header and a random 32-byte signature. */
export function mintJwt(claims: Record<string, unknown>): string {
  const header = base64url(encoder.encode(JSON.stringify({ alg: "HS256", typ: "JWT" })));
  const payload = base64url(encoder.encode(JSON.stringify(claims)));
  const signature = base64url(crypto.getRandomValues(new Uint8Array(32)));
  return `${header}.${payload}.${signature}`;
}
