/**
 * Payload formats: detection and the adapters that turn a decoded request body into a
 * `Message`. The HTTP layer needs only {@link detectPayload} (which loads the adapters on first use) and
 * the contract types.
 *
 * @module
 */
export type {
  FormatAdapter,
  FormatName,
  IgnoredParts,
  ParsedPayload,
  PayloadInput,
  ReplyEcho,
  ReplyStyle,
  RequestBody,
  UploadedFile,
} from "./types.ts";
export { PayloadError, ROUTE_HEADER } from "./types.ts";
// The Message the adapters build, with the types it is made of, so this face documents fully.
export type * from "../../message.ts";
export {
  type DetectedPayload,
  detectFormat,
  DETECTION_ORDER,
  FALLBACK_JSON_LIMIT,
  formatNames,
  jsonCodeBlock,
} from "./detect.ts";
export { detectPayload } from "./detector.ts";
export { NATIVE_KEYS, nativeFormat } from "./native.ts";
export { SLACK_KEYS, slackFormat, slackTextFormat } from "./slack.ts";
export { mattermostFormat } from "./mattermost.ts";
export { alertmanagerFormat } from "./alertmanager.ts";
export { grafanaFormat } from "./grafana.ts";
export { appriseFormat } from "./apprise.ts";
export { githubFormat } from "./github.ts";
export { gitlabFormat } from "./gitlab.ts";
export { jenkinsFormat } from "./jenkins.ts";
export { uptimeKumaFormat } from "./uptimekuma.ts";
export { discordFormat, discordToMarkdown, MAX_EMBEDS } from "./discord.ts";
export { teamsFormat } from "./teams.ts";
export { googleChatFormat } from "./googlechat.ts";
export { ntfyFormat } from "./ntfy.ts";
export { isNtfyPublish, ntfyTopic } from "./ntfy_publish.ts";
export { GOTIFY_HIGH_PRIORITY, GOTIFY_MISSING_TOKEN, gotifyFormat, gotifyToken } from "./gotify.ts";
export { rocketChatFormat } from "./rocketchat.ts";
export { logsFormat, MAX_LOG_LINES, MAX_LOG_TEXT } from "./logs.ts";
export { type AcceptedMessage, type DialectAnswer, successAnswer } from "./answer.ts";
