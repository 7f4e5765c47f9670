/**
 * Uptime Kuma's "Webhook" notification (server/notification-providers/webhook.js): POST JSON
 * `{heartbeat, monitor, msg}` (or form-data with that JSON in the field `data`); the test button
 * sends `heartbeat` and `monitor` as null. `msg` is Uptime Kuma's own sentence
 * (`[name] [🔴 Down] reason`), which the chat shows; the monitor's URL is linked.
 *
 * @module
 */
import assert from "node:assert/strict";
import { post } from "./_request.ts";

const down = {
  heartbeat: {
    monitorID: 3,
    status: 0,
    time: "2024-05-01 12:00:00.000",
    msg: "connect ECONNREFUSED 10.0.0.5:443",
    important: true,
    duration: 0,
    timezone: "Europe/Moscow",
    timezoneOffset: "+03:00",
    localDateTime: "2024-05-01 15:00:00",
  },
  monitor: {
    id: 3,
    name: "Intranet *portal*",
    url: "https://portal.example.com/health",
    type: "http",
    interval: 60,
    active: true,
    tags: [],
  },
  msg: "[Intranet *portal*] [🔴 Down] connect ECONNREFUSED 10.0.0.5:443",
};

Deno.test("Uptime Kuma webhook: its own sentence, then the monitor's URL; not a raw JSON dump", async () => {
  const r = await post(JSON.stringify(down), "application/json");
  assert.equal(r.format, "uptimekuma");
  assert.equal(r.reply, "json");
  assert.equal(r.fallback, undefined);
  assert.equal(
    r.message.text,
    "\\[Intranet \\*portal\\*\\] \\[🔴 Down\\] connect ECONNREFUSED 10.0.0.5:443\n[portal.example.com](https://portal.example.com/health)",
  );
});

Deno.test("Uptime Kuma's test button (heartbeat and monitor null) and its form-data variant", async () => {
  const test = await post(
    JSON.stringify({ heartbeat: null, monitor: null, msg: "Uptime Kuma Webhook Testing" }),
    "application/json",
  );
  assert.equal(test.format, "uptimekuma");
  assert.equal(test.message.text, "Uptime Kuma Webhook Testing");
  const form = new FormData();
  form.append("data", JSON.stringify(down));
  const request = new Request("http://x/", { method: "POST", body: form });
  const viaForm = await post(
    new Uint8Array(await request.arrayBuffer()),
    request.headers.get("content-type"),
  );
  assert.equal(viaForm.format, "uptimekuma");
  assert.match(viaForm.message.text, /^\\\[Intranet \\\*portal\\\*\\\] \\\[🔴 Down\\\]/);
});

// A monitor that goes down and comes back is one story: Uptime Kuma sends a 🔴 Down and later a
// ✅ Up for the same monitor. Like an alert group (docs/messages.md), Down opens one message per
// monitor and Up closes it with a short reply, which notifies where the edit does not.
Deno.test("Uptime Kuma: Down opens a living message per monitor, Up closes it with a reply", async () => {
  const opened = await post(JSON.stringify(down), "application/json");
  const group = opened.message.thread?.group;
  assert.equal(group?.id, "kuma:3");
  assert.equal(group?.state, "open");
  const up = await post(
    JSON.stringify({
      ...down,
      heartbeat: { ...down.heartbeat, status: 1, msg: "200 - OK", duration: 120 },
      msg: "[Intranet *portal*] [✅ Up] 200 - OK",
    }),
    "application/json",
  );
  assert.equal(up.message.thread?.group?.id, "kuma:3");
  assert.equal(up.message.thread?.group?.state, "closed");
  assert.equal(up.message.thread?.group?.reply, "✅ Up: Intranet *portal*");
  // The test button names no monitor: a plain message.
  const test = await post(
    JSON.stringify({ heartbeat: null, monitor: null, msg: "Uptime Kuma Webhook Testing" }),
    "application/json",
  );
  assert.equal(test.message.thread, undefined);
});
