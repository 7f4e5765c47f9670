/**
 * Tells a hook's creator by direct message what went wrong with their hook, without
 * flooding them: at most one DM per hook per interval (default 10 min). The first problem
 * goes out at once; problems during the interval are collected and sent as one digest
 * when it ends ("3 more problems since …", the first few named with part and reason).
 *
 * Any part of the bot may report through it (failed deliveries, failed parts, deliveries
 * waiting long, outgoing calls failing). Each DM names the hook and its chat
 * (`Webhook "audit" in «Ops»: …`): names are unique per chat only, and a creator of two hooks
 * called "audit" in two chats must be able to tell which one failed. The chat's title is asked
 * at DM time (DMs are rare); the chat's id stands in when TrueConf does not say.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import { silentLogger } from "../log.ts";
import { type Clock, systemClock, type TimerHandle } from "./clock.ts";
import { creatorToNotify } from "../storage/mod.ts";

/** What the notifier needs of the TrueConf client. */
export interface DmSender {
  /** The personal chat with a user. */
  createP2PChat(userId: string): Promise<string>;
  /** Posts a text. */
  sendMessage(chatId: string, text: string, parseMode: "text"): Promise<unknown>;
  /** A chat's title, for the DM to name the hook's chat. */
  getChatByID(chatId: string): Promise<{ readonly title: string }>;
}

/** The hook a report is about. */
export interface ReportedHook {
  /** The hook's id. */
  readonly id: string;
  /** Its name, as the DM shows it. */
  readonly name: string;
  /** Its chat, named in the DM by its title. */
  readonly chatId: string;
  /** The creator's TrueConf id; "" when unknown (the report is only logged). */
  readonly createdBy: string;
}

/** Options of {@link CreatorNotifier}. */
export interface CreatorNotifierOptions {
  /** Sends the DMs (the TrueConf client). */
  client: DmSender;
  /** Where sent and held notices are logged. Default: silent. */
  logger?: Logger | undefined;
  /** Time for the once-per-10-minutes rule. Default: the system clock. */
  clock?: Clock | undefined;
  /** At most one DM per hook in this window. Default 10 min. */
  intervalMs?: number | undefined;
}

interface Pending {
  readonly hook: ReportedHook;
  readonly lines: string[];
  count: number;
  timer: TimerHandle | null;
  /** When the last DM went out. */
  sentAt: number;
}

/** Lines shown in one digest; the rest are counted. */
const DIGEST_LINES = 5;

/**
 * See the module doc.
 *
 * @example
 * ```ts
 * import type { DmSender } from "./creator_notifier.ts";
 * async function example(client: DmSender) {
 *   const notifier = new CreatorNotifier({ client });
 *   notifier.report({ id: "h1", name: "ci", chatId: "c1", createdBy: "alice@srv" }, "image 1 (https://x/a.png): 404");
 *   await notifier.close();
 * }
 * void example;
 * ```
 */
export class CreatorNotifier {
  readonly #o: CreatorNotifierOptions;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #hooks = new Map<string, Pending>();
  readonly #sending = new Set<Promise<void>>();
  #closed = false;

  /** A notifier with nothing held. */
  constructor(options: CreatorNotifierOptions) {
    this.#o = options;
    this.#log = options.logger ?? silentLogger;
    this.#clock = options.clock ?? systemClock;
  }

  /** Reports one problem of a hook (one line: what and why). */
  report(hook: ReportedHook, line: string): void {
    if (this.#closed) return;
    if (creatorToNotify(hook) === null) {
      // Made by the CLI without --owner, or imported without an author: nobody to DM.
      this.#log.warn(
        "problem not reported by DM: the hook has no member as its creator (hooks create --owner names one)",
        { hook: hook.id },
      );
      return;
    }
    const interval = this.#o.intervalMs ?? 10 * 60_000;
    const now = this.#clock.now();
    const p = this.#hooks.get(hook.id);
    if (!p || now - p.sentAt >= interval) {
      p?.timer?.cancel();
      this.#hooks.set(hook.id, { hook, lines: [], count: 0, timer: null, sentAt: now });
      this.#send(hook, (where) => `Webhook "${hook.name}"${where}: ${line}`);
      return;
    }
    p.count++;
    if (p.lines.length < DIGEST_LINES) p.lines.push(line);
    this.#log.info("problem held for the creator's next digest", { hook: hook.id });
    p.timer ??= this.#clock.after(p.sentAt + interval - now, () => this.#flush(hook.id));
  }

  /** Stops timers and waits for DMs being sent; digests still collecting are dropped. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const p of this.#hooks.values()) p.timer?.cancel();
    this.#hooks.clear();
    await Promise.allSettled([...this.#sending]);
  }

  #flush(hookId: string): void {
    const p = this.#hooks.get(hookId);
    if (!p || p.count === 0 || this.#closed) return;
    const more = p.count - p.lines.length;
    const minutes = Math.round((this.#o.intervalMs ?? 600_000) / 60_000);
    const text = (where: string) =>
      `Webhook "${p.hook.name}"${where}: ${p.count} more problem(s) in the last ${minutes} min:\n${
        p.lines.map((l) => `• ${l}`).join("\n")
      }${more > 0 ? `\n… and ${more} more` : ""}`;
    this.#hooks.set(hookId, {
      hook: p.hook,
      lines: [],
      count: 0,
      timer: null,
      sentAt: this.#clock.now(),
    });
    this.#send(p.hook, text);
  }

  /** Sends `text(" in «Chat»")` to the hook's creator. */
  #send(hook: ReportedHook, text: (where: string) => string): void {
    const p = (async () => {
      try {
        const [chat, where] = await Promise.all([
          this.#o.client.createP2PChat(hook.createdBy),
          this.#where(hook.chatId),
        ]);
        await this.#o.client.sendMessage(chat, text(where), "text");
        this.#log.info("hook creator notified", { hook: hook.id });
      } catch (e) {
        this.#log.warn("could not notify the hook creator", { hook: hook.id, error: e });
      }
    })();
    this.#sending.add(p);
    p.finally(() => this.#sending.delete(p));
  }

  /** ` in «Title»`, or ` in chat <id>` when the title cannot be had. */
  async #where(chatId: string): Promise<string> {
    const title = await this.#o.client.getChatByID(chatId).then((c) => c.title, () => "");
    return title ? ` in «${title}»` : ` in chat ${chatId}`;
  }
}
