/**
 * A TLS front for senders that only speak HTTPS to a host they are given (Ansible's
 * `community.general.slack` builds `https://<domain>/services/hooks/incoming-webhook?token=…`):
 * terminates TLS on 127.0.0.1 with the given certificate and forwards each request, method,
 * path, headers and body unchanged, to the bot's plain-HTTP port, as a reverse proxy would.
 *
 *   ./deno run --allow-net=127.0.0.1 --allow-read scripts/interop/tls_front.ts --port 18443 --to http://127.0.0.1:18080 --cert cert.pem --key key.pem
 *
 * @module
 */
import { parseArgs } from "node:util";

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      port: { type: "string", default: "18443" },
      to: { type: "string", default: "http://127.0.0.1:18080" },
      cert: { type: "string" },
      key: { type: "string" },
    },
  });
  if (!values.cert || !values.key) throw new Error("--cert and --key (PEM files) are required");
  const upstream = new URL(values.to);
  Deno.serve({
    hostname: "127.0.0.1",
    port: Number(values.port),
    cert: Deno.readTextFileSync(values.cert),
    key: Deno.readTextFileSync(values.key),
    onListen: ({ port }) => console.log(`TLS front on https://127.0.0.1:${port}/ → ${upstream}`),
  }, async (req) => {
    const url = new URL(req.url);
    const target = new URL(url.pathname + url.search, upstream);
    const body = req.body ? new Uint8Array(await req.arrayBuffer()) : null;
    const headers = new Headers(req.headers);
    headers.delete("host");
    const res = await fetch(target, { method: req.method, headers, body, redirect: "manual" });
    console.log(`${req.method} ${url.pathname} → ${res.status}`);
    return new Response(res.body, { status: res.status, headers: res.headers });
  });
}
