/**
 * Every text the bot writes about outgoing hooks, in TrueConf's HTML parse mode like the
 * other chat replies (`src/hooks/replies.ts`), with user-supplied text escaped.
 *
 * @module
 */

import { esc, hereList, maskUrl } from "../hooks/replies.ts";
import { verificationExample } from "./secret.ts";

/** What a hook is sent, in words. */
function what(triggers: readonly string[]): string {
  return triggers.length === 0
    ? "every message and event of the chat"
    : `messages starting with ${triggers.map((t) => `<b>${esc(t)}</b>`).join(", ")}`;
}

/** The direct message with the signing secret (the only place it is ever shown). */
export function secretMessage(
  name: string,
  chatTitle: string | null,
  url: string,
  triggers: readonly string[],
  secret: string,
): string {
  const where = chatTitle === null ? "this chat" : `«${esc(chatTitle)}»`;
  return [
    `🔑 Outgoing webhook <b>${esc(name)}</b> for ${where} → ${esc(maskUrl(url))}`,
    `It sends ${what(triggers)}, signed with this secret:`,
    esc(secret),
    "",
    "Verify each request (Node.js; Python and curl+openssl in docs/outgoing.md):",
    esc(verificationExample(secret)),
    "",
    `Keep the secret private. Revoke the hook with /webhook_revoke ${
      esc(name)
    }; test it with /webhook_test ${esc(name)}.`,
  ].join("\n");
}

/** Acknowledgement in the chat (never the secret). */
export function created(name: string, url: string, triggers: readonly string[]): string {
  return `✅ Outgoing webhook <b>${esc(name)}</b> created: ${what(triggers)} go to ${
    esc(maskUrl(url))
  }. I sent you its signing secret in a private message.`;
}

/** Create arguments that do not make sense, with what to type instead. */
export function badArgs(reason: string): string {
  return `⚠️ ${
    esc(reason)
  }.\nType /webhook_create &lt;name&gt; &lt;url&gt; [trigger words…], for example /webhook_create deploys https://ci.example.com/hooks/chat /deploy`;
}

/** A URL the SSRF guard refuses. */
export function unsafeUrl(reason: string): string {
  return `⛔ That URL cannot be used: ${
    esc(reason)
  }.\nOutgoing webhooks call public http(s) addresses only.`;
}

/** The secret could not be sent privately, so the hook was removed again. */
export function dmFailed(name: string): string {
  return `⚠️ I could not send you a private message with the signing secret, so outgoing webhook <b>${
    esc(name)
  }</b> was not kept. Write to me in a private chat once, then create it again.`;
}

/** `/webhook_test` without a name, or with words that do not start with one. */
export function testNeedsName(existing: readonly string[], wanted = ""): string {
  const head = wanted === ""
    ? "⚠️ Which webhook?"
    : `⚠️ No webhook here is named «${esc(wanted)}» (or what it starts with).`;
  return `${head} Type /webhook_test &lt;name&gt; [text].${hereList(existing)}`;
}

/** `/webhook_test` of an outgoing hook: what the service said. */
export function pingResult(
  name: string,
  url: string,
  r: { ok: boolean; status: number | null; latencyMs: number; detail: string },
): string {
  const head = `${r.ok ? "✅" : "❌"} <b>${esc(name)}</b> → ${esc(maskUrl(url))}: `;
  const status = r.status === null ? "no answer" : `HTTP ${r.status}`;
  return `${head}${status} in ${r.latencyMs} ms${r.detail ? `\n${esc(r.detail)}` : ""}`;
}

/** `/webhook_test` of an incoming hook: what happened to the test message. */
export function incomingTestResult(name: string, outcome: string): string {
  return `🧪 <b>${esc(name)}</b>: ${esc(outcome)}`;
}

/** Added to a `/webhook_test` answer when the hook is paused: the test ran, the hook does not. */
export function pausedNote(name: string, outgoing: boolean): string {
  return `\n⏸ <b>${esc(name)}</b> is paused: ${
    outgoing ? "chat events are not sent" : "its URL answers 404"
  } until /webhook_resume ${esc(name)}.`;
}
