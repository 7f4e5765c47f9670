/**
 * A small `multipart/form-data` splitter, private to the ingest folder.
 *
 * Why not `Request.formData()`: Deno's parser ignores `filename*` (RFC 5987), so a part that
 * carries only `filename*=UTF-8''…` (curl with non-ASCII names, several HTTP libraries) comes
 * back as a *text field* decoded as UTF-8 — the file's bytes are corrupted and its name lost.
 * Splitting the body ourselves keeps every part's exact bytes and headers.
 *
 * @module
 */
/** One part of a multipart body: its headers (lower-cased names) and its exact bytes. */
export interface MultipartPart {
  readonly headers: ReadonlyMap<string, string>;
  readonly bytes: Uint8Array;
}

/** Thrown when the body does not follow the multipart framing. */
export class MultipartError extends Error {
  override readonly name = "MultipartError";
}

const HEADER_END = new Uint8Array([0x0d, 0x0a, 0x0d, 0x0a]);
const HEADER_END_LF = new Uint8Array([0x0a, 0x0a]);
/**
 * Most bytes of one part's headers. The search for their end stops here: searched to the end
 * of the body instead, a 25 MB file part cost two scans of 25 MB per part.
 */
const MAX_PART_HEADER_BYTES = 16 * 1024;

/**
 * Splits `body` at `boundary` (RFC 2046 §5.1.1) into parts, in order. Tolerates a preamble,
 * an epilogue, transport padding after delimiters and bare-LF line endings (hand-written
 * senders), but requires the closing delimiter so a truncated upload is not taken as complete.
 */
export function splitMultipart(body: Uint8Array, boundary: string): MultipartPart[] {
  const buf = body;
  const delimiter = new TextEncoder().encode(`--${boundary}`);
  const findDelimiter = delimiterFinder(buf, delimiter);
  let pos = findDelimiter(0);
  if (pos < 0) throw new MultipartError(`the boundary "${boundary}" does not occur in the body`);
  const parts: MultipartPart[] = [];
  for (;;) {
    let cursor = pos + delimiter.length;
    if (buf[cursor] === 0x2d && buf[cursor + 1] === 0x2d) return parts; // "--": closing delimiter
    while (buf[cursor] === 0x20 || buf[cursor] === 0x09) cursor++;
    if (buf[cursor] === 0x0d && buf[cursor + 1] === 0x0a) cursor += 2;
    else if (buf[cursor] === 0x0a) cursor += 1;
    else throw new MultipartError("a boundary line is not followed by a line break");

    const window = Math.min(buf.length, cursor + MAX_PART_HEADER_BYTES);
    let headerEnd = indexOfBytes(buf, HEADER_END, cursor, window);
    let bodyStart = headerEnd + HEADER_END.length;
    const lfEnd = indexOfBytes(buf, HEADER_END_LF, cursor, window);
    if (lfEnd >= 0 && (headerEnd < 0 || lfEnd < headerEnd)) {
      headerEnd = lfEnd;
      bodyStart = lfEnd + HEADER_END_LF.length;
    }
    // A part with no headers at all starts its body right after the boundary line.
    if (buf[cursor] === 0x0d && buf[cursor + 1] === 0x0a) {
      headerEnd = cursor;
      bodyStart = cursor + 2;
    } else if (buf[cursor] === 0x0a) {
      headerEnd = cursor;
      bodyStart = cursor + 1;
    }
    if (headerEnd < 0) throw new MultipartError("a part's headers are not terminated");
    const headers = parseHeaders(buf.subarray(cursor, headerEnd));

    const next = findDelimiter(bodyStart);
    if (next < 0) throw new MultipartError("the closing boundary is missing (truncated body?)");
    let bodyEnd = next;
    if (buf[bodyEnd - 1] === 0x0a) bodyEnd--;
    if (buf[bodyEnd - 1] === 0x0d && bodyEnd > bodyStart) bodyEnd--;
    // A view, not a copy: copying a 25 MB file part held it twice while the body was still
    // alive (+25 MB at the peak); the parts live no longer than the request's body anyway.
    parts.push({ headers, bytes: body.subarray(bodyStart, Math.max(bodyStart, bodyEnd)) });
    pos = next;
  }
}

/**
 * The first `needle` in `haystack[from, to)`, or -1: the typed array's own `indexOf` finds
 * candidates for the first byte and each is checked in JavaScript. For the end of a part's
 * headers (searched within 16 KiB) and delimiters in small bodies; a large body's delimiters are
 * found by {@link WordSearch}.
 */
function indexOfBytes(
  haystack: Uint8Array,
  needle: Uint8Array,
  from: number,
  to = haystack.length,
): number {
  const first = needle[0]!;
  const last = to - needle.length;
  for (
    let i = haystack.indexOf(first, from);
    i >= 0 && i <= last;
    i = haystack.indexOf(first, i + 1)
  ) {
    if (matchesAt(haystack, needle, i)) return i;
  }
  return -1;
}

/** Bodies shorter than this are searched byte by byte: views and four scans cost more there. */
const WORD_SEARCH_BYTES = 64 * 1024;

/**
 * Finds a needle of 8 bytes or more (a delimiter: `--` and the boundary) in one buffer by native
 * scans of aligned 32-bit words, for positions that only grow from call to call (a split walks
 * the body once).
 *
 * Any occurrence holds, within its last 7 bytes, one 4-byte word that starts at a multiple of 4
 * in the buffer: four scans of the buffer as a `Uint32Array`, one per offset of that word in the
 * needle, find every candidate, and a candidate already matches 4 bytes of the boundary's random
 * tail, so the JavaScript loop almost never runs. Scanning for the first byte instead (`-`, 1 in
 * 256 bytes of a binary file) ran that loop about 100,000 times per 25 MB, enough for V8 to
 * compile it with TurboFan, whose code (about 3 MiB of the executable) then counted in the
 * upload's peak RSS (docs/benchmarks.md, "The 25 MB upload (session 5, upload)"); the scans also
 * take less time (about 10 ms for 25 MB).
 *
 * Each scan remembers its next candidate and only moves forward, so a whole split scans the
 * buffer once per offset however many times it searches (a body full of delimiters that do not
 * start a line, all at one offset, would otherwise rescan the rest of the body three times per
 * occurrence: quadratic).
 */
class WordSearch {
  readonly #haystack: Uint8Array;
  readonly #needle: Uint8Array;
  readonly #words: Uint32Array;
  /** Index of the buffer's word at which {@link #words} starts. */
  readonly #firstWord: number;
  /** The word sought by each scan: the needle's bytes at `needle.length - 7 + scan`. */
  readonly #sought: Uint32Array;
  /** Each scan's next candidate (a needle's start), -1 before its first search, or Infinity. */
  readonly #next = [-1, -1, -1, -1];

  constructor(haystack: Uint8Array, needle: Uint8Array) {
    this.#haystack = haystack;
    this.#needle = needle;
    const base = haystack.byteOffset;
    this.#firstWord = Math.ceil(base / 4);
    const endWord = Math.floor((base + haystack.length) / 4);
    this.#words = new Uint32Array(
      haystack.buffer,
      this.#firstWord * 4,
      Math.max(0, endWord - this.#firstWord),
    );
    // The needle's bytes as the platform reads a word (its endianness, like the view's).
    this.#sought = new Uint32Array(4);
    const bytes = new Uint8Array(this.#sought.buffer);
    for (let scan = 0; scan < 4; scan++) {
      const at = needle.length - 7 + scan;
      bytes.set(needle.subarray(at, at + 4), scan * 4);
    }
  }

  /** The first occurrence at or after `from` (never less than the last call's), or -1. */
  next(from: number): number {
    for (let scan = 0; scan < 4; scan++) {
      if (this.#next[scan]! < from) this.#next[scan] = this.#scan(scan, from);
    }
    for (;;) {
      let scan = 0;
      for (let s = 1; s < 4; s++) if (this.#next[s]! < this.#next[scan]!) scan = s;
      const start = this.#next[scan]!;
      if (start === Infinity) return -1;
      if (matchesAt(this.#haystack, this.#needle, start)) return start;
      this.#next[scan] = this.#scan(scan, start + 1);
    }
  }

  /** The next candidate of `scan` at or after `from`, or Infinity. */
  #scan(scan: number, from: number): number {
    const at = this.#needle.length - 7 + scan;
    const base = this.#haystack.byteOffset;
    // Word k starts at byte (firstWord + k) * 4 of the buffer; the needle then starts `at` before.
    const k = this.#words.indexOf(
      this.#sought[scan]!,
      Math.max(0, Math.ceil((base + from + at) / 4) - this.#firstWord),
    );
    if (k < 0) return Infinity;
    const start = (this.#firstWord + k) * 4 - base - at;
    return start + this.#needle.length <= this.#haystack.length ? start : Infinity;
  }
}

/** True when `needle` occurs in `haystack` at `i`. */
function matchesAt(haystack: Uint8Array, needle: Uint8Array, i: number): boolean {
  let j = 0;
  while (j < needle.length && haystack[i + j] === needle[j]) j++;
  return j === needle.length;
}

/**
 * Finds `--boundary` at the very start of the body or right after a line break, at or after a
 * position that grows from call to call.
 */
function delimiterFinder(buf: Uint8Array, delimiter: Uint8Array): (from: number) => number {
  const words = delimiter.length >= 8 && buf.length >= WORD_SEARCH_BYTES
    ? new WordSearch(buf, delimiter)
    : null;
  return (from) => {
    let at = from;
    for (;;) {
      const hit = words ? words.next(at) : indexOfBytes(buf, delimiter, at);
      if (hit < 0) return -1;
      if (hit === 0 || buf[hit - 1] === 0x0a) return hit;
      at = hit + 1;
    }
  };
}

function parseHeaders(block: Uint8Array): Map<string, string> {
  const headers = new Map<string, string>();
  // Browsers send raw UTF-8 in quoted file names; fall back to Latin-1 for anything else.
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(block);
  } catch {
    text = new TextDecoder("latin1").decode(block);
  }
  let last = "";
  for (const line of text.split(/\r?\n/)) {
    if ((line.startsWith(" ") || line.startsWith("\t")) && last !== "") {
      headers.set(last, `${headers.get(last) ?? ""} ${line.trim()}`); // obsolete line folding
      continue;
    }
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    last = line.slice(0, colon).trim().toLowerCase();
    headers.set(last, line.slice(colon + 1).trim());
  }
  return headers;
}
