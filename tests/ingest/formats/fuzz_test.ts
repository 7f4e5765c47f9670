/**
 * Property/fuzz test over every format adapter and detection (see `_fuzz_property.ts`).
 * `FUZZ_RUNS` sets the number of generated cases (default 300 for CI); `FUZZ_SEED` replays
 * a failure. `deno run -A bench/fuzz.ts` runs 10,000 cases and reports the time.
 */
import assert from "node:assert/strict";
import { PayloadError } from "../../../src/ingest/formats/types.ts";
import { checkInput, runFuzz } from "./_fuzz_property.ts";
import { input, jsonInput } from "./_input.ts";

function envNumber(name: string, fallback: number): number | undefined {
  let raw: string | undefined;
  try {
    raw = Deno.env.get(name);
  } catch {
    return fallback; // no --allow-env: use the CI default
  }
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  assert.ok(Number.isSafeInteger(n) && n >= 0, `${name} must be a non-negative integer`);
  return n;
}

Deno.test("fuzz: every body yields a bounded Message or a 4xx PayloadError", () => {
  const runs = envNumber("FUZZ_RUNS", 300) ?? 300;
  const seedEnv = envNumber("FUZZ_SEED", -1);
  runFuzz(runs, seedEnv === -1 ? undefined : seedEnv);
});

Deno.test("fuzz: the property itself rejects a crash and accepts a PayloadError", () => {
  // Sanity check of the checker with hand-made inputs that must pass.
  checkInput(jsonInput({ version: "4", groupKey: "k", alerts: [null] }));
  checkInput(jsonInput({ zen: 1 }, { "x-github-event": "ping" }));
  checkInput(input({ kind: "text", text: "" }, { "x-gitlab-event": "Push Hook" }));
  assert.ok(new PayloadError("x", "y").status === 400);
});
