/**
 * The ceiling for `bench/run.ts`: a bare Hono app on `Deno.serve` with one POST route that
 * parses the JSON body and answers `{ok:true}` — what any Hono webhook endpoint costs on this
 * machine before it does any work. The bot's throughput is reported as a ratio of this one,
 * measured in the same run, because absolute numbers drift on a shared machine.
 *
 * The route has the bot's shape (`/hook/:token`) so routing costs the same. Prints
 * `{"port": <n>, "pid": <n>}` on stdout once listening; exits when stdin closes.
 *
 * Run: `./deno run -A bench/bare_hono.ts` (normally started by `bench/run.ts`).
 *
 * @module
 */
import { Hono } from "hono";

const app = new Hono();
app.post("/hook/:token", async (c) => {
  await c.req.json();
  return c.json({ ok: true });
});

const server = Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen: () => {} },
  (req, info) => app.fetch(req, info),
);
console.log(JSON.stringify({ port: server.addr.port, pid: Deno.pid }));

// Stdin closing is the stop signal: the driver cannot leave an orphan behind even if it dies.
for await (const _ of Deno.stdin.readable) { /* wait for EOF */ }
await server.shutdown();
