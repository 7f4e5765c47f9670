/**
 * Runs a raw request body through the real pipeline pieces the HTTP layer uses —
 * {@link decodeBody} then {@link detectFormat} — so format tests see what a sender would get.
 *
 * @module
 */
import { decodeBody } from "../../../src/ingest/decode_body.ts";
import { type DetectedPayload, detectFormat } from "../../../src/ingest/formats/detect.ts";
import { PayloadError, type RequestBody } from "../../../src/ingest/formats/types.ts";
import { isNtfyPublish } from "../../../src/ingest/formats/ntfy_publish.ts";
import { loadSchemas } from "../../../src/ingest/formats/_schemas.ts";

// detectFormat parses synchronously once zod is loaded (the HTTP layer loads it on demand).
await loadSchemas();

/** Options for {@link post}. */
export interface PostOptions {
  /** `hooks` when the request came via `/hooks/<token>`. */
  readonly route?: "hook" | "hooks";
  /** Extra request headers. */
  readonly headers?: Record<string, string>;
  /** The `?format=` query value. */
  readonly format?: string;
  /** Query parameters of the request URL (ntfy fields, Google Chat `threadKey`). */
  readonly query?: Record<string, string>;
  /** Pass the body undecoded, as the HTTP layer does for an ntfy publish. */
  readonly raw?: boolean;
}

/** Decodes and detects like the HTTP layer does for `POST /hook(s)/<token>`. */
export async function post(
  body: string | Uint8Array,
  contentType: string | null,
  options: PostOptions = {},
): Promise<DetectedPayload> {
  const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
  const decoded: RequestBody = options.raw
    ? { kind: "raw", bytes, contentType: contentType ?? "" }
    : await decodeBody(bytes, contentType, { maxFiles: 10 });
  const headers = new Map(
    Object.entries(options.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]),
  );
  if (options.route === "hooks") headers.set("x-webhook-route", "hooks");
  const query = new Map(Object.entries(options.query ?? {}));
  return detectFormat({ body: decoded, headers, query }, options.format ?? null);
}

/** The raw bytes of `tests/ingest/fixtures/dialects/<name>.json`. */
export function dialectFixture(name: string): Uint8Array {
  return Deno.readFileSync(new URL(`../fixtures/dialects/${name}.json`, import.meta.url));
}

/** The raw bytes of `tests/ingest/fixtures/<name>.json`. */
export function fixtureBytes(name: string): Uint8Array {
  return Deno.readFileSync(new URL(`../fixtures/${name}.json`, import.meta.url));
}

/** The expected rendering `tests/ingest/fixtures/<name>.expected.md` (trailing newline dropped). */
export function expected(name: string): string {
  return Deno.readTextFileSync(new URL(`../fixtures/${name}.expected.md`, import.meta.url))
    .replace(/\n$/, "");
}

/** Awaits a request expected to be refused and returns its {@link PayloadError}. */
export async function refused(promise: Promise<unknown>): Promise<PayloadError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof PayloadError) return error;
    throw error;
  }
  throw new Error("expected a PayloadError, but the request was accepted");
}

/** A recorder capture (`scripts/interop/recorder.ts`) in `tests/ingest/fixtures/real/`. */
export interface Capture {
  readonly method: string;
  /** Path and query, e.g. `/hooks/abc`, `/message`, `/`. */
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly bodyBase64: string;
}

/** Reads `tests/ingest/fixtures/real/<name>.json`. */
export function capture(name: string): Capture {
  return JSON.parse(
    Deno.readTextFileSync(new URL(`../fixtures/real/${name}.json`, import.meta.url)),
  ) as Capture;
}

/**
 * Replays a capture as the HTTP layer sees it: the route from its path (`/hooks/` →
 * Mattermost's), its query, an ntfy publish's body undecoded at a topic URL (at the server root
 * ntfy reads JSON), and `format` as a route forces it (Gotify's `/message`).
 */
export function replay(name: string, format?: string): Promise<DetectedPayload> {
  const c = capture(name);
  const url = new URL(c.path, "http://x");
  // The route marker is the HTTP layer's: a captured one is not the client's to send.
  const headers = Object.fromEntries(
    Object.entries(c.headers).filter(([k]) => k.toLowerCase() !== "x-webhook-route"),
  );
  const query = Object.fromEntries(url.searchParams);
  const contentType = headers["content-type"] ?? null;
  const ntfy = isNtfyPublish(
    new Map(Object.entries(headers)),
    c.method,
    new Map(Object.entries(query)),
  );
  return post(Uint8Array.fromBase64(c.bodyBase64), contentType, {
    headers,
    query,
    route: url.pathname.startsWith("/hooks/") ? "hooks" : "hook",
    raw: ntfy && url.pathname !== "/" && !(contentType ?? "").startsWith("multipart/"),
    ...(format !== undefined ? { format } : ntfy ? { format: "ntfy" } : {}),
  });
}
