/**
 * The links a sender offers as buttons (Slack's and Discord's link buttons, Teams' OpenUri and
 * Action.OpenUrl actions, Google Chat's button lists, ntfy's view actions and Click, Gotify's
 * click URL) as TrueConf URL buttons (5.5.6+). The renderers keep them as links in the text
 * too, so a server without buttons loses nothing (`buttonFallback: "none"`). Private to the
 * formats folder.
 *
 * @module
 */
import type { Message, MessageButton } from "../../message.ts";
import { BUTTON_LIMITS, buttonUrlProblem } from "../../trueconf/mod.ts";

/** A link as the sender gave it: a label (may be missing) and a URL (checked here). */
export interface OfferedLink {
  readonly label: string | undefined;
  readonly url: unknown;
}

/**
 * Rows of URL buttons within TrueConf's limits: a row per group of links the sender showed
 * together, at most 8 buttons a row, 8 rows and 64 in all; labels cut to 32 characters; links
 * without a label, or with a URL a button cannot carry, are left as text links only.
 */
export class ButtonRows {
  readonly rows: MessageButton[][] = [];
  #left: number = BUTTON_LIMITS.total;

  /** Adds the links shown together as one row (nothing when none of them can be a button). */
  add(links: Iterable<OfferedLink>): void {
    if (this.rows.length >= BUTTON_LIMITS.rows) return;
    const row: MessageButton[] = [];
    for (const { label, url } of links) {
      if (row.length >= Math.min(BUTTON_LIMITS.perRow, this.#left)) break;
      const text = label?.trim() ?? "";
      if (text === "" || typeof url !== "string" || buttonUrlProblem(url) !== null) continue;
      const chars = [...text];
      row.push({
        text: chars.length > BUTTON_LIMITS.label
          ? `${chars.slice(0, BUTTON_LIMITS.label - 1).join("")}…`
          : text,
        url,
      });
    }
    if (row.length === 0) return;
    this.#left -= row.length;
    this.rows.push(row);
  }

  /** `message` with these rows as its buttons (unchanged when there are none). */
  on(message: Message): Message {
    return this.rows.length > 0
      ? { ...message, buttons: this.rows, buttonFallback: "none" }
      : message;
  }
}
