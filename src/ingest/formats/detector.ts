/**
 * {@link detectPayload}: {@link detectFormat} with the adapters, and zod, loaded with the first
 * request that needs them. The adapters would cost an idle bot several MiB of RSS and tens of
 * milliseconds of start-up (docs/benchmarks.md, "Memory and start"); the first hook request loads
 * them once, every later one finds them loaded. zod is loaded only once a payload needs a schema
 * (`_schemas.ts`): a multipart upload never does, and a fresh bot's first 25 MB upload peaked
 * about 3 MiB lower without it (docs/benchmarks.md, "The 25 MB upload (session 5, upload)").
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { detectPayload } from "./detector.ts";
 *
 * const body = { kind: "json", value: { text: "deployed" } } as const;
 * assert.equal((await detectPayload({ body, headers: new Map() })).format, "native");
 * ```
 *
 * @module
 */
import type { DetectedPayload, detectFormat } from "./detect.ts";
import { loadSchemas, SchemasNotLoaded } from "./_schemas.ts";
import type { PayloadInput } from "./types.ts";

let loaded: typeof detectFormat | undefined;
let loading: Promise<typeof detectFormat> | undefined;

/**
 * Detects the format of a request and parses it, as {@link detectFormat} does: at once (no
 * promise) when the adapters and whatever schemas the payload needs are loaded, as they are for
 * every request after the first few; else after loading them.
 *
 * @throws PayloadError as {@link detectFormat}
 */
export function detectPayload(
  input: PayloadInput,
  forced?: string | null,
): DetectedPayload | Promise<DetectedPayload> {
  if (loaded === undefined) return adapters().then(() => detectPayload(input, forced));
  try {
    return loaded(input, forced);
  } catch (e) {
    if (!(e instanceof SchemasNotLoaded)) throw e;
  }
  // Nothing was changed by the first run (detection and parsing have no side effects).
  return loadSchemas().then(() => loaded!(input, forced));
}

function adapters(): Promise<typeof detectFormat> {
  return loading ??= import("./detect.ts").then(
    (m) => loaded = m.detectFormat,
    (e) => {
      // A failed load (a broken install) fails this request; the next one tries again.
      loading = undefined;
      throw e;
    },
  );
}
