/**
 * File names for fetched attachments: from Content-Disposition, else from the URL.
 *
 * @module
 */

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
  return clean(decodePercent(segment));
}

function filenameFromContentDisposition(header: string): string | null {
  const extended = /(?:^|;)\s*filename\*\s*=\s*([^']*)'[^']*'([^;\s]+)/i.exec(header);
  if (extended) {
    const charset = (extended[1] ?? "").trim().toLowerCase();
    const value = extended[2] ?? "";
    const name = charset === "iso-8859-1" || charset === "latin1"
      ? value.replace(/%([0-9a-f]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16)))
      : decodePercent(value);
    const cleaned = clean(name);
    if (cleaned) return cleaned;
  }
  const plain = /(?:^|;)\s*filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]+))/i.exec(header);
  if (!plain) return null;
  const name = plain[1] !== undefined ? plain[1].replace(/\\(.)/g, "$1") : (plain[2] ?? "").trim();
  return clean(name);
}

function decodePercent(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function clean(name: string): string | null {
  // deno-lint-ignore no-control-regex
  const base = (name.split(/[/\\]/).pop() ?? "").replace(/[\u0000-\u001f\u007f]/g, "").trim();
  if (base === "" || base === "." || base === "..") return null;
  return base.length > 255 ? base.slice(0, 255) : base;
}
