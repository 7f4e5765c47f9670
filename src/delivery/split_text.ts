/**
 * Splitting long texts into chat-sized chunks. TrueConf rejects (or truncates) text over 4096
 * visible characters; we count raw code points including markup, which is never less than the
 * visible count, so every chunk fits whatever the parse mode.
 *
 * @module
 */

import { TEXT_LIMIT } from "../trueconf/mod.ts";

/** TrueConf's limit for one text message, in visible characters (owned by `trueconf/text_limit.ts`). */
export { TEXT_LIMIT };

/** Options for {@link splitText}. */
export interface SplitOptions {
  /**
   * Close a ``` fence at the end of a chunk and reopen it (with its info string) at the start
   * of the next, so code stays code in Markdown. Default true; pass false for `parseMode: "text"`
   * if added fence lines are unwanted.
   */
  readonly fences?: boolean;
}

const FENCE_CLOSE = "\n```";

/**
 * Splits `text` into chunks of at most `limit` code points, preferring paragraph breaks, then
 * line breaks, then spaces, then a hard cut between code points (never inside a surrogate
 * pair). Order is kept; no chunk is empty or whitespace-only; whitespace at a cut is dropped.
 */
export function splitText(text: string, limit = TEXT_LIMIT, options?: SplitOptions): string[] {
  if (!Number.isInteger(limit) || limit < 1) {
    throw new RangeError(`limit must be a positive integer, got ${limit}`);
  }
  // Most texts fit (UTF-16 units are never fewer than code points): one chunk, as the loop
  // below would give, without its scans and a growing array on every delivery (issue 16).
  if (text.length <= limit) return text.trim() === "" ? [] : [text];
  const useFences = (options?.fences ?? true) && text.includes("```");
  const chunks: string[] = [];
  let rest = text;
  let reopen = ""; // fence opener carried into the next chunk
  while (rest !== "") {
    // The fence reopener and a possible closer eat into the budget; give up fence handling
    // when they would leave too little room for content (absurdly small limits).
    const fenceOk = useFences && reopen.length + FENCE_CLOSE.length <= limit / 2;
    const prefix = fenceOk ? reopen : "";
    const budget = limit - codePoints(prefix) - (fenceOk ? FENCE_CLOSE.length : 0);
    // Bounded check (not codePoints(rest)) so a megabyte of text is not rescanned per chunk.
    if (
      indexAfterCodePoints(rest, limit - codePoints(prefix) + 1) >= rest.length &&
      codePoints(prefix) + codePoints(rest) <= limit
    ) {
      pushChunk(chunks, prefix + rest);
      break;
    }
    const end = indexAfterCodePoints(rest, budget);
    const cut = chooseCut(rest, end);
    let head = rest.slice(0, cut.at).trimEnd();
    rest = rest.slice(cut.at).replace(cut.skip, "");
    if (!fenceOk) {
      reopen = "";
      pushChunk(chunks, head);
      continue;
    }
    const opener = openFenceAtEnd(prefix + head);
    head = prefix + head;
    if (opener !== null) {
      head += FENCE_CLOSE;
      reopen = `${opener}\n`;
    } else {
      reopen = "";
    }
    pushChunk(chunks, head);
  }
  return chunks;
}

function pushChunk(chunks: string[], chunk: string): void {
  if (chunk.trim() !== "") chunks.push(chunk);
}

interface Cut {
  /** UTF-16 index where the chunk ends. */
  readonly at: number;
  /** Separator to drop from the start of the remainder. */
  readonly skip: RegExp;
}

/**
 * Picks the best cut at or before `end`: the last paragraph break, line break or space in
 * the second half of the window (so chunks are not tiny), else anywhere, else a hard cut.
 */
function chooseCut(text: string, end: number): Cut {
  const window = text.slice(0, end + 1); // a separator right at the limit is fine
  const half = Math.floor(end / 2);
  const candidates: Array<[RegExp, RegExp]> = [
    [/\n[ \t]*\n/g, /^\s*\n/],
    [/\n/g, /^\n/],
    [/[ \t]+/g, /^[ \t]+/],
  ];
  for (const minimum of [half, 1]) {
    for (const [separator, skip] of candidates) {
      let best = -1;
      for (const match of window.matchAll(separator)) {
        if (match.index >= minimum && match.index <= end) best = match.index;
      }
      if (best >= 0) return { at: best, skip };
    }
  }
  return { at: Math.max(end, firstCodePointEnd(text)), skip: /^(?!)/ };
}

/** Returns the opening fence line (e.g. "```json") when `text` ends inside a fenced block. */
function openFenceAtEnd(text: string): string | null {
  let open: string | null = null;
  for (const line of text.split("\n")) {
    const match = /^\s*(```.*)$/.exec(line);
    if (!match) continue;
    open = open === null ? (match[1] as string).trim() : null;
  }
  return open;
}

/** Counts code points (a surrogate pair is one character). */
export function codePoints(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    count++;
  }
  return count;
}

/** UTF-16 index just after the first `n` code points of `text` (or its length). */
function indexAfterCodePoints(text: string, n: number): number {
  let i = 0;
  for (let count = 0; count < n && i < text.length; count++) {
    const code = text.charCodeAt(i);
    const next = text.charCodeAt(i + 1);
    i += code >= 0xd800 && code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff ? 2 : 1;
  }
  return i;
}

function firstCodePointEnd(text: string): number {
  return indexAfterCodePoints(text, 1);
}
