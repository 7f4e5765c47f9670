/**
 * `trueconf-webhook-bot healthcheck [--ready]`: asks the running server over loopback and
 * turns the answer into an exit code. It exists for container HEALTHCHECKs on images without
 * curl or wget (distroless), so the binary probes itself.
 *
 * Two questions with two answers (issue 17.8). By default *liveness* (`/healthz`): is the
 * process answering? That is what a container health check must ask, because a restart is
 * its only remedy, and restarting a bot that correctly queues while TrueConf is down helps
 * nobody (and an "unhealthy" status there pages people for TrueConf's outage). `--ready` asks
 * *readiness* (`/readyz`: connected and authorized to TrueConf), which is for monitoring and
 * load balancers.
 *
 * @module
 */

/** Options of {@link healthcheck}. */
export interface HealthcheckOptions {
  /** Host to ask. Default `127.0.0.1`: the probe runs next to the server. */
  host?: string;
  /** Give up after this long. Default 3000 ms, under Docker's default 30 s probe timeout. */
  timeoutMs?: number;
  /** Where the one-line verdict goes (Docker keeps it in `docker inspect`). Default stdout. */
  write?: (line: string) => void;
  /** `live` (default): GET /healthz; `ready`: GET /readyz. */
  check?: "live" | "ready";
}

/**
 * GETs `http://<host>:<port>/healthz` (or `/readyz` with `check: "ready"`) and returns 0 when
 * it answers 2xx, 1 otherwise (error status, refused connection, timeout).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const server = Deno.serve({ port: 0, onListen() {} }, () => new Response("ready"));
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
  const url = `http://${hostPart}:${port}/${ready ? "readyz" : "healthz"}`;
  const [yes, no] = ready ? ["ready", "not ready"] : ["alive", "not alive"];
  const abort = new AbortController();
  // A timer we clear ourselves rather than AbortSignal.timeout(), which would outlive a fast answer.
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    const res = await fetch(url, { signal: abort.signal });
    const text = (await res.text()).trim().slice(0, 200);
    if (res.ok) {
      write(`${yes}: ${url} answered ${res.status}`);
      return 0;
    }
    write(`${no}: ${url} answered ${res.status} ${text}`);
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
