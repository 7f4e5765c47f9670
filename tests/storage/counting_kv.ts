/**
 * Test helper: a Deno.Kv that counts the operations passed to the real one, so tests can
 * assert how many reads and commits a code path costs.
 */

/** Operation counts seen by {@link countingKv}. */
export interface KvCounts {
  get: number;
  getMany: number;
  list: number;
  commits: number;
}

/** Wraps `kv`; closing the wrapper closes `kv`. */
export function countingKv(kv: Deno.Kv): { kv: Deno.Kv; counts: KvCounts; reset(): void } {
  const counts: KvCounts = { get: 0, getMany: 0, list: 0, commits: 0 };
  const proxy = new Proxy(kv, {
    get(target, prop) {
      if (prop === "atomic") {
        return () => {
          const op = target.atomic();
          const commit = op.commit.bind(op);
          op.commit = () => {
            counts.commits++;
            return commit();
          };
          return op;
        };
      }
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        if (prop === "get" || prop === "getMany" || prop === "list") counts[prop]++;
        if (prop === "set" || prop === "delete") counts.commits++;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return {
    kv: proxy,
    counts,
    reset() {
      counts.get =
        counts.getMany =
        counts.list =
        counts.commits =
          0;
    },
  };
}
