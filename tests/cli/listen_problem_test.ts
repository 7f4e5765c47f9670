// What an operator reads when the HTTP port cannot be opened (serve's error, check-config's
// listen line): a cause and a remedy, never Deno's "run again with the --allow-… flag", which
// the compiled binary's user cannot follow.
import assert from "node:assert/strict";
import { listenProblem } from "../../src/cli/_listen_problem.ts";

Deno.test({
  name: "a listen Deno refuses is named without Deno's --allow-net advice",
  permissions: { net: false },
  fn() {
    let refused: unknown;
    try {
      Deno.listen({ hostname: "127.0.0.1", port: 8080 }).close();
    } catch (e) {
      refused = e;
    }
    assert.ok(refused instanceof Deno.errors.NotCapable, `not refused: ${refused}`);
    assert.match((refused as Error).message, /--allow-net/); // what Deno itself says
    assert.equal(
      listenProblem("127.0.0.1", 8080, refused),
      '127.0.0.1:8080: Requires net access to "127.0.0.1:8080"',
    );
  },
});
