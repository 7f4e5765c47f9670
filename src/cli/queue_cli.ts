/**
 * `hooks queue …`: the operator's view of the durable queue, from the same binary, on the
 * storage a running bot uses.
 *
 * - `hooks queue [--hook ID|NAME] [--json]` lists waiting deliveries (read from KV, works
 *   with or without a running bot).
 * - `hooks queue retry <delivery-id>`, `hooks queue drop <delivery-id>|--hook ID|NAME` leave a
 *   command in KV and ring the store's doorbell; the running bot applies it at once and
 *   answers, which this command prints (waiting up to {@link QUEUE_ANSWER_WAIT_MS}; a bot that
 *   is slower is said to be busy, and applies it later). With no bot running (no live lease on
 *   the store), it says so at once; the command waits in KV and is applied when the bot starts.
 *   A command the bot could not carry out (three tries, src/delivery/queue/job_engine.ts) is
 *   answered as failed with the store's error: printed on stderr, exit 1.
 *
 * @module
 */
import type { HookRecord, HookStore } from "../hooks/mod.ts";
import { findHook, refuse, type TypedCommand } from "./_find_hook.ts";
import {
  describeHolder,
  type OutboxEntry,
  OutboxRepo,
  type QueueCommand,
  ringDoorbell,
  servingHolder,
} from "../storage/mod.ts";

/**
 * How long `retry`/`drop` wait for the running bot's answer. An idle bot answers in
 * milliseconds (the doorbell); one on a loaded machine took over 2 s, the old wait, and the
 * command then said no bot was running.
 */
export const QUEUE_ANSWER_WAIT_MS = 10_000;

/** What {@link runQueueCli} needs. */
export interface QueueCliContext {
  /** Runs `fn` with the KV handle and the hook store of the storage path, closes them after. */
  openQueue: (fn: (kv: Deno.Kv, store: HookStore) => Promise<number>) => Promise<number>;
  out: (line: string) => void;
  err: (line: string) => void;
  now?: (() => number) | undefined;
  /** How long to wait for the running bot's answer. Default {@link QUEUE_ANSWER_WAIT_MS}. */
  answerWaitMs?: number | undefined;
  /**
   * The store's path: with it, a store no live bot holds (its lease) is told at once instead
   * of after waiting {@link answerWaitMs} for an answer nobody gives.
   */
  storagePath?: string | undefined;
}

/** Usage of `hooks queue`. */
export const QUEUE_USAGE = `Usage: trueconf-webhook-bot hooks queue [--hook ID|NAME] [--json]
       trueconf-webhook-bot hooks queue retry <delivery-id>
       trueconf-webhook-bot hooks queue drop <delivery-id> | --hook ID|NAME
  (no command)   list waiting deliveries: id, hook, chat, age, attempts, next try, last error
  retry          try a waiting delivery again now (also one set aside)
  drop           drop one delivery, or every waiting delivery of a hook (status failed,
                 error dropped_by_operator)
A running bot applies retry and drop at once and this command prints its answer, waiting up to
${
  QUEUE_ANSWER_WAIT_MS / 1000
} s for it (a busier bot applies them later); with no bot running they wait for its start.
One the bot could not carry out (its store failing, 3 tries a second apart) is answered as
failed, exit 1: the reason on stderr (with --json, "ok": false on stdout); run it again once
the store is healthy.`;

/** `hooks queue [drop] --hook HOOK [--json]` as typed, `--hook=HOOK` spelt as two words. */
function typedHook(hook: string, sub: string[], json: boolean): TypedCommand {
  const words = ["hooks", "queue", ...sub, "--hook", hook, ...(json ? ["--json"] : [])];
  return { words, at: words.indexOf("--hook") + 1 };
}

/** One waiting delivery as listed. */
export interface QueueRow {
  id: string;
  type: string;
  hook: { id: string; name: string };
  chat: string;
  createdAt: string;
  ageSeconds: number;
  attempts: number;
  /** ISO time of the next attempt, or null: as soon as TrueConf takes messages. */
  nextTry: string | null;
  setAside: boolean;
  lastError: { code: string; message: string } | null;
}

/**
 * Runs `hooks queue …` (the arguments after `queue`); returns the exit code: 0 done,
 * 1 unknown hook or delivery, or no answer, 2 bad command line (a name several hooks have
 * included).
 *
 * @example
 * ```ts
 * async function dropDeploys(ctx: QueueCliContext): Promise<void> {
 *   Deno.exitCode = await runQueueCli(["drop", "--hook", "deploys"], ctx);
 * }
 * ```
 */
export async function runQueueCli(args: readonly string[], ctx: QueueCliContext): Promise<number> {
  const positional: string[] = [];
  let hook: string | undefined;
  let json = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--json") json = true;
    else if (a === "--hook" || a.startsWith("--hook=")) {
      hook = a === "--hook" ? args[++i] : a.slice("--hook=".length);
      if (!hook) return usage(ctx, "--hook needs a hook id or name");
    } else if (a.startsWith("--")) return usage(ctx, `unknown option ${a}`);
    else positional.push(a);
  }
  const [sub, ...rest] = positional;
  const now = ctx.now ?? Date.now;
  if (sub === undefined) {
    return await ctx.openQueue(async (kv, store) => {
      let hooks: readonly HookRecord[];
      let only: HookRecord | undefined;
      if (hook !== undefined) {
        const found = await findHook(store, typedHook(hook, [], json));
        if ("exitCode" in found) return refuse(ctx.err, found);
        // Only that hook's rows are listed: its record names them all, so the whole hook
        // list (read at most once, by findHook, for a name) is not read again.
        only = found;
        hooks = [found];
      } else hooks = await store.listAll();
      const rows = await listRows(kv, hooks, only?.id, now());
      if (json) ctx.out(JSON.stringify(rows, null, 2));
      else printRows(rows, ctx.out);
      return 0;
    });
  }
  if (sub !== "retry" && sub !== "drop") return usage(ctx, `unknown command queue ${sub}`);
  if (sub === "retry" && (rest.length !== 1 || hook !== undefined)) {
    return usage(ctx, "retry needs one delivery id");
  }
  if (sub === "drop" && (rest.length + (hook === undefined ? 0 : 1)) !== 1) {
    return usage(ctx, "drop needs one delivery id, or --hook ID|NAME");
  }
  return await ctx.openQueue(async (kv, store) => {
    let command: QueueCommand;
    if (sub === "drop" && hook !== undefined) {
      const found = await findHook(store, typedHook(hook, ["drop"], json));
      if ("exitCode" in found) return refuse(ctx.err, found);
      command = { op: "drop_hook", hookId: found.id, hookName: found.name };
    } else {
      const id = rest[0]!;
      if (!(await deliveryExists(kv, id))) {
        ctx.err(`error: no waiting delivery has the id ${id}. List them with: hooks queue`);
        return 1;
      }
      command = { op: sub, id };
    }
    const repo = new OutboxRepo(kv);
    const commandId = await repo.putCommand(command, now());
    const holder = ctx.storagePath === undefined ? null : await servingHolder(kv, ctx.storagePath);
    const serving = ctx.storagePath === undefined || holder !== null;
    const waitMs = ctx.answerWaitMs ?? QUEUE_ANSWER_WAIT_MS;
    let answer: { ok: boolean; message: string } | null = null;
    if (serving) {
      await ringDoorbell(kv); // the serving bot applies and answers it now
      answer = await waitForAnswer(repo, commandId, waitMs);
    }
    if (answer === null) {
      // A live lease means a bot runs and reads the store: it is slow, not absent.
      const bot = holder ? `The running bot (${describeHolder(holder)})` : "The running bot";
      const out = json
        ? JSON.stringify({ ok: true, applied: false, botRunning: serving, command })
        : serving
        ? `${bot} has not answered within ${
          seconds(waitMs)
        }: it is busy or stuck. The command waits in the storage; the bot applies it when it next reads the store, or when it starts again (hooks queue shows what still waits).`
        : "No bot is running on this store: the command waits in the storage and is applied when one starts.";
      ctx.out(out);
      return 0;
    }
    if (json) ctx.out(JSON.stringify({ ...answer, applied: true, command }));
    else if (answer.ok) ctx.out(answer.message);
    else ctx.err(`error: ${answer.message}`);
    return answer.ok ? 0 : 1;
  });
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

function usage(ctx: QueueCliContext, why: string): number {
  ctx.err(`error: ${why}\n\n${QUEUE_USAGE}`);
  return 2;
}

async function listRows(
  kv: Deno.Kv,
  hooks: readonly HookRecord[],
  hookId: string | undefined,
  now: number,
): Promise<QueueRow[]> {
  const names = new Map(hooks.map((h) => [h.id, h.name]));
  const rows: QueueRow[] = [];
  for await (const e of new OutboxRepo(kv).listAll(hookId)) rows.push(rowOf(e, names, now));
  return rows.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

function rowOf(e: OutboxEntry, names: Map<string, string>, now: number): QueueRow {
  return {
    id: e.id,
    type: e.type,
    hook: { id: e.hookId, name: names.get(e.hookId) ?? e.hook.name },
    chat: e.hook.chatId,
    createdAt: new Date(e.createdAt).toISOString(),
    ageSeconds: Math.max(0, Math.round((now - e.createdAt) / 1000)),
    attempts: e.attempts,
    nextTry: e.notBefore > now ? new Date(e.notBefore).toISOString() : null,
    setAside: e.aside,
    lastError: e.lastError,
  };
}

function printRows(rows: readonly QueueRow[], out: (line: string) => void): void {
  if (rows.length === 0) {
    out("No deliveries are waiting.");
    return;
  }
  const table = [
    ["ID", "HOOK", "CHAT", "AGE", "ATTEMPTS", "NEXT TRY", "LAST ERROR"],
    ...rows.map((r) => [
      r.id + (r.setAside ? " (set aside)" : ""),
      r.hook.name,
      r.chat,
      age(r.ageSeconds),
      String(r.attempts),
      r.nextTry ?? "asap",
      r.lastError ? `${r.lastError.code}: ${r.lastError.message}`.slice(0, 80) : "-",
    ]),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  for (const row of table) out(row.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd());
  out(`${rows.length} waiting`);
  // While TrueConf is unreachable nothing is tried (attempts stay 0, no error): say what
  // "asap" waits for, so an outage does not look like a stuck queue.
  if (rows.some((r) => r.nextTry === null)) {
    out(
      "asap: as soon as TrueConf takes messages (the bot's /readyz shows its link) and the hook's earlier deliveries are through",
    );
  }
}

function age(s: number): string {
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  return `${Math.round(s / 360) / 10}h`;
}

async function deliveryExists(kv: Deno.Kv, id: string): Promise<boolean> {
  const seq = parseInt(id.split("-")[0] ?? "", 36);
  if (!Number.isSafeInteger(seq)) return false;
  for await (const e of new OutboxRepo(kv).listAll()) if (e.id === id) return true;
  return false;
}

async function waitForAnswer(
  repo: OutboxRepo,
  commandId: string,
  waitMs: number,
): Promise<{ ok: boolean; message: string } | null> {
  const end = Date.now() + waitMs;
  for (;;) {
    const r = await repo.commandResult(commandId);
    if (r) return r;
    if (Date.now() >= end) return null;
    // The bot answers through the shared file; polling is the only signal this side has
    // (Deno KV's watch does not see other processes' writes on a local file).
    await new Promise((res) => setTimeout(res, 50));
  }
}
