// The one-active-instance lease on a real KV file, two holders in one test process with short
// timings. The real processes (serve twice, SIGKILL, takeover) are in
// tests/e2e/single_instance_test.ts.
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  acquireLease,
  judgeLease,
  LeaseHeldError,
  leaseLockFile,
  type LeaseRecord,
  readLease,
  thisHost,
} from "../../src/storage/mod.ts";

const FAST = { heartbeatMs: 40, silenceMs: 400, pollMs: 10 };

/** The lease record a holder of this host with `pid` wrote just now, its lock file held. */
function liveHolderOnThisHost(pid: number): LeaseRecord {
  return { holder: "x", host: thisHost(), pid, started: 1, heartbeat: Date.now(), locked: true };
}

/**
 * Another process that locks `path` (as a live holder keeps its lock file) and keeps it locked
 * until {@link end} (its exit releases the lock, as a SIGKILL would).
 */
async function lockInOtherProcess(path: string): Promise<{ end(): Promise<void> }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `const f = Deno.openSync(${JSON.stringify(path)}, {read: true, write: true, create: true});
       f.lockSync(true); console.log("locked");
       for await (const _ of Deno.stdin.readable) { /* until closed */ }`,
    ],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  assert.match((await reader.read()).value ?? "", /locked/);
  return {
    async end() {
      await child.stdin.close();
      await reader.cancel();
      await child.status;
    },
  };
}

async function withStore(fn: (kv: Deno.Kv, path: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "lease-test-" });
  const path = join(dir, "webhooks.kv");
  const kv = await Deno.openKv(path);
  try {
    await fn(kv, path);
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a second instance is refused with one sentence naming the live holder", async () => {
  await withStore(async (kv, path) => {
    const first = await acquireLease(kv, { ...FAST, host: "web1", pid: 4242 });
    assert.equal(first.how, "free");
    const watched: LeaseRecord[] = [];
    const err = await acquireLease(kv, {
      ...FAST,
      host: "web2",
      pid: 7,
      storeName: path,
      onWatch: (r) => watched.push(r),
    }).then(() => null, (e) => e);
    assert.ok(err instanceof LeaseHeldError, String(err));
    assert.equal(watched[0]?.pid, 4242);
    assert.equal(err.holder.pid, 4242);
    assert.match(
      err.message,
      new RegExp(
        `^The store ${
          path.replace(/[.]/g, "\\.")
        } is in use by another running instance \\(pid 4242 on host web1, started \\d{4}-\\d\\d-\\d\\dT[^)]+\\): stop that one first, or give this one its own WEBHOOK_STORAGE_PATH\\.$`,
      ),
    );
    // check-config reads it without taking it.
    assert.equal((await readLease(kv))?.host, "web1");
    await first.release();
    assert.equal(await readLease(kv), null, "a clean stop leaves no lease behind");
  });
});

Deno.test("of two instances starting at once on a free store exactly one gets the lease", async () => {
  await withStore(async (kv) => {
    const results = await Promise.allSettled([
      acquireLease(kv, { ...FAST, host: "a", pid: 1 }),
      acquireLease(kv, { ...FAST, host: "b", pid: 2 }),
    ]);
    const won = results.filter((r) => r.status === "fulfilled");
    const lost = results.filter((r) => r.status === "rejected");
    assert.equal(won.length, 1);
    assert.equal(lost.length, 1);
    assert.ok((lost[0] as PromiseRejectedResult).reason instanceof LeaseHeldError);
    await (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof acquireLease>>>).value
      .release();
  });
});

Deno.test("a holder that stopped renewing (killed on another host) is taken over after the silence", async () => {
  await withStore(async (kv) => {
    // What a SIGKILLed holder leaves: a record nobody renews any more.
    const dead: LeaseRecord = {
      holder: "x",
      host: "other-host",
      pid: 99,
      started: 1,
      heartbeat: 1,
    };
    await kv.set(["lease", "serve"], dead);
    const t0 = performance.now();
    const lease = await acquireLease(kv, { ...FAST, host: "me", pid: 1 });
    const waited = performance.now() - t0;
    assert.equal(lease.how, "holder_silent");
    assert.ok(waited >= FAST.silenceMs, `took over after ${waited} ms, before the silence ended`);
    assert.equal((await readLease(kv))?.host, "me");
    await lease.release();
  });
});

Deno.test("a holder on this host whose process is gone is taken over at once", async () => {
  await withStore(async (kv) => {
    // A real pid that is no longer running: a child that has exited.
    const child = new Deno.Command("true").spawn();
    await child.status;
    await kv.set(
      ["lease", "serve"],
      {
        holder: "x",
        host: "this-host",
        pid: child.pid,
        started: 1,
        heartbeat: 1,
      } satisfies LeaseRecord,
    );
    const lease = await acquireLease(kv, { ...FAST, silenceMs: 60_000, host: "this-host" });
    assert.equal(lease.how, "holder_gone");
    await lease.release();
  });
});

Deno.test("a holder whose lease was taken away is told at its next renewal", async () => {
  await withStore(async (kv) => {
    const lost: string[] = [];
    const first = await acquireLease(kv, {
      ...FAST,
      host: "web1",
      pid: 1,
      onLost: (why) => lost.push(why),
    });
    // Another instance took over (as it does after this one froze for longer than the silence).
    await kv.set(
      ["lease", "serve"],
      {
        holder: "y",
        host: "web2",
        pid: 2,
        started: Date.now(),
        heartbeat: Date.now(),
      } satisfies LeaseRecord,
    );
    const why = await first.lost;
    assert.match(why, /^another instance took over the store \(pid 2 on host web2, started /);
    assert.deepEqual(lost, [why]);
    await first.release();
    assert.equal((await readLease(kv))?.host, "web2", "release never deletes another's lease");
  });
});

Deno.test("a standby (wait) takes over as soon as the holder lets go, and not before", async () => {
  await withStore(async (kv) => {
    const first = await acquireLease(kv, { ...FAST, host: "web1", pid: 1 });
    let standbyDone = false;
    const standby = acquireLease(kv, { ...FAST, host: "web2", pid: 2, wait: true }).then((l) => {
      standbyDone = true;
      return l;
    });
    // Several silence periods pass with the holder renewing: the standby keeps waiting.
    const abort = new AbortController();
    const watching: LeaseRecord[] = [];
    await assert.rejects(
      acquireLease(kv, {
        ...FAST,
        host: "web3",
        pid: 3,
        wait: true,
        signal: abort.signal,
        onWatch: (r) => {
          watching.push(r);
          if (watching.length === 3) abort.abort(new Error("enough"));
        },
      }),
      /enough/,
    );
    assert.equal(standbyDone, false);
    await first.release();
    const second = await standby;
    assert.equal(second.how, "free");
    assert.equal((await readLease(kv))?.host, "web2");
    await second.release();
  });
});

// Under the binary's and the start task's permissions Deno refuses to read /proc
// (`isRunning` → null): the holder's lock file is how a crashed holder of this host is told
// from a live one. A real second process holds the lock, as a live `serve` would.
Deno.test("without /proc, a holder's lock file tells a live holder of this host from a dead one", async () => {
  await withStore(async (kv, path) => {
    const lockFile = leaseLockFile(path)!;
    const noProc = () => null;
    const holder = await acquireLease(kv, {
      ...FAST,
      host: thisHost(),
      pid: 4242,
      lockFile,
      isRunning: noProc,
    });
    const record = (await readLease(kv))!;
    assert.equal(record.locked, true);
    assert.equal(judgeLease(record, lockFile).live, true, "its lock is held: alive");
    // The holder is SIGKILLed: the kernel drops its lock; its record stays, unrenewed.
    await holder.release();
    await kv.set(["lease", "serve"], record);
    Deno.writeTextFileSync(lockFile(4242), ""); // what a killed holder leaves behind
    assert.match(judgeLease(record, lockFile).detail, /^left by a stopped instance/);
    const t0 = performance.now();
    const next = await acquireLease(kv, {
      ...FAST,
      silenceMs: 60_000,
      host: thisHost(),
      pid: 7,
      lockFile,
      isRunning: noProc,
    });
    assert.equal(next.how, "holder_gone");
    // Seconds of slack for a loaded machine; the silence it must not wait for is 60 s.
    assert.ok(performance.now() - t0 < 10_000, "at once, not after the silence");
    assert.throws(() => Deno.statSync(lockFile(4242)), Deno.errors.NotFound, "litter removed");
    await next.release();
    assert.throws(() => Deno.statSync(lockFile(7)), Deno.errors.NotFound, "own file removed");
  });
});

Deno.test("a lock held by another live process keeps its holder alive: watched for the silence, not taken at once", async () => {
  await withStore(async (kv, path) => {
    const lockFile = leaseLockFile(path)!;
    // Another process holds pid 4242's lock file until it is ended.
    const holder = await lockInOtherProcess(lockFile(4242));
    const record = liveHolderOnThisHost(4242);
    await kv.set(["lease", "serve"], record);
    assert.equal(judgeLease(record, lockFile).live, true);
    // Its record does not move here (nobody renews it), so a starter watches the silence
    // instead of taking over at once.
    const lease = await acquireLease(kv, {
      ...FAST,
      host: thisHost(),
      pid: 7,
      lockFile,
      isRunning: () => null,
    });
    assert.equal(lease.how, "holder_silent");
    await lease.release();
    await holder.end();
  });
});

Deno.test("a live holder with our own pid on our host name (two containers, both PID 1, one volume) is not taken over: its lock is held", async () => {
  await withStore(async (kv, path) => {
    const lockFile = leaseLockFile(path)!;
    const same = { host: "web", pid: 1, lockFile, isRunning: () => null };
    const first = await acquireLease(kv, { ...FAST, ...same });
    // The second container starts while the first one serves and renews.
    await assert.rejects(
      acquireLease(kv, { ...FAST, ...same }),
      LeaseHeldError,
      "the holder's lock is held: it lives, whatever its pid",
    );
    let lost = false;
    void first.lost.then(() => lost = true);
    await new Promise((r) => setTimeout(r, FAST.heartbeatMs * 3));
    assert.equal(lost, false, "the first instance keeps its lease");
    await first.release();
    // Restarted as PID 1 after it died (its lock released, its record left): taken at once.
    const record = { holder: "x", host: "web", pid: 1, started: 1, heartbeat: 1, locked: true };
    await kv.set(["lease", "serve"], record satisfies LeaseRecord);
    Deno.writeTextFileSync(lockFile(1), "");
    const again = await acquireLease(kv, { ...FAST, ...same, silenceMs: 60_000 });
    assert.equal(again.how, "holder_gone");
    await again.release();
  });
});

Deno.test("a holder told it lost the lease leaves no lock file behind (it exits at once; nobody else would remove it)", async () => {
  await withStore(async (kv, path) => {
    const lockFile = leaseLockFile(path)!;
    const first = await acquireLease(kv, { ...FAST, host: thisHost(), pid: 4242, lockFile });
    assert.ok(Deno.statSync(lockFile(4242)).isFile);
    // Taken over by silence (this one was frozen): the successor never judged it gone, so it
    // removes nothing of it.
    await kv.set(
      ["lease", "serve"],
      {
        holder: "y",
        host: thisHost(),
        pid: 7,
        started: Date.now(),
        heartbeat: Date.now(),
      } satisfies LeaseRecord,
    );
    await first.lost;
    assert.throws(() => Deno.statSync(lockFile(4242)), Deno.errors.NotFound);
    await first.release();
  });
});

Deno.test("a standby on this host takes over as soon as the holder's process dies (its lock released), not after the silence", async () => {
  await withStore(async (kv, path) => {
    const lockFile = leaseLockFile(path)!;
    // The holder: another process that keeps pid 4242's lock file locked until it ends.
    const holder = await lockInOtherProcess(lockFile(4242));
    await kv.set(["lease", "serve"], liveHolderOnThisHost(4242));
    let watching!: () => void;
    const watched = new Promise<void>((r) => watching = r);
    const standby = acquireLease(kv, {
      ...FAST,
      silenceMs: 60_000,
      wait: true,
      host: thisHost(),
      pid: 7,
      lockFile,
      isRunning: () => null,
      onWatch: () => watching(),
    });
    await watched;
    // The holder dies (SIGKILL releases its lock the same way).
    const died = performance.now();
    await holder.end();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const lease = await Promise.race([
      standby,
      new Promise<never>((_, reject) =>
        timer = setTimeout(
          () => reject(new Error("still waiting 5 s after the holder died")),
          5_000,
        )
      ),
    ]).finally(() => clearTimeout(timer));
    assert.equal(lease.how, "holder_gone");
    assert.ok(performance.now() - died < 5_000);
    assert.throws(() => Deno.statSync(lockFile(4242)), Deno.errors.NotFound, "litter removed");
    await lease.release();
  });
});
