/**
 * Fuzz benchmark: runs the format property (tests/ingest/formats/_fuzz_property.ts) for
 * 10,000 generated bodies (or the count given as the first argument) and reports the time.
 * Every case runs every adapter's detect + parse (eight when this was written, 18 in
 * `DETECTION_ORDER` now) and `detectFormat`.
 *
 * Run: `./deno run -A bench/fuzz.ts [runs] [seed]`.
 *
 * Measured on the dev container (Deno 2.9.6): 10,000 cases in 1.6 s (0.16 ms/case) with eight
 * adapters; seeded runs of 100,000 cases in 15–18 s. Session 17 (2026-12-08, load 0.9–1.0, 18
 * adapters and a property grown since; what costs the difference was not measured): 10,000 cases
 * in 6.4–6.9 s (0.64–0.69 ms/case), all passing. Findings so far: a URIError from
 * `encodeURIComponent` on a lone surrogate in an Alertmanager label value (fixed); and with seed
 * 14, a 13.7 MB unrecognised JSON body (within the 25 MiB default body limit) takes about 1.9 s
 * in `detectFormat`'s JSON code-block fallback, which spreads the whole pretty-printed JSON into
 * an array of code points before truncating to 3,000; every adapter takes under 2 ms on it.
 *
 * @module
 */
import { runFuzz } from "../tests/ingest/formats/_fuzz_property.ts";

const runs = Number(Deno.args[0] ?? 10_000);
const seed = Deno.args[1] === undefined ? undefined : Number(Deno.args[1]);
const { ms } = runFuzz(runs, seed, false);
console.log(
  `fuzz: ${runs} cases passed in ${(ms / 1000).toFixed(1)} s (${(ms / runs).toFixed(2)} ms/case)`,
);
