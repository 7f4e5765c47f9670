import assert from "node:assert/strict";
import { alertmanagerFormat, silenceUrl } from "../../../src/ingest/formats/alertmanager.ts";
import { PayloadError } from "../../../src/ingest/formats/types.ts";
import { fixture, jsonInput } from "./_input.ts";

const SOURCE = "http://prometheus.example.com:9090/graph?g0.expr=cpu_usage+%3E+0.9&g0.tab=1";
const SILENCE = "http://alertmanager.example.com:9093/#/silences/new?filter=";

Deno.test("alertmanager: firing group of two renders the golden text", () => {
  const input = jsonInput(fixture("alertmanager_firing"));
  assert.equal(alertmanagerFormat.detect(input), true);
  const parsed = alertmanagerFormat.parse(input);
  assert.equal(parsed.format, "alertmanager");
  assert.equal(parsed.reply, "json");
  assert.equal(parsed.message.parseMode, "markdown");
  assert.deepEqual(parsed.message.attachments, []);
  assert.equal(
    parsed.message.text,
    [
      "🔥 **[FIRING:2] HighCPU** (cluster=prod)",
      "Receiver: ops-team",
      "",
      "🔥 **HighCPU** · critical · node1:9100",
      "Summary: CPU usage above 90% on node1:9100",
      "CPU usage is 97.3% for 10 minutes.",
      "Labels: job=node",
      "Started 2024-05-01 10:00:00 UTC",
      `[Source](${SOURCE}) · [Silence](${SILENCE}${
        encodeURIComponent(
          '{alertname="HighCPU",cluster="prod",instance="node1:9100",job="node",severity="critical"}',
        )
      }) · [Runbook](https://runbooks.example.com/HighCPU)`,
      "",
      "🔥 **HighCPU** · critical · node2:9100",
      "Summary: CPU usage above 90% on node2:9100",
      "Labels: job=node",
      "Started 2024-05-01 10:02:30 UTC",
      `[Source](${SOURCE}) · [Silence](${SILENCE}${
        encodeURIComponent(
          '{alertname="HighCPU",cluster="prod",instance="node2:9100",job="node",severity="critical"}',
        )
      })`,
      "",
      "[Open Alertmanager](http://alertmanager.example.com:9093/)",
    ].join("\n"),
  );
});

Deno.test("alertmanager: resolved group is marked resolved with its duration and no silence link", () => {
  const { message } = alertmanagerFormat.parse(jsonInput(fixture("alertmanager_resolved")));
  const lines = message.text.split("\n");
  assert.equal(lines[0], "✅ **[RESOLVED:1] DiskFull**");
  assert.ok(lines.includes("✅ **DiskFull** · warning · db1:9100"));
  assert.ok(lines.includes("Resolved 2024-05-01 09:47:30 UTC (lasted 1h 32m)"));
  assert.ok(lines.includes("Labels: device=/dev/sda1, job=node, mountpoint=/var/lib/postgresql"));
  assert.doesNotMatch(message.text, /Silence|🔥/);
});

Deno.test("alertmanager: mixed group lists firing before resolved and reports truncatedAlerts", () => {
  const { message } = alertmanagerFormat.parse(jsonInput(fixture("alertmanager_truncated")));
  const text = message.text;
  assert.ok(text.startsWith("🔥 **[FIRING:2, RESOLVED:1] TargetDown** (job=node)\n"));
  const firing = text.indexOf("**Firing (2)**");
  const resolved = text.indexOf("**Resolved (1)**");
  assert.ok(firing > 0 && resolved > firing);
  assert.ok(text.indexOf("10.0.0.6:9100") > firing && text.indexOf("10.0.0.5:9100") > resolved);
  assert.match(text, /7 more alerts left out by Alertmanager \(max_alerts\)/);
});

Deno.test("alertmanager: label and annotation values cannot inject markup or links", () => {
  const body = fixture("alertmanager_firing") as Record<string, unknown>;
  const evil = "*bold* [x](javascript:alert(1))";
  body["alerts"] = [{
    status: "firing",
    labels: { alertname: evil, team: evil, severity: "__crit__" },
    annotations: {
      summary: evil,
      description: `line1\n${evil}`,
      runbook_url: "javascript:alert(1)",
    },
    generatorURL: "javascript:alert(1)",
    startsAt: "2024-05-01T10:00:00Z",
  }];
  body["groupLabels"] = { alertname: evil };
  const { message } = alertmanagerFormat.parse(jsonInput(body));
  const escaped = "\\*bold\\* \\[x\\]\\(javascript:alert\\(1\\)\\)";
  assert.ok(message.text.includes(`🔥 **${escaped}** · \\_\\_crit\\_\\_`));
  assert.ok(message.text.includes(`Summary: ${escaped}`));
  assert.ok(message.text.includes(`Labels: team=${escaped}`));
  assert.doesNotMatch(message.text, /\]\(javascript:/);
  assert.doesNotMatch(message.text, /Runbook|\[Source\]/);
});

Deno.test("alertmanager: 10,000 alerts stay a bounded message", () => {
  const alerts = Array.from({ length: 10_000 }, (_, i) => ({
    status: i % 3 === 0 ? "resolved" : "firing",
    labels: { alertname: "Flood", instance: `host${i}`, extra: "x".repeat(500) },
    annotations: { description: "y".repeat(5000) },
    startsAt: "2024-05-01T10:00:00Z",
  }));
  const body = { version: "4", groupKey: "k", status: "firing", alerts, externalURL: "http://am" };
  const { message } = alertmanagerFormat.parse(jsonInput(body));
  assert.ok(message.text.length <= 12_000, `length ${message.text.length}`);
  assert.ok(message.text.startsWith("🔥 **[FIRING:6666, RESOLVED:3334] Flood**"));
});

Deno.test("alertmanager: odd field types are tolerated, not fatal", () => {
  const body = {
    version: "4",
    groupKey: "k",
    status: 7,
    receiver: null,
    groupLabels: ["not", "an", "object"],
    truncatedAlerts: "many",
    externalURL: "not a url",
    alerts: [null, 3, "x", {
      labels: { alertname: 5, n: null },
      annotations: [],
      startsAt: "yesterday",
    }],
  };
  const { message } = alertmanagerFormat.parse(jsonInput(body));
  assert.equal(message.text, "🔥 **[FIRING:1] 5**\n\n🔥 **5**");
});

Deno.test("alertmanager: detects only version 4 bodies; parse refuses others with a 400", () => {
  assert.equal(alertmanagerFormat.detect(jsonInput(fixture("grafana_firing"))), false);
  assert.equal(alertmanagerFormat.detect(jsonInput({ version: "4", alerts: [] })), false);
  assert.equal(alertmanagerFormat.detect(jsonInput([1, 2])), false);
  assert.throws(
    () => alertmanagerFormat.parse(jsonInput({ text: "hi" })),
    (e) => e instanceof PayloadError && e.code === "invalid_payload" && e.status === 400,
  );
});

Deno.test("silenceUrl quotes label values and skips an absent externalURL", () => {
  assert.equal(silenceUrl(undefined, { a: "b" }), undefined);
  assert.equal(silenceUrl("http://am/", {}), undefined);
  assert.equal(
    silenceUrl("http://am/", { a: 'x"y\\z' }),
    "http://am/#/silences/new?filter=" + encodeURIComponent('{a="x\\"y\\\\z"}'),
  );
});

Deno.test("alertmanager: a lone surrogate in a label value does not crash the silence link (fuzz find)", () => {
  const body = {
    version: "4",
    groupKey: "k",
    status: "firing",
    externalURL: "http://am",
    alerts: [{ status: "firing", labels: { alertname: "A", bad: "x\ud800y" } }],
  };
  const { message } = alertmanagerFormat.parse(jsonInput(body));
  assert.ok(message.text.includes(encodeURIComponent('bad="x\ufffdy"')));
});
