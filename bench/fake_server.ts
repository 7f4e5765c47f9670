/**
 * The fake TrueConf server as its own process, for the end-to-end benchmark (`bench/run.ts`).
 * Running it apart from the bot and from the bench driver keeps its CPU and memory out of the
 * bot's `/proc` numbers, as a real TrueConf Server would be.
 *
 * Protocol, one JSON object per stdout line:
 * - first line: `{"port": <n>, "chatId": "<group chat id>", "pid": <n>}` once listening;
 * - for every stdin line `counts`: `{"sent": <all posts>, "chat": <posts in the group>,
 *   "kinds": {"text": n, "photo": n, "document": n}, "acks": n}`;
 * - stdin closed (or a `quit` line): the fake closes and the process exits 0.
 *
 * Runs with `record: false`, so per-message history is not kept (a 200k-message run would
 * otherwise hold every text); the counters and the `onSent` listener still see every post.
 *
 * Run: `./deno run -A bench/fake_server.ts` (normally started by `bench/run.ts`).
 *
 * @module
 */
import { FakeTrueConf } from "../tests/support/fake_trueconf.ts";

/** The bot account the benchmark's bot logs in with. */
export const BENCH_BOT = { login: "webhook_bot", password: "secret" } as const;
/** The group chat the benchmark hook posts into. */
export const BENCH_CHAT_ID = "bench_group@video.example.com";

// TrueConf pushes the bot's own posts back to it (both official clients filter them out), so
// the bot pays for reading its echo as it would in production.
const fake = await FakeTrueConf.start({
  bot: { ...BENCH_BOT },
  record: false,
  echoOwnMessages: true,
});
fake.addChat({
  chatId: BENCH_CHAT_ID,
  title: "Benchmark",
  chatType: 2,
  participants: [{ userId: fake.botId, role: "user" }],
});

// Kinds are counted here because `record: false` keeps no SentRecord: the bench needs them
// to check that an image upload arrived as a photo (with a preview) and a file as a document.
const kinds = { text: 0, photo: 0, document: 0 };
fake.onSent((r) => {
  kinds[r.kind]++;
});

const encoder = new TextEncoder();
const writeLine = async (value: unknown) => {
  const bytes = encoder.encode(JSON.stringify(value) + "\n");
  let written = 0;
  // A pipe may take a partial write; the driver parses whole lines only.
  while (written < bytes.length) written += await Deno.stdout.write(bytes.subarray(written));
};

await writeLine({ port: fake.port, chatId: BENCH_CHAT_ID, pid: Deno.pid });

const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream());
let buffered = "";
reading: for await (const chunk of lines) {
  buffered += chunk;
  let newline: number;
  while ((newline = buffered.indexOf("\n")) >= 0) {
    const command = buffered.slice(0, newline).trim();
    buffered = buffered.slice(newline + 1);
    if (command === "quit") break reading;
    if (command === "counts") {
      await writeLine({
        sent: fake.sentCount(),
        chat: fake.sentCount(BENCH_CHAT_ID),
        kinds,
        acks: fake.ackCount,
      });
    } else if (command) {
      await writeLine({ error: `unknown command ${JSON.stringify(command)}` });
    }
  }
}
await fake.close();
