/**
 * Every setting of the bot, in one table: name, default, range, meaning and example live in
 * one entry of {@link SETTING_TABLE}, and that entry drives parsing, the README table and
 * `.env.example` (`deno task settings` rewrites both; `tests/config_test.ts` fails when they
 * disagree). Settings come from the environment plus a `.env` file that never overrides
 * variables already set; every problem is reported in one message with an example of a good
 * value.
 *
 * Names and defaults follow the reference Python bot so an existing `.env` keeps working.
 *
 * To add a setting: one entry in {@link SETTING_TABLE} (a parser from the kit below, the
 * default as text, a meaning and an example), one field in {@link Config} read from it in
 * `buildConfig`, then `deno task settings`.
 *
 * @module
 */
import { type Allowlist, type CidrList, parseAllowlist, parseCidrList } from "./net/mod.ts";
import { parseEnvFile } from "./env_file.ts";
import { editDistance } from "./edit_distance.ts";
import { errorText } from "./error_text.ts";
import type { TrueConfAuth, TrueConfEndpoint } from "./trueconf/types.ts";

// ---- the parser kit ---------------------------------------------------------------------------

/**
 * Thrown by a setting's parser with the reason; the setting's name goes in front and, unless
 * the reason already shows a fixed value, `(e.g. NAME=example)` behind it. A reason never
 * contains the value of a secret setting.
 */
export class SettingError extends Error {
  /** False when the reason already says what to write instead. */
  readonly withExample: boolean;
  constructor(message: string, withExample = true) {
    super(message);
    this.name = "SettingError";
    this.withExample = withExample;
  }
}

/** One row of {@link SETTING_TABLE}. */
export interface SettingSpec<T> {
  /** The README's "Required" column. */
  readonly required: string;
  /** The default as written in the environment ("" = none). Parsed like any value. */
  readonly default: string;
  readonly meaning: string;
  readonly example: string;
  /** Never printed, not even in error messages. */
  readonly secret?: boolean;
  /** `serve` refuses to start without it (a blank value counts as unset). */
  readonly mustSet?: boolean;
  /** Read by another program, not by the bot (documented here so its name is known). */
  readonly readBy?: string;
  /** Turns the trimmed value (the default when blank) into the typed value, or throws {@link SettingError}. */
  readonly parse: (value: string) => T;
}

const text = (v: string): string | null => v === "" ? null : v;

const TRUE_WORDS = ["true", "yes", "on", "1"];
const FALSE_WORDS = ["false", "no", "off", "0"];

/** `true`/`false`, and the words systemd and docker users write for them. */
function flag(v: string): boolean {
  const w = v.toLowerCase();
  if (TRUE_WORDS.includes(w)) return true;
  if (FALSE_WORDS.includes(w)) return false;
  throw new SettingError("must be true or false (yes/no, on/off and 1/0 are read the same way)");
}

function whole(min: number, max: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new SettingError(`must be a whole number from ${min} to ${max}`);
    }
    return n;
  };
}

function oneOf<const V extends string>(...values: V[]): (v: string) => V {
  const words = `${values.slice(0, -1).join(", ")} or ${values.at(-1)}`;
  return (v) => {
    const w = v.toLowerCase() as V;
    if (values.includes(w)) return w;
    throw new SettingError(`must be ${words}`);
  };
}

function listOf<T>(parse: (spec: string) => T): (v: string) => T {
  return (v) => {
    try {
      return parse(v);
    } catch (e) {
      // The list parsers name the entry, and some the setting too: it goes in front anyway.
      const why = (e instanceof Error ? e.message : String(e)).replace(/^[A-Z][A-Z0-9_]*: /, "");
      throw new SettingError(
        why.startsWith("bad entry") ? `has a ${why}` : `has a bad entry: ${why}`,
      );
    }
  };
}

const HOST_RE = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)$/;

/**
 * A bare host name. A URL, a port or a path is the usual mistake; say which part goes where,
 * repeating the value (a host name is not a secret).
 */
function trueconfServer(v: string): string {
  if (HOST_RE.test(v)) return v;
  if (isIpv6(v)) return fail(`is "${v}": an IPv6 address goes in brackets: TRUECONF_SERVER=[${v}]`);
  let url: URL | null = null;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(v) ? v : `tc://${v}`);
  } catch { /* not even URL-shaped: the generic message below */ }
  const host = url?.hostname ?? "";
  if (!url || !HOST_RE.test(host)) {
    throw new SettingError(
      `is "${v}": give a bare host name or IP without scheme, port or path, an IPv6 address in brackets`,
    );
  }
  const fixes = [`TRUECONF_SERVER=${host}`];
  if (url.protocol === "https:") fixes.push("TRUECONF_HTTPS=true");
  if (url.protocol === "http:") fixes.push("TRUECONF_HTTPS=false");
  if (url.port) fixes.push(`TRUECONF_WEB_PORT=${url.port}`);
  return fail(
    `is "${v}": give the host name alone and the rest in their own settings: ${fixes.join(", ")}` +
      (url.pathname.length > 1 ? ` (a path is not used: TrueConf's API paths are fixed)` : ""),
  );
}

/** An IPv6 address without brackets (the URL parser is the judge: no hand-written grammar). */
function isIpv6(v: string): boolean {
  if (!v.includes(":") || !/^[0-9A-Fa-f:.]+$/.test(v)) return false;
  try {
    new URL(`http://[${v}]/`);
    return true;
  } catch {
    return false;
  }
}

/**
 * The interface to listen on: an IP address or a host name of this machine. A URL or an
 * `address:port` is the usual mistake (Deno's own error was "invalid char found in FQDN", at
 * listen time, exit 1); name the part that goes into WEBHOOK_HTTP_PORT. Brackets around an
 * IPv6 address are dropped, so logs and probes add them once.
 */
function listenHost(v: string): string {
  const bare = v.replace(/^\[(.*)\]$/, "$1");
  if (isIpv6(bare) || (HOST_RE.test(bare) && !bare.startsWith("["))) return bare;
  let url: URL | null = null;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(v) ? v : `tcp://${v}`);
  } catch { /* not URL-shaped: the generic message below */ }
  const host = url?.hostname.replace(/^\[(.*)\]$/, "$1") ?? "";
  if (url && host && (isIpv6(host) || HOST_RE.test(host))) {
    const fixes = [`WEBHOOK_HTTP_HOST=${host}`];
    if (url.port) fixes.push(`WEBHOOK_HTTP_PORT=${url.port}`);
    return fail(`is "${v}": give the address alone (${fixes.join(", ")})`);
  }
  return fail(
    `is "${v}": give an IP address of this machine or a host name (0.0.0.0 listens on every interface, 127.0.0.1 only for a reverse proxy on this host)`,
  );
}

/**
 * The KV file (or a KV Connect URL, or `:memory:`). Nothing expands `~` or `$HOME` in it — not
 * the bot, not systemd's EnvironmentFile — so such a path made a folder named `~` in the
 * working directory; a path ending in `/` names a folder, which serve could only open as
 * "Is a directory". Both are refused with the fix.
 */
function storagePath(v: string): string {
  if (v === ":memory:" || /^https?:\/\//i.test(v)) return v;
  if (/^~|\$(?:\{?[A-Za-z_])/.test(v)) {
    return fail(
      `is "${v}": nothing expands ~ or $VARIABLES here (neither the bot nor systemd's EnvironmentFile does): write the full path, e.g. WEBHOOK_STORAGE_PATH=/var/lib/trueconf-webhook-bot/webhooks.kv`,
    );
  }
  if (/[\/\\]$/.test(v)) {
    return fail(
      `is "${v}", a folder: name the database file inside it, e.g. WEBHOOK_STORAGE_PATH=${
        v.replace(/[\/\\]+$/, "")
      }/webhooks.kv`,
    );
  }
  return v;
}

function publicUrl(v: string): string {
  let url: URL | null = null;
  try {
    url = new URL(v);
  } catch { /* reported below */ }
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:") || url.search || url.hash) {
    throw new SettingError("must be an http(s) URL without query or fragment");
  }
  return url.href.replace(/\/+$/, "");
}

/** An HTTP bearer token (RFC 6750 token68): what `Authorization: Bearer …` can carry. */
function bearerToken(v: string): string | null {
  if (v === "") return null;
  if (!/^[A-Za-z0-9._~+/-]+=*$/.test(v)) {
    throw new SettingError(
      "may contain only letters, digits and . _ ~ + / - (and = at the end), the characters of a bearer token",
    );
  }
  return v;
}

/** Base64 (standard or URL-safe) of exactly 32 bytes; returned as given. */
function secretKey(v: string): string | null {
  if (v === "") return null;
  let bytes = -1;
  try {
    bytes = atob(v.replace(/-/g, "+").replace(/_/g, "/")).length;
  } catch { /* reported below */ }
  if (bytes !== 32) {
    throw new SettingError("must be the base64 text of 32 random bytes (openssl rand -base64 32)");
  }
  return v;
}

function fail(message: string): never {
  throw new SettingError(message, false);
}

// ---- the table --------------------------------------------------------------------------------

/**
 * Every setting, in the order the README documents them. The single source of each default:
 * parsing, `.env.example` and the README table are made from these entries.
 */
export const SETTING_TABLE = {
  TRUECONF_SERVER: {
    required: "yes",
    mustSet: true,
    default: "",
    meaning: "TrueConf Server host name or IP, without scheme or port",
    example: "video.example.com",
    parse: trueconfServer,
  },
  TRUECONF_TOKEN: {
    required: "one of token or username+password",
    default: "",
    meaning: "Ready bot JWT; when set it wins over username/password (no automatic refresh)",
    example: "eyJhbGciOi…",
    secret: true,
    parse: text,
  },
  TRUECONF_USERNAME: {
    required: "without TRUECONF_TOKEN",
    default: "",
    meaning: "Bot account login (local part, no @server); used for the OAuth password grant",
    example: "webhook_bot",
    parse: text,
  },
  TRUECONF_PASSWORD: {
    required: "without TRUECONF_TOKEN",
    default: "",
    meaning: "Bot account password",
    example: "s3cret",
    secret: true,
    parse: text,
  },
  TRUECONF_CLIENT_ID: {
    required: "no",
    default: "",
    meaning:
      "With TRUECONF_USERNAME/PASSWORD: log in through this OAuth application (its client_id, TrueConf Server 5.5.3+), for servers where the bot's password login is off (403 auth_method_disabled); the application needs one scope, e.g. version:read",
    example: "3f2a9c41d7",
    parse: text,
  },
  TRUECONF_HTTPS: {
    required: "no",
    default: "true",
    meaning:
      "Use https/wss to reach TrueConf (false: plain http/ws; then also set TRUECONF_WEB_PORT, e.g. 4309 for the Bridge or 80)",
    example: "true",
    parse: flag,
  },
  TRUECONF_VERIFY_SSL: {
    required: "no",
    default: "true",
    meaning:
      "Verify TrueConf's TLS certificate (false disables it for the TrueConf connection only)",
    example: "true",
    parse: flag,
  },
  TRUECONF_WEB_PORT: {
    required: "no",
    default: "443",
    meaning: "Port of TrueConf's web service (OAuth, WebSocket and file upload share it)",
    example: "443",
    parse: whole(1, 65535),
  },
  TRUECONF_CA_FILE: {
    required: "no",
    default: "",
    meaning: "PEM file with the CA that signed TrueConf's certificate (private CA)",
    example: "/etc/ssl/certs/corp-ca.pem",
    parse: text,
  },
  WEBHOOK_PUBLIC_URL: {
    required: "yes",
    mustSet: true,
    default: "",
    meaning: "Public base URL of this bot; hook URLs are <WEBHOOK_PUBLIC_URL>/hook/<token>",
    example: "https://hooks.example.com",
    parse: publicUrl,
  },
  WEBHOOK_HTTP_HOST: {
    required: "no",
    default: "0.0.0.0",
    meaning: "Interface the HTTP server listens on",
    example: "127.0.0.1",
    parse: listenHost,
  },
  WEBHOOK_HTTP_PORT: {
    required: "no",
    default: "8080",
    meaning: "Port the HTTP server listens on",
    example: "8080",
    parse: whole(0, 65535),
  },
  WEBHOOK_HTTP_HEADERS_TIMEOUT_SECONDS: {
    required: "no",
    default: "10",
    meaning:
      "Time a client has to send a request's head (from connecting, or from the previous answer on a kept-alive connection); later it gets 408 and the connection is closed",
    example: "10",
    parse: whole(1, 600),
  },
  WEBHOOK_HTTP_IDLE_TIMEOUT_SECONDS: {
    required: "no",
    default: "75",
    meaning:
      "An idle kept-alive connection is closed after this many seconds (keep it above a load balancer's or proxy's upstream idle time, e.g. AWS ALB 60 s)",
    example: "75",
    parse: whole(1, 3600),
  },
  WEBHOOK_HOST_PORT: {
    required: "no",
    default: "8080",
    meaning:
      "docker-compose.yml only: the port on the host's 127.0.0.1 that is published to the container's 8080 (the bot itself does not read it)",
    example: "8081",
    readBy: "docker compose",
    parse: whole(1, 65535),
  },
  WEBHOOK_STORAGE_PATH: {
    required: "no",
    default: "data/webhooks.kv",
    meaning: "Deno KV database file (its folder is created); also holds the delivery queue",
    example: "/var/lib/trueconf-webhook-bot/webhooks.kv",
    parse: storagePath,
  },
  WEBHOOK_ADMIN_ONLY: {
    required: "no",
    default: "true",
    meaning: "Only chat owners and admins may create or revoke hooks (anyone may list)",
    example: "true",
    parse: flag,
  },
  WEBHOOK_RATE_LIMIT_PER_MINUTE: {
    required: "no",
    default: "60",
    meaning: "Requests per minute per hook token (0 = unlimited)",
    example: "60",
    parse: whole(0, 1e9),
  },
  WEBHOOK_RATE_LIMIT_PER_IP_PER_MINUTE: {
    required: "no",
    default: "120",
    meaning: "Requests per minute per client IP, checked before the token lookup (0 = unlimited)",
    example: "120",
    parse: whole(0, 1e9),
  },
  WEBHOOK_MAX_UPLOAD_MB: {
    required: "no",
    default: "25",
    meaning: "Largest request body, and largest attachment fetched from a URL, in MiB",
    example: "25",
    parse: whole(1, 1024),
  },
  WEBHOOK_MAX_INFLIGHT_BODY_MB: {
    required: "no",
    default: "",
    meaning:
      "Most MiB of large request bodies (over 64 KiB) being received at once; beyond it new uploads get 503 busy with Retry-After before their body is read. Empty: 4 × WEBHOOK_MAX_UPLOAD_MB",
    example: "100",
    parse: (v) => v === "" ? null : whole(1, 65536)(v),
  },
  WEBHOOK_MAX_ATTACHMENTS: {
    required: "no",
    default: "10",
    meaning:
      "Most attachments (images + files) one request may post (file parts its format ignores do not count)",
    example: "10",
    parse: whole(0, 100),
  },
  WEBHOOK_URL_ALLOWLIST: {
    required: "no",
    default: "",
    meaning:
      "Comma-separated CIDRs and host names the attachment fetcher may reach although private (e.g. an intranet Grafana)",
    example: "10.0.0.0/8,grafana.intra",
    parse: listOf<Allowlist>(parseAllowlist),
  },
  WEBHOOK_TRUSTED_PROXIES: {
    required: "no",
    default: "127.0.0.0/8,::1/128",
    meaning:
      "Peers whose X-Forwarded-For header is believed for the client IP (a reverse proxy on the same host)",
    example: "127.0.0.1/32,10.1.2.3/32",
    parse: listOf<CidrList>(parseCidrList),
  },
  WEBHOOK_DELIVERY_TIMEOUT_SECONDS: {
    required: "no",
    default: "10",
    meaning:
      "How long one TrueConf request may take before the delivery counts as failed (a file upload gets at least 30 s)",
    example: "10",
    parse: whole(1, 600),
  },
  WEBHOOK_OUTGOING_TIMEOUT_SECONDS: {
    required: "no",
    default: "5",
    meaning:
      "How long one call of an outgoing webhook may take (connect, send, answer) before it counts as failed and is retried",
    example: "5",
    parse: whole(1, 30),
  },
  WEBHOOK_OUTGOING_MAX_AGE_SECONDS: {
    required: "no",
    default: "3600",
    meaning:
      "How long an outgoing webhook call is retried (network errors, timeouts, 5xx, 408, 429) before it is given up and the author or creator is told; a message or command the bot receives after a restart that is older than this is not acted on",
    example: "3600",
    parse: whole(60, 86400),
  },
  WEBHOOK_QUEUE_MAX_PER_HOOK: {
    required: "no",
    default: "10000",
    meaning: "Most deliveries waiting for one hook while TrueConf is unreachable",
    example: "10000",
    parse: whole(1, 1e7),
  },
  WEBHOOK_QUEUE_MAX_TOTAL: {
    required: "no",
    default: "100000",
    meaning: "Most deliveries waiting in total",
    example: "100000",
    parse: whole(1, 1e8),
  },
  WEBHOOK_SHUTDOWN_GRACE_SECONDS: {
    required: "no",
    default: "10",
    meaning:
      "On SIGTERM, how long in-flight deliveries may take before the rest is left queued (docker-compose.yml gives Docker this plus 20 s before SIGKILL by itself; raise systemd's TimeoutStopSec and docker run's --stop-timeout with it: this plus 20 s)",
    example: "10",
    parse: whole(0, 3600),
  },
  WEBHOOK_SECRET_KEY: {
    required: "no",
    default: "",
    meaning:
      "Base64 of 32 random bytes (openssl rand -base64 32): the key that encrypts secrets the bot must keep readable (signing and verification secrets). Empty: a key file secret.key next to the storage file is created at first start",
    example: "q0sX…=",
    secret: true,
    parse: secretKey,
  },
  METRICS_TOKEN: {
    required: "no",
    default: "",
    meaning: "If set, GET /metrics requires 'Authorization: Bearer <token>'",
    example: "change-me",
    secret: true,
    parse: bearerToken,
  },
  LOG_LEVEL: {
    required: "no",
    default: "info",
    meaning: "debug, info, warn or error",
    example: "info",
    parse: oneOf("debug", "info", "warn", "error"),
  },
  LOG_FORMAT: {
    required: "no",
    default: "auto",
    meaning:
      "json (one JSON object a line), pretty (for terminals), journal (JSON behind syslog <N> priority prefixes, so journalctl -p err works) or auto (journal when started by systemd with output to the journal, i.e. JOURNAL_STREAM is set; json otherwise)",
    example: "json",
    parse: oneOf("auto", "json", "pretty", "journal"),
  },
} as const satisfies Record<string, SettingSpec<unknown>>;

/** A setting's name. */
export type SettingName = keyof typeof SETTING_TABLE;

/** The typed value of every setting. */
export type SettingValues = {
  readonly [K in SettingName]: ReturnType<(typeof SETTING_TABLE)[K]["parse"]>;
};

/** One documented setting, as the README table and `.env.example` show it. */
export interface SettingDoc {
  readonly name: SettingName;
  readonly required: string;
  readonly default: string;
  readonly meaning: string;
  readonly example: string;
  readonly secret?: boolean;
  readonly readBy?: string;
}

/** Every setting, in the order the README documents them. */
export const SETTINGS: readonly SettingDoc[] = Object.entries(SETTING_TABLE).map(
  ([name, s]: [string, SettingSpec<unknown>]) => ({
    name: name as SettingName,
    required: s.required,
    default: s.default,
    meaning: s.meaning,
    example: s.example,
    ...(s.secret ? { secret: true } : {}),
    ...(s.readBy ? { readBy: s.readBy } : {}),
  }),
);

/** The default of a setting, parsed (for code that runs before or without a full config). */
export function settingDefault<K extends SettingName>(name: K): SettingValues[K] {
  const spec: SettingSpec<unknown> = SETTING_TABLE[name];
  return spec.parse(spec.default) as SettingValues[K];
}

// ---- parsing ----------------------------------------------------------------------------------

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Parses the named settings of `env`. A blank value counts as unset and gets the default.
 * A `mustSet` setting left unset is a problem when it is in `mustSet`, and `null` otherwise.
 */
function parseSettings<K extends SettingName>(
  env: Env,
  names: readonly K[],
  mustSet: ReadonlySet<SettingName>,
): { values: Partial<Record<K, unknown>>; problems: string[] } {
  const values: Partial<Record<K, unknown>> = {};
  const problems: string[] = [];
  for (const name of names) {
    const spec: SettingSpec<unknown> = SETTING_TABLE[name];
    const given = env[name]?.trim() ?? "";
    const example = ` (e.g. ${name}=${spec.example})`;
    if (given === "" && spec.mustSet) {
      // Required by serve; optional for offline commands, which get null.
      if (mustSet.has(name)) problems.push(`${name} is required${example}`);
      values[name] = null;
      continue;
    }
    try {
      values[name] = spec.parse(given === "" ? spec.default : given);
    } catch (e) {
      if (!(e instanceof SettingError)) throw e;
      problems.push(`${name} ${explain(e.message, given, spec)}${e.withExample ? example : ""}`);
    }
  }
  return { values, problems };
}

/**
 * A parser's reason, plus the likely cause when the value holds a `#` after a blank: in a
 * `.env` or systemd env file, `WEBHOOK_HTTP_PORT=8080 # the bot` is the value "8080 # the bot"
 * for the bot and systemd alike, which "must be a whole number" alone left a riddle. Values
 * themselves are not repeated (one may be a secret put in the wrong variable).
 */
function explain(reason: string, given: string, spec: SettingSpec<unknown>): string {
  if (spec.secret || !reason.startsWith("must ") || !/\s#/.test(given)) return reason;
  return `${reason}; its value has a # after a blank, which is part of the value (as systemd reads it too): put comments on their own line`;
}

/** The validated configuration. */
export interface Config {
  readonly trueconf: {
    readonly server: string;
    readonly auth: { readonly token: string } | {
      readonly username: string;
      readonly password: string;
      /** TRUECONF_CLIENT_ID: log in through this OAuth application; null: the bot grant. */
      readonly clientId: string | null;
    };
    readonly https: boolean;
    readonly verifyTls: boolean;
    readonly port: number;
    readonly caFile: string | null;
  };
  /** WEBHOOK_PUBLIC_URL without a trailing slash; it may carry a path prefix. */
  readonly publicUrl: string;
  readonly http: {
    readonly host: string;
    readonly port: number;
    /** `WEBHOOK_HTTP_HEADERS_TIMEOUT_SECONDS` in ms. */
    readonly headersTimeoutMs: number;
    /** `WEBHOOK_HTTP_IDLE_TIMEOUT_SECONDS` in ms. */
    readonly idleTimeoutMs: number;
  };
  readonly storagePath: string;
  readonly adminOnly: boolean;
  readonly rateLimit: { readonly perTokenPerMinute: number; readonly perIpPerMinute: number };
  readonly maxUploadBytes: number;
  /** Bytes of large request bodies in flight at once (never below one maxUploadBytes). */
  readonly maxInflightBodyBytes: number;
  readonly maxAttachments: number;
  readonly urlAllowlist: Allowlist;
  readonly trustedProxies: CidrList;
  readonly deliveryTimeoutMs: number;
  /** `WEBHOOK_OUTGOING_TIMEOUT_SECONDS` in ms: one outgoing webhook call. */
  readonly outgoingTimeoutMs: number;
  /** `WEBHOOK_OUTGOING_MAX_AGE_SECONDS` in ms: how long an outgoing call is retried. */
  readonly outgoingMaxAgeMs: number;
  readonly queue: { readonly maxPerHook: number; readonly maxTotal: number };
  readonly shutdownGraceMs: number;
  readonly metricsToken: string | null;
  /** WEBHOOK_SECRET_KEY, or null for the key file next to the store. */
  readonly secretKey: string | null;
  readonly log: LogSettings;
}

/** Logging settings. */
export interface LogSettings {
  readonly level: "debug" | "info" | "warn" | "error";
  readonly format: "json" | "pretty" | "journal";
}

/** What offline commands (`hooks …`, `import-json`) need: the store, and the public URL if set. */
export interface StorageConfig {
  readonly storagePath: string;
  /** WEBHOOK_PUBLIC_URL when set (for printing hook URLs), else null. */
  readonly publicUrl: string | null;
  /** WEBHOOK_SECRET_KEY, or null for the key file next to the store. */
  readonly secretKey: string | null;
  readonly log: LogSettings;
}

const AUTH_MESSAGE =
  "is required when TRUECONF_TOKEN is not set: give the bot's login and password (e.g. TRUECONF_USERNAME=webhook_bot, TRUECONF_PASSWORD=…), or a ready TRUECONF_TOKEN";

// Auth priority of the reference bot: a ready token wins; otherwise both halves are needed.
function authProblems(env: Env): string[] {
  const set = (name: string) => (env[name]?.trim() ?? "") !== "";
  if (set("TRUECONF_TOKEN")) return [];
  return ["TRUECONF_USERNAME", "TRUECONF_PASSWORD"].filter((n) => !set(n)).map((n) =>
    `${n} ${AUTH_MESSAGE}`
  );
}

// A KV Connect store has no local folder for the secret.key file: serve and the offline commands
// stopped at start with that sentence while check-config passed.
function keyProblems(env: Env): string[] {
  const path = env.WEBHOOK_STORAGE_PATH?.trim() ?? "";
  if (!/^https?:\/\//i.test(path) || (env.WEBHOOK_SECRET_KEY?.trim() ?? "") !== "") return [];
  return [
    "WEBHOOK_SECRET_KEY is required with a KV Connect WEBHOOK_STORAGE_PATH (an http(s) URL has no folder for the secret.key file): generate one with openssl rand -base64 32",
  ];
}

const SETTING_ORDER = new Map(SETTINGS.map((s, i) => [s.name as string, i]));
const BOT_SETTINGS = SETTINGS.filter((s) => !s.readBy).map((s) => s.name);
const MUST_SET = new Set(
  (Object.entries(SETTING_TABLE) as [SettingName, SettingSpec<unknown>][])
    .filter(([, s]) => s.mustSet).map(([n]) => n),
);

function sorted(problems: string[]): string[] {
  // In the documented order of the settings, so the list reads like the README table.
  const rank = (p: string) => SETTING_ORDER.get(p.split(" ")[0]!) ?? SETTINGS.length;
  return [...new Set(problems)].sort((a, b) => rank(a) - rank(b));
}

function logSettings(v: Pick<SettingValues, "LOG_LEVEL" | "LOG_FORMAT">, env: Env): LogSettings {
  // systemd sets JOURNAL_STREAM for a service whose stderr is connected to the journal.
  const format = v.LOG_FORMAT !== "auto"
    ? v.LOG_FORMAT
    : (env.JOURNAL_STREAM ?? "") !== ""
    ? "journal"
    : "json";
  return { level: v.LOG_LEVEL, format };
}

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
export function parseConfig(env: Env): ConfigResult {
  const { values, problems } = parseSettings(env, BOT_SETTINGS, MUST_SET);
  problems.push(...authProblems(env), ...keyProblems(env));
  if (problems.length) return { ok: false, problems: sorted(problems) };
  return { ok: true, config: buildConfig(values as SettingValues, env) };
}

/** Maps the parsed settings onto the {@link Config} shape. */
function buildConfig(v: SettingValues, env: Env): Config {
  return {
    trueconf: {
      server: v.TRUECONF_SERVER,
      auth: v.TRUECONF_TOKEN ? { token: v.TRUECONF_TOKEN } : {
        username: v.TRUECONF_USERNAME!,
        password: v.TRUECONF_PASSWORD!,
        clientId: v.TRUECONF_CLIENT_ID,
      },
      https: v.TRUECONF_HTTPS,
      verifyTls: v.TRUECONF_VERIFY_SSL,
      port: v.TRUECONF_WEB_PORT,
      caFile: v.TRUECONF_CA_FILE,
    },
    publicUrl: v.WEBHOOK_PUBLIC_URL,
    http: {
      host: v.WEBHOOK_HTTP_HOST,
      port: v.WEBHOOK_HTTP_PORT,
      headersTimeoutMs: v.WEBHOOK_HTTP_HEADERS_TIMEOUT_SECONDS * 1000,
      idleTimeoutMs: v.WEBHOOK_HTTP_IDLE_TIMEOUT_SECONDS * 1000,
    },
    storagePath: v.WEBHOOK_STORAGE_PATH,
    adminOnly: v.WEBHOOK_ADMIN_ONLY,
    rateLimit: {
      perTokenPerMinute: v.WEBHOOK_RATE_LIMIT_PER_MINUTE,
      perIpPerMinute: v.WEBHOOK_RATE_LIMIT_PER_IP_PER_MINUTE,
    },
    maxUploadBytes: v.WEBHOOK_MAX_UPLOAD_MB * 1024 * 1024,
    maxInflightBodyBytes: Math.max(
      v.WEBHOOK_MAX_INFLIGHT_BODY_MB ?? 4 * v.WEBHOOK_MAX_UPLOAD_MB,
      v.WEBHOOK_MAX_UPLOAD_MB,
    ) * 1024 * 1024,
    maxAttachments: v.WEBHOOK_MAX_ATTACHMENTS,
    urlAllowlist: v.WEBHOOK_URL_ALLOWLIST,
    trustedProxies: v.WEBHOOK_TRUSTED_PROXIES,
    deliveryTimeoutMs: v.WEBHOOK_DELIVERY_TIMEOUT_SECONDS * 1000,
    outgoingTimeoutMs: v.WEBHOOK_OUTGOING_TIMEOUT_SECONDS * 1000,
    outgoingMaxAgeMs: v.WEBHOOK_OUTGOING_MAX_AGE_SECONDS * 1000,
    queue: {
      maxPerHook: v.WEBHOOK_QUEUE_MAX_PER_HOOK,
      maxTotal: v.WEBHOOK_QUEUE_MAX_TOTAL,
    },
    shutdownGraceMs: v.WEBHOOK_SHUTDOWN_GRACE_SECONDS * 1000,
    metricsToken: v.METRICS_TOKEN,
    secretKey: v.WEBHOOK_SECRET_KEY,
    log: logSettings(v, env),
  };
}

/** The outcome of {@link parseStorageConfig}. */
export type StorageConfigResult =
  | { readonly ok: true; readonly config: StorageConfig }
  | { readonly ok: false; readonly problems: readonly string[] };

const STORAGE_SETTINGS = [
  "WEBHOOK_STORAGE_PATH",
  "WEBHOOK_PUBLIC_URL",
  "WEBHOOK_SECRET_KEY",
  "LOG_LEVEL",
  "LOG_FORMAT",
] as const satisfies readonly SettingName[];

/**
 * The settings of offline commands (`hooks …`, `import-json`): only the storage path, plus
 * `WEBHOOK_PUBLIC_URL` when it is set. TrueConf settings are neither needed nor checked, so
 * these commands run with the bot's env file or with `WEBHOOK_STORAGE_PATH` alone.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const r = parseStorageConfig({ WEBHOOK_STORAGE_PATH: "/var/lib/bot/webhooks.kv" });
 * assert(r.ok);
 * assert.equal(r.config.publicUrl, null);
 * ```
 */
export function parseStorageConfig(env: Env): StorageConfigResult {
  const { values, problems } = parseSettings(env, STORAGE_SETTINGS, new Set());
  problems.push(...keyProblems(env));
  if (problems.length) return { ok: false, problems: sorted(problems) };
  const v = values as Pick<SettingValues, (typeof STORAGE_SETTINGS)[number]>;
  return {
    ok: true,
    config: {
      storagePath: v.WEBHOOK_STORAGE_PATH,
      publicUrl: (v.WEBHOOK_PUBLIC_URL as string | null) ?? null,
      secretKey: v.WEBHOOK_SECRET_KEY,
      log: logSettings(v, env),
    },
  };
}

// ---- warnings ---------------------------------------------------------------------------------

const OUR_PREFIXES = /^(?:TRUECONF|WEBHOOK|LOG|METRICS)_/;

/**
 * Variables with this bot's prefixes (`TRUECONF_`, `WEBHOOK_`, `LOG_`, `METRICS_`) that are
 * not settings: almost always a typo that silently leaves a default in place. One warning per
 * name, with the closest setting as a did-you-mean. Values are never shown.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const [warning] = unknownVariables({ WEBHOOK_RATE_LIMIT_PER_MINUTES: "30" });
 * assert.match(warning!, /did you mean WEBHOOK_RATE_LIMIT_PER_MINUTE\?$/);
 * ```
 */
export function unknownVariables(env: Env): string[] {
  const out: string[] = [];
  for (const name of Object.keys(env).sort()) {
    if (!OUR_PREFIXES.test(name) || SETTING_ORDER.has(name)) continue;
    let best: string | null = null;
    let bestDistance = Infinity;
    for (const known of SETTING_ORDER.keys()) {
      const d = editDistance(name, known);
      if (d < bestDistance) [best, bestDistance] = [known, d];
    }
    // A few edits, or one name containing the other (a dropped or added word).
    const close = best !== null &&
      (bestDistance <= Math.max(2, Math.floor(name.length / 6)) ||
        best.includes(name) || name.includes(best));
    out.push(
      `${name} is not a setting of this bot and is ignored; ` +
        (close ? `did you mean ${best}?` : "the settings are listed in .env.example"),
    );
  }
  return out;
}

/**
 * Settings that are set but have no effect because another one wins. Today: a login
 * (`TRUECONF_USERNAME`/`PASSWORD`, `TRUECONF_CLIENT_ID`) beside `TRUECONF_TOKEN`, which wins
 * and is never renewed: an operator who left both believes the bot logs in with the password
 * and renews its token, until the static one expires. Values are never shown.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const [w] = ignoredSettings({ TRUECONF_TOKEN: "eyJ…", TRUECONF_PASSWORD: "x" });
 * assert.match(w!, /^TRUECONF_PASSWORD is ignored: TRUECONF_TOKEN is set and wins/);
 * ```
 */
export function ignoredSettings(env: Env): string[] {
  const set = (name: string) => (env[name]?.trim() ?? "") !== "";
  if (!set("TRUECONF_TOKEN")) return [];
  const names = ["TRUECONF_USERNAME", "TRUECONF_PASSWORD", "TRUECONF_CLIENT_ID"].filter(set);
  if (!names.length) return [];
  return [
    `${names.join(", ")} ${
      names.length === 1 ? "is" : "are"
    } ignored: TRUECONF_TOKEN is set and wins, and is never renewed (the bot stops working when it expires). Remove TRUECONF_TOKEN to log in with the password (renewed automatically), or remove ${
      names.length === 1 ? "that setting" : "those settings"
    }.`,
  ];
}

/**
 * Settings that are valid but almost certainly not what the operator meant; `serve` logs them
 * as warnings and `check-config` prints them as notes. Today: plain HTTP to port 443, a CA
 * file that no TLS check uses, and hook URLs (secrets) handed out over plain HTTP to a host
 * other than this one. The
 * reference bot keeps TRUECONF_WEB_PORT at 443 even with TRUECONF_HTTPS=false (and so do we,
 * for compatibility), but TrueConf serves TLS there, so every call would fail with an opaque
 * network error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const r = parseConfig({ TRUECONF_SERVER: "tc", TRUECONF_TOKEN: "x", TRUECONF_HTTPS: "false",
 *   WEBHOOK_PUBLIC_URL: "https://hooks.example.com" });
 * assert(r.ok);
 * assert.match(configWarnings(r.config)[0]!, /^TRUECONF_HTTPS=false but TRUECONF_WEB_PORT is 443/);
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
  const tc = config.trueconf;
  if (tc.caFile && (!tc.https || !tc.verifyTls)) {
    out.push(
      `TRUECONF_CA_FILE is set but not used: ${
        tc.https ? "TRUECONF_VERIFY_SSL=false verifies nothing" : "TRUECONF_HTTPS=false uses no TLS"
      }. Remove one of the two settings.`,
    );
  }
  const pub = new URL(config.publicUrl);
  if (
    pub.protocol === "http:" && !/^(?:localhost|127\.\d+\.\d+\.\d+|\[::1\])$/i.test(pub.hostname)
  ) {
    out.push(
      `WEBHOOK_PUBLIC_URL is plain HTTP (${pub.origin}): every hook URL carries its secret token, ` +
        "readable by anyone on the way. Serve it over HTTPS through a reverse proxy with TLS " +
        "(deploy/Caddyfile.example, deploy/nginx.conf.example).",
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

// ---- the environment --------------------------------------------------------------------------

/**
 * The `.env` file exists but cannot be read (a folder, no permission), or holds a quote that is
 * never closed: exit 2, one line.
 */
export class EnvFileError extends Error {
  override name = "EnvFileError";
}

/**
 * Merges a `.env` text into `env` without overriding variables already set, the way the
 * reference bot's `load_dotenv(override=False)` does. Returns the names it set. The text is
 * read with systemd's `EnvironmentFile` rules ({@link parseEnvFile}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const env: Record<string, string | undefined> = { A: "from-env" };
 * assert.deepEqual(mergeDotenv(env, "A=from-file\nB=2"), ["B"]);
 * assert.equal(env.A, "from-env");
 * ```
 */
export function mergeDotenv(env: Record<string, string | undefined>, text: string): string[] {
  return mergeValues(env, parseEnvFile(text).values);
}

function mergeValues(
  env: Record<string, string | undefined>,
  values: Record<string, string>,
): string[] {
  const set: string[] = [];
  for (const [name, value] of Object.entries(values)) {
    if (env[name] === undefined) {
      env[name] = value;
      set.push(name);
    }
  }
  return set;
}

/** What {@link readEnvironment} found. */
export interface Environment {
  /** The environment with `.env`'s variables added (a copy). */
  readonly env: Record<string, string | undefined>;
  /** One sentence per `.env` line that was skipped (never its text: it may be a secret). */
  readonly warnings: readonly string[];
}

/**
 * Reads the environment plus `.env` from the working directory (a missing file is fine; one
 * that exists but cannot be read, or has a quote never closed, throws {@link EnvFileError}).
 * The result is a copy: `Deno.env` itself is not modified.
 */
export function readEnvironment(dotenvPath = ".env"): Environment {
  const env: Record<string, string | undefined> = Deno.env.toObject();
  let text: string | null = null;
  try {
    text = Deno.readTextFileSync(dotenvPath);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      const why = e instanceof Deno.errors.IsADirectory || /directory/i.test(String(e))
        ? "it is a folder, not a file"
        : e instanceof Deno.errors.PermissionDenied
        ? "permission denied for this user"
        : errorText(e);
      throw new EnvFileError(
        `${dotenvPath} in ${Deno.cwd()} cannot be read: ${why}. Make it a file this user can read, or remove it and set the variables in the environment.`,
      );
    }
  }
  if (text === null) return { env, warnings: [] };
  const file = parseEnvFile(text);
  if (file.unclosed) {
    const { line, name, quote } = file.unclosed;
    throw new EnvFileError(
      `${dotenvPath} line ${line}: the ${quote} after ${name}= is never closed, so every line after it became part of that value. Close the quote (the quoting rule is at the top of .env.example).`,
    );
  }
  // The environment wins, even when it holds an empty value: an `export NAME=` left in a shell
  // profile (or `-e NAME` with nothing behind it) hid the file's value, and the only message was
  // "NAME is required" about a name the operator could see set in .env.
  const hidden = Object.keys(file.values).filter((name) => env[name] === "" && file.values[name]);
  mergeValues(env, file.values);
  const warnings = [
    ...file.badLines.map((line) =>
      `${dotenvPath} line ${line} is not NAME=value (nor a # comment) and was ignored`
    ),
    ...hidden.map((name) =>
      `${name} is set but empty in the environment, which wins over ${dotenvPath}: its value there is ignored (unset ${name}, or give it a value)`
    ),
  ];
  return { env, warnings };
}

/**
 * Reads TRUECONF_CA_FILE and checks it holds a PEM certificate: rustls silently ignores
 * anything else, which surfaced later as a puzzling "UnknownIssuer". Throws an Error whose
 * message is the one line to print (a bad setting: exit 2).
 */
export async function readCaFile(path: string): Promise<string> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new Error(
      `TRUECONF_CA_FILE ${path} cannot be read: ${errorText(e)}`,
    );
  }
  if (!text.includes("-----BEGIN CERTIFICATE-----")) {
    throw new Error(
      `TRUECONF_CA_FILE ${path} is not a PEM certificate file (no "-----BEGIN CERTIFICATE-----" line); a DER file (.cer/.crt) converts with: openssl x509 -inform der -in ca.cer -out ca.pem`,
    );
  }
  return text;
}

/**
 * Where TrueConf is, how to trust it and how to log in, as the client and check-config take it
 * (`caPem`: TRUECONF_CA_FILE's text, read with {@link readCaFile}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const r = parseConfig({ TRUECONF_SERVER: "tc", TRUECONF_TOKEN: "x",
 *   WEBHOOK_PUBLIC_URL: "https://hooks.example.com" });
 * assert(r.ok);
 * assert.deepEqual(trueconfEndpoint(r.config), {
 *   server: "tc", https: true, port: 443, verifyTls: true, auth: { token: "x" },
 * });
 * ```
 */
export function trueconfEndpoint(
  config: Config,
  caPem?: string | undefined,
): TrueConfEndpoint & { auth: TrueConfAuth } {
  const tc = config.trueconf;
  return {
    server: tc.server,
    https: tc.https,
    port: tc.port,
    verifyTls: tc.verifyTls,
    ...(caPem ? { caPem } : {}),
    auth: tc.auth,
  };
}
