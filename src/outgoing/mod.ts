/**
 * Outgoing webhooks (docs/outgoing.md): chat events and trigger words to a team's own
 * service, signed the Standard Webhooks way, made durable as `call` jobs of the delivery job
 * engine, answered back into the chat.
 *
 * - {@link OutgoingHooks}: routing events to hooks, the `call` job type, status replies.
 * - {@link OutgoingCommands}: `/webhook_create <name> <url> [triggers…]` and `/webhook_test`.
 * - {@link generateSecret}, {@link verificationExample}, {@link signatureHeaders}: the secret
 *   and its use (a new one: `HookStore.rotate`, for `/webhook_rotate` and `hooks rotate`).
 *
 * @module
 */
export {
  type AnswerPoster,
  CALL,
  type CallEngine,
  type CallPayload,
  type CallState,
  EVENT_TYPES,
  type EventCalls,
  type OutgoingClient,
  OutgoingHooks,
  type OutgoingHooksOptions,
  type OutgoingMetrics,
  type OutgoingStore,
  type ProblemReporter,
} from "./service.ts";
export {
  type OutgoingCommandClient,
  OutgoingCommands,
  type OutgoingCommandsOptions,
  type OutgoingCommandStore,
  type TestDispatch,
} from "./commands.ts";
export { verificationExample } from "./secret.ts";
// The hook domain makes signing secrets (incoming hooks' sender verification uses them too);
// named here with their use.
export { generateSecret, SECRET_PREFIX } from "../hooks/signing_secret.ts";
// Named by OutgoingCommands' signatures, so this face documents itself alone.
export type { CommandContext } from "../hooks/commands.ts";
export { type SignatureHeaders, signatureHeaders } from "./signing.ts";
export { type OutgoingCreateArgs, parseOutgoingCreate } from "./triggers.ts";
export {
  type BodyContext,
  type BodyMessage,
  type BodyUser,
  buildEventBody,
  type ChatKind,
  type OutgoingBody,
} from "./event_body.ts";
export { plainText } from "./plain_text.ts";
// Named by this face's signatures (the job engine's types), so it documents itself alone.
export type { Clock, EnqueueOptions, EnqueueResult, JobHook, JobType } from "../delivery/mod.ts";
