/**
 * File names for fetched attachments: from Content-Disposition, else from the URL.
 *
 * @module
 */
import { parseHeaderValue } from "./header_params.ts";

/**
 * Picks the file name a download should carry: the Content-Disposition `filename*`
 * (RFC 5987) or `filename` parameter, else the last URL path segment, decoded; null when
 * neither gives a usable name. Path parts and control characters are removed, since the
 * name is shown in a chat and may be written to disk.
 */
export function pickFilename(contentDisposition: string | undefined, url: URL): string | null {
  if (contentDisposition) {
    const fromHeader = filenameFromContentDisposition(contentDisposition);
    if (fromHeader) return fromHeader;
  }
  const segment = url.pathname.split("/").pop() ?? "";
  return cleanFileName(decodePercent(segment));
}

function filenameFromContentDisposition(header: string): string | null {
  const { params } = parseHeaderValue(header);
  // RFC 6266: the extended `filename*` wins when it decodes; a bad one falls back.
  for (const name of ["filename*", "filename"]) {
    const value = params.get(name);
    const cleaned = value === undefined ? null : cleanFileName(value);
    if (cleaned) return cleaned;
  }
  return null;
}

function decodePercent(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * The one file-name cleaner (issue 11.5; there were three): the last path segment only,
 * without control characters, trimmed, at most 255 characters (what file systems take);
 * null when nothing usable is left (empty, `.` or `..`). Used for downloads here, uploads in
 * the request body (`decode_body.ts`) and names sent to TrueConf (`deliverer.ts`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(cleanFileName("C:\\temp\\..\\report.pdf"), "report.pdf");
 * assert.equal(cleanFileName("../"), null);
 * ```
 */
export function cleanFileName(name: string): string | null {
  // deno-lint-ignore no-control-regex
  const base = (name.split(/[/\\]/).pop() ?? "").replace(/[\u0000-\u001f\u007f]/g, "").trim();
  if (base === "" || base === "." || base === "..") return null;
  return base.length > 255 ? base.slice(0, 255) : base;
}
