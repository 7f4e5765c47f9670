/**
 * ntfy publishes, as ntfy's clients send them with the server URL `<public>/hook` and the hook
 * token as the topic:
 *
 * - **by headers**, `POST`/`PUT <public>/hook/<token>`: the body is the message, or a file when
 *   `Filename` is given or the body is not UTF-8 text (an upload: a photo for images, else a
 *   document). Fields come from headers or, as ntfy allows, query parameters:
 *   `Title`/`X-Title`/`t`, `Message`/`X-Message`/`m`, `Priority`/`X-Priority`/`p` (1–5 or
 *   min/low/default/high/max/urgent), `Tags`/`X-Tags`/`ta` (emoji shortcodes become emoji
 *   before the title, as ntfy shows them; other tags are listed), `Click`, `Attach`/`a` (a URL
 *   attachment fetched through the SSRF guard) with `Filename`/`f`, `Markdown: yes`, `Actions`
 *   (`view` actions become links; `http`/`broadcast` actions cannot run from a chat and are left
 *   out). `Icon`, `Delay`, `Email`, `Call`, `Cache`, `Firebase` are accepted and ignored.
 * - **as JSON** `{topic, message, title, tags, priority, click, attach, filename, markdown,
 *   actions}`, which ntfy clients post to the server URL itself; the HTTP layer accepts it at
 *   `<public>/hook` and `<public>/` when `topic` is a hook token (`ntfyTopic` in `ntfy_publish.ts`).
 *
 * Rendering: `🚨 🔥 **Title**` (priority 5 → 🚨, 4 → ❗), the message (escaped, or as Markdown
 * with `Markdown: yes`), `Tags: …`, an `Open` link for `Click`, then action links (also URL buttons,
 * `_link_buttons.ts`).
 *
 * An empty message publishes "triggered", as ntfy does.
 *
 * Answer: ntfy's message JSON `{id, time, expires, event:"message", topic, message, …}`
 * (`answer.ts`). Errors use the bot's codes with ntfy's wording.
 *
 * @module
 */
import type { Attachment } from "../../message.ts";
import { dropUnsafeLinks, emojiFor, escapeMarkdown, markdownLink } from "./_mrkdwn.ts";
import {
  asArray,
  asHttpUrl,
  asObject,
  asString,
  asText,
  header,
  isRecord,
  type JsonObject,
} from "./_read.ts";
import { joinSections } from "./_slack_render.ts";
import { ButtonRows } from "./_link_buttons.ts";
import { sniffImageType } from "../../net/mod.ts";
import { MARKDOWN_TYPE, NTFY_PRIORITIES } from "./ntfy_publish.ts";
import { headerText } from "./_header_text.ts";
import { bytesAttachment, kindOf } from "./_uploads.ts";
import {
  batchRefused,
  type FormatAdapter,
  type ParsedPayload,
  PayloadError,
  type PayloadInput,
  type RequestBody,
} from "./types.ts";

/** Header (lower-case) and query names of each ntfy field, in ntfy's order of preference. */
const FIELDS = {
  title: ["x-title", "title", "ti", "t"],
  message: ["x-message", "message", "m"],
  priority: ["x-priority", "priority", "prio", "p"],
  tags: ["x-tags", "tags", "tag", "ta"],
  click: ["x-click", "click"],
  attach: ["x-attach", "attach", "a"],
  filename: ["x-filename", "filename", "file", "f"],
  markdown: ["x-markdown", "markdown", "md"],
  actions: ["x-actions", "actions", "action"],
} as const;

/** Keys of ntfy's JSON publish body. */
const JSON_KEYS = [
  "topic",
  "message",
  "title",
  "tags",
  "priority",
  "click",
  "attach",
  "filename",
  "markdown",
  "actions",
  "icon",
  "delay",
  "email",
  "call",
  "cache",
  "firebase",
];

function detectNtfy(input: PayloadInput): boolean {
  const { body } = input;
  if (body.kind === "raw") return true;
  if (body.kind === "json" && isRecord(body.value)) {
    // The topic first: most bodies have none, and need no list of their keys (issue 16).
    return typeof body.value.topic === "string" &&
      Object.keys(body.value).every((k) => JSON_KEYS.includes(k));
  }
  return false;
}

/** The fields of one publish, from JSON or from headers and query. */
interface Publish {
  title: string | undefined;
  message: string | undefined;
  priority: number | undefined;
  tags: string[];
  click: string | undefined;
  attach: string | undefined;
  filename: string | undefined;
  markdown: boolean;
  actions: JsonObject[];
  topic: string | undefined;
}

/** The ntfy adapter. */
export const ntfyFormat: FormatAdapter = {
  name: "ntfy",
  detect: detectNtfy,
  parse(input: PayloadInput): ParsedPayload {
    const { publish, upload } = input.body.kind === "json" && isRecord(input.body.value)
      ? { publish: withHeaders(fromJson(input.body.value), input), upload: undefined }
      : fromHeaders(input);
    const attachments: Attachment[] = [];
    if (upload !== undefined) attachments.push(upload);
    if (publish.attach !== undefined) {
      const url = asHttpUrl(publish.attach);
      if (url === undefined) {
        throw new PayloadError(
          "invalid_url",
          `The attachment URL must be an absolute http:// or https:// URL, got "${
            publish.attach.slice(0, 80)
          }".`,
        );
      }
      attachments.push({
        kind: kindOf(undefined, publish.filename ?? new URL(url).pathname),
        source: { type: "url", url },
        ...(publish.filename !== undefined && { filename: publish.filename }),
      });
    }
    if ((publish.message ?? "").trim() === "" && attachments.length === 0) {
      // ntfy publishes "triggered" for an empty message (`curl -X POST …/topic` is a ping).
      publish.message = "triggered";
    }
    const text = render(publish);
    const buttons = new ButtonRows();
    buttons.add(links(publish));
    return {
      format: "ntfy",
      message: buttons.on({ text, parseMode: "markdown", attachments }),
      reply: "ntfy",
      echo: {
        topic: publish.topic,
        title: publish.title,
        // ntfy's message for a file without one: "You received a file: <name>".
        message: publish.message !== undefined && publish.message !== ""
          ? publish.message
          : attachments[0] !== undefined
          ? `You received a file: ${answerAttachment(attachments[0]).name}`
          : "",
        priority: publish.priority,
        tags: publish.tags,
        click: publish.click,
        ...(attachments.length > 0 && { attachment: answerAttachment(attachments[0]!) }),
        ...(publish.markdown && { contentType: "text/markdown" }),
      },
    };
  },
};

/** The `attachment` of ntfy's answer: name, type and size of an upload, name and URL of a link. */
function answerAttachment(
  a: Attachment,
): { name: string; type?: string; size?: number; url?: string } {
  if (a.source.type === "url") {
    const name = a.filename ?? (new URL(a.source.url).pathname.split("/").pop() || "attachment");
    return { name, url: a.source.url };
  }
  return {
    name: a.filename ?? "attachment",
    ...(a.mimeType !== undefined && { type: a.mimeType }),
    size: a.source.bytes.length,
  };
}

function fromJson(o: JsonObject): Publish {
  const raw = o["priority"];
  const priority = raw === undefined || raw === null
    ? undefined
    : parsePriority(typeof raw === "number" || typeof raw === "string" ? String(raw) : "?");
  return {
    topic: asString(o["topic"]),
    title: asText(o["title"]),
    message: asText(o["message"]),
    priority,
    tags: asArray(o["tags"]).map(asText).filter((t): t is string => t !== undefined),
    click: asText(o["click"]),
    attach: asText(o["attach"]),
    filename: asText(o["filename"]),
    markdown: o["markdown"] === true || o["markdown"] === "true" || o["markdown"] === "yes",
    actions: asArray(o["actions"]).map(asObject).filter((a): a is JsonObject => a !== undefined),
  };
}

/** A field from the headers (ntfy's names, in order) or the query string. */
function headerField(input: PayloadInput, names: readonly string[]): string | undefined {
  for (const n of names) {
    const h = header(input.headers, n);
    const v = h !== undefined ? headerText(h) : input.query?.get(n)?.trim();
    if (v !== undefined && v !== "") return v;
  }
  return undefined;
}

/**
 * ntfy turns a JSON publish into headers and keeps request headers the JSON does not set
 * (Apprise sends `X-Priority`, `X-Tags`, `X-Click` next to a JSON body).
 */
function withHeaders(p: Publish, input: PayloadInput): Publish {
  const priority = headerField(input, FIELDS.priority);
  const tags = headerField(input, FIELDS.tags);
  return {
    ...p,
    title: p.title ?? headerField(input, FIELDS.title),
    priority: p.priority ?? (priority === undefined ? undefined : parsePriority(priority)),
    tags: p.tags.length > 0 || tags === undefined
      ? p.tags
      : tags.split(",").map((t) => t.trim()).filter((t) => t !== ""),
    click: p.click ?? headerField(input, FIELDS.click),
    attach: p.attach ?? headerField(input, FIELDS.attach),
    filename: p.filename ?? headerField(input, FIELDS.filename),
    markdown: p.markdown || /^(yes|true|1)$/i.test(headerField(input, FIELDS.markdown) ?? ""),
    actions: p.actions.length > 0 ? p.actions : parseActions(headerField(input, FIELDS.actions)),
  };
}

function fromHeaders(input: PayloadInput): { publish: Publish; upload: Attachment | undefined } {
  const field = (names: readonly string[]) => headerField(input, names);
  const priority = field(FIELDS.priority);
  const filename = field(FIELDS.filename);
  const attach = field(FIELDS.attach);
  // As ntfy: with an Attach URL the body is the message and Filename names the linked file.
  const { text, file } = attach !== undefined
    ? { text: bodyText(input.body), file: undefined }
    : bodyContent(input.body, filename);
  // ntfy turns a literal `\n` of the header (which cannot hold a line break) into one.
  const fieldMessage = field(FIELDS.message)?.replaceAll("\\n", "\n");
  const publish: Publish = {
    topic: undefined,
    title: field(FIELDS.title),
    // ntfy: a message in a header or query parameter is used when the body is a file or empty.
    message: text !== undefined && text !== "" ? text : fieldMessage,
    priority: priority === undefined ? undefined : parsePriority(priority),
    tags: (field(FIELDS.tags) ?? "").split(",").map((t) => t.trim()).filter((t) => t !== ""),
    click: field(FIELDS.click),
    attach,
    filename,
    markdown: /^(yes|true|1)$/i.test(field(FIELDS.markdown) ?? "") ||
      MARKDOWN_TYPE.test(header(input.headers, "content-type") ?? ""),
    actions: parseActions(field(FIELDS.actions)),
  };
  if (file === undefined) return { publish, upload: undefined };
  return {
    publish,
    upload: bytesAttachment(file.bytes, file.filename ?? filename ?? "attachment", file.type),
  };
}

/** The body as message text only (ntfy: a body beside an Attach URL must be UTF-8 text). */
function bodyText(body: RequestBody): string {
  if (body.kind !== "raw") return bodyContent(body, undefined).text ?? "";
  const text = utf8Text(body.bytes);
  if (text === undefined) {
    throw new PayloadError(
      "invalid_encoding",
      "With an Attach URL the body is the message and must be UTF-8 text; to upload a file, " +
        "send it without Attach (curl -T file -H 'Filename: name').",
    );
  }
  return text;
}

/** The bytes as message text (line ends normalised), or undefined when they are not UTF-8. */
function utf8Text(bytes: Uint8Array): string | undefined {
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return text.replace(/\r\n?/g, "\n").replace(/\n+$/, "");
  } catch {
    return undefined;
  }
}

interface BodyFile {
  bytes: Uint8Array;
  filename: string | undefined;
  type: string | undefined;
}

/** The body as message text, or as a file (with `Filename`, or when it is not UTF-8). */
function bodyContent(
  body: RequestBody,
  filename: string | undefined,
): { text: string | undefined; file: BodyFile | undefined } {
  switch (body.kind) {
    case "text":
      return filename !== undefined && body.text !== ""
        ? {
          text: undefined,
          file: { bytes: new TextEncoder().encode(body.text), filename, type: undefined },
        }
        : { text: body.text.replace(/\r\n?/g, "\n").replace(/\n+$/, ""), file: undefined };
    case "form": {
      // Apprise's ntfy plugin sends an attachment as a multipart `file` part.
      const part = body.files[0];
      const fields = [...body.fields.values()].flat().join("\n");
      return part !== undefined
        ? {
          text: undefined,
          file: { bytes: part.bytes, filename: part.filename || filename, type: part.contentType },
        }
        : { text: fields, file: undefined };
    }
    case "json":
      return { text: JSON.stringify(body.value), file: undefined };
    case "records":
      throw batchRefused("ntfy");
    case "raw": {
      if (body.bytes.length === 0) return { text: "", file: undefined };
      const type = body.contentType.split(";")[0]?.trim().toLowerCase() ?? "";
      if (type === "multipart/form-data") {
        throw new PayloadError(
          "invalid_multipart",
          "Send the file itself as the body (curl -T file -H 'Filename: name'), not a form.",
        );
      }
      // Not UTF-8 text: ntfy keeps such a body as an attachment named "attachment".
      const text = filename === undefined ? utf8Text(body.bytes) : undefined;
      if (text !== undefined) return { text, file: undefined };
      // curl -T sends no type (or a form's); ntfy then detects it from the bytes, so an image
      // uploaded without a Filename is still shown as a photo.
      const sentType = type === "" || type === "application/x-www-form-urlencoded" ||
          type === "application/octet-stream"
        ? sniffImageType(body.bytes) ?? (type === "application/octet-stream" ? type : undefined)
        : type;
      return { text: undefined, file: { bytes: body.bytes, filename, type: sentType } };
    }
  }
}

function parsePriority(value: string): number {
  const p = NTFY_PRIORITIES[value.trim().toLowerCase()];
  if (p === undefined) {
    throw new PayloadError(
      "invalid_priority",
      `Invalid priority "${value.slice(0, 20)}": use 1–5 or min, low, default, high, max/urgent.`,
    );
  }
  return p;
}

/**
 * `Actions` header: ntfy's header format or its JSON array form. The header format: actions
 * apart by `;`, fields by `,`; a field is `key=value` or, without a key, the next of action,
 * label and URL; a value may be quoted with `"` or `'` when it holds a comma or semicolon
 * (`view, "Open portal, now", https://…, clear=true; url=https://…, action=view, label=Cam`).
 */
function parseActions(value: string | undefined): JsonObject[] {
  if (value === undefined) return [];
  if (value.trimStart().startsWith("[")) {
    try {
      return asArray(JSON.parse(value)).map(asObject).filter((a): a is JsonObject =>
        a !== undefined
      );
    } catch {
      throw new PayloadError("invalid_actions", "The Actions header is not valid JSON.");
    }
  }
  return splitOutsideQuotes(value, ";").map((a) => {
    const action: Record<string, string> = {};
    for (const field of splitOutsideQuotes(a, ",")) {
      const pair = /^\s*([A-Za-z][\w.-]*)\s*=(.*)$/s.exec(field);
      const key = pair?.[1]?.toLowerCase();
      if (pair !== null && key !== undefined && ACTION_KEY.test(key)) {
        action[key] = unquote(pair[2] ?? "");
        continue;
      }
      const next = POSITIONAL.find((k) => action[k] === undefined);
      if (next !== undefined && field.trim() !== "") action[next] = unquote(field);
    }
    return action;
  }).filter((a) => a["action"] !== undefined);
}

/** The fields a header action names without a key, in order. */
const POSITIONAL = ["action", "label", "url"] as const;
/** Keys of ntfy's header actions (view, http, broadcast, copy). */
const ACTION_KEY = /^(action|label|url|clear|method|body|intent|value|(headers|extras)\..+)$/;

/** `s` split at `sep`, except inside a value quoted with `"` or `'` (quotes open a value only). */
function splitOutsideQuotes(s: string, sep: string): string[] {
  const parts: string[] = [];
  let current = "";
  let quote = "";
  let valueStart = true;
  for (const ch of s) {
    if (quote !== "") {
      if (ch === quote) quote = "";
    } else if (ch === sep) {
      parts.push(current);
      current = "";
      valueStart = true;
      continue;
    } else if (valueStart && (ch === '"' || ch === "'")) {
      quote = ch;
    }
    current += ch;
    // A quote opens a value at its start or right after `key=`.
    if (ch === "=") valueStart = true;
    else if (ch.trim() !== "") valueStart = false;
  }
  parts.push(current);
  return parts;
}

/** A field's value without surrounding whitespace and quotes. */
function unquote(v: string): string {
  const t = v.trim();
  return t.length >= 2 && (t[0] === '"' || t[0] === "'") && t.at(-1) === t[0] ? t.slice(1, -1) : t;
}

/** What a reader can open: `Click` (as "Open"), then the `view` actions (their label, or the URL). */
function links(p: Publish): { label: string | undefined; url: string }[] {
  const click = asHttpUrl(p.click);
  const views = p.actions.filter((a) => asString(a["action"])?.toLowerCase() === "view")
    .map((a) => ({ label: asText(a["label"]), url: asHttpUrl(a["url"]) }));
  return [{ label: "Open", url: click }, ...views]
    .filter((l): l is { label: string | undefined; url: string } => l.url !== undefined);
}

const PRIORITY_EMOJI: Readonly<Record<number, string>> = { 4: "❗", 5: "🚨" };

function render(p: Publish): string {
  const emoji: string[] = [];
  const plainTags: string[] = [];
  for (const tag of p.tags) {
    const e = emojiFor(tag);
    if (e !== undefined) emoji.push(e);
    else plainTags.push(tag);
  }
  const marker = p.priority !== undefined ? PRIORITY_EMOJI[p.priority] : undefined;
  const lead = [marker, ...emoji].filter((e) => e !== undefined).join(" ");
  const title = p.title !== undefined ? `**${escapeMarkdown(p.title.trim())}**` : "";
  const message = p.message === undefined || p.message.trim() === ""
    ? ""
    : p.markdown
    ? dropUnsafeLinks(p.message.trim())
    : escapeMarkdown(p.message.trim());
  const head = [lead, title].filter((s) => s !== "").join(" ");
  const first = head === ""
    ? message
    : message === ""
    ? head
    : title === ""
    ? `${head} ${message}`
    : `${head}\n${message}`;
  return joinSections([
    first,
    [
      plainTags.length > 0 ? `Tags: ${plainTags.map(escapeMarkdown).join(", ")}` : "",
      links(p).map((l) => markdownLink(escapeMarkdown(l.label ?? l.url), l.url)).join(" · "),
    ]
      .filter((l) => l !== "").join("\n"),
  ]);
}
