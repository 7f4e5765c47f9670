/**
 * Mattermost-compatible incoming webhooks: the Slack fields (attachments, and blocks as a
 * courtesy) plus Mattermost's own `props.card`, `priority`, `username`, `type`, `root_id`.
 *
 * Differences from Slack, as Mattermost renders them:
 * - `text` and attachment texts are Markdown already: `*x*` stays italic; only Slack's `<…>`
 *   tokens (links, `<!channel>`, mentions) and `&amp;`-style entities are translated;
 * - `username` is shown as a `**username**:` prefix (TrueConf has no per-message identity);
 *   `icon_url`/`icon_emoji` are accepted (even `null`, as Apprise sends) and ignored;
 * - `priority.priority` `important`/`urgent` → a leading "❗ Important" / "🚨 Urgent" line,
 *   with "(acknowledgement requested)" when `requested_ack` is true;
 * - `props.card` is appended after a rule line (Mattermost shows it in a side panel);
 * - `channel`, `type`, `root_id` and other props are accepted and ignored.
 *
 * Detection: Mattermost-only keys (`props`, `priority`, `root_id`, `type: "custom_…"`), or the
 * request arrived on the Mattermost-style path `/hooks/<token>`. The HTTP layer signals the
 * latter by setting the pseudo-header {@link ROUTE_HEADER}`: hooks` in `PayloadInput.headers`
 * (it must strip any client-sent header of that name first). This is how Apprise `mmost://`,
 * whose body `{"text","icon_url":null,"username":"Apprise"}` has no marker, gets `ok` back.
 *
 * @module
 */
import { issuePath } from "./_issue_path.ts";
import { lazySchema } from "./_schemas.ts";
import { escapeMarkdown, slackToMarkdown } from "./_mrkdwn.ts";
import { joinSections, parseSlackShape, renderSlackPayload, RULE } from "./_slack_render.ts";
import { noText, slackObject, withReplyTo } from "./slack.ts";
import { type FormatAdapter, PayloadError, type PayloadInput, ROUTE_HEADER } from "./types.ts";

const mattermostExtras = lazySchema((z) => {
  const scalar = z.union([z.string(), z.number(), z.boolean()]).transform(String).nullish();
  return z.looseObject({
    username: scalar,
    props: z.looseObject({ card: scalar, attachments: z.unknown().optional() }).nullish(),
    priority: z.looseObject({
      priority: z.string().nullish(),
      requested_ack: z.boolean().nullish(),
    }).nullish(),
  });
});

/** The Mattermost adapter. */
export const mattermostFormat: FormatAdapter = {
  name: "mattermost",
  detect: detectMattermost,
  parse: (input) => ({
    format: "mattermost",
    message: withReplyTo(parseMattermost(input), slackObject(input.body).root_id),
    reply: "slack_ok",
  }),
};

function detectMattermost(input: PayloadInput): boolean {
  // Every body at `/hooks/<token>` but a log shipper's batch, which only the logs format reads.
  if (input.headers.get(ROUTE_HEADER) === "hooks") return input.body.kind !== "records";
  const { body } = input;
  if (body.kind !== "json" || body.value === null || typeof body.value !== "object") return false;
  const value = body.value as Record<string, unknown>;
  return "props" in value || "priority" in value || "root_id" in value ||
    (typeof value.type === "string" && value.type.startsWith("custom_"));
}

function parseMattermost(input: PayloadInput) {
  const object = slackObject(input.body);
  const extras = mattermostExtras().safeParse(object);
  if (!extras.success) {
    const issue = extras.error.issues[0];
    throw new PayloadError(
      "invalid_payload",
      `Field "${issuePath(issue?.path ?? [])}" is invalid: ${issue?.message ?? ""}.`,
    );
  }
  const { username, props, priority } = extras.data;
  // Mattermost also reads attachments from props.attachments when the top level has none.
  const source = object.attachments === undefined && Array.isArray(props?.attachments)
    ? { ...object, attachments: props.attachments }
    : object;
  const translate = (text: string) => slackToMarkdown(text, { emphasis: false });
  const card = props?.card?.trim() ? translate(props.card) : "";

  const rendered = renderSlackPayload(parseSlackShape(source), { translate });
  let lead = rendered.text;
  const name = username?.trim();
  if (name) {
    // The sender name heads the text it says; alone on a line when there is no text.
    const label = `**${escapeMarkdown(name)}**`;
    lead = lead === "" ? label : `${label}: ${lead}`;
  }
  const marker = priorityLine(priority?.priority, priority?.requested_ack);
  if (marker !== "") lead = lead === "" ? marker : `${marker}\n${lead}`;
  const body = joinSections([rendered.blocks, rendered.attachments]);
  const cardSection = card === ""
    ? ""
    : body === "" && rendered.text === ""
    ? card
    : `${RULE}\n${card}`;
  const content = joinSections([rendered.text, body, card]);
  if (content === "" && rendered.photos.length === 0) throw noText(object);
  const text = joinSections([lead, body, cardSection]);
  return { text, parseMode: "markdown" as const, attachments: rendered.photos };
}

function priorityLine(
  priority: string | null | undefined,
  ack: boolean | null | undefined,
): string {
  const level = priority?.trim().toLowerCase();
  const base = level === "urgent"
    ? "🚨 **Urgent**"
    : level === "important"
    ? "❗ **Important**"
    : "";
  if (base === "") return ack ? "(acknowledgement requested)" : "";
  return ack ? `${base} (acknowledgement requested)` : base;
}
