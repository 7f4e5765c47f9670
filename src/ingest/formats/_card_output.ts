/**
 * What chat-card renderers (Teams, Google Chat) share: the limits on one card's rendering and
 * the photos it collects. Private to the formats folder.
 *
 * @module
 */
import type { Attachment } from "../../message.ts";
import { escapeMarkdown, markdownLink } from "./_mrkdwn.ts";
import { asHttpUrl } from "./_read.ts";
import { ButtonRows, type OfferedLink } from "./_link_buttons.ts";

/** Photos taken from one message at most. */
export const MAX_CARD_IMAGES = 10;
/** Rendered cards are capped here (about five TrueConf messages), cut at a line with a note. */
export const MAX_CARD_TEXT = 20_000;
/**
 * Card parts (sections, facts, elements, actions, widgets) rendered per message at most: the
 * text cap alone would still walk every part of a 25 MB body of tiny elements.
 */
export const MAX_CARD_PARTS = 2_000;

/** `[label](url)` for an http(s) URL (the URL itself without a label); "" otherwise. */
export function cardLink(label: string | undefined, url: unknown): string {
  const href = asHttpUrl(url);
  if (href === undefined) return "";
  return markdownLink(escapeMarkdown(label?.trim() || href), href);
}

/**
 * Bold for a one-line Markdown text that has no bold of its own (a title like `**John**
 * commented`, or Google Chat's `<b>host</b>` section header, would otherwise become `****`).
 */
export function strong(text: string): string {
  return text === "" || text.includes("\n") || text.includes("**") ? text : `**${text}**`;
}

/** The photos, link buttons and the part budget of one message's cards. */
export class CardOutput {
  /** Photos by URL, deduplicated, at most {@link MAX_CARD_IMAGES}. */
  readonly photos: Attachment[] = [];
  /** The cards' link buttons (a row per group of links), as URL buttons. */
  readonly buttons: ButtonRows = new ButtonRows();
  readonly #seen = new Set<string>();
  #budget = MAX_CARD_PARTS;

  /**
   * Links shown together (an action set, a button list): `[a](…) · [b](…)` for the text, and
   * the same links as one row of URL buttons.
   */
  linkLine(links: readonly OfferedLink[]): string {
    const shown = links.map((l) => ({ label: l.label, url: asHttpUrl(l.url) }))
      .filter((l) => l.url !== undefined);
    this.buttons.add(shown);
    return shown.map((l) => cardLink(l.label, l.url)).join(" · ");
  }

  /** Takes one part from the budget; false once it is spent (the rest is not rendered). */
  spend(): boolean {
    return this.#budget-- > 0;
  }

  /** Adds a photo fetched by URL at delivery (through the SSRF guard); non-http(s) is skipped. */
  photo(url: unknown): void {
    const href = asHttpUrl(url);
    if (href === undefined || this.#seen.has(href) || this.photos.length >= MAX_CARD_IMAGES) {
      return;
    }
    this.#seen.add(href);
    this.photos.push({ kind: "photo", source: { type: "url", url: href } });
  }
}
