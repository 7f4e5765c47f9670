/**
 * Message → chat. A {@link Deliverer} posts one Message (text split at 4096 characters,
 * photos with previews, documents); the durable queue ({@link createQueue}) is the
 * {@link Dispatcher} the HTTP side hands every accepted request to. Delivery knows nothing
 * of payload formats or hooks' HTTP details.
 *
 * @module
 */

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
export {
  CAPTION_MAX,
  type ChatSender,
  classifyError,
  Deliverer,
  type DelivererOptions,
  type LivingPoster,
  type Part,
  planParts,
  type RunResult,
  safeFileName,
} from "./deliverer.ts";
export type {
  DeliveryStatus,
  Dispatcher,
  DispatchOutcome,
  DispatchOutcomeKind,
  DispatchRequest,
  HookRef,
  MessageEditor,
  PartFailure,
} from "./dispatch.ts";
export { codePoints, type SplitOptions, splitText, TEXT_LIMIT } from "./split_text.ts";
export { type UploadLaneOptions, UploadLanes } from "./upload_lanes.ts";
export {
  createQueue,
  type DeliveryQueue,
  DurableQueue,
  type DurableQueueOptions,
  type EngineTuning,
  type QueueClient,
  type QueueStats,
} from "./queue/mod.ts";
export {
  type ImageMime,
  type MakeOptions,
  PreviewMaker,
  type PreviewOptions,
  type PreviewResult,
  type UploadPreview,
} from "./preview/mod.ts";
export type { LogFields, Logger } from "../log.ts";
export type { OutgoingFile, SentMessage } from "../trueconf/mod.ts";
export type { FetchedFile } from "../net/mod.ts";
export {
  Reconciler,
  type ReconcilerOptions,
  type ResumeClient,
  type ResumedRun,
  ResumedSender,
} from "./reconcile.ts";
export {
  CreatorNotifier,
  type CreatorNotifierOptions,
  type DmSender,
  type ReportedHook,
} from "./creator_notifier.ts";
// The queue's and the previews' types, so this face documents itself when it is linted alone
// (`deno doc --lint src/*/mod.ts`): type-only, they load nothing (the previews stay lazy).
export type * from "./queue/mod.ts";
export type * from "./preview/mod.ts";
