// What serve runs once it is ready (src/cli/_start_garbage.ts): one memory-reducing collection,
// V8's "last resort" flavour, soon after; none once cancelled (a shutdown before it ran).
import assert from "node:assert/strict";
import { reclaimStartGarbage } from "../../src/cli/_start_garbage.ts";

type GcOptions = Parameters<NonNullable<Parameters<typeof reclaimStartGarbage>[0]>>[0];

Deno.test("one last-resort collection after ready; none when cancelled first", async () => {
  const cancelledCalls: GcOptions[] = [];
  const cancel = reclaimStartGarbage((o) => cancelledCalls.push(o));
  cancel();
  // Scheduled after the cancelled one with the same delay, so it fires after it would have.
  const ran = Promise.withResolvers<GcOptions[]>();
  const calls: GcOptions[] = [];
  reclaimStartGarbage((o) => {
    calls.push(o);
    ran.resolve(calls);
  });
  // The reclaim's timer does not hold a process open; this one holds the test's until it ran.
  const hold = setTimeout(() => ran.reject(new Error("no collection within 10 s")), 10_000);
  try {
    const expected = { type: "major", execution: "sync", flavor: "last-resort" };
    assert.deepEqual(await ran.promise, [expected]);
  } finally {
    clearTimeout(hold);
  }
  assert.deepEqual(cancelledCalls, []);
});
