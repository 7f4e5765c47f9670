/**
 * URL buttons as links after the text, for TrueConf servers older than 5.5.6 (which show no
 * buttons): one line, in the message's own markup.
 *
 * @module
 */
import type { MessageButton, ParseMode } from "../message.ts";

/**
 * The buttons as one line of links, starting with a blank line; "" for none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const b = [{ text: "Silence", url: "https://am/x" }, { text: "Runbook", url: "https://wiki/rb" }];
 * assert.equal(linksAfter(b, "markdown"), "\n\n[Silence](https://am/x) · [Runbook](https://wiki/rb)");
 * assert.equal(linksAfter(b, "text"), "\n\nSilence: https://am/x · Runbook: https://wiki/rb");
 * ```
 */
export function linksAfter(buttons: readonly MessageButton[], parseMode: ParseMode): string {
  if (buttons.length === 0) return "";
  const links = buttons.map((b) => {
    switch (parseMode) {
      case "markdown":
        return `[${b.text.replace(/[[\]\\*_~`]/g, "\\$&")}](${
          b.url.replace(/[()]/g, encodeURIComponent)
        })`;
      case "html":
        return `<a href="${escapeHtml(b.url)}">${escapeHtml(b.text)}</a>`;
      default:
        return `${b.text}: ${b.url}`;
    }
  });
  return `\n\n${links.join(" · ")}`;
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(
    /"/g,
    "&quot;",
  );
}
