/**
 * Persistence. The only code that touches the Deno KV handle: key layouts (`keys.ts`, not
 * exported: add new layouts there and a repository module here), opening the database,
 * and one repository per concept.
 *
 * @module
 */

export { DEFAULT_KV_PATH, inspectStorage, openKv, type StorageInspection } from "./open_kv.ts";
export {
  acquireLease,
  describeHolder,
  judgeLease,
  type Lease,
  LEASE_HEARTBEAT_MS,
  LEASE_SILENCE_MS,
  LeaseHeldError,
  type LeaseOptions,
  type LeaseRecord,
  readLease,
  thisHost,
} from "./lease.ts";
export {
  type ApplyUsageResult,
  type HookRecord,
  HookRepo,
  type InsertResult,
  type UsageDelta,
} from "./hook_repo.ts";
export {
  type ClaimResult,
  type DoneRecord,
  type IdempotencyRecord,
  type OutboxEntry,
  OutboxRepo,
  SPOOL_CHUNK,
} from "./outbox_repo.ts";
