/**
 * A `--preload` for the bot that counts the calls behind per-delivery runtime work — Deno KV
 * reads and commits, timers, stderr writes, clock reads — and writes the totals to
 * `/tmp/opcount-<pid>.json` every 500 ms. `bench/ab.ts` reads that file before and after each
 * load point and prints calls per delivery:
 *
 * `./deno run -A bench/ab.ts --flags=--preload=$PWD/bench/op_count.ts <checkout>…`
 *
 * Only for measuring: the wrappers themselves cost a little per call.
 *
 * @module
 */
const counts: Record<string, number> = {};
const inc = (k: string) => {
  counts[k] = (counts[k] ?? 0) + 1;
};
// deno-lint-ignore no-explicit-any
type AnyFn = (...a: any[]) => any;
function wrap(target: object, name: string, label: string): void {
  const t = target as Record<string, AnyFn>;
  const original = t[name];
  if (typeof original !== "function") return;
  t[name] = function (this: unknown, ...a: unknown[]) {
    inc(label);
    return original.apply(this, a);
  };
}
for (const m of ["get", "getMany", "list", "set", "delete", "atomic", "enqueue", "watch"]) {
  wrap(Deno.Kv.prototype, m, `kv.${m}`);
}
for (const m of ["commit", "check", "set", "delete", "sum", "mutate"]) {
  wrap(Deno.AtomicOperation.prototype, m, `kv.atomic.${m}`);
}
for (const m of ["setTimeout", "clearTimeout", "setInterval", "queueMicrotask"]) {
  wrap(globalThis, m, m);
}
wrap(Deno.stderr, "writeSync", "stderr.writeSync");
wrap(Deno.stderr, "write", "stderr.write");
wrap(performance, "now", "performance.now");
wrap(Date, "now", "Date.now");
const timer = setInterval(() => {
  Deno.writeTextFileSync(`/tmp/opcount-${Deno.pid}.json`, JSON.stringify(counts));
}, 500);
Deno.unrefTimer(timer);
