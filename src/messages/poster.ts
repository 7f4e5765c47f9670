/**
 * Posts the text parts that carry a {@link TextOp}: the delivery queue calls it when the
 * part's turn comes, after every earlier message of the hook, so keys, reply targets and
 * alert groups are resolved against what really reached the chat.
 *
 * - **Edit** (`PATCH …/messages/<id>`, a known key, an open alert group): `editMessage`; when
 *   TrueConf says the message is gone (306/307: removed, chat cleared) a new message is
 *   posted and remembered in its place.
 * - **Remove** (`DELETE`): `removeMessage` for everyone; already gone counts as done.
 * - **Reply**: `replyMessageId` of an id or key the hook knows; a target that vanished
 *   meanwhile is dropped and the message posted without it.
 * - **Groups**: one message per alert group / CI run while open; the notification that
 *   closes it edits it and posts its short reply, because an edit notifies nobody, and so does
 *   one that brings alerts started since the message was last updated (`🔥 Also firing`).
 * - **Buttons** on 5.5.6+ servers, else the same links after the text.
 *
 * @module
 */
import { spanText } from "../span_text.ts";
import type { MessageButton, MessageGroup, ParseMode, TextOp } from "../message.ts";
import type { LivingPoster, Part } from "../delivery/mod.ts";
import { fitText, TrueConfApiError } from "../trueconf/mod.ts";
import type { EditedMessage, SendMessageOptions, SentMessage } from "../trueconf/mod.ts";
import type { Logger } from "../log.ts";
import { silentLogger } from "../log.ts";
import type { GroupRecord, MessageRegistry, PostedMessage } from "./registry.ts";
import { linksAfter } from "./links.ts";

/** What the poster needs of the TrueConf client. */
export interface LivingClient {
  /** Posts a text (a reply, with buttons). */
  sendMessage(
    chatId: string,
    text: string,
    parseMode: ParseMode,
    opts?: SendMessageOptions,
  ): Promise<SentMessage>;
  /** Overwrites a message's text and buttons. */
  editMessage(
    messageId: string,
    text: string,
    parseMode: ParseMode,
    opts?: {
      buttons?: readonly (readonly MessageButton[])[] | undefined;
      chatId?: string | undefined;
    },
  ): Promise<EditedMessage>;
  /** Removes a message. */
  removeMessage(messageId: string, opts?: { forAll?: boolean }): Promise<void>;
  /** Whether the server shows URL buttons (5.5.6+). */
  supportsButtons(): Promise<boolean>;
}

/** A text ready to send: mentions applied, buttons or their links decided. */
export interface Rendered {
  /** The text to send. */
  readonly text: string;
  /** Its parse mode. */
  readonly parseMode: ParseMode;
  /** Buttons to send with it (5.5.6+ servers only). */
  readonly buttons?: readonly (readonly MessageButton[])[] | undefined;
}

/** Options of {@link Poster}. */
export interface PosterOptions {
  /** The TrueConf client. */
  client: LivingClient;
  /** What each hook posted. */
  registry: MessageRegistry;
  /**
   * Turns a part's text into what is sent (mentions); default: unchanged. May answer at once
   * when nothing changes (no promise to wait for then).
   */
  render?:
    | ((chatId: string, r: Rendered, op: TextOp) => Rendered | Promise<Rendered>)
    | undefined;
  /** Clock for group durations. Default `Date.now`. */
  now?: (() => number) | undefined;
  /** Where gone messages and fallbacks are logged. */
  logger?: Logger | undefined;
}

/** A text part of a planned message (what {@link Poster.post} posts). */
export type TextPart = Extract<Part, { kind: "text" }>;

const gone = (e: unknown) => e instanceof TrueConfApiError && e.messageGone;

/** See the module doc. */
export class Poster implements LivingPoster {
  readonly #o: PosterOptions;
  readonly #reg: MessageRegistry;
  readonly #now: () => number;
  readonly #log: Logger;

  /** A poster over a client and a registry. */
  constructor(options: PosterOptions) {
    this.#o = options;
    this.#reg = options.registry;
    this.#now = options.now ?? Date.now;
    this.#log = options.logger ?? silentLogger;
  }

  /**
   * This poster over another client (same registry and rendering): a run that must look in the
   * chat's history before it posts (src/delivery/reconcile.ts) posts through one.
   */
  via(client: LivingClient): Poster {
    return new Poster({ ...this.#o, client });
  }

  /**
   * Remembers a file (or a text posted without an op's help) the hook posted; `serverTime` is
   * TrueConf's timestamp from the send answer (`SentMessage.serverTime`), when it had one, and
   * `captionMessageId` the file's caption message on 5.5.6+ servers (removed with the file).
   */
  async posted(
    op: TextOp,
    chatId: string,
    messageId: string,
    kind: "text" | "file",
    serverTime?: number | null,
    captionMessageId?: string,
  ) {
    await this.#reg.remember(op.hook, messageId, {
      chatId,
      kind,
      key: op.key,
      ts: serverTime,
      caption: captionMessageId,
    });
  }

  /** Posts, edits or removes one text part; returns the message id it produced or changed. */
  post(chatId: string, part: TextPart): Promise<string> {
    const op = part.op!;
    if (op.act === "remove") return this.#remove(op);
    try {
      // Most texts need no rendering nor lookup: no promise to wait for then (issue 16).
      const rendering = this.#render(chatId, part, op);
      if (
        !(rendering instanceof Promise) && op.act !== "edit" &&
        !(op.group && op.alerts !== "new") &&
        !op.key && !op.replyKey && !op.replyTo
      ) {
        // A new message: straight to #send, with no frame here held while TrueConf answers.
        return this.#send(chatId, op, rendering, { replyTo: op.replyId || null });
      }
      return this.#post(chatId, op, rendering);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * {@link post} for an edit, a group, a key, a reply or a text still rendering. A branch added
   * here needs its condition in {@link post}'s fast path too, which skips this method.
   */
  async #post(chatId: string, op: TextOp, rendering: Rendered | Promise<Rendered>) {
    const r = rendering instanceof Promise ? await rendering : rendering;
    if (op.act === "edit") {
      const found = op.target ? await this.#reg.resolve(op.hook, op.target) : null;
      const key = found?.message?.key ?? (found && found.messageId === null ? op.target : op.key);
      return await this.#editOrPost(chatId, op, found?.messageId ?? null, r, key, {
        at: found?.message?.at,
        ts: postTsOf(found?.message),
      });
    }
    if (op.group && op.alerts !== "new") return await this.#group(chatId, op, r);
    if (op.key) {
      const k = await this.#reg.byKey(op.hook, op.key);
      return await this.#editOrPost(chatId, op, k?.messageId ?? null, r, op.key, { ts: k?.ts });
    }
    if (op.replyKey) {
      const k = await this.#reg.byKey(op.hook, op.replyKey);
      if (k?.messageId) return await this.#send(chatId, op, r, { replyTo: k.messageId });
      return await this.#send(chatId, op, r, { key: op.replyKey });
    }
    const target = this.replyTarget(op);
    const replyTo = target instanceof Promise ? await target : target;
    return await this.#send(chatId, op, r, { key: op.key, replyTo });
  }

  /** The text as sent: mentions applied, buttons or their links; at once when none apply. */
  #render(chatId: string, part: TextPart, op: TextOp): Rendered | Promise<Rendered> {
    const r: Rendered = { text: part.text, parseMode: part.parseMode };
    const rendered = this.#o.render ? this.#o.render(chatId, r, op) : r;
    return op.buttons?.some((row) => row.length > 0) ? this.#withButtons(rendered, op) : rendered;
  }

  async #withButtons(rendering: Rendered | Promise<Rendered>, op: TextOp): Promise<Rendered> {
    const r = await rendering;
    const rows = op.buttons!.filter((row) => row.length > 0);
    if (await this.#o.client.supportsButtons()) return { ...r, buttons: rows };
    if (op.buttonFallback === "none") return r;
    // The links go after the text, cut to make room when it was split to the limit.
    return { ...r, text: fitText(r.text, linksAfter(rows.flat(), r.parseMode)) };
  }

  async #remove(op: TextOp): Promise<string> {
    const found = op.target ? await this.#reg.resolve(op.hook, op.target) : null;
    const id = found?.messageId;
    if (!id) return "";
    // A file's caption message (5.5.6+) goes first: were the file removed and the caption's
    // removal then failed, a retry would find the file forgotten and the caption left behind.
    const caption = found.message?.caption;
    for (const m of caption ? [caption, id] : [id]) {
      try {
        await this.#o.client.removeMessage(m, { forAll: true });
      } catch (e) {
        if (!gone(e)) throw e;
        this.#log.info("message to remove was already gone", { hook: op.hook, message: m });
      }
    }
    await this.#reg.forget(op.hook, id, postTsOf(found.message));
    return id;
  }

  /**
   * Edits `messageId`; when it is unknown or gone, posts a new message remembered under `key`.
   * `o.at` is when the message was posted, if known (the registry's id-keyed row after an
   * edit counts its 30 days from it); `o.ts` TrueConf's timestamp of that post, if known (its
   * later removal finds its packed row by it); `o.replyTo` the reply target of a new message.
   */
  async #editOrPost(
    chatId: string,
    op: TextOp,
    messageId: string | null,
    r: Rendered,
    key: string | undefined | null,
    o: { at?: number | undefined; ts?: number | null | undefined; replyTo?: string | null },
  ): Promise<string> {
    if (messageId) {
      try {
        await this.#o.client.editMessage(messageId, r.text, r.parseMode, {
          buttons: r.buttons,
          chatId,
        });
        await this.#reg.edited(op.hook, messageId, { chatId, key, at: o.at, ts: o.ts });
        return messageId;
      } catch (e) {
        if (!gone(e)) throw e;
        this.#log.info("message to edit is gone, posting a new one", {
          hook: op.hook,
          message: messageId,
          code: (e as TrueConfApiError).code,
        });
        await this.#reg.forget(op.hook, messageId, o.ts);
      }
    }
    return await this.#send(chatId, op, r, {
      key: key ?? undefined,
      replyTo: o.replyTo ?? await this.replyTarget(op),
    });
  }

  /** The message to reply to; a promise only when a key or id must be looked up. */
  replyTarget(op: TextOp): string | null | Promise<string | null> {
    if (op.replyId) return op.replyId;
    if (!op.replyTo) return null;
    return this.#reg.resolve(op.hook, op.replyTo).then((found) => found?.messageId ?? null);
  }

  /** Posts a new message (a reply when asked) and remembers it. */
  async #send(
    chatId: string,
    op: TextOp,
    r: Rendered,
    o: { key?: string | undefined; replyTo?: string | null | undefined },
  ): Promise<string> {
    let sent: SentMessage;
    try {
      sent = await this.#o.client.sendMessage(chatId, r.text, r.parseMode, {
        buttons: r.buttons,
        replyMessageId: o.replyTo ?? undefined,
      });
    } catch (e) {
      if (!o.replyTo || !gone(e)) throw e;
      // The message replied to vanished: the reply still goes, as a plain message.
      sent = await this.#o.client.sendMessage(chatId, r.text, r.parseMode, { buttons: r.buttons });
    }
    await this.#reg.remember(op.hook, sent.messageId, {
      chatId,
      kind: "text",
      key: o.key,
      ts: sent.serverTime,
    });
    return sent.messageId;
  }

  /** One message per alert group / CI run; see the module doc. */
  async #group(chatId: string, op: TextOp, r: Rendered): Promise<string> {
    const g = op.group!;
    const mode = op.alerts ?? "edit";
    const rec = await this.#reg.group(op.hook, g.id);
    const closing = g.state === "closed";
    if (rec && rec.state === "open") {
      let id: string;
      if (mode === "edit") {
        const note = closing && g.closedNote
          ? `\n\n${
            g.closedNote.replace("{duration}", spanText(g.firedForMs ?? this.#now() - rec.openedAt))
          }`
          : "";
        id = await this.#editOrPost(
          chatId,
          op,
          rec.messageId,
          { ...r, text: fitText(r.text, note) },
          op.key,
          { at: rec.openedAt, replyTo: null },
        );
      } else {
        id = await this.#send(chatId, op, r, { key: op.key, replyTo: rec.messageId });
      }
      const root = mode === "edit" ? id : rec.messageId;
      const reply = closing ? g.reply : g.replyNow ?? newlyFiring(g, rec);
      if (reply && mode === "edit") {
        await this.#send(chatId, op, { text: reply, parseMode: "text" }, { replyTo: root });
      }
      await this.#reg.setGroup(op.hook, g.id, {
        messageId: root,
        state: g.state,
        openedAt: rec.openedAt,
        updatedAt: this.#now(),
        ...firingIds(g),
      });
      return id;
    }
    // Nothing open: a new message (a group that fires again after resolving starts afresh).
    const id = await this.#send(chatId, op, r, {
      key: op.key,
      replyTo: await this.replyTarget(op),
    });
    if (g.replyNow && mode === "edit") {
      await this.#send(chatId, op, { text: g.replyNow, parseMode: "text" }, { replyTo: id });
    }
    const now = this.#now();
    await this.#reg.setGroup(op.hook, g.id, {
      messageId: id,
      state: g.state,
      openedAt: now,
      updatedAt: now,
      ...firingIds(g),
    });
    return id;
  }
}

/** The identities of a notification's firing alerts, for its group's record (none: no key). */
function firingIds(g: MessageGroup): { firing?: string[] } {
  return g.firing ? { firing: g.firing.map((a) => a.id) } : {};
}

/** Alerts named at most in one `🔥 Also firing` reply; the rest are counted. */
const MAX_NEWLY_FIRING = 5;

/**
 * `🔥 Also firing: HighCPU · node2, …` for the alerts of an open group that its message did not
 * show before (by identity, `GroupRecord.firing`; a record from before those were kept: the
 * alerts that started after the message was last updated), which an edit alone would not make
 * anyone notice; undefined when there are none (a repeat of the same alerts).
 */
function newlyFiring(g: MessageGroup, rec: GroupRecord): string | undefined {
  const before = rec.firing ? new Set(rec.firing) : undefined;
  const since = rec.updatedAt ?? rec.openedAt;
  const fresh = g.firing?.filter((a) => before ? !before.has(a.id) : a.since > since) ?? [];
  if (fresh.length === 0) return undefined;
  const shown = fresh.slice(0, MAX_NEWLY_FIRING).map((a) => a.label).join(", ");
  const more = fresh.length - MAX_NEWLY_FIRING;
  return `🔥 Also firing: ${shown}${more > 0 ? ` and ${more} more` : ""}`;
}

/** TrueConf's timestamp of a post from its registry record (time-keyed, or kept when edited). */
function postTsOf(rec: PostedMessage | null | undefined): number | null {
  return rec?.ts ?? rec?.postedTs ?? null;
}
