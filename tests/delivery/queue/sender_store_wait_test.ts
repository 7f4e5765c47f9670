// A sender's first write (an Idempotency-Key's claim, a message key's reservation) against the
// bound of src/delivery/queue/sender_store_wait.ts. The whole bot beside a locked store is in
// tests/e2e/busy_store_serve_commit_test.ts. These tests cover the write that commits AFTER the
// sender was answered 503: a try that was already waiting SQLite's busy timeout when the bound
// passed. A real lock cannot start such a try on cue, so the write here is a promise the test
// settles by hand, on a manual clock.
import assert from "node:assert/strict";
import { ManualClock } from "./_manual_clock.ts";
import {
  SENDER_STORE_WAIT_MS,
  TOO_SLOW,
  withinSenderWait,
} from "../../../src/delivery/queue/mod.ts";
import { OutboxRepo } from "../../../src/storage/mod.ts";

Deno.test("a sender's first write still waiting at 2 s is answered as too slow, tries no more, and a late commit is handed back to be taken back", async () => {
  const clock = new ManualClock();
  const write = Promise.withResolvers<string>();
  let signal: AbortSignal | undefined;
  const late: string[] = [];
  const answer = withinSenderWait(clock, (s) => {
    signal = s;
    return write.promise;
  }, (v) => late.push(v));
  clock.advance(SENDER_STORE_WAIT_MS - 1);
  assert.equal(signal!.aborted, false);
  clock.advance(1);
  assert.equal(await answer, TOO_SLOW);
  assert.equal(signal!.aborted, true, "its retries are told to stop");
  write.resolve("v1");
  await write.promise;
  await Promise.resolve();
  assert.deepEqual(late, ["v1"]);
});

Deno.test("a sender's first write that commits within 2 s answers as usual, and a late refusal is nobody's error", async () => {
  const clock = new ManualClock();
  const late: number[] = [];
  const now = withinSenderWait(clock, () => Promise.resolve(7), (v) => late.push(v));
  assert.equal(await now, 7);
  clock.advance(SENDER_STORE_WAIT_MS);
  assert.deepEqual(late, []);
  assert.equal(clock.pending, 0, "the bound's timer is gone");
  // Refused after the answer: it wrote nothing; no unhandled rejection fails this test.
  const refused = Promise.withResolvers<number>();
  const lateToo: number[] = [];
  const answer = withinSenderWait(clock, () => refused.promise, (v) => lateToo.push(v));
  clock.advance(SENDER_STORE_WAIT_MS);
  assert.equal(await answer, TOO_SLOW);
  refused.reject(new TypeError("database is locked"));
  await refused.promise.catch(() => {});
  assert.deepEqual(lateToo, []);
});

Deno.test("an Idempotency-Key claim taken back after a late commit leaves a retry's own claim alone; a takeover keeps the dead claim's time", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const repo = new OutboxRepo(kv);
    const claim = (at: number) => ({ owner: "p1", at, expiresAt: at + 3600_000 });
    const first = await repo.claimIdempotency("h", "k", claim(1_000), () => true);
    assert.ok(first.claimed && first.versionstamp);
    // The sender's retry took the claim over before the late one was taken back: kept.
    const retry = await repo.claimIdempotency("h", "k", claim(2_000), () => true);
    assert.ok(retry.claimed);
    assert.equal(retry.takenOver?.at, 1_000);
    assert.equal(await repo.dropClaim("h", "k", first.versionstamp), false);
    // Taken over once more (that retry's process died too): the request may have been
    // carried out since the FIRST claim, so the chat is searched from then.
    const third = await repo.claimIdempotency("h", "k", claim(3_000), () => true);
    assert.ok(third.claimed);
    assert.equal(third.takenOver?.at, 1_000);
    // Unchanged since: taken back, and the key is free for a first request again.
    assert.equal(await repo.dropClaim("h", "k", third.versionstamp!), true);
    assert.equal(await repo.getIdempotency("h", "k", 3_000), null);
  } finally {
    kv.close();
  }
});
