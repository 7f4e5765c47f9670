/**
 * Fuzz benchmark: runs the format property (tests/ingest/formats/_fuzz_property.ts) for
 * 10,000 generated bodies (or the count given as the first argument) and reports the time.
 * Every case runs all eight adapters' detect + parse and `detectFormat`, so one case is
 * about ten parses.
 *
 * Run: `./deno run -A bench/fuzz.ts [runs] [seed]`.
 *
 * @module
 */
import { runFuzz } from "../tests/ingest/formats/_fuzz_property.ts";

const runs = Number(Deno.args[0] ?? 10_000);
const seed = Deno.args[1] === undefined ? undefined : Number(Deno.args[1]);
const { ms } = runFuzz(runs, seed);
console.log(
  `fuzz: ${runs} cases passed in ${(ms / 1000).toFixed(1)} s (${(ms / runs).toFixed(2)} ms/case)`,
);
