/**
 * Request-body decoding: raw bytes + `Content-Type` → {@link RequestBody}. Knows nothing of
 * formats; detection and adapters work on the result.
 *
 * Accepted: `application/json` (and any `+json`, `text/json`), `application/x-www-form-urlencoded`,
 * `multipart/form-data`, `text/plain` (and XML, read as text), and no Content-Type at all (JSON when the body looks
 * like JSON, as Mattermost does; otherwise text). A JSON array, NDJSON (`application/x-ndjson`
 * and its other labels) and JSON objects one after another are a batch of `records`, as log
 * shippers send them (formats/logs.ts). Leniencies, each because real senders need it:
 * - JSON strings with raw newlines/tabs (legacy Mattermost senders) are repaired and re-parsed;
 * - a form-urlencoded body that starts with `{` is read as JSON, because
 *   `curl -d '{"text":"hi"}' URL` sends exactly that; one without any `=`, or whose field
 *   names have spaces, is read as text, because `curl -d "Backup done" URL` sends that;
 * - `payload=` followed by a whole JSON object is that object as written, because Ansible's
 *   rocketchat and bearychat modules send `"payload=" + json` without percent-encoding it;
 * - a `charset` parameter is honoured (e.g. `windows-1251`); without one the body must be UTF-8.
 *
 * @module
 */
import { decodeUtf8 } from "../bytes.ts";
import { PayloadError, type RequestBody, type UploadedFile } from "./formats/types.ts";
import { cleanFileName, parseHeaderValue } from "../net/mod.ts";
import { MultipartError, splitMultipart } from "./_multipart.ts";
import { splitJsonStream } from "./_json_stream.ts";

/** Limits applied while decoding. */
export interface DecodeLimits {
  /**
   * Most uploaded file parts a multipart body may carry, whatever their names; default no limit
   * but {@link MAX_FORM_FIELDS} parts. The hook endpoint counts attachments after the format
   * has read the body (WEBHOOK_MAX_ATTACHMENTS counts what would be posted, not file parts a
   * format ignores); a reader that takes every file part may cap them here.
   */
  readonly maxFiles?: number | undefined;
}

/** The content types named in the 415 answer. */
export const ACCEPTED_CONTENT_TYPES: readonly string[] = [
  "application/json",
  "application/x-ndjson",
  "application/x-www-form-urlencoded",
  "multipart/form-data",
  "text/plain",
  "application/xml",
];

/** JSON labels from before `application/json` was registered, which some tools still send. */
const LEGACY_JSON: ReadonlySet<string> = new Set([
  "text/json",
  "application/x-json",
  "text/x-json",
]);

const JSON_HINT = 'Send a JSON object like {"text":"hello"}.';

/**
 * Decodes a request body by its content type.
 *
 * @throws PayloadError `invalid_json`, `invalid_payload` (JSON that is not an object),
 *   `invalid_encoding`, `invalid_multipart`, `too_many_attachments` (only with
 *   {@link DecodeLimits.maxFiles}), `unsupported_content_type` (415)
 */
export function decodeBody(
  bytes: Uint8Array,
  contentType: string | null,
  limits: DecodeLimits = {},
): Promise<RequestBody> {
  // Synchronous work behind an async signature: the HTTP layer awaits it, and a future
  // streaming decoder can slot in without changing callers.
  try {
    return Promise.resolve(decodeSync(bytes, contentType, limits));
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * NDJSON's labels (ndjson.org's `application/x-ndjson`, JSON Lines' `jsonl`), as log shippers
 * send a batch one record per line: Fluent Bit `format json_lines` (3.0.4+), Vector's
 * `newline_delimited` framing, Fluentd's `out_http`.
 */
const NDJSON: ReadonlySet<string> = new Set([
  "application/x-ndjson",
  "application/ndjson",
  "application/jsonl",
  "application/x-jsonl",
  "application/jsonlines",
  "application/x-jsonlines",
  "application/json-lines",
  "application/json-seq",
]);

/** How a body of a Content-Type is read; null for a type the bot does not read (415). */
type Reading = "sniff" | "json" | "ndjson" | "urlencoded" | "multipart" | "text" | null;

function readingOf(type: string): Reading {
  if (type === "") return "sniff";
  if (type === "application/json" || type.endsWith("+json") || LEGACY_JSON.has(type)) {
    return "json";
  }
  if (NDJSON.has(type)) return "ndjson";
  if (type === "application/x-www-form-urlencoded") return "urlencoded";
  if (type === "multipart/form-data") return "multipart";
  // XML is text: Apprise's xml:// notification is read by the Apprise adapter, any other XML
  // is posted as sent, like a text/plain body.
  if (type === "text/plain" || type === "application/xml" || type === "text/xml") return "text";
  return null;
}

function unsupportedType(type: string): PayloadError {
  // Fluent Bit's `http` output sends MessagePack unless told otherwise: say what to set.
  const hint = /^application\/(x-)?msgpack$/.test(type)
    ? " Fluent Bit's http output: set format json (or json_lines)."
    : "";
  return new PayloadError(
    "unsupported_content_type",
    `Content-Type "${type}" is not supported. Use one of: ${
      ACCEPTED_CONTENT_TYPES.join(", ")
    }.${hint}`,
    415,
  );
}

/**
 * The `415 unsupported_content_type` {@link decodeBody} would answer for this Content-Type,
 * known from the request head alone (the HTTP layer asks before a body announced with
 * `Expect: 100-continue` is sent); null when the type is read.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(contentTypeRefusal("application/json; charset=utf-8"), null);
 * assert.equal(contentTypeRefusal("application/msgpack")?.status, 415);
 * ```
 */
export function contentTypeRefusal(contentType: string | null): PayloadError | null {
  const type = parseHeaderValue(contentType?.trim() ?? "").value;
  return readingOf(type) === null ? unsupportedType(type) : null;
}

function decodeSync(
  bytes: Uint8Array,
  contentType: string | null,
  limits: DecodeLimits,
): RequestBody {
  const header = contentType?.trim() ?? "";
  const { value: type, params } = parseHeaderValue(header);
  const charset = params.get("charset");
  const reading = readingOf(type);

  if (reading === "sniff") {
    const text = decodeText(bytes, charset);
    return looksLikeJson(text) ? jsonBody(text) : { kind: "text", text };
  }
  if (reading === "json") return jsonBody(decodeText(bytes, charset));
  if (reading === "ndjson") return ndjsonBody(decodeText(bytes, charset));
  if (reading === "urlencoded") {
    const text = decodeText(bytes, charset);
    if (text.trimStart().startsWith("{")) return jsonBody(text);
    const unencoded = unencodedPayload(text);
    if (unencoded !== null) {
      return { kind: "form", fields: new Map([["payload", [unencoded]]]), files: [] };
    }
    // `curl -d "Backup done"` (ntfy's own example, and every `curl -d "$msg"` script) is
    // labelled a form but holds none: no `=` at all, or a "field name" with spaces.
    if (!text.includes("=")) return { kind: "text", text };
    const fields = parseUrlEncoded(text);
    for (const name of fields.keys()) if (/\s/.test(name)) return { kind: "text", text };
    return { kind: "form", fields, files: [] };
  }
  if (reading === "multipart") return decodeMultipart(bytes, params.get("boundary"), limits);
  if (reading === "text") return { kind: "text", text: decodeText(bytes, charset) };
  throw unsupportedType(type);
}

/**
 * The JSON of a Slack-style `payload=<JSON>` form that was not percent-encoded (Ansible's
 * rocketchat and bearychat modules), or null. Read as a form, "93%", "c++" and "a & b" in
 * its text would become "93%", "c  " and a JSON object cut at the "&". An encoder writes `{`
 * as `%7B`, so `payload={` is never an encoded body; one that is a single JSON object is
 * taken as written (Slack and Rocket.Chat's parsers would fail on it instead).
 */
function unencodedPayload(text: string): string | null {
  if (!text.startsWith("payload={")) return null;
  const json = text.slice("payload=".length);
  try {
    const value: unknown = JSON.parse(json);
    return value !== null && typeof value === "object" && !Array.isArray(value) ? json : null;
  } catch {
    return null;
  }
}

function looksLikeJson(text: string): boolean {
  const first = text.trimStart()[0];
  return first === "{" || first === "[";
}

function decodeText(bytes: Uint8Array, charset: string | undefined): string {
  const label = charset?.trim() || "utf-8";
  // UTF-8, the charset of nearly every body, needs no decoder of its own (`decodeUtf8`).
  let decoder: TextDecoder | null;
  try {
    decoder = /^utf-?8$/i.test(label) ? null : new TextDecoder(label, { fatal: true });
  } catch {
    throw new PayloadError(
      "invalid_encoding",
      `The charset "${label}" is not supported. Send the body as UTF-8.`,
    );
  }
  try {
    return decoder === null ? decodeUtf8(bytes) : decoder.decode(bytes);
  } catch {
    throw new PayloadError(
      "invalid_encoding",
      `The body is not valid ${decoder === null ? "UTF-8" : label}. ` +
        "Send UTF-8 text, or declare the real charset in Content-Type (e.g. text/plain; charset=windows-1251).",
    );
  }
}

function jsonBody(text: string): RequestBody {
  if (text.trim() === "") {
    throw new PayloadError("invalid_json", `The body is empty. ${JSON_HINT}`);
  }
  let value: unknown;
  try {
    value = parseJsonLenient(text);
  } catch (error) {
    // Objects one after another, labelled JSON: Fluent Bit's `json_stream` (and its
    // `json_lines` before 3.0.4, which sent NDJSON as application/json). One object with a
    // defect keeps its own error.
    const split = splitJsonStream(text);
    if (!("values" in split) || split.values.length < 2) throw error;
    try {
      return recordsOf(split.values, "lines");
    } catch {
      throw error;
    }
  }
  // A JSON array is a batch of records (Fluent Bit `format json`, Vector's `json` codec,
  // Logstash `json_batch`): the `logs` format reads it.
  if (Array.isArray(value)) return { kind: "records", records: value, framing: "array" };
  if (value === null || typeof value !== "object") {
    const got = value === null ? "null" : `a ${typeof value}`;
    throw new PayloadError(
      "invalid_payload",
      `The JSON body must be an object, not ${got}. ${JSON_HINT}`,
    );
  }
  return { kind: "json", value };
}

const NDJSON_HINT = "Send one JSON object per line.";

/** An NDJSON body (`application/x-ndjson` and its other labels): its values are the records. */
function ndjsonBody(text: string): RequestBody {
  const split = splitJsonStream(text);
  if ("at" in split) {
    throw new PayloadError(
      "invalid_json",
      `The NDJSON body is not JSON objects one per line: unexpected text at position ${split.at} (${
        lineColumn(text, split.at)
      }). ${NDJSON_HINT}`,
    );
  }
  return recordsOf(split.values, "lines");
}

function recordsOf(values: readonly string[], framing: "lines"): RequestBody {
  const records = values.map((v, i) =>
    parseJsonLenient(v, `Record ${i + 1} of the NDJSON body`, NDJSON_HINT)
  );
  return { kind: "records", records, framing };
}

/**
 * `JSON.parse`, retried once with raw control characters inside strings escaped — Mattermost
 * accepts such bodies (shell scripts interpolating multi-line text), so senders rely on it.
 * The one lenient JSON reader: bodies, and JSON carried in form fields (Slack `payload=`,
 * Discord `payload_json=`) alike.
 *
 * @param where names the JSON in the error ("The body", `The form field "payload"`)
 * @param hint what to send instead, appended to the error
 * @throws PayloadError `invalid_json` with the position of the first error
 */
export function parseJsonLenient(text: string, where = "The body", hint = JSON_HINT): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const repaired = escapeControlCharsInStrings(text);
    if (repaired !== text) {
      try {
        return JSON.parse(repaired);
      } catch {
        // Report the original error: it points at the sender's text, not at our repair.
      }
    }
    throw new PayloadError(
      "invalid_json",
      `${where} is not valid JSON: ${describeJsonError(error, text)}. ${hint}`,
    );
  }
}

/** Escapes U+0000–U+001F found inside JSON string literals; leaves everything else as is. */
export function escapeControlCharsInStrings(text: string): string {
  let out = "";
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    const code = ch.charCodeAt(0);
    if (inString) {
      if (ch === "\\") {
        out += ch + (text[i + 1] ?? "");
        i++;
        continue;
      }
      if (ch === '"') inString = false;
      else if (code < 0x20) {
        out += ch === "\n"
          ? "\\n"
          : ch === "\r"
          ? "\\r"
          : ch === "\t"
          ? "\\t"
          : `\\u${code.toString(16).padStart(4, "0")}`;
        continue;
      }
    } else if (ch === '"') {
      inString = true;
    }
    out += ch;
  }
  return out;
}

/**
 * V8's message without its echo of the body (long, and it may hold secrets), with a position
 * added where V8 gives none ("Unexpected token '}'").
 */
function describeJsonError(error: unknown, text: string): string {
  const message = error instanceof Error ? error.message : String(error);
  let cleaned = message.replace(/, ".*" is not valid JSON$/s, "").replace(/ in JSON at /, " at ");
  if (!/position \d+/.test(cleaned)) {
    const at = jsonErrorPosition(text);
    if (at !== null) cleaned += ` at position ${at} (${lineColumn(text, at)})`;
  }
  return cleaned.length > 200 ? `${cleaned.slice(0, 200)}…` : cleaned;
}

function lineColumn(text: string, at: number): string {
  const before = text.slice(0, at);
  const line = before.split("\n").length;
  return `line ${line} column ${at - before.lastIndexOf("\n")}`;
}

/** Index of the first character a strict JSON reader rejects, or null if none is found. */
export function jsonErrorPosition(text: string): number | null {
  let i = 0;
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i] as string)) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const value = (): void => {
    ws();
    const ch = text[i];
    if (ch === "{") {
      i++;
      ws();
      if (text[i] === "}") return void i++;
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        string();
        ws();
        if (text[i] !== ":") fail();
        i++;
        value();
        ws();
        if (text[i] === ",") i++;
        else if (text[i] === "}") return void i++;
        else fail();
      }
    } else if (ch === "[") {
      i++;
      ws();
      if (text[i] === "]") return void i++;
      for (;;) {
        value();
        ws();
        if (text[i] === ",") i++;
        else if (text[i] === "]") return void i++;
        else fail();
      }
    } else if (ch === '"') {
      string();
    } else {
      const match = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(
        text.slice(i, i + 400),
      );
      if (!match) fail();
      i += (match as RegExpExecArray)[0].length;
    }
  };
  const string = (): void => {
    i++; // opening quote
    while (i < text.length && text[i] !== '"') {
      if ((text.charCodeAt(i)) < 0x20) fail();
      i += text[i] === "\\" ? 2 : 1;
    }
    if (i >= text.length) fail();
    i++;
  };
  try {
    value();
    ws();
    return i < text.length ? i : null;
  } catch (at) {
    return typeof at === "number" ? Math.min(at, text.length) : null;
  }
}

/**
 * Most fields (and parts) one form body may have. Real senders use a handful; the body limit
 * alone would let 25 MB of `a&a&a…` make millions of map entries.
 */
export const MAX_FORM_FIELDS = 1000;

function tooManyFields(): PayloadError {
  return new PayloadError(
    "too_many_fields",
    `The form has more than ${MAX_FORM_FIELDS} fields. Send the message in the fields text, parse_mode, image, file, image_url and file_url.`,
  );
}

/**
 * Parses `a=1&b=2&b=3` keeping every value of repeated names, in order. Strict UTF-8
 * percent-decoding first; a component with a stray `%` ("CPU at 100%") falls back to the
 * WHATWG lenient rules instead of failing the request.
 */
function parseUrlEncoded(text: string): Map<string, string[]> {
  let pairs = 1;
  for (let i = text.indexOf("&"); i >= 0; i = text.indexOf("&", i + 1)) {
    if (++pairs > MAX_FORM_FIELDS) throw tooManyFields();
  }
  const fields = new Map<string, string[]>();
  for (const pair of text.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const name = decodeComponent(eq < 0 ? pair : pair.slice(0, eq));
    const value = decodeComponent(eq < 0 ? "" : pair.slice(eq + 1));
    const values = fields.get(name);
    if (values) values.push(value);
    else fields.set(name, [value]);
  }
  return fields;
}

function decodeComponent(raw: string): string {
  const spaced = raw.replaceAll("+", " ");
  try {
    return decodeURIComponent(spaced);
  } catch {
    return new URLSearchParams(`x=${raw}`).get("x") ?? "";
  }
}

function decodeMultipart(
  bytes: Uint8Array,
  boundary: string | undefined,
  limits: DecodeLimits,
): RequestBody {
  if (!boundary) {
    throw new PayloadError(
      "invalid_multipart",
      "The multipart/form-data Content-Type has no boundary parameter. Let your HTTP client set the header (curl -F does).",
    );
  }
  let parts;
  try {
    parts = splitMultipart(bytes, boundary);
  } catch (error) {
    if (!(error instanceof MultipartError)) throw error;
    throw new PayloadError(
      "invalid_multipart",
      `The multipart body is malformed: ${error.message}.`,
    );
  }
  if (parts.length > MAX_FORM_FIELDS) throw tooManyFields();
  const fields = new Map<string, string[]>();
  const files: UploadedFile[] = [];
  for (const part of parts) {
    const disposition = parseHeaderValue(part.headers.get("content-disposition") ?? "");
    const field = disposition.params.get("name");
    if (disposition.value !== "form-data" || field === undefined) {
      throw new PayloadError(
        "invalid_multipart",
        'Every multipart part needs "Content-Disposition: form-data; name=…".',
      );
    }
    const extName = disposition.params.get("filename*");
    const plainName = disposition.params.get("filename");
    if (extName !== undefined || plainName !== undefined) {
      const filename = extName ?? plainName ?? "";
      // A browser's empty file input: no name and no bytes. Not an upload.
      if (filename === "" && part.bytes.length === 0) continue;
      files.push({
        field,
        filename: cleanFileName(filename) ?? "",
        contentType: parseHeaderValue(part.headers.get("content-type") ?? "").value,
        bytes: part.bytes,
      });
      if (limits.maxFiles !== undefined && files.length > limits.maxFiles) {
        throw new PayloadError(
          "too_many_attachments",
          `At most ${limits.maxFiles} files per body; this one uploads more.`,
        );
      }
      continue;
    }
    let value: string;
    try {
      value = decodeUtf8(part.bytes);
    } catch {
      throw new PayloadError(
        "invalid_encoding",
        `The form field "${field}" is not valid UTF-8. Send text fields as UTF-8.`,
      );
    }
    const values = fields.get(field);
    if (values) values.push(value);
    else fields.set(field, [value]);
  }
  return { kind: "form", fields, files };
}

/** Old IE sent full client paths (`C:\Users\x\report.pdf`); only the last segment is a name. */
