/**
 * Builds adapter inputs for the format tests: a JSON fixture from `tests/ingest/fixtures/`,
 * or an inline body, with lower-cased headers.
 *
 * @module
 */
import type { PayloadInput, RequestBody, UploadedFile } from "../../../src/ingest/formats/types.ts";
import { loadSchemas } from "../../../src/ingest/formats/_schemas.ts";

// The format tests call adapters directly, which parse synchronously once zod is loaded (the
// HTTP layer loads it when a payload first needs it: detectPayload, tests/ingest/formats/detector_test.ts).
await loadSchemas();

/** Reads and parses `tests/ingest/fixtures/<name>.json`. */
export function fixture(name: string): unknown {
  return JSON.parse(Deno.readTextFileSync(new URL(`../fixtures/${name}.json`, import.meta.url)));
}

/** A JSON body input. */
export function jsonInput(value: unknown, headers: Record<string, string> = {}): PayloadInput {
  return input({ kind: "json", value }, headers);
}

/** A form body input (fields are single- or multi-valued). */
export function formInput(
  fields: Record<string, string | string[]>,
  files: UploadedFile[] = [],
  headers: Record<string, string> = {},
): PayloadInput {
  const map = new Map<string, readonly string[]>(
    Object.entries(fields).map(([k, v]) => [k, Array.isArray(v) ? v : [v]]),
  );
  return input({ kind: "form", fields: map, files }, headers);
}

/** Any body with headers (names lower-cased like the HTTP layer does). */
export function input(body: RequestBody, headers: Record<string, string> = {}): PayloadInput {
  return {
    body,
    headers: new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])),
  };
}
