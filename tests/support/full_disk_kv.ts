/**
 * Test helper: a Deno.Kv whose writes (or reads) fail as SQLite's do on a full disk, for the
 * storage failure tests of the endpoint, the hook store and the operator CLI.
 *
 * @module
 */

/** A call of {@link fullDiskKv} that can be made to fail. */
export type KvCall = "commit" | "set" | "delete" | "get";

/**
 * `raw` whose atomic commits, `set`, `delete` and `get` reject with "database or disk is full"
 * whenever `fails(call)` says so when they are made; every other call goes through to `raw`.
 */
export function fullDiskKv(raw: Deno.Kv, fails: (call: KvCall) => boolean): Deno.Kv {
  const full = () => Promise.reject(new Error("database or disk is full"));
  return new Proxy(raw, {
    get(target, prop) {
      if (prop === "atomic") {
        return () => {
          const op = target.atomic();
          const commit = op.commit.bind(op);
          op.commit = () => fails("commit") ? full() : commit();
          return op;
        };
      }
      const v = Reflect.get(target, prop, target);
      if (prop === "set" || prop === "delete" || prop === "get") {
        const call: KvCall = prop;
        return (...args: unknown[]) =>
          fails(call) ? full() : (v as (...a: unknown[]) => unknown).apply(target, args);
      }
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}
