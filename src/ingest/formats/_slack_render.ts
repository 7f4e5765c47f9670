/**
 * Rendering of Slack-shaped payloads (top-level text, Block Kit blocks, legacy attachments) to
 * TrueConf Markdown, shared by the Slack and Mattermost adapters; private to the formats folder.
 *
 * Layout (TrueConf has no colour bars, columns or buttons):
 * - text, then blocks, then attachments, separated by blank lines; when top-level blocks render,
 *   top-level `text` is omitted, as Slack does (it is only the notification fallback there);
 * - attachment: pretext; a status emoji for `color`; author; **title** (linked by `title_link`,
 *   or Flock's `url`); text;
 *   `**field**: value` lines; nested blocks; URL buttons as links; _footer · time_; `fallback`
 *   only when nothing else renders;
 * - blocks: header → bold line, section text + fields, context elements joined by " · ",
 *   divider → a rule line, actions → links, rich_text best effort;
 * - images (`image_url`, image blocks, image accessories; `thumb_url` only when the attachment
 *   shows nothing else, since beside text Slack draws it as a 75 px decoration) become photo
 *   attachments fetched by URL.
 *
 * Deliberately ignored (no TrueConf counterpart): interactive buttons without URL, context
 * icons, `callback_id`, `mrkdwn_in` (text fields are always read as mrkdwn, which is what
 * senders mean), `footer_icon`, `author_icon`.
 *
 * @module
 */
import type { z } from "zod";
import type { Attachment } from "../../message.ts";
import { issuePath } from "./_issue_path.ts";
import { isRecord } from "./_read.ts";
import { lazySchema } from "./_schemas.ts";
import {
  emojiFor,
  escapeMarkdown,
  formatEpoch,
  isHttpUrl,
  markdownLink,
  replaceEmojiShortcodes,
} from "./_mrkdwn.ts";
import { PayloadError } from "./types.ts";

/** Slack's documented limits. */
export const MAX_ATTACHMENTS = 100;
/** Slack's documented limits. */
export const MAX_BLOCKS = 50;

/** The rule line used for dividers and section breaks. */
export const RULE = "──────────";

/** The Slack schemas, built with zod on first use (_schemas.ts). */
const schemas = lazySchema((z) => {
  // Senders are sloppy with types (numbers for titles, null for absent); accept scalars as text.
  const scalar = z.union([z.string(), z.number(), z.boolean()]).transform(String).nullish();
  const textObject = z.union([
    z.string().transform((text) => ({ type: "mrkdwn", text })),
    z.looseObject({ type: z.string().nullish(), text: scalar }),
  ]);

  const block = z.looseObject({
    type: z.string(),
    text: textObject.nullish(),
    fields: z.array(textObject).nullish(),
    accessory: z.unknown().optional(),
    elements: z.array(z.unknown()).nullish(),
    image_url: scalar,
    alt_text: scalar,
    title: textObject.nullish(),
    title_url: scalar,
    video_url: scalar,
  });

  const attachment = z.looseObject({
    fallback: scalar,
    color: scalar,
    pretext: scalar,
    author_name: scalar,
    author_link: scalar,
    title: scalar,
    title_link: scalar,
    text: scalar,
    fields: z.array(z.looseObject({ title: scalar, value: scalar })).nullish(),
    image_url: scalar,
    thumb_url: scalar,
    // Flock's attachments (Netdata's Flock method) link the title with `url`; any type is
    // accepted, a Slack body may carry an unrelated `url` of its own.
    url: z.unknown().optional(),
    footer: scalar,
    ts: scalar,
    actions: z.array(z.looseObject({ text: scalar, url: scalar, name: scalar })).nullish(),
    blocks: z.array(block).nullish(),
  });

  /** The Slack fields both adapters read; everything else is accepted and ignored. */
  const payload = z.looseObject({
    text: scalar,
    mrkdwn: z.boolean().nullish(),
    attachments: z.array(attachment).nullish(),
    blocks: z.array(block).nullish(),
  });
  return { textObject, block, attachment, payload };
});

type Schemas = ReturnType<typeof schemas>;
type Block = z.infer<Schemas["block"]>;
type SlackAttachment = z.infer<Schemas["attachment"]>;
type TextObject = z.infer<Schemas["textObject"]>;
/** A parsed Slack-shaped payload. */
export type SlackPayload = z.infer<Schemas["payload"]>;

/** Validates the Slack fields of `value`, mapping problems to Slack's own error codes. */
export function parseSlackShape(value: unknown): SlackPayload {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    if (Array.isArray(record.attachments) && record.attachments.length > MAX_ATTACHMENTS) {
      throw new PayloadError(
        "too_many_attachments",
        `Too many attachments: ${record.attachments.length}; Slack allows at most ${MAX_ATTACHMENTS}.`,
      );
    }
    if (Array.isArray(record.blocks) && record.blocks.length > MAX_BLOCKS) {
      throw new PayloadError(
        "invalid_blocks",
        `Too many blocks: ${record.blocks.length}; Slack allows at most ${MAX_BLOCKS}.`,
      );
    }
  }
  const result = schemas().payload.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue?.path ?? [];
  const code = path[0] === "attachments"
    ? "invalid_attachments"
    : path[0] === "blocks"
    ? "invalid_blocks"
    : "invalid_payload";
  const why = issue?.code === "invalid_type"
    ? `must be ${/^[aeiou]/.test(issue.expected) ? "an" : "a"} ${issue.expected}`
    : "is invalid";
  throw new PayloadError(code, `Field "${issuePath(path)}" ${why}.`);
}

/** How text fields are turned into Markdown (Slack mrkdwn vs Mattermost Markdown). */
export interface RenderOptions {
  /** Converts sender markup (mrkdwn or Markdown) to TrueConf Markdown. */
  readonly translate: (text: string) => string;
}

/** Rendered sections (joined with blank lines by the caller) and photos to attach. */
export interface Rendered {
  readonly text: string;
  readonly blocks: string;
  readonly attachments: string;
  readonly photos: readonly Attachment[];
}

/** Renders a validated Slack-shaped payload. */
export function renderSlackPayload(payload: SlackPayload, options: RenderOptions): Rendered {
  const ctx = new Context(options);
  const rawText = payload.text ?? "";
  const blocks = ctx.blocks(payload.blocks ?? []);
  const text = blocks !== "" || rawText.trim() === ""
    ? ""
    : payload.mrkdwn === false
    ? escapeMarkdown(rawText.replace(/\r\n?/g, "\n"))
    : ctx.translate(rawText);
  const attachments = (payload.attachments ?? []).map((a) => ctx.attachment(a)).filter((s) =>
    s !== ""
  );
  return { text: text.trim(), blocks, attachments: attachments.join("\n\n"), photos: ctx.photos };
}

/** Joins non-empty sections with a blank line. */
export function joinSections(sections: readonly string[]): string {
  return sections.map((s) => s.trim()).filter((s) => s !== "").join("\n\n");
}

class Context {
  readonly photos: Attachment[] = [];
  readonly translate: (text: string) => string;
  readonly #seen = new Set<string>();

  constructor(options: RenderOptions) {
    this.translate = (text) => options.translate(text).trim();
  }

  /** Adds a photo by URL; a non-HTTP value comes back as a text line so it is not lost. */
  photo(url: string | null | undefined): string {
    const value = url?.trim() ?? "";
    if (value === "") return "";
    if (!isHttpUrl(value)) return `🖼 ${escapeMarkdown(value)}`;
    if (!this.#seen.has(value)) {
      this.#seen.add(value);
      this.photos.push({ kind: "photo", source: { type: "url", url: value } });
    }
    return "";
  }

  textObject(object: TextObject | null | undefined): string {
    if (!object) return "";
    const text = object.text ?? "";
    if (object.type !== "plain_text") return this.translate(text);
    // Slack shows shortcodes in plain_text as emoji unless `emoji: false`.
    const shown = (object as { emoji?: unknown }).emoji === false
      ? text
      : replaceEmojiShortcodes(text);
    return escapeMarkdown(shown).trim();
  }

  attachment(att: SlackAttachment): string {
    const body: string[] = [];
    if (att.author_name) {
      const name = escapeMarkdown(att.author_name);
      body.push(
        att.author_link && isHttpUrl(att.author_link) ? markdownLink(name, att.author_link) : name,
      );
    }
    if (att.title) {
      const title = escapeMarkdown(att.title.trim());
      const link = att.title_link?.trim() || (typeof att.url === "string" ? att.url.trim() : "");
      body.push(`**${link ? markdownLink(title, link) : title}**`);
    } else if (att.title_link) {
      body.push(att.title_link.trim());
    }
    if (att.text) body.push(this.translate(att.text));
    const fields = (att.fields ?? []).map((f) => this.field(f.title, f.value)).filter((f) =>
      f !== ""
    );
    if (fields.length > 0) body.push(fields.join("\n"));
    const blocks = this.blocks(att.blocks ?? []);
    if (blocks !== "") body.push(blocks);
    const links = (att.actions ?? []).map((a) => this.button(a.text ?? a.name, a.url)).filter((l) =>
      l !== ""
    );
    if (links.length > 0) body.push(links.join(" · "));
    body.push(this.photo(att.image_url));
    const footer = [att.footer ? escapeMarkdown(att.footer.trim()) : "", timestamp(att.ts)].filter((
      s,
    ) => s !== "");
    if (footer.length > 0) body.push(`_${footer.join(" · ")}_`);

    const pretext = att.pretext ? this.translate(att.pretext) : "";
    // Slack draws thumb_url at 75 px on the side of the attachment's text: beside anything else it
    // is decoration (Netdata's status icon, which the colour emoji already says), and a photo of
    // it would follow every alert, carry the text as its caption, and fail where the bot has no
    // route to the icon's host. Alone, it is the attachment's content.
    if (!att.image_url && pretext === "" && body.every((p) => p.trim() === "")) {
      body.push(this.photo(att.thumb_url));
    }
    let parts = body.filter((p) => p.trim() !== "");
    if (parts.length === 0 && pretext === "" && att.fallback && !att.image_url && !att.thumb_url) {
      parts = [this.translate(att.fallback)];
    }
    // The status emoji marks the title, or else the attachment's first line.
    const lines = [pretext, ...parts].filter((p) => p !== "");
    const status = colorEmoji(att.color);
    if (status !== "" && lines.length > 0) {
      const at = att.title ? lines.findIndex((l) => l.startsWith("**")) : 0;
      lines[Math.max(at, 0)] = `${status} ${lines[Math.max(at, 0)]}`;
    }
    return lines.join("\n");
  }

  field(title: string | null | undefined, value: string | null | undefined): string {
    const t = title?.trim() ? `**${escapeMarkdown(title.trim())}**` : "";
    const v = value?.trim() ? this.translate(value) : "";
    if (t && v) return v.includes("\n") ? `${t}:\n${v}` : `${t}: ${v}`;
    return t || v;
  }

  button(label: string | null | undefined, url: string | null | undefined): string {
    const target = url?.trim() ?? "";
    if (target === "" || !isHttpUrl(target)) return ""; // interactive-only: nothing to click in TrueConf
    return markdownLink(escapeMarkdown(label?.trim() || target), target);
  }

  blocks(blocks: readonly Block[]): string {
    return blocks.map((b) => this.block(b)).filter((s) => s.trim() !== "").join("\n");
  }

  block(block: Block): string {
    switch (block.type) {
      case "section": {
        const parts = [this.textObject(block.text)];
        const fields = (block.fields ?? []).map((f) => this.textObject(f)).filter((f) => f !== "");
        if (fields.length > 0) parts.push(fields.join("\n"));
        parts.push(this.element(block.accessory));
        return parts.filter((p) => p !== "").join("\n");
      }
      case "header":
        // A header is plain_text in Slack (no mrkdwn), whatever type the sender wrote.
        return block.text?.text?.trim()
          ? `**${this.textObject({ ...block.text, type: "plain_text" })}**`
          : "";
      case "context":
        return (block.elements ?? [])
          .map((e) => (isTextObject(e) ? this.textObject(e) : "")) // image elements are icons
          .filter((s) => s !== "")
          .join(" · ");
      case "divider":
        return RULE;
      case "image": {
        const missing = this.photo(block.image_url);
        const title = block.title?.text?.trim()
          ? `_${escapeMarkdown(block.title.text.trim())}_`
          : "";
        return [title, missing].filter((s) => s !== "").join("\n");
      }
      case "actions":
        return (block.elements ?? []).map((e) => this.element(e)).filter((s) => s !== "").join(
          " · ",
        );
      case "rich_text":
        return (block.elements ?? []).map((e) => this.richBlock(e)).filter((s) => s !== "").join(
          "\n",
        );
      case "video": {
        const url = block.title_url || block.video_url;
        const title = block.title?.text ?? url ?? "";
        return url ? this.button(title, url) : "";
      }
      default:
        // input, file, and types newer than this code: show whatever text they carry.
        return this.textObject(block.text);
    }
  }

  /** Block elements: buttons with a URL become links, images become photos. */
  element(element: unknown): string {
    if (!isRecord(element)) return "";
    if (element.type === "image") return this.photo(str(element.image_url));
    if (element.type === "button" || typeof element.url === "string") {
      const label = isTextObject(element.text) ? element.text.text : str(element.text);
      return this.button(label, str(element.url));
    }
    return "";
  }

  richBlock(element: unknown): string {
    if (!isRecord(element)) return "";
    const children = Array.isArray(element.elements) ? element.elements : [];
    switch (element.type) {
      case "rich_text_section":
        return children.map((c) => this.richInline(c)).join("");
      case "rich_text_list": {
        const indent = "  ".repeat(typeof element.indent === "number" ? element.indent : 0);
        const ordered = element.style === "ordered";
        return children
          .map((c, i) => `${indent}${ordered ? `${i + 1}.` : "•"} ${this.richBlock(c)}`)
          .join("\n");
      }
      case "rich_text_preformatted":
        return `\`\`\`\n${children.map((c) => this.richInline(c, true)).join("")}\n\`\`\``;
      case "rich_text_quote":
        return children
          .map((c) => this.richInline(c))
          .join("")
          .split("\n")
          .map((line) => `> ${line}`)
          .join("\n");
      default:
        return "";
    }
  }

  richInline(element: unknown, verbatim = false): string {
    if (!isRecord(element)) return "";
    const style = isRecord(element.style) ? element.style : {};
    switch (element.type) {
      case "text": {
        const raw = str(element.text) ?? "";
        if (verbatim) return raw;
        if (style.code === true) return `\`${raw}\``;
        let out = escapeMarkdown(raw);
        if (out.trim() === "") return out;
        if (style.bold === true) out = `**${out}**`;
        if (style.italic === true) out = `_${out}_`;
        if (style.strike === true) out = `~~${out}~~`;
        return out;
      }
      case "link": {
        const url = str(element.url) ?? "";
        const label = str(element.text);
        if (verbatim) return label ?? url;
        return label ? markdownLink(escapeMarkdown(label), url) : url;
      }
      case "user":
        return `@${str(element.user_id) ?? "user"}`;
      case "usergroup":
        return `@${str(element.usergroup_id) ?? "team"}`;
      case "channel":
        return `#${str(element.channel_id) ?? "channel"}`;
      case "broadcast": {
        const range = str(element.range);
        return range === "everyone" ? "@all" : `@${range ?? "channel"}`;
      }
      case "emoji": {
        const unicode = str(element.unicode);
        if (unicode && /^[0-9a-f]+(-[0-9a-f]+)*$/i.test(unicode)) {
          return String.fromCodePoint(...unicode.split("-").map((h) => parseInt(h, 16)));
        }
        const name = str(element.name) ?? "";
        return emojiFor(name) ?? `:${name}:`;
      }
      case "date": {
        const fallback = str(element.fallback);
        if (fallback) return fallback;
        const ts = Number(element.timestamp);
        return Number.isFinite(ts) ? formatEpoch(ts) : "";
      }
      default:
        return str(element.text) ?? "";
    }
  }
}

/** Slack colour → a leading status emoji; unknown or grey colours get none. */
export function colorEmoji(color: string | null | undefined): string {
  const value = color?.trim().toLowerCase() ?? "";
  if (value === "") return "";
  if (value === "good" || value === "green") return "🟢";
  if (value === "warning" || value === "yellow") return "🟡";
  if (value === "danger" || value === "red") return "🔴";
  // Slack's own hex values for good/warning/danger, which senders copy verbatim.
  if (value === "#2eb886") return "🟢";
  if (value === "#daa038") return "🟡";
  if (value === "#a30200") return "🔴";
  const hex = /^#?([0-9a-f]{3}|[0-9a-f]{6})$/.exec(value)?.[1];
  if (!hex) return "";
  const full = hex.length === 3 ? [...hex].map((c) => c + c).join("") : hex;
  const [r, g, b] = [0, 2, 4].map((i) => parseInt(full.slice(i, i + 2), 16) / 255) as [
    number,
    number,
    number,
  ];
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  const chroma = max - min;
  // Greys, near-black and near-white carry no status.
  if (chroma < 0.15 || max < 0.2) return "";
  let hue: number;
  if (max === r) hue = (((g - b) / chroma) % 6 + 6) % 6 * 60;
  else if (max === g) hue = ((b - r) / chroma + 2) * 60;
  else hue = ((r - g) / chroma + 4) * 60;
  if (hue < 18 || hue >= 330) return "🔴";
  if (hue < 40) return "🟠";
  if (hue < 70) return "🟡";
  if (hue < 170) return "🟢";
  if (hue < 260) return "🔵";
  return "🟣";
}

function timestamp(ts: string | null | undefined): string {
  if (!ts) return "";
  const seconds = Number(ts);
  return Number.isFinite(seconds) && seconds > 0 ? formatEpoch(seconds) : "";
}

function isTextObject(value: unknown): value is { type?: string; text: string } {
  return isRecord(value) && typeof value.text === "string" &&
    (value.type === undefined || value.type === "mrkdwn" || value.type === "plain_text");
}

function str(value: unknown): string | undefined {
  return typeof value === "string" ? value : typeof value === "number" ? String(value) : undefined;
}
