/**
 * Reads a chat message as a bot command, the way the reference bot does (protocol reference
 * §5.4), with one improvement: the mention is matched by its `trueconf:` link target against
 * the bot's own id from the auth response, comparing whole ids when both carry a domain, so a
 * same-login user of another server does not count as the bot.
 *
 * @module
 */
import { leadingMention, mentionTarget, replaceMentions, sameTrueConfId } from "../trueconf/mod.ts";
import type { IncomingMessage } from "../trueconf/mod.ts";
import { decodeEntities } from "../html_entities.ts";
import { editDistance } from "../edit_distance.ts";

/** The commands the bot answers. */
export type CommandName =
  | "webhook_create"
  | "webhook_list"
  | "webhook_revoke"
  | "webhook_help"
  | "webhook_pause"
  | "webhook_resume"
  | "webhook_rename"
  | "webhook_rotate"
  | "webhook_expire"
  | "webhook_info"
  | "webhook_verify"
  | "webhook_allow"
  | "webhook_alerts"
  | "webhook_mentions"
  | "webhook_test";

const COMMANDS: ReadonlySet<string> = new Set<CommandName>([
  "webhook_create",
  "webhook_list",
  "webhook_revoke",
  "webhook_help",
  "webhook_pause",
  "webhook_resume",
  "webhook_rename",
  "webhook_rotate",
  "webhook_expire",
  "webhook_info",
  "webhook_verify",
  "webhook_allow",
  "webhook_alerts",
  "webhook_mentions",
  "webhook_test",
]);

/** A message read as a command. */
export interface ParsedCommand {
  /** The command, with unknown `/webhook_*` and help requests folded into `webhook_help`. */
  readonly command: CommandName;
  /** The argument text: mentions removed, tags stripped, entities decoded, spaces collapsed. */
  readonly args: string;
  /** True when the message starts with a mention of the bot. */
  readonly addressed: boolean;
  /**
   * Set when help stands for a command that is not the bot's (`@bot /deploy`): an outgoing
   * hook's trigger word may claim it first.
   */
  readonly foreign?: boolean;
  /**
   * The command word as typed (lower case, without a `@bot` suffix) when help stands for a
   * command the bot does not know (`/webhook_crate`, `@bot /deploy`), for a "did you mean".
   */
  readonly unknown?: string;
  /** True when `unknown` is one of ours typed without its slash (`@bot webhook_list`). */
  readonly slashless?: boolean;
}

// Mention syntax (anchors, Markdown links, plain "@login") lives in trueconf/incoming_message.ts.

// Whitespace as HTML-mode text may carry it, and any tag but an anchor (a mention).
const BLANK = String.raw`(?:\s|&nbsp;|&#160;|&#xa0;|<(?!a[\s>])\/?[a-z][^>]*>)`;
const LEADING_BLANK_HTML = new RegExp(`^${BLANK}*`, "i");
const BLANK_HTML = new RegExp(`^${BLANK}*$`, "i");
// "/webhook_create" up to the first space, entity (&nbsp;) or tag.
const COMMAND_WORD = /^\/([^\s<&]+)/;
// Conventional bot commands, answered with help (in groups only when the bot is mentioned).
const ALIASES: ReadonlySet<string> = new Set(["help", "start"]);

/** True when a mention target (`login@server`, `login`, with any suffix) names the bot. */
export function mentionsBot(target: string, botId: string): boolean {
  const t = mentionTarget(target);
  return t !== "" && sameTrueConfId(t, botId);
}

/**
 * Reads a message as a command, or returns null when it is not one for this bot: another
 * envelope type, the bot's own (or a system) message, chatter, or a message starting with a
 * mention of another user (or `@all`).
 *
 * One leading mention is stripped — an HTML anchor `<a href="trueconf:ID">…</a>` (matched
 * by the link target, never by the display name; `/instance`, `&do=profile` and `?query`
 * suffixes ignored), a Markdown link `[…](trueconf:ID)`, or a plain `@login` — and
 * `addressed` records that it named the bot; a comma, colon or semicolon right after it is
 * skipped (`@Webhook Bot, /webhook_list`). Then the text must start with `/`. Unknown
 * commands (with `unknown` set; `foreign` when not `/webhook_*`), `/help`, `/start` and a bare
 * mention of the bot all become `webhook_help`. Whether an unaddressed command counts
 * depends on the chat type (in a group, `/deploy` is another bot's); the caller decides.
 *
 * @example
 * ```ts
 * import type { IncomingMessage } from "../trueconf/mod.ts";
 *
 * function onMessage(msg: IncomingMessage): void {
 *   // "@webhook_bot /webhook_create deploys" →
 *   // { command: "webhook_create", args: "deploys", addressed: true }
 *   const cmd = parseCommand(msg, "webhook_bot@video.example.com");
 *   if (cmd) console.log(cmd.command, cmd.args);
 * }
 * ```
 */
export function parseCommand(m: IncomingMessage, botId: string): ParsedCommand | null {
  if (m.type !== 200 || !m.text || m.authorType === 0) return null;
  if (sameTrueConfId(m.authorId, botId)) return null;
  const html = m.parseMode === "html";
  const after = afterBotMention(m.text, m.parseMode, botId);
  // A message that starts by addressing someone else is not ours, whatever follows.
  if (!after) return null;
  const { addressed } = after;
  const rest = skipBlank(after.text, html).trimEnd();
  if (rest === "" || (html && BLANK_HTML.test(rest))) {
    return addressed ? { command: "webhook_help", args: "", addressed } : null;
  }
  const word = COMMAND_WORD.exec(rest);
  if (!word) return /^webhook/i.test(rest) ? slashless(cleanArgs(rest, html), addressed) : null;
  const token = (word[1] ?? "").replace(/@.*$/, "").toLowerCase();
  const args = cleanArgs(rest.slice(word[0].length), html);
  if (COMMANDS.has(token)) return { command: token as CommandName, args, addressed };
  if (ALIASES.has(token)) return { command: "webhook_help", args, addressed };
  // A typo of ours, or any other command: another bot's in a group unless said to this bot by
  // name (the caller drops unaddressed ones there), but in a personal chat with the bot, where
  // no other bot listens, a mistyped one of ours.
  const foreign = token.startsWith("webhook_") ? {} : { foreign: true };
  // `/webhook list`, `/webhook create deploys`: a space for the underscore, as other chat
  // tools spell their commands. The "did you mean" takes the second word with the first.
  const spaced = /^webhooks?$/.test(token) ? /^(\S+)\s*(.*)$/.exec(args) : null;
  if (spaced && meantCommand(`${token} ${spaced[1]}`) !== null) {
    const unknown = `${token} ${spaced[1]!.toLowerCase()}`;
    return { command: "webhook_help", args: spaced[2] ?? "", addressed, unknown, ...foreign };
  }
  return { command: "webhook_help", args, addressed, unknown: token, ...foreign };
}

/**
 * `webhook_list`, `webhook create mine`: one of our commands typed without its slash, as a
 * "did you mean" (null for anything else: chatter stays chatter). The caller answers it where
 * it answers commands (a group: only after a mention of the bot).
 */
function slashless(text: string, addressed: boolean): ParsedCommand | null {
  const m = /^(webhooks?[_-]\S+|webhooks? \S+)\s*(.*)$/i.exec(text);
  if (!m || meantCommand(m[1]!) === null) return null;
  return {
    command: "webhook_help",
    args: m[2] ?? "",
    addressed,
    unknown: m[1]!.toLowerCase(),
    slashless: true,
  };
}

/**
 * The command a mistyped one most likely meant: one within two edits (`/webhook_crate`,
 * `/webhooks_list`, `/webhook-revoke`, `webhook list`), or a usual other word for it
 * (`/webhook_delete`, `webhook remove`); null when none is close.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(meantCommand("webhook_lsit"), "webhook_list");
 * assert.equal(meantCommand("webhook_remove"), "webhook_revoke");
 * assert.equal(meantCommand("deploy"), null);
 * ```
 */
export function meantCommand(word: string): CommandName | null {
  const w = word.toLowerCase();
  const synonym = SYNONYMS[w.replace(/^webhooks?[ _-]?/, "")];
  if (synonym && /^webhooks?[ _-]?/.test(w)) return synonym;
  let best: CommandName | null = null;
  let bestDistance = 3;
  for (const c of COMMANDS) {
    const d = editDistance(w, c);
    if (d < bestDistance) [best, bestDistance] = [c as CommandName, d];
  }
  return best;
}

// What members type for a command by another name (after "/webhook_").
const SYNONYMS: Readonly<Record<string, CommandName>> = {
  add: "webhook_create",
  new: "webhook_create",
  make: "webhook_create",
  delete: "webhook_revoke",
  del: "webhook_revoke",
  remove: "webhook_revoke",
  rm: "webhook_revoke",
  ls: "webhook_list",
  show: "webhook_info",
  status: "webhook_info",
  disable: "webhook_pause",
  stop: "webhook_pause",
  enable: "webhook_resume",
  unpause: "webhook_resume",
  move: "webhook_rename",
  mv: "webhook_rename",
  regenerate: "webhook_rotate",
  renew: "webhook_rotate",
  ping: "webhook_test",
};

/**
 * The message text after an optional leading mention of the bot, as every reader of chat
 * messages takes it (the commands here, outgoing hooks' trigger words and their "never a
 * `/webhook_*` command" rule): whitespace and, in HTML, wrapper tags (`<p>`, `<span>`) and
 * non-breaking spaces before the mention are skipped, one mention of the bot is taken off with
 * a comma, colon or semicolon right after it (`@Webhook Bot, /webhook_list`), and `addressed`
 * says whether it was there. Null when the message starts by mentioning somebody else. The
 * text keeps its markup.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const bot = "webhook_bot@srv";
 * const html = '<p><a href="trueconf:webhook_bot@srv">Webhook Bot</a>, /deploy <b>x</b></p>';
 * assert.deepEqual(afterBotMention(html, "html", bot), { text: " /deploy <b>x</b></p>", addressed: true });
 * assert.deepEqual(afterBotMention("/deploy x", "text", bot), { text: "/deploy x", addressed: false });
 * assert.equal(afterBotMention("@carol /deploy x", "text", bot), null);
 * ```
 */
export function afterBotMention(
  text: string,
  parseMode: string,
  botId: string,
): { text: string; addressed: boolean } | null {
  const html = parseMode === "html";
  const t = skipBlank(text, html);
  const lead = leadingMention(t);
  if (!lead) return { text: t, addressed: false };
  if (!lead.target || !sameTrueConfId(lead.target, botId)) return null;
  return { text: skipBlank(t.slice(lead.length), html).replace(/^[,:;]/, ""), addressed: true };
}

/**
 * Drops what may precede the text: whitespace and, in HTML mode, non-breaking spaces and
 * wrapper tags (`<p>`, `<span>`, `<br>`) a client may put around the message.
 */
function skipBlank(s: string, html: boolean): string {
  return html ? s.replace(LEADING_BLANK_HTML, "") : s.trimStart();
}

/** Mentions removed, tags stripped, entities decoded (HTML mode), whitespace collapsed. */
function cleanArgs(raw: string, html: boolean): string {
  let s = replaceMentions(raw, " ");
  if (html) s = decodeEntities(s.replace(/<br\s*\/?>/gi, " ").replace(/<[^>]*>/g, ""));
  return s.replace(/\s+/g, " ").trim();
}
