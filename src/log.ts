/**
 * Structured logging: one JSON object a line (default) or a human-readable line for
 * terminals. Every finished line passes through {@link redact} so a full hook token can never
 * reach a log line, even when a caller logs a raw URL or path by mistake.
 *
 * Lines go to a buffered stderr writer ({@link stderrSink}): the lines of one event-loop turn
 * leave in one write, at the end of the turn. Error lines, process exit and uncaught errors
 * flush at once, so nothing an operator needs is lost when the process dies. Writing one
 * info line per delivery this way costs a few microseconds (issue 16 measured 25 µs with a
 * syscall per line).
 *
 * @module
 */
import { setImmediate } from "node:timers";

/** Log levels in increasing severity. */
export type LogLevel = "debug" | "info" | "warn" | "error";
/**
 * `json`: one JSON object a line; `pretty`: `time LEVEL msg key=value …`; `journal`: the JSON
 * line behind a syslog priority prefix (`<3>` error, `<4>` warn, `<6>` info, `<7>` debug),
 * which journald strips and files as the line's priority, so `journalctl -p err` works.
 */
export type LogFormat = "json" | "pretty" | "journal";

/** sd-daemon(3) priority prefixes, read by journald on a service's stdout/stderr. */
const JOURNAL_PRIORITY: Record<LogLevel, string> = {
  error: "<3>",
  warn: "<4>",
  info: "<6>",
  debug: "<7>",
};

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
  /**
   * Where finished lines go (without the newline); default {@link stderrSink}. Tests pass a
   * collector. `level` is the line's level, for writers that route or flush by it.
   */
  write?: (line: string, level: LogLevel) => void;
  /** Fixed fields on every line. */
  fields?: LogFields;
}

// A hook path segment: /hook/<token>, /hooks/<token>, or Rocket.Chat's
// /hooks/<integration id>/<token> (the token is the last segment there; the id is no secret).
// Tokens are URL-safe base64.
const HOOK_PATH =
  /(\/hooks?\/(?:[A-Za-z0-9_-]+\/)?)([A-Za-z0-9_-]{4})[A-Za-z0-9_-]{8,}([A-Za-z0-9_-]{4})/g;

/**
 * Masks hook tokens inside a string (`/hook/abcd…wxyz`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(redact("POST /hook/abcdefghijklmnopqrstuvwxyz012345"), "POST /hook/abcd…2345");
 * assert.equal(redact("/hook/abcdefghijklmnopqrstuvwxyz012345/slack"), "/hook/abcd…2345/slack");
 * assert.equal(
 *   redact("/hooks/integration1/abcdefghijklmnopqrstuvwxyz012345"),
 *   "/hooks/integration1/abcd…2345",
 * );
 * ```
 */
export function redact(text: string): string {
  // Most lines name no hook path; the check is cheaper than a regex scan that finds nothing.
  return text.includes("/hook") ? text.replace(HOOK_PATH, "$1$2…$3") : text;
}

/**
 * JSON.stringify's replacer for log fields: errors become `{name, message}` (they would
 * otherwise serialise as `{}`), bigints their digits. Tokens need no care here: the finished
 * line is redacted as a whole, and JSON writes them unescaped (URL-safe characters, `/` kept).
 */
function fieldValue(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (typeof value === "bigint") return value.toString();
  return value;
}

/** True when some field needs {@link fieldValue} (an object that may hold an error, a bigint). */
function needsReplacer(fields: LogFields): boolean {
  for (const key in fields) {
    const v = fields[key];
    if ((typeof v === "object" && v !== null) || typeof v === "bigint") return true;
  }
  return false;
}

function stringify(value: unknown, plain = false): string {
  try {
    // A replacer costs about 3 µs a line; the per-delivery line holds only strings and numbers.
    return (plain ? JSON.stringify(value) : JSON.stringify(value, fieldValue)) ?? String(value);
  } catch {
    // A cycle: say so rather than lose the whole line.
    return JSON.stringify(String(value));
  }
}

/** A line writer that batches: see {@link stderrSink}. */
export interface LogSink {
  /** Queues one line (without its newline); error lines are written at once. */
  write(line: string, level: LogLevel): void;
  /** Writes every queued line now. */
  flush(): void;
}

/** The sink's buffer: a turn's lines beyond it are written in chunks of about this size. */
const BUFFER_BYTES = 64 * 1024;

const encoder = new TextEncoder();
const NEWLINE = 10;

/**
 * A buffered writer over a synchronous `write` (stderr by default): lines of one event-loop
 * turn are encoded into one reused buffer and written once, from `setImmediate`. Error lines
 * flush at once, and so do the process's `unload`, uncaught `error` and `unhandledrejection`
 * events, so the last lines before an exit or a crash are never lost. Only a SIGKILL can drop
 * the current turn's non-error lines. Encoding each line into the buffer as it comes (rather
 * than queueing the strings, joining them and encoding the join) allocates no copies of a
 * line: about 1 KiB less per delivery at c=64 (issue 16, `bench/heap_sample.ts`).
 * `writeAll` must be done with the bytes when it returns (the buffer is reused).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const written: string[] = [];
 * const sink = createLogSink((bytes) => written.push(new TextDecoder().decode(bytes)));
 * sink.write('{"msg":"a"}', "info");
 * sink.write('{"msg":"b"}', "info");
 * assert.deepEqual(written, []); // still this turn
 * sink.flush();
 * assert.deepEqual(written, ['{"msg":"a"}\n{"msg":"b"}\n']);
 * ```
 */
export function createLogSink(writeAll: (bytes: Uint8Array) => void): LogSink {
  const buffer = new Uint8Array(BUFFER_BYTES);
  let used = 0;
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (used === 0) return;
    const n = used;
    used = 0;
    writeAll(buffer.subarray(0, n));
  };
  const onTurnEnd = (): void => {
    if (scheduled) flush();
  };
  return {
    write(line, level) {
      // A UTF-16 unit encodes to at most 3 bytes: room for that, or flush first.
      const most = 3 * line.length + 1;
      if (most > BUFFER_BYTES - used) flush();
      if (most > BUFFER_BYTES) {
        writeAll(encoder.encode(line + "\n")); // a line larger than the buffer, on its own
      } else {
        used += encoder.encodeInto(line, buffer.subarray(used)).written;
        buffer[used++] = NEWLINE;
      }
      if (level === "error") flush();
      else if (!scheduled && used > 0) {
        scheduled = true;
        setImmediate(onTurnEnd);
      }
    },
    flush,
  };
}

function writeStderr(bytes: Uint8Array): void {
  // Synchronous and complete: a partial write (a full pipe) is continued, never dropped.
  while (bytes.length > 0) {
    const n = Deno.stderr.writeSync(bytes);
    if (n <= 0) return;
    bytes = bytes.subarray(n);
  }
}

let stderr: LogSink | null = null;

/**
 * The process's buffered stderr writer, created on first use; it flushes on exit and on
 * uncaught errors (see {@link createLogSink}).
 */
export function stderrSink(): LogSink {
  if (stderr) return stderr;
  const sink = createLogSink(writeStderr);
  const flush = () => sink.flush();
  globalThis.addEventListener("unload", flush);
  globalThis.addEventListener("error", flush);
  globalThis.addEventListener("unhandledrejection", flush);
  return stderr = sink;
}

/** A line of `msg` with the logger's fixed fields (`base`), then the line's own (`fields`). */
type Formatter = (
  time: string,
  level: LogLevel,
  msg: string,
  base: LogFields,
  fields: LogFields,
) => string;

// One object per line for the JSON (fields merged where they are listed), not a merged copy of
// the fields first: the per-delivery line is one object less (issue 16).
const json: Formatter = (time, level, msg, base, fields) =>
  stringify(
    { time, level, msg, ...base, ...fields },
    !needsReplacer(fields) && (fields === base || !needsReplacer(base)),
  );

const FORMATS: Record<LogFormat, Formatter> = {
  json,
  journal: (time, level, msg, base, fields) =>
    JOURNAL_PRIORITY[level] + json(time, level, msg, base, fields),
  pretty: (time, level, msg, base, own) => {
    const fields = { ...base, ...own };
    let line = `${time} ${level.toUpperCase().padEnd(5)} ${msg}`;
    for (const key in fields) {
      const v = fields[key];
      line += ` ${key}=${typeof v === "string" ? v : stringify(v)}`;
    }
    return line;
  },
};

let lastMs = NaN;
let lastIso = "";

/** `new Date().toISOString()`, computed once per millisecond (it costs more than the JSON). */
function isoNow(): string {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}

/**
 * Creates a logger.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const lines: string[] = [];
 * const log = createLogger({ level: "debug", write: (line) => lines.push(line) });
 * log.child({ hook: "h1" }).info("delivered", { ms: 3 });
 * assert.deepEqual(JSON.parse(lines[0]!).ms, 3);
 * assert.deepEqual(JSON.parse(lines[0]!).hook, "h1");
 * ```
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const min = LEVELS[options.level ?? "info"];
  const format = FORMATS[options.format ?? "json"];
  const write = options.write ??
    ((line: string, level: LogLevel) => stderrSink().write(line, level));
  const base = options.fields ?? {};

  const emit = (level: LogLevel, msg: string, fields?: LogFields) => {
    if (LEVELS[level] < min) return;
    // Redacted once, as a whole: the message and every field at any depth.
    write(redact(format(isoNow(), level, msg, base, fields ?? base)), level);
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
