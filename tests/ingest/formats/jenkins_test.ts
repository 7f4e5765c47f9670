/**
 * Jenkins' Notification plugin (jenkinsci/notification-plugin): JSON `{name, display_name, url,
 * build: {full_url, number, phase, status, duration, scm, log, notes, test_summary}}` (Gson,
 * lower_case_with_underscores), posted at each phase of a build (QUEUED, STARTED, COMPLETED,
 * FINALIZED). `jenkins_notification_finalized.json` follows the plugin's model classes
 * (JobState, BuildState, ScmState, TestState).
 *
 * @module
 */
import assert from "node:assert/strict";
import { dialectFixture, post } from "./_request.ts";

const JSON_TYPE = "application/json;charset=UTF-8";

function phase(p: string, status?: string) {
  const body = JSON.parse(
    new TextDecoder().decode(dialectFixture("jenkins_notification_finalized")),
  );
  body.build.phase = p;
  if (status === undefined) delete body.build.status;
  else body.build.status = status;
  return post(JSON.stringify(body), JSON_TYPE);
}

Deno.test("Jenkins Notification plugin: a failed build names job, number, result, branch, tests and culprits", async () => {
  const r = await post(dialectFixture("jenkins_notification_finalized"), JSON_TYPE);
  assert.equal(r.format, "jenkins");
  assert.equal(r.reply, "json");
  assert.equal(r.message.parseMode, "markdown");
  assert.equal(
    r.message.text,
    [
      "❌ **[api-deploy #42](https://jenkins.example.com/job/api-deploy/42/)** failed after 1m 23s",
      "Branch origin/main · commit c6d86dc",
      "Tests: 117 passed, 2 failed, 1 skipped",
      "• api.auth.login rejects \\*bad\\* tokens",
      "• api.users.list",
      "Changes by alice, bob",
      "",
      "\\[Pipeline\\] sh",
      "+ npm test",
      "npm ERR! Test failed.  See above for more details.",
    ].join("\n"),
  );
  // One chat message per build, edited through its phases; a failure also replies.
  assert.equal(r.message.thread?.group?.id, "jenkins:job/api-deploy/:42");
  assert.equal(r.message.thread?.group?.state, "closed");
  assert.equal(r.message.thread?.group?.reply, "❌ Failed: api-deploy #42");
});

Deno.test("Jenkins phases: queued and started keep the build's message open; completed too, finalized closes it", async () => {
  const queued = await phase("QUEUED");
  assert.match(queued.message.text, /^⏳ \*\*\[api-deploy #42\]\(.*\)\*\* is queued/);
  assert.equal(queued.message.thread?.group?.state, "open");
  const started = await phase("STARTED");
  assert.match(started.message.text, /^🔄 \*\*\[api-deploy #42\]\(.*\)\*\* started/);
  assert.equal(started.message.thread?.group?.state, "open");
  // The plugin sends COMPLETED and then FINALIZED for every build: closing at COMPLETED would
  // make FINALIZED start a second message.
  const completed = await phase("COMPLETED", "SUCCESS");
  assert.match(
    completed.message.text,
    /^✅ \*\*\[api-deploy #42\]\(.*\)\*\* succeeded after 1m 23s/,
  );
  assert.equal(completed.message.thread?.group?.state, "open");
  const finalized = await phase("FINALIZED", "SUCCESS");
  assert.equal(finalized.message.thread?.group?.state, "closed");
  assert.equal(finalized.message.thread?.group?.reply, undefined);
  assert.match((await phase("FINALIZED", "UNSTABLE")).message.text, /^⚠️ .* is unstable/);
  assert.match((await phase("FINALIZED", "ABORTED")).message.text, /^⏹️ .* was aborted/);
});

Deno.test("a body that only looks a bit like Jenkins' is not taken for it", async () => {
  const r = await post('{"name":"x","build":{"number":1}}', JSON_TYPE);
  assert.notEqual(r.format, "jenkins");
});
