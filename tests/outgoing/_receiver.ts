/**
 * A loopback receiver of outgoing webhooks that verifies every request with the npm
 * `standardwebhooks` package (an implementation nobody here wrote) and answers as a test
 * tells it, plus helpers to make outgoing hooks on a bot wired with the fake TrueConf.
 *
 * @module
 */
import { Webhook } from "standardwebhooks";
import {
  type BotWithFake,
  type BotWithFakeOptions,
  startBotWithFake,
} from "../support/bot_with_fake.ts";
import { shownText } from "../support/shown_text.ts";
import { type Logger, silentLogger } from "../../src/log.ts";
import { generateSecret } from "../../src/outgoing/mod.ts";
import type { OutgoingBody } from "../../src/outgoing/mod.ts";
import type { HookRecord } from "../../src/storage/mod.ts";

/** One verified request. */
export interface Received {
  headers: Headers;
  raw: string;
  body: OutgoingBody;
  at: number;
}

/** See the module doc. */
export interface Receiver {
  readonly url: string;
  readonly calls: Received[];
  /** Requests whose signature did not verify (must stay 0). */
  readonly rejected: number;
  /** Resolves at the `n`-th verified call (1-based). */
  nth(n: number, timeoutMs?: number): Promise<Received>;
  close(): Promise<void>;
}

/**
 * Starts a receiver on 127.0.0.1. `answer` gets the verified body and the call number and
 * returns the response (default 204); a request that fails verification gets 401.
 */
export function startReceiver(
  secret: () => string,
  answer: (body: OutgoingBody, n: number) => Response | Promise<Response> = () =>
    new Response(null, { status: 204 }),
): Receiver {
  const calls: Received[] = [];
  const waiters: { n: number; resolve: (r: Received) => void }[] = [];
  let rejected = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const raw = await req.text();
    let body: OutgoingBody;
    try {
      body = new Webhook(secret()).verify(raw, Object.fromEntries(req.headers)) as OutgoingBody;
    } catch {
      rejected++;
      return new Response("bad signature", { status: 401 });
    }
    const rec = { headers: req.headers, raw, body, at: performance.now() };
    calls.push(rec);
    for (const w of [...waiters]) {
      if (calls.length >= w.n) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(calls[w.n - 1]!);
      }
    }
    return await answer(body, calls.length);
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/hooks/chat?key=abc`,
    calls,
    get rejected() {
      return rejected;
    },
    nth(n, timeoutMs = 10_000) {
      if (calls.length >= n) return Promise.resolve(calls[n - 1]!);
      return new Promise((resolve, reject) => {
        const w = {
          n,
          resolve: (r: Received) => {
            clearTimeout(t);
            resolve(r);
          },
        };
        const t = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(
            new Error(`call ${n} did not arrive within ${timeoutMs} ms (got ${calls.length})`),
          );
        }, timeoutMs);
        waiters.push(w);
      });
    },
    close: () => server.shutdown(),
  };
}

/** Creates an outgoing hook straight in the bot's store (the chat command is tested apart). */
export async function makeOutgoingHook(
  b: BotWithFake,
  o: { chatId: string; name: string; url: string; triggers?: string[]; by?: string },
): Promise<{ hook: HookRecord; secret: string }> {
  const secret = generateSecret();
  const made = await b.bot.store.create({
    chatId: o.chatId,
    name: o.name,
    createdBy: o.by ?? b.fake.userId("alice"),
    kind: "outgoing",
    outgoing: {
      url: o.url,
      secret: await b.bot.store.sealSecret(secret),
      triggers: o.triggers ?? [],
    },
  });
  if (!made.ok) throw new Error(made.message);
  return { hook: made.hook, secret };
}

/**
 * Runs `fn` with the whole bot against the fake TrueConf (which echoes the bot's own posts,
 * as TrueConf does), the loopback receiver allowed, users alice and bob; always closes. The
 * bot logs to `logger` (silent by default); `more` adds the bot's own options (its KV, a
 * lease). `fn` gets the bot's data folder too (for a CLI run against its store).
 */
export async function withOutgoingBot(
  env: Record<string, string>,
  fn: (b: BotWithFake, dir: string) => Promise<void>,
  logger: Logger = silentLogger,
  hooks?: BotWithFakeOptions["hooks"],
  more: Pick<BotWithFakeOptions, "kv" | "lease"> = {},
): Promise<void> {
  const dir = await Deno.makeTempDir();
  const b = await startBotWithFake({
    dir,
    env: { WEBHOOK_URL_ALLOWLIST: "127.0.0.1", ...env },
    logger,
    ...(hooks ? { hooks } : {}),
    ...more,
    fake: {
      echoOwnMessages: true,
      users: [
        { login: "alice", password: "alice", displayName: "Alice" },
        { login: "bob", password: "bob", displayName: "Bob" },
      ],
    },
  });
  try {
    await fn(b, dir);
  } finally {
    await b.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Alice's group `chatId` ("ops" by default) with one outgoing hook to a loopback receiver that
 * verifies with the hook's secret and answers with `answer`; runs `fn`, then closes the receiver.
 */
export async function withHookTo(
  b: BotWithFake,
  o: { name: string; triggers?: string[]; chatId?: string; title?: string },
  answer: (body: OutgoingBody, n: number) => Response | Promise<Response>,
  fn: (t: { alice: string; r: Receiver; hook: HookRecord; secret: string }) => Promise<void>,
): Promise<void> {
  const alice = b.fake.userId("alice");
  const chatId = o.chatId ?? "ops";
  b.addGroup({ chatId, title: o.title ?? "Ops", owner: alice });
  let secret = "";
  const r = startReceiver(() => secret, answer);
  try {
    const made = await makeOutgoingHook(b, {
      chatId,
      name: o.name,
      url: r.url,
      ...(o.triggers ? { triggers: o.triggers } : {}),
    });
    secret = made.secret;
    await fn({ alice, r, hook: made.hook, secret });
  } finally {
    await r.close();
  }
}

/** Pushes a command from alice in `chatId` and resolves with the bot's next message there. */
export async function command(
  b: BotWithFake,
  chatId: string,
  text: string,
  mention = true,
): Promise<string> {
  const before = b.fake.messagesIn(chatId).length;
  b.fake.pushMessage({
    chatId,
    authorId: b.fake.userId("alice"),
    text: mention ? `${b.mention} ${text}` : text,
  });
  await b.fake.waitFor(() => b.fake.messagesIn(chatId).length > before);
  const r = b.fake.messagesIn(chatId)[before];
  return r ? shownText(r) : "";
}
