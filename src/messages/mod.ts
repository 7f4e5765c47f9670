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
  MessageRegistry,
  type PostedMessage,
  REGISTRY_TTL_MS,
  type RegistryOptions,
} from "./registry.ts";
export {
  duration,
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
