/**
 * OAuth password grant against TrueConf, and reading a token's expiry.
 *
 * @module
 */
import { TrueConfAuthError, TrueConfHttpError } from "./errors.ts";
import { bodySummary, type HttpResponse, HttpTransport } from "./_http.ts";
import { num, record, str } from "./_json.ts";
import { OAUTH_PATH, trueConfUrls } from "./endpoints.ts";
import type { TrueConfEndpoint } from "./types.ts";

/** A token and when it expires (ms since the epoch; `null` when nothing says). */
export interface OAuthToken {
  /** The bearer token for the bot's WebSocket `auth`. */
  token: string;
  /** Expiry in ms since the epoch, `null` when neither `expires_in` nor the JWT says. */
  expiresAt: number | null;
}

/** Options of {@link fetchOAuthToken}. */
export interface FetchOAuthTokenOptions {
  /** Default 15 000. */
  timeoutMs?: number;
  /** Aborts the request. */
  signal?: AbortSignal;
  /** Clock used to turn `expires_in` into an instant. Default `Date.now`. */
  now?: () => number;
  /**
   * The client passes its own transport; callers leave it out (one is made and closed).
   *
   * @internal
   */
  transport?: HttpTransport;
}

/**
 * The `exp` claim of a JWT in ms, or `null` when the token is not a readable JWT.
 * Only decodes; the signature is the server's business.
 */
export function jwtExpiresAt(token: string): number | null {
  const exp = num(jwtClaims(token)?.exp, NaN);
  return Number.isFinite(exp) ? exp * 1000 : null;
}

/** The claims of a JWT (not verified: only the server can), or null when it is not one. */
export function jwtClaims(token: string): Record<string, unknown> | null {
  const part = token.split(".")[1];
  if (!part) return null;
  try {
    const b64 = part.replace(/-/g, "+").replace(/_/g, "/").padEnd(
      Math.ceil(part.length / 4) * 4,
      "=",
    );
    return record(JSON.parse(
      new TextDecoder().decode(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))),
    ));
  } catch {
    return null;
  }
}

// Seconds since the epoch are ~1.7e9; anything above 1e11 is already milliseconds.
function toMs(t: number): number {
  return t > 1e11 ? t : t * 1000;
}

/**
 * Reads an OAuth success body: `access_token` plus expiry from `expires_at` (Unix
 * seconds), else now + `expires_in` (seconds), else the JWT `exp` claim.
 */
export function parseOAuthBody(body: unknown, now: () => number = Date.now): OAuthToken | null {
  const b = record(body);
  const token = str(b.access_token);
  if (!token) return null;
  const at = num(b.expires_at, NaN);
  const inS = num(b.expires_in, NaN);
  const expiresAt = Number.isFinite(at) && at > 0
    ? toMs(at)
    : Number.isFinite(inS) && inS > 0
    ? now() + inS * 1000
    : jwtExpiresAt(token);
  return { token, expiresAt };
}

const CREDENTIAL_ERRORS = new Set([
  "invalid_grant",
  "invalid_client",
  "unsupported_grant_type",
  "invalid_request",
]);

/**
 * Gets a bot token with the OAuth password grant
 * (`POST {http-base}/bridge/api/client/v1/oauth/token`). Accepts 200 or 201.
 *
 * Throws {@link TrueConfAuthError} when the server rejects the credentials (401/403, or
 * an OAuth error code), {@link TrueConfHttpError} for anything else (network, 5xx,
 * unexpected body) — those are transient.
 *
 * @example
 * ```ts
 * async function login(): Promise<string> {
 *   const { token, expiresAt } = await fetchOAuthToken(
 *     { server: "tc.example.com", https: true, port: 443, verifyTls: true },
 *     { username: "webhook_bot", password: "secret" },
 *   );
 *   console.log("token valid until", expiresAt ?? "(no exp claim)"); // ms since the epoch
 *   return token;
 * }
 * ```
 */
export async function fetchOAuthToken(
  endpoint: TrueConfEndpoint,
  credentials: { username: string; password: string; clientId?: string | null | undefined },
  options: FetchOAuthTokenOptions = {},
): Promise<OAuthToken> {
  const url = trueConfUrls(endpoint).httpBase + OAUTH_PATH;
  const transport = options.transport ?? new HttpTransport(endpoint);
  if (credentials.clientId) {
    return await appLogin(endpoint, { ...credentials, clientId: credentials.clientId }, {
      ...options,
      transport,
    });
  }
  const body = JSON.stringify({
    client_id: "chat_bot",
    grant_type: "password",
    username: String(credentials.username),
    password: String(credentials.password),
  });
  const res = await transport.request(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: new TextEncoder().encode(body),
    timeoutMs: options.timeoutMs ?? 15_000,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  let json: unknown = undefined;
  try {
    json = JSON.parse(res.text);
  } catch {
    // handled below: a non-JSON body is reported with its status
  }
  if (res.status >= 200 && res.status < 300) {
    const tok = parseOAuthBody(json, options.now);
    if (tok) return tok;
    throw new TrueConfHttpError(
      json === undefined
        ? `OAuth ${url}: HTTP ${res.status} with ${
          bodySummary(res)
        } instead of JSON — is this TrueConf Server's web port (not another web server or a proxy's page)? Check TRUECONF_SERVER and TRUECONF_WEB_PORT`
        : `OAuth ${url}: HTTP ${res.status} without access_token`,
      res.status,
    );
  }
  const j = record(json);
  const error = str(j.error);
  if (res.status === 403 && error === "auth_method_disabled") {
    // TrueConf Server 5.5.3+ can turn password login off; the Python SDK's from_oauth then
    // logs in through an OAuth application (docs/en/learn/authentication.md there).
    throw new TrueConfAuthError(
      "OAuth refused the password grant (HTTP 403 auth_method_disabled): password login is off on this server — create an OAuth application with one scope (version:read is enough) in TrueConf Server's admin panel and set its client_id as TRUECONF_CLIENT_ID",
      res.status,
    );
  }
  const description = str(j.error_description) || error || bodySummary(res);
  if (
    res.status === 401 || res.status === 403 ||
    (res.status === 400 && CREDENTIAL_ERRORS.has(error))
  ) {
    throw new TrueConfAuthError(
      `OAuth rejected the bot credentials (HTTP ${res.status}${
        description ? `: ${description}` : ""
      }): check TRUECONF_USERNAME (the bot's login, without @server) and TRUECONF_PASSWORD`,
      res.status,
    );
  }
  const hint = res.status === 404
    ? " — is this a TrueConf server (check server, HTTPS and port)?"
    : "";
  throw new TrueConfHttpError(
    `OAuth ${url}: HTTP ${res.status}${description ? ` (${description})` : ""}${hint}`,
    res.status,
  );
}

/**
 * Login through an OAuth application, for servers where the bot's password grant is off
 * (TrueConf Server 5.5.3+). Three requests, as the official Python SDK's `Bot.from_oauth`
 * makes them (python-trueconf-bot `trueconf/utils/_auth/_token.py`, `_get_auth_token_via_oauth`):
 * the password grant at `/api/v4/oauth2/token` with the application's client_id gives a web
 * API token; `/bridge/api/client/v1/auth/web_rest_api_token` trades it for an authorization
 * code; `/bridge/api/client/v1/auth/token` trades the code for the chat-bot token.
 */
async function appLogin(
  endpoint: TrueConfEndpoint,
  c: { username: string; password: string; clientId: string },
  options: FetchOAuthTokenOptions & { transport: HttpTransport },
): Promise<OAuthToken> {
  const base = trueConfUrls(endpoint).httpBase;
  const post = async (path: string, body: Record<string, string>) => {
    const res = await options.transport.request(base + path, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: new TextEncoder().encode(JSON.stringify(body)),
      timeoutMs: options.timeoutMs ?? 15_000,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    let json: unknown = undefined;
    try {
      json = JSON.parse(res.text);
    } catch { /* reported with the status */ }
    return { res, json: record(json), url: base + path };
  };
  const unexpected = (step: { res: HttpResponse; url: string }, what: string) =>
    new TrueConfHttpError(
      `OAuth application login, ${step.url}: HTTP ${step.res.status}${
        step.res.text.trim() ? ` (${bodySummary(step.res)})` : ""
      } ${what}`,
      step.res.status,
    );

  const web = await post("/api/v4/oauth2/token", {
    client_id: String(c.clientId),
    grant_type: "password",
    username: String(c.username),
    password: String(c.password),
  });
  if (web.res.status === 401 || web.res.status === 403) {
    throw new TrueConfAuthError(
      `OAuth application login rejected (HTTP ${web.res.status}): check TRUECONF_USERNAME, TRUECONF_PASSWORD and TRUECONF_CLIENT_ID`,
      web.res.status,
    );
  }
  const errors = record(web.json.error).errors;
  if (
    web.res.status === 400 && Array.isArray(errors) &&
    errors.some((e) => record(e).reason === "invalidScope")
  ) {
    throw new TrueConfAuthError(
      "OAuth application login refused (HTTP 400 invalidScope): the application of TRUECONF_CLIENT_ID has no scope; give it one (version:read is enough) in TrueConf Server's admin panel",
      400,
    );
  }
  const webToken = str(web.json.access_token);
  if (web.res.status < 200 || web.res.status >= 300 || !webToken) {
    throw unexpected(web, "without access_token");
  }

  const code = await post("/bridge/api/client/v1/auth/web_rest_api_token", {
    client_id: String(c.username),
    token: webToken,
  });
  const authorizationCode = str(code.json.authorization_code);
  if (code.res.status < 200 || code.res.status >= 300 || !authorizationCode) {
    throw unexpected(code, "without authorization_code");
  }

  const bot = await post("/bridge/api/client/v1/auth/token", {
    client_id: "user",
    grant_type: "authorization_code",
    code: authorizationCode,
  });
  const tok = bot.res.status >= 200 && bot.res.status < 300
    ? parseOAuthBody(bot.json, options.now)
    : null;
  if (!tok) throw unexpected(bot, "without access_token");
  return tok;
}
