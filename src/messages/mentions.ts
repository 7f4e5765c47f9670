/**
 * Mentions that notify: `@login` and `@login@server` in a hook's text become TrueConf mentions
 * (`[Display Name](trueconf:login@server)` in Markdown, `<a href="trueconf:…">` in HTML) when
 * that user is a participant of the chat; anyone else stays plain text. Slack's `<@login>` and
 * `<@id|name>` and Mattermost's `@name` arrive here as `@name` (the Slack renderer turns them
 * into that). Audience mentions (`@all`, `@here`, `@channel`, `@everyone`; Slack `<!here>`…)
 * become TrueConf's `@all` only when the hook allows it (`/webhook_mentions <name> all`); else
 * a word joiner after the `@` keeps them from addressing anyone. At most
 * {@link MAX_MENTIONS} per message, and only as many as keep the text within TrueConf's 4096
 * visible characters. A plain-text message that gains a mention is sent as Markdown with the
 * rest escaped, so it reads exactly as sent.
 *
 * Participants are cached per chat for {@link PARTICIPANTS_TTL_MS}, display names per user
 * for an hour; a lookup that fails leaves the text as it is.
 *
 * @module
 */
import type { ParseMode, TextOp } from "../message.ts";
import {
  normalizeTrueConfId,
  TEXT_LIMIT,
  trueConfLocalPart,
  visibleLength,
} from "../trueconf/mod.ts";
import type { Participant } from "../trueconf/mod.ts";
import type { Logger } from "../log.ts";
import { silentLogger } from "../log.ts";
import type { Rendered } from "./poster.ts";

/** Mentions turned into TrueConf mentions per message, at most. */
export const MAX_MENTIONS = 50;
/** How long a chat's participant list is trusted. */
export const PARTICIPANTS_TTL_MS = 5 * 60_000;
const NAME_TTL_MS = 60 * 60_000;
const MAX_CACHED = 1_000;

/** What mentions need of the TrueConf client. */
export interface MentionClient {
  /** Members of a chat. */
  getChatParticipants(chatId: string): Promise<Participant[]>;
  /** A user's display name. */
  getUserDisplayName(userId: string): Promise<string>;
}

const AUDIENCE = new Set(["all", "here", "channel", "everyone"]);
/** U+2060 WORD JOINER: `@⁠all` reads as `@all` but addresses nobody. */
const JOINER = "\u2060";
// `@login` or `@login@server`, not inside a word or an e-mail address, not after `](` or `/`.
const MENTION =
  /(?<![\p{L}\p{N}_.@/\\[(:-])@([\p{L}\p{N}_.-]*[\p{L}\p{N}_])(?:@([\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)+))?/gu;

// Where the text is shown as written, so a mention there would be garbage or a surprise page:
// Markdown code (fenced blocks, inline spans of any backtick run) and link labels; HTML code,
// pre and link elements.
const MARKDOWN_LITERAL = /```[\s\S]*?(?:```|$)|(`+)[\s\S]*?\1|\[[^\]\n]*\](?=\()/g;
const HTML_LITERAL = /<(code|pre|a)\b[^>]*>[\s\S]*?<\/\1\s*>/gi;

/** The `[start, end)` ranges of `text` that are shown as written (see above). */
function literalRanges(text: string, mode: ParseMode): [number, number][] {
  if (mode === "text") return [];
  const ranges: [number, number][] = [];
  for (const m of text.matchAll(mode === "html" ? HTML_LITERAL : MARKDOWN_LITERAL)) {
    ranges.push([m.index, m.index + m[0].length]);
  }
  return ranges;
}

function inRanges(ranges: readonly [number, number][], at: number): boolean {
  for (const [from, to] of ranges) if (at >= from && at < to) return true;
  return false;
}

interface Found {
  readonly at: number;
  readonly length: number;
  /** Canonical id of a participant, or "all" for an allowed audience mention, or "neutral". */
  readonly target: string;
}

/** See the module doc. */
export class Mentions {
  readonly #client: MentionClient;
  readonly #now: () => number;
  readonly #log: Logger;
  readonly #participants = new Map<string, { at: number; ids: Map<string, string> }>();
  readonly #names = new Map<string, { at: number; name: string }>();

  /** Mentions resolved through `client`. */
  constructor(client: MentionClient, options: { now?: () => number; logger?: Logger } = {}) {
    this.#client = client;
    this.#now = options.now ?? Date.now;
    this.#log = options.logger ?? silentLogger;
  }

  /**
   * The text with mentions applied (see the module doc); unchanged when there are none, and
   * then at once rather than as a promise: most texts mention nobody (issue 16).
   */
  render(chatId: string, r: Rendered, op: TextOp): Rendered | Promise<Rendered> {
    return r.text.includes("@") ? this.#render(chatId, r, op) : r;
  }

  async #render(chatId: string, r: Rendered, op: TextOp): Promise<Rendered> {
    const mode = op.mentions ?? "people";
    const candidates = [...r.text.matchAll(MENTION)];
    if (candidates.length === 0) return r;
    const people = mode === "none" ? null : await this.#participantsOf(chatId);
    const literal = literalRanges(r.text, r.parseMode);
    const found: Found[] = [];
    let people_n = 0;
    for (const m of candidates) {
      const login = m[1]!;
      const server = m[2];
      const asWritten = inRanges(literal, m.index);
      if (server === undefined && AUDIENCE.has(login.toLowerCase())) {
        if (r.parseMode === "html" && insideTag(r.text, m.index)) continue;
        // In code or a link label it pages nobody, whatever the hook allows.
        found.push({
          at: m.index,
          length: m[0].length,
          target: mode === "all" && !asWritten ? "all" : "neutral",
        });
        continue;
      }
      if (asWritten || !people || people_n >= MAX_MENTIONS) continue;
      const id = server !== undefined
        ? people.get(normalizeTrueConfId(`${login}@${server}`))
        : people.get(`local:${login.toLowerCase()}`);
      if (!id || (r.parseMode === "html" && insideTag(r.text, m.index))) continue;
      people_n++;
      found.push({ at: m.index, length: m[0].length, target: id });
    }
    if (found.length === 0) return r;
    const names = new Map<string, string>();
    for (const f of found) {
      if (f.target !== "all" && f.target !== "neutral" && !names.has(f.target)) {
        names.set(f.target, await this.#displayName(f.target));
      }
    }
    let out = applyMentions(r, found, names);
    // TrueConf shows at most 4096 characters (the SDK refuses more, trueconf/text_limit.ts),
    // and a mention shows its display name and id where `@login` showed only the login: a
    // text split to fit can outgrow the limit here. The last people mentioned then stay plain
    // text, as past the 50th; audience mentions keep their word joiner, so none pages anyone.
    while (out.text.length > TEXT_LIMIT && visibleLength(out.text) > TEXT_LIMIT) {
      const last = found.findLastIndex((f) => f.target !== "all" && f.target !== "neutral");
      if (last < 0) break;
      found.splice(last, 1);
      out = found.length > 0 ? applyMentions(r, found, names) : r;
    }
    return out;
  }

  async #participantsOf(chatId: string): Promise<Map<string, string> | null> {
    const hit = this.#participants.get(chatId);
    if (hit && this.#now() - hit.at < PARTICIPANTS_TTL_MS) return hit.ids;
    try {
      const ids = new Map<string, string>();
      for (const p of await this.#client.getChatParticipants(chatId)) {
        const id = normalizeTrueConfId(p.userId);
        if (!id) continue;
        ids.set(id, id);
        // A bare @login names the participant with that login (the first one, on a federated chat).
        const local = `local:${trueConfLocalPart(id).toLowerCase()}`;
        if (!ids.has(local)) ids.set(local, id);
      }
      remember(this.#participants, chatId, { at: this.#now(), ids });
      return ids;
    } catch (e) {
      this.#log.warn("chat participants unknown; mentions stay plain text", {
        chat: chatId,
        error: e,
      });
      return null;
    }
  }

  async #displayName(id: string): Promise<string> {
    const hit = this.#names.get(id);
    if (hit && this.#now() - hit.at < NAME_TTL_MS) return hit.name;
    let name = trueConfLocalPart(id);
    try {
      name = (await this.#client.getUserDisplayName(id)).trim() || name;
    } catch (e) {
      this.#log.debug("display name unknown; the login is shown", { user: id, error: e });
    }
    remember(this.#names, id, { at: this.#now(), name });
    return name;
  }
}

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > MAX_CACHED) map.delete(map.keys().next().value as string);
}

/** Whether `at` is inside an HTML tag (`<a href="…@x">`). */
function insideTag(text: string, at: number): boolean {
  return text.lastIndexOf("<", at) > text.lastIndexOf(">", at);
}

/** Rewrites the text; a plain text becomes Markdown with everything else escaped. */
function applyMentions(r: Rendered, found: readonly Found[], names: Map<string, string>): Rendered {
  const mode: ParseMode = r.parseMode === "text" ? "markdown" : r.parseMode;
  const keep = (s: string) => r.parseMode === "text" ? escapeMarkdown(s) : s;
  let out = "";
  let pos = 0;
  for (const f of found) {
    out += keep(r.text.slice(pos, f.at));
    const original = r.text.slice(f.at, f.at + f.length);
    if (f.target === "all") out += "@all";
    else if (f.target === "neutral") out += keep(`@${JOINER}${original.slice(1)}`);
    else {
      const name = names.get(f.target) ?? f.target;
      out += mode === "html"
        ? `<a href="trueconf:${escapeHtml(f.target)}">${escapeHtml(name)}</a>`
        : `[${escapeMarkdown(name)}](trueconf:${f.target})`;
    }
    pos = f.at + f.length;
  }
  out += keep(r.text.slice(pos));
  return { ...r, text: out, parseMode: mode };
}

/**
 * TrueConf Markdown's markup backslash-escaped, as the Python SDK's `MarkdownDecoration.escape`
 * does: `* _ ~ \` [ ]` anywhere, and `>` where it starts a line, which TrueConf shows as a quote
 * (SDK 1.5 replies quote with `>quote`). The SDK escapes more (`. ! ( ) # + - = | { }`, its
 * Telegram heritage), which TrueConf's Markdown gives no meaning.
 */
function escapeMarkdown(s: string): string {
  return s.replace(/[\\*_~`[\]]|(?<=^|\n)>/g, (c) => `\\${c}`);
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
}
