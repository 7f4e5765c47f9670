// TrueConf pushes each of the bot's own posts back to it as a `sendMessage` event (protocol
// reference §2, "Echo of own actions"), and the client drops them unread (client.ts
// #isOwnPost). Under load that is one push per delivery, and `JSON.parse` of it was the
// largest single item left on the bot's main thread (about 2 µs of ~50 per delivery, plus the
// objects it leaves for the collector). This module recognises such a push from its text, so
// the socket can ack it without parsing it.
//
// It only ever says yes to a frame the full path would drop as well, and says no (parse it
// all) to anything else:
// - the frame must begin exactly `{"type":1,"id":<digits>,"method":"sendMessage","payload":{`
//   (the protocol reference's own order, §5.1). Those keys are then the frame's own: nothing
//   nested comes before them. A server that orders or spaces them otherwise is parsed in full;
// - the first `"author":` after it must be the payload's own key. Inside a JSON string every
//   `"` is escaped (`\"`), so `"author":` can only be a key, and a key lies in an object
//   opened before it. When no `{` at all comes between the payload's `{` and the author's
//   value, that object is the payload: it is the envelope's author, whatever is nested later
//   (a forwarded message carries a whole envelope, with its own author, in its content). The
//   protocol reference's order puts only strings and numbers first (§5.2: messageId, chatId,
//   timestamp, type, author); a payload with an object before its author (or a `{` in an
//   earlier string) is parsed. A payload that names its author twice at its own level
//   (JSON.parse keeps the last) is not TrueConf's;
// - that author's `id` must be, character for character, the raw id the full path has already
//   matched to the bot's identity (`sameTrueConfId`): the first echo is always parsed.

const PREFIX = '{"type":1,"id":';
const AFTER_ID = ',"method":"sendMessage","payload":{';
const AUTHOR = '"author":';
const MAX_ID_DIGITS = 10; // a uint32

/**
 * A recogniser of TrueConf's echoes of posts whose author id is exactly `ownAuthor` (as the
 * server wrote it, unescaped): it gives a frame's push id to ack, or -1 when the frame is not
 * one, or not for sure. Null when `ownAuthor` is an id JSON escapes (`"`, `\\`, control
 * characters): compared raw, `a\\"` could be mistaken for `a"`, so such a bot's echoes are parsed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const echo = '{"type":1,"id":7,"method":"sendMessage","payload":{"messageId":"m",' +
 *   '"author":{"id":"bot@srv","type":1},"content":{"text":"hi","parseMode":"text"}}}';
 * assert.equal(ownEchoRecogniser("bot@srv")?.(echo), 7);
 * assert.equal(ownEchoRecogniser("alice@srv")?.(echo), -1);
 * ```
 */
export function ownEchoRecogniser(ownAuthor: string): ((text: string) => number) | null {
  if (!plainJson(ownAuthor)) return null;
  // With the closing quote: a longer id that starts alike is not ours.
  const ownAuthorObject = `{"id":"${ownAuthor}"`;
  return (text) => {
    if (!text.startsWith(PREFIX)) return -1;
    let i = PREFIX.length;
    let id = 0;
    const digitsFrom = i;
    for (let c = text.charCodeAt(i); c >= 48 && c <= 57; c = text.charCodeAt(++i)) {
      id = id * 10 + (c - 48);
    }
    if (i === digitsFrom || i - digitsFrom > MAX_ID_DIGITS || id > 0xffff_ffff) return -1;
    if (!text.startsWith(AFTER_ID, i)) return -1;
    const payload = i + AFTER_ID.length; // just after the payload's `{`
    const author = text.indexOf(AUTHOR, payload);
    if (author < 0) return -1;
    const at = author + AUTHOR.length;
    // A key lies in the object whose `{` came last before it: when the first `{` after the
    // payload's own is the author's value, that object is the payload.
    if (text.indexOf("{", payload) !== at) return -1;
    return text.startsWith(ownAuthorObject, at) ? id : -1;
  };
}

/** An id that JSON writes as itself: no `"`, `\\` or control character. */
function plainJson(id: string): boolean {
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (c < 0x20 || c === 34 || c === 92) return false;
  }
  return id.length > 0;
}
