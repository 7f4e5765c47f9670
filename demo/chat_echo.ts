/**
 * Renders what the simulated chat receives as terminal lines, so a newcomer watching
 * `deno task demo` sees each delivery land: `[Ops] text`, `[Ops] 📷 photo …`, `[Ops] 📄 …`.
 *
 * @module
 */
import type { SentRecord } from "../tests/support/fake_trueconf.ts";
import { shownText } from "../tests/support/shown_text.ts";
import { imageDimensions } from "../src/delivery/preview/mod.ts";

/** Options of {@link formatSent}. */
export interface EchoOptions {
  /** Longer texts are cut after this many lines, so a 1 MB post does not flood the terminal. */
  maxLines?: number;
}

/**
 * `1536` → `1.5 KB`; powers of 1024, one decimal below 10.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(humanSize(532), "532 B");
 * assert.equal(humanSize(3 * 1024 * 1024), "3.0 MB");
 * ```
 */
export function humanSize(bytes: number): string {
  const units = ["B", "KB", "MB", "GB"];
  let n = bytes;
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${n} ${units[0]}` : `${n < 10 ? n.toFixed(1) : Math.round(n)} ${units[i]}`;
}

/**
 * One chat post as terminal text: the first line starts with `[label] `, further lines are
 * indented under it so multi-line messages stay readable.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const sent = { kind: "text", chatId: "c1", messageId: "m1", timestamp: 0, connectionId: "s1" };
 * assert.equal(formatSent({ ...sent, kind: "text", text: "hi" }, "Ops"), "[Ops] hi");
 * ```
 */
export function formatSent(record: SentRecord, label: string, options: EchoOptions = {}): string {
  const head = `[${label}] `;
  const lines: string[] = [];
  if (record.kind === "text") {
    const mode = record.parseMode && record.parseMode !== "text" ? `(${record.parseMode}) ` : "";
    // Line breaks as a TrueConf client shows them (`<br>` in HTML), so replies stay readable.
    lines.push(...cut(`${mode}${shownText(record)}`, options.maxLines ?? 20));
  } else {
    const file = record.file;
    const name = file?.name ?? "(unnamed)";
    const size = humanSize(file?.size ?? 0);
    if (record.kind === "photo") {
      // The fake records the preview's size but not its bytes, so the pixel size shown is the
      // photo's own, read from its header.
      const dims = file ? imageDimensions(file.bytes) : null;
      const px = dims ? `, ${dims.width}×${dims.height}` : "";
      const preview = record.preview ? `, preview ${humanSize(record.preview.size)}` : "";
      lines.push(`📷 photo ${name} (${size}${px}${preview})`);
    } else {
      lines.push(`📄 document ${name} (${size}, ${file?.mimeType ?? "?"})`);
    }
    if (record.caption?.text) lines.push(...cut(`caption: ${record.caption.text}`, 5));
  }
  const pad = " ".repeat(head.length);
  return lines.map((l, i) => ((i === 0 ? head : pad) + l).trimEnd()).join("\n");
}

function cut(text: string, maxLines: number): string[] {
  const lines = text.split("\n");
  if (lines.length <= maxLines) return lines;
  return [...lines.slice(0, maxLines), `… (${lines.length - maxLines} more lines)`];
}
