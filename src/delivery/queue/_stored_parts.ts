/**
 * How planned parts are written into an outbox entry: JSON only, so uploaded bytes are
 * replaced by a reference to their spool slot (the part index) and parts that already
 * reached the chat before the entry was written (a synchronous run that stopped halfway)
 * keep only their label, so their text is never stored, let alone re-posted.
 *
 * @module
 */
import type { ParseMode, TextOp } from "../../message.ts";
import type { Part } from "../deliverer.ts";

/** A part as stored in an outbox entry. */
export type StoredPart =
  | {
    readonly k: "text";
    readonly label: string;
    readonly text: string;
    readonly parseMode: ParseMode;
    /** Living-message instructions (plain JSON), resolved when the part is posted. */
    readonly op?: TextOp;
  }
  | {
    readonly k: "attachment";
    readonly label: string;
    readonly kind: "photo" | "document";
    /** Set for URL attachments (fetched at delivery time through the SSRF guard). */
    readonly url?: string;
    /** Set for uploaded bytes: their size; the bytes are in spool slot = this part's index. */
    readonly spooledBytes?: number;
    readonly filename?: string;
    readonly mimeType?: string;
    readonly caption?: { readonly text: string; readonly parseMode: ParseMode };
    /** The hook (and key) whose registry learns this file's id. */
    readonly op?: TextOp;
  }
  /** Posted (or skipped for good) before the entry was written. */
  | { readonly k: "done"; readonly label: string };

/**
 * Converts parts for storage. Parts before `from` become `done`; uploaded bytes of the
 * others are returned in `blobs` (slot → bytes; none: undefined) to be spooled before the
 * entry is inserted.
 */
export function storeParts(
  parts: readonly Part[],
  from: number,
): { stored: StoredPart[]; blobs: Map<number, Uint8Array> | undefined } {
  // Created with the first upload: most messages have none.
  let blobs: Map<number, Uint8Array> | undefined;
  const stored = parts.map((p, i): StoredPart => {
    if (i < from) return { k: "done", label: p.label };
    if (p.kind === "text") {
      return {
        k: "text",
        label: p.label,
        text: p.text,
        parseMode: p.parseMode,
        ...(p.op ? { op: p.op } : {}),
      };
    }
    const a = p.attachment;
    const common = {
      k: "attachment" as const,
      label: p.label,
      kind: a.kind,
      ...(a.filename !== undefined ? { filename: a.filename } : {}),
      ...(a.mimeType !== undefined ? { mimeType: a.mimeType } : {}),
      ...(p.caption ? { caption: p.caption } : {}),
      ...(p.op ? { op: p.op } : {}),
    };
    if (a.source.type === "url") return { ...common, url: a.source.url };
    (blobs ??= new Map()).set(i, a.source.bytes);
    return { ...common, spooledBytes: a.source.bytes.length };
  });
  return { stored, blobs };
}

/**
 * Rebuilds deliverable parts. `readBlob(slot)` returns spooled bytes; it is only called for
 * parts at or after `from` and not in `done`. `done` parts come back as empty texts the run never reaches.
 */
export async function loadParts(
  stored: readonly StoredPart[],
  from: number,
  readBlob: (slot: number) => Promise<Uint8Array | null>,
  done?: ReadonlySet<number>,
): Promise<Part[]> {
  const out: Part[] = [];
  for (let i = 0; i < stored.length; i++) {
    const s = stored[i]!;
    if (s.k === "done" || i < from || done?.has(i)) {
      out.push({ kind: "text", text: "", parseMode: "text", label: s.label });
      continue;
    }
    if (s.k === "text") {
      out.push({
        kind: "text",
        text: s.text,
        parseMode: s.parseMode,
        label: s.label,
        ...(s.op ? { op: s.op } : {}),
      });
      continue;
    }
    let source: { type: "url"; url: string } | { type: "bytes"; bytes: Uint8Array };
    if (s.url !== undefined) {
      source = { type: "url", url: s.url };
    } else {
      const bytes = await readBlob(i);
      if (!bytes && s.spooledBytes !== 0) throw new SpoolLostError(s.label);
      source = { type: "bytes", bytes: bytes ?? new Uint8Array() };
    }
    out.push({
      kind: "attachment",
      label: s.label,
      attachment: {
        kind: s.kind,
        source,
        ...(s.filename !== undefined ? { filename: s.filename } : {}),
        ...(s.mimeType !== undefined ? { mimeType: s.mimeType } : {}),
      },
      ...(s.caption ? { caption: s.caption } : {}),
      ...(s.op ? { op: s.op } : {}),
    });
  }
  return out;
}

/** The spooled bytes of an upload are gone (storage damaged or edited by hand). */
export class SpoolLostError extends Error {
  override name = "SpoolLostError";
  constructor(readonly label: string) {
    super(`the uploaded bytes of ${label} are missing from the spool`);
  }
}
