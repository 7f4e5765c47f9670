/**
 * Google Chat incoming webhooks: `{text, cardsV2[{cardId, card}], cards[…], thread}`.
 *
 * - `text` uses Google Chat's formatting, which is Slack's (`*bold*`, `_italic_`, `~strike~`,
 *   `<url|label>`), plus `<users/123>`/`<users/all>` mentions (→ `@123`, `@all`);
 * - `cardsV2` cards: header (bold title, subtitle), sections (bold header) with widgets:
 *   textParagraph, decoratedText (`topLabel`, `text`, `bottomLabel`; its button as a link),
 *   buttonList and chipList (links), image (a photo, fetched through the SSRF guard), columns,
 *   grid (item titles), divider (a rule line); widget text is Google's HTML subset
 *   (`<b>`, `<i>`, `<a href>`, `<br>`, `<font>`), translated to Markdown;
 * - legacy `cards`: textParagraph, keyValue, image, buttons (textButton) and `cardActions`;
 *   `previewText` (Hangouts Chat's, sent by Grafana) is accepted and ignored.
 *
 * `threadKey` (query parameter, or `thread.threadKey` in the body) is echoed in the answer's
 * `thread` and becomes `thread.replyKey` (living messages): the first message with a key starts
 * the thread and is remembered under it, later ones are posted as replies to it. Interactive parts (inputs, form actions,
 * `onClick.action`) have no TrueConf counterpart and are left out.
 *
 * Answer: a Google Chat message JSON (`name`, `text`, `thread`, `space`, `createTime`; see
 * `answer.ts`).
 *
 * @module
 */
import { MESSAGE_KEY } from "../../message.ts";
import { hasHtml, htmlToMarkdown } from "./_html_text.ts";
import { escapeMarkdown, markdownLink, slackToMarkdown } from "./_mrkdwn.ts";
import { asArray, asHttpUrl, asObject, asText, isRecord, type JsonObject } from "./_read.ts";
import { limitText } from "./_markup.ts";
import { CardOutput, MAX_CARD_TEXT, strong } from "./_card_output.ts";
import type { OfferedLink } from "./_link_buttons.ts";
import { joinSections, RULE } from "./_slack_render.ts";
import {
  type FormatAdapter,
  type ParsedPayload,
  PayloadError,
  type PayloadInput,
} from "./types.ts";

/** Top-level fields of a Google Chat message a webhook may send. */
const GOOGLE_CHAT_KEYS = [
  "text",
  "cardsV2",
  "cards",
  "thread",
  "fallbackText",
  "accessoryWidgets",
  "privateMessageViewer",
  "argumentText",
  "formattedText",
  // Hangouts Chat's notification preview; Grafana's Google Chat contact point sends it with
  // `fallbackText` and legacy `cards`, and was posted as unrecognised JSON without it here.
  "previewText",
];
/** Keys only Google Chat bodies carry. */
const MARKERS = ["cardsV2", "cards", "thread", "fallbackText", "accessoryWidgets", "previewText"];
const MAX_DEPTH = 8;

function detectGoogleChat(input: PayloadInput): boolean {
  const { body } = input;
  if (body.kind !== "json" || !isRecord(body.value)) return false;
  const keys = Object.keys(body.value);
  if (!keys.every((k) => GOOGLE_CHAT_KEYS.includes(k))) return false;
  // `{"text":…}` alone is the native format, unless the URL carries Google's threadKey.
  return keys.some((k) => MARKERS.includes(k)) ||
    (input.query?.has("threadKey") === true && typeof body.value.text === "string");
}

/** The Google Chat adapter. */
export const googleChatFormat: FormatAdapter = {
  name: "googlechat",
  detect: detectGoogleChat,
  parse(input: PayloadInput): ParsedPayload {
    const value = input.body.kind === "json" ? asObject(input.body.value) : undefined;
    if (value === undefined) {
      throw new PayloadError(
        "invalid_payload",
        'A Google Chat body is a JSON object like {"text":"hi"} or {"cardsV2":[…]}.',
      );
    }
    const out = new Output();
    const text = asText(value["text"]);
    const sections = [text !== undefined ? chatText(text) : ""];
    for (const item of asArray(value["cardsV2"])) {
      sections.push(out.card(asObject(asObject(item)?.["card"]) ?? {}));
    }
    for (const item of asArray(value["cards"])) sections.push(out.card(asObject(item) ?? {}));
    let rendered = limitText(joinSections(sections), MAX_CARD_TEXT);
    if (rendered === "" && out.photos.length === 0) {
      const fallback = asText(value["fallbackText"]);
      if (fallback === undefined) {
        throw new PayloadError(
          "empty_payload",
          'Nothing to post: the message has no text and no card content. Send {"text":"…"}.',
        );
      }
      rendered = limitText(chatText(fallback), MAX_CARD_TEXT);
    }
    const threadKey = input.query?.get("threadKey") ??
      asText(asObject(value["thread"])?.["threadKey"]);
    // Google puts messages with one threadKey into one thread: here the first starts it and is
    // remembered under the key, later ones reply to it (living messages' replyKey).
    const replyKey = threadKey !== undefined && MESSAGE_KEY.test(threadKey) ? threadKey : undefined;
    return {
      format: "googlechat",
      message: out.buttons.on({
        text: rendered,
        parseMode: "markdown",
        attachments: out.photos,
        ...(replyKey !== undefined && { thread: { replyKey } }),
      }),
      reply: "googlechat",
      echo: { message: text ?? "", threadKey },
    };
  },
};

/** Google Chat message text (Slack-style markup plus `<users/…>` mentions) → Markdown. */
function chatText(text: string): string {
  const mentions = text.replace(/<users\/all>/g, "<!everyone>").replace(
    /<users\/([^<>|\s]+)>/g,
    "<@$1>",
  );
  return slackToMarkdown(mentions).trim();
}

/** Widget text: Google's HTML subset, or plain text. */
function widgetText(text: string): string {
  return hasHtml(text) ? htmlToMarkdown(text) : escapeMarkdown(text.trim());
}

function openLink(onClick: unknown): string | undefined {
  return asHttpUrl(asObject(asObject(onClick)?.["openLink"])?.["url"]);
}

class Output extends CardOutput {
  card(card: JsonObject): string {
    const header = asObject(card["header"]);
    const title = asText(header?.["title"]);
    const subtitle = asText(header?.["subtitle"]);
    const head = [
      title !== undefined ? `**${escapeMarkdown(title.trim())}**` : "",
      subtitle !== undefined ? escapeMarkdown(subtitle.trim()) : "",
    ].filter((l) => l !== "").join("\n");
    if (!this.spend()) return "";
    const sections = asArray(card["sections"]).filter(() => this.spend()).map((s) => {
      const section = asObject(s) ?? {};
      const name = asText(section["header"]);
      const body = this.widgets(asArray(section["widgets"]), 0);
      return [name !== undefined ? strong(widgetText(name)) : "", body]
        .filter((l) => l !== "").join("\n");
    });
    const actions = this.linkLine(
      asArray(card["cardActions"]).filter(() => this.spend()).map((a) => ({
        label: asText(asObject(a)?.["actionLabel"]),
        url: openLink(asObject(a)?.["onClick"]),
      })),
    );
    const footer = asObject(card["fixedFooter"]);
    const footerLinks = this.linkLine(
      ["primaryButton", "secondaryButton"].map((k) => this.button(footer?.[k])),
    );
    return joinSections([head, ...sections, actions, footerLinks]);
  }

  widgets(widgets: readonly unknown[], depth: number): string {
    if (depth > MAX_DEPTH) return "";
    return widgets.filter(() => this.spend()).map((w) => this.widget(asObject(w) ?? {}, depth))
      .filter((s) => s !== "").join("\n");
  }

  widget(w: JsonObject, depth: number): string {
    const paragraph = asObject(w["textParagraph"]);
    if (paragraph !== undefined) return widgetText(asText(paragraph["text"]) ?? "");
    const decorated = asObject(w["decoratedText"]) ?? asObject(w["keyValue"]);
    if (decorated !== undefined) return this.decorated(decorated);
    const image = asObject(w["image"]);
    if (image !== undefined) {
      this.photo(image["imageUrl"]);
      return "";
    }
    const list = asObject(w["buttonList"]);
    if (list !== undefined) {
      return this.linkLine(
        asArray(list["buttons"]).filter(() => this.spend()).map((b) => this.button(b)),
      );
    }
    if (Array.isArray(w["buttons"])) {
      return this.linkLine(
        w["buttons"].filter(() => this.spend()).map((b) =>
          this.button(asObject(b)?.["textButton"])
        ),
      );
    }
    const chips = asObject(w["chipList"]);
    if (chips !== undefined) {
      return this.linkLine(
        asArray(chips["chips"]).filter(() => this.spend()).map((c) => ({
          label: asText(asObject(c)?.["label"]),
          url: openLink(asObject(c)?.["onClick"]),
        })),
      );
    }
    if (w["divider"] !== undefined) return RULE;
    const columns = asObject(w["columns"]);
    if (columns !== undefined) {
      return asArray(columns["columnItems"]).map((c) =>
        this.widgets(asArray(asObject(c)?.["widgets"]), depth + 1)
      ).filter((s) => s !== "").join("\n");
    }
    const grid = asObject(w["grid"]);
    if (grid !== undefined) {
      const title = asText(grid["title"]);
      const items = asArray(grid["items"]).filter(() => this.spend()).map((i) => {
        const item = asObject(i);
        this.photo(asObject(item?.["image"])?.["imageUri"]);
        const t = asText(item?.["title"]);
        const sub = asText(item?.["subtitle"]);
        return t === undefined
          ? ""
          : `• ${escapeMarkdown(t)}${sub ? ` — ${escapeMarkdown(sub)}` : ""}`;
      }).filter((l) => l !== "");
      return [title !== undefined ? `**${escapeMarkdown(title)}**` : "", ...items]
        .filter((l) => l !== "").join("\n");
    }
    return "";
  }

  /** `topLabel` / `text` / `bottomLabel` as `**top**: text` plus the bottom line. */
  decorated(d: JsonObject): string {
    const top = asText(d["topLabel"]);
    const text = asText(d["text"]) ?? asText(d["content"]);
    const bottom = asText(d["bottomLabel"]);
    const main = text !== undefined ? widgetText(text) : "";
    const url = openLink(d["onClick"]);
    const shown = url !== undefined && main !== "" ? markdownLink(main, url) : main;
    const lines = [
      top !== undefined
        ? (shown !== "" ? `**${widgetText(top)}**: ${shown}` : `**${widgetText(top)}**`)
        : shown,
      bottom !== undefined ? `_${widgetText(bottom)}_` : "",
      this.linkLine([this.button(d["button"])]),
    ];
    return lines.filter((l) => l !== "").join("\n");
  }

  /** A button's label and link (none for one that runs an app action: nothing to open here). */
  button(b: unknown): OfferedLink {
    const button = asObject(b);
    return { label: asText(button?.["text"]), url: openLink(button?.["onClick"]) };
  }
}
