/**
 * What starting leaves behind, given back once the bot is ready (issue 16: idle RSS).
 *
 * Starting allocates far more than the bot keeps: the module graph's compilation, the store's
 * first reads, the TrueConf handshake. V8 keeps the heap pages that held it (a grown young
 * generation, pooled pages) until its memory reducer runs, 30 s into an idle process, and even
 * that run gives back only part. One memory-reducing collection — V8's "last resort" flavour of
 * `gc()`: full collections until nothing more is freed, the young generation shrunk, pooled
 * pages unmapped — right after ready gives back 3–4 MiB of anonymous memory at once: idle RSS
 * 67.4 → 64.0 MiB, first delivery no slower (docs/benchmarks.md, "Session 5 (idle)"). It costs
 * one pause of about 25 ms on this machine, once, when nothing is under way yet.
 *
 * `gc` exists when the process runs with `--v8-flags=--expose-gc`, as the start and compile
 * tasks run it; without it this does nothing.
 *
 * @module
 */

type ExposedGc = (options: { type: "major"; execution: "sync"; flavor: "last-resort" }) => void;

/** How long after ready: the handshake's last replies have been handled by then. */
const AFTER_READY_MS = 200;

/**
 * Schedules the one collection `AFTER_READY_MS` after the call (serve calls it at "ready");
 * returns a function that cancels it (shutdown before it ran). The timer does not keep the
 * process alive.
 */
export function reclaimStartGarbage(
  gc = (globalThis as { gc?: ExposedGc }).gc,
): () => void {
  if (!gc) return () => {};
  const timer = setTimeout(
    () => gc({ type: "major", execution: "sync", flavor: "last-resort" }),
    AFTER_READY_MS,
  );
  Deno.unrefTimer(timer);
  return () => clearTimeout(timer);
}
