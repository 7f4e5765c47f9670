/**
 * Pieces shared by the GitHub and GitLab adapters: reading the event body (JSON, or GitHub's
 * form-encoded `payload` field) and small wording helpers for pushes.
 *
 * @module
 */
import type { Message, MessageButton, MessageGroup } from "../../message.ts";
import type { PayloadInput } from "./types.ts";
import { PayloadError } from "./types.ts";
import { asObject, asText, type JsonObject } from "./_read.ts";
import { parseJsonLenient } from "../decode_body.ts";
import { replaceEmojiShortcodes } from "./_mrkdwn.ts";
import { block, joinParts, limitText, mdLink, plain } from "./_markup.ts";

/** Commit lines listed under a push. */
export const MAX_COMMITS_SHOWN = 5;
/** Rendered GitHub/GitLab summaries are capped here; they are short by design. */
export const MAX_EVENT_TEXT = 6_000;
/** Issue/PR/comment bodies are excerpted to this many characters. */
export const BODY_EXCERPT = 500;

/**
 * The event body as a JSON object: the JSON body itself, or the JSON string in the `payload`
 * field of a form body (GitHub's `application/x-www-form-urlencoded` content type).
 * `sender` names the service in error messages.
 */
export function eventBody(input: PayloadInput, sender: string): JsonObject {
  const body = input.body;
  let value: unknown;
  if (body.kind === "json") {
    value = body.value;
  } else if (body.kind === "form" && body.fields.has("payload")) {
    value = parseJsonLenient(
      body.fields.get("payload")?.[0] ?? "",
      `The payload form field of this ${sender} webhook`,
      "Set the webhook's content type to application/json.",
    );
  }
  const o = asObject(value);
  if (o === undefined) {
    throw new PayloadError(
      "invalid_payload",
      `A ${sender} webhook body must be a JSON object; set the webhook's content type to application/json.`,
    );
  }
  return o;
}

/**
 * An issue, pull request, comment or release body as the chat shows it: escaped, excerpted to
 * {@link BODY_EXCERPT}, without the HTML comments (`<!-- … -->`, an unclosed one to the end)
 * that pull request and issue templates leave in it and GitHub and GitLab hide, with the emoji
 * shortcodes both show as emoji (`:+1:` → 👍) turned into emoji. `undefined` when
 * nothing is left (a template nobody filled in), so no empty line is added.
 */
export function bodyExcerpt(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const shown = text.includes("<!--") ? text.replace(/<!--[\s\S]*?(?:-->|$)/g, "") : text;
  const excerpt = block(replaceEmojiShortcodes(shown), BODY_EXCERPT);
  return excerpt === "" ? undefined : excerpt;
}

/** `main` for `refs/heads/main`, `v1.0` for `refs/tags/v1.0`. */
export function shortRef(ref: string): string {
  return ref.replace(/^refs\/(heads|tags)\//, "");
}

/**
 * How an event's `action` reads in a sentence: the service's own word from `table`, else the
 * action with spaces (`ready_for_review` → `ready for review`), `updated` when there is none.
 */
export function verbOf(
  action: string | undefined,
  table: Readonly<Record<string, string>> = {},
): string {
  if (action === undefined) return "updated";
  return (Object.hasOwn(table, action) ? table[action] : undefined) ??
    plain(action.replace(/_/g, " "), 40);
}

/** `[#12 Title](url)` (GitHub's `#`, GitLab's `!` for merge requests). */
export function itemLink(prefix: string, number: unknown, title: unknown, url: unknown): string {
  const num = asText(number);
  const label = joinParts([num !== undefined ? `${prefix}${num}` : undefined, asText(title)], " ");
  return mdLink(label === "" ? "(untitled)" : label, url);
}

/** First line of a commit message. */
export function commitTitle(message: string): string {
  return message.split("\n", 1)[0] ?? "";
}

/** What a push lists of one commit; each service names the fields its own way. */
export interface CommitFields {
  readonly sha: string;
  readonly title: string;
  readonly author: string | undefined;
}

/**
 * The `• sha title — author` lines under a push (at most {@link MAX_COMMITS_SHOWN}), then
 * `… and N more commits` when `total` says there were more. Entries that are not objects are
 * skipped.
 */
export function listCommits(
  commits: readonly unknown[],
  total: number,
  shaLength: number,
  fields: (commit: JsonObject) => CommitFields,
): string[] {
  const lines: string[] = [];
  for (const item of commits.slice(0, MAX_COMMITS_SHOWN)) {
    const commit = asObject(item);
    if (commit === undefined) continue;
    const { sha, title, author } = fields(commit);
    lines.push(
      `• ${mdLink(sha.slice(0, shaLength) || "commit", commit["url"])} ${plain(title, 120)}${
        author !== undefined ? ` — ${plain(author, 60)}` : ""
      }`,
    );
  }
  const more = total - Math.min(commits.length, MAX_COMMITS_SHOWN);
  if (more > 0) lines.push(`… and ${plural(more, "more commit")}`);
  return lines;
}

/** `3 commits` / `1 commit` */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/**
 * A CI run or deployment as a living message (docs/messages.md): one chat message per run,
 * edited from queued to running to its end; a failure also posts a short reply, because an
 * edit notifies nobody. `outcome` is `running` or the final word.
 */
export function ciGroup(
  id: string,
  title: string,
  outcome: "running" | "success" | "failure" | "other",
): MessageGroup {
  const done = outcome !== "running";
  return {
    id: id.slice(0, 900),
    state: done ? "closed" : "open",
    title,
    ...(outcome === "failure" ? { reply: `❌ Failed: ${title}` } : {}),
  };
}

/** A CI run's living-message group and its link buttons (GitHub's and GitLab's renderers). */
export interface CiRun {
  readonly group: MessageGroup;
  readonly buttons: MessageButton[][];
}

/**
 * The Message of a GitHub or GitLab event: the capped summary, and for a CI run its group (one
 * message edited through the run) and link buttons (on servers that show buttons; none shown
 * as text elsewhere, since the summary already links them).
 */
export function eventMessage(text: string, run: CiRun | undefined): Message {
  return {
    text: limitText(text, MAX_EVENT_TEXT),
    parseMode: "markdown",
    attachments: [],
    ...(run ? { thread: { group: run.group } } : {}),
    ...(run?.buttons.length ? { buttons: run.buttons, buttonFallback: "none" as const } : {}),
  };
}
