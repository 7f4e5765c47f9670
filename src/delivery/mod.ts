/**
 * Message → chat. A {@link Deliverer} posts one Message (text split at 4096 characters,
 * photos with previews, documents); the durable queue ({@link createQueue}) is the
 * {@link Dispatcher} the HTTP side hands every accepted request to. Delivery knows nothing
 * of payload formats or hooks' HTTP details.
 *
 * @module
 */

export type { Attachment, AttachmentSource, Message, ParseMode } from "../message.ts";
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
  DispatchRequest,
  HookRef,
  MessageEditor,
  PartFailure,
} from "./dispatch.ts";
export { codePoints, type SplitOptions, splitText, TEXT_LIMIT } from "./split_text.ts";
export {
  createQueue,
  type DeliveryQueue,
  DurableQueue,
  type DurableQueueOptions,
  type QueueClient,
  type QueueStats,
} from "./queue/mod.ts";
export { PreviewMaker, type PreviewOptions, type UploadPreview } from "./preview/mod.ts";
