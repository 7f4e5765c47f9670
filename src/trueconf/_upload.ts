// Step 2 of sending a file: the multipart HTTP upload bound to an uploadTaskId.
import { TrueConfHttpError, uploadRefusalAdvice } from "./errors.ts";
import type { HttpTransport } from "./_http.ts";
import { num, record, str } from "./_json.ts";
import { UPLOAD_PATH } from "./endpoints.ts";
import type { OutgoingFile } from "./types.ts";
import { concatBytes } from "../bytes.ts";

interface Part {
  field: string;
  name: string;
  mimeType: string;
  bytes: Uint8Array;
}

// Raw UTF-8 filenames as the Python SDK sends them (aiohttp quote_fields=False), with the
// three characters that would break the header escaped the way browsers do (HTML spec).
function quoteFilename(name: string): string {
  return name.replace(/"/g, "%22").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}

function headerValue(v: string): string {
  return v.replace(/[\r\n]/g, " ");
}

/** The multipart/form-data body as its pieces: part headers, the parts' own bytes, trailer. */
function multipartChunks(parts: Part[], boundary: string): Uint8Array<ArrayBuffer>[] {
  const enc = new TextEncoder();
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  for (const p of parts) {
    chunks.push(enc.encode(
      `--${boundary}\r\nContent-Disposition: form-data; name="${p.field}"; filename="${
        quoteFilename(p.name)
      }"\r\n` +
        `Content-Type: ${headerValue(p.mimeType || "application/octet-stream")}\r\n\r\n`,
    ));
    chunks.push(p.bytes as Uint8Array<ArrayBuffer>);
    chunks.push(enc.encode("\r\n"));
  }
  chunks.push(enc.encode(`--${boundary}--\r\n`));
  return chunks;
}

/** A multipart/form-data body; exported for tests. */
export function buildMultipart(parts: Part[], boundary: string): Uint8Array<ArrayBuffer> {
  return concatBytes(multipartChunks(parts, boundary));
}

/**
 * POSTs the file (and optional preview) to `/bridge/api/client/v1/files` with the
 * `Upload-Task-Id` header and no other credentials; returns the `temporalFileId`.
 */
export async function uploadBytes(
  http: HttpTransport,
  httpBase: string,
  uploadTaskId: string,
  file: OutgoingFile,
  opts: { timeoutMs: number; signal?: AbortSignal },
): Promise<string> {
  const boundary = `----trueconf-bot-${crypto.randomUUID()}`;
  const parts: Part[] = [{
    field: "file",
    name: file.name,
    mimeType: file.mimeType,
    bytes: file.bytes,
  }];
  if (file.preview) parts.push({ field: "preview", ...file.preview });
  // Sent as its pieces with the real Content-Length (1 MiB views written on the socket):
  // the file's bytes are never joined or copied here (issue 16: a 25 MB upload went from
  // +103 MiB through fetch with a Blob to a few MiB for the send).
  const res = await http.send(httpBase + UPLOAD_PATH, {
    method: "POST",
    headers: {
      "content-type": `multipart/form-data; boundary=${boundary}`,
      "upload-task-id": uploadTaskId,
      accept: "application/json",
    },
    chunks: multipartChunks(parts, boundary),
    // Files come in bursts (an alert with screenshots, a stream of photos): the next upload
    // reuses this connection (_http1_client.ts).
    keepAlive: true,
    timeoutMs: opts.timeoutMs,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  let json: unknown = undefined;
  try {
    json = JSON.parse(res.text);
  } catch {
    // reported below with the status
  }
  const j = record(json);
  if (res.status < 200 || res.status >= 300) {
    const code = num(j.error, NaN);
    const desc = str(j.error_description) || res.text.slice(0, 200).trim();
    throw new TrueConfHttpError(
      `file upload failed: HTTP ${res.status}${desc ? ` (${desc})` : ""} — ${
        uploadRefusalAdvice(res.status)
      }`,
      res.status,
      Number.isFinite(code) ? code : undefined,
    );
  }
  const id = str(j.temporalFileId);
  if (!id) {
    throw new TrueConfHttpError(
      `file upload: HTTP ${res.status} without temporalFileId`,
      res.status,
    );
  }
  return id;
}
