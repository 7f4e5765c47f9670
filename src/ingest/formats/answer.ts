/**
 * What each sender expects back when its message was accepted. Senders check their own
 * service's answer (the Teams connector's `1`, Discord's `204`, ntfy's message JSON …) and
 * report failure otherwise, so the HTTP layer answers in the sender's dialect; this module is
 * the one place those answers are written. Pure: the HTTP layer passes what happened.
 *
 * An accepted message is one that reached the chat (`delivered`), is persisted for delivery
 * (`queued`), or whose text reached the chat while an attachment failed (`partial`, issue 10:
 * dialect senders, like Slack itself, are told "sent"; the failure is in the delivery status,
 * logs, metrics and the creator's DM). The ids in answers are the first TrueConf message id, or
 * the delivery id while queued.
 *
 * @module
 */
import type { ParsedPayload } from "./types.ts";

/** What happened to an accepted message, as far as the answer needs it. */
export interface AcceptedMessage {
  /** TrueConf ids of the posted messages (empty while queued). */
  readonly messageIds: readonly string[];
  /** The delivery id when the message was queued. */
  readonly deliveryId?: string | undefined;
  /** The hook that took the message (Discord's `webhook_id`). */
  readonly hookId: string;
  /** The chat it went to (Discord's `channel_id`, Google Chat's space). */
  readonly chatId: string;
  /** The hook token the request named: ntfy's topic when the body gave none (`/hook/<token>`). */
  readonly topic?: string | undefined;
  /** Query parameters of the request (`wait` for Discord). */
  readonly query: (name: string) => string | undefined;
  /** When it was accepted. */
  readonly now: Date;
}

/** An HTTP answer: `body` is sent as JSON when an object, as text when a string, none when null. */
export interface DialectAnswer {
  /** HTTP status. */
  readonly status: number;
  /** JSON (object), text (string) or no body (null). */
  readonly body: string | Readonly<Record<string, unknown>> | null;
}

/**
 * The sender's success answer for a dialect, or `undefined` for the bot's own JSON answer
 * (`reply: "json"`), which the HTTP layer writes (200 `{ok, messages}`, 202 when queued).
 *
 * @example
 * ```ts
 * import { successAnswer } from "./answer.ts";
 * const answer = successAnswer(
 *   { reply: "slack_ok" },
 *   { messageIds: ["m1"], hookId: "h1", chatId: "c1", query: () => undefined, now: new Date(0) },
 * );
 * // answer: { status: 200, body: "ok" }
 * ```
 */
export function successAnswer(
  payload: Pick<ParsedPayload, "reply" | "echo">,
  accepted: AcceptedMessage,
): DialectAnswer | undefined {
  // The bot's own JSON answer (most requests) needs none of what the dialects echo below.
  if (payload.reply === "json") return undefined;
  const id = accepted.messageIds[0] ?? accepted.deliveryId ?? "";
  const echo = payload.echo ?? {};
  const time = accepted.now.toISOString();
  const seconds = Math.floor(accepted.now.getTime() / 1000);
  switch (payload.reply) {
    case "slack_ok":
      return { status: 200, body: "ok" };
    case "rocketchat":
      return { status: 200, body: { success: true } };
    case "teams_connector":
      // The Office 365 connector answered a bare "1"; senders compare against it.
      return { status: 200, body: "1" };
    case "teams_workflow":
      // Workflows answer 202 with no body; the body "1" keeps Grafana's older Teams contact
      // point (which required the connector's "1" from any host) working, and newer senders
      // read only the status.
      return { status: 202, body: "1" };
    case "discord": {
      // Discord answers 204 unless `?wait=true` asks for the created message.
      if (!/^(true|1)$/i.test(accepted.query("wait") ?? "")) return { status: 204, body: null };
      // Discord's message object, every field its typed clients require (twilight, serenity
      // and discord.py's WebhookMessage fail on a missing `author`, `embeds`, `pinned` …).
      return {
        status: 200,
        body: {
          id,
          type: 0,
          content: echo.message ?? "",
          channel_id: accepted.chatId,
          author: {
            id: accepted.hookId,
            username: echo.username ?? "Webhook",
            avatar: null,
            discriminator: "0000",
            bot: true,
          },
          attachments: (echo.files ?? []).map((f, i) => ({
            id: String(i),
            filename: f.filename,
            size: f.size,
            ...(f.type !== undefined && { content_type: f.type }),
          })),
          embeds: echo.embeds ?? [],
          mentions: [],
          mention_roles: [],
          pinned: false,
          mention_everyone: false,
          tts: false,
          timestamp: time,
          edited_timestamp: null,
          flags: 0,
          components: [],
          webhook_id: accepted.hookId,
        },
      };
    }
    case "googlechat": {
      const space = `spaces/${accepted.chatId}`;
      return {
        status: 200,
        body: {
          name: `${space}/messages/${id}`,
          sender: { name: `users/${accepted.hookId}`, type: "BOT" },
          text: echo.message ?? "",
          createTime: time,
          thread: {
            name: `${space}/threads/${echo.threadKey ?? id}`,
            ...(echo.threadKey !== undefined && { threadKey: echo.threadKey }),
          },
          space: { name: space, type: "ROOM" },
        },
      };
    }
    case "ntfy":
      return {
        status: 200,
        body: {
          id,
          time: seconds,
          // ntfy keeps messages 12 h by default; TrueConf keeps them, but clients expect the field.
          expires: seconds + 12 * 3600,
          event: "message",
          topic: echo.topic ?? accepted.topic ?? "",
          message: echo.message ?? "",
          ...(echo.title !== undefined && { title: echo.title }),
          ...(echo.tags !== undefined && echo.tags.length > 0 && { tags: echo.tags }),
          ...(echo.priority !== undefined && { priority: echo.priority }),
          ...(echo.click !== undefined && { click: echo.click }),
          ...(echo.attachment !== undefined && { attachment: echo.attachment }),
          ...(echo.contentType !== undefined && { content_type: echo.contentType }),
        },
      };
    case "gotify":
      return {
        status: 200,
        body: {
          id: gotifyId(id),
          appid: 1,
          message: echo.message ?? "",
          title: echo.title ?? "",
          priority: echo.priority ?? 0,
          ...(echo.extras !== undefined && { extras: echo.extras }),
          date: time,
        },
      };
  }
}

/**
 * Gotify clients read `id` as an integer. TrueConf message ids are strings (often UUIDs), so
 * a stable 31-bit number is derived from the id instead of failing their JSON decoding.
 */
function gotifyId(id: string): number {
  if (/^\d{1,9}$/.test(id)) return Number(id);
  let hash = 0;
  for (let i = 0; i < id.length; i++) hash = (hash * 31 + id.charCodeAt(i)) | 0;
  return (hash & 0x7fffffff) || 1;
}
