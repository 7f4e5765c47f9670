// The store's own dirname and join (src/storage/_path.ts, kept off node:path for the start's
// memory) give node:path's results, on generated paths made of the pieces that matter: slashes
// (leading, repeated, trailing), ".", ".." and names.
import assert from "node:assert/strict";
import { posix } from "node:path";
import fc from "fast-check";
import { dirname, join } from "../../src/storage/_path.ts";

const piece = fc.constantFrom("/", "//", ".", "..", "a", "bot", "secret.key", ".x", "...");
const path = fc.array(piece, { maxLength: 8 }).map((p) => p.join(""));

Deno.test("dirname is node:path's dirname", () => {
  fc.assert(fc.property(path, (p) => assert.equal(dirname(p), posix.dirname(p), p)), {
    numRuns: 5_000,
  });
  for (const p of ["", "/", "//", "///", "a", "a/", "/a", "//a", "a//b", "/a/b/", "./a.kv"]) {
    assert.equal(dirname(p), posix.dirname(p), p);
  }
});

Deno.test("join is node:path's join", () => {
  fc.assert(
    fc.property(
      fc.array(path, { maxLength: 3 }),
      (ps) => assert.equal(join(...ps), posix.join(...ps), JSON.stringify(ps)),
    ),
    { numRuns: 5_000 },
  );
  assert.equal(join(dirname("data/webhooks.kv"), "secret.key"), "data/secret.key");
  assert.equal(join(dirname("webhooks.kv"), "secret.key"), "secret.key");
  assert.equal(join(dirname("/webhooks.kv"), ".secret.key.tmp"), "/.secret.key.tmp");
});
