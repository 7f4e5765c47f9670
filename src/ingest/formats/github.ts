/**
 * GitHub repository and organization webhooks, recognized by the `X-GitHub-Event` header:
 * a one-line summary plus link per event, in the style of Zulip's integrations
 * (`**alice** pushed 3 commits to `main` in [org/repo](compare)` followed by commit lines).
 * Unknown events get one generic line, never an error: the hook owner chose the events.
 *
 * GitHub posts either `application/json` or `application/x-www-form-urlencoded` with the
 * JSON in a `payload` field; both are accepted.
 *
 * @module
 */
import type { FormatAdapter, ParsedPayload, PayloadInput } from "./types.ts";
import { block, bold, code, italic, joinParts, mdLink, optLink, plain } from "./_markup.ts";
import {
  asArray,
  asNumber,
  asObject,
  asString,
  asText,
  encodeComponent,
  header,
  type JsonObject,
  path,
} from "./_read.ts";
import { groupButtons } from "./_alert_group.ts";
import {
  BODY_EXCERPT,
  bodyExcerpt,
  ciGroup,
  type CiRun,
  commitTitle,
  eventBody,
  eventMessage,
  itemLink,
  listCommits,
  plural,
  shortRef,
  verbOf,
} from "./_vcs_event.ts";

/** `success` → ✅ etc. for check/workflow conclusions. */
const CONCLUSIONS: Readonly<Record<string, [string, string]>> = {
  success: ["✅", "succeeded"],
  failure: ["❌", "failed"],
  cancelled: ["⏹️", "was cancelled"],
  timed_out: ["⏱️", "timed out"],
  skipped: ["⏭️", "was skipped"],
  action_required: ["⚠️", "needs action"],
  neutral: ["⚪", "finished (neutral)"],
  stale: ["⚪", "went stale"],
  startup_failure: ["❌", "failed to start"],
};

function conclusion(c: string | undefined): [string, string] {
  return (c !== undefined && Object.hasOwn(CONCLUSIONS, c) ? CONCLUSIONS[c] : undefined) ??
    ["❔", c === undefined ? "finished" : `finished (${plain(c, 40)})`];
}

/** Context every renderer needs. */
interface Ctx {
  readonly event: string;
  readonly body: JsonObject;
  readonly action: string | undefined;
  /** `**alice**` */
  readonly actor: string;
  /** `[org/repo](https://github.com/org/repo)` (or the organization) */
  readonly repo: string;
}

function renderPing(c: Ctx): string {
  const hookId = asText(path(c.body, "hook_id")) ?? asText(path(c.body, "hook", "id"));
  const events = asArray(path(c.body, "hook", "events")).filter((e) => typeof e === "string")
    .slice(0, 10).map((e) => plain(e as string, 40));
  const details = joinParts([
    hookId !== undefined ? `hook ${plain(hookId, 30)}` : undefined,
    events.length > 0 ? `events: ${events.join(", ")}` : undefined,
  ]);
  const lines = [
    `🔗 GitHub webhook is set up for ${c.repo}${details !== "" ? ` (${details})` : ""}`,
  ];
  const zen = asString(c.body["zen"]);
  if (zen !== undefined) lines.push(italic(zen, 200));
  return lines.join("\n");
}

function commitLines(commits: readonly unknown[], total: number): string[] {
  return listCommits(commits, total, 7, (commit) => ({
    sha: asString(commit["id"]) ?? asString(commit["sha"]) ?? "",
    title: commitTitle(asString(commit["message"]) ?? ""),
    author: asText(path(commit, "author", "username")) ?? asText(path(commit, "author", "name")),
  }));
}

function renderPush(c: Ctx): string {
  const ref = asString(c.body["ref"]) ?? "";
  const isTag = ref.startsWith("refs/tags/");
  const name = code(shortRef(ref));
  const kind = isTag ? "tag" : "branch";
  const repoName = asText(path(c.body, "repository", "full_name")) ?? "repository";
  const compare = mdLink(repoName, c.body["compare"]);
  if (c.body["deleted"] === true) return `**${c.actor}** deleted ${kind} ${name} in ${c.repo}`;
  if (isTag) return `**${c.actor}** pushed tag ${name} to ${c.repo}`;
  const commits = asArray(c.body["commits"]);
  const n = commits.length;
  if (n === 0) {
    return c.body["created"] === true
      ? `**${c.actor}** created branch ${name} in ${compare}`
      : `**${c.actor}** ${
        c.body["forced"] === true ? "force-pushed" : "pushed"
      } to ${name} in ${compare}`;
  }
  const verb = c.body["forced"] === true ? "force-pushed" : "pushed";
  const target = c.body["created"] === true ? `new branch ${name}` : name;
  return [
    `**${c.actor}** ${verb} ${plural(n, "commit")} to ${target} in ${compare}`,
    ...commitLines(commits, n),
  ]
    .join("\n");
}

const PR_VERBS: Readonly<Record<string, string>> = {
  synchronize: "pushed new commits to",
  ready_for_review: "marked as ready for review",
  converted_to_draft: "converted to draft",
  review_requested: "requested a review of",
  review_request_removed: "removed a review request from",
  auto_merge_enabled: "enabled auto-merge for",
  auto_merge_disabled: "disabled auto-merge for",
};

function renderPullRequest(c: Ctx): string {
  const pr = asObject(c.body["pull_request"]) ?? {};
  const merged = c.action === "closed" && pr["merged"] === true;
  const verb = merged ? "merged" : verbOf(c.action, PR_VERBS);
  const link = itemLink("#", pr["number"] ?? c.body["number"], pr["title"], pr["html_url"]);
  const draft = c.action === "opened" && pr["draft"] === true ? "draft " : "";
  const reviewer = c.action === "review_requested"
    ? asText(path(c.body, "requested_reviewer", "login")) ??
      asText(path(c.body, "requested_team", "name"))
    : undefined;
  const lines = [
    `**${c.actor}** ${
      targetedAction(c, `pull request ${link}`, pr) ??
        `${verb} ${draft}pull request ${link}${
          reviewer !== undefined ? ` from **${plain(reviewer, 60)}**` : ""
        }`
    } in ${c.repo}`,
  ];
  if (c.action === "opened" || merged) {
    const head = asText(path(pr, "head", "ref"));
    const base = asText(path(pr, "base", "ref"));
    if (head !== undefined && base !== undefined) lines.push(`${code(head)} → ${code(base)}`);
  }
  const text = asString(pr["body"]);
  const shown = c.action === "opened" ? bodyExcerpt(text) : undefined;
  if (shown !== undefined) lines.push(shown);
  return lines.join("\n");
}

function renderReview(c: Ctx): string {
  const pr = asObject(c.body["pull_request"]) ?? {};
  const review = asObject(c.body["review"]) ?? {};
  const state = asString(review["state"])?.toLowerCase();
  const verb = c.action !== "submitted"
    ? `${verbOf(c.action)} a review of`
    : state === "approved"
    ? "approved"
    : state === "changes_requested"
    ? "requested changes on"
    : "reviewed";
  const link = itemLink("#", pr["number"], pr["title"], review["html_url"] ?? pr["html_url"]);
  const lines = [`**${c.actor}** ${verb} pull request ${link} in ${c.repo}`];
  const text = asString(review["body"]);
  const shown = c.action === "submitted" ? bodyExcerpt(text) : undefined;
  if (shown !== undefined) lines.push(shown);
  return lines.join("\n");
}

/**
 * The sentence of an action that has an object of its own — whom an issue or pull request was
 * assigned to, which label, which milestone (GitHub's payload carries it beside the item:
 * `assignee`, `label`, `milestone`) — or undefined when the action has none or the payload
 * leaves it out (the caller then keeps the plain `labeled issue …`).
 */
function targetedAction(c: Ctx, item: string, subject: JsonObject): string | undefined {
  switch (c.action) {
    case "assigned":
    case "unassigned": {
      const who = asText(path(c.body, "assignee", "login"));
      if (who === undefined) return undefined;
      return c.action === "assigned"
        ? `assigned **${plain(who, 60)}** to ${item}`
        : `unassigned **${plain(who, 60)}** from ${item}`;
    }
    case "labeled":
    case "unlabeled": {
      const label = asText(path(c.body, "label", "name"));
      if (label === undefined) return undefined;
      return c.action === "labeled"
        ? `labeled ${item} with ${code(label, 60)}`
        : `removed the label ${code(label, 60)} from ${item}`;
    }
    case "milestoned":
    case "demilestoned": {
      // `milestoned` carries it on the item; `demilestoned` (the item has none left) beside it.
      const title = asText(path(c.body, "milestone", "title")) ??
        asText(path(subject, "milestone", "title"));
      if (title === undefined) return undefined;
      return c.action === "milestoned"
        ? `added ${item} to milestone ${bold(title, 100)}`
        : `removed ${item} from milestone ${bold(title, 100)}`;
    }
    default:
      return undefined;
  }
}

function renderIssue(c: Ctx): string {
  const issue = asObject(c.body["issue"]) ?? {};
  const link = itemLink("#", issue["number"], issue["title"], issue["html_url"]);
  const lines = [
    `**${c.actor}** ${
      targetedAction(c, `issue ${link}`, issue) ?? `${verbOf(c.action)} issue ${link}`
    } in ${c.repo}`,
  ];
  const text = asString(issue["body"]);
  const shown = c.action === "opened" ? bodyExcerpt(text) : undefined;
  if (shown !== undefined) lines.push(shown);
  return lines.join("\n");
}

function renderComment(c: Ctx, what: string, item: JsonObject): string {
  const comment = asObject(c.body["comment"]) ?? {};
  const link = itemLink(
    "#",
    item["number"],
    item["title"],
    comment["html_url"] ?? item["html_url"],
  );
  const verb = c.action === "created" || c.action === undefined
    ? "commented on"
    : `${verbOf(c.action)} a comment on`;
  const lines = [`**${c.actor}** ${verb} ${what} ${link} in ${c.repo}`];
  const text = asString(comment["body"]);
  const shown = c.action !== "deleted" ? bodyExcerpt(text) : undefined;
  if (shown !== undefined) lines.push(shown);
  return lines.join("\n");
}

function renderCommitComment(c: Ctx): string {
  const comment = asObject(c.body["comment"]) ?? {};
  const sha = asString(comment["commit_id"]);
  return renderComment(c, "commit", {
    // `[6113728](comment link)`: a commit has a short sha where an issue has a number and title.
    title: sha !== undefined ? sha.slice(0, 7) : "",
    html_url: comment["html_url"],
  });
}

const DISCUSSION_VERBS: Readonly<Record<string, string>> = {
  created: "started",
  answered: "marked an answer in",
  unanswered: "unmarked the answer in",
  category_changed: "changed the category of",
};

function renderDiscussion(c: Ctx): string {
  const discussion = asObject(c.body["discussion"]) ?? {};
  const link = itemLink("#", discussion["number"], discussion["title"], discussion["html_url"]);
  const lines = [
    `**${c.actor}** ${
      targetedAction(c, `discussion ${link}`, discussion) ??
        `${verbOf(c.action, DISCUSSION_VERBS)} discussion ${link}`
    } in ${c.repo}`,
  ];
  const text = asString(discussion["body"]);
  const shown = c.action === "created" ? bodyExcerpt(text) : undefined;
  if (shown !== undefined) lines.push(shown);
  return lines.join("\n");
}

function renderWorkflowRun(c: Ctx): string {
  const run = asObject(c.body["workflow_run"]) ?? {};
  const name = bold(
    asText(run["name"]) ?? asText(path(c.body, "workflow", "name")) ?? "workflow",
    100,
  );
  const branch = asText(run["head_branch"]);
  const on = branch !== undefined ? ` on ${code(branch)}` : "";
  const runNo = asText(run["run_number"]);
  const link = optLink(runNo !== undefined ? `run #${runNo}` : "run", run["html_url"]);
  let head: string;
  if (c.action === "completed") {
    const [emoji, word] = conclusion(asString(run["conclusion"]));
    head = `${emoji} Workflow ${name} ${word}${on} in ${c.repo}`;
  } else if (c.action === "requested") {
    head = `🔄 Workflow ${name} started${on} in ${c.repo}`;
  } else {
    head = `🔄 Workflow ${name} is ${verbOf(c.action)}${on} in ${c.repo}`;
  }
  return joinParts([head, link]);
}

/** `on `main` at [abc1234](…/commit/…)` for a head branch and sha. */
function headWhere(c: Ctx, branch: string | undefined, sha: string | undefined): string {
  const repoUrl = asString(path(c.body, "repository", "html_url"));
  const commit = sha !== undefined
    ? mdLink(sha.slice(0, 7), repoUrl !== undefined ? `${repoUrl}/commit/${sha}` : undefined)
    : undefined;
  const where = joinParts([
    branch !== undefined ? `on ${code(branch)}` : undefined,
    commit !== undefined ? `at ${commit}` : undefined,
  ], " ");
  return where === "" ? "" : ` ${where}`;
}

/** `queued` → "is queued", `in_progress` → "is in progress", `requested` → "was requested". */
function runState(action: string | undefined, status: string | undefined): string {
  if (status !== undefined && status !== "completed") {
    return `is ${plain(status.replace(/_/g, " "), 30)}`;
  }
  if (action === "rerequested") return "was re-run";
  if (action === "requested" || action === "created") return "was requested";
  return verbOf(action);
}

function renderCheckSuite(c: Ctx): string {
  const suite = asObject(c.body["check_suite"]) ?? {};
  const app = asText(path(suite, "app", "name"));
  const where = headWhere(c, asText(suite["head_branch"]), asString(suite["head_sha"]));
  const what = `Checks${app !== undefined ? ` (${plain(app, 60)})` : ""}`;
  const runs = asNumber(suite["latest_check_runs_count"]);
  const count = runs !== undefined && runs > 0 ? ` · ${plural(runs, "check run")}` : "";
  const status = asString(suite["status"]);
  if (c.action === "completed" || status === "completed") {
    const [emoji, word] = conclusion(asString(suite["conclusion"]));
    return `${emoji} ${what} ${word}${where} in ${c.repo}${count}`;
  }
  return `🔄 ${what} ${
    runState(c.action, status).replace(/^is /, "are ").replace(/^was /, "were ")
  }${where} in ${c.repo}`;
}

function renderCheckRun(c: Ctx): string {
  const run = asObject(c.body["check_run"]) ?? {};
  const name = bold(asText(run["name"]) ?? "check", 100);
  const app = asText(path(run, "app", "name"));
  const where = headWhere(
    c,
    asText(path(run, "check_suite", "head_branch")),
    asString(run["head_sha"]),
  );
  const by = app !== undefined ? ` (${plain(app, 60)})` : "";
  const status = asString(run["status"]);
  const head = status === "completed"
    ? (([emoji, word]) => `${emoji} Check ${name}${by} ${word}`)(
      conclusion(asString(run["conclusion"])),
    )
    : `🔄 Check ${name}${by} ${runState(c.action, status)}`;
  const lines = [
    joinParts([
      `${head}${where} in ${c.repo}`,
      optLink("Details", run["html_url"] ?? run["details_url"]),
    ]),
  ];
  const title = asText(path(run, "output", "title"));
  const summary = asString(path(run, "output", "summary"));
  if (title !== undefined) lines.push(bold(title, 200));
  if (summary !== undefined && status === "completed") lines.push(block(summary, BODY_EXCERPT));
  return lines.join("\n");
}

/** Commit status states (`status` event): emoji and how the sentence ends. */
const STATUS_STATES: Readonly<Record<string, [string, string]>> = {
  success: ["✅", "succeeded"],
  failure: ["❌", "failed"],
  error: ["❌", "errored"],
  pending: ["⏳", "is pending"],
};

function stateWords(
  table: Readonly<Record<string, [string, string]>>,
  state: string | undefined,
): [string, string] {
  return (state !== undefined && Object.hasOwn(table, state) ? table[state] : undefined) ??
    ["❔", state !== undefined ? `is ${plain(state, 30)}` : "changed"];
}

/** The one branch a commit status is on (`branches` lists every branch whose head it is). */
function statusBranch(body: JsonObject): string | undefined {
  const branches = asArray(body["branches"]);
  return branches.length === 1 ? asText(path(branches[0], "name")) : undefined;
}

/**
 * A commit status (`status` event): what CI systems that report through the Statuses API
 * (Jenkins, Buildkite, Travis…) set on a commit — its context, state, description and link.
 */
function renderStatus(c: Ctx): string {
  const [emoji, word] = stateWords(STATUS_STATES, asString(c.body["state"]));
  const context = bold(asText(c.body["context"]) ?? "status", 100);
  const where = headWhere(c, statusBranch(c.body), asString(c.body["sha"]));
  const lines = [
    joinParts([
      `${emoji} ${context} ${word}${where} in ${c.repo}`,
      optLink("Details", c.body["target_url"]),
    ]),
  ];
  const description = asText(c.body["description"]);
  if (description !== undefined) lines.push(block(description, BODY_EXCERPT));
  return lines.join("\n");
}

/** A job of a workflow run (`workflow_job`), with the step that failed. */
function renderWorkflowJob(c: Ctx): string {
  const job = asObject(c.body["workflow_job"]) ?? {};
  const workflow = asText(job["workflow_name"]);
  const name = `Job ${bold(asText(job["name"]) ?? "job", 100)}${
    workflow !== undefined ? ` of ${bold(workflow, 100)}` : ""
  }`;
  const where = headWhere(c, asText(job["head_branch"]), asString(job["head_sha"]));
  const status = asString(job["status"]);
  let head: string;
  if (status === "completed" || c.action === "completed") {
    const [emoji, word] = conclusion(asString(job["conclusion"]));
    head = `${emoji} ${name} ${word}`;
  } else {
    const emoji = status === "in_progress" ? "🔄" : "⏳";
    head = `${emoji} ${name} ${runState(c.action, status)}`;
  }
  const lines = [joinParts([`${head}${where} in ${c.repo}`, optLink("Details", job["html_url"])])];
  const failedSteps = asArray(job["steps"])
    .map((step) => asObject(step))
    .filter((step) => step !== undefined && FAILED.has(asString(step["conclusion"]) ?? ""))
    .map((step) => plain(asText(step?.["name"]) ?? "step", 100));
  if (failedSteps.length > 0) {
    lines.push(
      `Failed step${failedSteps.length === 1 ? "" : "s"}: ${failedSteps.slice(0, 5).join(", ")}`,
    );
  }
  return lines.join("\n");
}

/** Severity words of security alerts (advisories, code scanning levels and rule severities). */
const SEVERITY_EMOJI: Readonly<Record<string, string>> = {
  critical: "🔴",
  error: "🔴",
  high: "🟠",
  medium: "🟡",
  moderate: "🟡",
  warning: "🟡",
  low: "🔵",
  note: "🔵",
};

/**
 * The emoji and verb of a security alert's action: an alert raised again shows its severity,
 * one that is gone shows ✅ (fixed, resolved) or ⚪ (dismissed, closed by someone).
 */
function alertAction(action: string | undefined, severity: string | undefined): [string, string] {
  switch (action) {
    case "fixed":
    case "resolved":
      return ["✅", ` ${action}`];
    case "dismissed":
    case "auto_dismissed":
    case "closed_by_user":
      return ["⚪", action === "closed_by_user" ? " closed" : " dismissed"];
    case undefined:
    case "created":
      break;
    default:
      return [severityEmoji(severity), ` ${verbOf(action)}`];
  }
  return [severityEmoji(severity), ""];
}

function severityEmoji(severity: string | undefined): string {
  const key = severity?.toLowerCase() ?? "";
  return (Object.hasOwn(SEVERITY_EMOJI, key) ? SEVERITY_EMOJI[key] : undefined) ?? "⚠️";
}

/** A Dependabot alert: the package, the advisory's summary, its severity, CVE and fix version. */
function renderDependabotAlert(c: Ctx): string {
  const alert = asObject(c.body["alert"]) ?? {};
  const advisory = asObject(alert["security_advisory"]) ?? {};
  const severity = asText(path(alert, "security_vulnerability", "severity")) ??
    asText(advisory["severity"]);
  const [emoji, verb] = alertAction(c.action, severity);
  const pkg = asText(path(alert, "dependency", "package", "name"));
  const ecosystem = asText(path(alert, "dependency", "package", "ecosystem"));
  const summary = asText(advisory["summary"]);
  const what = joinParts([
    pkg !== undefined ? bold(pkg, 100) : undefined,
    ecosystem !== undefined ? `(${plain(ecosystem, 30)})` : undefined,
    summary !== undefined ? plain(summary, 200) : undefined,
  ], " ");
  const link = itemLink("#", alert["number"], undefined, alert["html_url"]);
  const patched = asText(
    path(alert, "security_vulnerability", "first_patched_version", "identifier"),
  );
  const details = joinParts([
    severity !== undefined ? `Severity ${plain(severity, 20)}` : undefined,
    asText(advisory["cve_id"]) ?? asText(advisory["ghsa_id"]),
    patched !== undefined ? `fixed in ${plain(patched, 40)}` : undefined,
  ]);
  return [
    `${emoji} Dependabot alert ${link}${verb} in ${c.repo}${what !== "" ? `: ${what}` : ""}`,
    ...(details !== "" ? [details] : []),
  ].join("\n");
}

/** A code scanning alert: the rule, its severity, the tool and where it was found. */
function renderCodeScanningAlert(c: Ctx): string {
  const alert = asObject(c.body["alert"]) ?? {};
  const rule = asObject(alert["rule"]) ?? {};
  const severity = asText(rule["security_severity_level"]) ?? asText(rule["severity"]);
  const [emoji, verb] = alertAction(c.action, severity);
  const title = asText(rule["description"]) ?? asText(rule["name"]) ?? asText(rule["id"]);
  const link = itemLink("#", alert["number"], undefined, alert["html_url"]);
  const instance = asObject(alert["most_recent_instance"]) ?? {};
  const file = asText(path(instance, "location", "path"));
  const line = asText(path(instance, "location", "start_line"));
  const ref = asText(instance["ref"]) ?? asText(c.body["ref"]);
  const tool = joinParts([asText(path(alert, "tool", "name")), asText(rule["id"])], " ");
  const details = joinParts([
    severity !== undefined ? `Severity ${plain(severity, 20)}` : undefined,
    tool !== "" ? plain(tool, 120) : undefined,
    file !== undefined
      ? `${code(`${file}${line !== undefined ? `:${line}` : ""}`, 200)}${
        ref !== undefined ? ` on ${code(shortRef(ref), 100)}` : ""
      }`
      : undefined,
  ]);
  return [
    `${emoji} Code scanning alert ${link}${verb} in ${c.repo}${
      title !== undefined ? `: ${plain(title, 200)}` : ""
    }`,
    ...(details !== "" ? [details] : []),
  ].join("\n");
}

/** A secret scanning alert: which kind of secret leaked, or how it was resolved. */
function renderSecretScanningAlert(c: Ctx): string {
  const alert = asObject(c.body["alert"]) ?? {};
  // `created` is a leak just found; `reopened`, `validated`… name themselves.
  const [emoji, verb] = c.action === "resolved"
    ? ["✅", " resolved"]
    : c.action === "created" || c.action === undefined
    ? ["🔴", ""]
    : ["⚠️", ` ${verbOf(c.action)}`];
  const resolution = c.action === "resolved" ? asText(alert["resolution"]) : undefined;
  const kind = asText(alert["secret_type_display_name"]) ?? asText(alert["secret_type"]);
  const link = itemLink("#", alert["number"], undefined, alert["html_url"]);
  return `${emoji} Secret scanning alert ${link}${verb}${
    resolution !== undefined ? ` (${plain(resolution.replace(/_/g, " "), 40)})` : ""
  } in ${c.repo}${kind !== undefined ? `: ${plain(kind, 100)}` : ""}`;
}

/** Deployment states: emoji and how the sentence ends. */
const DEPLOY_STATES: Readonly<Record<string, [string, string]>> = {
  success: ["✅", "succeeded"],
  failure: ["❌", "failed"],
  error: ["❌", "errored"],
  pending: ["⏳", "is pending"],
  queued: ["⏳", "is queued"],
  in_progress: ["🔄", "is in progress"],
  inactive: ["⚪", "is inactive"],
};

/** `` of `main` (abc1234) to **production**`` */
function deploymentTarget(deployment: JsonObject): string {
  const ref = asText(deployment["ref"]);
  const sha = asString(deployment["sha"]);
  const env = asText(deployment["environment"]);
  return joinParts([
    ref !== undefined ? `of ${code(ref)}` : undefined,
    sha !== undefined && sha !== ref ? `(${plain(sha.slice(0, 7), 10)})` : undefined,
    env !== undefined ? `to **${plain(env, 80)}**` : undefined,
  ], " ");
}

function renderDeployment(c: Ctx): string {
  const deployment = asObject(c.body["deployment"]) ?? {};
  const target = deploymentTarget(deployment);
  const lines = [
    `🚀 **${c.actor}** ${
      c.action === "created" || c.action === undefined
        ? "started a deployment"
        : `${verbOf(c.action)} a deployment`
    }${target !== "" ? ` ${target}` : ""} in ${c.repo}`,
  ];
  const description = asText(deployment["description"]);
  if (description !== undefined) lines.push(block(description, BODY_EXCERPT));
  return lines.join("\n");
}

function renderDeploymentStatus(c: Ctx): string {
  const status = asObject(c.body["deployment_status"]) ?? {};
  const deployment = asObject(c.body["deployment"]) ?? {};
  const state = asString(status["state"]);
  const [emoji, word] =
    (state !== undefined && Object.hasOwn(DEPLOY_STATES, state)
      ? DEPLOY_STATES[state]
      : undefined) ?? ["❔", state !== undefined ? `is ${plain(state, 30)}` : "changed"];
  const env = asText(status["environment"]) ?? asText(deployment["environment"]);
  const target = deploymentTarget({
    ...deployment,
    ...(env !== undefined && { environment: env }),
  });
  const lines = [
    joinParts([
      `${emoji} Deployment${target !== "" ? ` ${target}` : ""} ${word} in ${c.repo}`,
      optLink("Logs", asString(status["log_url"]) ?? asString(status["target_url"])),
      optLink("Open", status["environment_url"]),
    ]),
  ];
  const description = asText(status["description"]);
  if (description !== undefined) lines.push(block(description, BODY_EXCERPT));
  return lines.join("\n");
}

function renderRelease(c: Ctx): string {
  const release = asObject(c.body["release"]) ?? {};
  const tag = asText(release["tag_name"]);
  const name = asText(release["name"]);
  const label = name !== undefined && tag !== undefined && name !== tag
    ? `${name} (${tag})`
    : name ?? tag ?? "release";
  const pre = release["prerelease"] === true ? "pre-release" : "release";
  const lines = [
    `**${c.actor}** ${verbOf(c.action, RELEASE_VERBS)} ${pre} ${
      mdLink(label, release["html_url"])
    } in ${c.repo}`,
  ];
  const notes = c.action !== "deleted" && c.action !== "unpublished"
    ? bodyExcerpt(asString(release["body"]))
    : undefined;
  if (notes !== undefined) lines.push(notes);
  return lines.join("\n");
}

/** `released`/`prereleased` follow `published` for the same release: they read as it does. */
const RELEASE_VERBS: Readonly<Record<string, string>> = {
  released: "published",
  prereleased: "published",
};

function renderStar(c: Ctx): string {
  const removed = c.action === "deleted";
  const count = asNumber(path(c.body, "repository", "stargazers_count"));
  return `**${c.actor}** ${removed ? "unstarred" : "starred"} ${c.repo}${
    count !== undefined ? ` (⭐ ${count})` : ""
  }`;
}

function renderFork(c: Ctx): string {
  const forkee = asObject(c.body["forkee"]) ?? {};
  const fork = mdLink(asText(forkee["full_name"]) ?? "a fork", forkee["html_url"]);
  return `**${c.actor}** forked ${c.repo} to ${fork}`;
}

function renderCreateDelete(c: Ctx): string {
  const refType = asText(c.body["ref_type"]) ?? "ref";
  const ref = code(asText(c.body["ref"]) ?? "");
  const verb = c.event === "create" ? "created" : "deleted";
  return `**${c.actor}** ${verb} ${plain(refType, 30)} ${ref} in ${c.repo}`;
}

/** Keys whose `html_url` is context, not the subject of an unknown event. */
const CONTEXT_KEYS = new Set([
  "repository",
  "sender",
  "organization",
  "installation",
  "enterprise",
]);

function renderGeneric(c: Ctx): string {
  let url: unknown = c.body["html_url"];
  if (asString(url) === undefined) {
    for (const key in c.body) {
      if (CONTEXT_KEYS.has(key) || !Object.hasOwn(c.body, key)) continue;
      const candidate = path(c.body[key], "html_url");
      if (asString(candidate) !== undefined) {
        url = candidate;
        break;
      }
    }
  }
  const action = c.action !== undefined ? ` (action ${code(c.action, 40)})` : "";
  return joinParts([
    `GitHub event ${code(c.event, 60)}${action} on ${c.repo} by **${c.actor}**`,
    optLink("Open", url),
  ]);
}

function render(c: Ctx): string {
  switch (c.event) {
    case "ping":
      return renderPing(c);
    case "push":
      return renderPush(c);
    case "pull_request":
      return renderPullRequest(c);
    case "pull_request_review":
      return renderReview(c);
    case "issues":
      return renderIssue(c);
    case "issue_comment": {
      const issue = asObject(c.body["issue"]) ?? {};
      return renderComment(
        c,
        issue["pull_request"] !== undefined ? "pull request" : "issue",
        issue,
      );
    }
    case "pull_request_review_comment":
      return renderComment(c, "pull request", asObject(c.body["pull_request"]) ?? {});
    case "commit_comment":
      return renderCommitComment(c);
    case "discussion":
      return renderDiscussion(c);
    case "discussion_comment":
      return renderComment(c, "discussion", asObject(c.body["discussion"]) ?? {});
    case "status":
      return renderStatus(c);
    case "dependabot_alert":
      return renderDependabotAlert(c);
    case "code_scanning_alert":
      return renderCodeScanningAlert(c);
    case "secret_scanning_alert":
      return renderSecretScanningAlert(c);
    case "workflow_job":
      return renderWorkflowJob(c);
    case "workflow_run":
      return renderWorkflowRun(c);
    case "check_suite":
      return renderCheckSuite(c);
    case "check_run":
      return renderCheckRun(c);
    case "deployment":
      return renderDeployment(c);
    case "deployment_status":
      return renderDeploymentStatus(c);
    case "release":
      return renderRelease(c);
    case "star":
    case "watch":
      return renderStar(c);
    case "fork":
      return renderFork(c);
    case "create":
    case "delete":
      return renderCreateDelete(c);
    default:
      return renderGeneric(c);
  }
}

/** The GitHub webhook adapter (any event with an `X-GitHub-Event` header). */
export const githubFormat: FormatAdapter = {
  name: "github",
  detect(input: PayloadInput): boolean {
    return header(input.headers, "x-github-event") !== undefined;
  },
  parse(input: PayloadInput): ParsedPayload {
    const body = eventBody(input, "GitHub");
    const event = header(input.headers, "x-github-event") ?? asString(body["event"]) ?? "unknown";
    const repoName = asText(path(body, "repository", "full_name"));
    const org = asText(path(body, "organization", "login"));
    const repo = repoName !== undefined
      ? mdLink(repoName, path(body, "repository", "html_url"))
      : org !== undefined
      ? mdLink(org, `https://github.com/${encodeComponent(org)}`)
      : "GitHub";
    const actor = plain(
      asText(path(body, "sender", "login")) ?? asText(path(body, "pusher", "name")) ?? "",
      60,
    ) || "someone";
    const text = render({ event, body, action: asString(body["action"]), actor, repo });
    const living = githubRun(event, body, repoName ?? "");
    return {
      format: "github",
      message: eventMessage(text, living),
      reply: "json",
    };
  },
};

const FAILED = new Set(["failure", "timed_out", "startup_failure", "error"]);

/**
 * `workflow_run`, `workflow_job`, `check_suite`, `check_run`, `status` and `deployment_status` of
 * one run, and the actions of one release, as one living message.
 */
function githubRun(
  event: string,
  body: JsonObject,
  repo: string,
): CiRun | undefined {
  const outcomeOf = (done: boolean, c: string | undefined) =>
    !done
      ? "running" as const
      : c === "success"
      ? "success" as const
      : c !== undefined && FAILED.has(c)
      ? "failure" as const
      : "other" as const;
  if (event === "workflow_run") {
    const run = asObject(body["workflow_run"]) ?? {};
    const id = asText(run["id"]);
    if (id === undefined) return undefined;
    const name = asText(run["name"]) ?? "workflow";
    const no = asText(run["run_number"]);
    const title = `${name}${no !== undefined ? ` #${no}` : ""}${repo ? ` (${repo})` : ""}`;
    const attempt = asText(run["run_attempt"]) ?? "1";
    return {
      group: ciGroup(
        `gh:run:${repo}:${id}:${attempt}`,
        title,
        outcomeOf(asString(body["action"]) === "completed", asString(run["conclusion"])),
      ),
      buttons: groupButtons([["Run", run["html_url"]]]),
    };
  }
  if (event === "check_suite") {
    const suite = asObject(body["check_suite"]) ?? {};
    const id = asText(suite["id"]);
    if (id === undefined) return undefined;
    const app = asText(path(suite, "app", "name")) ?? "checks";
    const sha = asString(suite["head_sha"])?.slice(0, 7);
    const title = `${app}${sha ? ` at ${sha}` : ""}${repo ? ` (${repo})` : ""}`;
    return {
      group: ciGroup(
        `gh:suite:${repo}:${id}`,
        title,
        outcomeOf(asString(body["action"]) === "completed", asString(suite["conclusion"])),
      ),
      buttons: [],
    };
  }
  if (event === "release") {
    // One release's `created`, `published` and `released` arrive together: one message, edited.
    const id = asText(path(body, "release", "id"));
    if (id === undefined) return undefined;
    const tag = asText(path(body, "release", "tag_name")) ?? id;
    return {
      group: ciGroup(`gh:release:${repo}:${id}`, `${tag}${repo ? ` (${repo})` : ""}`, "running"),
      buttons: [],
    };
  }
  if (event === "check_run") {
    const check = asObject(body["check_run"]) ?? {};
    const id = asText(check["id"]);
    if (id === undefined) return undefined;
    const sha = asString(check["head_sha"])?.slice(0, 7);
    const title = `${asText(check["name"]) ?? "check"}${sha ? ` at ${sha}` : ""}${
      repo ? ` (${repo})` : ""
    }`;
    return {
      group: ciGroup(
        `gh:check:${repo}:${id}`,
        title,
        outcomeOf(asString(check["status"]) === "completed", asString(check["conclusion"])),
      ),
      buttons: groupButtons([["Details", check["html_url"] ?? check["details_url"]]]),
    };
  }
  if (event === "status") {
    const sha = asString(body["sha"]);
    const context = asText(body["context"]) ?? "status";
    if (sha === undefined) return undefined;
    const state = asString(body["state"]);
    const title = `${context} at ${sha.slice(0, 7)}${repo ? ` (${repo})` : ""}`;
    return {
      group: ciGroup(
        `gh:status:${repo}:${sha}:${context}`,
        title,
        outcomeOf(state !== undefined && state !== "pending", state),
      ),
      buttons: groupButtons([["Details", body["target_url"]]]),
    };
  }
  if (event === "workflow_job") {
    const job = asObject(body["workflow_job"]) ?? {};
    const id = asText(job["id"]);
    if (id === undefined) return undefined;
    const name = asText(job["name"]) ?? "job";
    const workflow = asText(job["workflow_name"]);
    const title = `${name}${workflow !== undefined ? ` of ${workflow}` : ""}${
      repo ? ` (${repo})` : ""
    }`;
    const attempt = asText(job["run_attempt"]) ?? "1";
    const done = asString(job["status"]) === "completed" ||
      asString(body["action"]) === "completed";
    return {
      group: ciGroup(
        `gh:job:${repo}:${id}:${attempt}`,
        title,
        outcomeOf(done, asString(job["conclusion"])),
      ),
      buttons: groupButtons([["Details", job["html_url"]]]),
    };
  }
  if (event === "deployment_status") {
    const dep = asObject(body["deployment"]) ?? {};
    const st = asObject(body["deployment_status"]) ?? {};
    const id = asText(dep["id"]);
    if (id === undefined) return undefined;
    const state = asString(st["state"]);
    const env = asText(st["environment"]) ?? asText(dep["environment"]) ?? "deployment";
    const title = `deploy to ${env}${repo ? ` (${repo})` : ""}`;
    const done = state !== undefined && !["queued", "pending", "in_progress"].includes(state);
    return {
      group: ciGroup(`gh:deploy:${repo}:${id}`, title, outcomeOf(done, state)),
      buttons: groupButtons([["Logs", st["log_url"] ?? st["target_url"]], [
        "Open",
        st["environment_url"],
      ]]),
    };
  }
  return undefined;
}
