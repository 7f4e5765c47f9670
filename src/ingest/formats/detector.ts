/**
 * {@link detectFormat}, loaded with the first request that needs it. The adapters, and zod
 * that their schemas are built with, would cost an idle bot about 11 MiB of RSS and 50 ms of
 * start-up (docs/benchmarks.md, "Memory and start"); the first hook request loads them once
 * (tens of milliseconds), every later one finds them loaded.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatDetector } from "./detector.ts";
 *
 * const detect = await formatDetector();
 * const body = { kind: "json", value: { text: "deployed" } } as const;
 * assert.equal(detect({ body, headers: new Map() }).format, "native");
 * ```
 *
 * @module
 */
import type { detectFormat } from "./detect.ts";

let loaded: typeof detectFormat | undefined;
let loading: Promise<typeof detectFormat> | undefined;

/** The format detector: at once once loaded, else after loading the adapters. */
export function formatDetector(): typeof detectFormat | Promise<typeof detectFormat> {
  return loaded ?? (loading ??= import("./detect.ts").then(
    (m) => loaded = m.detectFormat,
    (e) => {
      // A failed load (a broken install) fails this request; the next one tries again.
      loading = undefined;
      throw e;
    },
  ));
}
