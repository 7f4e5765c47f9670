/**
 * Builds TrueConf Markdown (`**b**`, `*i*`, `~~s~~`, `[t](url)`) from untrusted payload
 * values. Every value a sender controls goes through {@link escapeMarkdown} (or a helper
 * built on it) so a label like `*x* [y](javascript:…)` shows literally instead of turning
 * into markup or a link; only the adapters' own fixed strings carry markup.
 *
 * TrueConf has no code spans (`§4.1` of the API notes), so {@link code} only decorates:
 * the backticks are literal and the content is escaped like any other text.
 *
 * @module
 */
import { asHttpUrl, MAX_URL_LENGTH } from "./_read.ts";

/** Characters TrueConf Markdown (or a CommonMark-ish renderer behind it) treats as markup. */
const MARKDOWN_SPECIAL = /[\\*_~[\]()`]/g;

/** Escapes every Markdown-special character with a backslash so the value renders verbatim. */
export function escapeMarkdown(s: string): string {
  return s.replace(MARKDOWN_SPECIAL, (c) => "\\" + c);
}

/** Escapes `& < > "` for TrueConf's HTML parse mode (text and attribute values alike). */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => HTML_ENTITIES[c] ?? c);
}
const HTML_ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
};

/**
 * Shortens `s` to at most `max` code points, ending with `…` when cut. Counts code points,
 * not UTF-16 units, so an emoji is never split into a lone surrogate.
 */
export function truncate(s: string, max: number): string {
  if (max <= 0) return "";
  // Fast path: a string with no more UTF-16 units than `max` has no more code points either.
  if (s.length <= max) return s;
  let count = 0;
  let end = 0;
  for (const ch of s) {
    if (count === max - 1) {
      // Only cut when at least two more code points follow (the ellipsis replaces them).
      const rest = s.length - end;
      if (rest <= ch.length) return s;
      return s.slice(0, end) + "…";
    }
    count++;
    end += ch.length;
  }
  return s;
}

/** Collapses line breaks and runs of whitespace so a value cannot break a one-line layout. */
export function oneLine(s: string): string {
  return s.replace(/\s+/g, " ").trim();
}

/** A one-line, length-capped, escaped value: the usual way to show a name or label. */
export function plain(s: string, max = 200): string {
  return escapeMarkdown(truncate(oneLine(s), max));
}

/** A multi-line, length-capped, escaped block (descriptions, commit messages, comments). */
export function block(s: string, max = 1000): string {
  const normalized = s.replace(/\r\n?/g, "\n").replace(/\n{3,}/g, "\n\n").trim();
  return escapeMarkdown(truncate(normalized, max));
}

/** Bold, escaped, one-line text. */
export function bold(s: string, max = 200): string {
  const inner = plain(s, max);
  return inner === "" ? "" : `**${inner}**`;
}

/** Italic, escaped, one-line text. */
export function italic(s: string, max = 200): string {
  const inner = plain(s, max);
  return inner === "" ? "" : `*${inner}*`;
}

/** An escaped one-line value between literal backticks (TrueConf has no code spans). */
export function code(s: string, max = 100): string {
  return "`" + plain(s, max) + "`";
}

/**
 * Returns the URL normalized for use inside `(…)` of a Markdown link, or `undefined` when it
 * is not an absolute http(s) URL (so `javascript:`, `data:` and relative paths never become
 * links). Parentheses, spaces and angle brackets are percent-encoded so the URL cannot end
 * the link early.
 */
export function safeUrl(url: unknown): string | undefined {
  const parsed = asHttpUrl(url);
  if (parsed === undefined) return undefined;
  const href = parsed.replace(
    /[()<>\s\\`]/g,
    (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0"),
  );
  return href.length > MAX_URL_LENGTH ? undefined : href;
}

/**
 * `[label](url)` when `url` is a safe http(s) URL, otherwise the escaped label alone.
 * `label` is untrusted text; pass `labelIsMarkup` only for labels built by this module.
 */
export function mdLink(label: string, url: unknown, labelIsMarkup = false): string {
  const text = labelIsMarkup ? label : plain(label);
  const href = safeUrl(url);
  if (href === undefined || text === "") return text;
  return `[${text}](${href})`;
}

/** `[label](url)` for a safe http(s) URL, `undefined` otherwise (for optional link lists). */
export function optLink(label: string, url: unknown): string | undefined {
  const href = safeUrl(url);
  const text = plain(label);
  return href === undefined || text === "" ? undefined : `[${text}](${href})`;
}

/** Joins the non-empty parts with a separator (`" · "` by default). */
export function joinParts(parts: readonly (string | undefined)[], sep = " · "): string {
  return parts.filter((p): p is string => p !== undefined && p !== "").join(sep);
}

/**
 * Caps a rendered message at `max` characters, cutting at a line boundary so no link or bold
 * pair built by the adapters is split, and says that it was cut.
 */
export function limitText(text: string, max: number): string {
  if (text.length <= max) return text;
  const note = "\n… (message shortened)";
  const room = Math.max(0, max - note.length);
  let cut = text.lastIndexOf("\n", room);
  if (cut <= 0) cut = room;
  // Do not leave a lone high surrogate at the cut.
  const code = text.charCodeAt(cut - 1);
  if (code >= 0xd800 && code <= 0xdbff) cut--;
  return text.slice(0, cut).trimEnd() + note;
}
