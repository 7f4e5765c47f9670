/**
 * Pieces shared by the GitHub and GitLab adapters: reading the event body (JSON, or GitHub's
 * form-encoded `payload` field) and small wording helpers for pushes.
 *
 * @module
 */
import type { PayloadInput } from "./types.ts";
import { PayloadError } from "./types.ts";
import { asObject, type JsonObject } from "./_read.ts";

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
    try {
      value = JSON.parse(body.fields.get("payload")?.[0] ?? "");
    } catch {
      throw new PayloadError(
        "invalid_json",
        `The payload form field of this ${sender} webhook is not valid JSON.`,
      );
    }
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

/** `main` for `refs/heads/main`, `v1.0` for `refs/tags/v1.0`. */
export function shortRef(ref: string): string {
  return ref.replace(/^refs\/(heads|tags)\//, "");
}

/** First line of a commit message. */
export function commitTitle(message: string): string {
  return message.split("\n", 1)[0] ?? "";
}

/** `3 commits` / `1 commit` */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
