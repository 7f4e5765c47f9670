// The store refusing writes (issue 18.5, a full disk) and disappearing under the running bot
// (18.6): the sender is told to retry later, never 500, and nothing is acknowledged that a
// restart would lose.
import assert from "node:assert/strict";
import { join } from "node:path";
import { CHAT_ID, type EndpointHarness, withEndpoint } from "../support/endpoint_harness.ts";
import { startBotWithFake } from "../support/bot_with_fake.ts";
import { createLogger } from "../../src/log.ts";
import { fullDiskKv } from "../support/full_disk_kv.ts";

/** A KV whose writes fail while `full.on`, as SQLite's do on a full disk. */
function fillableKv(full: { on: boolean }) {
  return (raw: Deno.Kv): Deno.Kv =>
    fullDiskKv(raw, (call) => full.on && call !== "get" && call !== "list");
}

/**
 * An endpoint with one hook whose store is full while `full` runs, which must leave no 500
 * path and nothing in the chat; then, with space again, `freed` runs (the retries).
 */
async function withFullDisk(
  full: (h: EndpointHarness, token: string) => Promise<void>,
  freed: (h: EndpointHarness, token: string) => Promise<void>,
) {
  const disk = { on: false };
  await withEndpoint({ kv: fillableKv(disk) }, async (h) => {
    const token = await h.hook();
    disk.on = true;
    try {
      await full(h, token);
      assert.ok(!h.logs.some((l) => /"level":"error".*unhandled/.test(l)), "no 500 path");
      assert.equal(h.fake.messagesIn(CHAT_ID).length, 0, "nothing a replay could repeat");
    } finally {
      disk.on = false; // so the harness can close the store
    }
    await freed(h, token);
  });
}

/** A JSON POST of `body` to the hook, with `headers`. */
function postJson(
  h: EndpointHarness,
  token: string,
  body: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<Response> {
  return h.request(`/hook/${token}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

/** The answer to a request the store could not record: 503 storage_unavailable, Retry-After. */
async function assertRetryLater(res: Response) {
  const body = await res.json();
  assert.equal(res.status, 503, JSON.stringify(body));
  assert.equal(body.error, "storage_unavailable");
  assert.ok(Number(res.headers.get("retry-after")) > 0);
}

/** The retry went through: 200, and `text` is the chat's last message. */
async function assertPosted(h: EndpointHarness, res: Response, text: string) {
  assert.equal(res.status, 200, await res.clone().text());
  await res.body?.cancel();
  assert.equal(h.fake.messagesIn(CHAT_ID).at(-1)?.text, text);
}

Deno.test("full disk with Idempotency-Key: 503 storage_unavailable with Retry-After, then the retry goes through", async () => {
  const send = (h: EndpointHarness, token: string) =>
    postJson(h, token, { text: "deployed" }, { "idempotency-key": "deploy-42" });
  await withFullDisk(
    async (h, token) => await assertRetryLater(await send(h, token)),
    async (h, token) => await assertPosted(h, await send(h, token), "deployed"),
  );
});

// The same class as the Idempotency-Key above: a keyed post reserves its key in the store
// before it posts (src/messages/registry.ts reserveKey), and that write failing answered
// 500 internal_error with an "unhandled error" line.
Deno.test("full disk with a message key (X-Message-Key or key): 503 storage_unavailable with Retry-After, nothing posted; then the retry goes through", async () => {
  const text = "Deploy #42 started";
  const viaHeader = (h: EndpointHarness, token: string) =>
    postJson(h, token, { text }, { "x-message-key": "deploy-42" });
  await withFullDisk(
    async (h, token) => {
      await assertRetryLater(await viaHeader(h, token));
      await assertRetryLater(await postJson(h, token, { text, key: "deploy-42" }));
    },
    async (h, token) => await assertPosted(h, await viaHeader(h, token), text),
  );
});

Deno.test("KV file deleted under a running bot: not ready, a clear error line, hooks get 503", async () => {
  const dir = await Deno.makeTempDir({ prefix: "storage_lost_" });
  const lines: string[] = [];
  const b = await startBotWithFake({
    dir,
    storageCheckMs: 20,
    logger: createLogger({ level: "info", write: (l) => void lines.push(l) }),
  });
  try {
    const alice = b.fake.userId("alice");
    b.addGroup({ chatId: "ops", title: "Ops", owner: alice });
    const { url } = await b.createHook("ops", "ci", alice);
    let res = await fetch(url, { method: "POST", body: "before" });
    assert.equal(res.status, 200, await res.clone().text());
    await res.body?.cancel();
    const posted = b.fake.messagesIn("ops").length;

    await Deno.remove(join(dir, "webhooks.kv"));
    await b.fake.waitFor(() => !b.bot.readiness().ready, 5_000);
    const line = lines.find((l) => l.includes("was deleted"));
    assert.ok(line, lines.join("\n"));
    assert.match(line, /"level":"error"/);
    assert.match(line, /restart/);
    assert.deepEqual(b.bot.readiness().details["problems"], [
      `the storage file ${join(dir, "webhooks.kv")} was deleted`,
    ]);

    res = await fetch(url, { method: "POST", body: "after" });
    const body = await res.json();
    assert.equal(res.status, 503, JSON.stringify(body));
    assert.equal(body.error, "storage_unavailable");
    assert.equal(res.headers.get("retry-after"), "30");
    assert.equal(b.fake.messagesIn("ops").length, posted, "nothing accepted after the loss");
  } finally {
    await b.close();
    await Deno.remove(dir, { recursive: true });
  }
});
