/**
 * Microsoft Teams incoming webhooks, both generations:
 *
 * - the Office 365 connector **MessageCard** (`@type: MessageCard`, or Alertmanager's
 *   `type: MessageCard`: `summary`, `themeColor`,
 *   `title`, `text`, `sections[{activityTitle, activitySubtitle, activityText, facts, text,
 *   images}]`, `potentialAction` OpenUri/ViewAction), answered `200 1` as the connector did;
 * - **Workflows** (Power Automate) bodies `{"type":"message","attachments":[{"contentType":
 *   "application/vnd.microsoft.card.adaptive","content":{AdaptiveCard}}]}` (a connector card
 *   in an attachment, or a bare AdaptiveCard, too), answered `202` as Workflows do (with the
 *   body `1`: Grafana before 11 checked for the connector's `1` whatever the host).
 *
 * Adaptive Card elements rendered: TextBlock (bold when `weight: Bolder` or a large size),
 * RichTextBlock, FactSet (`**title**: value`), ColumnSet/Column/Container (in reading order;
 * short columns on one line), Table, Image/ImageSet (photos, fetched through the SSRF guard;
 * `style: person` avatars skipped), ActionSet and card `actions` (Action.OpenUrl as links and URL buttons,
 * Action.ShowCard's card inline). `<at>Name</at>` mentions become `@Name`. Inputs, Submit and
 * Execute actions have no TrueConf counterpart and are left out.
 *
 * Text in both card kinds is Markdown (plus a little HTML in MessageCards), which TrueConf
 * Markdown mostly shares.
 *
 * @module
 */
import { decodeEntities } from "../../html_entities.ts";
import { hasHtml, htmlToMarkdown } from "./_html_text.ts";
import { limitText } from "./_markup.ts";
import { CardOutput, MAX_CARD_IMAGES, MAX_CARD_TEXT, strong } from "./_card_output.ts";
import type { OfferedLink } from "./_link_buttons.ts";
import { dropUnsafeLinks, escapeMarkdown, markdownLink } from "./_mrkdwn.ts";
import {
  asArray,
  asHttpUrl,
  asObject,
  asString,
  asText,
  isRecord,
  type JsonObject,
} from "./_read.ts";
import { colorEmoji, joinSections } from "./_slack_render.ts";
import {
  type FormatAdapter,
  type ParsedPayload,
  PayloadError,
  type PayloadInput,
  type ReplyStyle,
} from "./types.ts";

const ADAPTIVE = "application/vnd.microsoft.card.adaptive";
const CONNECTOR = "application/vnd.microsoft.teams.card.o365connector";

/** Adaptive Card text colours that mean a status, as the status emoji of connector cards. */
const HEADING_STATUS: ReadonlyMap<string, string> = new Map([
  ["attention", "🔴"],
  ["warning", "🟡"],
  ["good", "🟢"],
]);
/** Nesting deeper than this is not rendered (real cards nest a few levels). */
const MAX_DEPTH = 24;

function isMessageCard(v: JsonObject): boolean {
  const type = v["@type"] ?? v["type"];
  return typeof type === "string" && type.toLowerCase() === "messagecard";
}

function cardAttachments(v: JsonObject): JsonObject[] {
  return asArray(v["attachments"]).map(asObject).filter((a): a is JsonObject =>
    a !== undefined && typeof a["contentType"] === "string" &&
    (a["contentType"] === ADAPTIVE || a["contentType"] === CONNECTOR)
  );
}

function detectTeams(input: PayloadInput): boolean {
  const { body } = input;
  if (body.kind !== "json" || !isRecord(body.value)) return false;
  const v = body.value;
  return isMessageCard(v) || v["type"] === "AdaptiveCard" ||
    (Array.isArray(v["attachments"]) && cardAttachments(v).length > 0);
}

/** The Microsoft Teams adapter (MessageCard and Workflows Adaptive Cards). */
export const teamsFormat: FormatAdapter = {
  name: "teams",
  detect: detectTeams,
  parse(input: PayloadInput): ParsedPayload {
    const value = input.body.kind === "json" ? asObject(input.body.value) : undefined;
    if (value === undefined || !detectTeams(input)) {
      throw new PayloadError(
        "invalid_payload",
        'This is not a Teams body: send a MessageCard ("@type":"MessageCard") or ' +
          '{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive","content":{…}}]}.',
      );
    }
    const out = new Output();
    let reply: ReplyStyle;
    if (isMessageCard(value)) {
      out.messageCard(value);
      reply = "teams_connector";
    } else {
      if (value["type"] === "AdaptiveCard") out.adaptiveCard(value, 0);
      for (const a of cardAttachments(value).slice(0, MAX_CARD_IMAGES)) {
        const content = asObject(a["content"]) ?? {};
        if (a["contentType"] === ADAPTIVE) out.adaptiveCard(content, 0);
        else out.messageCard(content);
      }
      reply = "teams_workflow";
    }
    const text = limitText(joinSections(out.sections), MAX_CARD_TEXT);
    if (text === "" && out.photos.length === 0) {
      throw new PayloadError(
        "empty_payload",
        "The card has nothing to show: give it a title, text, facts or an image.",
      );
    }
    return {
      format: "teams",
      message: out.buttons.on({ text, parseMode: "markdown", attachments: out.photos }),
      reply,
    };
  },
};

/**
 * Card text (Markdown, sometimes with HTML) → TrueConf Markdown: `<at>` mentions, headings
 * (TrueConf has none: bold lines) and Adaptive Cards' `{{DATE(…)}}`/`{{TIME(…)}}` functions,
 * which Teams formats for the reader (here: UTC).
 */
function cardText(s: string): string {
  const mentions = s.replace(/<at>([^<]{1,200})<\/at>/gi, "@$1").replace(
    /\{\{(DATE|TIME)\(([^,)]{1,40})(?:,[^)]{0,20})?\)\}\}/g,
    (whole, fn: string, iso: string) => {
      const ms = Date.parse(iso.trim());
      if (!Number.isFinite(ms)) return whole;
      const at = new Date(ms).toISOString();
      return fn === "DATE" ? at.slice(0, 10) : `${at.slice(11, 16)} UTC`;
    },
  );
  return dropUnsafeLinks(hasHtml(mentions) ? htmlToMarkdown(mentions) : decodeEntities(mentions))
    .replace(/\r\n?/g, "\n").replace(/^#{1,6}[ \t]+(.+?)[ \t#]*$/gm, "**$1**").trim();
}

/**
 * A card title's Markdown with what Teams shows as written kept so: brackets that make no link
 * (`[FIRING:1] DiskFull`, Gitea's `[org/api:main] 2 new commits`), never the start of a link
 * label, and underscores inside a word (Prometheus' `node_filesystem_almost_full`), never
 * italics.
 */
function titleMarkdown(markdown: string): string {
  return markdown.replace(/(?<!\\)\[([^\]\n]*)\](?!\()/g, "\\[$1\\]").replace(
    // Code spans, link destinations and bare URLs are passed over: an escape would show there.
    /(`[^`\n]*`|\]\([^)\s]*\)|https?:\/\/\S+)|(?<=[\p{L}\p{N}])_(?=[\p{L}\p{N}])/gu,
    (_match, kept: string | undefined) => kept ?? "\\_",
  );
}

class Output extends CardOutput {
  readonly sections: string[] = [];

  messageCard(card: JsonObject): void {
    const lines: string[] = [];
    const title = asText(card["title"]);
    const text = asText(card["text"]);
    const emoji = colorEmoji(asText(card["themeColor"]));
    // The title is Markdown, as Teams shows it (Ansible's office_365_connector_card example:
    // "This is the **card's title** property"); the summary, shown only in notifications, is
    // plain text.
    const summary = text === undefined && card["sections"] === undefined
      ? asText(card["summary"])
      : undefined;
    if (title !== undefined) lines.push(strong(titleMarkdown(cardText(title))));
    else if (summary !== undefined) lines.push(`**${escapeMarkdown(summary.trim())}**`);
    if (text !== undefined) lines.push(cardText(text));
    // A title that starts with the sender's own status icon (Netdata's "⚠️ Alert WARNING …")
    // gets no second one for its colour.
    const ownIcon = /^\p{Extended_Pictographic}/u.test(title?.trim() ?? "");
    if (emoji !== "" && lines.length > 0 && !ownIcon) lines[0] = `${emoji} ${lines[0]}`;
    const blocks = [lines.join("\n")];
    for (const item of asArray(card["sections"])) {
      const section = asObject(item);
      if (section !== undefined) blocks.push(this.section(section));
    }
    blocks.push(this.connectorActions(card["potentialAction"]));
    const rendered = joinSections(blocks);
    // A card with only `summary` and empty sections still says something.
    if (rendered === "" && asText(card["summary"]) !== undefined) {
      this.sections.push(escapeMarkdown(asText(card["summary"]) ?? ""));
    } else this.sections.push(rendered);
  }

  section(s: JsonObject): string {
    if (!this.spend()) return "";
    const lines: string[] = [];
    const title = asText(s["title"]);
    if (title !== undefined) lines.push(strong(cardText(title)));
    const activity = asText(s["activityTitle"]);
    if (activity !== undefined) lines.push(strong(cardText(activity)));
    const subtitle = asText(s["activitySubtitle"]);
    if (subtitle !== undefined) lines.push(cardText(subtitle));
    const activityText = asText(s["activityText"]);
    if (activityText !== undefined) lines.push(cardText(activityText));
    for (const f of asArray(s["facts"])) {
      if (!this.spend()) break;
      const fact = asObject(f);
      const name = asText(fact?.["name"]);
      const value = asText(fact?.["value"]);
      if (name === undefined && value === undefined) continue;
      lines.push(
        name === undefined
          ? cardText(value ?? "")
          : `**${escapeMarkdown(name.trim().replace(/:$/, ""))}**: ${cardText(value ?? "")}`,
      );
    }
    const text = asText(s["text"]);
    if (text !== undefined) lines.push(cardText(text));
    for (const i of asArray(s["images"]).slice(0, MAX_CARD_IMAGES)) {
      this.photo(asObject(i)?.["image"]);
    }
    if (s["heroImage"] !== undefined) this.photo(asObject(s["heroImage"])?.["image"]);
    const actions = this.connectorActions(s["potentialAction"]);
    if (actions !== "") lines.push(actions);
    return lines.filter((l) => l !== "").join("\n");
  }

  /** OpenUri (`targets[{os, uri}]`, the `default` one first) and ViewAction (`target[]`). */
  connectorActions(actions: unknown): string {
    const links: OfferedLink[] = [];
    for (const item of asArray(actions)) {
      if (!this.spend()) break;
      const a = asObject(item);
      if (a === undefined) continue;
      const name = asText(a["name"]);
      const targets = asArray(a["targets"]).map(asObject);
      const uri = targets.find((t) => t?.["os"] === "default")?.["uri"] ?? targets[0]?.["uri"] ??
        asArray(a["target"])[0];
      links.push({ label: name, url: uri });
    }
    return this.linkLine(links);
  }

  adaptiveCard(card: JsonObject, depth: number): void {
    const body = this.elements(asArray(card["body"]), depth + 1);
    const actions = this.actions(asArray(card["actions"]), depth + 1);
    this.sections.push(joinSections([body, actions]));
  }

  elements(items: readonly unknown[], depth: number): string {
    if (depth > MAX_DEPTH) return "";
    return items.map((e) => this.element(e, depth)).filter((s) => s !== "").join("\n");
  }

  element(item: unknown, depth: number): string {
    if (!this.spend()) return "";
    const e = asObject(item);
    if (e === undefined || e["isVisible"] === false) return "";
    switch (e["type"]) {
      case "TextBlock": {
        const text = asText(e["text"]);
        if (text === undefined) return "";
        const rendered = cardText(text);
        const size = asString(e["size"])?.toLowerCase();
        const bolder = asString(e["weight"])?.toLowerCase() === "bolder" ||
          size === "large" || size === "extralarge" || e["style"] === "heading";
        if (!bolder) return rendered;
        // A heading's colour is the card's status (Grafana, Alertmanager msteamsv2).
        const status = HEADING_STATUS.get(asString(e["color"])?.toLowerCase() ?? "");
        return status ? `${status} ${strong(rendered)}` : strong(rendered);
      }
      case "RichTextBlock":
        return asArray(e["inlines"]).filter(() => this.spend()).map((i) => this.inline(i)).join("");
      case "FactSet":
        return asArray(e["facts"]).filter(() => this.spend()).map((f) => {
          const fact = asObject(f);
          const title = asText(fact?.["title"]);
          const value = cardText(asText(fact?.["value"]) ?? "");
          return title === undefined
            ? value
            : `**${escapeMarkdown(title.trim().replace(/:$/, ""))}**: ${value}`;
        }).filter((l) => l !== "").join("\n");
      case "ColumnSet": {
        const columns = asArray(e["columns"]).map((c) =>
          this.elements(asArray(asObject(c)?.["items"]), depth + 1)
        ).filter((c) => c !== "");
        // Label/value pairs laid out as columns read best on one line.
        return columns.every((c) => !c.includes("\n")) ? columns.join(" · ") : columns.join("\n");
      }
      case "Column":
      case "Container":
        return this.elements(asArray(e["items"]), depth + 1);
      case "Table":
        return asArray(e["rows"]).filter(() => this.spend()).map((r) =>
          asArray(asObject(r)?.["cells"]).filter(() => this.spend()).map((c) =>
            this.elements(asArray(asObject(c)?.["items"]), depth + 1).replace(/\n/g, " ")
          ).join(" | ")
        ).filter((r) => r.replace(/[|\s]/g, "") !== "").join("\n");
      case "Image":
        if (e["style"] !== "person" && e["style"] !== "Person") this.photo(e["url"]);
        return "";
      case "ImageSet":
        for (const i of asArray(e["images"]).slice(0, MAX_CARD_IMAGES)) {
          this.photo(asObject(i)?.["url"]);
        }
        return "";
      case "ActionSet":
        return this.actions(asArray(e["actions"]), depth + 1);
      default:
        return "";
    }
  }

  inline(item: unknown): string {
    if (typeof item === "string") return escapeMarkdown(item);
    const run = asObject(item);
    const text = asText(run?.["text"]);
    if (run === undefined || text === undefined) return "";
    let out = escapeMarkdown(text);
    if (out.trim() === "") return out;
    if (asString(run["weight"])?.toLowerCase() === "bolder") out = `**${out}**`;
    if (run["italic"] === true) out = `_${out}_`;
    if (run["strikethrough"] === true) out = `~~${out}~~`;
    const action = asObject(run["selectAction"]);
    const url = asHttpUrl(action?.["url"]);
    return url === undefined ? out : markdownLink(out, url);
  }

  actions(actions: readonly unknown[], depth: number): string {
    if (depth > MAX_DEPTH) return "";
    const links: OfferedLink[] = [];
    const shown: JsonObject[] = [];
    for (const item of actions) {
      if (!this.spend()) break;
      const a = asObject(item);
      if (a?.["type"] === "Action.OpenUrl") {
        links.push({ label: asText(a["title"]), url: a["url"] });
      } else if (a?.["type"] === "Action.ShowCard") shown.push(a);
    }
    // The links first (their button row too), then each ShowCard's card, as the text shows them.
    const line = this.linkLine(links);
    const cards = shown.map((a) => {
      const card = asObject(a["card"]) ?? {};
      const inner = joinSections([
        this.elements(asArray(card["body"]), depth + 1),
        this.actions(asArray(card["actions"]), depth + 1),
      ]);
      const title = asText(a["title"]);
      return inner !== "" && title !== undefined ? `**${escapeMarkdown(title)}**\n${inner}` : inner;
    });
    return [line, ...cards].filter((s) => s !== "").join("\n");
  }
}
