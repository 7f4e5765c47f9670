/**
 * `trueconf-webhook-bot healthcheck [--ready]`: asks the running server over loopback and
 * turns the answer into an exit code. It exists for container HEALTHCHECKs on images without
 * curl or wget (distroless), so the binary probes itself.
 *
 * Both questions go to `/readyz` (issue 7: the HEALTHCHECK is on `/readyz`), and differ in
 * what counts (issue 17.8). By default the *container's health*: healthy when the bot answers
 * `/readyz` with 200, or with 503 while the only problems are TrueConf's state (not connected,
 * not authorized, not answering: then the bot correctly answers 202 and queues, and a restart,
 * a container's only remedy, would not bring TrueConf back; "unhealthy" there would page people
 * for TrueConf's outage). The bot's own trouble (the storage file gone, the store's change feed
 * unread: the operator CLI's revokes do not reach it, and a fresh start reads them; shutting
 * down), a refused connection, a timeout or any other answer is unhealthy. `--ready` asks
 * *readiness* strictly (200 only: connected and authorized to TrueConf, the store in order), for
 * monitoring. Not for a load balancer: it would take the one bot out while TrueConf is down and
 * answer the senders whose messages the bot would queue; it watches `/healthz` (docs/deploy.md,
 * "Health endpoints").
 *
 * @module
 */
import { TRUECONF_PROBLEMS } from "../readiness.ts";

/** Options of {@link healthcheck}. */
export interface HealthcheckOptions {
  /** Host to ask. Default `127.0.0.1`: the probe runs next to the server. */
  host?: string;
  /** Give up after this long. Default 3000 ms, under Docker's default 30 s probe timeout. */
  timeoutMs?: number;
  /** Where the one-line verdict goes (Docker keeps it in `docker inspect`). Default stdout. */
  write?: (line: string) => void;
  /** `health` (default): the container's health from /readyz; `ready`: /readyz 200 only. */
  check?: "health" | "ready";
}

const TRUECONF_STATE: ReadonlySet<string> = new Set(Object.values(TRUECONF_PROBLEMS));

/**
 * GETs `http://<host>:<port>/readyz` and returns 0 when it answers 200 (or, for the default
 * health check, 503 listing only TrueConf's state), 1 otherwise (another status or problem,
 * refused connection, timeout).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const server = Deno.serve({ port: 0, onListen() {} }, () => Response.json({ ok: true }));
 * assert.equal(await healthcheck(server.addr.port), 0);
 * await server.shutdown();
 * assert.equal(await healthcheck(server.addr.port), 1); // refused
 * ```
 */
export async function healthcheck(port: number, options: HealthcheckOptions = {}): Promise<number> {
  const host = options.host ?? "127.0.0.1";
  const timeoutMs = options.timeoutMs ?? 3000;
  const write = options.write ?? ((line: string) => console.log(line));
  const hostPart = host.includes(":") ? `[${host}]` : host;
  const ready = options.check === "ready";
  const url = `http://${hostPart}:${port}/readyz`;
  const [yes, no] = ready ? ["ready", "not ready"] : ["healthy", "unhealthy"];
  const abort = new AbortController();
  // A timer we clear ourselves rather than AbortSignal.timeout(), which would outlive a fast answer.
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    const res = await fetch(url, { signal: abort.signal });
    const text = (await res.text()).trim();
    if (res.ok) {
      write(`${yes}: ${url} answered ${res.status}`);
      return 0;
    }
    const problems = res.status === 503 ? problemsOf(text) : null;
    if (!ready && problems && problems.length > 0 && problems.every((p) => TRUECONF_STATE.has(p))) {
      write(`${yes} (not ready: ${problems.join("; ")}; hooks are queued): ${url} answered 503`);
      return 0;
    }
    write(
      `${no}: ${url} answered ${res.status}${
        problems && !ready ? `: ${problems.join("; ")}` : ` ${text.slice(0, 200)}`
      }`,
    );
    return 1;
  } catch (error) {
    const detail = causes(error);
    const reason = abort.signal.aborted
      ? `no answer within ${timeoutMs} ms`
      : /connection refused|ECONNREFUSED/i.test(detail)
      ? `connection refused: nothing listens on ${hostPart}:${port} (is the bot running, with WEBHOOK_HTTP_PORT=${port} and WEBHOOK_HTTP_HOST as this command sees them?)`
      : detail;
    write(`${no}: ${url}: ${reason}`);
    return 1;
  } finally {
    clearTimeout(timer);
  }
}

/** The `problems` list of the bot's /readyz answer; null when the body is not that answer. */
function problemsOf(body: string): string[] | null {
  try {
    const problems = (JSON.parse(body) as { problems?: unknown }).problems;
    return Array.isArray(problems) && problems.every((p) => typeof p === "string")
      ? problems
      : null;
  } catch {
    return null;
  }
}

/** An error's message with its causes' (fetch says only "fetch failed"; the cause says why). */
function causes(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error; e !== undefined && parts.length < 4;) {
    parts.push(e instanceof Error ? e.message : String(e));
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.join(": ");
}

/**
 * The address a local probe should use for a server bound to `bindHost`
 * (`WEBHOOK_HTTP_HOST`): loopback for the wildcard addresses, the bound address otherwise.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(probeHost("0.0.0.0"), "127.0.0.1");
 * assert.equal(probeHost("10.0.0.5"), "10.0.0.5");
 * ```
 */
export function probeHost(bindHost: string | undefined): string {
  if (!bindHost || bindHost === "0.0.0.0") return "127.0.0.1";
  if (bindHost === "::" || bindHost === "[::]") return "::1";
  return bindHost.replace(/^\[(.*)\]$/, "$1");
}
