/**
 * One wrk run of the benchmark's load (`bench/post.lua`: text JSON by default, a prepared body
 * with `body`), read from the JSON summary line the script prints. What `bench/run.ts`,
 * `bench/ab.ts` and `bench/heap_sample.ts` load the bot with.
 *
 * @module
 */
import { fileURLToPath } from "node:url";

const WRK_SCRIPT = fileURLToPath(new URL("./post.lua", import.meta.url));

/** wrk's summary as `bench/post.lua` prints it. */
export interface WrkResult {
  duration_us: number;
  requests: number;
  bytes: number;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  latency_us: {
    min: number;
    mean: number;
    max: number;
    stdev: number;
    p50: number;
    p90: number;
    p99: number;
    p999: number;
  };
}

/** A body other than the script's text JSON: a prepared file and its content type. */
export interface WrkBody {
  file: string;
  contentType: string;
}

/**
 * Loads `url` with `connections` connections for `seconds` (at most two wrk threads, never
 * more threads than connections); throws with wrk's output when it fails.
 */
export async function wrk(
  url: string,
  connections: number,
  seconds: number,
  body?: WrkBody,
): Promise<WrkResult> {
  const threads = Math.min(2, connections);
  const child = new Deno.Command("wrk", {
    args: [`-t${threads}`, `-c${connections}`, `-d${seconds}s`, "--latency", "-s", WRK_SCRIPT, url],
    env: body ? { BENCH_BODY_FILE: body.file, BENCH_CONTENT_TYPE: body.contentType } : {},
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // wrk stops itself after `seconds`; the kill is a backstop against a wedged run.
  const killer = setTimeout(() => child.kill("SIGKILL"), (seconds + 30) * 1000);
  const out = await child.output();
  clearTimeout(killer);
  const text = new TextDecoder().decode(out.stdout);
  const line = text.split("\n").find((l) => l.startsWith("WRK_JSON "));
  if (!out.success || !line) {
    throw new Error(`wrk failed (${out.code}): ${text}\n${new TextDecoder().decode(out.stderr)}`);
  }
  return JSON.parse(line.slice("WRK_JSON ".length)) as WrkResult;
}
