/**
 * The chat commands of outgoing hooks, called from the command handler
 * (`src/hooks/commands.ts`) after its addressing and permission rules:
 *
 * - `/webhook_create <name> <url> [trigger words…]`: the URL through the SSRF guard, a new
 *   `whsec_` secret sealed in the record, the secret to the creator **by direct message
 *   only** (with a 5-line verification example), an acknowledgement without it in the chat.
 *   If the direct message cannot be delivered the hook is removed again.
 * - `/webhook_test <name> [text]`: an outgoing hook gets a signed `ping` and the member sees
 *   status, latency and the first line of the answer; an incoming hook posts a test message
 *   through its whole delivery path and the member sees what happened.
 *
 * @module
 */

import {
  foldHookName,
  leadingQuotedName,
  unquoteName,
  validateHookName,
} from "../hooks/hook_name.ts";
import type { CommandContext } from "../hooks/commands.ts";
import type { HookStore } from "../hooks/store.ts";
import { badName, duplicateOnCreate, expiryNote, htmlLines, tooMany } from "../hooks/replies.ts";
import type { Message } from "../message.ts";
import type { Allowlist } from "../net/mod.ts";
import type { HookRecord } from "../storage/mod.ts";
import type { SentMessage } from "../trueconf/mod.ts";
import { type Logger, silentLogger } from "../log.ts";
import { callOnce, firstLine, type OutgoingMetrics, reportAttempt } from "./call.ts";
import { chatKind, type OutgoingBody } from "./event_body.ts";
import * as replies from "./replies.ts";
import { generateSecret } from "../hooks/signing_secret.ts";
import { signingSecrets } from "./signing.ts";
import { checkTargetUrl } from "./target_url.ts";
import { parseOutgoingCreate } from "./triggers.ts";

/** What the commands need of the hook store. */
export type OutgoingCommandStore =
  & Pick<HookStore, "create" | "revoke" | "listByChat" | "sealSecret" | "openSecret">
  & Partial<Pick<HookStore, "recordRequest">>;

/** What the commands need of the TrueConf client. */
export interface OutgoingCommandClient {
  /** The creator's personal chat (the secret goes there). */
  createP2PChat(userId: string): Promise<string>;
  /** A user's display name (the ping names its author as a `message.created` does). */
  getUserDisplayName?(userId: string): Promise<string>;
  /** Sends the secret. */
  sendMessage(
    chatId: string,
    text: string,
    parseMode: "text" | "markdown" | "html",
  ): Promise<SentMessage>;
}

/** Delivers a test message through an incoming hook's path (the delivery queue). */
export type TestDispatch = (
  hook: { id: string; chatId: string; name: string; createdBy: string },
  message: Message,
) => Promise<{ kind: string; [k: string]: unknown }>;

/** Options of {@link OutgoingCommands}. */
export interface OutgoingCommandsOptions {
  /** The TrueConf client. */
  client: OutgoingCommandClient;
  /** The hook store. */
  store: OutgoingCommandStore;
  /** Incoming hooks' test path. */
  dispatch: TestDispatch;
  /** `WEBHOOK_URL_ALLOWLIST`. */
  allowlist?: Allowlist | undefined;
  /** Resolver for tests. */
  resolve?: ((host: string) => Promise<string[]>) | undefined;
  /** Per call (`WEBHOOK_OUTGOING_TIMEOUT_SECONDS`). Default 5 000. */
  timeoutMs?: number;
  /** Creation, failures, and one `outgoing call` line per ping. */
  logger?: Logger;
  /** `/metrics`: a ping is counted like any call. */
  metrics?: OutgoingMetrics | undefined;
  /** Clock for the ping's timestamp. */
  now?: () => number;
}

/** See the module doc. */
export class OutgoingCommands {
  readonly #o: OutgoingCommandsOptions;
  readonly #log: Logger;
  readonly #now: () => number;

  /** Builds the commands; the command handler calls {@link create} and {@link test}. */
  constructor(options: OutgoingCommandsOptions) {
    this.#o = options;
    this.#log = options.logger ?? silentLogger;
    this.#now = options.now ?? Date.now;
  }

  /**
   * `/webhook_create <name> <url> [trigger words…]` (permission already checked).
   * `expiresAt` comes from an `expires=` argument the caller took out.
   */
  async create(ctx: CommandContext, args: string, expiresAt: number | null = null): Promise<void> {
    const m = ctx.message;
    const parsed = parseOutgoingCreate(args);
    if (!parsed.ok) return await ctx.reply(replies.badArgs(parsed.reason));
    const name = validateHookName(unquoteName(parsed.name));
    if (!name.ok) return await ctx.reply(badName(name.code, [...parsed.name].length));
    const target = await checkTargetUrl(parsed.url, {
      allowlist: this.#o.allowlist,
      resolve: this.#o.resolve,
    });
    if (!target.ok) return await ctx.reply(replies.unsafeUrl(target.reason));
    const secret = generateSecret();
    const result = await this.#o.store.create({
      chatId: m.chatId,
      name: name.name,
      createdBy: m.authorId,
      chatTitle: ctx.chat?.title || null,
      expiresAt,
      kind: "outgoing",
      outgoing: {
        url: target.url,
        secret: await this.#o.store.sealSecret(secret),
        triggers: parsed.triggers,
      },
    });
    if (!result.ok) {
      return await ctx.reply(
        result.reason === "duplicate_name"
          ? duplicateOnCreate(name.name)
          : result.reason === "too_many"
          ? tooMany()
          : badName(result.message),
      );
    }
    const hook = result.hook;
    const personal = ctx.chat?.chatType === 1 || ctx.chat?.chatType === 5;
    const title = personal ? null : ctx.chat?.title || `chat ${m.chatId.slice(0, 12)}…`;
    const text = replies.secretMessage(name.name, title, target.url, parsed.triggers, secret);
    try {
      const dm = await this.#o.client.createP2PChat(m.authorId);
      await this.#o.client.sendMessage(dm, htmlLines(text), "html");
      this.#log.info("outgoing hook created", { hook: hook.id, chat: m.chatId });
      if (dm === m.chatId) return;
    } catch (e) {
      await this.#o.store.revoke(hook.id);
      this.#log.warn("outgoing hook removed again: secret not delivered", {
        hook: hook.id,
        error: e,
      });
      return await ctx.reply(replies.dmFailed(name.name));
    }
    await ctx.reply(
      replies.created(name.name, target.url, parsed.triggers) + expiryNote(expiresAt),
    );
  }

  /** `/webhook_test <name> [text]` for both kinds (permission already checked). */
  async test(ctx: CommandContext, args: string): Promise<void> {
    const m = ctx.message;
    const hooks = await this.#o.store.listByChat(m.chatId);
    const wanted = args.trim();
    // A quoted name (`"CI two" hello`), else the longest name the arguments start with, so
    // names with spaces work and the rest is the test text.
    const quoted = leadingQuotedName(wanted);
    const byQuote = quoted &&
      hooks.find((h) => foldHookName(h.name) === foldHookName(quoted.name));
    const folded = foldHookName(wanted);
    const hook = byQuote || hooks
      .filter((h) => {
        const n = foldHookName(h.name);
        return folded === n || folded.startsWith(`${n} `);
      })
      .sort((a, b) => b.name.length - a.name.length)[0];
    if (!hook) return await ctx.reply(replies.testNeedsName(hooks.map((h) => h.name), wanted));
    const text = (byQuote ? quoted!.rest : wanted.slice(hook.name.length).trim()) ||
      `Test from /webhook_test by ${m.authorId}`;
    // A paused hook is tested all the same (to check it before resuming), and said to be paused.
    const note = hook.paused ? replies.pausedNote(hook.name, hook.kind === "outgoing") : "";
    if (hook.kind === "outgoing" && hook.outgoing) {
      return await ctx.reply(await this.#ping(hook, ctx, text) + note);
    }
    const outcome = await this.#o.dispatch(hook, {
      text: `🧪 ${text}`,
      parseMode: "text",
      attachments: [],
    });
    const said = outcome.kind === "delivered"
      ? "the test message was posted through the webhook's delivery path."
      : outcome.kind === "queued"
      ? "TrueConf is not reachable right now; the test message is queued and will be posted."
      : `the test message was not posted (${String(outcome.code ?? outcome.kind)}: ${
        String(outcome.message ?? "")
      }).`;
    await ctx.reply(replies.incomingTestResult(hook.name, said) + note);
  }

  async #ping(hook: HookRecord, ctx: CommandContext, text: string): Promise<string> {
    const out = hook.outgoing!;
    const m = ctx.message;
    const id = `evt_ping_${crypto.randomUUID().replaceAll("-", "")}`;
    // As in every event body: the id stands in when the name cannot be had.
    const name = await this.#o.client.getUserDisplayName?.(m.authorId).catch(() => "") ||
      m.authorId;
    const body: OutgoingBody = {
      type: "ping",
      id,
      timestamp: new Date(this.#now()).toISOString(),
      hook: { id: hook.id, name: hook.name },
      chat: {
        id: m.chatId,
        title: ctx.chat?.title ?? "",
        type: chatKind(ctx.chat?.chatType ?? 2),
      },
      message: {
        id: m.messageId,
        text,
        parseMode: "text",
        markup: text,
        author: { id: m.authorId, name },
        replyTo: null,
        files: [],
      },
    };
    const res = await callOnce(
      {
        url: out.url,
        id,
        body: JSON.stringify(body),
        // Both secrets during a rotation's grace, like every call of the hook.
        secrets: await signingSecrets(hook, (s) => this.#o.store.openSecret(s), this.#now()),
      },
      {
        timeoutMs: this.#o.timeoutMs ?? 5_000,
        allowlist: this.#o.allowlist,
        resolve: this.#o.resolve,
      },
    );
    // The operator sees the ping as any call. It is never retried: a retryable failure failed.
    reportAttempt(
      {
        logger: this.#log,
        metrics: this.#o.metrics,
        recordRequest: this.#o.store.recordRequest?.bind(this.#o.store),
      },
      { hookId: hook.id, url: out.url, event: "ping", id, attempt: 1 },
      res,
      res.kind === "retry" ? "failed" : res.kind,
    );
    switch (res.kind) {
      case "answered":
        return replies.pingResult(hook.name, out.url, {
          ok: true,
          status: res.status,
          latencyMs: res.latencyMs,
          detail: firstLine(res.body),
        });
      case "refused":
        return replies.pingResult(hook.name, out.url, {
          ok: false,
          status: res.status,
          latencyMs: res.latencyMs,
          detail: firstLine(res.body) || res.reason,
        });
      default:
        return replies.pingResult(hook.name, out.url, {
          ok: false,
          status: res.status,
          latencyMs: res.latencyMs,
          detail: res.reason,
        });
    }
  }
}
