/**
 * Every text the bot writes into chats, in one place. All use TrueConf's HTML parse mode
 * (`<b>`, `<i>`): its escaping is unambiguous (`&lt;` `&amp;`), whereas in TrueConf Markdown
 * the underscores of `/webhook_create` could start italics and backslash escapes are not
 * documented. Names and other user-supplied text are escaped so they cannot inject markup.
 *
 * @module
 */
import {
  type HistoryEntry,
  type HookRecord,
  MAX_HOOKS_PER_CHAT,
  type VerifyMode,
} from "./store.ts";
import { maskToken } from "./token.ts";
import { HOOK_NAME_MAX_LENGTH, type HookNameError } from "./hook_name.ts";

/**
 * The URL with its query (which often holds a key) replaced by `?…`: scheme, host and path
 * stay, so members can tell hooks apart. Wherever an outgoing hook's URL is shown: chat
 * replies, status replies, `hooks list`, logs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(maskUrl("https://ci.example.com/hooks/chat?key=s3cret"), "https://ci.example.com/hooks/chat?…");
 * assert.equal(maskUrl("http://10.0.0.5:8080/x"), "http://10.0.0.5:8080/x");
 * ```
 */
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}${u.search ? "?…" : ""}`;
  } catch {
    return "(invalid URL)";
  }
}

/** The parse mode every reply is written for. */
export const REPLY_MODE = "html" as const;

/**
 * A reply as it goes on the wire: TrueConf collapses raw newlines to spaces in HTML messages
 * (SDK 1.5 `trueconf/utils/formatting/text.py`, `LineBreak`: "rendered as <br> in HTML …,
 * since raw newlines are collapsed to spaces in HTML messages"), so each line end becomes
 * `<br>`. Replies are written and split with `\n`; this runs once, where they are sent.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(htmlLines("<b>Webhooks</b>\n1. deploys"), "<b>Webhooks</b><br>1. deploys");
 * ```
 */
export function htmlLines(text: string): string {
  return text.replace(/\r?\n/g, "<br>");
}

/** Escapes user-supplied text (hook names, chat titles, ids) for TrueConf's HTML parse mode. */
export function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => HTML_ESCAPES[c]!);
}
const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
};

const when = (ms: number | null) =>
  ms === null ? "never" : new Date(ms).toISOString().slice(0, 16).replace("T", " ") + " UTC";

const whenSeconds = (ms: number) =>
  new Date(ms).toISOString().slice(0, 19).replace("T", " ") + " UTC";

/** What the lifecycle texts need of a hook: an outgoing hook has no URL of its own to speak of. */
export type HookKindOf = Pick<HookRecord, "name" | "kind" | "outgoing">;

/** An outgoing hook's target as members may see it (query masked); null for an incoming hook. */
function targetOf(h: HookKindOf): string | null {
  return h.kind === "outgoing" && h.outgoing ? esc(maskUrl(h.outgoing.url)) : null;
}

/** `/webhook_help`, and the answer to a bare mention or an unknown command. */
export function help(inGroup: boolean): string {
  const prefix = inGroup ? "mention me, then type " : "";
  return [
    "<b>Webhooks for this chat</b>",
    `• /webhook_create &lt;name&gt; — create an incoming webhook; I send its secret URL to you in a private message`,
    "• /webhook_create &lt;name&gt; &lt;url&gt; [trigger words…] — create an outgoing webhook: messages starting with a trigger word (or, without trigger words, every message and event of this chat) are sent to your service, signed; its answer is posted here. The signing secret comes by private message",
    "• /webhook_test &lt;name&gt; [text] — send a test: a signed ping to an outgoing webhook's service, or a test message through an incoming webhook",
    "• /webhook_list — list this chat's webhooks",
    "• /webhook_revoke &lt;name&gt; — delete a webhook; its URL stops working at once",
    "• /webhook_pause &lt;name&gt; · /webhook_resume &lt;name&gt; — switch a webhook off and on",
    "• /webhook_rename &lt;old&gt; -&gt; &lt;new&gt; — rename (the URL stays)",
    "• /webhook_rotate &lt;name&gt; [24h] — new URL (outgoing: new signing secret) by private message; the old one works for the grace period (0 = stops now, at most 7d)",
    "• /webhook_expire &lt;name&gt; &lt;30d&gt;|never — expiry (also /webhook_create &lt;name&gt; expires=30d)",
    "• /webhook_info &lt;name&gt; — state, usage and the last 10 requests",
    "• /webhook_verify &lt;name&gt; github|gitlab|grafana|standard|bearer|off — require a sender signature or token (incoming); the secret comes by private message",
    "• /webhook_allow &lt;name&gt; &lt;CIDR or address&gt;[,…]|any — accept requests only from these addresses (incoming)",
    "• /webhook_alerts &lt;name&gt; edit|reply|new — one message per alert group, CI run or monitor outage, edited in place (default), replies to it, or always new",
    "• /webhook_mentions &lt;name&gt; people|all|none — which @mentions notify (default people: chat members, not @all)",
    "• /webhook_help — this help",
    "",
    `Example: ${prefix}/webhook_create deploys`,
    "Anything that can send an HTTP POST (curl, CI, Grafana, Alertmanager, Zabbix…) can then post text, images and files here.",
  ].join("\n");
}

/**
 * The answer to plain text (not a command) in a member's personal chat with the bot: what the
 * bot is and what to type. Sent at most once in a while per member (commands.ts).
 */
export function introduction(): string {
  return "👋 I am the webhook bot: I post what services send to a chat's webhook URL (CI, monitoring, scripts), and pass chat messages on to your services. I answer commands only: type /help to see them, or /webhook_create &lt;name&gt; for a webhook that posts here.";
}

/**
 * The line before the help when the command is not one of the bot's: what was typed, and the
 * command it most likely meant with the same arguments (null: none is close). `slashless`: one
 * of ours typed without its slash (`webhook_list`).
 */
export function unknownCommand(
  word: string,
  meant: string | null,
  args: string,
  slashless = false,
): string {
  const typed = slashless ? "⚠️ Commands start with /." : `⚠️ I do not know /${esc(word)}.`;
  if (meant === null) return typed;
  return `${typed} Did you mean /${meant}${args ? ` ${esc(args)}` : ""}?`;
}

/**
 * The direct message that carries the secret URL. `chatTitle` is the chat the hook posts
 * into, or null when that is this personal chat itself.
 */
export function urlMessage(
  name: string,
  chatTitle: string | null,
  url: string,
  expiresAt: number | null = null,
): string {
  const where = chatTitle === null ? "this chat" : `«${esc(chatTitle)}»`;
  const u = esc(url);
  return [
    `🔑 Webhook <b>${esc(name)}</b> for ${where}:`,
    u,
    ...(expiresAt === null
      ? []
      : [`It expires ${when(expiresAt)}: /webhook_expire ${esc(name)} never keeps it.`]),
    "",
    "Keep this URL secret: anyone who has it can post into the chat. Try it:",
    `curl -d text=hello ${u}`,
    `curl -H 'Content-Type: application/json' -d '{"text":"**bold** hello","parse_mode":"markdown"}' ${u}`,
    `curl -F text=report -F file=@report.pdf ${u}`,
    `Revoke it with /webhook_revoke ${esc(name)}${chatTitle === null ? "" : " in that chat"}.`,
  ].join("\n");
}

/** Acknowledgement in the chat where the hook was created (never contains the token). */
export function created(name: string, expiresAt: number | null = null): string {
  return `✅ Webhook <b>${esc(name)}</b> created.${
    expiryNote(expiresAt)
  } I sent its URL to you in a private message.`;
}

/** ` It expires … (reminder before).` after a creation with `expires=`; empty without. */
export function expiryNote(expiresAt: number | null): string {
  return expiresAt === null ? "" : ` It expires ${when(expiresAt)} (reminder before).`;
}

/** The direct message could not be delivered, so the hook was removed again. */
export function dmFailed(name: string): string {
  return `⚠️ I could not send you a private message, so webhook <b>${
    esc(name)
  }</b> was not kept. Write to me in a private chat once, then try /webhook_create ${
    esc(name)
  } again.`;
}

/** The bot cannot post into the chat the hook was made for, so the hook would be useless. */
export function cannotPostThere(name: string, chatTitle: string): string {
  return `⚠️ I cannot post into «${esc(chatTitle)}» (read-only for me?), so webhook <b>${
    esc(name)
  }</b> would not work there and I removed it again. Its URL above is void.`;
}

/**
 * A name that fails validation: what is wrong and the command to type instead. `renaming` is
 * the hook's current name when the bad name came from `/webhook_rename`.
 */
export function badName(error: HookNameError | string, length = 0, renaming?: string): string {
  const example = renaming === undefined
    ? "/webhook_create deploys"
    : `/webhook_rename ${esc(renaming)} -&gt; deploys`;
  switch (error) {
    case "empty":
      return "⚠️ The webhook needs a name. Type /webhook_create &lt;name&gt;, for example /webhook_create deploys.";
    case "too_long":
      return `⚠️ That name is ${length} characters long; at most ${HOOK_NAME_MAX_LENGTH} are allowed. Pick a shorter one, for example ${example}.`;
    case "control_characters":
      return `⚠️ The name contains control characters or invisible ones (a zero-width space, say). Use letters, digits, spaces and punctuation, for example ${example}.`;
    default:
      return `⚠️ ${
        esc(error)
      }\nFor example ${example} (at most ${HOOK_NAME_MAX_LENGTH} characters).`;
  }
}

/** `/webhook_revoke` without a name. */
export function revokeNeedsName(existing: readonly string[] = []): string {
  const names = hereList(existing);
  const example = existing[0] === undefined
    ? ""
    : `, for example /webhook_revoke ${esc(existing[0])}`;
  return `⚠️ Which webhook? Type /webhook_revoke &lt;name&gt;${example}.${names}`;
}

/** A second hook with the same name in one chat (a create or a rename). */
export function duplicate(name: string): string {
  const n = esc(name);
  return `⚠️ A webhook named <b>${n}</b> already exists here. Pick another name, or revoke it first with /webhook_revoke ${n}.`;
}

/**
 * {@link duplicate} for a create, with a way out for an author whose URL never arrived: a bot
 * that dies between storing a hook and sending its DM does not send it after the restart (the
 * command was acknowledged), and creating it again only lands here.
 */
export function duplicateOnCreate(name: string): string {
  return `${duplicate(name)} Lost its URL (or signing secret)? /webhook_rotate ${
    esc(name)
  } sends a new one by private message.`;
}

/** A chat at {@link MAX_HOOKS_PER_CHAT}: what to do instead. */
export function tooMany(): string {
  return `⚠️ This chat has ${MAX_HOOKS_PER_CHAT} webhooks already, the most one chat may have. Revoke one it no longer needs first: /webhook_list shows them, /webhook_revoke &lt;name&gt; removes one.`;
}

/** A member may not manage hooks. */
export function refused(reason: string): string {
  return `⛔ ${esc(reason)}`;
}

/**
 * Where a hook points, as members may see it: `→` outgoing (scheme, host and path, the query
 * masked; its trigger words) or `←` incoming (the masked token).
 */
function hookTarget(h: HookRecord): string {
  return h.kind === "outgoing" && h.outgoing
    ? `→ ${esc(maskUrl(h.outgoing.url))} · ${
      h.outgoing.triggers.length
        ? `triggers ${h.outgoing.triggers.map(esc).join(" ")}`
        : "all events"
    }`
    : `← ${maskToken(h.tokenHint)}`;
}

/** `/webhook_list`; `now` tells hooks whose expiry passed (removed within a minute) apart. */
export function list(hooks: readonly HookRecord[], now = Date.now()): string {
  if (hooks.length === 0) {
    return "No webhooks in this chat yet. Create one with /webhook_create &lt;name&gt;.";
  }
  const state = (h: HookRecord) =>
    h.expiresAt !== null && h.expiresAt <= now
      ? ["⌛ ", " (expired)"]
      : h.paused
      ? ["⏸ ", " (paused)"]
      : ["", ""];
  const lines = hooks.map((h, i) =>
    `${i + 1}. ${state(h)[0]}<b>${esc(h.name)}</b>${state(h)[1]} · ${hookTarget(h)}${
      h.expiresAt === null ? "" : ` · expires ${when(h.expiresAt)}`
    } · by ${esc(h.createdBy || "unknown")} · created ${when(h.createdAt)} · last used ${
      when(h.lastUsedAt)
    } · ${h.deliveryCount} ${h.deliveryCount === 1 ? "delivery" : "deliveries"}`
  );
  return [`<b>Webhooks in this chat (${hooks.length}):</b>`, ...lines].join("\n");
}

/** `/webhook_revoke` done. */
export function revoked(h: HookKindOf): string {
  const to = targetOf(h);
  return to === null
    ? `🗑 Webhook <b>${esc(h.name)}</b> revoked; its URL no longer works.`
    : `🗑 Outgoing webhook <b>${
      esc(h.name)
    }</b> revoked; nothing more is sent to ${to}, and calls still waiting were dropped.`;
}

/**
 * A command on a hook whose expiry has passed: it already answers 404 (or sends nothing), and
 * the expiry sweep removes it within a minute and tells its creator.
 */
export function expiredAlready(h: HookKindOf & Pick<HookRecord, "expiresAt">): string {
  const name = esc(h.name);
  return `⌛ Webhook <b>${name}</b> expired at ${when(h.expiresAt)}; ${
    targetOf(h) === null ? "its URL answers 404" : "nothing more is sent"
  } and it is being removed. Create a new one with /webhook_create ${name}.`;
}

/** `/webhook_revoke` of an unknown name. */
export function notFound(name: string, existing: readonly string[]): string {
  return `⚠️ No webhook named <b>${esc(name)}</b> in this chat.${hereList(existing)}`;
}

/** Names shown after a refusal, at most this many (a message stays far under 4096 characters). */
const HERE_MAX = 20;

/** " Webhooks here: a, b, c." (the first {@link HERE_MAX}, then how many more), or that there are none. */
export function hereList(existing: readonly string[]): string {
  if (existing.length === 0) return " This chat has no webhooks.";
  const shown = existing.slice(0, HERE_MAX).map((n) => `<b>${esc(n)}</b>`).join(", ");
  const more = existing.length - HERE_MAX;
  return more > 0
    ? ` Webhooks here: ${shown} and ${more} more (/webhook_list shows them all).`
    : ` Webhooks here: ${shown}.`;
}

/** Prefix of a reply that had to go by direct message because the chat refused it. */
export function redirected(chatTitle: string): string {
  return `[Reply to your command in «${esc(chatTitle)}»]\n`;
}

/** Something unexpected; the details are in the bot's log. */
export function failed(): string {
  return "⚠️ Something went wrong on my side; please try again in a minute.";
}

/** A lifecycle command without the arguments it needs: what to type instead. */
export function usage(command: string, example: string): string {
  return `⚠️ Type /${command} ${esc(example)}.`;
}

/** `/webhook_pause` done. */
export function paused(h: HookKindOf): string {
  const name = esc(h.name);
  const to = targetOf(h);
  return to === null
    ? `⏸ Webhook <b>${name}</b> paused: its URL answers 404 and nothing is posted until /webhook_resume ${name}.`
    : `⏸ Webhook <b>${name}</b> paused: nothing is sent to ${to} until /webhook_resume ${name} (calls still waiting are dropped).`;
}

/** `/webhook_resume` done. */
export function resumed(h: HookKindOf): string {
  const to = targetOf(h);
  return to === null
    ? `▶️ Webhook <b>${esc(h.name)}</b> resumed; its URL works again.`
    : `▶️ Webhook <b>${esc(h.name)}</b> resumed; calls go to ${to} again.`;
}

/** A trigger word of a paused outgoing hook said to the bot: nothing was sent, and how to resume. */
export function pausedTrigger(trigger: string, name: string): string {
  const n = esc(name);
  return `⏸ ${
    esc(trigger)
  } goes to webhook <b>${n}</b>, which is paused: nothing was sent. /webhook_resume ${n} switches it on again.`;
}

/**
 * Added to what a rotation, verification or allowlist of a paused hook says: the change is made,
 * but the hook still does nothing until it is resumed. Empty for an active hook.
 */
export function stillPaused(h: HookKindOf & Pick<HookRecord, "paused">): string {
  if (!h.paused) return "";
  const n = esc(h.name);
  return `\n⏸ Webhook <b>${n}</b> is still paused: ${
    targetOf(h) === null ? "its URLs answer 404" : "nothing is sent"
  } until /webhook_resume ${n}.`;
}

/** Pause or resume of a hook already in that state, with the command that does change it. */
export function alreadyInState(name: string, isPaused: boolean): string {
  const n = esc(name);
  return isPaused
    ? `Webhook <b>${n}</b> is already paused; /webhook_resume ${n} switches it on again.`
    : `Webhook <b>${n}</b> is already active; /webhook_pause ${n} switches it off.`;
}

/** `/webhook_rename` done. */
export function renamed(from: string, to: string): string {
  return `✏️ Webhook <b>${esc(from)}</b> is now <b>${esc(to)}</b>; its URL is unchanged.`;
}

/** `/webhook_rotate` done (in the origin chat: neither the URL nor the secret). */
export function rotated(h: HookKindOf, graceText: string): string {
  return `🔁 Webhook <b>${esc(h.name)}</b> has a new ${
    targetOf(h) === null ? "URL" : "signing secret"
  }, sent to you in a private message. ${graceText}`;
}

/**
 * What happens to the old URL (incoming) or the old signing secret (outgoing: every request
 * carries both signatures during the grace) after a rotation.
 */
export function graceText(graceMs: number, until: number, h: HookKindOf): string {
  if (targetOf(h) !== null) {
    return graceMs === 0
      ? "The old secret no longer signs anything."
      : `Requests are signed with both the new and the old secret until ${
        when(until)
      }, so the service can switch without failing a call.`;
  }
  return graceMs === 0
    ? "The old URL stopped working now."
    : `The old URL keeps working until ${
      when(until)
    }; each use of it is logged and counted (see /webhook_info).`;
}

/** The direct message with a rotated URL. */
export function rotatedUrlMessage(
  name: string,
  chatTitle: string | null,
  url: string,
  graceLine: string,
  graceMs: number,
): string {
  const where = chatTitle === null ? "this chat" : `«${esc(chatTitle)}»`;
  return [
    `🔁 New URL of webhook <b>${esc(name)}</b> for ${where}:`,
    esc(url),
    "",
    graceLine,
    // With grace 0 the old URL is dead already; "then answers 404" read as a time still to come.
    graceMs === 0
      ? "Put the new URL into every sender now."
      : "Put the new URL into every sender before then; after that the old one answers 404.",
  ].join("\n");
}

/** The direct message with a rotated outgoing signing secret. */
export function rotatedSecretMessage(name: string, secret: string, graceLine: string): string {
  return [
    `🔁 New signing secret of outgoing webhook <b>${esc(name)}</b>:`,
    esc(secret),
    "",
    graceLine,
  ].join("\n");
}

/** `/webhook_expire` done. */
export function expirySet(name: string, expiresAt: number | null): string {
  return expiresAt === null
    ? `Webhook <b>${esc(name)}</b> no longer expires.`
    : `⏳ Webhook <b>${esc(name)}</b> expires ${
      when(expiresAt)
    }. Its creator gets a reminder before.`;
}

/** The reminder before an expiry (DM to the creator; `here`: posted in the hook's own chat). */
export function expiryWarning(h: HookRecord, here = false): string {
  const where = h.chatTitle && !here ? ` in «${esc(h.chatTitle)}»` : "";
  return `⏳ Webhook <b>${esc(h.name)}</b>${where} expires ${
    when(h.expiresAt)
  }. To keep it, type /webhook_expire ${esc(h.name)} never (or a new duration) ${
    here ? "here" : "in that chat"
  }.`;
}

/** The hook expired (DM to the creator; `here`: posted in the hook's own chat). */
export function expiredNotice(h: HookRecord, here = false): string {
  const where = h.chatTitle && !here ? ` in «${esc(h.chatTitle)}»` : "";
  const to = targetOf(h);
  return `⌛ Webhook <b>${esc(h.name)}</b>${where} expired and was removed; ${
    to === null ? "its URL answers 404" : `nothing more is sent to ${to}`
  }. Create a new one with /webhook_create.`;
}

/** The hooks of a chat were paused because the bot lost the chat (DM to each creator). */
export function chatLostNotice(
  hooks: readonly HookKindOf[],
  chatTitle: string,
  reason: "bot_removed" | "chat_removed",
): string {
  const more = hooks.length - HERE_MAX;
  const list = hooks.slice(0, HERE_MAX).map((h) => `<b>${esc(h.name)}</b>`).join(", ") +
    (more > 0 ? ` and ${more} more` : "");
  const one = hooks.length === 1;
  const outgoing = hooks.filter((h) => targetOf(h) !== null).length;
  // What a paused hook does: incoming URLs answer 404, outgoing hooks send nothing.
  const effect = outgoing === 0
    ? (one ? "its URL answers 404" : "their URLs answer 404")
    : outgoing === hooks.length
    ? "nothing is sent to their services"
    : "incoming URLs answer 404, outgoing hooks send nothing";
  return reason === "bot_removed"
    ? `⏸ I was removed from «${esc(chatTitle)}», so your webhook${one ? "" : "s"} ${list} ${
      one ? "is" : "are"
    } paused (${effect}). Once I am back in the chat, type /webhook_resume &lt;name&gt; there.`
    : `⏸ The chat «${esc(chatTitle)}» was removed, so your webhook${one ? "" : "s"} ${list} ${
      one ? "is" : "are"
    } paused (${effect}).`;
}

/** `/webhook_verify … off` done. */
export function verifyOff(name: string): string {
  return `Webhook <b>${esc(name)}</b> no longer checks sender signatures.`;
}

/** `/webhook_verify` done, in the origin chat (the secret went by DM). */
export function verifyOn(name: string, mode: VerifyMode): string {
  return `🔏 Webhook <b>${esc(name)}</b> now requires a valid ${
    MODE_TITLE[mode]
  } proof; requests without one get 401. I sent you the secret and where to paste it in a private message.`;
}

const MODE_TITLE: Record<VerifyMode, string> = {
  github: "GitHub signature",
  gitlab: "GitLab token",
  grafana: "Grafana HMAC signature",
  standard: "Standard Webhooks signature",
  bearer: "bearer token",
};

/** The direct message with a verification secret and where to paste it. */
export function verifySecretMessage(name: string, mode: VerifyMode, secret: string): string {
  const s = esc(secret);
  const where: Record<VerifyMode, string> = {
    github:
      `In GitHub: Settings → Webhooks → your webhook → <b>Secret</b>: paste the secret. Content type application/json. GitHub then signs with X-Hub-Signature-256.`,
    gitlab:
      `In GitLab: Settings → Webhooks → your webhook → <b>Secret token</b>: paste the secret (sent as X-Gitlab-Token). Where GitLab offers a <b>Signing token</b> (signed requests, whsec_ format), paste the same secret there instead: its webhook-signature is then checked.`,
    grafana:
      `In Grafana 12: the webhook contact point → Optional settings → <b>HMAC Signature</b> → Secret: paste the secret (header X-Grafana-Alerting-Signature; if you set a timestamp header, name it X-Grafana-Alerting-Signature-Timestamp).`,
    standard:
      `Give this Standard Webhooks secret to the sender (it signs with webhook-id, webhook-timestamp and webhook-signature; at most 5 minutes clock difference; each webhook-id is accepted once).`,
    bearer:
      `Send it as <b>Authorization: Bearer &lt;secret&gt;</b>. Alertmanager: http_config: authorization: credentials: &lt;secret&gt;. curl: -H 'Authorization: Bearer ${s}'.`,
  };
  return [
    `🔏 Secret for webhook <b>${esc(name)}</b> (${MODE_TITLE[mode]}):`,
    s,
    "",
    where[mode],
    "Until the sender uses it, its requests get 401 signature_invalid. Keep it secret; /webhook_verify again makes a new one.",
  ].join("\n");
}

/**
 * `/webhook_verify` or `/webhook_allow` of an outgoing hook: both guard an incoming hook's URL,
 * which an outgoing hook does not have.
 */
export function incomingOnly(h: HookKindOf, command: "webhook_verify" | "webhook_allow"): string {
  const name = esc(h.name);
  const head = `⚠️ <b>${name}</b> is an outgoing webhook: it calls ${
    targetOf(h) ?? "a service"
  } and has no URL of its own for senders to post to.`;
  return command === "webhook_verify"
    ? `${head} /webhook_verify checks the senders of an incoming webhook. The calls of ${name} are signed with the secret you got in a private message; /webhook_rotate ${name} makes a new one.`
    : `${head} /webhook_allow limits which addresses may post to an incoming webhook; nothing was changed.`;
}

/** `/webhook_allow` done. */
export function allowSet(name: string, allow: readonly string[] | null): string {
  return allow === null
    ? `Webhook <b>${esc(name)}</b> accepts requests from any address again.`
    : `🛡 Webhook <b>${esc(name)}</b> accepts requests only from ${
      allow.map(esc).join(", ")
    }; others get 403.`;
}

/** `/webhook_info`. */
export function info(h: HookRecord, history: readonly HistoryEntry[], now: number): string {
  const lines = [
    `<b>Webhook ${esc(h.name)}</b>`,
    `Kind: ${h.kind} ${hookTarget(h)}`,
    `Created ${when(h.createdAt)} by ${esc(h.createdBy || "unknown")}`,
    `Last used ${when(h.lastUsedAt)} · ${h.deliveryCount} ${
      h.deliveryCount === 1 ? "delivery" : "deliveries"
    }`,
    `State: ${
      h.paused
        ? `paused since ${when(h.paused.at)}${
          h.paused.reason === "user" ? "" : ` (${h.paused.reason.replace("_", " ")})`
        }`
        : "active"
    }`,
    `Expires: ${h.expiresAt === null ? "never" : when(h.expiresAt)}`,
  ];
  if (h.rotation && h.rotation.until > now) {
    // Who used the old URL last, while the history still holds that request.
    const from = history.findLast((e) => e.oldUrlFrom)?.oldUrlFrom;
    lines.push(
      `Rotation: old ${h.kind === "incoming" ? "URL" : "secret"} works until ${
        when(h.rotation.until)
      }${
        h.kind === "incoming"
          ? ` · used ${h.rotation.oldUses} ${
            h.rotation.oldUses === 1 ? "time" : "times"
          } since, last ${when(h.rotation.oldLastUsedAt)}${from ? `, from ${esc(from)}` : ""}`
          : ""
      }`,
    );
  }
  // Sender checks guard an incoming hook's URL; an outgoing hook signs its own calls.
  if (h.kind === "outgoing") {
    lines.push("Signing: Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature)");
  } else {
    lines.push(
      `Verification: ${h.verification ? MODE_TITLE[h.verification.mode] : "off"}`,
      `Allowed addresses: ${h.allow === null ? "any" : h.allow.map(esc).join(", ")}`,
    );
  }
  // Living messages (src/messages/settings.ts): shown with their defaults.
  lines.push(
    `Alerts: ${esc(h.settings.alerts ?? "edit")} · Mentions: ${
      esc(h.settings.mentions ?? "people")
    }`,
  );
  for (const [k, v] of Object.entries(h.settings)) {
    if (k !== "alerts" && k !== "mentions") lines.push(`${esc(k)}: ${esc(v)}`);
  }
  if (history.length === 0) lines.push("No requests yet.");
  else {
    lines.push(`Last ${history.length} requests:`);
    for (const e of [...history].reverse()) {
      lines.push(
        `• ${whenSeconds(e.at)} · ${historyStatus(h, e)} · ${esc(e.format || "-")} · ${
          esc(e.outcome || "-")
        }${e.error ? ` · ${esc(e.error)}` : ""}${
          e.oldUrlFrom ? ` · old URL from ${esc(e.oldUrlFrom)}` : ""
        }`,
      );
    }
  }
  return lines.join("\n");
}

/**
 * The status column of a `/webhook_info` (and `hooks info`) history line: the HTTP status, or
 * what an entry without one is.
 */
export function historyStatus(
  h: Pick<HookRecord, "kind">,
  e: Pick<HistoryEntry, "status" | "format">,
): string {
  if (e.status !== 0) return String(e.status);
  if (h.kind !== "outgoing") return "queued →"; // the later end of a queued delivery
  return e.format === "" ? "answer →" : "no answer"; // an answer posted; a call unanswered
}

/** A grace period that is not one. */
export function badGrace(word: string): string {
  return `⚠️ «${
    esc(word)
  }» is not a grace period: use minutes, hours or days (30m, 24h, 7d; at most 7d), or 0 to stop the old one at once.`;
}

/** `/webhook_verify <name> <word>` where the word is no verification mode. */
export function badVerifyMode(word: string, name: string): string {
  return `⚠️ «${esc(word)}» is not a verification mode: type /webhook_verify ${
    esc(name)
  } github|gitlab|grafana|standard|bearer|off.`;
}

/** `expires=` that is not a duration. */
export function badExpires(word: string, name: string): string {
  return `⚠️ «expires=${esc(word)}» is not a duration. Type for example /webhook_create ${
    esc(name || "deploys")
  } expires=30d (m, h or d; at most 3650d).`;
}

/** A URL or secret could not be sent by direct message, so nothing was changed. */
export function dmFailedFor(action: "rotate" | "verify", h: HookKindOf): string {
  const name = esc(h.name);
  return `⚠️ I could not send you a private message, so webhook <b>${name}</b> was not changed. Write to me in a private chat once, then try /webhook_${action} ${name} again.`;
}
