/**
 * Test helper: a Deno.Kv whose writes (or reads) fail as SQLite's do on a full disk, for the
 * storage failure tests of the endpoint, the hook store, the job engine and the operator CLI.
 *
 * @module
 */

/** A call of {@link fullDiskKv} that can be made to fail. */
export type KvCall = "commit" | "set" | "delete" | "get" | "list";

/**
 * `raw` whose atomic commits (their `set`, `delete` and `mutate` keys), `set`, `delete`, `get` and `list` reject with "database or disk
 * is full" whenever `fails(call, keys)` says so when they are made; every other call goes
 * through to `raw`. `keys` are the keys the call touches (a commit's written and deleted keys,
 * a list's prefix), so a test can fail one record's reads or writes and no other.
 */
export function fullDiskKv(
  raw: Deno.Kv,
  fails: (call: KvCall, keys: readonly Deno.KvKey[]) => boolean,
): Deno.Kv {
  const full = () => Promise.reject(new Error("database or disk is full"));
  return new Proxy(raw, {
    get(target, prop) {
      if (prop === "atomic") {
        return () => {
          const op = target.atomic();
          const written: Deno.KvKey[] = [];
          const set = op.set.bind(op);
          const del = op.delete.bind(op);
          const mutate = op.mutate.bind(op);
          const commit = op.commit.bind(op);
          op.set = (key, value, options) => {
            written.push(key);
            return set(key, value, options);
          };
          op.delete = (key) => {
            written.push(key);
            return del(key);
          };
          op.mutate = (...mutations) => {
            written.push(...mutations.map((m) => m.key));
            return mutate(...mutations);
          };
          op.commit = () => fails("commit", written) ? full() : commit();
          return op;
        };
      }
      const v = Reflect.get(target, prop, target);
      if (prop === "set" || prop === "delete" || prop === "get") {
        const call: KvCall = prop;
        return (...args: unknown[]) =>
          fails(call, [args[0] as Deno.KvKey])
            ? full()
            : (v as (...a: unknown[]) => unknown).apply(target, args);
      }
      if (prop === "list") {
        // A list fails when it is read, as KV's own iterator does.
        return (selector: Deno.KvListSelector, options?: Deno.KvListOptions) => {
          const prefix = "prefix" in selector ? selector.prefix : selector.start;
          if (!fails("list", [prefix])) return target.list(selector, options);
          const failed = { next: full, [Symbol.asyncIterator]: () => failed };
          return failed;
        };
      }
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}
