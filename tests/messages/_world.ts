// One bot against the fake TrueConf for the living-messages tests: a group chat, two hooks,
// and small HTTP helpers.
import { type BotWithFake, startBotWithFake } from "../support/bot_with_fake.ts";
import type { FakeTrueConfOptions, SentRecord } from "../support/fake_trueconf.ts";

/** An HTTP answer, body read (no leaked bodies). */
export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  // deno-lint-ignore no-explicit-any
  json: any;
}

async function send(url: string, init: RequestInit): Promise<Answer> {
  const res = await fetch(url, init);
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch { /* not JSON */ }
  return { status: res.status, headers: res.headers, text, json };
}

export interface LivingWorld {
  w: BotWithFake;
  chat: string;
  alice: string;
  bob: string;
  hookA: string;
  hookB: string;
  /** Messages the group chat shows, without the bot's answers to the setup commands. */
  shown(): SentRecord[];
  post(url: string, body: unknown, headers?: Record<string, string>): Promise<Answer>;
  patch(url: string, id: string, body: unknown): Promise<Answer>;
  del(url: string, id: string): Promise<Answer>;
  /** Pushes `@bot <text>` from Alice into the chat and waits for a bot answer matching `until`. */
  say(text: string, until: RegExp): Promise<void>;
  /** Any request, body read. */
  send(url: string, init: RequestInit): Promise<Answer>;
  /**
   * Stops the bot gracefully and starts a new one on the same store and the same TrueConf:
   * `w`, `hookA` and `hookB` then point at the new bot (a new port; same tokens).
   * `between` runs while no bot holds the store, given its KV file (what an older bot left).
   */
  restart(between?: (kvPath: string) => Promise<void>): Promise<void>;
  close(): Promise<void>;
}

export async function livingWorld(
  opts: { fake?: Partial<FakeTrueConfOptions>; env?: Record<string, string> } = {},
): Promise<LivingWorld> {
  const dir = await Deno.makeTempDir({ prefix: "living-" });
  const start = (reuseFake?: BotWithFake["fake"]) =>
    startBotWithFake({
      dir,
      fake: {
        users: [
          { login: "alice", password: "a", displayName: "Alice" },
          { login: "bob", password: "b", displayName: "Bob Smith" },
          { login: "carol", password: "c", displayName: "Carol" },
          { login: "dave", password: "d", displayName: "Dave (not in the chat)" },
        ],
        ...opts.fake,
      },
      ...(reuseFake ? { reuseFake } : {}),
      env: { LOG_LEVEL: "error", ...opts.env },
      trueconf: { backoff: { initialMs: 20, maxMs: 200 } },
    });
  const w = await start();
  const fake = w.fake;
  const alice = w.fake.userId("alice");
  const bob = w.fake.userId("bob");
  const chat = "ops";
  const carol = w.fake.userId("carol");
  const group = w.addGroup({ chatId: chat, title: "Ops", owner: alice, members: [bob] });
  group.participants.push({ userId: carol, role: "admin" });
  // Two creators: createHook reads the newest URL of the creator's DM.
  const a = await w.createHook(chat, "alerts", alice);
  const b = await w.createHook(chat, "deploys", carol);
  // The bot's "created" answers may still be on their way; wait for both.
  await w.fake.waitFor(() => w.fake.messagesIn(chat).length >= 2);
  const setup = new Set(w.fake.messagesIn(chat).map((m) => m.messageId));
  const json = (body: unknown) => typeof body === "string" ? body : JSON.stringify(body);
  let restarted = false;
  const world: LivingWorld = {
    w,
    chat,
    alice,
    bob,
    hookA: a.url,
    hookB: b.url,
    shown: () => w.fake.messagesIn(chat).filter((m) => !setup.has(m.messageId)),
    send,
    async say(text, until) {
      const before = w.fake.messagesIn(chat).length;
      w.fake.pushMessage({ chatId: chat, authorId: alice, text: `${w.mention} ${text}` });
      await w.fake.waitFor(() =>
        w.fake.messagesIn(chat).slice(before).some((m) => until.test(m.text ?? ""))
      );
    },
    post: (url, body, headers = {}) =>
      send(url, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: json(body),
      }),
    patch: (url, id, body) =>
      send(`${url}/messages/${encodeURIComponent(id)}`, {
        method: "PATCH",
        headers: { "content-type": "application/json" },
        body: json(body),
      }),
    del: (url, id) => send(`${url}/messages/${encodeURIComponent(id)}`, { method: "DELETE" }),
    async restart(between) {
      await world.w.closeBot();
      restarted = true;
      await between?.(`${dir}/webhooks.kv`);
      world.w = await start(fake);
      world.hookA = `${world.w.baseUrl}/hook/${a.token}`;
      world.hookB = `${world.w.baseUrl}/hook/${b.token}`;
    },
    async close() {
      await world.w.close();
      if (restarted) await fake.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
  return world;
}
