/**
 * Format detection: picks the adapter for a request, in an explicit order.
 *
 * 1. `?format=<name>` forces an adapter (an unknown name → 400 `unknown_format` listing names).
 * 2. Headers: `X-GitHub-Event` → github, `X-Gitlab-Event` → gitlab; an undecoded (`raw`) body,
 *    which the HTTP layer passes only for an ntfy publish, or ntfy's JSON `{topic,…}` → ntfy.
 * 3. Body signatures, most specific first: Grafana (`orgId`, or version "1" with alerts/state),
 *    Alertmanager (version "4" + alerts + groupKey), Teams (`@type: MessageCard`, or card
 *    attachments), Google Chat (`cardsV2`/`cards`/`thread`, or `?threadKey=`), Discord
 *    (`content`, or `embeds` with Discord keys only; multipart `payload_json`), Apprise
 *    (`version`/`title`/`message`/`type` JSON, or a form with `message`), Rocket.Chat (`alias`/
 *    `emoji`/`avatar` with Slack keys), Mattermost (`props`/`priority`/`root_id`/`type: custom_*`,
 *    or the `/hooks/<token>` route), Slack markup in a text-only body or the `@slack/webhook`
 *    user agent (→ Slack), native (keys ⊆ text/parse_mode/images/files), Slack
 *    (`attachments`/`blocks`/`mrkdwn`, form `payload=`, or `text` with only Slack keys).
 *    Gotify is never guessed: its `/message` route forces it.
 * 4. A JSON object nothing claims (see docs/formats.md, "Unrecognised JSON"):
 *    - a key that looks like a misspelt native field (`txt`, `image`, `parseMode`, `image_url`)
 *      next to native fields → 400 `unknown_field` with a did-you-mean, because the sender is
 *      clearly writing the native format and would otherwise lose data silently;
 *    - any native field present (`text`, …) → native, other keys ignored (as Slack does) and
 *      named in the answer (`ignored`);
 *    - anything else → posted as a pretty-printed ```json code block (truncated to
 *      {@link FALLBACK_JSON_LIMIT} characters), so a sender we do not know yet is still heard
 *      and nothing is dropped. The result carries `fallback: "json_code_block"` for logs.
 *
 * @module
 */
import type { Message } from "../../message.ts";
import { alertmanagerFormat } from "./alertmanager.ts";
import { appriseFormat } from "./apprise.ts";
import { githubFormat } from "./github.ts";
import { gitlabFormat } from "./gitlab.ts";
import { grafanaFormat } from "./grafana.ts";
import { mattermostFormat } from "./mattermost.ts";
import { NATIVE_KEYS, nativeFormat, parseNative } from "./native.ts";
import { fieldLookalike } from "./_field_lookalike.ts";
import { isRecord } from "./_read.ts";
import { slackFormat, slackTextFormat } from "./slack.ts";
import { discordFormat } from "./discord.ts";
import { googleChatFormat } from "./googlechat.ts";
import { gotifyFormat } from "./gotify.ts";
import { jenkinsFormat } from "./jenkins.ts";
import { uptimeKumaFormat } from "./uptimekuma.ts";
import { ntfyFormat } from "./ntfy.ts";
import { rocketChatFormat } from "./rocketchat.ts";
import { teamsFormat } from "./teams.ts";
import { logsFormat } from "./logs.ts";
import {
  type FormatAdapter,
  type FormatName,
  type ParsedPayload,
  PayloadError,
  type PayloadInput,
} from "./types.ts";

/** Every adapter, in detection order (the first whose `detect` says yes wins). */
export const DETECTION_ORDER: readonly FormatAdapter[] = [
  githubFormat,
  gitlabFormat,
  ntfyFormat,
  grafanaFormat,
  alertmanagerFormat,
  jenkinsFormat,
  uptimeKumaFormat,
  teamsFormat,
  googleChatFormat,
  discordFormat,
  appriseFormat,
  rocketChatFormat,
  mattermostFormat,
  slackTextFormat,
  nativeFormat,
  slackFormat,
  // Last: only a batch of records (a JSON array, NDJSON) is the logs format's, and no other
  // adapter claims one; the text path never reaches it.
  logsFormat,
  gotifyFormat,
];

/** Most characters of pretty-printed JSON posted for an unrecognised payload. */
export const FALLBACK_JSON_LIMIT = 3000;

/** A parse result, marked when it came from the unrecognised-JSON fallback. */
export interface DetectedPayload extends ParsedPayload {
  /** Set when no format matched and the body was posted as a JSON code block. */
  readonly fallback?: "json_code_block";
}

/**
 * Detects the format of a request and parses it.
 *
 * @param forced the `?format=` query value; null/empty means detect
 * @throws PayloadError from the chosen adapter, or `unknown_format` / `unknown_field`
 */
export function detectFormat(
  input: PayloadInput,
  forced?: string | null,
  adapters: readonly FormatAdapter[] = DETECTION_ORDER,
): DetectedPayload {
  const name = forced?.trim().toLowerCase() ?? "";
  if (name !== "") {
    const adapter = adapters.find((a) => a.name === name);
    if (!adapter) {
      throw new PayloadError(
        "unknown_format",
        `Unknown format "${forced}". Use one of: ${formatNames(adapters).join(", ")}.`,
      );
    }
    return adapter.parse(input);
  }
  for (const adapter of adapters) {
    if (adapter.detect(input)) return adapter.parse(input);
  }
  return fallback(input, adapters);
}

/** The format names available for `?format=`. */
export function formatNames(adapters: readonly FormatAdapter[] = DETECTION_ORDER): FormatName[] {
  return [...new Set(adapters.map((a) => a.name))];
}

function fallback(input: PayloadInput, adapters: readonly FormatAdapter[]): DetectedPayload {
  const { body } = input;
  if (body.kind !== "json" || !isRecord(body.value)) {
    // Only reachable with a custom adapter list; native reads any form or text body.
    return { format: "native", message: parseNative(body), reply: "json" };
  }
  const value = body.value;
  const keys = Object.keys(value);
  // An empty object carries nothing at all; posting "{}" into a chat helps nobody.
  if (keys.length === 0) return { format: "native", message: parseNative(body), reply: "json" };
  const hasNative = keys.some((key) => NATIVE_KEYS.includes(key));
  const misspelt = keys
    .map((key) => ({ key, meant: nativeLookalike(key) }))
    .filter((m): m is { key: string; meant: string } => m.meant !== undefined);
  const allNativeish = keys.every((key) => NATIVE_KEYS.includes(key) || nativeLookalike(key));
  if (misspelt.length > 0 && (hasNative || allNativeish)) {
    const [first] = misspelt as [{ key: string; meant: string }];
    throw new PayloadError(
      "unknown_field",
      `Unknown field "${first.key}": did you mean "${first.meant}"? The native format takes ` +
        `${NATIVE_KEYS.join(", ")}; other formats: ${formatNames(adapters).join(", ")}.`,
    );
  }
  // Native with the other keys ignored, and named in the answer (`ignored` + `note`).
  if (hasNative) return nativeFormat.parse(input);
  return {
    format: "native",
    message: jsonCodeBlock(value),
    reply: "json",
    fallback: "json_code_block",
  };
}

/** Renders an unrecognised object as readable, bounded, pretty-printed plain text. */
export function jsonCodeBlock(value: unknown, limit = FALLBACK_JSON_LIMIT): Message {
  // JSON.parse takes any depth, JSON.stringify recurses: 100 000 nested brackets (200 kB)
  // overflowed the stack and answered 500. Indentation grows with depth times lines, so a
  // 25 MB body 60 levels deep pretty-printed to over a gigabyte; big bodies stay compact.
  if (deeperThan(value, FALLBACK_JSON_MAX_DEPTH)) {
    throw new PayloadError(
      "invalid_payload",
      `The JSON body is nested more than ${FALLBACK_JSON_MAX_DEPTH} levels deep and matches no ` +
        `format this bot understands: ${formatNames().join(", ")}.`,
    );
  }
  const compact = JSON.stringify(value) ?? String(value);
  const pretty = compact.length <= FALLBACK_PRETTY_MAX ? JSON.stringify(value, null, 2) : compact;
  // Cut by UTF-16 index (spreading a 20 MB string into code points cost seconds and
  // hundreds of MB); step back one unit rather than split a surrogate pair.
  let cut = pretty.length > limit ? limit : pretty.length;
  const last = pretty.charCodeAt(cut - 1);
  if (cut < pretty.length && last >= 0xd800 && last <= 0xdbff) cut--;
  const shown = pretty.slice(0, cut);
  const note = cut < pretty.length
    ? `\n… (truncated: ${cut} of ${pretty.length} characters shown)`
    : "";
  // Plain text, not a Markdown fence: TrueConf's Markdown has no code blocks, so fences
  // would show as stray backticks, and plain text needs no escaping of the payload.
  return {
    text: `Received JSON in a format this bot does not recognise:\n${shown}${note}`,
    parseMode: "text",
    attachments: [],
  };
}

/** Deepest unrecognised JSON that is still posted (real payloads nest a few levels). */
const FALLBACK_JSON_MAX_DEPTH = 64;
/** Longest compact JSON that is pretty-printed; longer bodies are shown compact. */
const FALLBACK_PRETTY_MAX = 64 * 1024;

/** True when objects/arrays nest more than `max` levels (iterative: no recursion). */
function deeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    if (depth > max) return true;
    for (const child of Object.values(v)) {
      if (child !== null && typeof child === "object") stack.push([child, depth + 1]);
    }
  }
  return false;
}

const ALIASES: Readonly<Record<string, string>> = {
  imageurl: "images",
  imageurls: "images",
  photo: "images",
  photos: "images",
  image: "images",
  fileurl: "files",
  fileurls: "files",
  file: "files",
  document: "files",
  documents: "files",
  parsemode: "parse_mode",
};

/** The native key `key` looks like a misspelling of (not the key itself), if any. */
function nativeLookalike(key: string): string | undefined {
  return fieldLookalike(key, NATIVE_KEYS, ALIASES);
}
