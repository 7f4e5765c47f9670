/**
 * Structured logging: one JSON object a line (default) or a human-readable line for
 * terminals. Every field passes through {@link redact} so a full hook token can never
 * reach a log line, even when a caller logs a raw URL or path by mistake.
 *
 * @module
 */

/** Log levels in increasing severity. */
export type LogLevel = "debug" | "info" | "warn" | "error";
/** `json`: one JSON object a line; `pretty`: `time LEVEL msg key=value …`. */
export type LogFormat = "json" | "pretty";

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Extra fields attached to a log line. */
export type LogFields = Record<string, unknown>;

/** A logger; `child` returns one that adds fixed fields to every line. */
export interface Logger {
  /** Detail for debugging; off at the default level. */
  debug(msg: string, fields?: LogFields): void;
  /** Normal operation (one line per delivery). */
  info(msg: string, fields?: LogFields): void;
  /** Something an operator may want to look at. */
  warn(msg: string, fields?: LogFields): void;
  /** Something failed and needs attention. */
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
}

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Lines below this level are dropped. Default `info`. */
  level?: LogLevel;
  /** Default `json`. */
  format?: LogFormat;
  /** Where lines go; default stderr. Tests pass a collector. */
  write?: (line: string) => void;
  /** Fixed fields on every line. */
  fields?: LogFields;
}

// A hook path segment: /hook/<token> or /hooks/<token>. Tokens are URL-safe base64.
const HOOK_PATH = /(\/hooks?\/)([A-Za-z0-9_-]{4})[A-Za-z0-9_-]{8,}([A-Za-z0-9_-]{4})/g;

/**
 * Masks hook tokens inside a string (`/hook/abcd…wxyz`).
 *
 * @example
 * ```ts
 * redact("POST /hook/abcdefghijklmnopqrstuvwxyz012345"); // "POST /hook/abcd…2345"
 * ```
 */
export function redact(text: string): string {
  return text.replace(HOOK_PATH, "$1$2…$3");
}

function clean(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return redact(value);
  if (value instanceof Error) {
    return { name: value.name, message: redact(value.message) };
  }
  if (depth < 4 && Array.isArray(value)) return value.map((v) => clean(v, depth + 1));
  if (depth < 4 && value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = clean(v, depth + 1);
    return out;
  }
  return value;
}

function defaultWrite(line: string): void {
  // Synchronous write: log lines must not be lost when the process exits right after.
  Deno.stderr.writeSync(new TextEncoder().encode(line + "\n"));
}

/**
 * Creates a logger.
 *
 * @example
 * ```ts
 * const log = createLogger({ level: "debug", format: "pretty" });
 * log.info("delivered", { hook: "h1", ms: 3 });
 * ```
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const min = LEVELS[options.level ?? "info"];
  const format = options.format ?? "json";
  const write = options.write ?? defaultWrite;
  const base = options.fields ?? {};

  const emit = (level: LogLevel, msg: string, fields?: LogFields) => {
    if (LEVELS[level] < min) return;
    const all = clean({ ...base, ...fields }) as Record<string, unknown>;
    const time = new Date().toISOString();
    // The finished line is redacted once more: clean() stops descending at depth 4, and
    // a token in JSON text looks the same as in the value (URL-safe characters, `/` unescaped).
    if (format === "json") {
      write(redact(JSON.stringify({ time, level, msg: redact(msg), ...all })));
    } else {
      const rest = Object.entries(all)
        .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
        .join(" ");
      write(
        redact(`${time} ${level.toUpperCase().padEnd(5)} ${redact(msg)}${rest ? " " + rest : ""}`),
      );
    }
  };

  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (fields) => createLogger({ ...options, fields: { ...base, ...fields } }),
  };
}

/** A logger that drops everything; the default for library code under test. */
export const silentLogger: Logger = createLogger({ level: "error", write: () => {} });
