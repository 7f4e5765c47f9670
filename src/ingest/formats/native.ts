/**
 * The bot's own format, compatible with the Python reference bot:
 *
 * - JSON `{text?, parse_mode?: "text"|"markdown"|"html", images?: [{url}], files?: [{url, filename?}]}`
 *   (`null` counts as absent); keys it does not use are ignored and named in the answer
 *   ({@link ignoredJsonKeys});
 * - multipart or urlencoded form: `text`, `parse_mode`, repeatable `image_url` and `file_url`,
 *   file parts `image` (photo) and `file` (document); other parts are ignored and named in the
 *   answer ({@link ignoredFormParts}), repeated `text` values are joined by newlines;
 *   `curl -d text=hello` works;
 * - `text/plain`: the whole body is the text.
 *
 * Living messages (docs/messages.md): JSON and form fields `key` (edit the hook's message
 * with that key, else post and remember it) and `reply_to` (a message id or key of the hook:
 * post as a reply); JSON `buttons: [[{text, url}]]` (URL buttons on TrueConf 5.5.6+, links
 * after the text on older servers).
 *
 * The default parse mode is `text`. The attachment count limit is the HTTP layer's job; here
 * URLs are only checked for syntax (the SSRF guard runs at fetch time).
 *
 * @module
 */
import {
  type Attachment,
  type Message,
  MESSAGE_KEY,
  type MessageThread,
  PARSE_MODES,
  type ParseMode,
} from "../../message.ts";
import { buttonRowsProblem } from "../../trueconf/mod.ts";
import { describeValue, issuePath } from "./_issue_path.ts";
import { isHttpUrl } from "./_mrkdwn.ts";
import { isRecord } from "./_read.ts";
import { lazySchema } from "./_schemas.ts";
import {
  batchRefused,
  type FormatAdapter,
  type IgnoredParts,
  PayloadError,
  type PayloadInput,
  type RequestBody,
} from "./types.ts";

/** Top-level keys of a native JSON body. */
export const NATIVE_KEYS: readonly string[] = [
  "text",
  "parse_mode",
  "images",
  "files",
  "key",
  "reply_to",
  "buttons",
];

// Built with zod on first use: a form or a text (an upload) is read without it (_schemas.ts).
const nativeJson = lazySchema((z) =>
  z.object({
    text: z.string().nullish(),
    parse_mode: z.enum(PARSE_MODES as [ParseMode, ...ParseMode[]]).nullish(),
    // A missing url is refused by checkUrl below with the same code as a wrong one (zod 4
    // would call a missing unknown() "nonoptional").
    images: z.array(z.object({ url: z.unknown().optional() })).nullish(),
    files: z.array(z.object({ url: z.unknown().optional(), filename: z.string().nullish() }))
      .nullish(),
    key: z.string().nullish(),
    reply_to: z.union([z.string(), z.number()]).nullish(),
    buttons: z.array(z.array(z.object({ text: z.string(), url: z.string() }))).nullish(),
  })
);

/** The expected nesting of `buttons`, told when its shape is wrong. */
const BUTTONS_SHAPE = ' "buttons" takes rows of buttons: [[{"text":"Open","url":"https://…"}]].';

/** The native adapter. Detection is strict so that it never steals another format's body. */
export const nativeFormat: FormatAdapter = {
  name: "native",
  detect: detectNative,
  parse: (input) => {
    const { body } = input;
    if (body.kind === "json") {
      // The text-only body (most requests) has nothing to ignore: read as before, no key scan.
      const plain = plainText(body.value);
      if (plain) return { format: "native", message: finish(plain), reply: "json" };
    }
    const ignoredOf = () =>
      body.kind === "form"
        ? ignoredFormParts(body.fields, body.files)
        : body.kind === "json"
        ? ignoredJsonKeys(body.value)
        : undefined;
    let message: Message;
    try {
      message = parseNative(body);
    } catch (e) {
      // Nothing to post, yet parts were sent (`-F attachment=@a.pdf`, `-F text=@msg.txt`,
      // `-d msg=hi`): those parts are the cause, so the refusal names them and what is read.
      if (!(e instanceof PayloadError) || e.code !== "empty_payload") throw e;
      const ignored = ignoredOf();
      if (!ignored) throw e;
      throw new PayloadError(e.code, `${e.message} ${ignored.note}`, e.status, ignored);
    }
    const ignored = ignoredOf();
    return ignored
      ? { format: "native", message, reply: "json", ignored }
      : { format: "native", message, reply: "json" };
  },
};

/** The form fields the native format reads; files only under {@link FORM_FILE_FIELDS}. */
const FORM_FIELDS: readonly string[] = [
  "text",
  "parse_mode",
  "image_url",
  "file_url",
  "key",
  "reply_to",
];
const FORM_FILE_FIELDS: readonly string[] = ["image", "file"];
/** Names listed at most; the rest are counted. */
const MAX_IGNORED_NAMED = 20;

/**
 * The parts of a form that {@link parseForm} does not read (uploads first: they are what the
 * sender misses most), or undefined when every part was read.
 */
export function ignoredFormParts(
  fields: ReadonlyMap<string, readonly string[]>,
  files: Extract<RequestBody, { kind: "form" }>["files"],
): IgnoredParts | undefined {
  const uploads = new Map<string, number>();
  for (const file of files) {
    if (!FORM_FILE_FIELDS.includes(file.field)) {
      uploads.set(file.field, (uploads.get(file.field) ?? 0) + 1);
    }
  }
  const others = [...fields.keys()].filter((name) => !FORM_FIELDS.includes(name));
  if (uploads.size === 0 && others.length === 0) return undefined;
  const parts = [...uploads.keys(), ...others.filter((name) => !uploads.has(name))];
  const named = parts.slice(0, MAX_IGNORED_NAMED).map((name) => {
    const shown = name.length > 40 ? `${name.slice(0, 40)}…` : name;
    const n = uploads.get(name);
    return n === undefined ? shown : `${shown} (${n === 1 ? "a file" : `${n} files`})`;
  });
  const more = parts.length > MAX_IGNORED_NAMED
    ? ` and ${parts.length - MAX_IGNORED_NAMED} more`
    : "";
  // `curl -F text=@msg.txt` uploads the file; `-F text=<msg.txt` sends its content as the text.
  const asText = uploads.has("text")
    ? " To send a file's content as the text, use curl -F 'text=<file' (not text=@file)."
    : "";
  return {
    parts: parts.slice(0, MAX_IGNORED_NAMED),
    note: `Ignored form parts: ${named.join(", ")}${more}. Upload files as image= (a photo) or ` +
      `file= (a document); the other fields read are ${FORM_FIELDS.slice(0, -1).join(", ")} and ${
        FORM_FIELDS.at(-1)
      }.${asText}`,
  };
}

/** Keys read inside each entry of the native JSON lists. */
const JSON_ENTRY_KEYS: Readonly<Record<string, readonly string[]>> = {
  images: ["url"],
  files: ["url", "filename"],
};
const BUTTON_KEYS: readonly string[] = ["text", "url"];

/**
 * The keys of a native JSON body that {@link parseNative} does not read, top-level ones first,
 * then those inside attachments and buttons by their path (`images[0].caption`), or undefined
 * when every key was read. Called only once the body parsed, so the lists have their shapes.
 */
export function ignoredJsonKeys(value: unknown): IgnoredParts | undefined {
  if (!isRecord(value)) return undefined;
  const keys: string[] = [];
  const nested: string[] = [];
  for (const key of Object.keys(value)) {
    if (!NATIVE_KEYS.includes(key)) keys.push(key);
  }
  for (const [list, read] of Object.entries(JSON_ENTRY_KEYS)) {
    const entries = value[list];
    if (!Array.isArray(entries)) continue;
    entries.forEach((entry, i) => {
      if (!isRecord(entry)) return;
      for (const key of Object.keys(entry)) {
        if (!read.includes(key)) nested.push(`${list}[${i}].${key}`);
      }
    });
  }
  const rows = value.buttons;
  if (Array.isArray(rows)) {
    rows.forEach((row, r) => {
      if (!Array.isArray(row)) return;
      row.forEach((button, b) => {
        if (!isRecord(button)) return;
        for (const key of Object.keys(button)) {
          if (!BUTTON_KEYS.includes(key)) nested.push(`buttons[${r}][${b}].${key}`);
        }
      });
    });
  }
  const all = [...keys, ...nested];
  if (all.length === 0) return undefined;
  const parts = all.slice(0, MAX_IGNORED_NAMED);
  const named = parts.map((name) => name.length > 40 ? `${name.slice(0, 40)}…` : name);
  const more = all.length > MAX_IGNORED_NAMED ? ` and ${all.length - MAX_IGNORED_NAMED} more` : "";
  return {
    parts,
    note: `Ignored keys: ${named.join(", ")}${more}. The native format reads text, parse_mode, ` +
      "images [{url}], files [{url, filename}], key, reply_to and buttons [[{text, url}]].",
  };
}

function detectNative(input: PayloadInput): boolean {
  const { body } = input;
  if (body.kind === "text") return true;
  if (body.kind === "raw" || body.kind === "records") return false;
  if (body.kind === "form") {
    // `payload=` is Slack's form encoding; a lone `message` field is Apprise's `form://`.
    if (body.fields.has("payload")) return false;
    return !body.fields.has("message") || body.fields.has("text");
  }
  const value = body.value;
  if (!isRecord(value)) return false;
  const keys = Object.keys(value);
  if (!keys.every((key) => NATIVE_KEYS.includes(key))) return false;
  return typeof value.text === "string" || "images" in value || "files" in value;
}

/** Parses any body as native, ignoring keys that native does not know. */
export function parseNative(body: RequestBody): Message {
  switch (body.kind) {
    case "text": {
      // `--data-binary @file` and `cmd | curl --data-binary @- …` always end in a line break;
      // drop trailing ones (as shell `$(…)` does) so the chat shows no empty last line.
      const text = normalizeNewlines(body.text).replace(/\n+$/, "");
      return finish({ text, parseMode: "text", attachments: [] });
    }
    case "raw":
      return parseNative({ kind: "text", text: rawText(body.bytes) });
    case "form":
      return parseForm(body.fields, body.files);
    case "json":
      return parseJson(body.value);
    case "records":
      throw batchRefused("native");
  }
}

function parseJson(value: unknown): Message {
  const plain = plainText(value);
  if (plain) return finish(plain);
  const result = nativeJson().safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const path = issuePath(issue?.path ?? []);
    const received = describeValue(valueAt(value, issue?.path ?? []));
    if (issue?.code === "invalid_value" && issue.path[0] === "parse_mode") {
      // `"HTML"`, `"Markdown"`: Telegram's spelling, which senders bring along. Read here,
      // after the schema refused it, so a lower-case mode costs nothing more.
      const mode = lowerParseMode(valueAt(value, issue.path));
      if (mode !== undefined) return parseJson({ ...(value as object), parse_mode: mode });
      throw invalidParseMode(valueAt(value, issue.path));
    }
    if (valueAt(value, issue?.path ?? []) === undefined) {
      throw new PayloadError("invalid_field_type", `Field "${path}" is missing.`);
    }
    const expected = issue?.code === "invalid_type" ? article(issue.expected) : "a valid value";
    // A flat list `[{text,url}]` is the usual mistake: show the nesting, not just the type.
    const shape = issue?.path[0] === "buttons" && issue.path.length <= 3 ? BUTTONS_SHAPE : "";
    throw new PayloadError(
      "invalid_field_type",
      `Field "${path}" must be ${expected}, got ${received}.${shape}`,
    );
  }
  const data = result.data;
  const attachments: Attachment[] = [];
  (data.images ?? []).forEach((image, i) => {
    attachments.push({
      kind: "photo",
      source: { type: "url", url: checkUrl(image.url, `images[${i}].url`) },
    });
  });
  (data.files ?? []).forEach((file, i) => {
    const url = checkUrl(file.url, `files[${i}].url`);
    attachments.push({
      kind: "document",
      source: { type: "url", url },
      ...(file.filename ? { filename: file.filename } : {}),
    });
  });
  const buttons = data.buttons?.filter((row) => row.length > 0) ?? [];
  const problem = buttonRowsProblem(buttons);
  if (problem) {
    throw new PayloadError(
      "invalid_buttons",
      `Field "buttons" (rows of {text, url}): ${problem}.`,
    );
  }
  return finish({
    text: normalizeNewlines(data.text ?? ""),
    parseMode: data.parse_mode ?? "text",
    attachments,
    ...(buttons.length ? { buttons } : {}),
    ...threadOf(data.key, data.reply_to),
  });
}

/**
 * The most common body, `{"text": "…"}` with at most a valid `parse_mode`, read as is: the
 * same message the schema's path builds, without the schema's copy of the object and its
 * result (about 1 KiB per delivery, issue 16). Anything else (`undefined`) goes through the
 * schema, which also words every error.
 */
function plainText(value: unknown): Message | undefined {
  if (!isRecord(value)) return undefined;
  for (const key in value) if (key !== "text" && key !== "parse_mode") return undefined;
  const { text, parse_mode: mode } = value;
  if (typeof text !== "string") return undefined;
  if (mode !== undefined && mode !== null && !(PARSE_MODES as readonly unknown[]).includes(mode)) {
    return undefined;
  }
  return {
    text: normalizeNewlines(text),
    parseMode: (mode ?? "text") as ParseMode,
    attachments: [],
  };
}

/** `key` and `reply_to` as the message's thread (nothing when both are absent). */
export function threadOf(
  key: string | null | undefined,
  replyTo: string | number | null | undefined,
): { thread?: MessageThread } {
  // An empty field is refused, not read as absent: a script whose variable came out empty
  // (`-d key=$KEY`) would otherwise post a new message every time, or a plain one, unwarned.
  const k = key?.trim();
  if (k === "") {
    throw new PayloadError(
      "invalid_message_key",
      'Field "key" is empty: give 1 to 128 printable characters, or leave the field out to post a new message.',
    );
  }
  if (k !== undefined && !MESSAGE_KEY.test(k)) {
    throw new PayloadError(
      "invalid_message_key",
      'Field "key" must be 1 to 128 printable characters.',
    );
  }
  const r = replyTo === null || replyTo === undefined ? undefined : String(replyTo).trim();
  if (r === "") {
    throw new PayloadError(
      "invalid_reply_to",
      'Field "reply_to" is empty: give a message id or a key of this webhook, or leave the field out to post a plain message.',
    );
  }
  if (k === undefined && r === undefined) return {};
  return {
    thread: { ...(k ? { key: k } : {}), ...(r ? { replyTo: r, replyRequired: true } : {}) },
  };
}

function parseForm(
  fields: ReadonlyMap<string, readonly string[]>,
  files: Extract<RequestBody, { kind: "form" }>["files"],
): Message {
  const text = (fields.get("text") ?? []).join("\n");
  const mode = fields.get("parse_mode")?.[0];
  let parseMode: ParseMode = "text";
  if (mode !== undefined && mode !== "") {
    const known = lowerParseMode(mode);
    if (known === undefined) throw invalidParseMode(mode);
    parseMode = known;
  }
  const attachments: Attachment[] = [];
  (fields.get("image_url") ?? []).forEach((url, i) => {
    if (url.trim() === "") return; // an empty form input, not an attachment
    attachments.push({
      kind: "photo",
      source: { type: "url", url: checkUrl(url.trim(), `image_url[${i}]`) },
    });
  });
  (fields.get("file_url") ?? []).forEach((url, i) => {
    if (url.trim() === "") return;
    attachments.push({
      kind: "document",
      source: { type: "url", url: checkUrl(url.trim(), `file_url[${i}]`) },
    });
  });
  for (const file of files) {
    if (!FORM_FILE_FIELDS.includes(file.field)) continue; // named by ignoredFormParts
    attachments.push({
      kind: file.field === "image" ? "photo" : "document",
      source: { type: "bytes", bytes: file.bytes },
      ...(file.filename ? { filename: file.filename } : {}),
      ...(file.contentType ? { mimeType: file.contentType } : {}),
    });
  }
  return finish({
    text: normalizeNewlines(text),
    parseMode,
    attachments,
    ...threadOf(fields.get("key")?.[0], fields.get("reply_to")?.[0]),
  });
}

function finish(message: Message): Message {
  if (message.text.trim() === "" && message.attachments.length === 0) {
    throw new PayloadError(
      "empty_payload",
      "Nothing to post: send a non-empty text or at least one image or file.",
    );
  }
  return message;
}

function checkUrl(url: unknown, field: string): string {
  if (url === undefined) {
    throw new PayloadError(
      "invalid_url",
      `Field "${field}" is missing: give each attachment an absolute http:// or https:// URL.`,
    );
  }
  if (typeof url !== "string" || !isHttpUrl(url)) {
    const shown = typeof url === "string"
      ? `"${url.length > 80 ? `${url.slice(0, 80)}…` : url}"`
      : describeValue(url);
    throw new PayloadError(
      "invalid_url",
      `Field "${field}" must be an absolute http:// or https:// URL, got ${shown}.`,
    );
  }
  return url;
}

/** A parse mode in any letter case (`HTML`, `Markdown`), or undefined when it is none. */
function lowerParseMode(mode: unknown): ParseMode | undefined {
  if (typeof mode !== "string") return undefined;
  const lower = mode.toLowerCase();
  return (PARSE_MODES as readonly string[]).includes(lower) ? lower as ParseMode : undefined;
}

function invalidParseMode(got: unknown): PayloadError {
  const shown = typeof got === "string" ? `"${got}"` : describeValue(got);
  return new PayloadError(
    "invalid_parse_mode",
    `parse_mode must be one of ${PARSE_MODES.map((m) => `"${m}"`).join(", ")}; got ${shown}.`,
  );
}

function article(expected: string): string {
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let current = root;
  for (const key of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

/** A raw body as UTF-8 text, or a clear refusal. */
function rawText(bytes: Uint8Array): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new PayloadError(
      "invalid_encoding",
      "The body is not UTF-8 text. Send text as UTF-8, or a file as multipart/form-data.",
    );
  }
}

/** CRLF from Windows senders and form posts would show as doubled breaks in some clients. */
function normalizeNewlines(text: string): string {
  return text.replace(/\r\n?/g, "\n");
}
