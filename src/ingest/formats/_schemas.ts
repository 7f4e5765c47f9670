/**
 * zod for the adapters' schemas, loaded by the first payload that needs a schema rather than
 * with the adapters. Most payloads are checked by hand-written reads (`_read.ts`); a schema is
 * needed for native JSON, Slack-shaped JSON (Slack, Mattermost, Rocket.Chat, Discord embeds) and
 * Apprise attachments, while a multipart upload (`curl -F file=@…`) needs none. zod is about
 * 3 MiB of a fresh bot's memory, which counted in the peak of its first 25 MB upload
 * (docs/benchmarks.md, "The 25 MB upload (session 5, upload)").
 *
 * A schema used before zod is loaded throws {@link SchemasNotLoaded}; `detectPayload`
 * (detector.ts) then loads zod and detects again (an adapter's `detect` and `parse` have no side
 * effects, so running them twice is safe). Anything that calls adapters directly loads zod first
 * with {@link loadSchemas}.
 *
 * @module
 */
import type { z } from "zod";

/** The zod namespace schemas are built with. */
export type Zod = typeof z;

let zod: Zod | undefined;
let loading: Promise<void> | undefined;

/** A schema was needed before zod was loaded; load it ({@link loadSchemas}) and try again. */
export class SchemasNotLoaded extends Error {
  override readonly name = "SchemasNotLoaded";

  constructor() {
    super("zod is not loaded yet: await loadSchemas() before parsing");
  }
}

/**
 * A schema (or a set of them) built with zod on first use.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lazySchema, loadSchemas } from "./_schemas.ts";
 *
 * const text = lazySchema((z) => z.string());
 * await loadSchemas();
 * assert.equal(text().safeParse("hi").success, true);
 * ```
 */
export function lazySchema<T>(build: (z: Zod) => T): () => T {
  let built: T | undefined;
  return () => {
    if (built !== undefined) return built;
    if (zod === undefined) throw new SchemasNotLoaded();
    return built = build(zod);
  };
}

/** Loads zod once; resolves at once when it is loaded. */
export function loadSchemas(): Promise<void> {
  if (zod !== undefined) return Promise.resolve();
  return loading ??= import("zod").then(
    (m) => {
      zod = m.z;
    },
    (e) => {
      // A failed load (a broken install) fails this request; the next one tries again.
      loading = undefined;
      throw e;
    },
  );
}
