/**
 * A lighter stand-in for `run_bot_with_fake.ts`: the real HTTP endpoint, client, deliverer and
 * preview pool against the fake TrueConf (the endpoint test harness in
 * `tests/support/endpoint_harness.ts`), served on 127.0.0.1, with a hook made directly in the
 * store instead of by chat command. Differences from the whole bot: the synchronous dispatcher
 * (no durable queue: TrueConf down → 503, never 202) and no chat commands. Useful when only the
 * HTTP/format/delivery path is under test.
 *
 *   ./deno run -A scripts/interop/run_endpoint_with_fake.ts [--port 18081] [--url-file F]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { formatSent } from "../../demo/chat_echo.ts";
import { CHAT_ID, startEndpoint } from "../../tests/support/endpoint_harness.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { port: { type: "string", default: "18081" }, "url-file": { type: "string" } },
});
const h = await startEndpoint({ previews: true });
h.fake.onSent((r) => {
  const label = r.chatId === CHAT_ID ? "Ops" : r.chatId;
  console.log(
    `${new Date().toISOString().slice(11, 23)} ${formatSent(r, label, { maxLines: 60 })}`,
  );
});
const server = Deno.serve(
  { hostname: "127.0.0.1", port: Number(values.port), onListen: () => {} },
  (req, info) => h.app.fetch(req, info),
);
const token = await h.hook("interop");
const url = `http://127.0.0.1:${server.addr.port}/hook/${token}`;
console.log(`HOOK_URL=${url}`);
if (values["url-file"]) await Deno.writeTextFile(values["url-file"], url + "\n");
const stop = Promise.withResolvers<void>();
for (const s of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(s, () => stop.resolve());
await stop.promise;
await server.shutdown();
await h.dispose();
Deno.exit(0);
