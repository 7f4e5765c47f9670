/**
 * Trigger words: reading `/webhook_create <name> <url> [trigger words…]`, and deciding
 * whether a chat message starts with one of a hook's trigger words (after an optional
 * leading mention of the bot), case-insensitively.
 *
 * @module
 */

import type { IncomingMessage } from "../trueconf/mod.ts";
import { ANY_URL_WORD, URL_WORD } from "../hooks/command_args.ts";
import { afterBotMention } from "../hooks/command_parser.ts";
import { plainText } from "./plain_text.ts";

/** Most trigger words per hook. */
export const MAX_TRIGGERS = 10;
/** Longest trigger word, in characters. */
export const MAX_TRIGGER_LENGTH = 32;

/** What `/webhook_create` arguments with a URL say. */
export type OutgoingCreateArgs =
  | { ok: true; name: string; url: string; triggers: string[] }
  | { ok: false; reason: string };

/**
 * Splits `/webhook_create` arguments: the first word starting with `http://` or `https://`
 * is the URL, the text before it the name, the words after it trigger words.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseOutgoingCreate("CI deploys https://ci.example.com/hook?k=1 /deploy !status"), {
 *   ok: true, name: "CI deploys", url: "https://ci.example.com/hook?k=1", triggers: ["/deploy", "!status"],
 * });
 * assert.equal(parseOutgoingCreate("https://ci.example.com/hook").ok, false); // no name
 * ```
 */
export function parseOutgoingCreate(args: string): OutgoingCreateArgs {
  const words = args.trim().split(/\s+/).filter((w) => w !== "");
  const at = words.findIndex((w) => URL_WORD.test(w));
  const other = words.find((w) => ANY_URL_WORD.test(w));
  if (other !== undefined && (at < 0 || words.indexOf(other) < at)) {
    return {
      ok: false,
      reason: `${other} is not an http:// or https:// URL; outgoing webhooks call http(s) services`,
    };
  }
  if (at < 0) return { ok: false, reason: "no URL starting with http:// or https://" };
  const name = words.slice(0, at).join(" ");
  if (name === "") {
    return { ok: false, reason: "the name goes before the URL: /webhook_create <name> <url>" };
  }
  const triggers: string[] = [];
  for (const w of words.slice(at + 1)) {
    if ([...w].length > MAX_TRIGGER_LENGTH) {
      return {
        ok: false,
        reason: `trigger word "${w.slice(0, 40)}…" is longer than ${MAX_TRIGGER_LENGTH} characters`,
      };
    }
    if (/^\/webhook_/i.test(w)) {
      return {
        ok: false,
        reason: `"${w}" is one of the bot's own commands and cannot be a trigger word`,
      };
    }
    if (URL_WORD.test(w)) return { ok: false, reason: "only one URL per hook" };
    if (!triggers.some((t) => t.toLowerCase() === w.toLowerCase())) triggers.push(w);
  }
  if (triggers.length > MAX_TRIGGERS) {
    return { ok: false, reason: `at most ${MAX_TRIGGERS} trigger words per hook` };
  }
  return { ok: true, name, url: words[at] ?? "", triggers };
}

/**
 * The plain text of a message after one leading mention of the bot (if any; read by the
 * command parser's rule, `afterBotMention`, so a trigger word and a command are found alike),
 * or null when the message starts by mentioning somebody else.
 */
export function textAfterBotMention(m: IncomingMessage, botId: string): string | null {
  const after = afterBotMention(m.text, m.parseMode, botId);
  return after ? plainText(after.text, m.parseMode).trim() : null;
}

/**
 * The trigger word a message starts with (after an optional mention of the bot), compared
 * case-insensitively, and the text after it; null when none matches.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const m = { type: 200, text: "/Deploy  staging now", parseMode: "text" } as Parameters<typeof matchTrigger>[0];
 * assert.deepEqual(matchTrigger(m, "bot@srv", ["/deploy"]), { trigger: "/deploy", args: "staging now" });
 * assert.equal(matchTrigger(m, "bot@srv", ["/status"]), null);
 * ```
 */
export function matchTrigger(
  m: IncomingMessage,
  botId: string,
  triggers: readonly string[],
): { trigger: string; args: string } | null {
  if (m.type !== 200 || triggers.length === 0) return null;
  const text = textAfterBotMention(m, botId);
  if (!text) return null;
  const space = text.search(/\s/);
  const first = (space < 0 ? text : text.slice(0, space)).toLowerCase();
  const trigger = triggers.find((t) => t.toLowerCase() === first);
  if (trigger === undefined) return null;
  return { trigger, args: space < 0 ? "" : text.slice(space).trim() };
}

/**
 * True for the bot's own chat commands (`/webhook_…`, after an optional mention of the
 * bot), which are never sent to any outgoing hook.
 */
export function isBotCommand(m: IncomingMessage, botId: string): boolean {
  if (m.type !== 200) return false;
  const text = textAfterBotMention(m, botId);
  return text !== null && /^\/webhook_/i.test(text);
}
