/**
 * How much of a profile has a given layer on the stack: the share of a CPU profile's busy
 * samples (`--cpu-prof`, e.g. through `bench/ab.ts --flags="--cpu-prof --cpu-prof-dir=…"`), or
 * the KiB per delivery of a heap sample (`bench/heap_sample.ts --save=…`), whose stack holds a
 * frame matching `--match` (by `url` or `function url`), optionally without the samples under
 * a frame matching `--exclude`. Inclusive, so a layer's callees (ops, decoders) count with it;
 * the top functions by self cost inside the layer are listed. A share of one profile does not
 * swing with the load the way CPU per delivery does (docs/benchmarks.md, "The TrueConf socket
 * without ws").
 *
 * Run: `./deno run -A bench/stack_share.ts --match=<regex> [--exclude=<regex>] [--top=15]
 * <file.cpuprofile | heap.json>…`
 *
 * @module
 */
import { parseArgs } from "node:util";

const { values: args, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    match: { type: "string" },
    exclude: { type: "string" },
    top: { type: "string", default: "15" },
  },
});
if (!args.match || positionals.length === 0) {
  console.error(
    "Usage: ./deno run -A bench/stack_share.ts --match=<regex> [--exclude=<regex>] <profile>…",
  );
  Deno.exit(2);
}
const match = new RegExp(args.match);
const exclude = args.exclude ? new RegExp(args.exclude) : null;

interface Frame {
  functionName: string;
  url: string;
}
const label = (f: Frame) => `${f.functionName} ${f.url}`;
const short = (f: Frame) => `${f.functionName || "(anonymous)"} ${f.url.replace(/^.*\//, "")}`;

/** Sums `cost` of every leaf whose stack matches, keyed by the leaf's function for the top list. */
class Tally {
  total = 0;
  inLayer = 0;
  bySelf = new Map<string, number>();

  add(leaf: Frame, stack: { inLayer: boolean; excluded: boolean }, cost: number): void {
    this.total += cost;
    if (!stack.inLayer || stack.excluded) return;
    this.inLayer += cost;
    const k = short(leaf);
    this.bySelf.set(k, (this.bySelf.get(k) ?? 0) + cost);
  }

  top(n: number, unit: (x: number) => string): string[] {
    return [...this.bySelf].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) =>
      `  ${unit(v)}  ${k}`
    );
  }
}

function step(parent: { inLayer: boolean; excluded: boolean }, f: Frame) {
  const l = label(f);
  return {
    inLayer: parent.inLayer || match.test(l),
    excluded: parent.excluded || (exclude !== null && exclude.test(l)),
  };
}

for (const file of positionals) {
  const data = JSON.parse(await Deno.readTextFile(file));
  const tally = new Tally();
  if (data.profile?.head) {
    // bench/heap_sample.ts --save: { deliveries, profile: { head: tree with selfSize } }.
    type HeapNode = { callFrame: Frame; selfSize: number; children: HeapNode[] };
    const walk = (n: HeapNode, s: { inLayer: boolean; excluded: boolean }) => {
      const here = step(s, n.callFrame);
      tally.add(n.callFrame, here, n.selfSize);
      for (const c of n.children) walk(c, here);
    };
    walk(data.profile.head, { inLayer: false, excluded: false });
    const kib = (x: number) => (x / 1024 / data.deliveries).toFixed(2).padStart(6);
    console.log(
      `${file}: ${kib(tally.total).trim()} KiB per delivery, ${
        kib(tally.inLayer).trim()
      } with the layer on the stack`,
    );
    for (const line of tally.top(Number(args.top), kib)) console.log(line);
  } else {
    // A V8 .cpuprofile: nodes with children, samples (node ids) and timeDeltas (µs).
    type CpuNode = { id: number; callFrame: Frame; children?: number[] };
    const nodes = new Map<number, CpuNode>();
    const parent = new Map<number, number>();
    for (const n of data.nodes as CpuNode[]) {
      nodes.set(n.id, n);
      for (const c of n.children ?? []) parent.set(c, n.id);
    }
    const memo = new Map<number, { inLayer: boolean; excluded: boolean }>();
    const stackOf = (id: number): { inLayer: boolean; excluded: boolean } => {
      const known = memo.get(id);
      if (known) return known;
      const p = parent.get(id);
      const s = step(
        p === undefined ? { inLayer: false, excluded: false } : stackOf(p),
        nodes.get(id)!.callFrame,
      );
      memo.set(id, s);
      return s;
    };
    let all = 0;
    (data.samples as number[]).forEach((id, i) => {
      const dt = (data.timeDeltas as number[])[i + 1] ?? 0; // the time until the next sample
      all += dt;
      const node = nodes.get(id)!;
      if (node.callFrame.functionName === "(idle)") return;
      tally.add(node.callFrame, stackOf(id), dt);
    });
    const pct = (x: number) => `${(100 * x / tally.total).toFixed(2).padStart(5)} %`;
    console.log(
      `${file}: busy ${(tally.total / 1e6).toFixed(2)} s of ${(all / 1e6).toFixed(2)} s; ${
        pct(tally.inLayer).trim()
      } of the busy samples with the layer on the stack`,
    );
    for (const line of tally.top(Number(args.top), pct)) console.log(line);
  }
}
