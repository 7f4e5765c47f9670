/**
 * Log shippers' HTTP outputs: a batch of log records in one request, as Fluent Bit's `http`
 * output (`format json`: a JSON array; `json_lines`: NDJSON; `json_stream`: objects one after
 * another), Vector's `http` sink (`codec = "json"`: an array, or NDJSON with
 * `framing.method = "newline_delimited"`), Logstash's `http` output (`format => "json_batch"`)
 * and Fluentd's `out_http` (NDJSON) send it. The HTTP layer decodes such a body into `records`
 * (decode_body.ts); this adapter is the only one that reads them. One JSON object with
 * `@timestamp` and `message` (Logstash's default `format => "json"`, one event per request) is
 * one record; `?format=logs` also reads any JSON object as one record and a text body as one
 * record per line.
 *
 * One chat message per request, as a person reading the chat wants a batch: a heading with the
 * sender (from its User-Agent), the number of records, their count per level and their time
 * span; then one line per record, `🔴 08:01:36 ERROR api-7d9f: connection refused`. At most
 * {@link MAX_LOG_LINES} lines and {@link MAX_LOG_TEXT} characters (one TrueConf message): when
 * a batch has more, errors and warnings are chosen first, shown in their order, and the last
 * line says how many were left out. Posting 500 records as 500 messages (or one 500-line wall
 * split into several) would bury the chat, and a log shipper flushes every few seconds.
 *
 * Read from each record, whatever the shipper's field names:
 * - message: `message` (Vector, Logstash, ECS), `log` (Fluent Bit, Docker), `msg`, `MESSAGE`
 *   (journald), `short_message` (GELF), `text`; a message that is itself a JSON object (an app
 *   logging JSON to stdout) is read for its own message, level and time; its first line is
 *   shown, with the number of further lines (a stack trace);
 * - level: `level`, `severity`, `levelname`, `loglevel`, `log_level`, `lvl`, `log.level` (ECS),
 *   `PRIORITY` (journald) or GELF's `level` (syslog numbers 0–7), pino/bunyan numbers (10–60);
 * - time: `date` (Fluent Bit's `json_date_key`, in any `json_date_format`), `@timestamp`,
 *   `timestamp`, `time`, `ts`, `__REALTIME_TIMESTAMP`; epoch seconds, ms, µs or ns, or ISO text;
 * - source: the Kubernetes pod or container, `container_name`, `SYSLOG_IDENTIFIER`, `appname`,
 *   `service`, `logger`, else the host.
 * A record without a message is shown as its JSON (e.g. Fluent Bit's `cpu` input metrics).
 *
 * Answered with the bot's JSON (shippers check only for a 2xx).
 *
 * @module
 */
import type { Message } from "../../message.ts";
import { plain } from "./_markup.ts";
import { asObject, isRecord, path } from "./_read.ts";
import { type FormatAdapter, PayloadError, type PayloadInput } from "./types.ts";

/** Most records shown as lines of one message. */
export const MAX_LOG_LINES = 20;
/** Most characters of the message (one TrueConf message, with room to spare). */
export const MAX_LOG_TEXT = 3500;
/** Most characters of one record's message. */
const MAX_LINE = 300;

type Level = "error" | "warn" | "info" | "debug";
const RANK: Readonly<Record<Level, number>> = { error: 0, warn: 1, info: 2, debug: 3 };
const EMOJI: Readonly<Record<Level, string>> = { error: "🔴 ", warn: "🟡 ", info: "", debug: "" };

/** One record as shown. */
interface LogLine {
  readonly index: number;
  /** The message, or the record itself when it has none (made JSON only if it is shown). */
  readonly text: string | { readonly record: unknown };
  readonly level: Level | undefined;
  /** The level as the record wrote it (`ERROR`, `W`), upper-cased. */
  readonly label: string | undefined;
  /** Epoch ms. */
  readonly time: number | undefined;
  readonly source: string | undefined;
}

/** The log shippers' adapter. */
export const logsFormat: FormatAdapter = {
  name: "logs",
  detect: (input) => input.body.kind === "records" || isLogEvent(input),
  parse(input) {
    const records = recordsOf(input);
    if (records.length === 0) {
      throw new PayloadError(
        "empty_payload",
        "Nothing to post: the batch holds no log records. Send at least one JSON object.",
      );
    }
    const lines = records.map((record, index) => readRecord(record, index));
    return {
      format: "logs",
      message: render(lines, sender(input.headers.get("user-agent"))),
      reply: "json",
    };
  },
};

/**
 * One event as Logstash's `http` output posts it by default (`format => "json"`: an event per
 * request) and Beats/ECS shape it: a string `message` beside `@timestamp`. No notification
 * format carries Elasticsearch's `@timestamp`.
 */
function isLogEvent(input: PayloadInput): boolean {
  const { body } = input;
  if (body.kind !== "json" || !isRecord(body.value)) return false;
  return typeof body.value["@timestamp"] === "string" && typeof body.value.message === "string";
}

/** The records of the body: a batch, one JSON object, or (forced) the lines of a text. */
function recordsOf(input: PayloadInput): readonly unknown[] {
  const { body } = input;
  switch (body.kind) {
    case "records":
      return body.records;
    case "json":
      return [body.value];
    case "text":
      return body.text.split(/\r?\n/).filter((line) => line.trim() !== "");
    case "raw":
      return new TextDecoder().decode(body.bytes).split(/\r?\n/).filter((l) => l.trim() !== "");
    case "form":
      throw new PayloadError(
        "invalid_payload",
        "The logs format reads a JSON array, NDJSON or one JSON object, not a form.",
      );
  }
}

/** The shipper's name from its User-Agent (`Fluent-Bit`, `Vector/0.43.0 …`). */
function sender(userAgent: string | undefined): string | undefined {
  if (userAgent === undefined) return undefined;
  if (/fluent-?bit/i.test(userAgent)) return "Fluent Bit";
  if (/fluentd/i.test(userAgent)) return "Fluentd";
  if (/^vector\//i.test(userAgent)) return "Vector";
  // Logstash's http output speaks through Manticore.
  if (/logstash|^manticore/i.test(userAgent)) return "Logstash";
  return undefined;
}

const MESSAGE_KEYS = ["message", "log", "msg", "MESSAGE", "short_message", "text"] as const;
const LEVEL_KEYS = [
  "level",
  "severity",
  "levelname",
  "loglevel",
  "log_level",
  "lvl",
  "PRIORITY",
] as const;
const TIME_KEYS = [
  "date",
  "@timestamp",
  "timestamp",
  "time",
  "ts",
  "__REALTIME_TIMESTAMP",
] as const;

function readRecord(record: unknown, index: number): LogLine {
  if (typeof record === "string") return line(index, stripAnsi(record));
  const r = asObject(record);
  if (r === undefined) {
    return { index, text: { record }, ...noLevel, time: undefined, source: undefined };
  }
  const messageKey = MESSAGE_KEYS.find((k) => typeof r[k] === "string");
  let message = messageKey === undefined ? undefined : stripAnsi(r[messageKey] as string);
  let levelValue = firstOf(r, LEVEL_KEYS) ?? path(r, "log", "level");
  let timeValue = firstOf(r, TIME_KEYS);
  // An app that logs JSON to stdout: Docker and Kubernetes wrap its line in `log`/`message`.
  const inner = message === undefined ? undefined : jsonInside(message);
  if (inner !== undefined) {
    const innerKey = MESSAGE_KEYS.find((k) => typeof inner[k] === "string");
    if (innerKey !== undefined) message = inner[innerKey] as string;
    levelValue = firstOf(inner, LEVEL_KEYS) ?? levelValue;
    timeValue = firstOf(inner, TIME_KEYS) ?? timeValue;
  }
  const level = levelOf(levelValue);
  const time = timeOf(timeValue);
  if (message === undefined) {
    return {
      index,
      text: { record: withoutTime(r) },
      ...noLevel,
      time,
      source: sourceOf(r),
    };
  }
  // A plain-text line (most containers log so) carries its level and time in its text.
  const stated = level === undefined ? levelInText(message) : undefined;
  return {
    index,
    text: time === undefined ? message : message.replace(LEADING_TIMESTAMP, ""),
    level: level?.level ?? stated,
    label: level?.label,
    time,
    source: sourceOf(r),
  };
}

const noLevel = { level: undefined, label: undefined } as const;

/** An ISO time at the start of a line, shown once already (the record's own time). */
const LEADING_TIMESTAMP =
  /^\s*\[?\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?\]?\s+/;

/**
 * The level a text line states: logfmt's `level=warning` anywhere, or an upper-case level word
 * near its start (`2026-12-07T08:01:36Z ERROR [db] …`, `[WARN] …`). Only for counting and the
 * colour mark: the line itself already shows it.
 */
function levelInText(message: string): Level | undefined {
  const logfmt = /(?:^|\s)(?:level|lvl|severity)=["']?([A-Za-z]+)/.exec(message);
  if (logfmt) return NAMED_LEVELS[logfmt[1]!.toLowerCase()];
  const word = /\b(FATAL|PANIC|CRITICAL|CRIT|ERROR|ERR|WARNING|WARN|NOTICE|INFO|DEBUG|TRACE)\b/
    .exec(message.slice(0, 64));
  return word ? NAMED_LEVELS[word[1]!.toLowerCase()] : undefined;
}

function line(index: number, text: string): LogLine {
  return {
    index,
    text,
    level: levelInText(text),
    label: undefined,
    time: undefined,
    source: undefined,
  };
}

function firstOf(r: Readonly<Record<string, unknown>>, keys: readonly string[]): unknown {
  for (const k of keys) if (r[k] !== undefined && r[k] !== null && r[k] !== "") return r[k];
  return undefined;
}

/** The object a message holds when it is one JSON object (at most 16 KiB), else undefined. */
function jsonInside(message: string): Readonly<Record<string, unknown>> | undefined {
  const t = message.trim();
  if (t.length > 16 * 1024 || !t.startsWith("{") || !t.endsWith("}")) return undefined;
  try {
    const value: unknown = JSON.parse(t);
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The record without its time keys, shown when it has no message (metrics, events). */
function withoutTime(r: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) {
    if (!(TIME_KEYS as readonly string[]).includes(k)) out[k] = v;
  }
  return out;
}

function sourceOf(r: Readonly<Record<string, unknown>>): string | undefined {
  const candidates = [
    path(r, "kubernetes", "pod_name"),
    path(r, "kubernetes", "container_name"),
    r.container_name,
    r.SYSLOG_IDENTIFIER,
    r.appname,
    r.ident,
    path(r, "service", "name"),
    r.service,
    r.logger,
    r.logger_name,
    r.host,
    r.hostname,
    path(r, "host", "name"),
  ];
  for (const c of candidates) if (typeof c === "string" && c.trim() !== "") return c.trim();
  return undefined;
}

/** A level as the record wrote it: a name (`ERROR`, `warning`, `E`) or a number. */
function levelOf(value: unknown): { level: Level | undefined; label: string } | undefined {
  if (typeof value === "number" && Number.isFinite(value)) {
    const level = numericLevel(value);
    return level === undefined ? undefined : { level, label: level.toUpperCase() };
  }
  if (typeof value !== "string") return undefined;
  const text = value.trim();
  if (text === "") return undefined;
  if (/^\d{1,2}$/.test(text)) {
    const level = numericLevel(Number(text));
    return level === undefined ? undefined : { level, label: level.toUpperCase() };
  }
  const label = text.slice(0, 12).toUpperCase();
  return { level: NAMED_LEVELS[text.toLowerCase()], label };
}

const NAMED_LEVELS: Readonly<Record<string, Level>> = {
  emerg: "error",
  emergency: "error",
  alert: "error",
  crit: "error",
  critical: "error",
  fatal: "error",
  panic: "error",
  severe: "error",
  error: "error",
  err: "error",
  e: "error",
  f: "error",
  warn: "warn",
  warning: "warn",
  w: "warn",
  notice: "info",
  info: "info",
  informational: "info",
  information: "info",
  i: "info",
  n: "info",
  debug: "debug",
  trace: "debug",
  verbose: "debug",
  fine: "debug",
  d: "debug",
  t: "debug",
  v: "debug",
};

/** syslog severities (0–7: GELF, journald `PRIORITY`) or pino/bunyan levels (10–60). */
function numericLevel(n: number): Level | undefined {
  if (!Number.isInteger(n) || n < 0) return undefined;
  if (n <= 7) return n <= 3 ? "error" : n === 4 ? "warn" : n <= 6 ? "info" : "debug";
  if (n < 10) return undefined;
  return n >= 50 ? "error" : n >= 40 ? "warn" : n >= 30 ? "info" : "debug";
}

/** Earliest and latest time believed: 2000 to 2200 (a small number is no date). */
const TIME_RANGE = [946_684_800_000, 7_258_118_400_000] as const;

/**
 * A time as epoch ms: a number of seconds (Fluent Bit's `double` and `epoch`), ms, µs
 * (journald) or ns, as a number or digits; or ISO 8601 text (`iso8601`, Vector's RFC 3339,
 * Fluent Bit's `java_sql_timestamp` `2026-12-07 08:01:36.123456`, read as UTC).
 */
function timeOf(value: unknown): number | undefined {
  let ms: number | undefined;
  if (typeof value === "number") ms = epochMs(value);
  else if (typeof value === "string") {
    const text = value.trim();
    if (/^\d+(\.\d+)?$/.test(text)) ms = epochMs(Number(text));
    else {
      const iso = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?)(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/i
        .exec(text);
      if (iso) {
        const fraction = (iso[3] ?? "").slice(0, 4);
        ms = Date.parse(`${iso[1]}T${iso[2]}${fraction}${iso[4] ?? "Z"}`);
      } else ms = Date.parse(text);
    }
  }
  if (ms === undefined || Number.isNaN(ms)) return undefined;
  return ms >= TIME_RANGE[0] && ms <= TIME_RANGE[1] ? ms : undefined;
}

function epochMs(n: number): number | undefined {
  if (!Number.isFinite(n) || n <= 0) return undefined;
  if (n < 1e11) return n * 1000;
  if (n < 1e14) return n;
  if (n < 1e17) return n / 1000;
  return n / 1e6;
}

/** The message: a heading, one line per record chosen, and what was left out. */
function render(lines: readonly LogLine[], from: string | undefined): Message {
  const total = lines.length;
  const heading = headingOf(lines, from);
  const shown = choose(lines, MAX_LOG_TEXT - heading.length - 120);
  const body = shown.map(lineText);
  const rest = total - shown.length;
  if (rest > 0) {
    // Shown out of order when a later record was taken for its level over an earlier one.
    const firstLeft = lines.find((l) => !shown.includes(l))!;
    const byLevel = shown.some((l) => l.index > firstLeft.index);
    body.push(
      `… ${count(rest, "more record")} not shown (${total.toLocaleString("en-US")} in all${
        byLevel ? "; errors and warnings are shown first" : ""
      }).`,
    );
  }
  return { text: [heading, ...body].join("\n"), parseMode: "markdown", attachments: [] };
}

function headingOf(lines: readonly LogLine[], from: string | undefined): string {
  const what = count(lines.length, "log record");
  const parts = [`**${from === undefined ? "" : `${from}: `}${what}**`];
  const levels = (Object.keys(RANK) as Level[])
    .map((level) => [level, lines.filter((l) => l.level === level).length] as const)
    .filter(([, n]) => n > 0)
    .map(([level, n]) => levelCount(level, n));
  if (levels.length > 0) parts.push(` (${levels.join(", ")})`);
  // A loop, not Math.min(...times): a batch of 100,000 records would overflow the stack.
  let min = Infinity;
  let max = -Infinity;
  for (const l of lines) {
    if (l.time === undefined) continue;
    if (l.time < min) min = l.time;
    if (l.time > max) max = l.time;
  }
  if (min !== Infinity) {
    const first = new Date(min).toISOString();
    const last = new Date(max).toISOString();
    const day = first.slice(0, 10);
    const end = last.slice(0, 10) === day
      ? last.slice(11, 19)
      : last.slice(0, 19).replace("T", " ");
    const span = first === last || end === first.slice(11, 19)
      ? `${day} ${first.slice(11, 19)} UTC`
      : `${day} ${first.slice(11, 19)} to ${end} UTC`;
    parts.push(`, ${span}`);
  }
  return parts.join("");
}

function levelCount(level: Level, n: number): string {
  const shown = n.toLocaleString("en-US");
  if (level === "error") return `${shown} error${n === 1 ? "" : "s"}`;
  if (level === "warn") return `${shown} warning${n === 1 ? "" : "s"}`;
  return `${shown} ${level}`;
}

function count(n: number, noun: string): string {
  return `${n.toLocaleString("en-US")} ${noun}${n === 1 ? "" : "s"}`;
}

/**
 * The records shown, in their order: all of them when they fit; else errors first, then
 * warnings, then the rest, each in order, while {@link MAX_LOG_LINES} lines and `budget`
 * characters allow.
 */
function choose(lines: readonly LogLine[], budget: number): LogLine[] {
  const byLevel = [...lines].sort((a, b) => (rank(a) - rank(b)) || (a.index - b.index));
  const fits = lines.length <= MAX_LOG_LINES &&
    lines.reduce((n, l) => n + lineText(l).length + 1, 0) <= budget;
  const order = fits ? lines : byLevel;
  const chosen: LogLine[] = [];
  let used = 0;
  for (const l of order) {
    if (chosen.length === MAX_LOG_LINES) break;
    const size = lineText(l).length + 1;
    if (used + size > budget) break;
    chosen.push(l);
    used += size;
  }
  return chosen.sort((a, b) => a.index - b.index);
}

function rank(l: LogLine): number {
  return l.level === undefined ? 2 : Math.min(RANK[l.level], 2);
}

/** `🔴 08:01:36 ERROR api-7d9f: connection refused (+12 lines)`, escaped. */
function lineText(l: LogLine): string {
  const text = typeof l.text === "string" ? l.text : asJson(l.text.record);
  const clean = text.replace(/\r\n?/g, "\n").trim();
  const [first = "", ...more] = clean.split("\n");
  const further = more.filter((m) => m.trim() !== "").length;
  const parts = [
    l.time === undefined ? undefined : new Date(l.time).toISOString().slice(11, 19),
    l.label === undefined || statesLevel(first, l.label) ? undefined : plain(l.label, 12),
    l.source === undefined ? undefined : `${plain(l.source, 60)}:`,
    plain(first, MAX_LINE) + (further > 0 ? ` (+${count(further, "line")})` : ""),
  ].filter((p) => p !== undefined && p !== "");
  return (l.level === undefined ? "" : EMOJI[l.level]) + parts.join(" ");
}

/**
 * True when a line begins with its own level (`ERROR db…`, `[warn] disk…`), which its record's
 * level field repeats: the label is then left out rather than shown twice.
 */
function statesLevel(line: string, label: string): boolean {
  const start = line.startsWith("[") || line.startsWith("<") ? 1 : 0;
  const word = line.slice(start, start + label.length);
  const after = line.charAt(start + label.length);
  return word.toUpperCase() === label && !/[\p{L}\p{N}]/u.test(after);
}

/** A record as one line of JSON; JSON.parse never makes a cycle, but a caller's value may. */
function asJson(record: unknown): string {
  try {
    return JSON.stringify(record) ?? String(record);
  } catch {
    return "(a record that cannot be shown as JSON)";
  }
}

/** Terminal colour codes (`ESC[31m`), which log lines often carry and a chat would show. */
const ANSI = new RegExp(String.raw`\u001b\[[0-9;?]*[A-Za-z]`, "g");

function stripAnsi(s: string): string {
  return s.includes("\u001b") ? s.replace(ANSI, "") : s;
}
