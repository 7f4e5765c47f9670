/**
 * A small multipart/form-data parser for the fake upload endpoint. Deno's `Request.formData()`
 * is not used because it turns a part whose only file name is RFC 5987 `filename*=` into a
 * plain string field and ignores `filename*` when both are present; clients send either form
 * (aiohttp raw UTF-8 `filename="…"`, others `filename*=UTF-8''…`), so the fake must read both.
 *
 * @module
 */

/** One part of a multipart body. */
export interface MultipartPart {
  name: string;
  /** `filename*` (decoded) wins over `filename`; null when the part has neither. */
  filename: string | null;
  contentType: string | null;
  data: Uint8Array;
}

const CRLF = [13, 10];
const utf8 = new TextDecoder();

/** The `boundary` parameter of a `multipart/form-data` content type, or null. */
export function boundaryOf(contentType: string | null): string | null {
  if (!contentType || !/^\s*multipart\/form-data\s*;/i.test(contentType)) return null;
  const params = parseParams(contentType.slice(contentType.indexOf(";")));
  return params.get("boundary") || null;
}

/** Parses a complete body; throws an Error naming the defect when it is malformed. */
export function parseMultipart(body: Uint8Array, boundary: string): MultipartPart[] {
  const delimiter = new TextEncoder().encode(`--${boundary}`);
  const bodyDelimiter = new Uint8Array([...CRLF, ...delimiter]);
  let pos = indexOf(body, delimiter, 0);
  if (pos < 0) throw new Error("multipart boundary not found");
  pos += delimiter.length;
  const parts: MultipartPart[] = [];
  for (;;) {
    if (body[pos] === 45 && body[pos + 1] === 45) return parts; // "--": closing delimiter
    // Transport padding (spaces/tabs) may precede the line break.
    while (body[pos] === 32 || body[pos] === 9) pos++;
    if (body[pos] !== 13 || body[pos + 1] !== 10) throw new Error("malformed multipart delimiter");
    pos += 2;
    const headerEnd = indexOf(body, new Uint8Array([13, 10, 13, 10]), pos);
    let headerText: string;
    let dataStart: number;
    if (body[pos] === 13 && body[pos + 1] === 10) {
      headerText = ""; // a part without headers
      dataStart = pos + 2;
    } else {
      if (headerEnd < 0) throw new Error("multipart part headers not terminated");
      headerText = utf8.decode(body.subarray(pos, headerEnd));
      dataStart = headerEnd + 4;
    }
    const dataEnd = indexOf(body, bodyDelimiter, dataStart);
    if (dataEnd < 0) throw new Error("multipart body not terminated");
    parts.push(makePart(headerText, body.subarray(dataStart, dataEnd)));
    pos = dataEnd + bodyDelimiter.length;
  }
}

function makePart(headerText: string, data: Uint8Array): MultipartPart {
  let disposition = "";
  let contentType: string | null = null;
  for (const line of headerText.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const key = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (key === "content-disposition") disposition = value;
    else if (key === "content-type") contentType = value;
  }
  if (!/^form-data\s*(;|$)/i.test(disposition)) {
    throw new Error("multipart part without Content-Disposition: form-data");
  }
  const params = parseParams(disposition.slice("form-data".length));
  const name = params.get("name");
  if (name === undefined) throw new Error("multipart part without a name");
  const star = params.get("filename*");
  const filename = star !== undefined ? decodeExtValue(star) : params.get("filename") ?? null;
  return { name, filename, contentType, data };
}

/** Parses `; key=value; key="quoted \" value"` into lower-cased keys. */
function parseParams(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  while (i < text.length) {
    while (i < text.length && (text[i] === ";" || text[i] === " " || text[i] === "\t")) i++;
    const eq = text.indexOf("=", i);
    if (eq < 0) break;
    const key = text.slice(i, eq).trim().toLowerCase();
    i = eq + 1;
    let value = "";
    if (text[i] === '"') {
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === "\\" && i + 1 < text.length) i++;
        value += text[i];
        i++;
      }
      i++; // closing quote
      while (i < text.length && text[i] !== ";") i++;
    } else {
      const end = text.indexOf(";", i);
      value = text.slice(i, end < 0 ? text.length : end).trim();
      i = end < 0 ? text.length : end;
    }
    if (!out.has(key)) out.set(key, value);
  }
  return out;
}

/** RFC 5987 `charset'lang'percent-encoded` → string. */
function decodeExtValue(value: string): string {
  const match = /^([^']*)'[^']*'(.*)$/.exec(value);
  if (!match) return value;
  const charset = match[1] || "utf-8";
  const encoded = match[2] ?? "";
  const bytes: number[] = [];
  for (let i = 0; i < encoded.length; i++) {
    const ch = encoded.charCodeAt(i);
    if (ch === 37 && /^[0-9a-f]{2}$/i.test(encoded.slice(i + 1, i + 3))) {
      bytes.push(parseInt(encoded.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(ch & 0xff);
    }
  }
  try {
    return new TextDecoder(charset).decode(new Uint8Array(bytes));
  } catch {
    return utf8.decode(new Uint8Array(bytes)); // unknown charset label
  }
}

/**
 * Byte-sequence search (Boyer–Moore–Horspool): a boundary is 30–70 bytes, so most steps skip
 * that far ahead. Searching from each occurrence of the needle's first byte (a CR, about one
 * byte in 256 of a JPEG) took a fifth of this fake's CPU while it received photos.
 */
function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  const last = needle.length - 1;
  const skip = new Int32Array(256).fill(needle.length);
  for (let j = 0; j < last; j++) skip[needle[j]!] = last - j;
  const end = hay.length - needle.length;
  const tail = needle[last]!;
  for (let i = from; i <= end;) {
    const c = hay[i + last]!;
    if (c === tail) {
      let j = last - 1;
      while (j >= 0 && hay[i + j] === needle[j]) j--;
      if (j < 0) return i;
    }
    i += skip[c]!;
  }
  return -1;
}
