/**
 * The chat-command test world: the fake TrueConf server over real sockets, the real client,
 * a real KV store and the CommandHandler, wired as src/bot.ts wires them. Every test ends by
 * scanning everything the bot posted: a hook URL (and any secret a test registers in
 * `w.secrets`) may appear only in a personal chat with the bot.
 *
 * @module
 */
import assert from "node:assert/strict";
import { CommandHandler } from "../../src/hooks/commands.ts";
import { HookStore } from "../../src/hooks/store.ts";
import { openKv } from "../../src/storage/mod.ts";
import { createLogger } from "../../src/log.ts";
import { type IncomingMessage, sameTrueConfId, TrueConfClient } from "../../src/trueconf/mod.ts";
import { FakeTrueConf, type SentRecord } from "../support/fake_trueconf.ts";
import { shownText } from "../support/shown_text.ts";
import { BOT, clientOptions, type FakeOptions } from "../trueconf/_helpers.ts";

export { BOT };
export const PUBLIC_URL = "https://hooks.example.com";
export const BOT_NAME = "Webhook Bot";
export const URL_RE = /https:\/\/hooks\.example\.com\/hook\/([A-Za-z0-9_-]+)/;

export interface World {
  fake: FakeTrueConf;
  client: TrueConfClient;
  store: HookStore;
  alice: string; // owner of the group chats
  bob: string; // plain member
  carol: string; // admin
  /** "@Webhook Bot" as a TrueConf client sends it. */
  at: string;
  /** Pushes a message and resolves with the bot's posts once the handler has finished. */
  say(chatId: string, author: string, text: string, extra?: { isEdited?: boolean }): Promise<
    SentRecord[]
  >;
  /** Pushes several messages at once and waits for all of them. */
  sayAll(msgs: { chatId: string; author: string; text: string }[]): Promise<SentRecord[]>;
  /** Every token handed out so far (taken from the DMs). */
  tokens: string[];
  /** Other secrets (verification, signing) a test saw in a DM; scanned like tokens. */
  secrets: string[];
  /** The handler, for what the bot triggers without a message (expiry sweeps). */
  commands: CommandHandler;
  /** The handler's log lines (JSON), debug and up. */
  logs: string[];
  dm(userId: string): string;
}

export interface Options {
  adminOnly?: boolean;
  fake?: FakeOptions;
  kvPath?: string;
  /** Reuse a running fake (restart test). */
  reuseFake?: FakeTrueConf;
  /** Clock of the store and the commands (ms since the epoch). */
  now?: () => number;
}

export async function withBot(opts: Options, fn: (w: World) => Promise<void>): Promise<void> {
  const fake = opts.reuseFake ?? await FakeTrueConf.start({
    bot: { ...BOT, displayName: BOT_NAME },
    users: [
      { login: "alice", password: "a", displayName: "Alice" },
      { login: "bob", password: "b", displayName: "Bob" },
      { login: "carol", password: "c", displayName: "Carol" },
    ],
    ...opts.fake,
  });
  const kv = await openKv(opts.kvPath ?? ":memory:");
  const store = new HookStore(kv, opts.now ? { now: opts.now } : {});
  const client = new TrueConfClient(clientOptions(fake));
  const logs: string[] = [];
  const commands = new CommandHandler({
    client,
    store,
    publicUrl: PUBLIC_URL,
    adminOnly: opts.adminOnly ?? true,
    now: opts.now,
    logger: createLogger({ level: "debug", write: (l) => void logs.push(l) }),
  });
  const inFlight: Promise<void>[] = [];
  let received = 0;
  const unsubscribe = client.onMessage((m: IncomingMessage) => {
    received++;
    inFlight.push(commands.handle(m));
  });
  const tokens: string[] = [];
  const dmChats = new Set<string>();
  const dm = (userId: string) => {
    const id = fake.p2pChatId(userId);
    dmChats.add(id);
    return id;
  };
  const alice = fake.userId("alice");
  const bob = fake.userId("bob");
  const carol = fake.userId("carol");
  for (const u of [alice, bob, carol]) dm(u);

  const settle = async (expected: number, before: number) => {
    await fake.waitFor(() => received >= expected, 5_000);
    await Promise.all(inFlight);
    const posts = fake.sent.slice(before);
    for (const p of posts) {
      const t = URL_RE.exec(p.text ?? "")?.[1];
      if (t && !tokens.includes(t)) tokens.push(t);
    }
    return posts;
  };
  const world: World = {
    fake,
    client,
    store,
    alice,
    bob,
    carol,
    at: fake.mention(fake.botId, BOT_NAME),
    tokens,
    secrets: [],
    commands,
    logs,
    dm,
    async say(chatId, author, text, extra) {
      const before = fake.sent.length;
      if (sameTrueConfId(author, fake.botId)) {
        // The client drops the bot's own posts before any handler: wait for that instead.
        const dropped = client.stats.ownEchoesDropped;
        fake.pushMessage({ chatId, authorId: author, text, ...extra });
        await fake.waitFor(() => client.stats.ownEchoesDropped > dropped, 5_000);
        return await settle(received, before);
      }
      const expected = received + 1;
      fake.pushMessage({ chatId, authorId: author, text, ...extra });
      return await settle(expected, before);
    },
    async sayAll(msgs) {
      const before = fake.sent.length;
      const expected = received + msgs.length;
      for (const m of msgs) {
        fake.pushMessage({ chatId: m.chatId, authorId: m.author, text: m.text });
      }
      return await settle(expected, before);
    },
  };
  try {
    client.start();
    await client.ready(3_000);
    await fn(world);
    // The URL (and so the token) only ever travels in a personal chat with the bot.
    for (const p of fake.sent) {
      if (dmChats.has(p.chatId)) continue;
      for (const t of world.secrets) {
        assert.ok(!(p.text ?? "").includes(t), `secret in chat ${p.chatId}: ${p.text}`);
      }
      for (const t of tokens) {
        assert.ok(!(p.text ?? "").includes(t), `token in chat ${p.chatId}: ${p.text}`);
        assert.ok(!(p.text ?? "").includes(t.slice(4, -4)), `token body in ${p.chatId}`);
      }
      assert.doesNotMatch(p.text ?? "", /\/hook\//, `hook URL in chat ${p.chatId}`);
    }
  } finally {
    unsubscribe();
    await commands.close();
    await store.close();
    await client.close();
    kv.close();
    if (!opts.reuseFake) await fake.close();
  }
}

export function group(w: World, chatId = "ops", extra: { chatType?: number; title?: string } = {}) {
  return w.fake.addChat({
    chatId,
    title: extra.title ?? "Ops",
    chatType: extra.chatType ?? 2,
    participants: [
      { userId: w.alice, role: "owner" },
      { userId: w.bob, role: "user" },
      { userId: w.carol, role: "admin" },
      { userId: w.fake.botId, role: "user" },
    ],
  }).chatId;
}

/** The posts' texts as a member sees them (HTML line breaks rendered: {@link shownText}). */
export const texts = (posts: SentRecord[], chatId?: string) =>
  posts.filter((p) => chatId === undefined || p.chatId === chatId).map(shownText);

/**
 * Makes `n` hooks in a chat straight in the store, by alice, named `00-nnn…` (64 characters
 * each): for answers that must stay under TrueConf's 4096 characters however many there are.
 */
export async function manyHooks(w: World, chatId: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const made = await w.store.create({
      chatId,
      name: `${String(i).padStart(2, "0")}-${"n".repeat(61)}`,
      createdBy: w.alice,
    });
    assert.ok(made.ok);
  }
}
