// Alert groups and CI runs as living messages: the whole bot against the fake TrueConf,
// payloads from the fixtures captured from the senders' docs.
import assert from "node:assert/strict";
import { livingWorld } from "./_world.ts";
import { visibleLength } from "../../src/trueconf/mod.ts";

const fixture = (name: string) =>
  JSON.parse(Deno.readTextFileSync(new URL(`../ingest/fixtures/${name}`, import.meta.url)));

/** An Alertmanager v4 notification of group `key` with `n` firing alerts (or resolved). */
function am(key: string, n: number, status: "firing" | "resolved") {
  const base = fixture("alertmanager_firing.json");
  const one = base.alerts[0];
  const alerts = Array.from({ length: n }, (_, i) => ({
    ...one,
    status,
    labels: { ...one.labels, instance: `node${i + 1}:9100` },
    fingerprint: `f${i}`,
    ...(status === "resolved" ? { endsAt: "2024-05-01T10:30:00Z" } : {}),
  }));
  return { ...base, groupKey: key, status, alerts };
}

Deno.test("Alertmanager: firing → more firing → resolved → firing again is edit, edit, edit + reply, new message", async () => {
  const t = await livingWorld();
  try {
    const key = '{}:{alertname="HighCPU", cluster="prod"}';
    const r1 = await t.post(t.hookA, am(key, 1, "firing"));
    assert.equal(r1.status, 200);
    const [root] = r1.json.messages;
    assert.equal(t.shown().length, 1);
    assert.match(t.shown()[0]?.text ?? "", /FIRING:1/);

    const r2 = await t.post(t.hookA, am(key, 3, "firing"));
    assert.deepEqual(r2.json.messages, [root]);
    assert.match(t.shown()[0]?.text ?? "", /FIRING:3/, "edited, not posted again");
    // The two alerts the message did not show before are named in a reply (an edit notifies
    // nobody), though they started long before (a notification can reach the bot late).
    assert.equal(t.shown()[1]?.text, "🔥 Also firing: HighCPU · node2:9100, HighCPU · node3:9100");
    assert.equal(t.shown().length, 2);

    const r3 = await t.post(t.hookA, am(key, 3, "resolved"));
    assert.deepEqual(r3.json.messages, [root]);
    const [edited, , reply] = t.shown();
    assert.match(edited?.text ?? "", /RESOLVED:3/);
    // By the alerts' own times (10:00:00.123 → 10:30:00), not the seconds since the bot's
    // first post of the group.
    assert.match(edited?.text ?? "", /Resolved, fired for 30m$/);
    assert.equal(reply?.text, "✅ Resolved: HighCPU");
    assert.equal(reply?.replyMessageId, root, "the reply notifies: it answers the alert");
    assert.equal(t.w.fake.edits.length, 2);

    const r4 = await t.post(t.hookA, am(key, 1, "firing"));
    assert.notEqual(r4.json.messages[0], root);
    assert.equal(t.shown().length, 4, "a group that fires again starts a new message");
    // Another group of the same hook has its own message.
    await t.post(t.hookA, am('{}:{alertname="Disk"}', 1, "firing"));
    assert.equal(t.shown().length, 5);
  } finally {
    await t.close();
  }
});

Deno.test("Grafana: the same group lifecycle by its groupKey", async () => {
  const t = await livingWorld();
  try {
    const firing = fixture("grafana_firing.json");
    for (const a of firing.alerts) delete a.imageURL; // no image host in this test
    const [root] = (await t.post(t.hookA, firing)).json.messages;
    const more = structuredClone(firing);
    more.alerts.push({ ...more.alerts[0], labels: { ...more.alerts[0].labels, instance: "b" } });
    assert.deepEqual((await t.post(t.hookA, more)).json.messages, [root]);
    const resolved = structuredClone(more);
    resolved.status = "resolved";
    for (const a of resolved.alerts) a.status = "resolved";
    assert.deepEqual((await t.post(t.hookA, resolved)).json.messages, [root]);
    const shown = t.shown();
    assert.equal(shown.length, 2);
    assert.equal(shown[1]?.text, "✅ Resolved: High memory usage");
    assert.equal(shown[1]?.replyMessageId, root);
    assert.equal(t.w.fake.edits.length, 2);
    const again = (await t.post(t.hookA, firing)).json.messages[0];
    assert.notEqual(again, root);
  } finally {
    await t.close();
  }
});

// Alertmanager adds an alert that starts firing to its group's next notification (after
// group_interval), which the bot shows by editing the group's message: an edit notifies nobody,
// so a second host going down was silent. A reply names the alerts the message did not show
// before; a repeat of the same alerts (repeat_interval) adds none. Which alerts are new is known
// by identity (Alertmanager's and Grafana's `fingerprint`), not by start time: Prometheus hands
// a firing alert over at its next evaluation, so one can start before the group's last
// notification and still miss it, and a sender's clock may be behind the bot's.
Deno.test("Alertmanager: an alert that joins an open group is named in a reply, however long ago it started; repeats are not", async () => {
  for (const [when, startsAt] of [["after the post", 1], ["before the post", -300_000]] as const) {
    const t = await livingWorld();
    try {
      const key = '{}:{alertname="HighCPU"}';
      const first = am(key, 1, "firing");
      first.alerts[0]!.startsAt = new Date(Date.now() - 600_000).toISOString();
      const [root] = (await t.post(t.hookA, first)).json.messages;
      const more = structuredClone(first);
      more.alerts.push({
        ...more.alerts[0]!,
        labels: { ...more.alerts[0]!.labels, instance: "node2:9100" },
        fingerprint: "f-joined",
        startsAt: new Date(Date.now() + startsAt).toISOString(),
      });
      assert.deepEqual((await t.post(t.hookA, more)).json.messages, [root], when);
      const [edited, reply] = t.shown();
      assert.match(edited?.text ?? "", /FIRING:2/, when);
      assert.equal(reply?.text, "🔥 Also firing: HighCPU · node2:9100", when);
      assert.equal(reply?.replyMessageId, root, when);
      // The same two alerts again: an edit, no new reply.
      await t.post(t.hookA, more);
      assert.equal(t.shown().length, 2, when);
    } finally {
      await t.close();
    }
  }
});

/** A GitHub `workflow_run` event of run 42. */
function workflowRun(action: string, status: string, conclusion: string | null) {
  return {
    action,
    workflow_run: {
      id: 42,
      name: "CI",
      run_number: 7,
      run_attempt: 1,
      head_branch: "main",
      status,
      conclusion,
      html_url: "https://github.com/acme/app/actions/runs/42",
    },
    repository: { full_name: "acme/app", html_url: "https://github.com/acme/app" },
    sender: { login: "alice" },
  };
}

Deno.test("GitHub: one workflow run from queued to failure updates one message, with a reply on failure", async () => {
  const t = await livingWorld();
  try {
    const gh = { "x-github-event": "workflow_run" };
    const [root] =
      (await t.post(t.hookA, workflowRun("requested", "queued", null), gh)).json.messages;
    await t.post(t.hookA, workflowRun("in_progress", "in_progress", null), gh);
    assert.equal(t.shown().length, 1);
    assert.match(t.shown()[0]?.text ?? "", /in_progress|in progress/);
    await t.post(t.hookA, workflowRun("completed", "completed", "failure"), gh);
    const [msg, reply] = t.shown();
    assert.equal(msg?.messageId, root);
    assert.match(msg?.text ?? "", /❌/);
    assert.equal(reply?.text, "❌ Failed: CI #7 (acme/app)");
    assert.equal(reply?.replyMessageId, root);
    // A success is an edit only.
    const ok = workflowRun("requested", "queued", null);
    ok.workflow_run.id = 43;
    await t.post(t.hookA, ok, gh);
    const done = workflowRun("completed", "completed", "success");
    done.workflow_run.id = 43;
    await t.post(t.hookA, done, gh);
    assert.equal(t.shown().length, 3);
    assert.match(t.shown()[2]?.text ?? "", /✅/);
  } finally {
    await t.close();
  }
});

// Issue 14 names these event kinds beside workflow_run and pipeline: each run is one message,
// edited as it goes, with a reply on failure.
Deno.test("GitHub check_suite and deployment_status, GitLab deployment: one message per run, edited, a reply on failure", async () => {
  const t = await livingWorld();
  try {
    const suite = fixture("github_check_suite_requested.json");
    const failed = structuredClone(suite);
    failed.action = "completed";
    failed.check_suite.status = "completed";
    failed.check_suite.conclusion = "failure";
    const [suiteMsg] =
      (await t.post(t.hookA, suite, { "x-github-event": "check_suite" })).json.messages;
    await t.post(t.hookA, failed, { "x-github-event": "check_suite" });

    const status = fixture("github_deployment_status.json");
    const deploy = (state: string, id: number) => {
      const b = structuredClone(status);
      b.deployment_status.state = state;
      b.deployment_status.id = id; // each status is its own event; the deployment is the run
      return b;
    };
    const ds = { "x-github-event": "deployment_status" };
    const [deployMsg] = (await t.post(t.hookA, deploy("pending", 1), ds)).json.messages;
    await t.post(t.hookA, deploy("in_progress", 2), ds);
    await t.post(t.hookA, deploy("failure", 3), ds);

    const gitlab = fixture("gitlab_deployment.json");
    const gl = (s: string) => ({ ...structuredClone(gitlab), status: s });
    const glh = { "x-gitlab-event": "Deployment Hook" };
    const [glMsg] = (await t.post(t.hookA, gl("running"), glh)).json.messages;
    await t.post(t.hookA, gl("failed"), glh);

    const shown = t.shown();
    assert.equal(shown.length, 6, shown.map((m) => m.text).join("\n---\n"));
    for (const root of [suiteMsg, deployMsg, glMsg]) {
      const msg = shown.find((m) => m.messageId === root);
      assert.match(msg?.text ?? "", /^❌/, "the run's message shows the failure");
      const replies = shown.filter((m) => m.replyMessageId === root);
      assert.equal(replies.length, 1, "one reply on failure");
      assert.match(replies[0]!.text ?? "", /^❌ Failed: /);
    }
    // check_suite: requested → failed is one edit; deployment_status: two; GitLab: one.
    assert.equal(t.w.fake.edits.length, 4);
  } finally {
    await t.close();
  }
});

Deno.test("Jenkins Notification plugin: one build's phases update one message; FINALIZED failure replies", async () => {
  const t = await livingWorld();
  try {
    const base = fixture("dialects/jenkins_notification_finalized.json");
    const phase = (p: string, status?: string) => {
      const body = structuredClone(base);
      body.build.phase = p;
      if (status === undefined) delete body.build.status;
      else body.build.status = status;
      return body;
    };
    const [root] = (await t.post(t.hookA, phase("STARTED"))).json.messages;
    await t.post(t.hookA, phase("COMPLETED", "FAILURE"));
    assert.equal(t.shown().length, 1, "COMPLETED edits; it does not close the build's message");
    await t.post(t.hookA, phase("FINALIZED", "FAILURE"));
    const [msg, reply] = t.shown();
    assert.equal(msg?.messageId, root);
    assert.match(msg?.text ?? "", /^❌ \*\*\[api-deploy #42\]/);
    assert.equal(reply?.text, "❌ Failed: api-deploy #42");
    assert.equal(reply?.replyMessageId, root);
    assert.equal(t.shown().length, 2);
  } finally {
    await t.close();
  }
});

Deno.test("GitLab: a pipeline's events update one message; failed replies", async () => {
  const t = await livingWorld();
  try {
    const gl = { "x-gitlab-event": "Pipeline Hook" };
    const body = (status: string) => ({
      object_kind: "pipeline",
      object_attributes: { id: 99, status, ref: "main" },
      project: { path_with_namespace: "acme/app", web_url: "https://gitlab.example.com/acme/app" },
      user: { name: "Alice" },
    });
    const [root] = (await t.post(t.hookA, body("pending"), gl)).json.messages;
    await t.post(t.hookA, body("running"), gl);
    await t.post(t.hookA, body("failed"), gl);
    const [msg, reply] = t.shown();
    assert.equal(msg?.messageId, root);
    assert.equal(reply?.text, "❌ Failed: pipeline #99 (acme/app)");
    assert.equal(reply?.replyMessageId, root);
    assert.equal(t.w.fake.edits.length, 2);
  } finally {
    await t.close();
  }
});

Deno.test("buttons: URL buttons on a 5.5.6 server, the text's links only on 5.5.3; native buttons become links there", async () => {
  const newer = await livingWorld({ fake: { serverVersion: "5.5.6.10902" } });
  try {
    await newer.post(newer.hookA, am("g", 1, "firing"));
    const alert = newer.shown()[0];
    const labels = alert?.buttons?.flat().map((b) => b.label);
    assert.deepEqual(labels, ["Silence", "Runbook", "Source", "Alertmanager"]);
    await newer.post(newer.hookA, {
      text: "release 1.2",
      buttons: [[{ text: "Changelog", url: "https://example.com/changes" }]],
    });
    assert.deepEqual(newer.shown()[1]?.buttons, [[{
      label: "Changelog",
      url: "https://example.com/changes",
    }]]);
    assert.deepEqual(newer.w.fake.protocolErrors, []);
  } finally {
    await newer.close();
  }
  const older = await livingWorld();
  try {
    await older.post(older.hookA, am("g", 1, "firing"));
    const alert = older.shown()[0];
    assert.equal(alert?.buttons, undefined);
    assert.match(alert?.text ?? "", /\[Silence\]\(http/);
    await older.post(older.hookA, {
      text: "release 1.2",
      buttons: [[{ text: "Changelog", url: "https://example.com/changes" }]],
    });
    assert.equal(older.shown()[1]?.text, "release 1.2\n\nChangelog: https://example.com/changes");
    assert.deepEqual(older.w.fake.protocolErrors, [], "no buttons sent to an old server");
  } finally {
    await older.close();
  }
});

Deno.test("a group too long for one TrueConf message is one message cut to fit, so every later edit changes all of it", async () => {
  const t = await livingWorld();
  try {
    // 20 alerts (the most a group shows) with long annotations: far past 4096 characters.
    const group = (n: number, status: "firing" | "resolved") => {
      const body = am("big", n, status);
      for (const a of body.alerts) a.annotations.description = "d".repeat(300);
      return body;
    };
    const [root] = (await t.post(t.hookA, group(15, "firing"))).json.messages;
    assert.deepEqual((await t.post(t.hookA, group(20, "firing"))).json.messages, [root]);
    assert.deepEqual((await t.post(t.hookA, group(20, "resolved"))).json.messages, [root]);
    const [edited, alsoFiring, reply, ...more] = t.shown();
    assert.equal(more.length, 0, "no tail of an earlier version left behind");
    assert.match(alsoFiring?.text ?? "", /^🔥 Also firing: HighCPU · node16:9100, /);
    assert.match(edited?.text ?? "", /^✅ \*\*\[RESOLVED:20\]/);
    assert.match(edited?.text ?? "", /…\n\n✅ Resolved, fired for 30m$/);
    assert.ok(visibleLength(edited?.text ?? "") <= 4096);
    assert.equal(reply?.text, "✅ Resolved: HighCPU");
  } finally {
    await t.close();
  }
});

Deno.test("buttons shown as links: after a text split to TrueConf's limit the text is cut with …; in HTML the break is <br>", async () => {
  const t = await livingWorld(); // a 5.5.3 server: buttons become links after the text
  try {
    await t.post(t.hookA, {
      text: "x".repeat(4096),
      buttons: [[{ text: "Changelog", url: "https://example.com/changes" }]],
    });
    const linked = t.shown().at(-1)?.text ?? "";
    assert.ok(visibleLength(linked) <= 4096, `${visibleLength(linked)} visible`);
    assert.ok(linked.endsWith("x…\n\nChangelog: https://example.com/changes"));
    // In HTML a raw newline shows as a space (SDK 1.5 LineBreak): the blank line is <br><br>.
    await t.post(t.hookA, {
      text: "<b>release 1.2</b>",
      parse_mode: "html",
      buttons: [[{ text: "Changelog", url: "https://example.com/changes" }]],
    });
    assert.equal(
      t.shown().at(-1)?.text,
      '<b>release 1.2</b><br><br><a href="https://example.com/changes">Changelog</a>',
    );
  } finally {
    await t.close();
  }
});

Deno.test("/webhook_alerts reply|new changes how a group is shown; /webhook_info shows the setting", async () => {
  const t = await livingWorld();
  try {
    const say = t.say;
    await say(
      "/webhook_alerts alerts sideways",
      /Type \/webhook_alerts &lt;name&gt; edit\|reply\|new/,
    );
    await say("/webhook_info alerts", /Alerts: edit · Mentions: people/);
    await say("/webhook_alerts alerts reply", /alerts = <b>reply<\/b>/);
    await say("/webhook_info alerts", /Alerts: reply/);
    const start = t.w.fake.messagesIn(t.chat).length;
    const posts = () => t.w.fake.messagesIn(t.chat).slice(start);
    const [root] = (await t.post(t.hookA, am("g", 1, "firing"))).json.messages;
    await t.post(t.hookA, am("g", 2, "firing"));
    await t.post(t.hookA, am("g", 2, "resolved"));
    assert.equal(posts().length, 3);
    assert.deepEqual(posts().map((m) => m.replyMessageId), [undefined, root, root]);
    assert.equal(t.w.fake.edits.length, 0);

    await say("/webhook_alerts alerts new", /alerts = <b>new<\/b>/);
    const mark = t.w.fake.messagesIn(t.chat).length;
    await t.post(t.hookA, am("h", 1, "firing"));
    await t.post(t.hookA, am("h", 1, "resolved"));
    const fresh = t.w.fake.messagesIn(t.chat).slice(mark);
    assert.equal(fresh.length, 2);
    assert.equal(fresh.some((m) => m.replyMessageId), false);
  } finally {
    await t.close();
  }
});

Deno.test("Slack button blocks with a URL become URL buttons on a 5.5.6 server; the text keeps the links", async () => {
  const slack = {
    text: "Deploy done",
    blocks: [
      { type: "section", text: { type: "mrkdwn", text: "*Deploy* done" } },
      {
        type: "actions",
        elements: [
          {
            type: "button",
            text: { type: "plain_text", text: "View run" },
            url: "https://ci.example.com/7",
          },
          { type: "button", text: { type: "plain_text", text: "Approve" }, action_id: "approve" },
        ],
      },
    ],
    attachments: [{
      text: "x",
      actions: [{ type: "button", text: "Logs", url: "https://ci.example.com/7/logs" }],
    }],
  };
  const t = await livingWorld({ fake: { serverVersion: "5.5.6.10902" } });
  try {
    const res = await t.post(t.hookA, slack);
    assert.equal(res.text, "ok");
    const m = t.shown()[0];
    assert.deepEqual(m?.buttons, [
      [{ label: "View run", url: "https://ci.example.com/7" }],
      [{ label: "Logs", url: "https://ci.example.com/7/logs" }],
    ]);
    assert.match(m?.text ?? "", /\[View run\]\(https:\/\/ci\.example\.com\/7\)/);
  } finally {
    await t.close();
  }
});
