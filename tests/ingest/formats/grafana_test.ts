import assert from "node:assert/strict";
import { grafanaFormat, MAX_GRAFANA_IMAGES } from "../../../src/ingest/formats/grafana.ts";
import { alertmanagerFormat } from "../../../src/ingest/formats/alertmanager.ts";
import { appriseFormat } from "../../../src/ingest/formats/apprise.ts";
import { PayloadError } from "../../../src/ingest/formats/types.ts";
import { fixture, jsonInput } from "./_input.ts";

Deno.test("grafana: unified firing alert renders the golden text and attaches the screenshot", () => {
  const input = jsonInput(fixture("grafana_firing"));
  assert.equal(grafanaFormat.detect(input), true);
  const parsed = grafanaFormat.parse(input);
  assert.equal(parsed.format, "grafana");
  assert.equal(parsed.reply, "json");
  assert.equal(parsed.message.parseMode, "markdown");
  assert.equal(
    parsed.message.text,
    [
      // Grafana's own title (its default template) is the heading.
      "🔥 **\\[FIRING:1\\] High memory usage Infrastructure \\(web-01 warning\\)**",
      "Receiver: trueconf-ops",
      "",
      "🔥 **High memory usage** · warning",
      "Summary: Memory usage on web-01 is above 85%",
      "Memory has been above 85% for 5 minutes.",
      "Labels: host=web-01",
      "Values: A=91.25, B=1",
      "Started 2024-06-03 14:20:00 UTC",
      "[Source](https://grafana.example.com/alerting/grafana/bdl4ohw9xxlvkd/view?orgId=1)" +
      " · [Dashboard](https://grafana.example.com/d/node-exporter?orgId=1)" +
      " · [Panel](https://grafana.example.com/d/node-exporter?orgId=1&viewPanel=12)" +
      " · [Silence](https://grafana.example.com/alerting/silence/new?alertmanager=grafana&matcher=alertname%3DHigh+memory+usage&matcher=host%3Dweb-01&orgId=1)",
      "",
      "[Open Grafana](https://grafana.example.com/)",
    ].join("\n"),
  );
  assert.deepEqual(parsed.message.attachments, [{
    kind: "photo",
    source: {
      type: "url",
      url: "https://grafana.example.com/public/img/attachments/nKJ6gGOxRVSLbtgcGdcT.png",
    },
  }]);
});

Deno.test("grafana: the default message template is dropped, a custom message is kept escaped", () => {
  const firing = grafanaFormat.parse(jsonInput(fixture("grafana_firing"))).message.text;
  assert.doesNotMatch(firing, /Annotations:/);
  const resolved = grafanaFormat.parse(jsonInput(fixture("grafana_resolved"))).message;
  const lines = resolved.text.split("\n");
  assert.equal(lines[0], "✅ **\\[RESOLVED\\] High memory usage**");
  assert.equal(lines[3], "Memory is back to normal on all web hosts. Ping @oncall if it flaps.");
  assert.match(resolved.text, /Resolved 2024-06-03 14:45:00 UTC \(lasted 25m\)/);
  assert.doesNotMatch(resolved.text, /Silence/);
  // Empty dashboard/panel URLs give no link; the same screenshot twice is attached once.
  assert.doesNotMatch(resolved.text, /Dashboard|Panel/);
  assert.equal(resolved.attachments.length, 1);
});

Deno.test("grafana: a custom Title template is the heading and custom message lines are kept (issue 15)", () => {
  const body = structuredClone(fixture("grafana_firing")) as Record<string, unknown>;
  body.title = "Alerts firing: 2";
  body.message = "2 alerts are firing, 0 are resolved\nOn-call: see the runbook";
  const lines = grafanaFormat.parse(jsonInput(body)).message.text.split("\n");
  assert.equal(lines[0], "🔥 **Alerts firing: 2**");
  assert.deepEqual(lines.slice(2, 5), [
    "",
    "2 alerts are firing, 0 are resolved",
    "On-call: see the runbook",
  ]);
  // Without a title the computed heading stays.
  delete body.title;
  assert.equal(
    grafanaFormat.parse(jsonInput(body)).message.text.split("\n")[0],
    "🔥 **[FIRING:1] High memory usage** (grafana\\_folder=Infrastructure)",
  );
});

Deno.test("grafana: legacy notifier payload renders state, matches, tags and the image", () => {
  const parsed = grafanaFormat.parse(jsonInput(fixture("grafana_legacy")));
  assert.equal(
    parsed.message.text,
    [
      "🔥 **\\[Alerting\\] Test notification**",
      "Someone is testing the alert notification within Grafana.",
      "",
      "• High value: 100 (host=web-01)",
      "• Higher Value: 200",
      "Tags: team=web",
      "[Open in Grafana](https://grafana.example.com/d/abc/dashboard?fullscreen&edit&tab=alert&panelId=2&orgId=1)",
    ].join("\n"),
  );
  assert.deepEqual(parsed.message.attachments, [{
    kind: "photo",
    source: {
      type: "url",
      url: "https://grafana.example.com/public/img/attachments/legacy-panel.png",
    },
  }]);
});

Deno.test("grafana: legacy ok state is green", () => {
  const body = {
    ...(fixture("grafana_legacy") as object),
    state: "ok",
    title: "[OK] CPU",
    evalMatches: [],
  };
  const text = grafanaFormat.parse(jsonInput(body)).message.text;
  assert.ok(text.startsWith("✅ **\\[OK\\] CPU**"));
});

Deno.test("grafana: screenshots are http(s) only, deduplicated and capped", () => {
  const alerts = Array.from({ length: 30 }, (_, i) => ({
    status: "firing",
    labels: { alertname: "A" },
    imageURL: i === 0
      ? "javascript:alert(1)"
      : i === 1
      ? "file:///etc/passwd"
      : `https://g/img/${i % 15}.png`,
  }));
  const parsed = grafanaFormat.parse(
    jsonInput({ orgId: 1, version: "1", status: "firing", alerts }),
  );
  const urls = parsed.message.attachments.map((a) => a.source.type === "url" ? a.source.url : "");
  assert.equal(urls.length, MAX_GRAFANA_IMAGES);
  assert.equal(new Set(urls).size, urls.length);
  assert.ok(urls.every((u) => u.startsWith("https://g/img/")));
});

Deno.test("grafana: label values and message cannot inject markup", () => {
  const evil = "*bold* [x](javascript:alert(1))";
  const body = {
    orgId: 1,
    status: "firing",
    message: evil,
    alerts: [{
      status: "firing",
      labels: { alertname: evil },
      values: { [evil]: 1 },
      panelURL: "javascript:x",
    }],
  };
  const text = grafanaFormat.parse(jsonInput(body)).message.text;
  const escaped = "\\*bold\\* \\[x\\]\\(javascript:alert\\(1\\)\\)";
  assert.ok(text.includes(`🔥 **${escaped}**`));
  assert.ok(text.includes(`Values: ${escaped}=1`));
  assert.doesNotMatch(text, /\]\(javascript:|Panel/);
});

Deno.test("grafana: detection does not overlap with Alertmanager or Apprise", () => {
  for (const name of ["grafana_firing", "grafana_resolved", "grafana_legacy"]) {
    const input = jsonInput(fixture(name));
    assert.equal(grafanaFormat.detect(input), true, name);
    assert.equal(alertmanagerFormat.detect(input), false, name);
    assert.equal(appriseFormat.detect(input), false, name);
  }
  assert.equal(grafanaFormat.detect(jsonInput(fixture("alertmanager_firing"))), false);
  assert.equal(grafanaFormat.detect(jsonInput({ title: "x", message: "y" })), false);
  assert.throws(
    () => grafanaFormat.parse(jsonInput({ message: "y" })),
    (e) => e instanceof PayloadError && e.code === "invalid_payload",
  );
});

// Grafana's documented webhook example (docs "Configure the webhook notifier"): two alerts with
// different names, `groupLabels: {}`. The resolved reply said "✅ Resolved: alerts".
Deno.test("grafana: a group without group labels is titled by its alerts' names", () => {
  const alert = (name: string, zone: string) => ({
    status: "resolved",
    labels: { alertname: name, team: "blue", zone },
    annotations: {},
    startsAt: "2021-10-12T09:51:03.157076+02:00",
    endsAt: "2021-10-12T10:20:03+02:00",
    fingerprint: zone,
  });
  const body = (alerts: unknown[]) => ({
    receiver: "My Super Webhook",
    status: "resolved",
    orgId: 1,
    alerts,
    groupLabels: {},
    commonLabels: { team: "blue" },
    commonAnnotations: {},
    externalURL: "https://play.grafana.org/",
    version: "1",
    groupKey: "{}:{}",
    truncatedAlerts: 0,
    title: "[RESOLVED]  (blue)",
    state: "ok",
  });
  const group = (alerts: unknown[]) =>
    grafanaFormat.parse(jsonInput(body(alerts))).message.thread?.group;
  const two = group([alert("High memory usage", "us-1"), alert("High CPU usage", "eu-1")]);
  assert.equal(two?.title, "High memory usage, High CPU usage");
  assert.equal(two?.reply, "✅ Resolved: High memory usage, High CPU usage");
  const many = group(["A", "B", "C", "D", "E", "A"].map((n, i) => alert(n, `z${i}`)));
  assert.equal(many?.title, "A, B, C and 2 more");
});
