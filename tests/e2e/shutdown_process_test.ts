// SIGTERM always finishes (issue 18.1): the real `src/main.ts serve` process, connected to the
// fake TrueConf server, with clients that never finish their requests. The process must exit
// 0 within WEBHOOK_SHUTDOWN_GRACE_SECONDS; a hook request whose body was still arriving is
// answered 503 (never acknowledged, so nothing is lost).
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FakeTrueConf } from "../support/fake_trueconf.ts";
import { RawHttp } from "../support/raw_http.ts";
import { HookStore } from "../../src/hooks/mod.ts";
import { openKv } from "../../src/storage/mod.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const BOT = { login: "webhook_bot", password: "s3cret" };
const GRACE_SECONDS = 2;

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function collect(stream: ReadableStream<Uint8Array>, into: string[]): Promise<void> {
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    into.push(...text.split("\n").filter(Boolean));
  }
}

Deno.test("SIGTERM with clients stuck mid-request: exit 0 within the grace period", async () => {
  const dir = await Deno.makeTempDir({ prefix: "shutdown_e2e_" });
  const fake = await FakeTrueConf.start({ bot: BOT, users: [{ login: "alice", password: "a" }] });
  fake.addChat({ chatId: "ops", title: "Ops", chatType: 2, participants: [] });
  const kvPath = join(dir, "webhooks.kv");
  const kv = await openKv(kvPath);
  const store = new HookStore(kv);
  const made = await store.create({ chatId: "ops", name: "a", createdBy: fake.userId("alice") });
  await store.close();
  kv.close();
  assert.ok(made.ok);
  const token = made.token;

  const port = freePort();
  const logs: string[] = [];
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", join(ROOT, "deno.json"), join(ROOT, "src/main.ts"), "serve"],
    cwd: dir,
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "",
      HOME: Deno.env.get("HOME") ?? dir,
      DENO_DIR: Deno.env.get("DENO_DIR") ?? "",
      DENO_NO_UPDATE_CHECK: "1",
      TRUECONF_SERVER: "127.0.0.1",
      TRUECONF_HTTPS: "false",
      TRUECONF_WEB_PORT: String(fake.port),
      TRUECONF_USERNAME: BOT.login,
      TRUECONF_PASSWORD: BOT.password,
      WEBHOOK_PUBLIC_URL: `http://127.0.0.1:${port}`,
      WEBHOOK_HTTP_HOST: "127.0.0.1",
      WEBHOOK_HTTP_PORT: String(port),
      WEBHOOK_STORAGE_PATH: kvPath,
      WEBHOOK_SHUTDOWN_GRACE_SECONDS: String(GRACE_SECONDS),
      LOG_LEVEL: "debug",
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = Promise.all([collect(child.stdout, logs), collect(child.stderr, logs)]);
  const clients: RawHttp[] = [];
  try {
    // Ready = listening and authorized at TrueConf (the "ready" line).
    const end = Date.now() + 30_000;
    while (!logs.some((l) => l.includes('"msg":"ready"'))) {
      if (Date.now() > end) throw new Error(`bot did not start:\n${logs.join("\n")}`);
      await new Promise((r) => setTimeout(r, 20));
    }

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
    child.kill("SIGTERM");
    const cut = await hook.response();
    assert.equal(cut?.status, 503, cut?.body ?? `no answer:\n${logs.join("\n")}`);
    assert.equal(JSON.parse(cut!.body).error, "shutting_down");

    // A deadline, not a synchronisation: before the fix the process never exited.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const status = await Promise.race([
      child.status,
      new Promise<never>((_, reject) =>
        timer = setTimeout(
          () => reject(new Error(`still running 10 s after SIGTERM:\n${logs.join("\n")}`)),
          (GRACE_SECONDS + 8) * 1000,
        )
      ),
    ]).finally(() => clearTimeout(timer));
    const seconds = (performance.now() - signalled) / 1000;
    assert.equal(status.code, 0, logs.join("\n"));
    assert.ok(
      seconds < GRACE_SECONDS + 2,
      `exited ${seconds.toFixed(1)} s after SIGTERM (grace ${GRACE_SECONDS} s)`,
    );
    assert.ok(logs.some((l) => l.includes('"msg":"stopped"')), logs.join("\n"));
    assert.ok(!logs.some((l) => l.includes('"level":"error"')), logs.join("\n"));
    assert.equal(fake.messagesIn("ops").length, 0, "the unfinished request posted nothing");
  } finally {
    for (const c of clients) c.close();
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await child.status;
    await output;
    await fake.close();
    await Deno.remove(dir, { recursive: true });
  }
});
