/**
 * Apprise `json://` (`{version, title, message, type, attachments:[{filename, base64,
 * mimetype}]}`), `form://` (fields `version`, `title`, `message`, `type` plus file parts
 * under any name: `file01`, `attach`, …) and `xml://` (the same fields in a SOAP envelope). The notification type becomes an emoji, the title
 * a bold first line; every attachment is kept (images as photos, the rest as documents).
 * As for the native format, the attachment count limit is the HTTP layer's job.
 *
 * @module
 */
import type { Attachment } from "../../message.ts";
import type { FormatAdapter, ParsedPayload, PayloadInput } from "./types.ts";
import { PayloadError } from "./types.ts";
import { block, bold, truncate } from "./_markup.ts";
import { asHttpUrl, asObject, type JsonObject } from "./_read.ts";
import { decodeEntities } from "../../html_entities.ts";
import { kindOf, MAX_FILENAME, uploadedAttachments } from "./_uploads.ts";
import { lazySchema } from "./_schemas.ts";

/** The message body is cut here (about five TrueConf messages). */
export const MAX_APPRISE_TEXT = 20_000;

/** Apprise notification types and their emoji. */
const TYPE_EMOJI: Readonly<Record<string, string>> = {
  info: "ℹ️",
  success: "✅",
  warning: "⚠️",
  failure: "❌",
};

/** Keys that mark a body as some other format's, even though it has `message`/`title`. */
const FOREIGN_KEYS = ["text", "alerts", "orgId", "evalMatches", "ruleUrl", "state"];

function isAppriseJson(v: unknown): v is JsonObject {
  const o = asObject(v);
  if (o === undefined || typeof o["message"] !== "string") return false;
  if (FOREIGN_KEYS.some((k) => Object.hasOwn(o, k))) return false;
  return typeof o["version"] === "string" || typeof o["title"] === "string" ||
    (typeof o["type"] === "string" && Object.hasOwn(TYPE_EMOJI, o["type"]));
}

function firstField(fields: ReadonlyMap<string, readonly string[]>, name: string) {
  return fields.get(name)?.[0];
}

const attachmentSchema = lazySchema((z) =>
  z.object({
    filename: z.string().max(1024).nullish(),
    base64: z.string().nullish(),
    mimetype: z.string().max(255).nullish(),
    /** Some Apprise forks send a URL instead of inline bytes. */
    url: z.string().nullish(),
  })
);

/** Decodes standard or URL-safe base64 (whitespace and a `data:…;base64,` prefix allowed). */
function decodeBase64(s: string): Uint8Array | undefined {
  const data = s.replace(/^data:[^,]{0,200};base64,/i, "");
  try {
    return Uint8Array.fromBase64(data, {
      alphabet: /[-_]/.test(data) ? "base64url" : "base64",
    });
  } catch {
    return undefined;
  }
}

function jsonAttachments(value: unknown): Attachment[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    throw new PayloadError(
      "invalid_attachment",
      "attachments must be an array of {filename, base64, mimetype} objects.",
    );
  }
  return value.map((item, i): Attachment => {
    const parsed = attachmentSchema().safeParse(item);
    if (!parsed.success) {
      throw new PayloadError(
        "invalid_attachment",
        `attachments[${i}] must be an object with string filename, base64 and mimetype.`,
      );
    }
    const { filename, base64, mimetype, url } = parsed.data;
    const name = filename === null || filename === undefined || filename === ""
      ? undefined
      : truncate(filename, MAX_FILENAME);
    const mimeType = mimetype === null || mimetype === undefined || mimetype === ""
      ? undefined
      : mimetype;
    const kind = kindOf(mimeType, name);
    const extra = {
      ...(name !== undefined && { filename: name }),
      ...(mimeType !== undefined && { mimeType }),
    };
    if (base64 === null || base64 === undefined) {
      const href = asHttpUrl(url);
      if (href === undefined) {
        throw new PayloadError(
          "invalid_attachment",
          `attachments[${i}] has no base64 content (and no http(s) url).`,
        );
      }
      return { kind, source: { type: "url", url: href }, ...extra };
    }
    const bytes = decodeBase64(base64);
    if (bytes === undefined || bytes.length === 0) {
      throw new PayloadError(
        "invalid_attachment",
        `attachments[${i}].base64 is ${bytes === undefined ? "not valid base64" : "empty"}.`,
      );
    }
    return { kind, source: { type: "bytes", bytes }, ...extra };
  });
}

/** `ℹ️ **Title**\nmessage`: the text of a notification. */
function renderText(title: string, message: string, type: string): string {
  const emoji = TYPE_EMOJI[type];
  const head = bold(title, 250);
  const body = block(message, MAX_APPRISE_TEXT);
  if (head === "" && body === "") return "";
  const first = [emoji, head === "" ? body : head].filter((p) => p !== undefined).join(" ");
  return head === "" || body === "" ? first : `${first}\n${body}`;
}

/**
 * The fields of an Apprise `xml://` notification (plugins/custom_xml.py: a SOAP envelope around
 * `<Notification>`), or `undefined` for other text. Apprise writes each value HTML-escaped
 * between tags of its own, and attachments as `<Attachment filename="…" mimetype="…">base64
 * </Attachment>`, so no XML parser is needed. Found with `indexOf`, not a lazy regex, so a body
 * of many unclosed tags costs one pass, not one per tag.
 */
function appriseXml(text: string): JsonObject | undefined {
  const inner = between(text, "<Notification", "</Notification>", true);
  if (inner === undefined || !inner.includes("<Message>")) return undefined;
  const element = (name: string) => {
    const value = between(inner, `<${name}>`, `</${name}>`, false);
    return value === undefined ? undefined : decodeEntities(value);
  };
  const attachments = [];
  for (let at = inner.indexOf("<Attachment "); at >= 0 && attachments.length < 100;) {
    const close = inner.indexOf("</Attachment>", at);
    if (close < 0) break;
    const m = /^<Attachment\s+filename="([^"]*)"\s+mimetype="([^"]*)"\s*>([^<]*)$/.exec(
      inner.slice(at, close),
    );
    if (m !== null) {
      attachments.push({
        filename: decodeEntities(m[1]!),
        mimetype: decodeEntities(m[2]!),
        base64: m[3]!.trim(),
      });
    }
    at = inner.indexOf("<Attachment ", close);
  }
  return {
    version: element("Version") ?? "",
    title: element("Subject") ?? "",
    message: element("Message") ?? "",
    type: element("MessageType") ?? "",
    attachments,
  };
}

/** The text between `open` (up to its `>` when `openIsPrefix`) and the next `close`. */
function between(
  s: string,
  open: string,
  close: string,
  openIsPrefix: boolean,
): string | undefined {
  const at = s.indexOf(open);
  if (at < 0) return undefined;
  const from = openIsPrefix ? s.indexOf(">", at) + 1 : at + open.length;
  if (from <= 0) return undefined;
  const end = s.indexOf(close, from);
  return end < 0 ? undefined : s.slice(from, end);
}

/** The Apprise `json://` / `form://` / `xml://` adapter. */
export const appriseFormat: FormatAdapter = {
  name: "apprise",
  detect(input: PayloadInput): boolean {
    const body = input.body;
    if (body.kind === "json") return isAppriseJson(body.value);
    if (body.kind === "form") return body.fields.has("message") && !body.fields.has("text");
    if (body.kind === "text") return appriseXml(body.text) !== undefined;
    return false;
  },
  parse(input: PayloadInput): ParsedPayload {
    const body = input.body;
    let title: string;
    let message: string;
    let type: string;
    let attachments: Attachment[];
    const xml = body.kind === "text" ? appriseXml(body.text) : undefined;
    if (body.kind === "json" || xml !== undefined) {
      const o = xml ?? asObject(body.kind === "json" ? body.value : undefined);
      if (o === undefined) {
        throw new PayloadError(
          "invalid_payload",
          "An Apprise body must be a JSON object with title, message and type.",
        );
      }
      title = typeof o["title"] === "string" ? o["title"] : "";
      message = typeof o["message"] === "string" ? o["message"] : "";
      type = typeof o["type"] === "string" ? o["type"] : "";
      attachments = jsonAttachments(o["attachments"]);
    } else if (body.kind === "form") {
      title = firstField(body.fields, "title") ?? "";
      message = firstField(body.fields, "message") ?? "";
      type = firstField(body.fields, "type") ?? "";
      attachments = uploadedAttachments(body.files);
    } else {
      throw new PayloadError(
        "invalid_payload",
        "An Apprise body must be JSON (json://), a form (form://) or Apprise's XML (xml://).",
      );
    }
    const text = renderText(title, message, type);
    if (text === "" && attachments.length === 0) {
      throw new PayloadError(
        "empty_payload",
        "The notification has no title, message or attachment; send at least one.",
      );
    }
    return {
      format: "apprise",
      message: { text, parseMode: "markdown", attachments },
      reply: "json",
    };
  },
};
