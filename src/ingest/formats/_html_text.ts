/**
 * The small HTML subset chat cards carry (Teams MessageCard text, Google Chat card widgets:
 * `<b>`, `<i>`, `<u>`, `<s>`, `<a href>`, `<br>`, `<font>`, `<p>`, lists) → TrueConf Markdown.
 * Anything else is dropped as a tag and kept as text; entities are decoded. Private to the
 * formats folder.
 *
 * @module
 */
import { decodeEntities } from "../../html_entities.ts";
import { escapeMarkdown, isHttpUrl, markdownLink } from "./_mrkdwn.ts";

/** True when the text has an HTML tag this module translates. */
export function hasHtml(s: string): boolean {
  return /<\/?(b|strong|i|em|u|s|strike|del|a|br|p|div|font|ul|ol|li|span|code|pre)\b[^>]*>/i
    .test(s);
}

/**
 * HTML → Markdown. Text between tags is escaped (so it shows as sent); only the tags make
 * markup. Links keep only http(s) targets.
 */
export function htmlToMarkdown(html: string): string {
  let out = "";
  const open: string[] = [];
  const hrefs: (string | undefined)[] = [];
  let last = 0;
  const tag = /<(\/?)([a-z][a-z0-9]*)\b([^>]*)>/gi;
  for (const m of html.matchAll(tag)) {
    out += escapeMarkdown(decodeEntities(html.slice(last, m.index)));
    last = m.index + m[0].length;
    const closing = m[1] === "/";
    const name = (m[2] ?? "").toLowerCase();
    const attrs = m[3] ?? "";
    switch (name) {
      case "b":
      case "strong":
        out += "**";
        break;
      case "i":
      case "em":
        out += "_";
        break;
      case "s":
      case "strike":
      case "del":
        out += "~~";
        break;
      case "br":
        out += "\n";
        break;
      case "p":
      case "div":
      case "ul":
      case "ol":
        if (!out.endsWith("\n") && out !== "") out += "\n";
        break;
      case "li":
        if (!closing) out += `${out.endsWith("\n") || out === "" ? "" : "\n"}• `;
        break;
      case "a": {
        if (!closing) {
          const href = /href\s*=\s*("([^"]*)"|'([^']*)')/i.exec(attrs);
          const url = decodeEntities(href?.[2] ?? href?.[3] ?? "");
          hrefs.push(isHttpUrl(url) ? url : undefined);
          open.push(out);
          out = "";
        } else if (open.length > 0) {
          const label = out;
          const url = hrefs.pop();
          out = open.pop() ?? "";
          out += url === undefined ? label : markdownLink(label === "" ? url : label, url);
        }
        break;
      }
      default:
        // <u>, <font color>, <span>, <code>…: no TrueConf counterpart; the text stays.
        break;
    }
  }
  out += escapeMarkdown(decodeEntities(html.slice(last)));
  // An unclosed <a>: keep its text.
  while (open.length > 0) out = (open.pop() ?? "") + out;
  return out.replace(/\*\*\s*\*\*/g, "").replace(/\n{3,}/g, "\n\n").trim();
}
