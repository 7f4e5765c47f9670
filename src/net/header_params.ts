/**
 * Parsing of parameterized header values (`Content-Type`, `Content-Disposition`): the one
 * parser for both the bodies the bot receives (multipart parts, charsets) and the files it
 * fetches (their download names).
 *
 * @module
 */

/** A header value split into its lower-cased main token and its parameters. */
export interface HeaderValue {
  /** The part before the first `;`, trimmed and lower-cased (`multipart/form-data`). */
  readonly value: string;
  /**
   * Parameters by lower-cased name. An RFC 5987 extended parameter (`filename*=UTF-8''%E2%82%AC`)
   * is decoded and stored under its own name with the star (`filename*`), so callers can prefer it.
   */
  readonly params: ReadonlyMap<string, string>;
}

const NO_PARAMS: ReadonlyMap<string, string> = new Map();

/**
 * Splits `type/subtype; a=b; c="quoted \"x\""` into value and parameters. Tolerant: a malformed
 * parameter is skipped rather than failing the whole header, because senders get these wrong
 * in small ways (missing quotes, stray semicolons) and the main token is what matters most.
 */
export function parseHeaderValue(header: string): HeaderValue {
  let i = header.indexOf(";");
  const value = (i < 0 ? header : header.slice(0, i)).trim().toLowerCase();
  // Most values have no parameters (`application/json`): no Map for them (issue 16).
  if (i < 0) return { value, params: NO_PARAMS };
  const params = new Map<string, string>();
  while (i >= 0 && i < header.length) {
    i++; // past ';'
    while (i < header.length && (header[i] === " " || header[i] === "\t")) i++;
    const eq = header.indexOf("=", i);
    const semi = header.indexOf(";", i);
    if (eq < 0 || (semi >= 0 && semi < eq)) {
      i = semi;
      continue;
    }
    const name = header.slice(i, eq).trim().toLowerCase();
    i = eq + 1;
    while (i < header.length && (header[i] === " " || header[i] === "\t")) i++;
    let raw: string;
    if (header[i] === '"') {
      let out = "";
      i++;
      while (i < header.length && header[i] !== '"') {
        // Only \" and \\ are escapes: old browsers send Windows paths with bare backslashes.
        if (header[i] === "\\" && (header[i + 1] === '"' || header[i + 1] === "\\")) i++;
        out += header[i];
        i++;
      }
      raw = out;
      i = header.indexOf(";", i);
    } else {
      const end = header.indexOf(";", i);
      raw = (end < 0 ? header.slice(i) : header.slice(i, end)).trim();
      i = end;
    }
    if (name === "") continue;
    if (name.endsWith("*")) {
      const decoded = decodeExtValue(raw);
      if (decoded !== null) params.set(name, decoded);
    } else {
      params.set(name, raw);
    }
  }
  return { value, params };
}

/**
 * Decodes an RFC 5987 `ext-value` (`charset'lang'pct-encoded`). Returns null when the charset
 * is unknown or the bytes do not decode, so the plain parameter is used instead.
 */
export function decodeExtValue(raw: string): string | null {
  const first = raw.indexOf("'");
  const second = first < 0 ? -1 : raw.indexOf("'", first + 1);
  if (second < 0) return null;
  const charset = raw.slice(0, first).trim() || "utf-8";
  const encoded = raw.slice(second + 1);
  const bytes: number[] = [];
  for (let i = 0; i < encoded.length; i++) {
    const ch = encoded.charCodeAt(i);
    if (ch === 0x25 /* % */ && /^[0-9a-fA-F]{2}$/.test(encoded.slice(i + 1, i + 3))) {
      bytes.push(parseInt(encoded.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (ch < 0x80) {
      bytes.push(ch);
    } else {
      return null; // ext-value must be ASCII
    }
  }
  try {
    return new TextDecoder(charset, { fatal: true }).decode(new Uint8Array(bytes));
  } catch {
    return null;
  }
}
