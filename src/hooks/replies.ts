/**
 * Every text the bot writes into chats, in one place. All use TrueConf's HTML parse mode
 * (`<b>`, `<i>`): its escaping is unambiguous (`&lt;` `&amp;`), whereas in TrueConf Markdown
 * the underscores of `/webhook_create` could start italics and backslash escapes are not
 * documented. Names and other user-supplied text are escaped so they cannot inject markup.
 *
 * @module
 */
import type { HookRecord } from "./store.ts";
import { maskToken } from "./token.ts";
import { HOOK_NAME_MAX_LENGTH, type HookNameError } from "./hook_name.ts";

/** The parse mode every reply is written for. */
export const REPLY_MODE = "html" as const;

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

/** `/webhook_help`, and the answer to a bare mention or an unknown command. */
export function help(inGroup: boolean): string {
  const prefix = inGroup ? "mention me, then type " : "";
  return [
    "<b>Incoming webhooks for this chat</b>",
    `• /webhook_create &lt;name&gt; — create a webhook; I send its secret URL to you in a private message`,
    "• /webhook_list — list this chat's webhooks",
    "• /webhook_revoke &lt;name&gt; — delete a webhook; its URL stops working at once",
    "• /webhook_help — this help",
    "",
    `Example: ${prefix}/webhook_create deploys`,
    "Anything that can send an HTTP POST (curl, CI, Grafana, Alertmanager, Zabbix…) can then post text, images and files here.",
  ].join("\n");
}

/**
 * The direct message that carries the secret URL. `chatTitle` is the chat the hook posts
 * into, or null when that is this personal chat itself.
 */
export function urlMessage(name: string, chatTitle: string | null, url: string): string {
  const where = chatTitle === null ? "this chat" : `«${esc(chatTitle)}»`;
  const u = esc(url);
  return [
    `🔑 Webhook <b>${esc(name)}</b> for ${where}:`,
    u,
    "",
    "Keep this URL secret: anyone who has it can post into the chat. Try it:",
    `curl -d text=hello ${u}`,
    `curl -H 'Content-Type: application/json' -d '{"text":"**bold** hello","parse_mode":"markdown"}' ${u}`,
    `curl -F text=report -F file=@report.pdf ${u}`,
    `Revoke it with /webhook_revoke ${esc(name)}${chatTitle === null ? "" : " in that chat"}.`,
  ].join("\n");
}

/** Acknowledgement in the chat where the hook was created (never contains the token). */
export function created(name: string): string {
  return `✅ Webhook <b>${esc(name)}</b> created. I sent its URL to you in a private message.`;
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

/** A name that fails validation: what is wrong and the command to type instead. */
export function badName(error: HookNameError | string, length = 0): string {
  switch (error) {
    case "empty":
      return "⚠️ The webhook needs a name. Type /webhook_create &lt;name&gt;, for example /webhook_create deploys.";
    case "too_long":
      return `⚠️ That name is ${length} characters long; at most ${HOOK_NAME_MAX_LENGTH} are allowed. Pick a shorter one, for example /webhook_create deploys.`;
    case "control_characters":
      return "⚠️ The name contains control characters. Use letters, digits, spaces and punctuation, for example /webhook_create deploys.";
    default:
      return `⚠️ ${
        esc(error)
      }\nType /webhook_create &lt;name&gt;, for example /webhook_create deploys (at most ${HOOK_NAME_MAX_LENGTH} characters).`;
  }
}

/** `/webhook_revoke` without a name. */
export function revokeNeedsName(existing: readonly string[] = []): string {
  const names = existing.length
    ? ` Webhooks here: ${existing.map((n) => `<b>${esc(n)}</b>`).join(", ")}.`
    : " This chat has no webhooks.";
  const example = existing[0] === undefined
    ? ""
    : `, for example /webhook_revoke ${esc(existing[0])}`;
  return `⚠️ Which webhook? Type /webhook_revoke &lt;name&gt;${example}.${names}`;
}

/** A second hook with the same name in one chat. */
export function duplicate(name: string): string {
  return `⚠️ A webhook named <b>${
    esc(name)
  }</b> already exists here. Pick another name, or revoke it first with /webhook_revoke ${
    esc(name)
  }.`;
}

/** A member may not manage hooks. */
export function refused(reason: string): string {
  return `⛔ ${esc(reason)}`;
}

/** `/webhook_list`. */
export function list(hooks: readonly HookRecord[]): string {
  if (hooks.length === 0) {
    return "No webhooks in this chat yet. Create one with /webhook_create &lt;name&gt;.";
  }
  const lines = hooks.map((h, i) =>
    `${i + 1}. <b>${esc(h.name)}</b> · ${maskToken(h.tokenHint)} · by ${
      esc(h.createdBy || "unknown")
    } · created ${when(h.createdAt)} · last used ${when(h.lastUsedAt)} · ${h.deliveryCount} ${
      h.deliveryCount === 1 ? "delivery" : "deliveries"
    }`
  );
  return [`<b>Webhooks in this chat (${hooks.length}):</b>`, ...lines].join("\n");
}

/** `/webhook_revoke` done. */
export function revoked(name: string): string {
  return `🗑 Webhook <b>${esc(name)}</b> revoked; its URL no longer works.`;
}

/** `/webhook_revoke` of an unknown name. */
export function notFound(name: string, existing: readonly string[]): string {
  const names = existing.length
    ? ` Webhooks here: ${existing.map((n) => `<b>${esc(n)}</b>`).join(", ")}.`
    : " This chat has no webhooks.";
  return `⚠️ No webhook named <b>${esc(name)}</b> in this chat.${names}`;
}

/** Prefix of a reply that had to go by direct message because the chat refused it. */
export function redirected(chatTitle: string): string {
  return `[Reply to your command in «${esc(chatTitle)}»]\n`;
}

/** Something unexpected; the details are in the bot's log. */
export function failed(): string {
  return "⚠️ Something went wrong on my side; please try again in a minute.";
}
