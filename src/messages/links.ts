/**
 * URL buttons as links after the text, for TrueConf servers older than 5.5.6 (which show no
 * buttons): one line, in the message's own markup.
 *
 * @module
 */
import type { MessageButton, ParseMode } from "../message.ts";

/**
 * The buttons as one line of links, starting with a blank line (`<br><br>` in HTML); "" for
 * none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const b = [{ text: "Silence", url: "https://am/x" }, { text: "Runbook", url: "https://wiki/rb" }];
 * assert.equal(linksAfter(b, "markdown"), "\n\n[Silence](https://am/x) · [Runbook](https://wiki/rb)");
 * assert.equal(linksAfter(b, "text"), "\n\nSilence: https://am/x · Runbook: https://wiki/rb");
 * assert.equal(linksAfter(b.slice(0, 1), "html"), '<br><br><a href="https://am/x">Silence</a>');
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
  // TrueConf's HTML mode collapses raw newlines into spaces (SDK 1.5 `LineBreak`: "<br> in
  // HTML, \n in Markdown"), so the blank line before the links is `<br><br>` there.
  return `${parseMode === "html" ? "<br><br>" : "\n\n"}${links.join(" · ")}`;
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(
    /"/g,
    "&quot;",
  );
}
