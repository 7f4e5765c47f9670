/**
 * The job type "post a Message into a chat" (`post`): the parts planned by the deliverer,
 * stored as JSON with uploaded bytes in the spool, posted in order, each recorded before
 * the next starts so a retry never re-posts a part that arrived.
 *
 * @module
 */
import type { Message, TextOp } from "../../message.ts";
import type { PartFailure } from "../dispatch.ts";
import { type Deliverer, type Part, planParts } from "../deliverer.ts";
import { loadParts, SpoolLostError, type StoredPart, storeParts } from "./_stored_parts.ts";
import type { Attempt, JobRun, JobType, WaitingJob } from "./job_type.ts";
import type { ResumedRun } from "../reconcile.ts";

/** Name of the post job type. */
export const POST = "post";

/** Progress of a post. */
export interface PostState {
  /** Index of the first part that has not reached the chat (nor failed for good) yet. */
  readonly next: number;
  /** Parts after `next` already done (an attachment still downloading let them go first). */
  readonly done?: readonly number[];
  /** Parts whose caption already went out as a text of its own (their file follows alone). */
  readonly captionsSent?: readonly number[];
  /** Ids of the parts posted so far, "" for a part that failed for good. */
  readonly messageIds: readonly string[];
  /** Parts that failed for good so far. */
  readonly failures: readonly PartFailure[];
}

/** Final summary of a post (the job's `result`). */
export interface PostResult {
  /** Ids of the parts posted, "" for a part that failed. */
  readonly messageIds: readonly string[];
  /** Parts that failed for good. */
  readonly failures: readonly PartFailure[];
}

/** A message turned into what {@link JobEngine.enqueue} / `runInline` take for a post. */
export function postJob(message: Message): {
  payload: StoredPart[];
  state: PostState;
  blobs: Map<number, Uint8Array> | undefined;
  live: Part[];
} {
  const parts = planParts(message);
  const { stored, blobs } = storeParts(parts, 0);
  // `live`: an inline run posts the planned parts as they are (see the run below).
  return { payload: stored, state: { next: 0, messageIds: [], failures: [] }, blobs, live: parts };
}

/**
 * Folds an edit into the post it changes while that post still waits in the queue (issue 14:
 * "an edit of a message still queued is merged into it"): a text-only `PATCH …/messages/<key>`
 * or POST with a key replaces the text of the hook's waiting post with that key, so TrueConf
 * gets one `sendMessage` with the last text instead of a post and its edits. The waiting post
 * keeps its own instructions (post-or-edit by the key, its reply target); the text, parse mode,
 * mention setting and buttons are the new message's (an edit overwrites them all). Only the
 * newest waiting job that names the key decides: a removal, a reply to it, a post with files or
 * an alert group keeps the edit queued behind it, in order. Undefined for any other message (no
 * work added to a plain post).
 */
export function editMerger(
  message: Message,
): ((waiting: WaitingJob) => StoredPart[] | undefined) | undefined {
  const op = message.op;
  if (!op || op.group !== undefined || message.attachments.length > 0) return undefined;
  const key = op.act === "edit" ? op.target : op.act === undefined ? op.key : undefined;
  if (key === undefined) return undefined;
  let decided = false;
  return (w) => {
    if (decided || w.type !== POST || !Array.isArray(w.payload)) return undefined;
    const parts = w.payload as StoredPart[];
    const names = (o: TextOp | undefined) =>
      o !== undefined &&
      (o.key === key || o.target === key || o.replyTo === key || o.replyKey === key);
    if (!parts.some((p) => p.k !== "done" && names(p.op))) return undefined;
    decided = true;
    const first = parts[0];
    const state = w.state as PostState | null;
    if (
      first?.k !== "text" || !first.op || parts.some((p) => p.k !== "text") ||
      (state?.next ?? 0) > 0 || (state?.messageIds.length ?? 0) > 0
    ) return undefined;
    const was = first.op;
    if (was.hook !== op.hook || was.act === "remove" || was.group !== undefined) return undefined;
    if (!(was.key === key || (was.act === "edit" && was.target === key))) return undefined;
    if (was.replyTo === key || was.replyKey === key) return undefined;
    const merged: { -readonly [K in keyof TextOp]: TextOp[K] } = { ...was };
    delete merged.buttons;
    delete merged.buttonFallback;
    if (op.mentions !== undefined) merged.mentions = op.mentions;
    if (op.buttons !== undefined) merged.buttons = op.buttons;
    if (op.buttonFallback !== undefined) merged.buttonFallback = op.buttonFallback;
    return postJob({ ...message, op: merged }).payload;
  };
}

/** Thrown from `onPosted` to stop a run when shutdown cuts it. */
class CutError extends Error {}

/**
 * Builds the post job type.
 *
 * @example
 * ```ts
 * import type { JobEngine } from "./job_engine.ts";
 * import type { Deliverer } from "../deliverer.ts";
 * function wire(engine: JobEngine, deliverer: Deliverer, linkUp: () => boolean) {
 *   engine.register(postJobType({ deliverer, ready: linkUp }));
 * }
 * void wire;
 * ```
 */
export function postJobType(options: {
  deliverer: Pick<Deliverer, "run">;
  /** Whether TrueConf can take messages now. */
  ready: () => boolean;
  /**
   * The deliverer for a run that a process which stopped uncleanly may have posted
   * ({@link JobRun.unrecordedSince}): it looks in the chat's history before posting
   * (src/delivery/reconcile.ts). Without it such runs post as any other.
   */
  resume?: ((run: ResumedRun) => Pick<Deliverer, "run">) | undefined;
}): JobType<StoredPart[], PostState> {
  return {
    name: POST,
    ready: options.ready,
    compact(payload, state) {
      // Parts already posted keep only their label: their text is never stored.
      const done = new Set(state.done ?? []);
      const captioned = new Set(state.captionsSent ?? []);
      const kept = payload.map((p, i): StoredPart => {
        if (i < state.next || done.has(i)) return { k: "done", label: p.label };
        if (p.k === "attachment" && captioned.has(i)) {
          const { caption: _posted, ...rest } = p;
          return rest;
        }
        return p;
      });
      return { payload: kept, keepBlob: (slot) => slot >= state.next && !done.has(slot) };
    },
    async run(job): Promise<Attempt<PostState>> {
      let state = job.state;
      // Sets only for a resumed run: most runs start afresh, and building them for every
      // delivery showed in the allocation profile (issue 16).
      const done = state.done?.length ? new Set(state.done) : undefined;
      let parts: Part[];
      try {
        // A run inside the request has the planned parts ({@link postJob}'s `live`) and
        // starts afresh: nothing to read back from their stored form (issue 16). A stored job,
        // or a resumed one, rebuilds them.
        const live = state.next === 0 && !done ? job.live as Part[] | undefined : undefined;
        parts = live ??
          await loadParts(job.payload, state.next, (slot) => job.readBlob(slot), done);
      } catch (e) {
        const message = e instanceof SpoolLostError
          ? e.message
          : "the stored message could not be read back";
        return {
          kind: "failed",
          state,
          error: { code: "spool_lost", message },
          result: summary(state),
        };
      }
      // Nearly every run posts through the deliverer as it is; one a dead process may have
      // posted looks in the chat first.
      const deliverer = job.unrecordedSince !== undefined && options.resume
        ? options.resume({ hookId: job.hook.id, delivery: job.id, since: job.unrecordedSince })
        : options.deliverer;
      let r;
      try {
        r = await deliverer.run(job.hook.chatId, parts, {
          from: state.next,
          done,
          captionsSent: state.captionsSent?.length ? new Set(state.captionsSent) : undefined,
          signal: job.signal,
          onPosted: (i, messageId, failure) => {
            state = advance(state, i, messageId, failure);
            // The last part is recorded with the final record, one commit instead of two;
            // nothing to wait for then (no promise: a one-part message is most deliveries).
            if (state.next < parts.length || job.signal.aborted) return record(job, state);
            return undefined;
          },
          onCaptionSent: async (i, messageId) => {
            state = {
              ...state,
              messageIds: [...state.messageIds, messageId],
              captionsSent: [...(state.captionsSent ?? []), i],
            };
            await job.progress(state);
          },
        });
      } catch (e) {
        return {
          kind: "retry",
          state,
          scope: "link",
          error: { code: "interrupted", message: e instanceof Error ? e.message : String(e) },
        };
      }
      if (r.stoppedAt !== null && state.next < parts.length) {
        if (job.signal.aborted) {
          return {
            kind: "retry",
            state,
            scope: "link",
            error: { code: "shutting_down", message: "the bot is restarting" },
          };
        }
        // A transient failure: try again from the first part not recorded.
        const error = r.error ?? { code: "internal_error", message: "stopped" };
        return {
          kind: "retry",
          state,
          scope: scopeOf(error.code),
          error: { code: error.code, message: error.message },
        };
      }
      // Parts failed by a chat-level error (no onPosted for them) join the failures.
      if (r.failures.length > 0) {
        const known = new Set(state.failures.map((f) => f.item));
        const failures = [...state.failures, ...r.failures.filter((f) => !known.has(f.item))];
        state = { ...state, failures };
      }
      const result = summary(state);
      if (r.error && r.stoppedAt === null) {
        const error = { code: r.error.code, message: r.error.message };
        return { kind: "failed", state, error, result };
      }
      if (result.messageIds.length === 0 && result.failures.length > 0) {
        return {
          kind: "failed",
          state,
          error: { code: "delivery_failed", message: "No part of the message could be posted." },
          result,
        };
      }
      return { kind: "done", state, result };
    },
  };
}

/** Stores the progress; a run cut by shutdown stops once its progress is stored. */
async function record(job: JobRun<StoredPart[], PostState>, s: PostState): Promise<void> {
  await job.progress(s);
  if (job.signal.aborted) throw new CutError("shutting down");
}

/** Marks part `i` done: `next` moves past every done part. */
function advance(
  state: PostState,
  i: number,
  messageId: string,
  failure: PartFailure | undefined,
): PostState {
  let next = state.next;
  let done: number[] | undefined;
  if (i === next && !state.done?.length) {
    // The usual case: parts end in order, so no part ahead is done and no set is needed.
    next++;
  } else {
    const ahead = new Set(state.done ?? []);
    ahead.add(i);
    while (ahead.has(next)) ahead.delete(next++);
    done = [...ahead].sort((a, b) => a - b);
  }
  const after: { -readonly [K in keyof PostState]: PostState[K] } = {
    next,
    messageIds: [...state.messageIds, messageId],
    failures: failure ? [...state.failures, failure] : state.failures,
  };
  // Set only when there is something to keep (not spread from temporary objects per part).
  if (done?.length) after.done = done;
  if (state.captionsSent?.length) after.captionsSent = state.captionsSent;
  return after;
}

function summary(state: PostState): PostResult {
  const ids = state.messageIds;
  // "" marks a part that failed; without one the ids are shared, not copied.
  return {
    messageIds: ids.includes("") ? ids.filter((m) => m !== "") : ids,
    failures: state.failures,
  };
}

/** Whose trouble a transient error is (see `Attempt`). */
function scopeOf(code: string): "job" | "hook" | "link" {
  switch (code) {
    case "trueconf_unavailable":
    case "trueconf_timeout":
      return "link";
    case "trueconf_error":
      return "hook";
    default:
      return "job";
  }
}
