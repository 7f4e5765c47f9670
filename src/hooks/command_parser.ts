/**
 * Reads a chat message as a bot command, the way the reference bot does (protocol reference
 * §5.4), with one improvement: the mention is matched by its `trueconf:` link target against
 * the bot's own id from the auth response, comparing whole ids when both carry a domain, so a
 * same-login user of another server does not count as the bot.
 *
 * @module
 */
import { normalizeTrueConfId, sameTrueConfId } from "../trueconf/mod.ts";
import type { IncomingMessage } from "../trueconf/mod.ts";

/** The commands the bot answers. */
export type CommandName = "webhook_create" | "webhook_list" | "webhook_revoke" | "webhook_help";

const COMMANDS: ReadonlySet<string> = new Set([
  "webhook_create",
  "webhook_list",
  "webhook_revoke",
  "webhook_help",
]);

/** A message read as a command. */
export interface ParsedCommand {
  readonly command: CommandName;
  /** The argument text: mentions removed, tags stripped, entities decoded, spaces collapsed. */
  readonly args: string;
  /** True when the message starts with a mention of the bot. */
  readonly addressed: boolean;
}

// One leading mention: an HTML anchor (what TrueConf clients send), a Markdown link, or a
// plain "@login" token. Group 1/2/3 hold the target.
const LEADING_MENTION =
  /^\s*(?:<a\b[^>]*?\bhref\s*=\s*["']\s*trueconf:([^"']*)["'][^>]*>[\s\S]*?<\/a>|\[[^\]]*\]\(\s*trueconf:([^)\s]*)\s*\)|@([^\s<]+))\s*/i;
const ANY_MENTION =
  /<a\b[^>]*?\bhref\s*=\s*["']\s*trueconf:[^"']*["'][^>]*>[\s\S]*?<\/a>|\[[^\]]*\]\(\s*trueconf:[^)\s]*\s*\)|(?<![\w.])@[^\s<]+/gi;

const ENTITIES: Record<string, string> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  nbsp: " ",
};

/** Decodes the HTML entities TrueConf clients produce (named basics and numeric ones). */
export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (all, e: string) => {
    if (e[0] === "#") {
      const code = e[1] === "x" || e[1] === "X"
        ? parseInt(e.slice(2), 16)
        : parseInt(e.slice(1), 10);
      return Number.isFinite(code) && code >= 0 && code <= 0x10ffff
        ? String.fromCodePoint(code)
        : all;
    }
    return ENTITIES[e.toLowerCase()] ?? all;
  });
}

/** True when a mention target (`login@server`, `login`, with any suffix) names the bot. */
export function mentionsBot(target: string, botId: string): boolean {
  const t = normalizeTrueConfId(target);
  return t !== "" && sameTrueConfId(t, botId);
}

/**
 * Reads a message as a command, or returns null when it is not one for this bot: another
 * envelope type, the bot's own message, chatter, a command for someone else, or a message
 * starting with a mention of another user.
 *
 * @example
 * ```ts
 * parseCommand(msg, "webhook_bot@video.example.com");
 * // { command: "webhook_create", args: "deploys", addressed: true }
 * ```
 */
export function parseCommand(m: IncomingMessage, botId: string): ParsedCommand | null {
  if (m.type !== 200 || !m.text) return null;
  if (sameTrueConfId(m.authorId, botId)) return null;
  let text = m.text;
  let addressed = false;
  const lead = LEADING_MENTION.exec(text);
  if (lead) {
    const target = lead[1] ?? lead[2] ?? lead[3] ?? "";
    // A message that starts by addressing someone else is not ours, whatever follows.
    if (!mentionsBot(decodeEntities(target), botId)) return null;
    addressed = true;
    text = text.slice(lead[0].length);
  }
  const rest = text.trim();
  if (rest === "" || /^(?:<br\s*\/?>|\s|&nbsp;)*$/i.test(rest)) {
    return addressed ? { command: "webhook_help", args: "", addressed } : null;
  }
  if (!rest.startsWith("/")) return null;
  const space = rest.search(/\s/);
  const token = (space < 0 ? rest : rest.slice(0, space)).slice(1).replace(/@.*$/, "")
    .toLowerCase();
  if (!token.startsWith("webhook_")) return null;
  const command = (COMMANDS.has(token) ? token : "webhook_help") as CommandName;
  const rawArgs = space < 0 ? "" : rest.slice(space);
  return { command, args: cleanArgs(rawArgs, m.parseMode === "html"), addressed };
}

/** Mentions removed, tags stripped, entities decoded (HTML mode), whitespace collapsed. */
function cleanArgs(raw: string, html: boolean): string {
  let s = raw.replace(ANY_MENTION, " ");
  if (html) s = decodeEntities(s.replace(/<br\s*\/?>/gi, " ").replace(/<[^>]*>/g, ""));
  return s.replace(/\s+/g, " ").trim();
}
