import assert from "node:assert/strict";
import { createLogger } from "../src/log.ts";
import { RetryWarnings, step } from "../src/step_error.ts";

const MINUTE = 60_000;

function spell() {
  let t = Date.parse("2026-01-01T00:00:00Z");
  const lines: { level: string; msg: string; failingForMs?: number; failedForMs?: number }[] = [];
  const log = createLogger({ level: "info", write: (l) => void lines.push(JSON.parse(l)) });
  const warnings = new RetryWarnings(log, {
    otherwise: "could not follow the feed",
    recovered: "feed readable again",
    now: () => t,
  });
  const failing = () => step("could not read the feed", () => Promise.reject(new Error("busy")));
  const fail = async () => await failing().catch((e) => warnings.failed(e));
  return { lines, warnings, fail, advance: (ms: number) => void (t += ms) };
}

// The bot's doorbell polls every 5 s while nothing rings: a store that stayed unreadable warned
// twelve times a minute, the same line each time, until the operator's log was that line.
Deno.test("a failure that lasts: warned when it starts, then after 1, 3, 7 … minutes (doubling, at most hourly), with how long and how many tries", async () => {
  const s = spell();
  await s.fail();
  assert.equal(s.lines.length, 1);
  assert.equal(s.lines[0]!.level, "warn");
  assert.equal(s.lines[0]!.msg, "could not read the feed; retrying");

  // A retry every 5 s: quiet until a minute has passed.
  for (let i = 0; i < 11; i++) {
    s.advance(5_000);
    await s.fail();
  }
  assert.equal(s.lines.length, 1, JSON.stringify(s.lines));
  s.advance(5_000);
  await s.fail(); // 1 min, the 13th try
  assert.equal(s.lines.length, 2, JSON.stringify(s.lines));
  assert.equal(s.lines[1]!.level, "warn");
  assert.equal(
    s.lines[1]!.msg,
    "could not read the feed; still failing after 1m 0s (13 tries); retrying",
  );
  assert.equal(s.lines[1]!.failingForMs, MINUTE);

  // The next after 2 more minutes (3 in all), then 4 more (7 in all).
  const warnedAt: number[] = [];
  for (let ms = MINUTE + 5_000; ms <= 8 * MINUTE; ms += 5_000) {
    s.advance(5_000);
    const before = s.lines.length;
    await s.fail();
    if (s.lines.length > before) warnedAt.push(ms);
  }
  assert.deepEqual(warnedAt, [3 * MINUTE, 7 * MINUTE]);

  // Past the hour, once an hour.
  const later: number[] = [];
  for (let ms = 8 * MINUTE + MINUTE; ms <= 4 * 60 * MINUTE; ms += MINUTE) {
    s.advance(MINUTE);
    const before = s.lines.length;
    await s.fail();
    if (s.lines.length > before) later.push(ms / MINUTE);
  }
  assert.deepEqual(later, [15, 31, 63, 123, 183]);
});

Deno.test("recovery after a failure is one info line with how long it lasted; the next failure starts a new spell, warned at once", async () => {
  const s = spell();
  s.warnings.succeeded(); // nothing failed: nothing to say
  assert.equal(s.lines.length, 0);
  await s.fail();
  s.advance(3 * MINUTE + 12_000);
  s.warnings.succeeded();
  assert.equal(s.lines.length, 2, JSON.stringify(s.lines));
  assert.equal(s.lines[1]!.level, "info");
  assert.equal(s.lines[1]!.msg, "feed readable again after 3m 12s");
  assert.equal(s.lines[1]!.failedForMs, 3 * MINUTE + 12_000);
  s.warnings.succeeded();
  assert.equal(s.lines.length, 2, "said once");

  s.advance(5_000);
  await s.fail();
  assert.equal(s.lines.length, 3);
  assert.equal(s.lines[2]!.msg, "could not read the feed; retrying");
});

// A poll reads and writes: a read that recovers and a write that fails next is other news for
// the operator (a full disk, not a busy store), so it is not held back as a repeat.
Deno.test("another step failing within the spell is warned at once; an error from no step says `otherwise`", async () => {
  const s = spell();
  await s.fail();
  s.advance(5_000);
  s.warnings.failed(new Error("disk full"));
  assert.equal(s.lines.length, 2);
  assert.equal(s.lines[1]!.msg, "could not follow the feed; retrying");
  s.advance(5_000);
  await s.fail(); // the first step again: already told
  s.warnings.failed(new Error("disk full"));
  assert.equal(s.lines.length, 2);
});
