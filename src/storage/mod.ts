/**
 * Persistence. The only code that touches the Deno KV handle: key layouts (`keys.ts`, not
 * exported: add new layouts there and a repository module here), opening the database,
 * and one repository per concept.
 *
 * @module
 */

export {
  BACKUP_FORMAT,
  BackupError,
  exportStore,
  type ImportReport,
  importStore,
} from "./backup.ts";
export {
  DEFAULT_KV_PATH,
  inspectStorage,
  openKv,
  type OpenKvOptions,
  type StorageInspection,
} from "./open_kv.ts";
export {
  commitWhenFree,
  onCommitsWaiting,
  SERVE_COMMIT_WAIT_MS,
  STORE_NOTICE_MS,
  STORE_SLOW_MS,
  STORE_WAIT_MS,
  StoreBusyError,
  storeBusySentence,
  storeWaitingSentence,
} from "./store_busy.ts";
export {
  type Doorbell,
  type DoorbellOptions,
  doorbellPath,
  ringDoorbell,
  watchDoorbell,
} from "./doorbell.ts";
export {
  type FileIdentityOptions,
  type FileIdentityWatch,
  watchFileIdentity,
} from "./file_identity.ts";
export {
  acquireLease,
  describeHolder,
  judgeLease,
  type Lease,
  LEASE_HEARTBEAT_MS,
  LEASE_SILENCE_MS,
  LeaseHeldError,
  leaseLockFile,
  type LeaseOptions,
  type LeaseRecord,
  readLease,
  servingHolder,
  thisHost,
} from "./lease.ts";
export {
  type ApplyUsageResult,
  type ChangeKind,
  CLI_CREATOR,
  creatorToNotify,
  HISTORY_MAX,
  type HistoryEntry,
  type HookChange,
  type HookRecord,
  HookRepo,
  type HookUpdate,
  type InsertResult,
  type OutgoingTarget,
  type PauseReason,
  type PauseState,
  type RotationState,
  type StoredCore,
  type UpdateResult,
  type UsageDelta,
  type VerificationState,
  type VerifyMode,
  withDefaults,
} from "./hook_repo.ts";
export { KEY_FILE_NAME, type Sealed, SecretBox, SecretKeyMismatchError } from "./secret_box.ts";
export { type BatchWrite, CommitBatcher, KV_MAX_KEY_BYTES, kvKeyBytes } from "./_commit_batcher.ts";
export {
  type ClaimResult,
  type DoneRecord,
  type IdempotencyRecord,
  type OutboxEntry,
  type OutboxHook,
  OutboxRepo,
  type QueueCommand,
  type QueueCommandResult,
  SPOOL_CHUNK,
} from "./outbox_repo.ts";
