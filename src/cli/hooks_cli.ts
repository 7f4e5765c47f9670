/**
 * Sysadmin commands on the hook store, run from the same binary without the chat
 * (`trueconf-webhook-bot hooks list|create|pause|resume|rename|rotate|expire|info|verify|allow|revoke`,
 * and `import-json`). Only storage is touched (no TrueConf settings needed); a running bot
 * follows the changes through the store's change feed, and a change command returns once that
 * bot has applied it (so the next request already meets it). Output never contains
 * a token, only hints, except the one line `create`, `rotate` and `verify` print on standard
 * output: the new URL or secret, for the operator (and automation) who asked for it.
 *
 * @module
 */

import {
  type ChangeResult,
  CLI_CREATOR,
  type HistoryEntry,
  type HookRecord,
  type HookStore,
  maskToken,
  MAX_GRACE_MS,
  ReferenceFormatError,
  type VerifyMode,
} from "../hooks/mod.ts";
import { errorText } from "../error_text.ts";
import { parseDuration } from "../hooks/command_args.ts";
import { normalizeAllow } from "../hooks/commands.ts";
import { historyStatus, maskUrl } from "../hooks/replies.ts";
import { VERIFY_MODES } from "../hooks/verify.ts";
import { ringDoorbell, servingHolder, StoreBusyError } from "../storage/mod.ts";
import { normalizeTrueConfId } from "../trueconf/mod.ts";
import { QUEUE_USAGE, type QueueCliContext, runQueueCli } from "./queue_cli.ts";
import { findHook, type NoHook, refuse } from "./_find_hook.ts";

/** Receives one line of output (no trailing newline). */
export type Out = (line: string) => void;

/** Options of {@link runHooksCli}. */
export interface HooksCliContext {
  /**
   * Runs `fn` with the store opened (secrets key and all), closes it after. With the KV handle,
   * a change waits until a bot serving the store (its lease is live) has applied it.
   */
  openStore: (fn: (store: HookStore, kv?: Deno.Kv) => Promise<number>) => Promise<number>;
  /** `WEBHOOK_STORAGE_PATH`: tells a local bot's lock file, so a crashed one is not waited for. */
  storagePath?: string | undefined;
  /** `WEBHOOK_PUBLIC_URL`, for printing hook URLs; null prints the path only. */
  publicUrl: string | null;
  /** Standard output (one line per call). */
  out: Out;
  /** Standard error (usage and refusals). */
  err: Out;
  /** Clock (ms since the epoch). */
  now?: () => number;
  /** Runs `fn` with the KV handle and the store: `hooks queue` (src/cli/queue_cli.ts). */
  openQueue?: QueueCliContext["openQueue"] | undefined;
}

/** `hooks …` usage, shown by `--help` and after a wrong command line. */
export const HOOKS_USAGE = `Usage: trueconf-webhook-bot hooks <command> [--json]
  list [--chat ID]                              every hook: chat, title, kind, state, token hint
  create --chat ID --name N [--expires 30d] [--owner USER]
                                                prints the new URL (once) on standard output;
                                                USER (alice or alice@server) gets the hook's
                                                notices by private message (expiry reminder,
                                                failed parts); without it expiry notices are
                                                posted in the chat
  info TARGET                                   the hook and its last requests
  pause|resume|revoke TARGET
  rename TARGET --to NEW                        the URL stays
  rotate TARGET [--grace 24h]                   prints the new URL (outgoing: signing secret);
                                                the old one works for the grace (0 = none, ≤ 7d)
  expire TARGET <30d|never>
  verify TARGET github|gitlab|grafana|standard|bearer|off   prints the new secret
  allow TARGET <CIDR or address>[,…]|any
  queue [--hook ID|NAME] | queue retry ID | queue drop ID|--hook ID|NAME
                                                waiting deliveries (hooks queue --help)
  export [FILE]                                 the whole store as JSON lines (stdout without FILE);
                                                tokens stay hashed. A backup without sqlite3
  import FILE|-                                 restore an export into an empty store (-: stdin)
TARGET is a hook id, a name one hook has (ignoring case), or --chat ID --name N; a name
several chats use changes nothing (exit 2) and prints the command once per hook, by its id.
--json prints one JSON array (list) or object (every other command). A change returns once
the running bot has applied it (the next request meets it); a revoke made while no bot runs
drops the hook's waiting deliveries at the next start. list and info first have the running
bot write the delivery counts it keeps in memory (it does every 5 s), so they are current; if
it has not within 3 s, they are shown as stored, with a note on stderr.`;

interface Parsed {
  positional: string[];
  /** Where each of {@link positional} is in the arguments (for the command retyped by id). */
  positionalAt: number[];
  flags: Map<string, string>;
  json: boolean;
}

const VALUE_FLAGS = new Set(["--chat", "--name", "--expires", "--grace", "--to", "--owner"]);

function parseArgs(args: readonly string[]): Parsed | string {
  const positional: string[] = [];
  const positionalAt: number[] = [];
  const flags = new Map<string, string>();
  let json = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--json") json = true;
    else if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const name = eq < 0 ? a : a.slice(0, eq);
      if (!VALUE_FLAGS.has(name)) return `unknown option ${name}`;
      const value = eq < 0 ? args[++i] : a.slice(eq + 1);
      if (value === undefined) return `${name} needs a value`;
      flags.set(name, value);
    } else {
      positional.push(a);
      positionalAt.push(i);
    }
  }
  return { positional, positionalAt, flags, json };
}

/**
 * Runs `hooks <command> …` (the arguments after `hooks`); returns the exit code: 0 done,
 * 1 no such hook or refused change, 2 bad command line (a name several hooks have included).
 *
 * @example
 * ```ts
 * async function pauseDeploys(chatId: string, ctx: HooksCliContext): Promise<void> {
 *   Deno.exitCode = await runHooksCli(["pause", "--chat", chatId, "--name", "deploys"], ctx);
 * }
 * ```
 */
export async function runHooksCli(args: readonly string[], ctx: HooksCliContext): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === "queue" && ctx.openQueue) {
    if (rest.includes("--help")) {
      ctx.out(QUEUE_USAGE);
      return 0;
    }
    return await runQueueCli(rest, { ...ctx, openQueue: ctx.openQueue });
  }
  const p = parseArgs(rest);
  if (typeof p === "string" || sub === undefined) {
    ctx.err(`${typeof p === "string" ? `error: ${p}\n\n` : ""}${HOOKS_USAGE}`);
    return 2;
  }
  const usage = (why: string) => {
    ctx.err(`error: ${why}\n\n${HOOKS_USAGE}`);
    return 2;
  };
  const now = ctx.now ?? Date.now;
  const print = (value: unknown, lines: () => string[]) => {
    if (p.json) ctx.out(JSON.stringify(value, null, 2));
    else for (const l of lines()) ctx.out(l);
  };
  switch (sub) {
    case "list":
      if (p.positional.length) return usage("list takes no arguments (use --chat ID)");
      return await ctx.openStore(async (store, kv) => {
        const late = await freshUsage(store, kv, ctx.storagePath, "DELIVERIES and LAST USED");
        const chat = p.flags.get("--chat");
        const hooks = chat === undefined ? await store.listAll() : await store.listByChat(chat);
        if (p.json) ctx.out(JSON.stringify(hooks.map((h) => publicView(h, now())), null, 2));
        else printTable(hooks, ctx.out, now());
        if (late) ctx.err(`note: ${late}`);
        return 0;
      });
    case "create": {
      const chatId = p.flags.get("--chat");
      const name = p.flags.get("--name");
      if (!chatId || !name || p.positional.length) return usage("create needs --chat ID --name N");
      const exp = p.flags.get("--expires");
      const ms = exp === undefined ? null : parseDuration(exp);
      if (exp !== undefined && (ms === null || ms === 0)) {
        return usage(`--expires ${exp} is not a duration (30m, 12h, 30d)`);
      }
      const given = p.flags.get("--owner")?.trim();
      // Stored as a chat-made hook stores its author (normalised: lower case, no `trueconf:`,
      // no instance suffix). A bare login stays bare: the CLI touches no TrueConf settings and
      // the server's domain is what TrueConf says (`/api/v4/server`), not the host it is
      // reached at; whatever compares creators treats `alice` and `alice@server` as one
      // (sameTrueConfId), and a DM to a bare login gets the domain from the server.
      const owner = given === undefined ? undefined : normalizeTrueConfId(given);
      // The mark of a hook made without an owner (CLI_CREATOR): nobody would be told anything.
      if (owner === CLI_CREATOR) {
        return usage(
          `--owner ${CLI_CREATOR} is what a hook made without an owner stores: nobody would get its notices by private message. Give the member's login (--owner alice) or id (--owner alice@video.example.com; a member whose login is ${CLI_CREATOR}: --owner ${CLI_CREATOR}@<server>), or leave --owner out (the expiry notices are then posted in the chat)`,
        );
      }
      if (owner !== undefined && !/^[^\s@]+(@[^\s@]+)?$/.test(owner)) {
        return usage(
          `--owner ${
            given === "" ? "needs" : `${given} is not`
          } a TrueConf user: give a login (alice) or an id (alice@video.example.com)`,
        );
      }
      return await ctx.openStore(async (store) => {
        const r = await store.create({
          chatId,
          name,
          // The member who is told (by DM) what the creator of a chat-made hook is told.
          createdBy: owner ?? CLI_CREATOR,
          expiresAt: ms === null ? null : now() + ms,
        });
        if (!r.ok) {
          // The store's sentence points to the chat command; at the shell, the CLI's.
          const taken = r.reason === "duplicate_name" && await store.findByName(chatId, name);
          ctx.err(
            taken
              ? `error: chat ${chatId} already has a webhook named "${taken.name}" (${taken.id}). Pick another --name, or free this one first: hooks revoke ${taken.id}`
              : r.reason === "too_many"
              ? `error: chat ${chatId}: ${r.message} (hooks list --chat ${chatId}; hooks revoke <id>)`
              : `error: ${r.message}`,
          );
          return 1;
        }
        const url = hookUrl(ctx, r.token);
        print({ ...publicView(r.hook, now()), url }, () => [url]);
        return 0;
      });
    }
    case "pause":
    case "resume":
    case "info":
    case "revoke":
    case "rename":
    case "rotate":
    case "expire":
    case "verify":
    case "allow": {
      // Before the store is opened: a command line naming no hook, or giving the change
      // arguments it cannot take, is exit 2 wherever it runs (with no store too).
      const unnamed = targetProblem(p, sub);
      if (unnamed) return usage(unnamed);
      const asked = readChange(sub, p);
      if (typeof asked === "string") return usage(asked);
      return await ctx.openStore(async (store, kv) => {
        // Before the hook is read: its count and last requests as the running bot has them.
        const late = sub === "info"
          ? await freshUsage(
            store,
            kv,
            ctx.storagePath,
            "deliveryCount, lastUsedAt and the requests",
          )
          : null;
        const target = await findTarget(store, p, sub, rest);
        if ("exitCode" in target) return refuse(ctx.err, target);
        const { hook } = target;
        // Past its expiry (the bot's sweep removes it within a minute) it is as good as
        // revoked: a change would claim to work on a URL that answers 404.
        if (
          sub !== "info" && sub !== "revoke" && hook.expiresAt !== null && hook.expiresAt <= now()
        ) {
          ctx.err(
            `error: webhook "${hook.name}" (${hook.id}) expired at ${
              iso(hook.expiresAt)
            }: its URL answers 404 and a running bot removes it within a minute. hooks revoke ${hook.id} removes it now; hooks create makes a new one.`,
          );
          return 1;
        }
        const reach = () => reachRunningBot(store, kv, ctx.storagePath);
        const code = await change(store, asked, hook, ctx, print, now, reach);
        if (late) ctx.err(`note: ${late}`);
        if (code === 0 && sub !== "info" && sub !== "revoke" && await reach() === "unconfirmed") {
          ctx.err(`note: ${UNCONFIRMED}`);
        }
        // As the chat commands say it (bef643c): a rotation, verification or allowlist of a
        // paused hook is made, but the hook still does nothing. On stderr: stdout stays the
        // new URL or secret alone, for scripts.
        if (code === 0 && hook.paused && ["rotate", "verify", "allow", "expire"].includes(sub)) {
          ctx.err(
            `note: webhook "${hook.name}" is still paused: ${
              hook.kind === "outgoing" ? "nothing is sent" : "its URLs answer 404"
            } until hooks resume ${hook.id}.`,
          );
        }
        return code;
      });
    }
    default:
      return usage(`unknown command "${sub}"`);
  }
}

/** Where a change stands with the bot serving the store (`unknown`: no KV handle to ask). */
type Reach = "applied" | "no_bot" | "unconfirmed" | "unknown";

const UNCONFIRMED =
  "The running bot did not confirm this change within 3 s; it applies it when it next reads the store.";

/**
 * After a change: waits until the bot serving the store (its lease is live) has applied it,
 * so the next request to it already meets the change. `ask` writes what the bot is to apply
 * when the command has made no change of its own (see {@link freshUsage}); only with a bot.
 */
async function reachRunningBot(
  store: HookStore,
  kv: Deno.Kv | undefined,
  storagePath: string | undefined,
  ask?: () => Promise<void>,
): Promise<Reach> {
  if (!kv) return "unknown";
  if (!(await servingHolder(kv, storagePath))) return "no_bot";
  await ask?.();
  await ringDoorbell(kv); // the bot reads the change now, not at its next safety poll
  return await store.changesApplied() ? "applied" : "unconfirmed";
}

/**
 * Before `hooks list` and `hooks info` read the store. The serving bot keeps each hook's
 * delivery count, last use and last requests in memory and writes them every 5 s (a store
 * write per delivery would cost every delivery, issue 16), so it is asked to write them now
 * and the command waits for that, as a change waits to be applied. Returns the note to print
 * when the bot did not (busy, or its store refuses writes): `shown` may then be late.
 */
async function freshUsage(
  store: HookStore,
  kv: Deno.Kv | undefined,
  storagePath: string | undefined,
  shown: string,
): Promise<string | null> {
  const asOf = `${shown} are as of the bot's last write of them (every 5 s while it runs).`;
  try {
    const reach = await reachRunningBot(store, kv, storagePath, () => store.askForUsage());
    return reach === "unconfirmed"
      ? `the running bot did not write its latest counts within 3 s; ${asOf}`
      : null;
  } catch (e) {
    if (e instanceof StoreBusyError) throw e; // the busy sentence, as for any command
    // A full disk: the store can still be read.
    return `could not ask the running bot for its latest counts (${errorText(e)}); ${asOf}`;
  }
}

/** Why the command line names no hook (a usage error), or null when it names one. */
function targetProblem(p: Parsed, sub: string): string | null {
  const chat = p.flags.get("--chat");
  const name = p.flags.get("--name");
  if (chat !== undefined || name !== undefined) {
    return chat && name ? null : "give both --chat ID and --name N, or a hook id or name";
  }
  return p.positional[0] ? null : `${sub} needs a hook id or name, or --chat ID --name N`;
}

/** The words after the TARGET ({@link targetProblem} found it names one): the change's own. */
function argsAfterTarget(p: Parsed): string[] {
  return p.flags.has("--chat") ? p.positional : p.positional.slice(1);
}

/**
 * The hook a TARGET names ({@link targetProblem} found it names one): `--chat ID --name N`, or a
 * hook id or a name one hook has (the shared lookup, src/cli/_find_hook.ts).
 */
async function findTarget(
  store: HookStore,
  p: Parsed,
  sub: string,
  args: readonly string[],
): Promise<{ hook: HookRecord } | NoHook> {
  const chat = p.flags.get("--chat");
  const name = p.flags.get("--name");
  if (chat && name) {
    const hook = await store.findByName(chat, name);
    return hook ? { hook } : {
      exitCode: 1,
      lines: [
        `no webhook named "${name}" in chat ${chat}. List them with: hooks list --chat ${chat}`,
      ],
    };
  }
  const found = await findHook(store, {
    words: ["hooks", sub, ...args],
    at: 2 + p.positionalAt[0]!,
  });
  return "exitCode" in found ? found : { hook: found };
}

/** A change the command line asks for, its arguments checked (before any store is opened). */
type Change =
  | { sub: "info" | "pause" | "resume" | "revoke" }
  | { sub: "rename"; to: string }
  | { sub: "rotate"; graceMs: number }
  | { sub: "expire"; inMs: number | null }
  | { sub: "verify"; mode: VerifyMode | null }
  | { sub: "allow"; allow: string[] | null };

/** The change `sub` and the words after its TARGET ask for, or why they are a usage error. */
function readChange(sub: string, p: Parsed): Change | string {
  const args = argsAfterTarget(p);
  switch (sub) {
    case "info":
    case "pause":
    case "resume":
    case "revoke":
      return args.length ? `${sub} takes only the target` : { sub };
    case "rename": {
      const to = p.flags.get("--to") ?? (args.length ? args.join(" ") : undefined);
      return to ? { sub, to } : "rename needs --to NEW";
    }
    case "rotate": {
      if (args.length) return "rotate takes only the target and --grace";
      const g = p.flags.get("--grace") ?? "24h";
      const graceMs = parseDuration(g);
      return graceMs === null || graceMs > MAX_GRACE_MS
        ? `--grace ${g} is not a grace period (0, 30m, 24h, 7d; at most 7d)`
        : { sub, graceMs };
    }
    case "expire": {
      const [d, ...more] = args;
      if (!d || more.length) return "expire needs a duration (30d) or never";
      const inMs = d === "never" ? null : parseDuration(d);
      return d !== "never" && (inMs === null || inMs === 0)
        ? `${d} is not a duration (30m, 12h, 30d) or never`
        : { sub, inMs };
    }
    case "verify": {
      const [mode, ...more] = args;
      if (!mode || more.length || !(mode === "off" || VERIFY_MODES.includes(mode as VerifyMode))) {
        return "verify needs github|gitlab|grafana|standard|bearer|off";
      }
      return { sub, mode: mode === "off" ? null : mode as VerifyMode };
    }
    case "allow": {
      if (args.length === 0) return "allow needs addresses or CIDRs, or any";
      if (args.length === 1 && args[0] === "any") return { sub, allow: null };
      try {
        return {
          sub,
          allow: normalizeAllow(args.join(",").split(",").map((e) => e.trim()).filter(Boolean)),
        };
      } catch (e) {
        return (e as Error).message;
      }
    }
  }
  return `unknown command "${sub}"`;
}

async function change(
  store: HookStore,
  asked: Change,
  hook: HookRecord,
  ctx: HooksCliContext,
  print: (value: unknown, lines: () => string[]) => void,
  now: () => number,
  reach: () => Promise<Reach>,
): Promise<number> {
  const done = (r: ChangeResult, line: string): number => {
    if (!r.ok) {
      ctx.err(`error: ${r.message}`);
      return 1;
    }
    print(publicView(r.hook, now()), () => [line]);
    return 0;
  };
  const label = `"${hook.name}" (${hook.id}) of chat ${hook.chatId}`;
  if ((asked.sub === "verify" || asked.sub === "allow") && hook.kind === "outgoing") {
    // Both guard an incoming hook's URL; an outgoing hook has none (it signs its own calls).
    ctx.err(
      `error: ${label} is an outgoing hook: ${asked.sub} applies to incoming hooks only (an outgoing hook's calls are signed with its secret; hooks rotate or /webhook_rotate makes a new one).`,
    );
    return 1;
  }
  switch (asked.sub) {
    case "info": {
      const history = await store.history(hook.id);
      print({ ...publicView(hook, now()), history }, () => infoLines(hook, history, now()));
      return 0;
    }
    case "pause":
      return done(
        await store.pause(hook.id, "cli"),
        `Paused webhook ${label}: ${
          hook.kind === "outgoing" ? "it sends nothing until resumed" : "it answers 404"
        }.`,
      );
    case "resume":
      return done(await store.resume(hook.id), `Resumed webhook ${label}.`);
    case "revoke": {
      if (!(await store.revoke(hook.id))) {
        ctx.err(`error: webhook ${hook.id} is already gone.`);
        return 1;
      }
      const reached = await reach();
      print({ ...publicView(hook, now()), state: "revoked", revoked: true }, () => [
        `Revoked webhook ${label} (${shownAs(hook)}).`,
        afterRevoke(hook, reached),
      ]);
      return 0;
    }
    case "rename": {
      const { to } = asked;
      return done(await store.rename(hook.id, to), `Renamed webhook ${label} to "${to.trim()}".`);
    }
    case "rotate": {
      // An incoming hook gets a new URL, an outgoing one a new signing secret; printed once.
      const r = await store.rotate(hook.id, asked.graceMs);
      if (!r.ok) return done(r, "");
      if (r.secret) {
        const secret = r.secret;
        print({ ...publicView(r.hook, now()), secret }, () => [secret]);
        return 0;
      }
      if (!r.token) return done(r, "");
      const url = hookUrl(ctx, r.token);
      print({ ...publicView(r.hook, now()), url }, () => [url]);
      return 0;
    }
    case "expire": {
      const at = asked.inMs === null ? null : now() + asked.inMs;
      return done(
        await store.setExpiry(hook.id, at),
        at === null
          ? `Webhook ${label} no longer expires.`
          : `Webhook ${label} expires ${iso(at)}.`,
      );
    }
    case "verify": {
      const r = await store.setVerification(hook.id, asked.mode);
      if (!r.ok) return done(r, "");
      if (!r.secret) return done(r, `Webhook ${label} no longer checks sender signatures.`);
      print({ ...publicView(r.hook, now()), secret: r.secret }, () => [r.secret!]);
      return 0;
    }
    case "allow": {
      const { allow } = asked;
      return done(
        await store.setAllow(hook.id, allow),
        allow === null
          ? `Webhook ${label} accepts any address.`
          : `Webhook ${label} accepts only ${allow.join(", ")}.`,
      );
    }
  }
}

/**
 * The hook's URL, or its path when `WEBHOOK_PUBLIC_URL` is not set (then a hint goes to
 * standard error, so standard output and `--json` stay one URL a script can use).
 */
function hookUrl(ctx: Pick<HooksCliContext, "publicUrl" | "err">, token: string): string {
  if (ctx.publicUrl !== null) return `${ctx.publicUrl.replace(/\/+$/, "")}/hook/${token}`;
  ctx.err("note: set WEBHOOK_PUBLIC_URL to print the full URL (this is its path)");
  return `/hook/${token}`;
}

/** A hook as the CLI shows it: no token hash, no sealed secret, the state in words. */
export function publicView(h: HookRecord, now: number): Record<string, unknown> {
  return {
    id: h.id,
    kind: h.kind,
    chatId: h.chatId,
    chatTitle: h.chatTitle,
    name: h.name,
    state: stateOf(h, now),
    token: h.kind === "incoming" ? maskToken(h.tokenHint) : null,
    target: h.outgoing ? maskUrl(h.outgoing.url) : null,
    createdAt: iso(h.createdAt),
    createdBy: h.createdBy || null,
    lastUsedAt: h.lastUsedAt === null ? null : iso(h.lastUsedAt),
    deliveryCount: h.deliveryCount,
    paused: h.paused && { at: iso(h.paused.at), by: h.paused.by || null, reason: h.paused.reason },
    expiresAt: h.expiresAt === null ? null : iso(h.expiresAt),
    rotation: h.rotation && h.rotation.until > now
      ? {
        until: iso(h.rotation.until),
        oldUses: h.rotation.oldUses,
        oldLastUsedAt: h.rotation.oldLastUsedAt === null ? null : iso(h.rotation.oldLastUsedAt),
      }
      : null,
    verification: h.verification ? h.verification.mode : null,
    allow: h.allow,
    settings: h.settings,
  };
}

function stateOf(h: HookRecord, now: number): string {
  // Expired first: a paused hook past its expiry is gone for good, not waiting for a resume.
  if (h.expiresAt !== null && h.expiresAt <= now) return "expired";
  if (h.paused) return h.paused.reason === "user" ? "paused" : `paused (${h.paused.reason})`;
  return "active";
}

function infoLines(h: HookRecord, history: readonly HistoryEntry[], now: number): string[] {
  const v = publicView(h, now);
  const lines = Object.entries(v).map(([k, x]) =>
    `${k}: ${x === null ? "-" : typeof x === "object" ? JSON.stringify(x) : String(x)}`
  );
  lines.push(history.length ? `last ${history.length} requests:` : "no requests yet");
  for (const e of [...history].reverse()) {
    lines.push(
      `  ${iso(e.at)}  ${historyStatus(h, e)}  ${e.format || "-"}  ${e.outcome || "-"}${
        e.error ? `  ${e.error}` : ""
      }${e.oldUrlFrom ? `  old URL from ${e.oldUrlFrom}` : ""}`,
    );
  }
  return lines;
}

function printTable(hooks: readonly HookRecord[], out: Out, now: number): void {
  if (hooks.length === 0) {
    out("No webhooks.");
    return;
  }
  const header = [
    "ID",
    "CHAT",
    "TITLE",
    "NAME",
    "KIND",
    "STATE",
    "TOKEN",
    "CREATED BY",
    "CREATED",
    "LAST USED",
    "DELIVERIES",
  ];
  const rows = hooks.map((h) => row(h, now));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => width(r[i] ?? ""))));
  const line = (cells: string[]) =>
    cells.map((c, i) => c + " ".repeat((widths[i] ?? 0) - width(c))).join("  ").trimEnd();
  out(line(header));
  for (const r of rows) out(line(r));
  out(`${hooks.length} webhook${hooks.length === 1 ? "" : "s"}.`);
}

/**
 * Prints every hook as a table. Returns the exit code (0).
 *
 * @example
 * ```ts
 * import type { HookStore } from "../hooks/mod.ts";
 *
 * async function list(store: HookStore): Promise<void> {
 *   Deno.exitCode = await hooksList(store, console.log);
 * }
 * ```
 */
export async function hooksList(store: HookStore, out: Out): Promise<number> {
  printTable(await store.listAll(), out, Date.now());
  return 0;
}

/**
 * Revokes a hook by id. Returns 0 when revoked, 1 when there is no such hook.
 *
 * @example
 * ```ts
 * import type { HookStore } from "../hooks/mod.ts";
 *
 * async function revoke(store: HookStore): Promise<void> {
 *   Deno.exitCode = await hooksRevoke(store, "1b4e28ba-2fa1-11d2-883f-0016d3cca427", console.log);
 * }
 * ```
 */
export async function hooksRevoke(store: HookStore, id: string, out: Out): Promise<number> {
  const hook = await store.get(id);
  if (!hook || !(await store.revoke(id))) {
    out(`No webhook with id ${id}. List them with: hooks list`);
    return 1;
  }
  out(`Revoked webhook "${hook.name}" (${shownAs(hook)}) of chat ${hook.chatId}.`);
  out(afterRevoke(hook));
  return 0;
}

/** How a hook is named safely: the masked token, or an outgoing hook's masked target. */
function shownAs(hook: Pick<HookRecord, "kind" | "outgoing" | "tokenHint">): string {
  return hook.kind === "outgoing" && hook.outgoing
    ? `→ ${maskUrl(hook.outgoing.url)}`
    : maskToken(hook.tokenHint);
}

/** What the bot serving the store did, or does, once a hook is revoked. */
function afterRevoke(hook: Pick<HookRecord, "kind">, reached: Reach = "unknown"): string {
  const outgoing = hook.kind === "outgoing";
  if (reached === "applied") {
    return outgoing
      ? "The running bot has applied it: its calls stopped and the waiting ones are dropped."
      : "The running bot has applied it: the URL answers 404 and the waiting deliveries are dropped (failed, hook_revoked).";
  }
  if (reached === "unconfirmed") return UNCONFIRMED;
  if (reached === "unknown") {
    return outgoing
      ? "A running bot stops its calls within a second and drops the waiting ones."
      : "A running bot answers 404 for it within a second and drops its waiting deliveries.";
  }
  return outgoing
    ? "No bot is running on this store: its waiting calls are dropped when one starts."
    : "No bot is running on this store: the URL answers 404 and its waiting deliveries are dropped (failed, hook_revoked) when one starts.";
}

/**
 * Imports the reference Python bot's `webhooks.json`. Prints each imported record (with what
 * was adjusted in it: a mended name, a bad date replaced) and each skipped one. Returns 0
 * when every record's hook is in the store (now or from an earlier run), 1 when a record
 * could not be imported (its URL will answer 404) or the file is unreadable, not JSON, or
 * not in the reference format (said on `err`, standard error in main.ts).
 *
 * @example
 * ```ts
 * import type { HookStore } from "../hooks/mod.ts";
 *
 * async function importCommand(store: HookStore): Promise<void> {
 *   Deno.exitCode = await importJson(store, "data/webhooks.json", console.log);
 * }
 * ```
 */
export async function importJson(
  store: HookStore,
  path: string,
  out: Out,
  err: Out = out,
): Promise<number> {
  let json: unknown;
  try {
    // `-` is standard input, which needs no permission to open (see hooksImport's note).
    const text = path === "-"
      ? await new Response(Deno.stdin.readable).text()
      : await Deno.readTextFile(path);
    json = JSON.parse(text);
  } catch (e) {
    const why = e instanceof SyntaxError ? "it is not valid JSON" : errorText(e);
    err(`Cannot import ${path}: ${why}.`);
    return 1;
  }
  let result;
  try {
    result = await store.importReferenceJson(json);
  } catch (e) {
    if (e instanceof ReferenceFormatError) {
      err(`Cannot import ${path}: ${e.message}`);
      return 1;
    }
    throw e;
  }
  const notes = new Map(result.adjusted.map((a) => [a.hookId, a.notes]));
  for (const h of result.importedHooks) {
    out(`imported  chat ${h.chatId}  "${h.name}"  ${maskToken(h.tokenHint)}  id ${h.id}`);
    for (const note of notes.get(h.id) ?? []) out(`          adjusted: ${note}`);
  }
  for (const s of result.skipped) {
    out(`skipped   #${s.index}  chat ${s.chatId || "?"}  "${s.name}"  ${s.reason}`);
  }
  // "already imported" is what a second run says: nothing lost. Any other skip is a hook whose
  // URL will answer 404: exit 1 so a migration script notices (issue 17.10).
  const lost = result.skipped.filter((s) => s.reason !== "already imported").length;
  const mended = result.adjusted.length;
  out(
    `Imported ${result.imported}` +
      (mended ? ` (${mended} with adjusted fields, listed above)` : "") +
      `, skipped ${result.skipped.length}` +
      (lost
        ? ` (${lost} could not be imported: their URLs will answer 404; see the reasons above)`
        : "") +
      `. Existing hook URLs keep working; the JSON file still holds the tokens in plain text, ` +
      `so delete it once the bot runs on the new store.`,
  );
  return lost ? 1 : 0;
}

function row(h: HookRecord, now: number): string[] {
  return [
    h.id,
    h.chatId,
    h.chatTitle ?? "-",
    h.name,
    h.kind === "outgoing" && h.outgoing ? `→ ${maskUrl(h.outgoing.url)}` : "←",
    stateOf(h, now),
    h.kind === "incoming" ? maskToken(h.tokenHint) : "-",
    h.createdBy || "-",
    iso(h.createdAt),
    h.lastUsedAt === null ? "never" : iso(h.lastUsedAt),
    String(h.deliveryCount),
  ];
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

// Code points, so names with non-ASCII letters still line up in a terminal.
function width(s: string): number {
  return [...s].length;
}
