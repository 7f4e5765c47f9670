/**
 * The hook domain: tokens, names, the hook store, and migration from the reference bot.
 *
 * @module
 */

export {
  generateToken,
  hashToken,
  looksLikeToken,
  maskToken,
  TOKEN_BYTES,
  TOKEN_MAX_LENGTH,
  TOKEN_MIN_LENGTH,
  type TokenHint,
  tokenHint,
} from "./token.ts";
export { isHookId } from "./hook_id.ts";
export {
  foldHookName,
  HOOK_NAME_MAX_LENGTH,
  type HookNameError,
  type HookNameResult,
  validateHookName,
} from "./hook_name.ts";
export {
  type ChangeResult,
  type CreateResult,
  type EndReason,
  type FeedUnread,
  type FoundHook,
  type HistoryEntry,
  type HookRecord,
  HookStore,
  type HookStoreOptions,
  type HookStoreStats,
  type ImportResult,
  type ImportSkip,
  MAX_GRACE_MS,
  MAX_HOOKS_PER_CHAT,
  type PauseReason,
  type VerifyMode,
  warnAt,
} from "./store.ts";
export { ReferenceFormatError } from "./reference_import.ts";
// Types the hook API mentions, so the face documents them.
export type { ChatInfo, IncomingMessage, Participant, SentMessage } from "../trueconf/mod.ts";
export type { Logger } from "../log.ts";
export { CLI_CREATOR, creatorToNotify } from "../storage/mod.ts";
export type {
  OutgoingTarget,
  PauseState,
  RotationState,
  VerificationState,
} from "../storage/mod.ts";
export {
  type CommandClient,
  type CommandContext,
  CommandHandler,
  type CommandHandlerOptions,
} from "./commands.ts";
export { type CommandName, parseCommand, type ParsedCommand } from "./command_parser.ts";
export {
  type ChatDirectory,
  type Decision,
  isPersonal,
  Permissions,
  type PermissionsOptions,
} from "./permissions.ts";
