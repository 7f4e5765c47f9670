/**
 * Whether a request is an ntfy publish, and the topic of ntfy's JSON publish: what the HTTP
 * layer must know before it reads or decodes a body. Kept apart from the ntfy adapter
 * (`ntfy.ts`) so the HTTP layer can answer it without loading the adapters, which load with
 * the first hook request (docs/benchmarks.md, "Memory and start").
 *
 * @module
 */
import { isRecord } from "./_read.ts";

/**
 * Headers that only ntfy clients send; any of them makes a request an ntfy publish. `t` is in
 * ntfy's own title example (`curl -H "t: …"`), `Message` carries the message of a body-less
 * publish; the other one- and two-letter aliases are read once ntfy is chosen, but do not
 * choose it (a one-letter header another sender might use would make its requests ntfy's).
 */
const NTFY_ONLY_HEADERS: ReadonlySet<string> = new Set([
  "x-title",
  "title",
  "t",
  "x-message",
  "message",
  "x-priority",
  "x-tags",
  "tags",
  "x-click",
  "click",
  "x-attach",
  "attach",
  "x-filename",
  "filename",
  "x-markdown",
  "markdown",
  "x-actions",
  "actions",
  "x-icon",
  "x-delay",
  "x-email",
  "x-call",
  "x-cache",
  "x-firebase",
]);

/** The query of a URL without one: shared, so such a request builds no Map (issue 16). */
export const NO_QUERY: ReadonlyMap<string, string> = new Map();

/**
 * Query parameters that make a request an ntfy publish (ntfy takes every header as a query
 * parameter; Apprise sends `?title=&message=&filename=` with an attachment). The one-letter
 * aliases are read once ntfy is chosen, but do not choose it.
 */
const NTFY_QUERY = [
  "title",
  "message",
  "priority",
  "tags",
  "click",
  "attach",
  "filename",
  "markdown",
  "actions",
];

/** ntfy's priority names and numbers (1–5). */
export const NTFY_PRIORITIES: Readonly<Record<string, number>> = {
  "1": 1,
  min: 1,
  "2": 2,
  low: 2,
  "3": 3,
  default: 3,
  "4": 4,
  high: 4,
  "5": 5,
  max: 5,
  urgent: 5,
};

/** `application/json` (with parameters): a PUT labelled so is a JSON sender's, not an upload. */
const JSON_TYPE = /^\s*application\/json\s*(;|$)/i;

/** `Content-Type: text/markdown`, which ntfy takes as `Markdown: yes`. */
export const MARKDOWN_TYPE = /^\s*text\/markdown\s*(;|$)/i;

/**
 * True when a request to `/hook/<token>` is an ntfy publish: a `PUT` (ntfy's upload verb) not
 * labelled `application/json`, a `text/markdown` body (`contentType`), or headers only ntfy
 * clients send (`Title`, `X-Priority`, `Tags`, `Filename`, …; `Priority` only with an ntfy
 * value, since browsers send RFC 9218 `Priority: u=…`), or ntfy's query
 * parameters. The HTTP layer then forces the `ntfy` format and passes the body undecoded
 * (`{kind: "raw"}`), except a `multipart/form-data` body, which it decodes as usual (Apprise
 * sends an attachment as a multipart `file` part; its first file is the upload).
 */
export function isNtfyPublish(
  headers: ReadonlyMap<string, string>,
  method = "POST",
  query: ReadonlyMap<string, string> = NO_QUERY,
  contentType?: string | null,
): boolean {
  // A PUT is ntfy's upload, unless it is JSON: Grafana's webhook contact point may PUT its
  // alert (its "HTTP Method" option). A JSON file uploaded to ntfy names itself with Filename,
  // which the header check below still finds.
  if (method === "PUT" && !(contentType && JSON_TYPE.test(contentType))) return true;
  // ntfy's other Markdown switch; no other sender posts text/markdown (it would be a 415).
  if (contentType && MARKDOWN_TYPE.test(contentType)) return true;
  // The request's own few names against the set, not the 24 names against the request: this
  // runs for every hook request (issue 16). Loops, not `some` with a closure, for the same reason.
  for (const name of headers.keys()) if (NTFY_ONLY_HEADERS.has(name)) return true;
  if (query.size > 0) { for (const q of NTFY_QUERY) if (query.has(q)) return true; }
  const priority = headers.get("priority") ?? headers.get("prio") ?? headers.get("p");
  return priority !== undefined &&
    Object.hasOwn(NTFY_PRIORITIES, priority.trim().toLowerCase());
}

/**
 * The topic of an ntfy JSON publish (`{"topic": …}`), which the HTTP layer uses as the hook
 * token at `<public>/hook` and `<public>/`; `undefined` when the body is not such a publish.
 */
export function ntfyTopic(value: unknown): string | undefined {
  if (!isRecord(value)) return undefined;
  const topic = value.topic;
  return typeof topic === "string" && topic !== "" ? topic : undefined;
}
