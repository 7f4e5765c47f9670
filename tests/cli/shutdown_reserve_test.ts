// Issue 18.1: "Shutdown must finish within WEBHOOK_SHUTDOWN_GRACE_SECONDS whatever clients do."
// The end of the grace is kept back for closing: half of it for runs to stop at the cut (and a
// cut request to store its rest), half for the socket, the store's last writes and the exit.
// Measured in the worst case (docs/limits.md, "How much of the grace is left at the exit"), that
// closing took 60–330 ms on a loaded 2-core machine: a grace of 1 s, which kept 125 ms, exited
// 1.01–1.20 s after SIGTERM, and 2 s kept only 0.07–0.16 s. The timing itself is measured, not
// asserted here (no sub-second bounds in the suite); this checks the rule the numbers came from.
import assert from "node:assert/strict";
import { shutdownReserveMs } from "../../src/cli/serve.ts";

Deno.test("shutdown keeps the last second for closing, and half of a grace shorter than 2 s", () => {
  for (const grace of [10_000, 3_000, 2_000]) {
    assert.equal(shutdownReserveMs(grace), 1_000, `grace ${grace} ms`);
  }
  assert.equal(shutdownReserveMs(1_000), 500);
  assert.equal(shutdownReserveMs(0), 0);
});
