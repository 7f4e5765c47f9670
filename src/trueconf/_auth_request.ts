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
  receiveUnread = false,
): Promise<string | null> {
  const res = record(
    await conn.request("auth", {
      token,
      tokenType: "JWT",
      // `receiveUnread: true` makes TrueConf push, right after `auth`, the messages the bot has
      // not read, i.e. not acked (protocol reference §2.2 and §3: the ack marks a message read,
      // the SDK 1.5 names the flag "receive unread messages on connection",
      // trueconf/client/bot.py `receive_unread_messages`). The serving client sets it, and acks
      // a message an outgoing hook stores only once it is stored (_connection.ts), so a crash
      // in between or a restart loses no message (issue 12: durable across SIGKILL). A probe
      // (check-config) leaves it false: it must not be handed messages it would not act on.
      // What TrueConf does with an unacked push while the socket stays open, and whether it
      // keeps edits, removals and participant events unread too, is documented nowhere
      // (reference §11.4): only messages are counted on. System envelopes (joins, title
      // changes as messages) are not wanted.
      receiveUnread,
      receiveSystemMessageEnvelopes: false,
    }, timeoutMs),
  );
  const userId = str(res.userId);
  return userId ? normalizeTrueConfId(userId) : null;
}
