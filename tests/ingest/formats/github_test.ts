import assert from "node:assert/strict";
import { githubFormat } from "../../../src/ingest/formats/github.ts";
import { PayloadError } from "../../../src/ingest/formats/types.ts";
import { fixture, formInput, input, jsonInput } from "./_input.ts";

function render(name: string, event: string): string {
  const i = jsonInput(fixture(name), { "X-GitHub-Event": event });
  assert.equal(githubFormat.detect(i), true);
  const parsed = githubFormat.parse(i);
  assert.equal(parsed.format, "github");
  assert.equal(parsed.reply, "json");
  assert.equal(parsed.message.parseMode, "markdown");
  assert.deepEqual(parsed.message.attachments, []);
  return parsed.message.text;
}

const REPO = "[acme/widgets](https://github.com/acme/widgets)";

Deno.test("github: ping confirms the setup with hook id, events and zen", () => {
  assert.equal(
    render("github_ping", "ping"),
    `🔗 GitHub webhook is set up for ${REPO} (hook 479312345 · events: push, pull\\_request)\n*Keep it logically awesome.*`,
  );
});

Deno.test("github: push lists the commits with links (golden), escaping commit titles", () => {
  assert.equal(
    render("github_push", "push"),
    [
      "**alice** pushed 3 commits to `main` in [acme/widgets](https://github.com/acme/widgets/compare/9049f1265b7d...0d1a26e67d8f)",
      "• [1c2d3e4](https://github.com/acme/widgets/commit/1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d) Fix widget rendering on Safari — alice",
      "• [2d3e4f5](https://github.com/acme/widgets/commit/2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e) Add \\*bold\\* \\[x\\]\\(javascript:alert\\(1\\)\\) test — bob",
      "• [0d1a26e](https://github.com/acme/widgets/commit/0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c) Bump version to 1.4.2 — alice",
    ].join("\n"),
  );
});

Deno.test("github: push variants — many commits, tag, deletion, new branch, force push", () => {
  const base = fixture("github_push") as Record<string, unknown>;
  const commits = Array.from(
    { length: 8 },
    (_, i) => ({ id: `${i}`.repeat(40), message: `c${i}`, url: `https://x/${i}` }),
  );
  const many =
    githubFormat.parse(jsonInput({ ...base, commits }, { "x-github-event": "push" })).message.text;
  assert.equal(many.split("\n").length, 1 + 5 + 1);
  assert.ok(many.endsWith("… and 3 more commits"));
  const tag = githubFormat.parse(
    jsonInput({ ...base, ref: "refs/tags/v1.4.2", created: true }, { "x-github-event": "push" }),
  );
  assert.equal(tag.message.text, `**alice** pushed tag \`v1.4.2\` to ${REPO}`);
  const del = githubFormat.parse(
    jsonInput({ ...base, ref: "refs/heads/old", deleted: true, commits: [] }, {
      "x-github-event": "push",
    }),
  );
  assert.equal(del.message.text, `**alice** deleted branch \`old\` in ${REPO}`);
  const created = githubFormat.parse(
    jsonInput({ ...base, ref: "refs/heads/feat", created: true, commits: [] }, {
      "x-github-event": "push",
    }),
  );
  assert.match(created.message.text, /^\*\*alice\*\* created branch `feat` in \[acme\/widgets\]\(/);
  const forced = githubFormat.parse(
    jsonInput({ ...base, forced: true }, { "x-github-event": "push" }),
  );
  assert.match(forced.message.text, /^\*\*alice\*\* force-pushed 3 commits to `main`/);
});

Deno.test("github: pull request opened and merged", () => {
  assert.equal(
    render("github_pull_request_opened", "pull_request"),
    `**carol** opened pull request [#57 Add dark mode](https://github.com/acme/widgets/pull/57) in ${REPO}\n` +
      "`dark-mode` → `main`\nThis adds a dark theme.\n\nCloses #12.",
  );
  assert.equal(
    render("github_pull_request_merged", "pull_request"),
    `**alice** merged pull request [#57 Add dark mode](https://github.com/acme/widgets/pull/57) in ${REPO}\n` +
      "`dark-mode` → `main`",
  );
  const closed = fixture("github_pull_request_merged") as Record<string, Record<string, unknown>>;
  closed["pull_request"] = { ...closed["pull_request"], merged: false };
  const text =
    githubFormat.parse(jsonInput(closed, { "x-github-event": "pull_request" })).message.text;
  assert.ok(text.startsWith("**alice** closed pull request [#57"));
});

Deno.test("github: issue titles with markup or HTML are escaped", () => {
  assert.equal(
    render("github_issues_opened", "issues"),
    "**dave** opened issue [#58 Widget <b>crashes</b> on \\*\\*empty\\*\\* input](https://github.com/acme/widgets/issues/58)" +
      ` in ${REPO}\nSteps:\n1. open widget\n2. clear input`,
  );
});

Deno.test("github: workflow_run completed shows the conclusion emoji", () => {
  assert.equal(
    render("github_workflow_run", "workflow_run"),
    `❌ Workflow **CI** failed on \`main\` in ${REPO} · [run #314](https://github.com/acme/widgets/actions/runs/9400000001)`,
  );
  const ok = fixture("github_workflow_run") as Record<string, Record<string, unknown>>;
  ok["workflow_run"] = { ...ok["workflow_run"], conclusion: "success" };
  assert.match(
    githubFormat.parse(jsonInput(ok, { "x-github-event": "workflow_run" })).message.text,
    /^✅ Workflow \*\*CI\*\* succeeded/,
  );
});

Deno.test("github: other known events get their one-liner", () => {
  const repo = {
    full_name: "acme/widgets",
    html_url: "https://github.com/acme/widgets",
    stargazers_count: 43,
  };
  const sender = { login: "zed" };
  const cases: [string, Record<string, unknown>, string][] = [
    ["star", { action: "created" }, `**zed** starred ${REPO} (⭐ 43)`],
    [
      "fork",
      { forkee: { full_name: "zed/widgets", html_url: "https://github.com/zed/widgets" } },
      `**zed** forked ${REPO} to [zed/widgets](https://github.com/zed/widgets)`,
    ],
    [
      "release",
      {
        action: "published",
        release: {
          tag_name: "v2",
          name: "Two",
          html_url: "https://github.com/acme/widgets/releases/tag/v2",
        },
      },
      `**zed** published release [Two \\(v2\\)](https://github.com/acme/widgets/releases/tag/v2) in ${REPO}`,
    ],
    ["create", { ref: "feat", ref_type: "branch" }, `**zed** created branch \`feat\` in ${REPO}`],
    [
      "issue_comment",
      {
        action: "created",
        issue: { number: 5, title: "Bug", pull_request: {} },
        comment: { html_url: "https://github.com/acme/widgets/pull/5#c1", body: "LGTM" },
      },
      `**zed** commented on pull request [#5 Bug](https://github.com/acme/widgets/pull/5#c1) in ${REPO}\nLGTM`,
    ],
    ["pull_request_review", {
      action: "submitted",
      pull_request: { number: 5, title: "Bug", html_url: "https://github.com/acme/widgets/pull/5" },
      review: { state: "approved" },
    }, `**zed** approved pull request [#5 Bug](https://github.com/acme/widgets/pull/5) in ${REPO}`],
    [
      "check_suite",
      {
        action: "completed",
        check_suite: {
          conclusion: "success",
          head_branch: "main",
          head_sha: "abcdef1234567",
          app: { name: "CI" },
        },
      },
      `✅ Checks (CI) succeeded on \`main\` at [abcdef1](https://github.com/acme/widgets/commit/abcdef1234567) in ${REPO}`,
    ],
  ];
  for (const [event, body, expected] of cases) {
    const text = githubFormat.parse(
      jsonInput({ ...body, repository: repo, sender }, { "x-github-event": event }),
    ).message.text;
    assert.equal(text, expected, event);
  }
});

Deno.test("github: an unknown event is one generic line with its link, never an error", () => {
  assert.equal(
    githubFormat.parse(
      jsonInput(fixture("github_unknown_event"), { "X-GitHub-Event": "project_card" }),
    ).message.text,
    `GitHub event \`project\\_card\` (action \`created\`) on ${REPO} by **erin** · [Open](https://github.com/acme/widgets/discussions/90)`,
  );
  const weird = githubFormat.parse(jsonInput({}, { "x-github-event": "*x*" })).message.text;
  assert.equal(weird, "GitHub event `\\*x\\*` on GitHub by **someone**");
});

Deno.test("github: form-encoded payload field is accepted; bad bodies are 400s", () => {
  const body = JSON.stringify(fixture("github_ping"));
  const parsed = githubFormat.parse(formInput({ payload: body }, [], { "X-GitHub-Event": "ping" }));
  assert.match(parsed.message.text, /^🔗 GitHub webhook is set up/);
  assert.throws(
    () => githubFormat.parse(formInput({ payload: "{nope" }, [], { "X-GitHub-Event": "ping" })),
    (e) => e instanceof PayloadError && e.code === "invalid_json" && e.status === 400,
  );
  assert.throws(
    () => githubFormat.parse(input({ kind: "text", text: "hi" }, { "X-GitHub-Event": "ping" })),
    (e) => e instanceof PayloadError && e.code === "invalid_payload",
  );
  assert.equal(githubFormat.detect(jsonInput({ zen: "x" })), false);
  assert.equal(githubFormat.detect(jsonInput({ zen: "x" }, { "x-github-event": " " })), false);
});

Deno.test("github: check_run, check_suite, deployment and deployment_status name the check, conclusion, environment and state (issue 15)", () => {
  // Fixtures: octokit/webhooks payload-examples/api.github.com (check_run/completed,
  // check_run/created, check_suite/completed, check_suite/requested, deployment, deployment_status).
  const text = (name: string, event: string) =>
    githubFormat.parse(jsonInput(fixture(name), { "x-github-event": event })).message.text;
  const repo = "[Codertocat/Hello-World](https://github.com/Codertocat/Hello-World)";
  const at = (sha: string) =>
    `[${sha.slice(0, 7)}](https://github.com/Codertocat/Hello-World/commit/${sha})`;
  const sha1 = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";
  assert.equal(
    text("github_check_run_completed", "check_run"),
    `✅ Check **Octocoders-linter** (octocoders-linter) succeeded on \`changes\` at ${
      at(sha1)
    } in ${repo} · [Details](https://github.com/Codertocat/Hello-World/runs/128620228)`,
  );
  assert.match(
    text("github_check_run_created", "check_run"),
    /^🔄 Check \*\*Octocoders-linter\*\* \(octocoders-linter\) is queued on `changes`/,
  );
  assert.equal(
    text("github_check_suite_completed", "check_suite"),
    `✅ Checks (octocoders-linter) succeeded on \`changes\` at ${
      at(sha1)
    } in ${repo} · 1 check run`,
  );
  assert.match(
    text("github_check_suite_requested", "check_suite"),
    /^🔄 Checks \(octocoders-linter\) are queued on `master`/,
  );
  assert.equal(
    text("github_deployment", "deployment"),
    `🚀 **Codertocat** started a deployment of \`master\` (f95f852) to **production** in ${repo}`,
  );
  assert.equal(
    text("github_deployment_status", "deployment_status"),
    `✅ Deployment of \`master\` (f95f852) to **production** succeeded in ${repo}`,
  );
  const failed = githubFormat.parse(jsonInput({
    ...(fixture("github_deployment_status") as Record<string, unknown>),
    deployment_status: {
      state: "failure",
      environment: "staging",
      log_url: "https://ci.example.com/deploy/9",
      environment_url: "https://staging.example.com",
      description: "Health check failed",
    },
  }, { "x-github-event": "deployment_status" })).message.text;
  assert.equal(
    failed,
    `❌ Deployment of \`master\` (f95f852) to **staging** failed in ${repo} · [Logs](https://ci.example.com/deploy/9) · [Open](https://staging.example.com/)\nHealth check failed`,
  );
});

// What each sentence is about, from payloads shaped like GitHub's documented examples
// (docs.github.com "Webhook events and payloads"; octokit/webhooks payload-examples): an
// assignment names who, a label which, a milestone which, as GitHub's own timeline does.
const ACME = { full_name: "acme/widgets", html_url: "https://github.com/acme/widgets" };
const ISSUE = {
  number: 7,
  title: "Crash",
  html_url: "https://github.com/acme/widgets/issues/7",
  milestone: { title: "v1.0" },
};
const PR = { number: 8, title: "Fix", html_url: "https://github.com/acme/widgets/pull/8" };

function githubText(event: string, body: Record<string, unknown>): string {
  return githubFormat.parse(
    jsonInput({ repository: ACME, sender: { login: "zed" }, ...body }, {
      "x-github-event": event,
    }),
  ).message.text;
}

Deno.test("github: assignments, labels and milestones name who or what", () => {
  const issue = "[#7 Crash](https://github.com/acme/widgets/issues/7)";
  const pr = "[#8 Fix](https://github.com/acme/widgets/pull/8)";
  const cases: [string, Record<string, unknown>, string][] = [
    [
      "issues",
      { action: "assigned", issue: ISSUE, assignee: { login: "bob" } },
      `**zed** assigned **bob** to issue ${issue} in ${REPO}`,
    ],
    [
      "issues",
      { action: "unassigned", issue: ISSUE, assignee: { login: "bob" } },
      `**zed** unassigned **bob** from issue ${issue} in ${REPO}`,
    ],
    [
      "issues",
      { action: "labeled", issue: ISSUE, label: { name: "bug" } },
      `**zed** labeled issue ${issue} with \`bug\` in ${REPO}`,
    ],
    [
      "issues",
      { action: "unlabeled", issue: ISSUE, label: { name: "needs *triage*" } },
      `**zed** removed the label \`needs \\*triage\\*\` from issue ${issue} in ${REPO}`,
    ],
    [
      "issues",
      { action: "milestoned", issue: ISSUE },
      `**zed** added issue ${issue} to milestone **v1.0** in ${REPO}`,
    ],
    [
      "issues",
      {
        action: "demilestoned",
        issue: { ...ISSUE, milestone: null },
        milestone: { title: "v1.0" },
      },
      `**zed** removed issue ${issue} from milestone **v1.0** in ${REPO}`,
    ],
    [
      "pull_request",
      { action: "assigned", pull_request: PR, assignee: { login: "carol" } },
      `**zed** assigned **carol** to pull request ${pr} in ${REPO}`,
    ],
    [
      "pull_request",
      { action: "labeled", pull_request: PR, label: { name: "ready" } },
      `**zed** labeled pull request ${pr} with \`ready\` in ${REPO}`,
    ],
    // Without the object the sentence stays as before rather than naming nothing.
    ["issues", { action: "labeled", issue: ISSUE }, `**zed** labeled issue ${issue} in ${REPO}`],
  ];
  for (const [event, body, expected] of cases) {
    assert.equal(githubText(event, body), expected, `${event} ${body["action"]}`);
  }
});

Deno.test("github: commit statuses say the context, state, commit and details link, as one message per status", () => {
  const sha = "6113728f27ae82c7b1a177c8d03f9e96e0adf246";
  const status = (state: string, description: string) =>
    githubFormat.parse(jsonInput({
      sha,
      state,
      context: "ci/jenkins",
      description,
      target_url: "https://ci.example.com/job/42",
      branches: [{ name: "main" }],
      repository: ACME,
      sender: { login: "zed" },
    }, { "x-github-event": "status" }));
  const at = `[6113728](https://github.com/acme/widgets/commit/${sha})`;
  const pending = status("pending", "Build #42 started");
  assert.equal(
    pending.message.text,
    `⏳ **ci/jenkins** is pending on \`main\` at ${at} in ${REPO} · [Details](https://ci.example.com/job/42)\nBuild #42 started`,
  );
  assert.equal(pending.message.thread?.group?.state, "open");
  const failed = status("failure", "2 tests failed");
  assert.equal(
    failed.message.text,
    `❌ **ci/jenkins** failed on \`main\` at ${at} in ${REPO} · [Details](https://ci.example.com/job/42)\n2 tests failed`,
  );
  // The same status context of the same commit is one living message, closed with a reply on failure.
  assert.equal(failed.message.thread?.group?.id, pending.message.thread?.group?.id);
  assert.equal(failed.message.thread?.group?.state, "closed");
  assert.equal(
    failed.message.thread?.group?.reply,
    "❌ Failed: ci/jenkins at 6113728 (acme/widgets)",
  );
  assert.match(status("success", "").message.text, /^✅ \*\*ci\/jenkins\*\* succeeded on/);
  assert.match(status("error", "").message.text, /^❌ \*\*ci\/jenkins\*\* errored on/);
  assert.deepEqual(failed.message.buttons, [[{
    text: "Details",
    url: "https://ci.example.com/job/42",
  }]]);
});

Deno.test("github: workflow jobs name the job, workflow, state and the failed step, as one message per job", () => {
  const job = (action: string, extra: Record<string, unknown>) =>
    githubFormat.parse(jsonInput({
      action,
      workflow_job: {
        id: 2832853555,
        run_id: 940463255,
        run_attempt: 1,
        name: "test",
        workflow_name: "CI",
        head_branch: "main",
        head_sha: "f95f852bd8fca8fcc58a9a2d6c842781e32a215e",
        html_url: "https://github.com/acme/widgets/runs/2832853555",
        status: action === "completed" ? "completed" : action,
        conclusion: null,
        steps: [],
        ...extra,
      },
      repository: ACME,
      sender: { login: "zed" },
    }, { "x-github-event": "workflow_job" }));
  const at =
    "[f95f852](https://github.com/acme/widgets/commit/f95f852bd8fca8fcc58a9a2d6c842781e32a215e)";
  const link = "[Details](https://github.com/acme/widgets/runs/2832853555)";
  const queued = job("queued", {});
  assert.equal(
    queued.message.text,
    `⏳ Job **test** of **CI** is queued on \`main\` at ${at} in ${REPO} · ${link}`,
  );
  assert.equal(queued.message.thread?.group?.state, "open");
  assert.match(
    job("in_progress", {}).message.text,
    /^🔄 Job \*\*test\*\* of \*\*CI\*\* is in progress/,
  );
  const failed = job("completed", {
    conclusion: "failure",
    steps: [
      { name: "Set up job", status: "completed", conclusion: "success", number: 1 },
      { name: "Run tests", status: "completed", conclusion: "failure", number: 2 },
      { name: "Upload", status: "completed", conclusion: "skipped", number: 3 },
    ],
  });
  assert.equal(
    failed.message.text,
    `❌ Job **test** of **CI** failed on \`main\` at ${at} in ${REPO} · ${link}\nFailed step: Run tests`,
  );
  assert.equal(failed.message.thread?.group?.id, queued.message.thread?.group?.id);
  assert.equal(failed.message.thread?.group?.state, "closed");
  assert.equal(failed.message.thread?.group?.reply, "❌ Failed: test of CI (acme/widgets)");
  assert.match(
    job("completed", { conclusion: "success" }).message.text,
    /^✅ Job \*\*test\*\* of \*\*CI\*\* succeeded/,
  );
});

Deno.test("github: commit comments and discussions read like issue comments", () => {
  assert.equal(
    githubText("commit_comment", {
      action: "created",
      comment: {
        html_url: "https://github.com/acme/widgets/commit/6113728f#commitcomment-1",
        commit_id: "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
        body: "This is a really good change! :+1:",
      },
    }),
    // GitHub shows its emoji shortcodes as emoji (octokit's commit_comment example ends in :+1:).
    `**zed** commented on commit [6113728](https://github.com/acme/widgets/commit/6113728f#commitcomment-1) in ${REPO}\nThis is a really good change! 👍`,
  );
  const discussion = {
    number: 90,
    title: "Welcome to discussions!",
    html_url: "https://github.com/acme/widgets/discussions/90",
    body: "We're glad to have you here!",
  };
  const link = "[#90 Welcome to discussions!](https://github.com/acme/widgets/discussions/90)";
  assert.equal(
    githubText("discussion", { action: "created", discussion }),
    `**zed** started discussion ${link} in ${REPO}\nWe're glad to have you here!`,
  );
  assert.equal(
    githubText("discussion", { action: "answered", discussion }),
    `**zed** marked an answer in discussion ${link} in ${REPO}`,
  );
  assert.equal(
    githubText("discussion_comment", {
      action: "created",
      discussion,
      comment: {
        html_url: "https://github.com/acme/widgets/discussions/90#discussioncomment-1",
        body: "Thanks!",
      },
    }),
    `**zed** commented on discussion [#90 Welcome to discussions!](https://github.com/acme/widgets/discussions/90#discussioncomment-1) in ${REPO}\nThanks!`,
  );
});

// Publishing a release sends `created`, `published` and `released` within a second (GitHub's
// docs for the `release` event); three chat messages for one release was noise. They are one
// message now, edited as the actions arrive, with the release notes.
Deno.test("github: the actions of one release edit one message that shows its notes", () => {
  const release = {
    id: 17372790,
    tag_name: "v2.1.0",
    name: "Two point one",
    html_url: "https://github.com/acme/widgets/releases/tag/v2.1.0",
    body: "- faster widgets\n- fewer bugs",
    prerelease: false,
  };
  const parsed = (action: string) =>
    githubFormat.parse(jsonInput({ action, release, repository: ACME, sender: { login: "zed" } }, {
      "x-github-event": "release",
    }));
  const created = parsed("created");
  const released = parsed("released");
  assert.equal(created.message.thread?.group?.id, released.message.thread?.group?.id);
  assert.equal(released.message.thread?.group?.state, "open");
  assert.equal(released.message.thread?.group?.reply, undefined);
  assert.equal(
    released.message.text,
    `**zed** published release [Two point one \\(v2.1.0\\)](https://github.com/acme/widgets/releases/tag/v2.1.0) in ${REPO}\n- faster widgets\n- fewer bugs`,
  );
  assert.equal(
    parsed("deleted").message.text,
    `**zed** deleted release [Two point one \\(v2.1.0\\)](https://github.com/acme/widgets/releases/tag/v2.1.0) in ${REPO}`,
  );
});

// Pull request and issue templates fill bodies with HTML comments (GitHub's docs, "Creating a
// pull request template": `<!-- … -->` guidance the author types under). GitHub hides them; the
// chat showed them. A body that is only the untouched template shows nothing.
Deno.test("github: HTML comments of templates are left out of bodies", () => {
  const opened = (body: string) =>
    githubText("pull_request", {
      action: "opened",
      pull_request: { ...PR, body, head: { ref: "fix" }, base: { ref: "main" } },
    });
  const head =
    `**zed** opened pull request [#8 Fix](https://github.com/acme/widgets/pull/8) in ${REPO}\n\`fix\` → \`main\``;
  assert.equal(
    opened(
      "<!-- Describe your change -->\r\nFixes the crash on empty input.\r\n\r\n<!--\r\n- [ ] tests\r\n-->\r\n",
    ),
    `${head}\nFixes the crash on empty input.`,
  );
  assert.equal(opened("<!-- What does this change? -->\n<!-- Checklist -->"), head);
  assert.equal(opened("Unclosed <!-- comment"), `${head}\nUnclosed`);
});

// Security alerts (GitHub's dependabot_alert, code_scanning_alert and secret_scanning_alert
// events, shaped as in GitHub's docs and octokit's payload examples) were one generic line: a
// reader could not tell a critical vulnerability from a note, nor which package.
Deno.test("github: security alerts name the severity, package or rule, and what to upgrade to", () => {
  const dependabot = (action: string, state: string) =>
    githubText("dependabot_alert", {
      action,
      alert: {
        number: 20,
        state,
        html_url: "https://github.com/acme/widgets/security/dependabot/20",
        dependency: {
          package: { ecosystem: "npm", name: "semver" },
          manifest_path: "package.json",
        },
        security_advisory: {
          ghsa_id: "GHSA-c2qf-rxjj-qqgw",
          cve_id: "CVE-2022-25883",
          summary: "semver vulnerable to Regular Expression Denial of Service",
          severity: "medium",
        },
        security_vulnerability: {
          severity: "medium",
          first_patched_version: { identifier: "7.5.2" },
        },
      },
    });
  const link = "[#20](https://github.com/acme/widgets/security/dependabot/20)";
  assert.equal(
    dependabot("created", "open"),
    `🟡 Dependabot alert ${link} in ${REPO}: **semver** (npm) semver vulnerable to Regular Expression Denial of Service\nSeverity medium · CVE-2022-25883 · fixed in 7.5.2`,
  );
  assert.match(dependabot("fixed", "fixed"), /^✅ Dependabot alert \[#20\]\(.*\) fixed in /);
  assert.match(
    dependabot("dismissed", "dismissed"),
    /^⚪ Dependabot alert \[#20\]\(.*\) dismissed in /,
  );

  assert.equal(
    githubText("code_scanning_alert", {
      action: "created",
      ref: "refs/heads/main",
      alert: {
        number: 10,
        html_url: "https://github.com/acme/widgets/security/code-scanning/10",
        state: "open",
        rule: {
          id: "java/sql-injection",
          severity: "error",
          security_severity_level: "high",
          description: "Query built from user-controlled sources",
        },
        tool: { name: "CodeQL" },
        most_recent_instance: {
          ref: "refs/heads/main",
          location: { path: "src/Db.java", start_line: 42 },
        },
      },
    }),
    `🟠 Code scanning alert [#10](https://github.com/acme/widgets/security/code-scanning/10) in ${REPO}: Query built from user-controlled sources\nSeverity high · CodeQL java/sql-injection · \`src/Db.java:42\` on \`main\``,
  );
  assert.equal(
    githubText("secret_scanning_alert", {
      action: "created",
      alert: {
        number: 191,
        html_url: "https://github.com/acme/widgets/security/secret-scanning/191",
        secret_type: "github_personal_access_token",
        secret_type_display_name: "GitHub Personal Access Token",
        state: "open",
      },
    }),
    `🔴 Secret scanning alert [#191](https://github.com/acme/widgets/security/secret-scanning/191) in ${REPO}: GitHub Personal Access Token`,
  );
  assert.match(
    githubText("secret_scanning_alert", {
      action: "resolved",
      alert: { number: 191, secret_type: "x", resolution: "revoked" },
    }),
    /^✅ Secret scanning alert #191 resolved \(revoked\) in /,
  );
});

// A check run is reported when created (queued), when it starts and when it completes (GitHub's
// `check_run` docs); each was a message of its own, like the workflow jobs before them.
Deno.test("github: one check run's events edit one message, a failure replies", () => {
  const run = (action: string, status: string, conclusion: string | null) =>
    githubFormat.parse(jsonInput({
      action,
      check_run: {
        id: 128620228,
        name: "Octocoders-linter",
        head_sha: "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
        status,
        conclusion,
        html_url: "https://github.com/acme/widgets/runs/128620228",
        app: { name: "octocoders-linter" },
        check_suite: { head_branch: "main" },
      },
      repository: ACME,
      sender: { login: "zed" },
    }, { "x-github-event": "check_run" })).message;
  const queued = run("created", "queued", null);
  assert.equal(queued.thread?.group?.state, "open");
  const failed = run("completed", "completed", "failure");
  assert.equal(failed.thread?.group?.id, queued.thread?.group?.id);
  assert.equal(failed.thread?.group?.state, "closed");
  assert.equal(
    failed.thread?.group?.reply,
    "❌ Failed: Octocoders-linter at ec26c3e (acme/widgets)",
  );
  assert.deepEqual(failed.buttons, [[{
    text: "Details",
    url: "https://github.com/acme/widgets/runs/128620228",
  }]]);
});
