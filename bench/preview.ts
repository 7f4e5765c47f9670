/**
 * Preview benchmark: ms per preview for 2000×1500 and 4000×3000 photos, process RSS, and the
 * latency of a plain-text HTTP handler on the main thread while previews run (the issue's
 * "text p99 under 50 ms while images are processed").
 *
 * Run: `./deno run -A bench/preview.ts [iterations]`. Results are in the report at the end of
 * the output; last measured numbers are in bench/README.md when someone collects them.
 *
 * @module
 */

import { encodePhoto } from "./_photos.ts";
import { PreviewMaker } from "../src/delivery/preview/mod.ts";

const iterations = Number(Deno.args[0] === "--make-inputs" ? 0 : Deno.args[0] ?? 8);
const MB = 1024 * 1024;

/** Gradients, shapes and noise: compresses like a photo, not like a flat test card. */
function photo(width: number, height: number, as: "jpeg" | "png"): Uint8Array {
  return encodePhoto(width, height, as === "jpeg" ? { jpeg: 90 } : "png");
}

function peakRss(): number {
  const status = Deno.readTextFileSync("/proc/self/status");
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb * 1024;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const fmt = (n: number) => n.toFixed(1);

const SIZES = [
  { name: "2000x1500 JPEG", width: 2000, height: 1500, as: "jpeg" },
  { name: "2000x1500 PNG", width: 2000, height: 1500, as: "png" },
  { name: "4000x3000 JPEG", width: 4000, height: 3000, as: "jpeg" },
  { name: "8000x6000 JPEG", width: 8000, height: 6000, as: "jpeg" },
] as const;

// Inputs are made in a child process so photon's heap there does not inflate the RSS we report.
if (Deno.args[0] === "--make-inputs") {
  const dir = Deno.args[1]!;
  for (const s of SIZES) Deno.writeFileSync(`${dir}/${s.name}`, photo(s.width, s.height, s.as));
  Deno.exit(0);
}
const dir = Deno.makeTempDirSync({ prefix: "preview-bench-" });
const made = await new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", import.meta.filename!, "--make-inputs", dir],
}).output();
if (!made.success) throw new Error(new TextDecoder().decode(made.stderr));
const inputs = SIZES.map((s) => ({ name: s.name, bytes: Deno.readFileSync(`${dir}/${s.name}`) }));
Deno.removeSync(dir, { recursive: true });
const rssBase = Deno.memoryUsage().rss;
console.log(`inputs ready; RSS ${fmt(rssBase / MB)} MB (no photon on the main thread)`);

// A text endpoint on the main thread, hammered sequentially while previews run.
const server = Deno.serve(
  { port: 0, hostname: "127.0.0.1", onListen() {} },
  () => new Response("ok"),
);
const url = `http://127.0.0.1:${server.addr.port}/`;
let hammering = true;
const latencies: number[] = [];
const hammer = (async () => {
  while (hammering) {
    const t = performance.now();
    await (await fetch(url)).text();
    latencies.push(performance.now() - t);
    await new Promise((r) => setTimeout(r, 2));
  }
})();

const maker = new PreviewMaker({ maxSide: 384, quality: 80, idleMs: 0, maxPixels: 50_000_000 });
let t = performance.now();
await maker.make(inputs[0]!.bytes);
console.log(`worker start + wasm compile + first 2000x1500 job: ${fmt(performance.now() - t)} ms`);
console.log(`RSS after worker start: ${fmt(Deno.memoryUsage().rss / MB)} MB`);

for (const input of inputs) {
  const times: number[] = [];
  let out = 0;
  latencies.length = 0;
  const runs = input.name.startsWith("8000") ? Math.min(2, iterations) : iterations;
  for (let i = 0; i < runs; i++) {
    t = performance.now();
    const r = await maker.make(input.bytes, undefined, { timeoutMs: 30_000 });
    times.push(performance.now() - t);
    if (!r.ok) throw new Error(`${input.name}: ${r.reason} ${r.detail}`);
    out = r.preview.bytes.length;
  }
  console.log(
    `${input.name} (${fmt(input.bytes.length / MB)} MB in, ${(out / 1024).toFixed(1)} KB out): ` +
      `first ${fmt(times[0]!)} ms, median ${fmt(pct(times, 50))} ms, max ${
        fmt(Math.max(...times))
      } ms | RSS ${fmt(Deno.memoryUsage().rss / MB)} MB, peak ${fmt(peakRss() / MB)} MB | ` +
      `text: ${latencies.length} requests, p50 ${fmt(pct(latencies, 50))} ms, p99 ${
        fmt(pct(latencies, 99))
      } ms, max ${fmt(Math.max(...latencies))} ms`,
  );
}

await maker.close();
await new Promise((r) => setTimeout(r, 200));
console.log(`RSS after close (worker terminated): ${fmt(Deno.memoryUsage().rss / MB)} MB`);
hammering = false;
await hammer;
await server.shutdown();
