/**
 * TrueConf Chatbot API client: OAuth, the bot WebSocket (auth, requests, acks,
 * keepalive, reconnects, token rotation), files, incoming messages, and a one-shot
 * connectivity check for `check-config`.
 *
 * @module
 */
export { refreshMargin, TrueConfClient, type TrueConfClientStats } from "./client.ts";
export { type CheckOptions, type CheckReport, type CheckStep, checkTrueConf } from "./check.ts";
export {
  BUTTON_LIMITS,
  buttonRowsProblem,
  BUTTONS_SINCE,
  buttonUrlProblem,
  compareVersions,
  serverHasButtons,
  type UrlButton,
} from "./buttons.ts";
export {
  isTrueConfError,
  TrueConfApiError,
  TrueConfAuthError,
  TrueConfDisconnectedError,
  TrueConfErrorCode,
  trueConfErrorSentence,
  TrueConfHttpError,
  TrueConfProtocolError,
  TrueConfTimeoutError,
} from "./errors.ts";
export { CHAT_BOT_PATH, OAUTH_PATH, trueConfUrls, UPLOAD_PATH } from "./endpoints.ts";
export { fitText, TEXT_LIMIT, visibleLength } from "./text_limit.ts";
export { normalizeTrueConfId, sameTrueConfId, trueConfLocalPart } from "./ids.ts";
export {
  type ChatEvent,
  type ChatEventType,
  type ChatRemovedEvent,
  type MessageEvent,
  type MessageRemovedEvent,
  parseChatEvent,
  type ParticipantEvent,
  type RoleChangedEvent,
  type TitleChangedEvent,
} from "./events.ts";
export {
  extractMentions,
  leadingMention,
  mentionTarget,
  parseIncomingMessage,
  PLAIN_MESSAGE,
  replaceMentions,
} from "./incoming_message.ts";
export {
  fetchOAuthToken,
  type FetchOAuthTokenOptions,
  jwtExpiresAt,
  type OAuthToken,
  parseOAuthBody,
} from "./oauth.ts";
export {
  CHAT_ROLES,
  type ChatHistory,
  type ChatInfo,
  type ChatRole,
  ChatType,
  type ConnectionState,
  type EditedMessage,
  type HistoryMessage,
  type IncomingMessage,
  type OutgoingFile,
  type ParseMode,
  type Participant,
  type SendMessageOptions,
  type SentMessage,
  type ServerInfo,
  type TrueConfAuth,
  type TrueConfClientOptions,
  type TrueConfEndpoint,
} from "./types.ts";
export type { LogFields, Logger } from "../log.ts";
