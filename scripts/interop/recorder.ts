/**
 * A tiny HTTP recorder for interop work: listens on 127.0.0.1, answers every request with
 * `200 text/plain ok` (what Slack/Mattermost answer, so every sender counts it as success),
 * prints method, path and headers, and writes each request to `<dir>/<n>.json` with the body as
 * base64 (and as text when it is UTF-8) so `replay.ts` can feed it through the adapters.
 *
 *   ./deno run --allow-net=127.0.0.1 --allow-read --allow-write scripts/interop/recorder.ts [--port 18090] [--dir /tmp/interop-capture] [--status 200]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { encodeBase64 } from "./_base64.ts";

/** One captured request, as stored on disk. */
export interface Capture {
  readonly seq: number;
  readonly at: string;
  readonly method: string;
  /** Path and query, e.g. `/hooks/abc`. */
  readonly path: string;
  /** Header names lower-cased, in arrival order. */
  readonly headers: Record<string, string>;
  readonly bodyBase64: string;
  /** The body as text when it decodes as UTF-8, else null. */
  readonly bodyText: string | null;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      port: { type: "string", default: "18090" },
      dir: { type: "string", default: "/tmp/interop-capture" },
      status: { type: "string", default: "200" },
    },
  });
  const dir = values.dir;
  const status = Number(values.status);
  await Deno.mkdir(dir, { recursive: true });
  let seq = 0;
  for (const e of Deno.readDirSync(dir)) {
    const n = Number(e.name.replace(/\.json$/, ""));
    if (Number.isInteger(n) && n > seq) seq = n;
  }
  Deno.serve({
    hostname: "127.0.0.1",
    port: Number(values.port),
    onListen: ({ port }) => console.log(`recorder on http://127.0.0.1:${port}/ → ${dir}`),
  }, async (req) => {
    const bytes = new Uint8Array(await req.arrayBuffer());
    const url = new URL(req.url);
    const headers: Record<string, string> = {};
    req.headers.forEach((v, k) => headers[k] = v);
    let bodyText: string | null = null;
    try {
      bodyText = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch { /* binary */ }
    const capture: Capture = {
      seq: ++seq,
      at: new Date().toISOString(),
      method: req.method,
      path: url.pathname + url.search,
      headers,
      bodyBase64: encodeBase64(bytes),
      bodyText,
    };
    await Deno.writeTextFile(`${dir}/${capture.seq}.json`, JSON.stringify(capture, null, 2) + "\n");
    console.log(`#${capture.seq} ${req.method} ${capture.path} ${bytes.length} B`);
    for (const [k, v] of Object.entries(headers)) console.log(`    ${k}: ${v}`);
    const shown = bodyText ?? `(binary, ${bytes.length} bytes)`;
    console.log(`    ${shown.length > 2000 ? shown.slice(0, 2000) + "…" : shown}`);
    return new Response(status === 200 ? "ok" : "error", {
      status,
      headers: { "content-type": "text/plain" },
    });
  });
}
