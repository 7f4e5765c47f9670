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
  let pos = findDelimiter(buf, delimiter, 0);
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

    const next = findDelimiter(buf, delimiter, bodyStart);
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
 * The first `needle` in `haystack[from, to)`, or -1. A needle of 8 bytes or more (a
 * delimiter: `--` and the boundary) is found by {@link indexOfWords}; a shorter one (the end of
 * a part's headers, searched within 16 KiB) by the typed array's own `indexOf` for its first
 * byte, checking each candidate in JavaScript.
 */
function indexOfBytes(
  haystack: Uint8Array,
  needle: Uint8Array,
  from: number,
  to = haystack.length,
): number {
  if (needle.length >= 8 && to - from >= WORD_SEARCH_BYTES) {
    return indexOfWords(haystack, needle, from, to);
  }
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

/** Ranges shorter than this are searched byte by byte: views and four scans cost more there. */
const WORD_SEARCH_BYTES = 64 * 1024;

/**
 * The first `needle` (8 bytes or more) in `haystack[from, to)`, or -1, found by native scans of
 * aligned 32-bit words. Any occurrence holds, within its last 7 bytes, one 4-byte word that
 * starts at a multiple of 4 in the buffer; four scans of the buffer as a `Uint32Array` (one per
 * offset of that word in the needle) find every candidate, and a candidate is a match of those
 * 4 bytes of the boundary's random tail, so the JavaScript loop almost never runs. Scanning for
 * the first byte instead (`-`, 1 in 256 bytes of a binary file) ran that loop about 100,000
 * times per 25 MB, enough for V8 to compile it with TurboFan, whose code (about 3 MiB of the
 * executable) then counted in the upload's peak RSS (docs/benchmarks.md, "The 25 MB upload
 * (session 5, upload)"); the four word scans also take less time (about 10 ms for 25 MB).
 */
function indexOfWords(
  haystack: Uint8Array,
  needle: Uint8Array,
  from: number,
  to: number,
): number {
  const base = haystack.byteOffset;
  const firstWord = Math.ceil((base + from) / 4);
  const endWord = Math.floor((base + to) / 4);
  if (endWord <= firstWord) return -1;
  const words = new Uint32Array(haystack.buffer, firstWord * 4, endWord - firstWord);
  // The needle's bytes as the platform reads a word (its endianness, like the view's).
  const tail = new Uint32Array(1);
  const tailBytes = new Uint8Array(tail.buffer);
  let best = -1;
  for (let at = needle.length - 7; at <= needle.length - 4; at++) {
    tailBytes.set(needle.subarray(at, at + 4));
    // Word k starts at byte firstWord * 4 + 4k of the buffer; the needle then starts `at` before.
    const limit = best < 0 ? words.length : Math.ceil((base + best + at) / 4) - firstWord;
    const scan = limit < words.length ? words.subarray(0, Math.max(0, limit)) : words;
    const word = tail[0]!;
    for (let k = scan.indexOf(word); k >= 0; k = scan.indexOf(word, k + 1)) {
      const start = (firstWord + k) * 4 - base - at;
      if (start < from || start + needle.length > to) continue;
      if (matchesAt(haystack, needle, start)) {
        best = start;
        break;
      }
    }
  }
  return best;
}

/** True when `needle` occurs in `haystack` at `i`. */
function matchesAt(haystack: Uint8Array, needle: Uint8Array, i: number): boolean {
  let j = 0;
  while (j < needle.length && haystack[i + j] === needle[j]) j++;
  return j === needle.length;
}

/** Finds `--boundary` at the very start of the body or right after a line break. */
function findDelimiter(buf: Uint8Array, delimiter: Uint8Array, from: number): number {
  let at = from;
  for (;;) {
    const hit = indexOfBytes(buf, delimiter, at);
    if (hit < 0) return -1;
    if (hit === 0 || buf[hit - 1] === 0x0a) return hit;
    at = hit + 1;
  }
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
