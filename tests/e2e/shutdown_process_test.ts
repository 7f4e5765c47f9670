// SIGTERM always finishes (issue 18.1): the real `src/main.ts serve` process, connected to the
// fake TrueConf server, with clients that never finish their requests. The process must exit
// 0 within WEBHOOK_SHUTDOWN_GRACE_SECONDS; a hook request whose body was still arriving is
// answered 503 (never acknowledged, so nothing is lost).
import assert from "node:assert/strict";
import { join } from "node:path";
import { FakeTrueConf } from "../support/fake_trueconf.ts";
import { hooksBeforeStart, spawnServe } from "../support/serve_process.ts";
import { TEST_BOT } from "../support/bot_with_fake.ts";
import { RawHttp } from "../support/raw_http.ts";
import { waitUntil } from "../support/wait.ts";
import { openKv } from "../../src/storage/mod.ts";
import { HookStore } from "../../src/hooks/mod.ts";

const BOT = TEST_BOT; // the login spawnServe gives the bot
// Short for a quick suite, not so short that a saturated machine's process exit (0.2 s at load
// 9, after the bot's own 'stopped' at +1.8 s of 2) decides the test: the contract is measured
// from the signal to the exit as a supervisor sees it.
const GRACE_SECONDS = 3;

/** A hook of chat "ops" in a fresh store at `<dir>/webhooks.kv`, made before the bot starts. */
async function hookBeforeStart(dir: string, fake: FakeTrueConf): Promise<string> {
  const [made] = await hooksBeforeStart(dir, "ops", fake.userId("alice"), "a");
  return made!.token;
}

/**
 * The bot's exit status, and how many seconds after `signalled` it came. A deadline, not a
 * synchronisation: it only bounds a process that never exits (the bug these tests guard).
 */
async function exitAfter(
  bot: ReturnType<typeof spawnServe>,
  signalled: number,
  deadlineSeconds: number,
): Promise<{ code: number; seconds: number }> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const status = await Promise.race([
    bot.status,
    new Promise<never>((_, reject) =>
      timer = setTimeout(
        () => reject(new Error(`still running ${deadlineSeconds} s after SIGTERM:\n${bot.text()}`)),
        deadlineSeconds * 1000,
      )
    ),
  ]).finally(() => clearTimeout(timer));
  return { code: status.code, seconds: (performance.now() - signalled) / 1000 };
}

/**
 * SIGTERM while `answer` (a hook request) is in flight: its answer and JSON body, after the
 * process exited 0 within the grace period.
 */
async function sigtermDuring(
  bot: ReturnType<typeof spawnServe>,
  answer: Promise<Response>,
  graceSeconds = GRACE_SECONDS,
): Promise<{ res: Response; body: Record<string, unknown> }> {
  const signalled = performance.now();
  bot.kill("SIGTERM");
  const res = await answer;
  const body = await res.json();
  const { code, seconds } = await exitAfter(bot, signalled, 20);
  assert.equal(code, 0, bot.text());
  assert.ok(
    seconds < graceSeconds,
    `exited ${seconds.toFixed(1)} s after SIGTERM (grace ${graceSeconds} s):\n${bot.text()}`,
  );
  return { res, body };
}

/** A fresh folder, the fake TrueConf with chat "ops", and a hook of it made before the start. */
async function fakeAndHook(prefix: string) {
  const dir = await Deno.makeTempDir({ prefix });
  const fake = await FakeTrueConf.start({ bot: BOT, users: [{ login: "alice", password: "a" }] });
  fake.addChat({ chatId: "ops", title: "Ops", chatType: 2, participants: [] });
  return { dir, fake, token: await hookBeforeStart(dir, fake) };
}

/**
 * `serve` (grace `graceSeconds`) on a fresh store with a hook of chat "ops", ready; `restart()`
 * starts it again on the same store (after the first has exited). Both are disposed of after.
 */
async function withRestart(
  prefix: string,
  fn: (w: {
    fake: FakeTrueConf;
    token: string;
    url: string;
    bot: ReturnType<typeof spawnServe>;
    restart: () => ReturnType<typeof spawnServe>;
  }) => Promise<void>,
  graceSeconds = GRACE_SECONDS,
): Promise<void> {
  const { dir, fake, token } = await fakeAndHook(prefix);
  const env = { WEBHOOK_SHUTDOWN_GRACE_SECONDS: String(graceSeconds) };
  const bot = spawnServe({ dir, fake, env });
  let again: ReturnType<typeof spawnServe> | undefined;
  try {
    const { url } = await bot.listening();
    await bot.ready();
    await fn({ fake, token, url, bot, restart: () => again = spawnServe({ dir, fake, env }) });
  } finally {
    await bot[Symbol.asyncDispose]();
    await again?.[Symbol.asyncDispose]();
    await fake.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * `serve` (grace GRACE_SECONDS) with a hook and one delivery in flight: TrueConf took its
 * sendMessage and never answers. `inFlight` is that request's answer (or its error).
 */
async function withDeliveryInFlight(
  prefix: string,
  fn: (w: {
    dir: string;
    url: string;
    token: string;
    bot: ReturnType<typeof spawnServe>;
    inFlight: Promise<Response | Error>;
  }) => Promise<void>,
): Promise<void> {
  const { dir, fake, token } = await fakeAndHook(prefix);
  const bot = spawnServe({
    dir,
    fake,
    env: { WEBHOOK_SHUTDOWN_GRACE_SECONDS: String(GRACE_SECONDS) },
  });
  try {
    const { url } = await bot.listening();
    await bot.ready();
    fake.setMethodDelay("sendMessage", "never");
    const inFlight = fetch(`${url}/hook/${token}`, { method: "POST", body: "text=hi" })
      .catch((e: Error) => e);
    await fake.waitFor(() => fake.requests.some((r) => r.method === "sendMessage"), 5_000);
    await fn({ dir, url, token, bot, inFlight });
  } finally {
    await bot[Symbol.asyncDispose]();
    await fake.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("SIGTERM with clients stuck mid-request: exit 0 within the grace period", async () => {
  const { dir, fake, token } = await fakeAndHook("shutdown_e2e_");

  const bot = spawnServe({
    dir,
    fake,
    env: { WEBHOOK_SHUTDOWN_GRACE_SECONDS: String(GRACE_SECONDS), LOG_LEVEL: "debug" },
  });
  const clients: RawHttp[] = [];
  try {
    // Ready = listening and authorized at TrueConf (the "ready" line).
    const { port } = await bot.listening();
    await bot.ready();

    // The case: a body promised to /healthz and never sent.
    const healthz = await RawHttp.connect(port);
    clients.push(healthz);
    await healthz.write('GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"te');
    const early = await healthz.response();
    assert.equal(early?.status, 200);
    // A hook request whose body is still arriving when the signal comes.
    const hook = await RawHttp.connect(port);
    clients.push(hook);
    await hook.write(
      `POST /hook/${token} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n`,
    );
    // The server asks for the body when the app starts reading it: now it is mid-body.
    assert.equal(await hook.interim(), 100);
    await hook.write('{"text":"nev');
    // Headers never finished; and a connection that says nothing at all.
    const half = await RawHttp.connect(port);
    clients.push(half);
    await half.write("POST /hook/x HTTP/1.1\r\nHost: x\r\n");
    clients.push(await RawHttp.connect(port));

    const signalled = performance.now();
    bot.kill("SIGTERM");
    const cut = await hook.response();
    assert.equal(cut?.status, 503, cut?.body ?? `no answer:\n${bot.text()}`);
    assert.equal(JSON.parse(cut!.body).error, "shutting_down");

    const { code, seconds } = await exitAfter(bot, signalled, GRACE_SECONDS + 8);
    assert.equal(code, 0, bot.text());
    assert.ok(
      seconds < GRACE_SECONDS,
      `exited ${seconds.toFixed(1)} s after SIGTERM (grace ${GRACE_SECONDS} s)`,
    );
    assert.ok(bot.lines.some((l) => l.msg === "stopped"), bot.text());
    assert.ok(!bot.lines.some((l) => l.level === "error"), bot.text());
    assert.equal(fake.messagesIn("ops").length, 0, "the unfinished request posted nothing");
  } finally {
    for (const c of clients) c.close();
    await bot[Symbol.asyncDispose]();
    await fake.close();
    await Deno.remove(dir, { recursive: true });
  }
});

// The connection limits reach the real process through their settings (issue 18.2): a
// half-sent request head gets 408 and is closed, an idle kept-alive connection is closed.
Deno.test("serve: WEBHOOK_HTTP_HEADERS_TIMEOUT_SECONDS and WEBHOOK_HTTP_IDLE_TIMEOUT_SECONDS close slow and idle connections", async () => {
  const dir = await Deno.makeTempDir({ prefix: "conn_limits_e2e_" });
  const fake = await FakeTrueConf.start({ bot: BOT, users: [{ login: "alice", password: "a" }] });
  const bot = spawnServe({
    dir,
    fake,
    env: {
      WEBHOOK_HTTP_HEADERS_TIMEOUT_SECONDS: "1",
      WEBHOOK_HTTP_IDLE_TIMEOUT_SECONDS: "1",
      LOG_LEVEL: "debug",
    },
  });
  const clients: RawHttp[] = [];
  try {
    const { port } = await bot.listening();
    const half = await RawHttp.connect(port);
    const idle = await RawHttp.connect(port);
    clients.push(half, idle);
    const started = performance.now();
    await half.write("POST /hook/x HTTP/1.1\r\nHost: x\r\n");
    await idle.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.equal((await idle.response())?.status, 200);

    const cut = await half.response();
    assert.equal(cut?.status, 408, bot.text());
    assert.equal(JSON.parse(cut!.body).error, "request_timeout");
    assert.ok(await half.closedByServer());
    assert.ok(await idle.closedByServer());
    // Deadlines, not synchronisation: 1 s each (+1 s check/slack), far below "never".
    const seconds = (performance.now() - started) / 1000;
    assert.ok(seconds < 6, `closed after ${seconds.toFixed(1)} s`);
    await bot.line((l) => l.msg === "client error" && l.code === "request_timeout", "debug line");
    assert.ok(!bot.lines.some((l) => l.level === "error"), bot.text());
  } finally {
    for (const c of clients) c.close();
    await bot[Symbol.asyncDispose]();
    await fake.close();
    await Deno.remove(dir, { recursive: true });
  }
});

// Ctrl+C in a terminal running `./deno task -q start`: the terminal sends SIGINT to the whole
// process group and `deno task` forwards its own copy to the bot, so the bot gets a second SIGINT
// a few milliseconds after the first. That is one Ctrl+C: the shutdown stays graceful (exit 0,
// the request in flight answered, the lease released so the next start need not wait), where it
// was "second signal, exiting at once" with exit 1.
Deno.test("serve: one Ctrl+C delivered twice (terminal + deno task) still shuts down gracefully", async () => {
  // A delivery TrueConf never answers keeps the shutdown busy while the second signal comes.
  await withDeliveryInFlight("ctrl_c_e2e_", async ({ dir, bot, inFlight }) => {
    bot.kill("SIGINT");
    await bot.line((l) => l.msg === "shutting down", "shutting down");
    bot.kill("SIGINT"); // deno task's copy
    const status = await bot.status;
    assert.equal(status.code, 0, bot.text());
    assert.ok(bot.lines.some((l) => l.msg === "stopped"), bot.text());
    const answer = await inFlight;
    assert.ok(answer instanceof Response, `no answer: ${answer}`);
    assert.equal(answer.status, 202, await answer.text());
    const after = await openKv(join(dir, "webhooks.kv"));
    try {
      assert.equal((await after.get(["lease", "serve"])).value, null, "the lease was released");
    } finally {
      after.close();
    }
  });
});

// SIGTERM while a delivery waits on an attachment host that accepts and never answers (its
// download has a 12 s budget, longer than the grace): the process still exits 0 within the
// grace period, and the file stays queued (not failed) for the next start, which posts it.
Deno.test("SIGTERM while an attachment download hangs: exit 0 within the grace period; the file follows after the restart, the text once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "shutdown_hang_" });
  const fake = await FakeTrueConf.start({ bot: BOT, users: [{ login: "alice", password: "a" }] });
  fake.addChat({ chatId: "ops", title: "Ops", chatType: 2, participants: [] });
  // An attachment host that takes connections and never says a word, until it recovers.
  const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const downloadStarted = Promise.withResolvers<void>();
  let recovered = false;
  const report = new TextEncoder().encode(
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\nConnection: close\r\n\r\nreport",
  );
  const accepting = (async () => {
    try {
      for await (const c of silent) {
        if (!recovered) {
          held.push(c);
          downloadStarted.resolve();
        } else {
          await c.read(new Uint8Array(4096)).catch(() => null);
          await c.write(report).catch(() => 0);
          c.close();
        }
      }
    } catch { /* closed */ }
  })();
  const token = await hookBeforeStart(dir, fake);
  const env = {
    WEBHOOK_SHUTDOWN_GRACE_SECONDS: String(GRACE_SECONDS),
    WEBHOOK_URL_ALLOWLIST: "127.0.0.1",
  };
  const bot = spawnServe({ dir, fake, env });
  let again: ReturnType<typeof spawnServe> | undefined;
  try {
    const { url } = await bot.listening();
    await bot.ready();
    const port = (silent.addr as Deno.NetAddr).port;
    const answer = fetch(`${url}/hook/${token}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        text: "with a report",
        files: [{ url: `http://127.0.0.1:${port}/report.txt`, filename: "report.txt" }],
      }),
    });
    // The download has started (the host holds its connection): now the signal.
    await downloadStarted.promise;
    const { res, body } = await sigtermDuring(bot, answer);
    assert.equal(res.status, 202, JSON.stringify(body));
    assert.equal(body.queued, true, JSON.stringify(body));
    // The file was cut by the shutdown, not failed: the next start posts it.
    recovered = true;
    again = spawnServe({ dir, fake, env });
    await again.ready();
    await fake.waitFor(() => fake.messagesIn("ops").some((m) => m.kind === "document"), 15_000);
    const posted = fake.messagesIn("ops");
    assert.equal(posted.filter((m) => m.kind === "document").length, 1, JSON.stringify(posted));
    assert.equal(
      posted.filter((m) => (m.text ?? m.caption?.text ?? "").includes("with a report")).length,
      1,
      JSON.stringify(posted),
    );
  } finally {
    await bot[Symbol.asyncDispose]();
    await again?.[Symbol.asyncDispose]();
    silent.close();
    for (const c of held) c.close();
    await accepting;
    await fake.close();
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * The grace of the tests whose run the grace cuts and whose closing must fit the rest of the
 * reserve (half of the grace, at most 1 s; half of it is the cut's wait, half is for
 * closing): 4 s gives the reserve of the default grace (10 s), 1 s, so 500 ms for closing.
 * Before session 15 the reserve was a quarter of the grace, so at 3 s that half was 375 ms,
 * which a saturated machine missed (see each test); 3 s now keeps 500 ms too.
 */
const CUT_GRACE_SECONDS = 4;

// SIGTERM while the queue's worker waits on TrueConf, which took the request and went silent
// (TrueConf going away under a backlog): the process exits 0 within the grace period, and
// after the restart every queued message arrives once.
// That run waits out the cut's whole wait, so its closing has only the other half of the
// reserve: the unclean-stop mark (a KV commit), the socket, the store's last writes and the
// process exit. At grace 3 s (375 ms) the exit came at 3.0-3.4 s after SIGTERM in 4 of ~25
// runs at load 7-15 (the cut's 375 ms wait ending 70-180 ms late, the mark's commit and the
// stop another 90-290 ms); hence CUT_GRACE_SECONDS.
Deno.test("SIGTERM while a queued delivery waits on a silent TrueConf: exit 0 within the grace period; all delivered once after restart", async () => {
  await withRestart("shutdown_silent_", async ({ fake, token, url, bot, restart }) => {
    // TrueConf goes away: three messages are queued.
    await fake.refuseConnections(true);
    for (const text of ["m1", "m2", "m3"]) {
      const res: Response = await fetch(`${url}/hook/${token}`, {
        method: "POST",
        body: text,
      });
      assert.equal(res.status, 202, await res.text());
    }
    // It comes back, takes the worker's first sendMessage and never answers it.
    fake.setMethodDelay("sendMessage", "never");
    await fake.refuseConnections(false);
    await fake.waitFor(() => fake.requests.some((r) => r.method === "sendMessage"), 15_000);
    const signalled = performance.now();
    bot.kill("SIGTERM");
    const { code, seconds } = await exitAfter(bot, signalled, 20);
    assert.equal(code, 0, bot.text());
    assert.ok(
      seconds < CUT_GRACE_SECONDS,
      `exited ${seconds.toFixed(1)} s after SIGTERM (grace ${CUT_GRACE_SECONDS} s):\n${bot.text()}`,
    );
    // Nothing went wrong that an operator must act on: the cut run stays queued.
    assert.ok(!bot.lines.some((l) => l.level === "error"), bot.text());
    // The swallowed request was never posted: the next start delivers all three, once, in order.
    fake.setMethodDelay("sendMessage", 0);
    restart();
    await fake.waitFor(() => fake.messagesIn("ops").length >= 3, 15_000);
    assert.deepEqual(fake.messagesIn("ops").map((m) => m.text), ["m1", "m2", "m3"]);
  }, CUT_GRACE_SECONDS);
});

Deno.test("SIGTERM with a delivery in flight: a request sent after the signal, on a new connection, is answered 503 shutting_down, not refused; the one in flight is kept", async () => {
  await withDeliveryInFlight("shutdown_late_", async ({ url, token, bot, inFlight }) => {
    bot.kill("SIGTERM");
    await bot.line((l) => l.msg === "shutting down", "shutting down");
    // A sender arriving now (a fresh connection: no pooled one to reuse).
    using fresh = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
    const late = await fetch(`${url}/hook/${token}`, {
      method: "POST",
      body: "after the signal",
      client: fresh,
    });
    assert.equal(late.status, 503);
    assert.equal(late.headers.get("retry-after"), "5");
    assert.equal(late.headers.get("connection"), "close");
    assert.equal((await late.json()).error, "shutting_down");
    // The request in flight at the signal is kept for the next start: 202.
    const kept = await inFlight;
    assert.ok(kept instanceof Response, `no answer: ${kept}`);
    assert.equal(kept.status, 202);
    assert.equal((await kept.json()).queued, true);
    assert.equal((await bot.status).code, 0, bot.text());
  });
});

// SIGTERM while TrueConf holds the upload of a request's file: the grace runs out, the inline
// run is cut and stores what is left (the text and both files) as a queued delivery. That store
// (megabytes of spooled files) was still being written when the queue closed and the store was
// closed under it: "could not store a job: BadResource" at error level and 503
// storage_unavailable, for a message the sender had been told nothing about.
// The cut run stores its two 3 MiB files in the queue within the last half of the reserve
// (then a quarter of the grace, at most 1 s): at 2 s that was 250 ms, which a saturated machine
// missed (KV closed under the spool: 503 and an exit at 2.1 s, once in ~12 runs at load 9).
// The default grace (10 s) gives 500 ms; this test gives CUT_GRACE_SECONDS, i.e. the same 500 ms.
// Its files are 1 MiB each (18 spool chunks, two atomics): at 3 MiB the store took 650 ms at
// load 12 and the test failed 2 of 11 loaded suite runs (503, as docs/delivery.md says a
// saturated machine may answer); the store being waited for at all is what it checks, not how
// much fits.

Deno.test("SIGTERM while TrueConf holds an upload: the request is answered 202 and its files are posted after the restart, once", async () => {
  await withRestart("shutdown_upload_", async ({ fake, token, url, bot, restart }) => {
    fake.setMethodDelay("upload", "never");
    const form = new FormData();
    form.append("text", "the nightly report, in two files");
    const file = new Uint8Array(1024 * 1024).fill(7);
    form.append("file", new File([file], "a.bin"));
    form.append("file", new File([file], "b.bin"));
    const answer = fetch(`${url}/hook/${token}`, { method: "POST", body: form });
    await fake.waitFor(() => fake.uploadFraming.length > 0, 10_000);
    const { res, body } = await sigtermDuring(bot, answer, CUT_GRACE_SECONDS);
    assert.equal(res.status, 202, `${JSON.stringify(body)}\n${bot.text()}`);
    assert.ok(!bot.lines.some((l) => l.level === "error"), bot.text());

    fake.setMethodDelay("upload", 0);
    await restart().ready();
    const documents = () => fake.messagesIn("ops").filter((m) => m.kind === "document");
    await fake.waitFor(() => documents().length === 2, 15_000);
    const texts = fake.messagesIn("ops").filter((m) =>
      (m.text ?? m.caption?.text ?? "").includes("the nightly report")
    );
    assert.equal(texts.length, 1, JSON.stringify(fake.messagesIn("ops")));
  }, CUT_GRACE_SECONDS);
});

// Issue 5: "A second signal exits at once without corrupting storage." The operator who sends
// it (a shutdown taking its whole grace, a second `systemctl kill`) means now: the process is
// gone at once, well before its grace, and the store opens and delivers what was accepted.
Deno.test("a second SIGTERM a second after the first exits 1 at once; the store opens and the accepted message follows after the restart, once", async () => {
  const { dir, fake, token } = await fakeAndHook("second_signal_e2e_");
  // A grace far longer than the test: only the second signal can end this shutdown early.
  const env = { WEBHOOK_SHUTDOWN_GRACE_SECONDS: "60" };
  await fake.refuseConnections(true);
  const bot = spawnServe({ dir, fake, env });
  let again: ReturnType<typeof spawnServe> | undefined;
  try {
    const { url } = await bot.listening();
    // Accepted while TrueConf is away; when it is back, it takes the send and never answers,
    // so the shutdown has a delivery in flight for as long as its grace.
    const queued = await fetch(`${url}/hook/${token}`, {
      method: "POST",
      body: new URLSearchParams({ text: "accepted" }),
    });
    assert.equal(queued.status, 202, await queued.text());
    fake.setMethodDelay("sendMessage", "never");
    await fake.refuseConnections(false);
    await fake.waitFor(() => fake.requests.some((r) => r.method === "sendMessage"), 30_000);
    bot.kill("SIGTERM");
    await bot.line((l) => l.msg === "shutting down", "shutting down");
    // Not a synchronisation: the product treats a repeat within 1 s as the same Ctrl+C (see
    // "one Ctrl+C delivered twice"); this signal must come after that window.
    await new Promise((r) => setTimeout(r, 1_200));
    const signalled = performance.now();
    bot.kill("SIGTERM");
    const { code, seconds } = await exitAfter(bot, signalled, 20);
    assert.equal(code, 1, bot.text());
    assert.ok(seconds < 5, `exited ${seconds.toFixed(1)} s after the second signal`);
    assert.ok(bot.lines.some((l) => l.msg === "second signal, exiting at once"), bot.text());

    fake.setMethodDelay("sendMessage", 0);
    again = spawnServe({ dir, fake, env });
    const restarted = await again.listening();
    await again.ready();
    await fake.waitFor(() => fake.messagesIn("ops").some((m) => m.text === "accepted"), 30_000);
    // Its queue empty, the bot posts nothing more: a duplicate would be in the chat by now.
    await waitUntil(
      async () => (await (await fetch(`${restarted.url}/readyz`)).json()).queue.depth === 0,
      30_000,
      "queue drained",
    );
    assert.equal(fake.messagesIn("ops").filter((m) => m.text === "accepted").length, 1);
    again.kill("SIGTERM");
    assert.equal((await again.status).code, 0, again.text());
  } finally {
    await bot[Symbol.asyncDispose]();
    await again?.[Symbol.asyncDispose]();
    await fake.close();
    await Deno.remove(dir, { recursive: true });
  }
});

// Issues 3 and 5: usage counters (last used, deliveries) are coalesced in memory and written
// every few seconds (usageFlushIntervalMs, 5 s), and "flushed on shutdown". Only the store's own
// close was tested: a serve that exits 0 without that flush lost the last seconds' counts, and
// /webhook_list and `hooks list` showed fewer deliveries than the chat got.
Deno.test("SIGTERM right after deliveries: exit 0 with their usage (count, last used) in the store", async () => {
  const dir = await Deno.makeTempDir({ prefix: "shutdown_usage_" });
  const fake = await FakeTrueConf.start({ bot: BOT, users: [{ login: "alice", password: "a" }] });
  fake.addChat({ chatId: "ops", title: "Ops", chatType: 2, participants: [] });
  const [made] = await hooksBeforeStart(dir, "ops", fake.userId("alice"), "a");
  const bot = spawnServe({ dir, fake });
  try {
    const { url } = await bot.listening();
    await bot.ready();
    for (const text of ["one", "two", "three"]) {
      const res = await fetch(`${url}/hook/${made!.token}`, { method: "POST", body: text });
      assert.equal(res.status, 200, await res.text());
    }
    bot.kill("SIGTERM");
    assert.equal((await bot.status).code, 0, bot.text());
    using kv = await openKv(join(dir, "webhooks.kv"));
    const store = new HookStore(kv);
    const hook = await store.get(made!.id);
    await store.close();
    assert.equal(hook?.deliveryCount, 3, bot.text());
    assert.ok(hook?.lastUsedAt, "last used is recorded");
  } finally {
    await bot[Symbol.asyncDispose]();
    await fake.close();
    await Deno.remove(dir, { recursive: true });
  }
});
