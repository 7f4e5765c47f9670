/**
 * Reading the `.env` file the way systemd reads an `EnvironmentFile`, so one file means the
 * same to the bot, to systemd and to `docker compose` (see the quoting rule in
 * `.env.example`):
 *
 * - `NAME=value`; blanks around `=` and at both ends of an unquoted value are dropped;
 *   `export NAME=value` is accepted too (a shell habit);
 * - lines whose first non-blank character is `#` or `;` are comments; a `#` inside a value is
 *   part of it (`Pa$word#1` stays `Pa$word#1`; `$` is never expanded);
 * - `'single quotes'` keep everything literally, across lines;
 * - `"double quotes"` keep everything but `\"`, `\\`, `` \` `` and `\$` escapes;
 * - outside quotes a backslash keeps the next character (`\#`), and at a line end continues
 *   the value on the next line;
 * - a line without `=` (or with a name that is not a variable name) is skipped, and reported in
 *   {@link EnvFile.badLines};
 * - a quote that is never closed is reported in {@link EnvFile.unclosed}: it would make every
 *   later line part of one value (systemd and compose disagree on what it means).
 *
 * Node's `parseEnv` cuts an unquoted value at `#`, so `Pa$word#1` became `Pa$word` for the
 * bot while systemd passed the whole password: the reason this parser exists.
 *
 * @module
 */

/** The variables of an env file, and what in it could not be read. */
export interface EnvFile {
  readonly values: Record<string, string>;
  /** Line numbers (from 1) that were not `NAME=value` or a comment, skipped. */
  readonly badLines: readonly number[];
  /** The first quote never closed: its line, the variable and the quote character. */
  readonly unclosed: { line: number; name: string; quote: "'" | '"' } | null;
}

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Parses env-file text with systemd's rules (above).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseEnvFile("A=Pa$word#1\nB='x y'\n# c").values, { A: "Pa$word#1", B: "x y" });
 * ```
 */
export function parseEnvFile(text: string): EnvFile {
  const values: Record<string, string> = {};
  const badLines: number[] = [];
  let unclosed: EnvFile["unclosed"] = null;
  let i = 0;
  let line = 1;
  const n = text.length;
  while (i < n) {
    const startLine = line;
    // Leading blanks, then a comment, an empty line or a name.
    while (i < n && (text[i] === " " || text[i] === "\t" || text[i] === "\r")) i++;
    if (i >= n) break;
    if (text[i] === "\n") {
      i++;
      line++;
      continue;
    }
    if (text[i] === "#" || text[i] === ";") {
      while (i < n && text[i] !== "\n") i++;
      continue;
    }
    let key = "";
    while (i < n && text[i] !== "=" && text[i] !== "\n") key += text[i++];
    if (i >= n || text[i] === "\n") {
      badLines.push(startLine);
      continue;
    }
    i++; // "="
    key = key.trim().replace(/^export\s+/, "");
    // The value: an unquoted run whose trailing blanks are dropped, quoted runs kept whole.
    let value = "";
    let keep = 0; // length of `value` that trailing-blank trimming must not cut into
    while (i < n && (text[i] === " " || text[i] === "\t")) i++;
    while (i < n && text[i] !== "\n") {
      const c = text[i]!;
      if (c === "'") {
        const end = text.indexOf("'", i + 1);
        const stop = end === -1 ? n : end;
        if (end === -1) unclosed ??= { line, name: key, quote: "'" };
        for (let j = i + 1; j < stop; j++) if (text[j] === "\n") line++;
        value += text.slice(i + 1, stop);
        keep = value.length;
        i = stop + 1;
      } else if (c === '"') {
        const opened = line;
        i++;
        while (i < n && text[i] !== '"') {
          if (text[i] === "\\" && i + 1 < n) {
            const next = text[i + 1]!;
            if (next === "\n") line++;
            else if ('"\\`$'.includes(next)) value += next;
            else value += "\\" + next;
            i += 2;
            continue;
          }
          if (text[i] === "\n") line++;
          value += text[i++];
        }
        if (i >= n) unclosed ??= { line: opened, name: key, quote: '"' };
        i++;
        keep = value.length;
      } else if (c === "\\" && i + 1 < n) {
        if (text[i + 1] === "\n") line++;
        else if (text[i + 1] !== "\r") value += text[i + 1];
        i += 2;
        keep = value.length;
      } else {
        value += c;
        if (c !== " " && c !== "\t" && c !== "\r") keep = value.length;
        i++;
      }
    }
    value = value.slice(0, keep);
    if (NAME_RE.test(key)) values[key] = value;
    else badLines.push(startLine);
  }
  return { values, badLines, unclosed };
}
