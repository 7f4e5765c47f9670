// The socket's `auth` request: the one definition the client (every connect) and
// check-config (one probe) both send, so the probe checks exactly what serve will do.
import type { Connection } from "./_connection.ts";
import { record, str } from "./_json.ts";
import { normalizeTrueConfId } from "./ids.ts";

/**
 * Authenticates an open socket with a bot JWT; resolves with the bot's id from the answer
 * (normalised), or `null` when the server leaves `userId` out. Rejects as the request does
 * (`TrueConfApiError` 201/203 for a bad or expired token, a timeout, a closed socket).
 */
export async function authenticate(
  conn: Connection,
  token: string,
  timeoutMs: number,
): Promise<string | null> {
  const res = record(
    await conn.request("auth", {
      token,
      tokenType: "JWT",
      // Messages that arrived while the bot was away are not replayed; system envelopes
      // (joins, title changes as messages) are not wanted.
      receiveUnread: false,
      receiveSystemMessageEnvelopes: false,
    }, timeoutMs),
  );
  const userId = str(res.userId);
  return userId ? normalizeTrueConfId(userId) : null;
}
