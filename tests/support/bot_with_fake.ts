/**
 * Shared wiring for running against the in-process fake TrueConf server:
 *
 * - {@link startBotWithFake}: the fake + the whole bot ({@link createBot} with a config from
 *   {@link parseConfig}, exactly as `serve` wires it) behind `listenHttp` on 127.0.0.1, with
 *   helpers to add a group chat and to create a hook the way a chat member does (a pushed
 *   `@Webhook Bot /webhook_create <name>` command, URL read back from the DM). Used by
 *   `demo/main.ts`, `scripts/interop/run_bot_with_fake.ts` and `tests/e2e/bot_test.ts`.
 * - {@link loopbackClientOptions}: {@link TrueConfClient} options for a fake on loopback, for
 *   tests and benches that drive the client (or queue) directly.
 * - {@link addGroup}: a group chat on a fake (owner, members, then the bot), for tests that start
 *   the fake themselves.
 *
 * Lives outside `src/` so production code never imports the fake.
 *
 * @module
 */
import { join } from "node:path";
import { type Bot, type BotOptions, createBot, httpServerOptions } from "../../src/bot.ts";
import { parseConfig } from "../../src/config.ts";
import { createLogger, type Logger } from "../../src/log.ts";
import {
  type FetchHandler,
  type HttpServer,
  type HttpServerOptions,
  listenHttp,
} from "../../src/ingest/http_server.ts";
import type { TrueConfClientOptions } from "../../src/trueconf/mod.ts";
import {
  type FakeChat,
  type FakeParseMode,
  FakeTrueConf,
  type FakeTrueConfOptions,
} from "./fake_trueconf.ts";

/** A group chat on `fake`: `owner`, then `members`, then the bot, all of them users. */
export function addGroup(
  fake: FakeTrueConf,
  g: { chatId: string; title: string; owner: string; members?: string[] },
): FakeChat {
  return fake.addChat({
    chatId: g.chatId,
    title: g.title,
    chatType: 2,
    participants: [
      { userId: g.owner, role: "owner" },
      ...(g.members ?? []).map((userId) => ({ userId, role: "user" as const })),
      { userId: fake.botId, role: "user" },
    ],
  });
}

/** Display name of the bot in {@link startBotWithFake}'s fake; chat commands mention it. */
export const BOT_NAME = "Webhook Bot";

/** A hook URL as the bot hands it out in a DM. */
export const HOOK_URL = /https?:\/\/[^\s<>"')\]]+\/hook\/[A-Za-z0-9_-]+/;

/** Bot account of the client/queue tests' fake (see {@link loopbackClientOptions}). */
export const TEST_BOT = { login: "webhook_bot", password: "s3cret" };
/** A chat member of the client/queue tests' fake. */
export const TEST_ALICE = { login: "alice", password: "a", displayName: "Alice" };

/**
 * Client options for a fake on 127.0.0.1 over plain HTTP, logging in as `bot`; `extra`
 * (timings, another `auth`, …) is spread last.
 */
export function loopbackClientOptions(
  fake: FakeTrueConf,
  bot: { login: string; password: string },
  extra: Partial<TrueConfClientOptions> = {},
): TrueConfClientOptions {
  return {
    server: "127.0.0.1",
    https: false,
    port: fake.port,
    verifyTls: true,
    auth: { username: bot.login, password: bot.password },
    ...extra,
  };
}

/** The bot's config did not parse; `problems` are as {@link parseConfig} reports them. */
export class BotConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join("\n"));
    this.name = "BotConfigError";
  }
}

export interface BotWithFakeOptions {
  /** Folder for the hook store (`webhooks.kv`); the caller owns and removes it. */
  dir: string;
  /**
   * Fake server options, spread over the defaults: the bot `webhook_bot`/`secret` shown as
   * {@link BOT_NAME}, and one user `alice` ("Alice").
   */
  fake?: Partial<FakeTrueConfOptions>;
  /**
   * A fake already running, used instead of starting one (`fake` is then ignored) and left
   * running by `close()`: a restart of the bot against the same TrueConf and the same `dir`.
   */
  reuseFake?: FakeTrueConf;
  /** Port on 127.0.0.1 for the bot's HTTP endpoint; default 0 (any free one). */
  port?: number;
  /** When `port` is busy, listen on a free one instead of failing (see `fellBack`). */
  fallbackToFreePort?: boolean;
  /**
   * Extra config variables, spread over the wiring ones (TrueConf = the fake, public URL =
   * the real listening address, storage in `dir`).
   */
  env?: Record<string, string>;
  /** Bot logger; default one built from the config's log level and format. */
  logger?: Logger;
  /** Client overrides passed to {@link createBot} (timings for tests). */
  trueconf?: BotOptions["trueconf"];
  /** How often the bot checks its KV file's identity (default 5 s). */
  storageCheckMs?: number;
  /** How long to wait for the bot's TrueConf login; default 10 s. */
  readyTimeoutMs?: number;
  /** A path after the listening address in WEBHOOK_PUBLIC_URL (`/tc`); default none. */
  publicPath?: string;
  /** The bot's hook clock and expiry sweep period ({@link BotOptions}). */
  hooks?: Pick<BotOptions, "now" | "expirySweepMs" | "clock">;
  /** The bot's KV handle made from the opened one ({@link BotOptions.kv}): a failing store. */
  kv?: BotOptions["kv"];
  /**
   * Take the store's lease as `serve` does ({@link BotOptions.lease}): the operator CLI then
   * knows a bot runs and waits for it to apply a change ("The running bot has applied it").
   */
  lease?: BotOptions["lease"];
  /**
   * `close()`/`closeBot()` throw when the bot broke the TrueConf protocol (see
   * {@link assertProtocolKept}). Default true: every test checks the wire. The demo and the
   * interop runner turn it off, so a person's session never ends in a stack trace.
   */
  strictProtocol?: boolean;
}

export interface BotWithFake {
  fake: FakeTrueConf;
  bot: Bot;
  server: HttpServer;
  /** `http://127.0.0.1:<port>`, the public URL hook URLs are built from. */
  baseUrl: string;
  /** True when the requested port was busy and a free one was taken instead. */
  fellBack: boolean;
  /** `@Webhook Bot` as a mention in chat text. */
  mention: string;
  /** Adds a group chat: `owner`, then `members`, then the bot. */
  addGroup(
    g: { chatId: string; title: string; owner: string; members?: string[] },
  ): FakeChat;
  /**
   * Pushes `@Webhook Bot /webhook_create <name>` from `by` in `chatId` and resolves with the
   * hook URL (and its token) from the DM the bot sends `by`.
   */
  createHook(
    chatId: string,
    name: string,
    by: string,
    opts?: { parseMode?: FakeParseMode; timeoutMs?: number },
  ): Promise<{ url: string; token: string }>;
  /** Stops the bot (2 s grace), the HTTP server and the fake (unless reused). Leaves `dir` alone. */
  close(): Promise<void>;
  /** Stops the bot and the HTTP server but leaves the fake running: half of a restart. */
  closeBot(): Promise<void>;
}

/**
 * Starts the fake, listens on 127.0.0.1 (first, so the public URL carries the real port),
 * builds the bot, starts it and waits for its TrueConf login. On failure everything already
 * started is closed; a bad config throws {@link BotConfigError}.
 */
export async function startBotWithFake(opts: BotWithFakeOptions): Promise<BotWithFake> {
  const fake = opts.reuseFake ?? await FakeTrueConf.start({
    bot: { login: "webhook_bot", password: "secret", displayName: BOT_NAME },
    users: [{ login: "alice", password: "alice", displayName: "Alice" }],
    ...opts.fake,
  });
  const closeFake = () => opts.reuseFake ? Promise.resolve() : fake.close();
  let server: HttpServer | null = null;
  let bot: Bot | null = null;
  try {
    let app: Bot["app"] | null = null;
    // The settings of the real address (the public URL carries the port); a first reading,
    // before listening, gives the HTTP server serve's options (and refuses a bad config early).
    const configAt = (port: number) => {
      const parsed = parseConfig({
        TRUECONF_SERVER: "127.0.0.1",
        TRUECONF_HTTPS: "false",
        TRUECONF_WEB_PORT: String(fake.port),
        TRUECONF_USERNAME: "webhook_bot",
        TRUECONF_PASSWORD: "secret",
        WEBHOOK_PUBLIC_URL: `http://127.0.0.1:${port}${opts.publicPath ?? ""}`,
        WEBHOOK_HTTP_HOST: "127.0.0.1",
        WEBHOOK_HTTP_PORT: String(port),
        WEBHOOK_STORAGE_PATH: join(opts.dir, "webhooks.kv"),
        ...opts.env,
      });
      if (!parsed.ok) throw new BotConfigError(parsed.problems);
      return parsed.config;
    };
    const first = configAt(opts.port ?? 0);
    const logger = opts.logger ??
      createLogger({ level: first.log.level, format: first.log.format });
    const handler: FetchHandler = (req, info) =>
      app ? app.fetch(req, info) : new Response("starting", { status: 503 });
    const listening = await listenLoopback(
      opts.port ?? 0,
      (port) => httpServerOptions(first, logger, handler, { hostname: "127.0.0.1", port }),
      opts.fallbackToFreePort ?? false,
    );
    server = listening.server;
    const port = server.addr.port;
    const baseUrl = `http://127.0.0.1:${port}`;
    const config = configAt(port);
    const b = await createBot(config, {
      logger,
      ...(opts.trueconf ? { trueconf: opts.trueconf } : {}),
      storageCheckMs: opts.storageCheckMs,
      kv: opts.kv,
      lease: opts.lease,
      ...opts.hooks,
    });
    bot = b;
    app = b.app;
    b.start();
    await b.client.ready(opts.readyTimeoutMs ?? 10_000);

    const mention = fake.mention(fake.botId, BOT_NAME);
    const srv = server;
    return {
      fake,
      bot: b,
      server: srv,
      baseUrl,
      fellBack: listening.fellBack,
      mention,
      addGroup: (g) => addGroup(fake, g),
      async createHook(chatId, name, by, o = {}) {
        // Only a DM that comes after this command: an earlier hook's URL in the same DM chat
        // must not be taken for this one's.
        const seen = fake.messagesIn(fake.p2pChatId(by)).length;
        fake.pushMessage({
          chatId,
          authorId: by,
          text: `${mention} /webhook_create ${name}`,
          ...(o.parseMode ? { parseMode: o.parseMode } : {}),
        });
        const dm = fake.p2pChatId(by);
        let url = "";
        await fake.waitFor(() => {
          for (const r of fake.messagesIn(dm).slice(seen)) {
            url = HOOK_URL.exec(r.text ?? "")?.[0] ?? url;
          }
          return url !== "";
        }, o.timeoutMs ?? 10_000);
        return { url, token: url.slice(url.lastIndexOf("/") + 1) };
      },
      async close() {
        await b.close(2_000);
        await srv.shutdown();
        await closeFake();
        if (opts.strictProtocol !== false) assertProtocolKept(fake);
      },
      async closeBot() {
        await b.close(2_000);
        await srv.shutdown();
        if (opts.strictProtocol !== false) assertProtocolKept(fake);
      },
    };
  } catch (e) {
    await bot?.close(2_000);
    await server?.shutdown();
    await closeFake();
    throw e;
  }
}

/**
 * Throws when the bot sent the fake anything the official SDK never sends (a field it does not
 * know, a text over 4096 visible characters, an ack on the wrong socket…: the fake's
 * `protocolErrors`), so every test that runs the bot also checks its wire. A test that breaks
 * the protocol on purpose empties `fake.protocolErrors` itself.
 */
export function assertProtocolKept(fake: FakeTrueConf): void {
  if (fake.protocolErrors.length === 0) return;
  const errors = fake.protocolErrors.splice(0);
  throw new Error(`the bot broke the TrueConf protocol:\n- ${errors.join("\n- ")}`);
}

/**
 * Listens on 127.0.0.1:`preferred` with the server production runs (`listenHttp`, with the
 * options `serve` gives it: {@link httpServerOptions}); with `fallback`, on any free port when
 * that one is taken.
 */
async function listenLoopback(
  preferred: number,
  options: (port: number) => HttpServerOptions,
  fallback: boolean,
): Promise<{ server: HttpServer; fellBack: boolean }> {
  try {
    return { server: await listenHttp(options(preferred)), fellBack: false };
  } catch (e) {
    const inUse = (e as { code?: string }).code === "EADDRINUSE";
    if (!fallback || !inUse || preferred === 0) throw e;
  }
  return { server: await listenHttp(options(0)), fellBack: true };
}
