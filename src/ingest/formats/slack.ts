/**
 * Slack-compatible incoming webhooks: JSON or form `payload=<json>` with `text` (mrkdwn),
 * `blocks` (Block Kit) and legacy `attachments`, rendered to TrueConf Markdown (see
 * `_slack_render.ts` for the layout and `_mrkdwn.ts` for the markup translation).
 *
 * Accepted and ignored, because the hook is bound to one chat and TrueConf has no per-message
 * identity or threads: `channel`, `username`, `icon_emoji`, `icon_url`, `link_names`, `parse`,
 * `unfurl_links`, `unfurl_media`, `thread_ts`, `reply_broadcast`, `ts`, `response_type`,
 * `replace_original`, `delete_original`, `as_user`, `metadata`.
 *
 * Errors use Slack's own codes: `no_text`, `too_many_attachments` (>100), `invalid_blocks`
 * (>50 or malformed), `invalid_attachments`, `invalid_payload`. Success answers `ok`.
 *
 * @module
 */
import type { Message } from "../../message.ts";
import { parseJsonLenient } from "../decode_body.ts";
import { firstLookalike } from "./_field_lookalike.ts";
import { isRecord } from "./_read.ts";
import { ButtonRows, type OfferedLink } from "./_link_buttons.ts";
import { slackToMarkdown } from "./_mrkdwn.ts";
import { joinSections, parseSlackShape, renderSlackPayload } from "./_slack_render.ts";
import {
  batchRefused,
  type FormatAdapter,
  PayloadError,
  type PayloadInput,
  type RequestBody,
} from "./types.ts";

/** Every top-level key a Slack incoming webhook accepts. */
export const SLACK_KEYS: readonly string[] = [
  "text",
  "blocks",
  "attachments",
  "mrkdwn",
  "channel",
  "username",
  "icon_emoji",
  "icon_url",
  "link_names",
  "parse",
  "unfurl_links",
  "unfurl_media",
  "thread_ts",
  "reply_broadcast",
  "ts",
  "response_type",
  "replace_original",
  "delete_original",
  "as_user",
  "metadata",
];

const MARKERS = ["attachments", "blocks", "mrkdwn"];

/** The Slack adapter. */
export const slackFormat: FormatAdapter = {
  name: "slack",
  detect: detectSlack,
  parse: (input) => {
    const object = slackObject(input.body);
    return {
      format: "slack",
      message: slackButtons(object).on(
        withReplyTo(renderSlackMessage(object, (t) => slackToMarkdown(t)), object.thread_ts),
      ),
      reply: "slack_ok",
    };
  },
};

/**
 * Slack buttons with a URL (block `actions` elements and `accessory` buttons, legacy
 * attachment `actions`) as URL buttons, a row per actions block or attachment (limits in
 * {@link ButtonRows}); buttons without a URL (interactive ones) have no TrueConf counterpart.
 * The rendered text keeps them as links, so servers older than 5.5.6 lose nothing.
 */
export function slackButtons(object: Record<string, unknown>): ButtonRows {
  const rows = new ButtonRows();
  const button = (b: unknown): OfferedLink | null => {
    if (!isRecord(b) || (b.type !== undefined && b.type !== "button")) return null;
    const raw = isRecord(b.text) ? b.text.text : b.text ?? b.name;
    return { label: typeof raw === "string" ? raw : undefined, url: b.url };
  };
  const addRow = (items: unknown) => {
    if (!Array.isArray(items)) return;
    rows.add(items.map(button).filter((b): b is OfferedLink => b !== null));
  };
  for (const block of Array.isArray(object.blocks) ? object.blocks : []) {
    if (!isRecord(block)) continue;
    if (block.type === "actions") addRow(block.elements);
    else if (block.accessory !== undefined) addRow([block.accessory]);
  }
  for (const att of Array.isArray(object.attachments) ? object.attachments : []) {
    if (isRecord(att)) addRow(att.actions);
  }
  return rows;
}

/**
 * Slack's `thread_ts` / Mattermost's `root_id` as a reply target: it counts only when it is a
 * message id or key this hook knows (resolved when posting; otherwise a plain message).
 */
export function withReplyTo(message: Message, ref: unknown): Message {
  const r = typeof ref === "string" || typeof ref === "number" ? String(ref).trim() : "";
  return r ? { ...message, thread: { ...message.thread, replyTo: r } } : message;
}

/**
 * Slack's markup in a text: `<url|label>` links, `<@U…>` mentions, `<!here>`-style specials,
 * `<#C…>` channels and the three entities Slack escapes.
 */
const SLACK_MARKUP =
  /<(?:https?:\/\/[^<>|\s]+\||mailto:[^<>|\s]+\||[@#!][^<>\s]*)[^<>]*>|&(?:amp|lt|gt);/i;

/** The user agent of Slack's official Node client (`@slack:webhook/8.0.2 node/…`). */
const SLACK_CLIENT_AGENT = /(^|\s)@slack:webhook\//;

/**
 * A body of only `{"text": …}` is native by shape, but when the text carries Slack markup, or
 * the sender is Slack's own client (`IncomingWebhook.send({text})`), it is a Slack message: it
 * is rendered as mrkdwn and answered `ok`, which Slack clients check. Runs before native.
 */
export const slackTextFormat: FormatAdapter = {
  name: "slack",
  detect(input: PayloadInput): boolean {
    const { body } = input;
    if (body.kind !== "json" || !isRecord(body.value)) return false;
    if (SLACK_CLIENT_AGENT.test(input.headers.get("user-agent") ?? "")) return true;
    const text = body.value.text;
    return typeof text === "string" && SLACK_MARKUP.test(text) &&
      Object.keys(body.value).length === 1;
  },
  parse: (input) => slackFormat.parse(input),
};

function detectSlack(input: PayloadInput): boolean {
  const { body } = input;
  if (body.kind === "form") return body.fields.has("payload");
  if (body.kind !== "json" || !isRecord(body.value)) return false;
  const keys = Object.keys(body.value);
  if (keys.some((key) => MARKERS.includes(key))) return true;
  return typeof body.value.text === "string" && keys.every((key) => SLACK_KEYS.includes(key));
}

/**
 * Renders a Slack-shaped object with the given text translation.
 *
 * @throws PayloadError `no_text` when nothing renders
 */
export function renderSlackMessage(value: unknown, translate: (text: string) => string): Message {
  const rendered = renderSlackPayload(parseSlackShape(value), { translate });
  const text = joinSections([rendered.text, rendered.blocks, rendered.attachments]);
  if (text === "" && rendered.photos.length === 0) throw noText(isRecord(value) ? value : {});
  return { text, parseMode: "markdown", attachments: rendered.photos };
}

/**
 * The `no_text` error (Slack's code for a payload with nothing to show). Given the payload, it
 * names a key that looks like a misspelt `text`/`blocks`/`attachments` (`payload={"txt":…}`),
 * the likely reason nothing rendered; the code stays Slack's, which Slack clients check.
 */
export function noText(object?: Readonly<Record<string, unknown>>): PayloadError {
  const unknown = Object.fromEntries(
    Object.entries(object ?? {}).filter(([key]) => !SLACK_KEYS.includes(key)),
  );
  const typo = firstLookalike(unknown, RENDERED_KEYS);
  const guess = typo ? ` Did you mean "${typo.meant}" instead of "${typo.key}"?` : "";
  return new PayloadError(
    "no_text",
    "Nothing to post: the payload has no text, blocks or attachments that render." + guess +
      ' Send at least {"text":"…"}.',
  );
}

/** The Slack fields that render something; a key close to one of them is a likely typo. */
const RENDERED_KEYS: readonly string[] = ["text", "blocks", "attachments"];

/**
 * The JSON object a Slack-family body carries: the JSON body itself, the form field
 * `payload=<json>`, other form fields as strings (Mattermost accepts multipart fields), or a
 * plain-text body as `{text}`.
 */
export function slackObject(body: RequestBody): Record<string, unknown> {
  switch (body.kind) {
    case "json":
      if (!isRecord(body.value)) {
        throw new PayloadError(
          "invalid_payload",
          'The JSON body must be an object like {"text":"hello"}.',
        );
      }
      return body.value;
    case "text":
      return { text: body.text };
    case "raw":
      return { text: new TextDecoder().decode(body.bytes) };
    case "records":
      throw batchRefused("slack");
    case "form": {
      const payload = body.fields.get("payload")?.[0];
      if (payload === undefined) {
        return Object.fromEntries(
          [...body.fields].map(([name, values]) => [name, values.join("\n")]),
        );
      }
      const value = parseJsonLenient(
        payload,
        'The form field "payload"',
        'Send payload={"text":"hello"}.',
      );
      if (!isRecord(value)) {
        throw new PayloadError(
          "invalid_payload",
          'The form field "payload" must hold a JSON object like {"text":"hello"}.',
        );
      }
      return value;
    }
  }
}
