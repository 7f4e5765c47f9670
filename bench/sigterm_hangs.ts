/**
 * SIGTERM while everything hangs (issue 18.1: the process exits 0 within
 * WEBHOOK_SHUTDOWN_GRACE_SECONDS whatever clients and TrueConf do). The real `serve` process
 * (`tests/support/serve_process.ts`) against the fake TrueConf, with 50 stuck clients each time
 * (half a half-sent head, half a hook request whose body never comes), and one hang at a time:
 *
 * - `oauth-hangs`, `ws-auth-never`, `blackhole` (a TCP port that accepts and never answers):
 *   TrueConf never lets the bot in;
 * - `send-never`, `send-never-after-ready`: TrueConf takes posts (and history and chat
 *   lookups) and never answers, with 20 hook requests in flight;
 * - `outgoing-receiver-hangs`: an all-events outgoing hook's service never answers (30 s call
 *   timeout), 20 chat messages pushed; `outgoing-and-trueconf-hang`: both at once;
 * - `upload-held`: TrueConf holds a 2 MB file upload.
 *
 * One line per scenario: the exit status and the seconds from the signal to the exit as the
 * parent sees them (the default grace is 10 s; the last second of it is kept for closing).
 *
 * Run: `./deno run -A bench/sigterm_hangs.ts [scenario…]` (default: all).
 * Results: docs/limits.md ("Shutdown").
 *
 * @module
 */
import { join } from "node:path";
import { FakeTrueConf } from "../tests/support/fake_trueconf.ts";
import { hooksBeforeStart, spawnServe } from "../tests/support/serve_process.ts";
import { addGroup, TEST_BOT } from "../tests/support/bot_with_fake.ts";
import { HookStore } from "../src/hooks/mod.ts";
import { openKv, SecretBox } from "../src/storage/mod.ts";
import { generateSecret } from "../src/outgoing/mod.ts";

const enc = new TextEncoder();
const only = Deno.args;

async function scenario(
  name: string,
  setup: (fake: FakeTrueConf) => void | Promise<void>,
  opts: {
    waitReady?: boolean;
    during?: (port: number, token: string, fake: FakeTrueConf) => Promise<void>;
    env?: Record<string, string>;
    blackhole?: boolean;
    outgoing?: boolean;
  } = {},
) {
  if (only.length && !only.includes(name)) return;
  const dir = await Deno.makeTempDir({ prefix: "sigterm_" });
  const fake = await FakeTrueConf.start({
    bot: TEST_BOT,
    users: [{ login: "alice", password: "a", displayName: "Alice" }],
  });
  const alice = fake.userId("alice");
  addGroup(fake, { chatId: "ops", title: "Ops", owner: alice });
  const [hook] = await hooksBeforeStart(dir, "ops", alice, "in");
  // a black hole: accepts TCP, never answers a byte
  let hole: Deno.TcpListener | undefined;
  const holeConns: Deno.Conn[] = [];
  if (opts.blackhole) {
    hole = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    (async () => {
      for await (const c of hole!) holeConns.push(c);
    })().catch(() => {});
  }
  // an outgoing receiver that never answers
  let recv: Deno.HttpServer | undefined;
  const held: (() => void)[] = [];
  if (opts.outgoing) {
    recv = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      () => new Promise<Response>((r) => held.push(() => r(new Response(null, { status: 204 })))),
    );
    const storage = join(dir, "webhooks.kv");
    const kv = await openKv(storage);
    const store = new HookStore(kv, { secrets: await SecretBox.forStorage(storage) });
    const made = await store.create({
      chatId: "ops",
      name: "ev",
      createdBy: alice,
      kind: "outgoing",
      outgoing: {
        url: `http://127.0.0.1:${(recv.addr as Deno.NetAddr).port}/x`,
        secret: await store.sealSecret(generateSecret()),
        triggers: [],
      },
    });
    if (!made.ok) throw new Error(made.message);
    await store.close();
    kv.close();
  }
  await setup(fake);
  const bot = spawnServe({
    dir,
    fake: opts.blackhole ? undefined : fake,
    env: {
      WEBHOOK_RATE_LIMIT_PER_MINUTE: "0",
      WEBHOOK_RATE_LIMIT_PER_IP_PER_MINUTE: "0",
      WEBHOOK_URL_ALLOWLIST: "127.0.0.1",
      WEBHOOK_OUTGOING_TIMEOUT_SECONDS: "30",
      ...(opts.blackhole ? { TRUECONF_WEB_PORT: String((hole!.addr as Deno.NetAddr).port) } : {}),
      ...opts.env,
    },
  });
  const { port } = await bot.listening();
  if (opts.waitReady !== false) await bot.ready();
  const stuck: Deno.Conn[] = [];
  for (let i = 0; i < 50; i++) {
    const c = await Deno.connect({ hostname: "127.0.0.1", port });
    await c.write(enc.encode(
      i % 2
        ? "POST /hook/x HTT"
        : `POST /hook/${hook!.token} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"te`,
    ));
    stuck.push(c);
  }
  if (opts.during) await opts.during(port, hook!.token, fake);
  await new Promise((r) => setTimeout(r, 500));
  const t = performance.now();
  bot.kill("SIGTERM");
  const st = await bot.status;
  const s = (performance.now() - t) / 1000;
  const errs = bot.lines.filter((l) => l.level === "error" || l.level === "fatal").map((l) =>
    l.msg
  );
  console.log(
    `${name}: exit ${st.code} after ${s.toFixed(2)} s${s > 10 ? "  <-- OVER GRACE" : ""}; errors: ${
      JSON.stringify(errs.slice(0, 3))
    }`,
  );
  for (const c of [...stuck, ...holeConns]) {
    try {
      c.close();
    } catch { /* */ }
  }
  hole?.close();
  for (const h of held) h();
  await recv?.shutdown();
  await fake.close();
  await Deno.remove(dir, { recursive: true });
}

const post = (port: number, token: string, text: string) =>
  fetch(`http://127.0.0.1:${port}/hook/${token}`, {
    method: "POST",
    body: text,
    headers: { "content-type": "text/plain" },
  }).then((r) => r.body?.cancel()).catch(() => {});

await scenario("oauth-hangs", (f) => f.setOAuthMode("hang"), { waitReady: false });
await scenario("ws-auth-never", (f) => f.setMethodDelay("auth", "never"), { waitReady: false });
await scenario("blackhole", () => {}, { waitReady: false, blackhole: true });
await scenario("send-never", (f) => f.setMethodDelay("sendMessage", "never"), {
  during: async (port, token) => {
    for (let i = 0; i < 20; i++) post(port, token, `m${i}`);
    await new Promise((r) => setTimeout(r, 300));
  },
});
await scenario("send-never-after-ready", () => {}, {
  during: async (port, token, f) => {
    f.setMethodDelay("sendMessage", "never");
    f.setMethodDelay("getChatByID", "never");
    f.setMethodDelay("getChatHistory", "never");
    for (let i = 0; i < 20; i++) post(port, token, `m${i}`);
    await new Promise((r) => setTimeout(r, 300));
  },
});
await scenario("outgoing-receiver-hangs", () => {}, {
  outgoing: true,
  during: async (_port, _token, f) => {
    for (let i = 0; i < 20; i++) {
      f.pushMessage({ chatId: "ops", authorId: f.userId("alice"), text: `hello ${i}` });
    }
    await new Promise((r) => setTimeout(r, 500));
  },
});
await scenario("outgoing-and-trueconf-hang", () => {}, {
  outgoing: true,
  during: async (port, token, f) => {
    f.setMethodDelay("sendMessage", "never");
    f.setMethodDelay("getChatByID", "never");
    for (let i = 0; i < 20; i++) {
      f.pushMessage({ chatId: "ops", authorId: f.userId("alice"), text: `hello ${i}` });
      post(port, token, `m${i}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  },
});
await scenario("upload-held", () => {}, {
  during: async (port, token, f) => {
    f.holdUploadsNamed("big.bin");
    const fd = new FormData();
    fd.append("text", "with a file");
    fd.append("file", new File([new Uint8Array(2_000_000)], "big.bin"));
    fetch(`http://127.0.0.1:${port}/hook/${token}`, { method: "POST", body: fd }).then((r) =>
      r.body?.cancel()
    ).catch(() => {});
    await new Promise((r) => setTimeout(r, 700));
  },
});
