/**
 * What to tell an operator when the HTTP port cannot be opened: one sentence for `serve`, which
 * meets the problem, and `check-config`, which predicts it.
 *
 * @module
 */
import { errorText } from "../error_text.ts";

/** `host:port` as an operator writes it (IPv6 in brackets). */
export function listenAddress(host: string, port: number): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/**
 * The cause and the remedy for a failed listen on `host:port`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.match(
 *   listenProblem("0.0.0.0", 8080, new Deno.errors.AddrInUse("Address already in use")),
 *   /^0\.0\.0\.0:8080 is in use by another program .*: stop it or set WEBHOOK_HTTP_PORT$/,
 * );
 * ```
 */
export function listenProblem(host: string, port: number, error: unknown): string {
  const where = listenAddress(host, port);
  if (error instanceof Deno.errors.AddrInUse) {
    return `${where} is in use by another program (\`ss -ltnp 'sport = :${port}'\` shows which): stop it or set WEBHOOK_HTTP_PORT`;
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return `${where}: ports below 1024 need root or CAP_NET_BIND_SERVICE; keep 8080 behind the reverse proxy`;
  }
  if (error instanceof Deno.errors.AddrNotAvailable) {
    return `${where}: WEBHOOK_HTTP_HOST=${host} is not an address of this machine (0.0.0.0 listens on all)`;
  }
  // Without Deno's "run again with the --allow-… flag": the binary takes no such flags.
  const why = errorText(error);
  if (/lookup address|not known|nodename nor servname|no such host/i.test(why)) {
    return `${where}: the host name ${host} (WEBHOOK_HTTP_HOST) does not resolve on this machine: give one of its IP addresses (0.0.0.0 listens on all)`;
  }
  return `${where}: ${why}`;
}
