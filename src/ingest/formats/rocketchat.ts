/**
 * Rocket.Chat incoming webhooks: the Slack fields (`text`, `attachments`) plus Rocket.Chat's
 * `alias` (the sender name shown instead of the integration's), `emoji` (the avatar as an emoji
 * shortcode) and `avatar` (an image URL). Rendered like Slack; `alias` heads the text as
 * Mattermost's `username` does (`**alias**: …`), after the `emoji` when it is one the bot
 * knows. `avatar`, `channel`, `roomId` are accepted and ignored (a hook posts into its chat).
 *
 * Detected by `alias`, `emoji` or `avatar` next to Slack fields only. Answer: Rocket.Chat's
 * `200 {"success":true}`.
 *
 * @module
 */
import { emojiFor, escapeMarkdown, slackToMarkdown } from "./_mrkdwn.ts";
import { isRecord } from "./_read.ts";
import { joinSections, parseSlackShape, renderSlackPayload } from "./_slack_render.ts";
import { noText, SLACK_KEYS, slackObject } from "./slack.ts";
import type { FormatAdapter, ParsedPayload, PayloadInput } from "./types.ts";

const ROCKET_KEYS = ["alias", "emoji", "avatar"];
const EXTRA_KEYS = ["roomId", "tmid", "msg"];

function detectRocketChat(input: PayloadInput): boolean {
  const { body } = input;
  if (body.kind !== "json" || !isRecord(body.value)) return false;
  const value = body.value;
  // Rocket.Chat's own keys first, asked by name: most bodies have none (issue 16).
  let own = false;
  for (const k of ROCKET_KEYS) own ||= Object.hasOwn(value, k);
  return own &&
    Object.keys(value).every((k) =>
      ROCKET_KEYS.includes(k) || EXTRA_KEYS.includes(k) || SLACK_KEYS.includes(k)
    );
}

/** The Rocket.Chat adapter. */
export const rocketChatFormat: FormatAdapter = {
  name: "rocketchat",
  detect: detectRocketChat,
  parse(input: PayloadInput): ParsedPayload {
    const object = slackObject(input.body);
    const rendered = renderSlackPayload(parseSlackShape(object), {
      translate: (t) => slackToMarkdown(t),
    });
    const body = joinSections([rendered.blocks, rendered.attachments]);
    if (rendered.text === "" && body === "" && rendered.photos.length === 0) throw noText(object);
    const alias = typeof object.alias === "string" ? object.alias.trim() : "";
    const emojiName = typeof object.emoji === "string"
      ? /^:?([a-z0-9_+-]+):?$/.exec(object.emoji.trim())?.[1]
      : undefined;
    const emoji = emojiName !== undefined ? emojiFor(emojiName) : undefined;
    const label = [emoji, alias !== "" ? `**${escapeMarkdown(alias)}**` : undefined]
      .filter((p) => p !== undefined).join(" ");
    const lead = label === ""
      ? rendered.text
      : rendered.text === ""
      ? label
      : `${label}: ${rendered.text}`;
    return {
      format: "rocketchat",
      message: {
        text: joinSections([lead, body]),
        parseMode: "markdown",
        attachments: rendered.photos,
      },
      reply: "rocketchat",
    };
  },
};
