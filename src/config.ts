/**
 * Every setting of the bot: read from the environment (plus a `.env` file that never
 * overrides variables already set), validated by one zod schema, and reported as one
 * message that lists every problem at once, with an example of a good value.
 *
 * Names and defaults follow the reference Python bot so an existing `.env` keeps working.
 *
 * @module
 */
import { parseEnv } from "node:util";
import { z } from "zod";
import { type CidrList, parseCidrList } from "./ingest/client_ip.ts";
import { type Allowlist, parseAllowlist } from "./net/mod.ts";

/** One documented setting; the README table and `.env.example` are checked against this list. */
export interface SettingDoc {
  readonly name: string;
  readonly required: string;
  readonly default: string;
  readonly meaning: string;
  readonly example: string;
  /** Never printed, not even in error messages. */
  readonly secret?: boolean;
}

/** Every setting, in the order the README documents them. */
export const SETTINGS: readonly SettingDoc[] = [
  {
    name: "TRUECONF_SERVER",
    required: "yes",
    default: "",
    meaning: "TrueConf Server host name or IP, without scheme or port",
    example: "video.example.com",
  },
  {
    name: "TRUECONF_TOKEN",
    required: "one of token or username+password",
    default: "",
    meaning: "Ready bot JWT; when set it wins over username/password (no automatic refresh)",
    example: "eyJhbGciOi…",
    secret: true,
  },
  {
    name: "TRUECONF_USERNAME",
    required: "without TRUECONF_TOKEN",
    default: "",
    meaning: "Bot account login (local part, no @server); used for the OAuth password grant",
    example: "webhook_bot",
  },
  {
    name: "TRUECONF_PASSWORD",
    required: "without TRUECONF_TOKEN",
    default: "",
    meaning: "Bot account password",
    example: "s3cret",
    secret: true,
  },
  {
    name: "TRUECONF_HTTPS",
    required: "no",
    default: "true",
    meaning:
      "Use https/wss to reach TrueConf (false: plain http/ws; then also set TRUECONF_WEB_PORT, e.g. 4309 for the Bridge or 80)",
    example: "true",
  },
  {
    name: "TRUECONF_VERIFY_SSL",
    required: "no",
    default: "true",
    meaning:
      "Verify TrueConf's TLS certificate (false disables it for the TrueConf connection only)",
    example: "true",
  },
  {
    name: "TRUECONF_WEB_PORT",
    required: "no",
    default: "443",
    meaning: "Port of TrueConf's web service (OAuth, WebSocket and file upload share it)",
    example: "443",
  },
  {
    name: "TRUECONF_CA_FILE",
    required: "no",
    default: "",
    meaning: "PEM file with the CA that signed TrueConf's certificate (private CA)",
    example: "/etc/ssl/certs/corp-ca.pem",
  },
  {
    name: "WEBHOOK_PUBLIC_URL",
    required: "yes",
    default: "",
    meaning: "Public base URL of this bot; hook URLs are <WEBHOOK_PUBLIC_URL>/hook/<token>",
    example: "https://hooks.example.com",
  },
  {
    name: "WEBHOOK_HTTP_HOST",
    required: "no",
    default: "0.0.0.0",
    meaning: "Interface the HTTP server listens on",
    example: "127.0.0.1",
  },
  {
    name: "WEBHOOK_HTTP_PORT",
    required: "no",
    default: "8080",
    meaning: "Port the HTTP server listens on",
    example: "8080",
  },
  {
    name: "WEBHOOK_STORAGE_PATH",
    required: "no",
    default: "data/webhooks.kv",
    meaning: "Deno KV database file (its folder is created); also holds the delivery queue",
    example: "/var/lib/trueconf-webhook-bot/webhooks.kv",
  },
  {
    name: "WEBHOOK_ADMIN_ONLY",
    required: "no",
    default: "true",
    meaning: "Only chat owners and admins may create or revoke hooks (anyone may list)",
    example: "true",
  },
  {
    name: "WEBHOOK_RATE_LIMIT_PER_MINUTE",
    required: "no",
    default: "60",
    meaning: "Requests per minute per hook token (0 = unlimited)",
    example: "60",
  },
  {
    name: "WEBHOOK_RATE_LIMIT_PER_IP_PER_MINUTE",
    required: "no",
    default: "120",
    meaning: "Requests per minute per client IP, checked before the token lookup (0 = unlimited)",
    example: "120",
  },
  {
    name: "WEBHOOK_MAX_UPLOAD_MB",
    required: "no",
    default: "25",
    meaning: "Largest request body, and largest attachment fetched from a URL, in MiB",
    example: "25",
  },
  {
    name: "WEBHOOK_MAX_ATTACHMENTS",
    required: "no",
    default: "10",
    meaning: "Most attachments (images + files) in one request",
    example: "10",
  },
  {
    name: "WEBHOOK_URL_ALLOWLIST",
    required: "no",
    default: "",
    meaning:
      "Comma-separated CIDRs and host names the attachment fetcher may reach although private (e.g. an intranet Grafana)",
    example: "10.0.0.0/8,grafana.intra",
  },
  {
    name: "WEBHOOK_TRUSTED_PROXIES",
    required: "no",
    default: "127.0.0.0/8,::1/128",
    meaning:
      "Peers whose X-Forwarded-For header is believed for the client IP (a reverse proxy on the same host)",
    example: "127.0.0.1/32,10.1.2.3/32",
  },
  {
    name: "WEBHOOK_DELIVERY_TIMEOUT_SECONDS",
    required: "no",
    default: "10",
    meaning:
      "How long one TrueConf request may take before the delivery counts as failed (a file upload gets at least 30 s)",
    example: "10",
  },
  {
    name: "WEBHOOK_QUEUE_MAX_PER_HOOK",
    required: "no",
    default: "10000",
    meaning: "Most deliveries waiting for one hook while TrueConf is unreachable",
    example: "10000",
  },
  {
    name: "WEBHOOK_QUEUE_MAX_TOTAL",
    required: "no",
    default: "100000",
    meaning: "Most deliveries waiting in total",
    example: "100000",
  },
  {
    name: "WEBHOOK_SHUTDOWN_GRACE_SECONDS",
    required: "no",
    default: "10",
    meaning: "On SIGTERM, how long in-flight deliveries may take before the rest is left queued",
    example: "10",
  },
  {
    name: "METRICS_TOKEN",
    required: "no",
    default: "",
    meaning: "If set, GET /metrics requires 'Authorization: Bearer <token>'",
    example: "change-me",
    secret: true,
  },
  {
    name: "LOG_LEVEL",
    required: "no",
    default: "info",
    meaning: "debug, info, warn or error",
    example: "info",
  },
  {
    name: "LOG_FORMAT",
    required: "no",
    default: "json",
    meaning: "json (one JSON object a line) or pretty (for terminals)",
    example: "pretty",
  },
];

/** The validated configuration. */
export interface Config {
  readonly trueconf: {
    readonly server: string;
    readonly auth: { readonly token: string } | {
      readonly username: string;
      readonly password: string;
    };
    readonly https: boolean;
    readonly verifyTls: boolean;
    readonly port: number;
    readonly caFile: string | null;
  };
  readonly publicUrl: string;
  readonly http: { readonly host: string; readonly port: number };
  readonly storagePath: string;
  readonly adminOnly: boolean;
  readonly rateLimit: { readonly perTokenPerMinute: number; readonly perIpPerMinute: number };
  readonly maxUploadBytes: number;
  readonly maxAttachments: number;
  readonly urlAllowlist: Allowlist;
  readonly trustedProxies: CidrList;
  readonly deliveryTimeoutMs: number;
  readonly queue: { readonly maxPerHook: number; readonly maxTotal: number };
  readonly shutdownGraceMs: number;
  readonly metricsToken: string | null;
  readonly log: {
    readonly level: "debug" | "info" | "warn" | "error";
    readonly format: "json" | "pretty";
  };
}

const HOST_RE = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)$/;

/** A blank value means "not set", as in the reference bot; other values are trimmed. */
const blankAsUnset = <T extends z.ZodType>(schema: T) =>
  z.preprocess(
    (v) => (typeof v === "string" ? (v.trim() === "" ? undefined : v.trim()) : v),
    schema.optional(),
  );

const optionalText = z.string().trim().optional().transform((v) => (v ? v : undefined));

const flag = (name: string) =>
  z.stringbool({ error: `must be true or false (e.g. ${name}=true)` }).optional();

const wholeNumber = (name: string, min: number, max: number, example: string) =>
  z.string().trim().optional().transform((v, ctx) => {
    if (v === undefined || v === "") return undefined;
    const n = Number(v);
    if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < min || n > max) {
      ctx.addIssue({
        code: "custom",
        message: `must be a whole number from ${min} to ${max} (e.g. ${name}=${example})`,
      });
      return z.NEVER;
    }
    return n;
  });

const listOf = <T>(parse: (spec: string) => T, name: string, example: string) =>
  z.string().optional().transform((v, ctx) => {
    try {
      return parse(v ?? "");
    } catch (e) {
      ctx.addIssue({
        code: "custom",
        message: `${e instanceof Error ? e.message : String(e)} (e.g. ${name}=${example})`,
      });
      return z.NEVER;
    }
  });

const envSchema = z.object({
  TRUECONF_SERVER: z.string({ error: "is required (e.g. TRUECONF_SERVER=video.example.com)" })
    .trim()
    .min(1, "is required (e.g. TRUECONF_SERVER=video.example.com)")
    .refine(
      (v) => HOST_RE.test(v),
      "must be a bare host name or IP without scheme, port or path, an IPv6 address in brackets (e.g. TRUECONF_SERVER=video.example.com or [2001:db8::5])",
    ),
  TRUECONF_TOKEN: optionalText,
  TRUECONF_USERNAME: optionalText,
  TRUECONF_PASSWORD: optionalText,
  TRUECONF_HTTPS: flag("TRUECONF_HTTPS"),
  TRUECONF_VERIFY_SSL: flag("TRUECONF_VERIFY_SSL"),
  TRUECONF_WEB_PORT: wholeNumber("TRUECONF_WEB_PORT", 1, 65535, "443"),
  TRUECONF_CA_FILE: optionalText,
  WEBHOOK_PUBLIC_URL: z.string({
    error:
      "is required: the public base URL of this bot (e.g. WEBHOOK_PUBLIC_URL=https://hooks.example.com)",
  }).trim().transform((v, ctx) => {
    let url: URL | null = null;
    try {
      url = new URL(v);
    } catch { /* reported below */ }
    if (!url || (url.protocol !== "http:" && url.protocol !== "https:") || url.search || url.hash) {
      ctx.addIssue({
        code: "custom",
        message:
          "must be an http(s) URL without query or fragment (e.g. WEBHOOK_PUBLIC_URL=https://hooks.example.com)",
      });
      return z.NEVER;
    }
    return url.href.replace(/\/+$/, "");
  }),
  WEBHOOK_HTTP_HOST: optionalText,
  WEBHOOK_HTTP_PORT: wholeNumber("WEBHOOK_HTTP_PORT", 0, 65535, "8080"),
  WEBHOOK_STORAGE_PATH: optionalText,
  WEBHOOK_ADMIN_ONLY: flag("WEBHOOK_ADMIN_ONLY"),
  WEBHOOK_RATE_LIMIT_PER_MINUTE: wholeNumber("WEBHOOK_RATE_LIMIT_PER_MINUTE", 0, 1e9, "60"),
  WEBHOOK_RATE_LIMIT_PER_IP_PER_MINUTE: wholeNumber(
    "WEBHOOK_RATE_LIMIT_PER_IP_PER_MINUTE",
    0,
    1e9,
    "120",
  ),
  WEBHOOK_MAX_UPLOAD_MB: wholeNumber("WEBHOOK_MAX_UPLOAD_MB", 1, 1024, "25"),
  WEBHOOK_MAX_ATTACHMENTS: wholeNumber("WEBHOOK_MAX_ATTACHMENTS", 0, 100, "10"),
  WEBHOOK_URL_ALLOWLIST: listOf(
    parseAllowlist,
    "WEBHOOK_URL_ALLOWLIST",
    "10.0.0.0/8,grafana.intra",
  ),
  WEBHOOK_TRUSTED_PROXIES: listOf(parseCidrList, "WEBHOOK_TRUSTED_PROXIES", "127.0.0.1/32"),
  WEBHOOK_DELIVERY_TIMEOUT_SECONDS: wholeNumber("WEBHOOK_DELIVERY_TIMEOUT_SECONDS", 1, 600, "10"),
  WEBHOOK_QUEUE_MAX_PER_HOOK: wholeNumber("WEBHOOK_QUEUE_MAX_PER_HOOK", 1, 1e7, "10000"),
  WEBHOOK_QUEUE_MAX_TOTAL: wholeNumber("WEBHOOK_QUEUE_MAX_TOTAL", 1, 1e8, "100000"),
  WEBHOOK_SHUTDOWN_GRACE_SECONDS: wholeNumber("WEBHOOK_SHUTDOWN_GRACE_SECONDS", 0, 3600, "10"),
  METRICS_TOKEN: optionalText,
  LOG_LEVEL: blankAsUnset(z.enum(["debug", "info", "warn", "error"], {
    error: "must be debug, info, warn or error (e.g. LOG_LEVEL=info)",
  })),
  LOG_FORMAT: blankAsUnset(z.enum(["json", "pretty"], {
    error: "must be json or pretty (e.g. LOG_FORMAT=json)",
  })),
});

const AUTH_MESSAGE =
  "is required when TRUECONF_TOKEN is not set: give the bot's login and password (e.g. TRUECONF_USERNAME=webhook_bot, TRUECONF_PASSWORD=…), or a ready TRUECONF_TOKEN";

// Auth priority of the reference bot: a ready token wins; otherwise both halves are needed.
// Checked outside the schema on purpose: zod skips an object's refinements once any field has
// a type error, so with an empty environment the auth problem went unreported until the
// operator had fixed TRUECONF_SERVER and WEBHOOK_PUBLIC_URL and started again.
function authProblems(env: Readonly<Record<string, string | undefined>>): string[] {
  const set = (name: string) => (env[name]?.trim() ?? "") !== "";
  if (set("TRUECONF_TOKEN")) return [];
  return ["TRUECONF_USERNAME", "TRUECONF_PASSWORD"].filter((n) => !set(n)).map((n) =>
    `${n} ${AUTH_MESSAGE}`
  );
}

const SETTING_ORDER = new Map(SETTINGS.map((s, i) => [s.name, i]));

/** The outcome of {@link parseConfig}: a config, or every problem found. */
export type ConfigResult =
  | { readonly ok: true; readonly config: Config }
  | { readonly ok: false; readonly problems: readonly string[] };

/**
 * Validates an environment (a plain name → value map) into a {@link Config}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const r = parseConfig({ TRUECONF_SERVER: "video.example.com", TRUECONF_TOKEN: "x",
 *   WEBHOOK_PUBLIC_URL: "https://hooks.example.com" });
 * assert(r.ok);
 * assert.equal(r.config.http.port, 8080);
 * ```
 */
export function parseConfig(env: Readonly<Record<string, string | undefined>>): ConfigResult {
  const known: Record<string, string | undefined> = {};
  for (const s of SETTINGS) known[s.name] = env[s.name];
  const parsed = envSchema.safeParse(known);
  const auth = authProblems(known);
  if (!parsed.success || auth.length) {
    const issues = parsed.success ? [] : parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? "configuration");
      // zod's message never contains the value; keep it that way so secrets cannot leak.
      return `${name} ${issue.message}`;
    });
    // In the documented order of the settings, so the list reads like the README table.
    const rank = (p: string) => SETTING_ORDER.get(p.split(" ")[0]!) ?? SETTINGS.length;
    const problems = [...new Set([...issues, ...auth])].sort((a, b) => rank(a) - rank(b));
    return { ok: false, problems };
  }
  const e = parsed.data;
  const https = e.TRUECONF_HTTPS ?? true;
  return {
    ok: true,
    config: {
      trueconf: {
        server: e.TRUECONF_SERVER,
        auth: e.TRUECONF_TOKEN
          ? { token: e.TRUECONF_TOKEN }
          : { username: e.TRUECONF_USERNAME!, password: e.TRUECONF_PASSWORD! },
        https,
        verifyTls: e.TRUECONF_VERIFY_SSL ?? true,
        port: e.TRUECONF_WEB_PORT ?? 443,
        caFile: e.TRUECONF_CA_FILE ?? null,
      },
      publicUrl: e.WEBHOOK_PUBLIC_URL,
      http: { host: e.WEBHOOK_HTTP_HOST ?? "0.0.0.0", port: e.WEBHOOK_HTTP_PORT ?? 8080 },
      storagePath: e.WEBHOOK_STORAGE_PATH ?? "data/webhooks.kv",
      adminOnly: e.WEBHOOK_ADMIN_ONLY ?? true,
      rateLimit: {
        perTokenPerMinute: e.WEBHOOK_RATE_LIMIT_PER_MINUTE ?? 60,
        perIpPerMinute: e.WEBHOOK_RATE_LIMIT_PER_IP_PER_MINUTE ?? 120,
      },
      maxUploadBytes: (e.WEBHOOK_MAX_UPLOAD_MB ?? 25) * 1024 * 1024,
      maxAttachments: e.WEBHOOK_MAX_ATTACHMENTS ?? 10,
      urlAllowlist: e.WEBHOOK_URL_ALLOWLIST,
      trustedProxies: env.WEBHOOK_TRUSTED_PROXIES?.trim()
        ? e.WEBHOOK_TRUSTED_PROXIES
        : parseCidrList("127.0.0.0/8,::1/128"),
      deliveryTimeoutMs: (e.WEBHOOK_DELIVERY_TIMEOUT_SECONDS ?? 10) * 1000,
      queue: {
        maxPerHook: e.WEBHOOK_QUEUE_MAX_PER_HOOK ?? 10_000,
        maxTotal: e.WEBHOOK_QUEUE_MAX_TOTAL ?? 100_000,
      },
      shutdownGraceMs: (e.WEBHOOK_SHUTDOWN_GRACE_SECONDS ?? 10) * 1000,
      metricsToken: e.METRICS_TOKEN ?? null,
      log: { level: e.LOG_LEVEL ?? "info", format: e.LOG_FORMAT ?? "json" },
    },
  };
}

/**
 * Settings that are valid but almost certainly not what the operator meant; `serve` logs them
 * as warnings and `check-config` prints them as notes. Today: plain HTTP to port 443. The
 * reference bot keeps TRUECONF_WEB_PORT at 443 even with TRUECONF_HTTPS=false (and so do we,
 * for compatibility), but TrueConf serves TLS there, so every call would fail with an opaque
 * network error.
 *
 * @example
 * ```ts
 * import type { Config } from "./config.ts";
 *
 * function warnAtStart(config: Config): void {
 *   for (const w of configWarnings(config)) console.warn(w); // "TRUECONF_HTTPS=false but …"
 * }
 * ```
 */
export function configWarnings(config: Config): string[] {
  const out: string[] = [];
  if (!config.trueconf.https && config.trueconf.port === 443) {
    out.push(
      "TRUECONF_HTTPS=false but TRUECONF_WEB_PORT is 443 (the default), where TrueConf serves TLS: " +
        "plain HTTP there fails. Set TRUECONF_WEB_PORT=4309 (the Bridge port, plain HTTP) or 80, " +
        "or use TRUECONF_HTTPS=true.",
    );
  }
  return out;
}

/** Renders {@link ConfigResult} problems as the one message printed before exit status 2. */
export function formatProblems(problems: readonly string[]): string {
  return [
    `Configuration error: ${problems.length} problem${problems.length === 1 ? "" : "s"} found.`,
    ...problems.map((p) => `  - ${p}`),
    "Set these as environment variables or in a .env file in the working directory (see .env.example).",
  ].join("\n");
}

/**
 * Merges a `.env` text into `env` without overriding variables already set, the way the
 * reference bot's `load_dotenv(override=False)` does. Returns the names it set.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const env: Record<string, string> = { A: "from-env" };
 * assert.deepEqual(mergeDotenv(env, "A=from-file\nB=2"), ["B"]);
 * assert.equal(env.A, "from-env");
 * ```
 */
export function mergeDotenv(env: Record<string, string | undefined>, text: string): string[] {
  const set: string[] = [];
  for (const [name, value] of Object.entries(parseEnv(text))) {
    if (env[name] === undefined) {
      env[name] = value;
      set.push(name);
    }
  }
  return set;
}

/**
 * Reads the environment plus `.env` from the working directory (a missing file is fine).
 * The result is a copy: `Deno.env` itself is not modified.
 */
export function readEnvironment(dotenvPath = ".env"): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = Deno.env.toObject();
  let text: string | null = null;
  try {
    text = Deno.readTextFileSync(dotenvPath);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  if (text !== null) mergeDotenv(env, text);
  return env;
}
