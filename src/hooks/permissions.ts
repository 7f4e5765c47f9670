/**
 * Who may do what in a chat: the chat's type (cached, because every group message that is not
 * addressed to the bot needs it) and whether a member may manage hooks.
 *
 * Failures fail closed: an unknown chat type means "mention required", and a role that cannot
 * be checked means "not allowed", with the reason told to the member.
 *
 * @module
 */
import { type BoundedCache, boundedCache } from "../bounded_cache.ts";
import type { Logger } from "../log.ts";
import { ChatType, sameTrueConfId } from "../trueconf/mod.ts";
import type { ChatInfo, Participant } from "../trueconf/mod.ts";

/** What permissions need from the TrueConf client. */
export interface ChatDirectory {
  /** The chat's type and title. */
  getChatByID(chatId: string): Promise<ChatInfo>;
  /** Members with their roles (owner, admin, …). */
  getChatParticipants(chatId: string): Promise<Participant[]>;
}

/** Options of {@link Permissions}. */
export interface PermissionsOptions {
  /** Where chat types and roles are looked up (the TrueConf client). */
  chats: ChatDirectory;
  /** `WEBHOOK_ADMIN_ONLY`: only owners and admins may create and revoke. */
  adminOnly: boolean;
  /** Where lookup failures are logged. */
  logger?: Logger;
  /** How long a chat's type and title are remembered. Default 300 000 (as the reference). */
  cacheTtlMs?: number;
  /** How long a failed lookup is remembered (so a flood of messages does not hammer TrueConf). Default 30 000. */
  failureTtlMs?: number;
  /** Default 10 000 chats. */
  cacheMax?: number;
  /** Clock for the caches. Default `Date.now`. */
  now?: () => number;
}

/** The answer to "may this member manage hooks here?". */
export type Decision = { readonly allowed: true } | {
  readonly allowed: false;
  readonly reason: string;
};

interface Cached {
  info: ChatInfo | null;
  until: number;
}

/** Roles that may manage hooks when admin-only is on. */
const MANAGERS: ReadonlySet<string> = new Set(["owner", "admin"]);

/** Chat types in which the two members may do everything and no mention is needed. */
export function isPersonal(chatType: number | null | undefined): boolean {
  return chatType === ChatType.P2P || chatType === ChatType.FAVORITES;
}

/** Chat lookups with a bounded, lazily expiring cache, and the management rule. */
export class Permissions {
  readonly #o: PermissionsOptions;
  readonly #now: () => number;
  // Made on first use; grows with its entries (src/bounded_cache.ts).
  #cacheStore: BoundedCache<string, Cached> | undefined;
  get #cache(): BoundedCache<string, Cached> {
    return this.#cacheStore ??= boundedCache(this.#o.cacheMax ?? 10_000);
  }

  /** Permissions with empty caches. */
  constructor(options: PermissionsOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  /** The chat's info, or null when TrueConf would not say (cached either way). */
  async chat(chatId: string): Promise<ChatInfo | null> {
    const now = this.#now();
    const hit = this.#cache.get(chatId);
    if (hit && hit.until > now) return hit.info;
    let info: ChatInfo | null = null;
    try {
      info = await this.#o.chats.getChatByID(chatId);
    } catch {
      info = null;
    }
    const ttl = info ? this.#o.cacheTtlMs ?? 300_000 : this.#o.failureTtlMs ?? 30_000;
    this.#cache.set(chatId, { info, until: now + ttl });
    return info;
  }

  /**
   * Whether `userId` may create or revoke hooks in `chatId`: always in personal and
   * favorites chats and when admin-only is off; otherwise iff the member's role (from every
   * page of participants) is owner or admin. Any failure denies, with the reason.
   */
  async canManage(
    chatId: string,
    userId: string,
    action: "create" | "revoke" | "manage" = "create",
  ): Promise<Decision> {
    const info = await this.chat(chatId);
    if (info && isPersonal(info.chatType)) return { allowed: true };
    if (!this.#o.adminOnly) return { allowed: true };
    let participants: Participant[];
    try {
      participants = await this.#o.chats.getChatParticipants(chatId);
    } catch (e) {
      // The details go to the log; a chat member gets a plain sentence, not internal errors.
      this.#o.logger?.warn("participant lookup failed", { chat: chatId, error: e });
      return {
        allowed: false,
        reason: "I could not check your role in this chat right now. Try again in a minute.",
      };
    }
    const me = participants.find((p) => sameTrueConfId(p.userId, userId));
    if (me && MANAGERS.has(String(me.role))) return { allowed: true };
    // Say what the member can do about it, not only what they may not do.
    return {
      allowed: false,
      reason:
        `Only owners and admins of this chat can ${action} webhooks (WEBHOOK_ADMIN_ONLY is on): ` +
        "ask an owner or admin of this chat to run it, or to make you an admin.",
    };
  }
}
