/**
 * Splits a `perf record` profile of the bot's main thread into what runs it: V8's builtins
 * (promises, maps, property access: the embedded blob), native code of the `deno` binary
 * (Deno's ops and event loop, V8's C++ runtime and GC), the kernel, libc, and JIT-compiled
 * JavaScript, and says which JavaScript function each native or kernel sample was entered from.
 *
 * Why a tool: `perf report` puts the builtins inside "the deno binary", whose symbols are
 * stripped, so a third of the bot's CPU looked like opaque runtime work (docs/benchmarks.md,
 * session 13). V8 remaps its embedded builtins from the executable into its code range, and
 * `--perf-basic-prof` writes each builtin's address in that copy to `/tmp/perf-<pid>.map`;
 * `perf script` prints a sample in the copy as a file offset of the executable. This tool finds
 * the blob's file offset once (a throwaway `deno` with the same flag: the bytes at its first
 * builtin, looked up in the executable) and maps those offsets back to builtin names.
 *
 * Run, while `bench/ab.ts --duration=30 '<checkout>#--v8-flags=--perf-basic-prof'` loads a bot:
 * ```sh
 * perf record -F 1999 -g -p <bot pid> -o /tmp/bot.data -- sleep 10
 * cp /tmp/perf-<bot pid>.map /tmp/bot.map   # before the bot exits and removes nothing, but
 * perf script -i /tmp/bot.data -F tid,ip,sym,dso > /tmp/bot.txt   # a later pid may reuse it
 * ./deno run -A bench/perf_split.ts /tmp/bot.txt /tmp/bot.map <bot pid>
 * ```
 *
 * @module
 */

const [scriptFile, mapFile, tid] = Deno.args;
if (!scriptFile || !mapFile || !tid) {
  console.error("Usage: bench/perf_split.ts <perf script output> <perf map> <main thread id>");
  Deno.exit(2);
}

/** Builtins and bytecode handlers of a perf map, as offsets from the first one. */
function builtinsOf(map: string): { offsets: number[]; names: string[]; end: number } {
  const offsets: number[] = [];
  const names: string[] = [];
  let base = -1;
  let end = 0;
  for (const line of map.split("\n")) {
    const [addr, size, ...rest] = line.split(" ");
    const name = rest.join(" ");
    if (!addr || !size || !/^(Builtin|BytecodeHandler):/.test(name)) continue;
    const at = parseInt(addr, 16);
    if (base < 0) base = at;
    offsets.push(at - base);
    names.push(name);
    end = at - base + parseInt(size, 16);
  }
  return { offsets, names, end };
}

/** File offset of the embedded blob in the running `deno` executable. */
async function blobOffset(): Promise<number> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-config", "--v8-flags=--perf-basic-prof", "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode("console.log('up'); setTimeout(() => {}, 5000);"));
  await writer.close();
  const reader = child.stdout.getReader();
  await reader.read(); // "up": the perf map is written
  try {
    const map = await Deno.readTextFile(`/tmp/perf-${child.pid}.map`);
    const first = map.split("\n").find((l) => / Builtin:/.test(l));
    if (!first) throw new Error("no builtins in the perf map");
    const at = BigInt(parseInt(first.split(" ")[0]!, 16) + 0x100);
    const mem = await Deno.open(`/proc/${child.pid}/mem`);
    const probe = new Uint8Array(64);
    await mem.seek(at, Deno.SeekMode.Start);
    await mem.read(probe);
    mem.close();
    const exe = await Deno.readFile(Deno.execPath());
    const i = indexOf(exe, probe);
    if (i < 0) throw new Error("the builtins' bytes are not in the executable");
    return i - 0x100;
  } finally {
    child.kill();
    await child.status;
    await Deno.remove(`/tmp/perf-${child.pid}.map`).catch(() => {});
  }
}

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = hay.indexOf(needle[0]!); i >= 0; i = hay.indexOf(needle[0]!, i + 1)) {
    for (let j = 1; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

const { offsets, names, end } = builtinsOf(await Deno.readTextFile(mapFile));
const blob = await blobOffset();

function builtinAt(ip: number): string | null {
  const o = ip - blob;
  if (o < 0 || o >= end) return null;
  let lo = 0;
  let hi = offsets.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (offsets[mid]! <= o) lo = mid;
    else hi = mid - 1;
  }
  return names[lo]!;
}

type Frame = { ip: number; sym: string; dso: string };
/** What a frame is: a builtin's name, `js:<function>`, or native / kernel / libc. */
function kindOf(f: Frame): string {
  if (f.dso.endsWith("/deno")) return builtinAt(f.ip) ?? "native";
  if (f.dso.includes("perf-")) return `js:${f.sym.slice(0, 100)}`;
  if (f.dso.includes("kernel")) return "kernel";
  return "libc";
}

const samples: Frame[][] = [];
let frames: Frame[] | null = null;
for (const line of (await Deno.readTextFile(scriptFile)).split("\n")) {
  if (!line.trim()) {
    if (frames?.length) samples.push(frames);
    frames = null;
  } else if (!line.startsWith("\t")) {
    // A sample's header: the thread id, which some perf versions pad with spaces.
    frames = line.trim().split(/\s+/)[0] === tid ? [] : null;
  } else if (frames) {
    const s = line.trim();
    const space = s.indexOf(" ");
    const open = s.lastIndexOf("(");
    frames.push({
      ip: parseInt(s.slice(0, space), 16),
      sym: s.slice(space + 1, open).trim(),
      dso: s.slice(open + 1, -1),
    });
  }
}

const total = samples.length;
const classes = new Map<string, number>();
const leaves = new Map<string, number>();
const entered = new Map<string, number>();
const add = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
for (const s of samples) {
  const kinds = s.map(kindOf);
  const leaf = kinds[0]!;
  const cls = leaf.startsWith("Builtin:")
    ? "V8 builtins"
    : leaf.startsWith("BytecodeHandler:")
    ? "interpreter"
    : leaf.startsWith("js:")
    ? "JIT-compiled JavaScript"
    : leaf;
  add(classes, cls);
  add(leaves, leaf);
  if (leaf === "native" || leaf === "kernel" || leaf === "libc") {
    // The way in from JavaScript: an API callback (a Deno op), a C++ builtin (BuiltinExit,
    // e.g. JSON.parse) or a runtime call (NoBuiltinExit), and the JavaScript function above it.
    const i = kinds.findIndex((k) => /^Builtin:(CEntry|CallApiCallback)/.test(k));
    if (i < 0) add(entered, `${leaf} from the event loop (no JavaScript on the stack)`);
    else {
      const js = kinds.slice(i + 1).find((k) => k.startsWith("js:")) ?? "js:?";
      add(entered, `${leaf} via ${kinds[i]!.slice(8, 38)} from ${js.slice(3)}`);
    }
  }
}
const pct = (n: number) => `${(100 * n / total).toFixed(1).padStart(5)} %`;
const top = (m: Map<string, number>, n: number) =>
  [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `${pct(v)}  ${k}`).join("\n");
console.log(
  `${total} samples of thread ${tid}; embedded blob at file offset 0x${blob.toString(16)}`,
);
console.log(`\nBy what ran:\n${top(classes, 10)}`);
console.log(`\nBy leaf:\n${top(leaves, 40)}`);
console.log(`\nNative, kernel and libc samples by the way in:\n${top(entered, 30)}`);
