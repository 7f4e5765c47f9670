/**
 * A one-shot connectivity check for a `check-config` command: OAuth (when a password is
 * configured), one WebSocket handshake and one `auth`, then close — with a step-by-step report.
 *
 * @module
 */
import { silentLogger } from "../log.ts";
import { Connection } from "./_connection.ts";
import { trueConfErrorSentence } from "./errors.ts";
import { authenticate } from "./_auth_request.ts";
import { explainNetworkError } from "./_http.ts";
import { Timers } from "./_timers.ts";
import { trueConfUrls } from "./endpoints.ts";
import { fetchOAuthToken, jwtClaims, jwtExpiresAt } from "./oauth.ts";
import type { TrueConfAuth, TrueConfEndpoint } from "./types.ts";

/** One step of {@link checkTrueConf}. */
export interface CheckStep {
  /** Which step: token from OAuth (or the static token read), socket open, `auth` request. */
  name: "oauth" | "token" | "websocket" | "auth";
  /** Whether the step succeeded. */
  ok: boolean;
  /** How long it took. */
  ms: number;
  /** What happened, in one operator-readable sentence. */
  detail: string;
}

/** The outcome of {@link checkTrueConf}. */
export interface CheckReport {
  /** True when every step succeeded. */
  ok: boolean;
  /** The steps run, in order (the first failure ends the run). */
  steps: CheckStep[];
  /** The bot's id from `auth`, when it got that far. */
  botId: string | null;
  /** When the token expires (ms since the epoch), if known. */
  tokenExpiresAt: number | null;
}

/** Options of {@link checkTrueConf}. */
export interface CheckOptions extends TrueConfEndpoint {
  /** Login and password, or a static token. */
  auth: TrueConfAuth;
  /** Budget of each step. Default 15 000. */
  timeoutMs?: number;
}

/**
 * Checks that the bot can reach and log in to TrueConf. Never throws for a failed step;
 * read `report.ok` and each step's `detail`.
 *
 * @example
 * ```ts
 * async function checkConfig(): Promise<boolean> {
 *   const r = await checkTrueConf({
 *     server: "tc.example.com", https: true, port: 443, verifyTls: true,
 *     auth: { username: "webhook_bot", password: "secret" },
 *   });
 *   for (const s of r.steps) console.log(s.ok ? "ok  " : "FAIL", s.name, s.detail);
 *   return r.ok;
 * }
 * ```
 */
export async function checkTrueConf(o: CheckOptions): Promise<CheckReport> {
  const timeoutMs = o.timeoutMs ?? 15_000;
  const steps: CheckStep[] = [];
  const report: CheckReport = { ok: false, steps, botId: null, tokenExpiresAt: null };
  const urls = trueConfUrls(o);
  let token: string;

  let t0 = Date.now();
  if ("username" in o.auth) {
    try {
      const tok = await fetchOAuthToken(o, o.auth, { timeoutMs });
      token = tok.token;
      report.tokenExpiresAt = tok.expiresAt;
      steps.push({
        name: "oauth",
        ok: true,
        ms: Date.now() - t0,
        detail: `token issued by ${urls.httpBase}${expiryText(tok.expiresAt)}`,
      });
    } catch (err) {
      steps.push({
        name: "oauth",
        ok: false,
        ms: Date.now() - t0,
        detail: trueConfErrorSentence(err),
      });
      return report;
    }
  } else {
    token = o.auth.token;
    report.tokenExpiresAt = jwtExpiresAt(token);
    const expired = report.tokenExpiresAt !== null && report.tokenExpiresAt <= Date.now();
    const readable = jwtClaims(token) !== null;
    steps.push({
      name: "token",
      ok: readable && !expired,
      ms: 0,
      detail: !readable
        ? "TRUECONF_TOKEN is not a JWT (three dot-separated parts, starting eyJ…): copy the whole token, or set TRUECONF_USERNAME and TRUECONF_PASSWORD instead"
        : expired
        ? `static token${
          expiryText(report.tokenExpiresAt)
        } — set a new TRUECONF_TOKEN, or TRUECONF_USERNAME and TRUECONF_PASSWORD so the bot renews its token itself`
        : `static token${expiryText(report.tokenExpiresAt)}`,
    });
    if (!readable || expired) return report;
  }

  const timers = new Timers();
  t0 = Date.now();
  const conn = new Connection({
    url: urls.wsUrl,
    verifyTls: o.verifyTls,
    ...(o.caPem ? { caPem: o.caPem } : {}),
    handshakeTimeoutMs: timeoutMs,
    pingIntervalMs: 3_600_000,
    pongTimeoutMs: timeoutMs,
    timers,
    logger: silentLogger,
  });
  try {
    try {
      await conn.opened;
      steps.push({
        name: "websocket",
        ok: true,
        ms: Date.now() - t0,
        detail: `connected to ${urls.wsUrl}`,
      });
    } catch {
      steps.push({
        name: "websocket",
        ok: false,
        ms: Date.now() - t0,
        detail: `cannot connect to ${urls.wsUrl}: ${
          explainNetworkError(conn.closeReason ?? "closed", new URL(urls.wsUrl), {
            caConfigured: o.caPem !== undefined,
          })
        }`,
      });
      return report;
    }
    t0 = Date.now();
    try {
      report.botId = await authenticate(conn, token, timeoutMs);
      steps.push({
        name: "auth",
        ok: true,
        ms: Date.now() - t0,
        detail: `authorised as ${report.botId ?? "?"}`,
      });
      report.ok = true;
    } catch (err) {
      steps.push({
        name: "auth",
        ok: false,
        ms: Date.now() - t0,
        detail: trueConfErrorSentence(err),
      });
    }
    return report;
  } finally {
    conn.terminate("check finished");
    await conn.closed;
    timers.clearAll();
  }
}

function expiryText(at: number | null): string {
  if (at === null) return ", expiry unknown";
  if (at <= Date.now()) return `, expired ${new Date(at).toISOString()}`;
  const days = Math.round(((at - Date.now()) / 86_400_000) * 10) / 10;
  return `, expires ${new Date(at).toISOString()} (${days} days)`;
}
