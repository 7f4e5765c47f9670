/**
 * `check-config`: settings are already valid when this runs (main exits 2 otherwise); this
 * reaches TrueConf the way `serve` would — OAuth (or the static token), one WebSocket
 * handshake, one `auth` — and prints a step-by-step report.
 *
 * @module
 */
import { type Config, configWarnings } from "../config.ts";
import { checkTrueConf } from "../trueconf/mod.ts";
import type { Out } from "./hooks_cli.ts";

/** Options of {@link checkConfig}; tests shorten the timeout. */
export interface CheckConfigOptions {
  timeoutMs?: number;
  /** PEM text of TRUECONF_CA_FILE; read from the file when absent. */
  caPem?: string;
}

/** Prints the report; returns 0 when every step passed, 2 for an unreadable TRUECONF_CA_FILE, 1 otherwise. */
export async function checkConfig(
  config: Config,
  out: Out,
  options: CheckConfigOptions = {},
): Promise<number> {
  const tc = config.trueconf;
  const scheme = tc.https ? "https" : "http";
  out(
    `settings: OK (TrueConf ${scheme}://${tc.server}:${tc.port}, public URL ${config.publicUrl})`,
  );
  let caPem = options.caPem;
  if (!caPem && tc.caFile) {
    try {
      caPem = await Deno.readTextFile(tc.caFile);
    } catch (e) {
      out(
        `FAIL  TRUECONF_CA_FILE ${tc.caFile} cannot be read: ${e instanceof Error ? e.message : e}`,
      );
      return 2; // a bad setting, as `serve` treats it (and systemd does not restart on 2)
    }
  }
  for (const warning of configWarnings(config)) out(`note: ${warning}`);
  if (!tc.verifyTls && tc.https) {
    out("note: TLS verification is OFF for TrueConf (TRUECONF_VERIFY_SSL=false)");
  }
  const report = await checkTrueConf({
    server: tc.server,
    https: tc.https,
    port: tc.port,
    verifyTls: tc.verifyTls,
    ...(caPem ? { caPem } : {}),
    auth: tc.auth,
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
  });
  for (const step of report.steps) {
    out(`${step.ok ? "OK  " : "FAIL"}  ${step.name.padEnd(9)} ${step.detail} (${step.ms} ms)`);
  }
  if (report.ok) {
    out(`PASS: the bot can log in to TrueConf as ${report.botId ?? "(unknown id)"}.`);
    return 0;
  }
  out("FAIL: the bot cannot work with these settings; see the failed step above.");
  return 1;
}
