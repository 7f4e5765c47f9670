/**
 * Messages that live (issue 14): what each hook posted (registry), edits, removals, replies
 * and keys resolved when the queue posts (poster), alert groups and CI runs kept in one
 * message, and the `PATCH`/`DELETE /hook/<token>/messages/<id>` seam (dispatcher). See
 * docs/messages.md.
 *
 * @module
 */
export {
  type GroupRecord,
  type KeyRecord,
  MessageRegistry,
  type PostedMessage,
  REGISTRY_TTL_MS,
  type RegistryOptions,
} from "./registry.ts";
export {
  type LivingClient,
  Poster,
  type PosterOptions,
  type Rendered,
  type TextPart,
} from "./poster.ts";
export { LivingDispatcher, type LivingDispatcherOptions } from "./living_dispatcher.ts";
export { linksAfter } from "./links.ts";
export {
  LIVING_SETTINGS,
  type LivingSetting,
  parseSettingWord,
  settingChanged,
  settingExample,
  settingOf,
} from "./settings.ts";
export { MAX_MENTIONS, type MentionClient, Mentions, PARTICIPANTS_TTL_MS } from "./mentions.ts";
// Types the API above names, re-exported so the face is self-contained (deno doc --lint).
export type {
  Attachment,
  AttachmentSource,
  Message,
  MessageButton,
  MessageGroup,
  MessageThread,
  ParseMode,
  TextOp,
} from "../message.ts";
export type {
  DeliveryStatus,
  Dispatcher,
  DispatchOutcome,
  DispatchOutcomeKind,
  DispatchRequest,
  HookRef,
  LivingPoster,
  MessageEditor,
  Part,
  PartFailure,
} from "../delivery/mod.ts";
export { CHAT_ROLES } from "../trueconf/mod.ts";
export type {
  ChatRole,
  EditedMessage,
  Participant,
  SendMessageOptions,
  SentMessage,
  UrlButton,
} from "../trueconf/mod.ts";
export type { LogFields, Logger } from "../log.ts";
