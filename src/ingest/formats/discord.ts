/**
 * Discord (and Chatalot, which copies its shape) execute-webhook bodies:
 *
 * - JSON `{content, username, avatar_url, tts, embeds[], allowed_mentions, components, poll}`;
 * - multipart with the JSON in a `payload_json` field (or the same fields as form fields) and
 *   files in `files[n]`/`file`/any other file part (images become photos, the rest documents;
 *   a `payload_json.attachments[{id, filename}]` entry renames `files[id]`).
 *
 * Rendering: `content` is Discord Markdown, which is close to TrueConf's: `<@id>`, `<#id>`,
 * `<@&id>` become `@id`/`#id`/`@role`, `<t:unix:style>` a UTC time, `# heading` a bold line,
 * `<https://…>` the bare URL. `username` heads the text as for Mattermost (`**name**: …`).
 * Each embed renders like a Slack attachment (colour → status emoji, author, linked title,
 * description, `**field**: value` lines, _footer · time_); `image`/`thumbnail` become photos
 * fetched through the SSRF-guarded fetcher; link buttons (`components`, style 5) become links (and URL
 * buttons, `_link_buttons.ts`).
 * `@everyone`/`@here` address the chat only where Discord would ping: in `content`, unless
 * `allowed_mentions.parse` leaves `everyone` out, never in embeds. `avatar_url`, `tts`,
 * `flags`, `thread_name` are accepted and ignored.
 *
 * Length: Discord caps `content` at 2000 characters and Chatalot at 4000 (answering 422). The
 * bot takes longer content and splits it at 4096 like any message, because a refused
 * notification is lost for senders that do not retry, and the chat has no such limit.
 * More than 10 embeds is refused (`400 invalid_embeds`), as Discord does.
 *
 * Answer: `204`; with `?wait=true` `200` and Discord's message object (see `answer.ts`).
 *
 * @module
 */
import type { Attachment } from "../../message.ts";
import { parseJsonLenient } from "../decode_body.ts";
import { dropUnsafeLinks, escapeMarkdown, formatEpoch, markdownLink } from "./_mrkdwn.ts";
import { limitText } from "./_markup.ts";
import { MAX_CARD_TEXT } from "./_card_output.ts";
import { asArray, asHttpUrl, asObject, asString, asText, isRecord } from "./_read.ts";
import { ButtonRows, type OfferedLink } from "./_link_buttons.ts";
import { joinSections, parseSlackShape, renderSlackPayload } from "./_slack_render.ts";
import { uploadedAttachments } from "./_uploads.ts";
import {
  batchRefused,
  type FormatAdapter,
  type ParsedPayload,
  PayloadError,
  type PayloadInput,
  type UploadedFile,
} from "./types.ts";

/** Discord's own limit on embeds per message. */
export const MAX_EMBEDS = 10;
/** Discord's own limit on fields per embed. */
export const MAX_EMBED_FIELDS = 25;

/** Top-level fields of Discord's execute-webhook body. */
const DISCORD_KEYS = [
  "content",
  "username",
  "avatar_url",
  "tts",
  "embeds",
  "allowed_mentions",
  "components",
  "flags",
  "thread_name",
  "applied_tags",
  "attachments",
  "poll",
  // Not Discord body fields, but Apprise 1.2.0 sends them in the body (`wait` belongs in the
  // query string; Discord ignores both here).
  "wait",
  "thread_id",
];

/** The Discord/Chatalot adapter. */
export const discordFormat: FormatAdapter = {
  name: "discord",
  detect: detectDiscord,
  parse: parseDiscord,
};

function detectDiscord(input: PayloadInput): boolean {
  const { body } = input;
  if (body.kind === "form") {
    if (body.fields.has("payload_json") || body.fields.has("tts")) return true;
    return body.fields.has("content") && !body.fields.has("text") &&
      !body.fields.has("message");
  }
  if (body.kind !== "json" || !isRecord(body.value)) return false;
  const v = body.value;
  // `text`/`blocks` are Slack's (Rocket.Chat, Mattermost): a body with them is not Discord's.
  if ("text" in v || "blocks" in v) return false;
  return typeof v.content === "string" ||
    (Array.isArray(v.embeds) && Object.keys(v).every((k) => DISCORD_KEYS.includes(k)));
}

function parseDiscord(input: PayloadInput): ParsedPayload {
  const { object, files } = discordObject(input);
  const content = asText(object.content) ?? "";
  const embeds = asArray(object.embeds);
  if (object.embeds !== undefined && object.embeds !== null && !Array.isArray(object.embeds)) {
    throw new PayloadError("invalid_embeds", 'Field "embeds" must be an array of embed objects.');
  }
  if (embeds.length > MAX_EMBEDS) {
    throw new PayloadError(
      "invalid_embeds",
      `Too many embeds: ${embeds.length}; Discord allows at most ${MAX_EMBEDS}.`,
    );
  }
  const rendered = renderSlackPayload(
    parseSlackShape({ attachments: embeds.map(embedAsAttachment) }),
    { translate: discordToMarkdown },
  );
  let lead = content.trim() === "" ? "" : discordToMarkdown(content).trim();
  if (!audienceAllowed(object.allowed_mentions)) lead = quietAudience(lead);
  const name = asText(object.username)?.trim();
  if (name) {
    const label = `**${escapeMarkdown(name)}**`;
    lead = lead === "" ? label : `${label}: ${lead}`;
  }
  const buttons = new ButtonRows();
  // `content` is taken whole (split on delivery); what embeds, polls and buttons add is capped.
  // Discord never pings from an embed.
  const extras = limitText(
    joinSections([
      pollText(object.poll),
      quietAudience(rendered.attachments),
      buttonLinks(object.components, buttons),
    ]),
    MAX_CARD_TEXT,
  );
  const text = joinSections([lead, extras]);
  const uploaded = uploads(files, object.attachments);
  const attachments: Attachment[] = [...rendered.photos, ...uploaded];
  const hasContent = content.trim() !== "" || rendered.attachments !== "" ||
    rendered.photos.length > 0 || attachments.length > 0 || pollText(object.poll) !== "";
  if (!hasContent) {
    throw new PayloadError(
      "empty_payload",
      'Cannot send an empty message: give "content", an embed or a file.',
    );
  }
  const message = buttons.on({ text, parseMode: "markdown", attachments });
  const echo = {
    message: content,
    username: name || undefined,
    embeds: embeds.map((e) => ({ type: "rich", ...(e as Record<string, unknown>) })),
    files: uploaded.map((a, i) => ({
      filename: a.filename ?? `file${i}`,
      size: a.source.type === "bytes" ? a.source.bytes.length : 0,
      ...(a.mimeType !== undefined && { type: a.mimeType }),
    })),
  };
  return { format: "discord", message, reply: "discord", echo };
}

/** The JSON object of the request and its file parts. */
function discordObject(
  input: PayloadInput,
): { object: Record<string, unknown>; files: readonly UploadedFile[] } {
  const { body } = input;
  if (body.kind === "json") {
    if (!isRecord(body.value)) {
      throw new PayloadError(
        "invalid_payload",
        'The body must be an object like {"content":"hi"}.',
      );
    }
    return { object: body.value, files: [] };
  }
  if (body.kind === "form") {
    const json = body.fields.get("payload_json")?.[0];
    let object: Record<string, unknown> = {};
    if (json !== undefined) {
      const value = parseJsonLenient(
        json,
        'The form field "payload_json"',
        'Send payload_json={"content":"hi"}.',
      );
      if (!isRecord(value)) {
        throw new PayloadError(
          "invalid_payload",
          'The form field "payload_json" must hold a JSON object like {"content":"hi"}.',
        );
      }
      object = value;
    }
    // Discord also takes the fields as plain form fields; payload_json wins when both are sent.
    for (const key of ["content", "username"]) {
      const v = body.fields.get(key);
      if (v !== undefined && object[key] === undefined) object = { ...object, [key]: v.join("\n") };
    }
    return { object, files: body.files };
  }
  if (body.kind === "records") throw batchRefused("discord");
  const text = body.kind === "text" ? body.text : new TextDecoder().decode(body.bytes);
  return { object: { content: text }, files: [] };
}

/** Uploaded files, renamed by `attachments[{id, filename}]` where payload_json gives one. */
function uploads(files: readonly UploadedFile[], described: unknown): Attachment[] {
  const names = new Map<string, string>();
  for (const item of asArray(described).slice(0, 100)) {
    const id = asText(asObject(item)?.["id"]);
    const filename = asString(asObject(item)?.["filename"]);
    if (id !== undefined && filename !== undefined) names.set(id, filename);
  }
  const renamed = files.map((f) => {
    const id = /^files\[(\d+)\]$/.exec(f.field)?.[1];
    const name = id !== undefined ? names.get(id) : undefined;
    return name !== undefined ? { ...f, filename: name } : f;
  });
  return uploadedAttachments(renamed);
}

/** A Discord embed in the shape of a Slack attachment, so one renderer serves both. */
function embedAsAttachment(item: unknown, i: number): Record<string, unknown> {
  const e = asObject(item);
  if (e === undefined) {
    throw new PayloadError("invalid_embeds", `embeds[${i}] must be an object.`);
  }
  const color = typeof e.color === "number" && Number.isInteger(e.color) && e.color >= 0
    ? `#${e.color.toString(16).padStart(6, "0").slice(-6)}`
    : undefined;
  const time = asString(e.timestamp);
  const ms = time !== undefined ? Date.parse(time) : NaN;
  if (asArray(e.fields).length > MAX_EMBED_FIELDS) {
    throw new PayloadError(
      "invalid_embeds",
      `embeds[${i}] has ${
        asArray(e.fields).length
      } fields; Discord allows at most ${MAX_EMBED_FIELDS}.`,
    );
  }
  const fields = asArray(e.fields).map((f) => ({
    title: asText(asObject(f)?.["name"]),
    value: asText(asObject(f)?.["value"]),
  }));
  return {
    color,
    author_name: asText(asObject(e.author)?.["name"]),
    author_link: asHttpUrl(asObject(e.author)?.["url"]),
    title: asText(e.title),
    title_link: asHttpUrl(e.url),
    text: asText(e.description),
    fields,
    image_url: embedImage(e.image),
    thumb_url: embedImage(e.thumbnail),
    footer: asText(asObject(e.footer)?.["text"]),
    ts: Number.isFinite(ms) ? ms / 1000 : undefined,
  };
}

/**
 * An embed image's URL; none for `attachment://<file>`, which names a file uploaded with the
 * message (Grafana's Discord contact point sends its screenshot so), posted as itself.
 */
function embedImage(image: unknown): string | undefined {
  const url = asText(asObject(image)?.["url"]);
  return url === undefined || /^attachment:\/\//i.test(url) ? undefined : url;
}

/**
 * Whether `@everyone`/`@here` in `content` address anyone: yes unless `allowed_mentions` is
 * given and its `parse` leaves `everyone` out (Discord's rule).
 */
function audienceAllowed(allowed: unknown): boolean {
  const rules = asObject(allowed);
  if (rules === undefined) return true;
  return asArray(rules["parse"]).includes("everyone");
}

/**
 * `@everyone`/`@here` with a word joiner after the `@`: shown the same, addressing nobody (the
 * mention layer turns the plain words into TrueConf's `@all` when the hook allows it).
 */
function quietAudience(text: string): string {
  return text.replace(/(?<![\p{L}\p{N}_.@])@(everyone|here)\b/gu, "@\u2060$1");
}

/** `📊 Question` and one line per answer. */
function pollText(poll: unknown): string {
  const question = asText(asObject(asObject(poll)?.["question"])?.["text"]);
  if (question === undefined) return "";
  const answers = asArray(asObject(poll)?.["answers"]).slice(0, 10)
    .map((a) => asText(asObject(asObject(a)?.["poll_media"])?.["text"]))
    .filter((a): a is string => a !== undefined)
    .map((a) => `• ${escapeMarkdown(a)}`);
  return [`📊 **${escapeMarkdown(question)}**`, ...answers].join("\n");
}

/**
 * Link buttons (component type 2, style 5) from action rows, as links on one line, and each
 * action row as a row of URL buttons.
 */
function buttonLinks(components: unknown, rows: ButtonRows): string {
  const links: string[] = [];
  // Discord allows 5 rows of 5 buttons.
  for (const row of asArray(components).slice(0, 5)) {
    const offered: OfferedLink[] = [];
    for (const c of asArray(asObject(row)?.["components"]).slice(0, 5)) {
      const button = asObject(c);
      const url = asHttpUrl(button?.["url"]);
      if (url === undefined) continue;
      const label = asText(button?.["label"]);
      links.push(markdownLink(escapeMarkdown(label ?? url), url));
      offered.push({ label, url });
    }
    rows.add(offered);
  }
  return links.join(" · ");
}

/**
 * Discord Markdown → TrueConf Markdown. Bold, italics, strike, masked links and quotes are the
 * same; what differs is translated: mentions, timestamps, custom emoji, headings, subtext and
 * `<url>` (Discord's "no preview" link). Code spans and blocks are left as they are.
 */
export function discordToMarkdown(text: string): string {
  return text.replace(/\r\n?/g, "\n").split(/(```[\s\S]*?```|`[^`\n]+`)/).map((part, i) =>
    i % 2 === 1 ? part : translateProse(part)
  ).join("");
}

function translateProse(text: string): string {
  return dropUnsafeLinks(text)
    .replace(/<@!?(\d+)>/g, "@$1")
    .replace(/<@&(\d+)>/g, "@role-$1")
    .replace(/<#(\d+)>/g, "#$1")
    .replace(/<a?:([A-Za-z0-9_~]+):\d+>/g, ":$1:")
    .replace(/<t:(-?\d+)(?::[tTdDfFR])?>/g, (_, s: string) => formatEpoch(Number(s)))
    .replace(/<(https?:\/\/[^\s<>]+)>/g, "$1")
    .replace(/^(#{1,3}) +(.+)$/gm, (_, _h: string, title: string) => `**${title.trim()}**`)
    .replace(/^-# +(.+)$/gm, (_, small: string) => `_${small.trim()}_`);
}
