import assert from "node:assert/strict";
import { gitlabFormat } from "../../../src/ingest/formats/gitlab.ts";
import { PayloadError } from "../../../src/ingest/formats/types.ts";
import { fixture, input, jsonInput } from "./_input.ts";

function render(name: string, event: string): string {
  const i = jsonInput(fixture(name), { "X-Gitlab-Event": event });
  assert.equal(gitlabFormat.detect(i), true);
  const parsed = gitlabFormat.parse(i);
  assert.equal(parsed.format, "gitlab");
  assert.equal(parsed.reply, "json");
  assert.equal(parsed.message.parseMode, "markdown");
  assert.deepEqual(parsed.message.attachments, []);
  return parsed.message.text;
}

const TEST_PROJECT = "[gitlab-org/gitlab-test](https://gitlab.example.com/gitlab-org/gitlab-test)";
const HQ_PROJECT = "[gitlabhq/gitlab-test](https://gitlab.example.com/gitlabhq/gitlab-test)";

Deno.test("gitlab: push with compare link, commit lines and total count (golden)", () => {
  assert.equal(
    render("gitlab_push", "Push Hook"),
    [
      "**John Smith** pushed 4 commits to `master` in [mike/diaspora](https://gitlab.example.com/mike/diaspora/-/compare/95790bf891e76fee5e1747ab589903a6a1f80f22...da1560886d4f094c3e6c9ef40349f7d38b5d27d7)",
      "• [b6568db1](https://gitlab.example.com/mike/diaspora/-/commit/b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327) Update Catalan translation to e38cb41. — Jordi Mallach",
      "• [da156088](https://gitlab.example.com/mike/diaspora/-/commit/da1560886d4f094c3e6c9ef40349f7d38b5d27d7) fixed readme — GitLab dev user",
      "… and 2 more commits",
    ].join("\n"),
  );
});

Deno.test("gitlab: branch deletion and tag push", () => {
  const base = fixture("gitlab_push") as Record<string, unknown>;
  const del = gitlabFormat.parse(
    jsonInput({ ...base, after: "0".repeat(40), commits: [], total_commits_count: 0 }, {
      "x-gitlab-event": "Push Hook",
    }),
  );
  assert.equal(
    del.message.text,
    "**John Smith** deleted branch `master` in [mike/diaspora](https://gitlab.example.com/mike/diaspora)",
  );
  const tag = gitlabFormat.parse(
    jsonInput({ ...base, object_kind: "tag_push", ref: "refs/tags/v1.0.0", commits: [] }, {
      "x-gitlab-event": "Tag Push Hook",
    }),
  );
  assert.equal(
    tag.message.text,
    "**John Smith** pushed tag [v1.0.0](https://gitlab.example.com/mike/diaspora/-/tags/v1.0.0) to [mike/diaspora](https://gitlab.example.com/mike/diaspora)",
  );
});

Deno.test("gitlab: failed pipeline names the failed jobs (allowed failures excluded)", () => {
  assert.equal(
    render("gitlab_pipeline_failed", "Pipeline Hook"),
    [
      `❌ [Pipeline #31](https://gitlab.example.com/gitlab-org/gitlab-test/-/pipelines/31) failed on \`master\` in ${TEST_PROJECT} · triggered by **Administrator** · 1m 3s`,
      "Commit [bcbb5ec3](https://gitlab.example.com/gitlab-org/gitlab-test/-/commit/bcbb5ec396a2c0f828686f14fac9b80b780504f2) test",
      "Failed jobs: [test-build](https://gitlab.example.com/gitlab-org/gitlab-test/-/jobs/378) (test)",
    ].join("\n"),
  );
});

Deno.test("gitlab: successful pipeline builds its link from the project URL", () => {
  assert.equal(
    render("gitlab_pipeline_success", "Pipeline Hook"),
    `✅ [Pipeline #32](https://gitlab.example.com/gitlab-org/gitlab-test/-/pipelines/32) passed on \`main\` in ${TEST_PROJECT} · triggered by **Administrator** · 3m 5s`,
  );
});

Deno.test("gitlab: merge request opened and issue closed", () => {
  assert.equal(
    render("gitlab_merge_request", "Merge Request Hook"),
    `**Administrator** opened merge request [!1 MS-Viewport](https://gitlab.example.com/gitlabhq/gitlab-test/-/merge_requests/1) in ${HQ_PROJECT}\n` +
      "`ms-viewport` → `master`\nSets the viewport meta tag.",
  );
  assert.equal(
    render("gitlab_issue", "Issue Hook"),
    `**Administrator** closed issue [#23 New API: create/update/delete file](https://gitlab.example.com/gitlabhq/gitlab-test/-/issues/23) in ${HQ_PROJECT}`,
  );
});

Deno.test("gitlab: note, job and release hooks", () => {
  const project = { path_with_namespace: "g/p", web_url: "https://gl/g/p" };
  const user = { name: "Ann", username: "ann" };
  const note = gitlabFormat.parse(jsonInput({
    object_kind: "note",
    user,
    project,
    object_attributes: {
      note: "Looks *good*",
      noteable_type: "MergeRequest",
      url: "https://gl/g/p/-/merge_requests/4#note_1",
    },
    merge_request: { iid: 4, title: "Fix" },
  }, { "x-gitlab-event": "Note Hook" }));
  assert.equal(
    note.message.text,
    "**Ann** commented on merge request [!4 Fix](https://gl/g/p/-/merge_requests/4#note_1) in [g/p](https://gl/g/p)\nLooks \\*good\\*",
  );
  const job = gitlabFormat.parse(jsonInput({
    object_kind: "build",
    ref: "main",
    build_id: 9,
    build_name: "test",
    build_stage: "test",
    build_status: "failed",
    build_duration: 12.5,
    user,
    project_name: "g / p",
    repository: { name: "p", homepage: "https://gl/g/p" },
  }, { "x-gitlab-event": "Job Hook" }));
  assert.equal(
    job.message.text,
    "❌ [Job test](https://gl/g/p/-/jobs/9) (stage test) failed on `main` in [p](https://gl/g/p) · 13s",
  );
  const release = gitlabFormat.parse(jsonInput({
    object_kind: "release",
    name: "Release 1",
    tag: "v1",
    url: "https://gl/g/p/-/releases/v1",
    action: "create",
    project,
  }, { "x-gitlab-event": "Release Hook" }));
  assert.equal(
    release.message.text,
    "🏷️ Release [Release 1 \\(v1\\)](https://gl/g/p/-/releases/v1) created in [g/p](https://gl/g/p)",
  );
});

Deno.test("gitlab: unknown events fall back to one generic line; System Hook uses object_kind", () => {
  // GitLab's "Wiki page events" example: a page created, with its title and commit message.
  const wiki = gitlabFormat.parse(jsonInput({
    object_kind: "wiki_page",
    user: { name: "Ann" },
    project: { path_with_namespace: "g/p", web_url: "https://gl/g/p" },
    object_attributes: {
      title: "Awesome",
      action: "create",
      url: "https://gl/g/p/-/wikis/awesome",
      message: "adding an awesome page to the wiki",
    },
  }, { "x-gitlab-event": "Wiki Page Hook" }));
  assert.equal(
    wiki.message.text,
    "**Ann** created wiki page [Awesome](https://gl/g/p/-/wikis/awesome) in [g/p](https://gl/g/p)\nadding an awesome page to the wiki",
  );
  const emoji = gitlabFormat.parse(jsonInput({
    object_kind: "emoji",
    user: { name: "Ann" },
    project: { path_with_namespace: "g/p", web_url: "https://gl/g/p" },
    object_attributes: { action: "award", name: "thumbsup" },
  }, { "x-gitlab-event": "Emoji Hook" }));
  assert.equal(
    emoji.message.text,
    "GitLab event `Emoji Hook` (action `award`) on [g/p](https://gl/g/p) by **Ann**",
  );
  const system = gitlabFormat.parse(
    jsonInput(fixture("gitlab_push"), { "x-gitlab-event": "System Hook" }),
  );
  assert.match(system.message.text, /^\*\*John Smith\*\* pushed 4 commits/);
});

Deno.test("gitlab: values cannot inject markup; non-object bodies are 400s", () => {
  const evil = "*x* [y](javascript:alert(1))";
  const text = gitlabFormat.parse(jsonInput({
    user: { name: evil },
    project: { path_with_namespace: evil, web_url: "javascript:alert(1)" },
    object_attributes: { iid: 1, title: evil, url: "javascript:alert(1)", action: "open" },
  }, { "x-gitlab-event": "Issue Hook" })).message.text;
  const e = "\\*x\\* \\[y\\]\\(javascript:alert\\(1\\)\\)";
  assert.equal(text, `**${e}** opened issue #1 ${e} in ${e}`);
  assert.throws(
    () => gitlabFormat.parse(jsonInput([1], { "x-gitlab-event": "Push Hook" })),
    (err) => err instanceof PayloadError && err.code === "invalid_payload" && err.status === 400,
  );
  assert.throws(
    () => gitlabFormat.parse(input({ kind: "text", text: "x" }, { "x-gitlab-event": "Push Hook" })),
    (err) => err instanceof PayloadError,
  );
  assert.equal(gitlabFormat.detect(jsonInput(fixture("gitlab_push"))), false);
});

Deno.test("gitlab: Deployment Hook names environment, status, ref, job and commit; Subgroup Hook names the subgroup (issue 15)", () => {
  // Fixtures: the "Deployment events" and "Subgroup events" examples of GitLab's webhook events docs.
  const deployment = gitlabFormat.parse(
    jsonInput(fixture("gitlab_deployment"), { "x-gitlab-event": "Deployment Hook" }),
  ).message.text;
  assert.equal(
    deployment,
    "✅ Deployment #15 of `1.0.0` to **staging** passed in [root/test-deployment-webhooks](http://10.126.0.2:3000/root/test-deployment-webhooks) · by **Administrator** · [Job](http://10.126.0.2:3000/root/test-deployment-webhooks/-/jobs/796) · [Open environment](https://staging.example.com/)\n" +
      "Commit [279484c0](http://10.126.0.2:3000/root/test-deployment-webhooks/-/commit/279484c09fbe69ededfced8c1bb6e6d24616b468) Add new file",
  );
  const subgroup = gitlabFormat.parse(
    jsonInput(fixture("gitlab_subgroup_create"), { "x-gitlab-event": "Subgroup Hook" }),
  ).message.text;
  assert.equal(subgroup, "👥 Subgroup **group-1/subgroup-1** created in group **group-1**");
  const removed = gitlabFormat.parse(jsonInput(
    {
      ...(fixture("gitlab_subgroup_create") as Record<string, unknown>),
      event_name: "subgroup_destroy",
    },
    { "x-gitlab-event": "Subgroup Hook" },
  )).message.text;
  assert.match(removed, /removed in group/);
});

// GitLab's system hooks (docs/administration/system_hooks.md) send `X-Gitlab-Event: System Hook`
// and name a repository event by `event_name` only: their push and tag push bodies have no
// `object_kind`. Instance events (projects, users, groups…) have neither a project nor a user.
Deno.test("gitlab: System Hook pushes are read by event_name; instance events name the event and its subject", () => {
  const system = (body: Record<string, unknown>) =>
    gitlabFormat.parse(jsonInput(body, { "x-gitlab-event": "System Hook" })).message.text;
  const { object_kind: _kind, ...push } = fixture("gitlab_push") as Record<string, unknown>;
  assert.match(system({ ...push, event_name: "push" }), /^\*\*John Smith\*\* pushed 4 commits/);
  assert.match(
    system({
      ...push,
      event_name: "tag_push",
      ref: "refs/tags/v1.0.0",
      commits: [],
      total_commits_count: 0,
    }),
    /^\*\*John Smith\*\* pushed tag \[v1\.0\.0\]/,
  );
  assert.equal(
    system({
      event_name: "project_create",
      name: "StoreCloud",
      owner_name: "John Smith",
      path: "storecloud",
      path_with_namespace: "jsmith/storecloud",
      project_id: 74,
    }),
    "GitLab system event `project\\_create`: **jsmith/storecloud** by **John Smith**",
  );
  assert.equal(
    system({
      event_name: "user_failed_login",
      name: "John Smith",
      username: "js",
      state: "blocked",
    }),
    "GitLab system event `user\\_failed\\_login`: **js**",
  );
  assert.equal(system({}), "GitLab system event");
});

Deno.test("gitlab: HTML comments of description templates are left out", () => {
  const text = gitlabFormat.parse(jsonInput({
    object_kind: "merge_request",
    user: { name: "Ann" },
    project: { path_with_namespace: "g/p", web_url: "https://gl/g/p" },
    object_attributes: {
      iid: 3,
      title: "Fix",
      url: "https://gl/g/p/-/merge_requests/3",
      action: "open",
      source_branch: "fix",
      target_branch: "main",
      description: "<!-- Describe the change -->\nFixes the crash.",
    },
  }, { "x-gitlab-event": "Merge Request Hook" })).message.text;
  assert.ok(text.endsWith("\nFixes the crash."), text);
  assert.ok(!text.includes("Describe the change"), text);
});

// GitLab sends a Job Hook for every state of every job (created, pending, running, then
// success or failed: GitLab's "Job events" docs); each was a message of its own, four or more
// per job. One job is one message now, like a pipeline, with the failure's reason.
Deno.test("gitlab: the Job Hook events of one job edit one message; a failure names its reason and replies", () => {
  const job = (status: string, extra: Record<string, unknown> = {}) =>
    gitlabFormat.parse(jsonInput({
      object_kind: "build",
      ref: "main",
      build_id: 1977,
      build_name: "test",
      build_stage: "test",
      build_status: status,
      build_duration: status === "running" ? null : 63.2,
      project_id: 380,
      project_name: "gitlab-org/gitlab-test",
      repository: { name: "gitlab_test", homepage: "https://gl/gitlab-org/gitlab-test" },
      ...extra,
    }, { "x-gitlab-event": "Job Hook" })).message;
  const running = job("running");
  assert.equal(running.thread?.group?.id, "gl:job:gitlab_test:1977");
  assert.equal(running.thread?.group?.state, "open");
  const failed = job("failed", { build_failure_reason: "script_failure" });
  assert.equal(failed.thread?.group?.id, running.thread?.group?.id);
  assert.equal(failed.thread?.group?.state, "closed");
  assert.equal(failed.thread?.group?.reply, "❌ Failed: job test (gitlab_test)");
  assert.equal(
    failed.text,
    "❌ [Job test](https://gl/gitlab-org/gitlab-test/-/jobs/1977) (stage test) failed on `main` in [gitlab\\_test](https://gl/gitlab-org/gitlab-test) · 1m 3s · script failure",
  );
  assert.deepEqual(failed.buttons, [[{
    text: "Job",
    url: "https://gl/gitlab-org/gitlab-test/-/jobs/1977",
  }]]);
});

// GitLab's "Merge request events": `approval` when one user approves, `approved` when the merge
// request has every required approval. The last approver's click sends both, which read as the
// same sentence twice ("Ann approved merge request !3").
Deno.test("gitlab: one user's approval and the merge request's full approval read differently", () => {
  const mr = (action: string) =>
    gitlabFormat.parse(jsonInput({
      object_kind: "merge_request",
      user: { name: "Ann" },
      project: { path_with_namespace: "g/p", web_url: "https://gl/g/p" },
      object_attributes: { iid: 3, title: "Fix", url: "https://gl/g/p/-/merge_requests/3", action },
    }, { "x-gitlab-event": "Merge Request Hook" })).message.text;
  const link = "[!3 Fix](https://gl/g/p/-/merge_requests/3) in [g/p](https://gl/g/p)";
  assert.equal(mr("approval"), `**Ann** approved merge request ${link}`);
  assert.equal(mr("approved"), `**Ann** gave the last required approval to merge request ${link}`);
  assert.equal(mr("unapproval"), `**Ann** removed their approval from merge request ${link}`);
  assert.equal(mr("unapproved"), `**Ann** withdrew a required approval from merge request ${link}`);
});
