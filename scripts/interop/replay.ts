/**
 * Replays requests captured by `recorder.ts` through the bot's own decoding and format
 * detection (`decodeBody` + `detectFormat`, exactly as the endpoint calls them) and prints the
 * Message each one becomes: format, reply style, text, attachments. No bot, no network.
 *
 *   ./deno run --allow-read scripts/interop/replay.ts /tmp/interop-capture/*.json
 *
 * @module
 */
import { decodeBody } from "../../src/ingest/decode_body.ts";
import { detectFormat } from "../../src/ingest/formats/detect.ts";
import { ROUTE_HEADER } from "../../src/ingest/formats/types.ts";
import { PayloadError } from "../../src/ingest/formats/types.ts";
import { loadSchemas } from "../../src/ingest/formats/_schemas.ts";
import type { Message } from "../../src/message.ts";
import { decodeBase64 } from "./_base64.ts";
import type { Capture } from "./recorder.ts";

/** What a captured request turns into. */
export type ReplayResult =
  | { ok: true; format: string; reply: string; fallback?: string; message: Message }
  | { ok: false; status: number; code: string; error: string };

/** Runs one capture through decodeBody + detectFormat the way `src/ingest/app.ts` does. */
export async function replay(capture: Capture): Promise<ReplayResult> {
  const bytes = decodeBase64(capture.bodyBase64);
  const headers = new Map(Object.entries(capture.headers).map(([k, v]) => [k.toLowerCase(), v]));
  headers.delete(ROUTE_HEADER);
  const url = new URL(capture.path, "http://x");
  if (url.pathname.startsWith("/hooks/")) headers.set(ROUTE_HEADER, "hooks");
  // detectFormat parses synchronously once zod is loaded (the HTTP layer loads it on demand).
  await loadSchemas();
  try {
    const body = await decodeBody(bytes, headers.get("content-type") ?? null, { maxFiles: 10 });
    const d = detectFormat({ body, headers }, url.searchParams.get("format"));
    return {
      ok: true,
      format: d.format,
      reply: d.reply,
      ...(d.fallback ? { fallback: d.fallback } : {}),
      message: d.message,
    };
  } catch (e) {
    if (e instanceof PayloadError) {
      return { ok: false, status: e.status, code: e.code, error: e.message };
    }
    throw e;
  }
}

/** A Message as terminal lines. */
export function describe(message: Message): string {
  const lines = [
    `parseMode=${message.parseMode}`,
    ...message.text.split("\n").map((l) => `| ${l}`),
  ];
  for (const a of message.attachments) {
    const src = a.source.type === "url" ? a.source.url : `${a.source.bytes.length} bytes`;
    lines.push(`+ ${a.kind} ${a.filename ?? "(no name)"} ${a.mimeType ?? ""} [${src}]`);
  }
  return lines.join("\n");
}

if (import.meta.main) {
  for (const file of Deno.args) {
    const capture = JSON.parse(await Deno.readTextFile(file)) as Capture;
    const r = await replay(capture);
    console.log(
      `== ${file}: ${capture.method} ${capture.path} (${capture.headers["user-agent"] ?? "?"})`,
    );
    if (r.ok) {
      console.log(
        `format=${r.format} reply=${r.reply}${r.fallback ? ` FALLBACK=${r.fallback}` : ""}`,
      );
      console.log(describe(r.message));
    } else {
      console.log(`REFUSED ${r.status} ${r.code}: ${r.error}`);
    }
  }
}
