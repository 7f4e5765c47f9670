// One active instance per store, with real processes: `src/main.ts serve` twice on one KV file
// (the second exits 1 naming the first), a frozen holder (SIGSTOP) taken over once its
// heartbeat has been silent for the lease's silence period and told to exit when it wakes,
// a SIGKILLed holder replaced at once by a restart on the same host, and a `--standby` that
// serves as soon as the holder stops. Waits on the
// processes' own log lines and exit statuses, never on sleeps. The times measured here are
// recorded in docs/deploy.md ("One instance per store").
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { LEASE_SILENCE_MS } from "../../src/storage/mod.ts";
import { FakeTrueConf } from "../support/fake_trueconf.ts";
import { TEST_BOT } from "../support/bot_with_fake.ts";
import { type LogLine, type ServeProcess, spawnServe } from "../support/serve_process.ts";

const listening = (l: LogLine) => l.msg === "listening";

async function healthz(l: LogLine): Promise<number> {
  const res = await fetch(`http://${l.address}/healthz`);
  await res.body?.cancel();
  return res.status;
}

Deno.test("two serve processes on one store; a frozen holder is replaced and told; SIGKILL and takeover", async () => {
  const dir = await Deno.makeTempDir({ prefix: "single_instance_" });
  const all: ServeProcess[] = [];
  const start = (...args: string[]) => {
    // No TrueConf: holding the store needs none (the client keeps retrying a closed port).
    const s = spawnServe({ dir, args, env: { TRUECONF_TOKEN: "unused" } });
    all.push(s);
    return s;
  };
  try {
    // 1. The first instance serves.
    const a = start();
    const aUp = await a.line(listening, "A listening");
    assert.equal(await healthz(aUp), 200);
    // The holder keeps its lock file (how a restart after its death is recognised at once).
    const lockOf = (s: ServeProcess) => join(dir, `webhooks.kv.lock-${s.pid}`);
    assert.ok(existsSync(lockOf(a)), "the holder's lock file exists");

    // 2. A second one on the same store: exit 1, one sentence naming the holder and what to do.
    const b = start();
    const bStatus = await b.status;
    assert.equal(bStatus.code, 1);
    const refusal = b.lines.find((l) => l.level === "error");
    assert.ok(refusal, JSON.stringify(b.lines));
    assert.match(
      refusal.msg,
      new RegExp(
        `^The store .*webhooks\\.kv is in use by another running instance \\(pid ${a.pid} on host [^,]+, started [^)]+\\): stop that one first, or give this one its own WEBHOOK_STORAGE_PATH\\.$`,
      ),
    );
    assert.ok(!b.lines.some(listening), "the refused instance never listened");
    assert.ok(!existsSync(lockOf(b)), "the refused instance left no lock file");

    // 3. The holder freezes (SIGSTOP: its pid is alive, its heartbeat stops). A new instance
    //    takes over once the record has been still for the silence period.
    a.kill("SIGSTOP");
    const frozenAt = performance.now();
    const c = start();
    const cUp = await c.line(listening, "C listening");
    const silentTakeoverMs = performance.now() - frozenAt;
    assert.equal(cUp.lease, "holder_silent");
    assert.ok(silentTakeoverMs >= LEASE_SILENCE_MS, `${silentTakeoverMs} ms`);
    assert.ok(silentTakeoverMs < 15_000, `took ${silentTakeoverMs} ms`);
    assert.equal(await healthz(cUp), 200);
    // The old holder wakes up, finds its lease gone at the next renewal and exits 1 at once.
    a.kill("SIGCONT");
    assert.equal((await a.status).code, 1);
    assert.ok(
      a.lines.some((l) =>
        l.level === "error" && /^stopping at once: another instance took over/.test(l.msg)
      ),
      JSON.stringify(a.lines.slice(-3)),
    );

    // 4. SIGKILL of the holder; the supervisor restarts it on the same host: the dead pid is
    //    recognised and the new instance serves at once.
    c.kill("SIGKILL");
    const killedAt = performance.now();
    await c.status;
    const d = start();
    const dUp = await d.line(listening, "D listening");
    const killTakeoverMs = performance.now() - killedAt;
    assert.equal(dUp.lease, "holder_gone");
    assert.ok(killTakeoverMs < 15_000, `took ${killTakeoverMs} ms`);
    assert.equal(await healthz(dUp), 200);
    assert.ok(!existsSync(lockOf(c)), "the dead holder's lock file was cleaned up");
    console.log(
      `takeover: frozen holder ${Math.round(silentTakeoverMs)} ms, SIGKILLed holder ${
        Math.round(killTakeoverMs)
      } ms (process start included)`,
    );

    // 5. A standby waits (without listening) while the holder lives, and serves as soon as it
    //    stops; a clean stop deletes the lease, so the standby takes it without the silence.
    const e = start("--standby");
    await e.line((l) => l.msg.startsWith("standby: another instance holds the store"), "E waiting");
    d.kill("SIGTERM");
    assert.equal((await d.status).code, 0);
    assert.ok(!existsSync(lockOf(d)), "a clean stop removes its lock file");
    const eUp = await e.line(listening, "E listening");
    assert.equal(eUp.lease, "free");
    assert.equal(await healthz(eUp), 200);
    e.kill("SIGTERM");
    assert.equal((await e.status).code, 0);
    // No litter: the frozen A removed its own when told it lost the store, the SIGKILLed C's
    // was removed by D, the others by their clean stops.
    const left = [...Deno.readDirSync(dir)].map((f) => f.name).filter((n) => n.includes(".lock-"));
    assert.deepEqual(left, []);
  } finally {
    for (const s of all) await s[Symbol.asyncDispose]();
    await Deno.remove(dir, { recursive: true });
  }
});

// A second `serve` that cannot serve (the store's lease held, or its port busy) used to ask
// TrueConf for a token, with the serving bot's login, before it found out and exited; on a
// busy port it built everything first. A second login with the same credentials may disturb
// the serving bot's session, so a refused instance now sends TrueConf nothing at all.
Deno.test("a second serve refused (store held, port busy) exits 1 having sent TrueConf nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "single_instance_quiet_" });
  const other = await Deno.makeTempDir({ prefix: "single_instance_quiet_other_" });
  const fake = await FakeTrueConf.start({ bot: TEST_BOT });
  try {
    await using a = spawnServe({ dir, fake });
    const { port } = await a.listening();
    await a.ready();
    /** Everything the fake received so far: token requests, HTTP requests, sockets, auths. */
    const seen = () => ({
      tokenRequests: fake.oauthRequests.length,
      httpRequests: fake.httpPaths.length,
      sockets: fake.handshakes.length,
      auths: fake.requests.filter((r) => r.method === "auth").length,
    });
    const before = seen();
    assert.deepEqual(
      [before.tokenRequests > 0, before.sockets > 0, before.auths > 0],
      [true, true, true],
      `the fake counts what the serving bot sent: ${JSON.stringify(before)}`,
    );

    // The same store (and port 0: the lease is what refuses it).
    await using b = spawnServe({ dir, fake });
    assert.equal((await b.status).code, 1, b.text());
    const held = b.lines.find((l) => l.level === "error");
    assert.match(held?.msg ?? "", /^The store .* is in use by another running instance/, b.text());

    // A store of its own on the serving bot's port.
    await using c = spawnServe({ dir: other, fake, env: { WEBHOOK_HTTP_PORT: String(port) } });
    assert.equal((await c.status).code, 1, c.text());
    const busy = c.lines.find((l) => l.level === "error");
    assert.match(
      busy?.msg ?? "",
      new RegExp(`^127\\.0\\.0\\.1:${port} is in use by another program`),
    );

    // The serving bot's own traffic (pings, …) goes on: only what a refused one would send
    // (a token request, a socket, an auth, any HTTP request) is counted.
    assert.deepEqual(seen(), before, `${b.text()}\n${c.text()}`);
    assert.equal(await healthz((await a.listening()).line), 200, "the serving bot still serves");
  } finally {
    await fake.close();
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(other, { recursive: true });
  }
});
