/**
 * What one posted-message record costs Deno KV (issue 16): CPU per row on KV's SQLite writer
 * thread (`sw-0`) and on the main thread (which also makes the test's ids), and read and write
 * syscalls per row (`/proc/self/io`, all threads), for the layout the message registry uses
 * (src/messages/registry.ts) and for the alternatives weighed in docs/benchmarks.md ("KV per
 * delivery"). Each variant runs in its own process on a fresh KV
 * file, optionally filled first (a registry holds 30 days of posts: the cost per row grows
 * with the table), variants alternate round by round so a noisy minute hits all of them.
 *
 * Run: `./deno run -A bench/kv_rows.ts [--rounds=2 --rows=40000 --prefill=0 --hooks=50]
 * [variant…]`
 *
 * Variants (default: all):
 * - `current`: what the registry writes: key `["posted", hookId, messageId]` with a random
 *   32-hex message id (as TrueConf's), the record object as value, `expireIn` 30 days,
 *   commits of 50 rows (the batch size seen at c64);
 * - `no-expiry`: the same without `expireIn`;
 * - `string-value`: the record as a short JSON-array string instead of an object;
 * - `tiny-value`: the number 1 as value (the floor for any value encoding);
 * - `short-value`: kind and time only, as a short string (`t1765035000000`);
 * - `batch-500`: commits of 500 rows;
 * - `sequential-key`: a time-ordered key part before the id (no lookup by id possible: the
 *   floor for one row per post);
 * - `packed-50`: 50 posts in one string row per commit, time-ordered key (no lookup by id
 *   possible: the floor for packing);
 * - `time-key`: what the registry writes since session 4: key `["posted_t", timestamp,
 *   messageId]` (TrueConf's timestamp of the post, then its id: found again by
 *   `getMessageById`'s timestamp), the record with the hook id as value, `expireIn` 30 days,
 *   commits of 50; posts of `--hooks` hooks in turn;
 * - `time-key-per-hook`: the same per hook, `["posted_t", hookId, timestamp, messageId]`
 *   (the hook id in the key, not the value): one insertion point per hook;
 * - `packed-registry`: what the registry writes since session 6: the 50 posts of a commit
 *   (posts of `--hooks` hooks in turn, timestamps a few ms apart and shuffled, as TrueConf
 *   answers concurrent sends) through the registry's own `packRows` into one
 *   `["posted_b", minTimestamp, rowId]` row whose value is `{at, p}` with `p` one JSON string
 *   (src/messages/_packed_posts.ts), `expireIn` 30 days;
 * - `packed-structured`: the same rows with the tables and tuples as V8-serialised arrays
 *   (`{at, h, c, p}`) instead of one JSON string;
 * - `packed-floor`: the same posts made, but only the number 1 written per commit under the
 *   same kind of key: what a commit costs however little it holds.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { type PackedPost, packRows } from "../src/messages/_packed_posts.ts";

const VARIANTS = [
  "current",
  "no-expiry",
  "string-value",
  "tiny-value",
  "short-value",
  "batch-500",
  "sequential-key",
  "packed-50",
  "time-key",
  "time-key-per-hook",
  "packed-registry",
  "packed-structured",
  "packed-floor",
] as const;
type Variant = typeof VARIANTS[number];

const { values: args, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    rounds: { type: "string", default: "2" },
    rows: { type: "string", default: "40000" },
    prefill: { type: "string", default: "0" },
    hooks: { type: "string", default: "50" },
    child: { type: "string" },
  },
});
const ROWS = Number(args.rows);
const PREFILL = Number(args.prefill);
const HOOKS = Number(args.hooks);
const TTL = 30 * 86_400_000;
const CLK_TCK = 100;

if (args.child) {
  console.log(JSON.stringify(await measure(args.child as Variant)));
} else {
  const chosen = (positionals.length ? positionals : VARIANTS) as Variant[];
  for (const v of chosen) {
    if (!VARIANTS.includes(v)) throw new Error(`unknown variant ${v}; one of ${VARIANTS}`);
  }
  console.log(
    `rows ${ROWS} per variant, table filled with ${PREFILL} rows first, ${HOOKS} hooks ` +
      `(time-key variants)`,
  );
  for (let round = 1; round <= Number(args.rounds); round++) {
    for (const v of round % 2 ? chosen : [...chosen].reverse()) {
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "--unstable-kv",
          import.meta.filename!,
          `--child=${v}`,
          `--rows=${ROWS}`,
          `--prefill=${PREFILL}`,
          `--hooks=${HOOKS}`,
        ],
        stderr: "inherit",
      }).output();
      const r = JSON.parse(new TextDecoder().decode(out.stdout));
      console.log(
        `round ${round} ${v.padEnd(15)} sw-0 ${r.sw0} µs/row, main ${r.main} µs/row, ` +
          `${r.writes} write and ${r.reads} read syscalls/row, load ${r.load}`,
      );
    }
  }
}

async function measure(variant: Variant) {
  const dir = await Deno.makeTempDir({ prefix: "kv_rows_" });
  const kv = await Deno.openKv(`${dir}/kv.sqlite`);
  const hook = crypto.randomUUID();
  const hooks = Array.from({ length: HOOKS }, () => crypto.randomUUID());
  const chatId = crypto.randomUUID().replaceAll("-", "");
  const batch = variant === "batch-500" ? 500 : 50;
  let seq = 0;
  const value = (at: number): unknown => {
    switch (variant) {
      case "string-value":
        return JSON.stringify([0, at, chatId, null]);
      case "tiny-value":
        return 1;
      case "short-value":
        return `t${at}`;
      default:
        return { chatId, kind: "text", key: null, at };
    }
  };
  const write = async (rows: number) => {
    for (let done = 0; done < rows;) {
      const op = kv.atomic();
      if (
        variant === "packed-registry" || variant === "packed-structured" ||
        variant === "packed-floor"
      ) {
        const posts: PackedPost[] = [];
        const base = Date.now();
        for (; posts.length < 50 && done < rows; done++) {
          const at = Date.now();
          posts.push({
            hookId: hooks[done % HOOKS]!,
            messageId: crypto.randomUUID().replaceAll("-", ""),
            // Answers of one moment, a few ms apart, not in timestamp order.
            rec: { chatId, kind: "text", key: null, at, ts: base + (done * 7919) % 23 },
          });
        }
        if (variant === "packed-floor") {
          op.set(["posted_b", posts[0]!.rec.ts!, `r${++seq}`], 1, { expireIn: TTL });
        } else if (variant === "packed-registry") {
          for (const row of packRows(posts, () => `r${++seq}`)) {
            op.set(row.key, row.value, { expireIn: TTL });
          }
        } else {
          const [key, value] = structured(posts, `r${++seq}`);
          op.set(key, value, { expireIn: TTL });
        }
      } else if (variant === "packed-50") {
        const lines: string[] = [];
        for (; lines.length < 50 && done < rows; done++) {
          lines.push(`${crypto.randomUUID().replaceAll("-", "")}\t0\t${Date.now()}\t${chatId}`);
        }
        op.set(["posted", hook, ++seq], lines.join("\n"), { expireIn: TTL });
      } else {
        for (let i = 0; i < batch && done < rows; i++, done++) {
          const id = crypto.randomUUID().replaceAll("-", "");
          if (variant === "time-key" || variant === "time-key-per-hook") {
            const h = hooks[done % HOOKS]!;
            const at = Date.now();
            // TrueConf's timestamp: its clock, ms; several posts share one.
            if (variant === "time-key") {
              op.set(["posted_t", at, id], { hook: h, chatId, kind: "text", key: null, at }, {
                expireIn: TTL,
              });
            } else {
              op.set(["posted_t", h, at, id], value(at), { expireIn: TTL });
            }
            continue;
          }
          const key = variant === "sequential-key"
            ? ["posted", hook, ++seq, id]
            : ["posted", hook, id];
          const options = variant === "no-expiry" ? undefined : { expireIn: TTL };
          op.set(key, value(Date.now()), options);
        }
      }
      await op.commit();
    }
  };
  if (PREFILL) await write(PREFILL);
  const before = sample();
  await write(ROWS);
  const after = sample();
  kv.close();
  await Deno.remove(dir, { recursive: true });
  const us = (k: "sw0" | "main") => ((after[k] - before[k]) * (1e6 / CLK_TCK) / ROWS).toFixed(1);
  return {
    sw0: us("sw0"),
    main: us("main"),
    writes: ((after.writes - before.writes) / ROWS).toFixed(2),
    reads: ((after.reads - before.reads) / ROWS).toFixed(2),
    load: Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" "),
  };
}

/**
 * The posts of `packed-registry` in one row with the same tables and tuples, as V8-serialised
 * arrays rather than one JSON string (one row: the bench's timestamps lie within the span).
 */
function structured(posts: PackedPost[], rowId: string): [Deno.KvKey, unknown] {
  posts.sort((a, b) => a.rec.ts! - b.rec.ts!);
  const minTs = posts[0]!.rec.ts!;
  const h = new Map<string, number>();
  const c = new Map<string, number>();
  const p = posts.map(({ hookId, messageId, rec }) => {
    let hi = h.get(hookId);
    if (hi === undefined) h.set(hookId, hi = h.size);
    let ci = c.get(rec.chatId);
    if (ci === undefined) c.set(rec.chatId, ci = c.size);
    return [messageId, rec.ts! - minTs, hi, ci, rec.kind === "file" ? 1 : 0];
  });
  return [["posted_b", minTs, rowId], {
    at: posts[0]!.rec.at,
    h: [...h.keys()],
    c: [...c.keys()],
    p,
  }];
}

/** CPU ticks of the main thread and of KV's writer thread, and read/write syscalls so far. */
function sample(): { sw0: number; main: number; writes: number; reads: number } {
  const out = { sw0: 0, main: 0, writes: 0, reads: 0 };
  for (const t of Deno.readDirSync("/proc/self/task")) {
    const comm = Deno.readTextFileSync(`/proc/self/task/${t.name}/comm`).trim();
    const stat = Deno.readTextFileSync(`/proc/self/task/${t.name}/stat`);
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(f[11]) + Number(f[12]);
    if (t.name === String(Deno.pid)) out.main += ticks;
    else if (comm === "sw-0") out.sw0 += ticks;
  }
  const io = Deno.readTextFileSync("/proc/self/io");
  out.writes = Number(/syscw: (\d+)/.exec(io)?.[1] ?? 0);
  out.reads = Number(/syscr: (\d+)/.exec(io)?.[1] ?? 0);
  return out;
}
