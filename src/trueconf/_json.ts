// Lenient readers for server payloads: TrueConf versions differ in what they send, so
// missing or oddly typed fields degrade to defaults instead of throwing.

/** The value as a plain object, or an empty one. */
export function record(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v)
    ? v as Record<string, unknown>
    : {};
}

/** A string field; numbers are stringified (ids are opaque), anything else is `fallback`. */
export function str(v: unknown, fallback = ""): string {
  if (typeof v === "string") return v;
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  return fallback;
}

/** A numeric field; numeric strings are accepted. */
export function num(v: unknown, fallback: number): number {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v))) return Number(v);
  return fallback;
}

/** A boolean field; `"true"` counts (some events send booleans as strings). */
export function bool(v: unknown): boolean {
  return v === true || v === "true";
}
