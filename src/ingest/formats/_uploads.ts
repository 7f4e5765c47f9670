/**
 * Uploaded file parts → attachments, shared by the dialects that take files in a multipart body
 * (Apprise `form://`, Discord `files[n]`, ntfy uploads): an image is shown as a photo, anything
 * else as a document, each keeping its name and declared type.
 *
 * @module
 */
import type { Attachment } from "../../message.ts";
import { truncate } from "./_markup.ts";
import { PayloadError, type UploadedFile } from "./types.ts";

/** Longest file name kept (TrueConf shows it; longer names are cut, not refused). */
export const MAX_FILENAME = 255;

/**
 * `image/*` (except SVG, which cannot get a preview) is shown as a photo; without a useful
 * type the file name's extension decides.
 */
export function kindOf(
  mimeType: string | undefined,
  filename: string | undefined,
): Attachment["kind"] {
  const mt = mimeType?.toLowerCase().split(";")[0]?.trim() ?? "";
  if (mt.startsWith("image/")) return mt === "image/svg+xml" ? "document" : "photo";
  if (mt !== "" && mt !== "application/octet-stream") return "document";
  return /\.(png|jpe?g|gif|webp|bmp)$/i.test(filename ?? "") ? "photo" : "document";
}

/** One attachment from bytes with an optional name and type. */
export function bytesAttachment(
  bytes: Uint8Array,
  filename: string | undefined,
  mimeType: string | undefined,
): Attachment {
  const name = filename === undefined || filename === ""
    ? undefined
    : truncate(filename, MAX_FILENAME);
  const type = mimeType === undefined || mimeType === "" ? undefined : mimeType;
  return {
    kind: kindOf(type, name),
    source: { type: "bytes", bytes },
    ...(name !== undefined && { filename: name }),
    ...(type !== undefined && { mimeType: type }),
  };
}

/**
 * Every uploaded part as an attachment, in order. A browser's empty, nameless part for a
 * file input left blank is no file; a named but empty part is refused (`invalid_attachment`).
 */
export function uploadedAttachments(files: readonly UploadedFile[]): Attachment[] {
  const real = files.filter((f) => f.bytes.length > 0 || f.filename !== "");
  return real.map((f, i) => {
    if (f.bytes.length === 0) {
      throw new PayloadError(
        "invalid_attachment",
        `File part ${i + 1} ("${truncate(f.field, 50)}") is empty.`,
      );
    }
    return bytesAttachment(f.bytes, f.filename, f.contentType);
  });
}
