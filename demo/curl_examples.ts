/**
 * The ready-to-paste `curl` commands the demo prints for its hook: one per common way of
 * posting, so a newcomer can try each format without reading docs/formats.md first.
 *
 * @module
 */

/** One example: what it shows, and the shell command. */
export interface CurlExample {
  readonly title: string;
  readonly command: string;
}

/**
 * Examples for `hookUrl`; `file` is a path (relative to the working directory) to upload.
 * Single quotes keep every body literal in sh, bash and zsh.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const examples = curlExamples("http://127.0.0.1:8080/hook/abc");
 * assert(examples.every((e) => e.command.startsWith("curl ") && e.command.includes("/hook/abc")));
 * ```
 */
export function curlExamples(hookUrl: string, file = "README.md"): CurlExample[] {
  const json = "-H 'Content-Type: application/json'";
  return [
    {
      title: "plain text (JSON)",
      command: `curl ${json} -d '{"text":"Hello from curl 👋"}' ${hookUrl}`,
    },
    {
      title: "Markdown",
      command:
        `curl ${json} -d '{"text":"**Deploy** of \`api\` finished ✅","parse_mode":"markdown"}' ${hookUrl}`,
    },
    {
      title: "a form field, as many shell scripts send",
      command: `curl -d text='Backup finished' ${hookUrl}`,
    },
    {
      title: "a file upload with a caption",
      command: `curl -F text='Here is the readme' -F file=@${file} ${hookUrl}`,
    },
    {
      title: "a Slack-style body (attachments become coloured lines)",
      command:
        `curl ${json} -d '{"text":"*CI*","attachments":[{"color":"good","title":"build #42","text":"passed"}]}' ${hookUrl}`,
    },
  ];
}
