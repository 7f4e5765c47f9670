/**
 * What a TrueConf client shows of a sent text, as far as line breaks go: in HTML mode raw
 * newlines collapse to spaces and `<br>` breaks the line (python-trueconf-bot 1.5,
 * `trueconf/utils/formatting/text.py`, `LineBreak`); other modes are shown as sent. Tests
 * that read the bot's HTML replies line by line read them through this, so a reply that
 * would show as one run-on line fails them.
 *
 * @module
 */

/** A sent message's text as shown (line breaks only; tags and entities are left as they are). */
export function shownText(
  r: { readonly text?: string | null; readonly parseMode?: string },
): string {
  const text = r.text ?? "";
  if (r.parseMode !== "html") return text;
  return text.replace(/\r?\n/g, " ").replace(/<br\s*\/?>/gi, "\n");
}

/**
 * The whole text a sender's message became in the chat: its text messages joined, or, for a
 * text longer than ten messages, the `message.txt` it is posted as (src/delivery/deliverer.ts).
 */
export function postedText(
  records: readonly {
    readonly text?: string | null;
    readonly file?: { readonly name: string; readonly bytes: Uint8Array } | undefined;
  }[],
): string {
  const file = records.find((r) => r.file?.name === "message.txt")?.file;
  if (file) return new TextDecoder().decode(file.bytes);
  return records.map((r) => r.text ?? "").join("");
}
