// WEBHOOK_TRUSTED_PROXIES as an operator copies it from a dual-stack log: an IPv4 proxy written
// as IPv4-mapped IPv6 (::ffff:127.0.0.1) is that proxy, and its X-Forwarded-For names the client.
import assert from "node:assert/strict";
import { createLogger } from "../../src/log.ts";
import { startBotWithFake } from "../support/bot_with_fake.ts";

Deno.test("a trusted proxy written as ::ffff:127.0.0.1 is believed: the client is the X-Forwarded-For address", async () => {
  const dir = await Deno.makeTempDir({ prefix: "trusted-proxies-" });
  const lines: string[] = [];
  const world = await startBotWithFake({
    dir,
    env: { WEBHOOK_TRUSTED_PROXIES: "::ffff:127.0.0.1" },
    logger: createLogger({ level: "info", write: (l) => void lines.push(l) }),
  });
  try {
    const alice = world.fake.userId("alice");
    const ops = world.addGroup({ chatId: "ops-chat", title: "Ops", owner: alice });
    const made = await world.bot.store.create({ chatId: ops.chatId, name: "ci", createdBy: alice });
    assert.ok(made.ok);
    const res = await fetch(`${world.baseUrl}/hook/${made.token}`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-for": "203.0.113.9" },
      body: JSON.stringify({ text: "via the proxy" }),
    });
    assert.equal(res.status, 200, await res.text());
    const delivery = lines.map((l) => JSON.parse(l)).find((l) => l.msg === "hook delivery");
    assert.equal(delivery?.ip, "203.0.113.9");
  } finally {
    await world.close();
    await Deno.remove(dir, { recursive: true });
  }
});
