/**
 * Gotify's message API, as Gotify clients and senders call it: `POST <public>/message` with
 * the hook token as the application token (`?token=`, `X-Gotify-Key` or `Authorization:
 * Bearer`, see {@link gotifyToken}; the HTTP layer finds the hook), body JSON or form
 * `{title, message, priority, extras}`.
 *
 * Rendering: `**Title**` then the message: plain text (escaped) unless
 * `extras["client::display"].contentType` is `text/markdown`. Priority 8 or more (Gotify's
 * "high": the Android app makes noise) shows 🚨 before the title. 4–7 is Gotify's normal band
 * (Apprise posts everything at 5), so it gets no warning icon: Netdata's WARNING (4) is named
 * by its title.
 * `extras["client::notification"].click.url` becomes an `Open` link (and button) and `bigImageUrl` a photo
 * (fetched through the SSRF guard). Other extras are accepted and ignored.
 *
 * Answer: Gotify's message JSON `{id, appid, message, title, priority, extras, date}`
 * (`answer.ts`). A missing `message` is refused like Gotify does (400).
 *
 * @module
 */
import type { Attachment } from "../../message.ts";
import { dropUnsafeLinks, escapeMarkdown, markdownLink } from "./_mrkdwn.ts";
import { asHttpUrl, asNumber, asObject, asText, type JsonObject, path } from "./_read.ts";
import { joinSections } from "./_slack_render.ts";
import { ButtonRows } from "./_link_buttons.ts";
import {
  type FormatAdapter,
  type ParsedPayload,
  PayloadError,
  type PayloadInput,
} from "./types.ts";

/**
 * The application token of a Gotify request, where Gotify's server looks for it and in its
 * order (auth/authentication.go, `readTokenFromRequest`): `?token=`, `X-Gotify-Key`, then
 * `Authorization: Bearer …` (any case); an empty one falls through to the next. Empty when
 * none is given.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { gotifyToken } from "./gotify.ts";
 *
 * assert.equal(gotifyToken({ query: "", key: undefined, authorization: "bearer AbC" }), "AbC");
 * ```
 */
export function gotifyToken(from: {
  query: string | undefined;
  key: string | undefined;
  authorization: string | undefined;
}): string {
  const bearer = /^bearer /i.test(from.authorization ?? "")
    ? from.authorization!.slice(7).trim()
    : "";
  return from.query?.trim() || from.key?.trim() || bearer;
}

/** Sentence of the 401 for a Gotify request without a token. */
export const GOTIFY_MISSING_TOKEN =
  "Give the hook token as the Gotify application token: ?token=<token>, the header X-Gotify-Key: <token>, or Authorization: Bearer <token>.";

/** Gotify priority from which a message counts as urgent. */
export const GOTIFY_HIGH_PRIORITY = 8;

function fields(input: PayloadInput): JsonObject {
  const { body } = input;
  switch (body.kind) {
    case "json": {
      const o = asObject(body.value);
      if (o !== undefined) return o;
      break;
    }
    case "form":
      return Object.fromEntries([...body.fields].map(([k, v]) => [k, v[0] ?? ""]));
    case "text":
      return { message: body.text };
    case "raw":
      return { message: new TextDecoder().decode(body.bytes) };
  }
  throw new PayloadError("invalid_payload", 'Send a JSON object like {"title":"…","message":"…"}.');
}

/** The Gotify adapter; chosen by the `/message` route or `?format=gotify`, never guessed. */
export const gotifyFormat: FormatAdapter = {
  name: "gotify",
  detect: () => false,
  parse(input: PayloadInput): ParsedPayload {
    const o = fields(input);
    const message = asText(o["message"]);
    if (message === undefined || message.trim() === "") {
      throw new PayloadError("empty_payload", "Field 'message' is required.");
    }
    const title = asText(o["title"]);
    const rawPriority = o["priority"];
    let priority: number | undefined;
    if (rawPriority !== undefined && rawPriority !== null && rawPriority !== "") {
      priority = typeof rawPriority === "string" ? Number(rawPriority) : asNumber(rawPriority);
      if (priority === undefined || !Number.isInteger(priority)) {
        throw new PayloadError("invalid_priority", "Field 'priority' must be a whole number.");
      }
    }
    const extras = asObject(o["extras"]);
    const markdown = asText(path(extras, "client::display", "contentType")) === "text/markdown";
    const click = asHttpUrl(path(extras, "client::notification", "click", "url"));
    const image = asHttpUrl(path(extras, "client::notification", "bigImageUrl"));
    const head = [
      priority !== undefined && priority >= GOTIFY_HIGH_PRIORITY ? "🚨" : "",
      title !== undefined ? `**${escapeMarkdown(title.trim())}**` : "",
    ].filter((s) => s !== "").join(" ");
    const body = markdown
      ? dropUnsafeLinks(message.trim())
      : escapeMarkdown(message.replace(/\r\n?/g, "\n").trim());
    const text = joinSections([
      head === "" ? body : `${head}\n${body}`,
      click !== undefined ? markdownLink("Open", click) : "",
    ]);
    const attachments: Attachment[] = image !== undefined
      ? [{ kind: "photo", source: { type: "url", url: image } }]
      : [];
    const buttons = new ButtonRows();
    buttons.add([{ label: "Open", url: click }]);
    return {
      format: "gotify",
      message: buttons.on({ text, parseMode: "markdown", attachments }),
      reply: "gotify",
      echo: { title: title ?? "", message, priority: priority ?? 0, extras },
    };
  },
};
