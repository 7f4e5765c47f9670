/**
 * GitLab project and group webhooks, recognized by the `X-Gitlab-Event` header (`Push Hook`,
 * `Pipeline Hook`, `Merge Request Hook` …): a one-line summary plus link per event, in the
 * style of Zulip's integrations. Unknown events get one generic line, never an error.
 *
 * @module
 */
import type { FormatAdapter, ParsedPayload, PayloadInput } from "./types.ts";
import { bold, code, joinParts, mdLink, optLink, plain } from "./_markup.ts";
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
  verbOf as vcsVerbOf,
} from "./_vcs_event.ts";
import { spanText } from "../../span_text.ts";

const MAX_FAILED_JOBS = 5;

/** `object_kind` → header value, for bodies that arrive without the header's usual name. */
const KIND_TO_EVENT: Readonly<Record<string, string>> = {
  push: "Push Hook",
  tag_push: "Tag Push Hook",
  pipeline: "Pipeline Hook",
  merge_request: "Merge Request Hook",
  issue: "Issue Hook",
  note: "Note Hook",
  build: "Job Hook",
  release: "Release Hook",
  deployment: "Deployment Hook",
};

/** Pipeline and job statuses: emoji and how the sentence ends. */
const STATUSES: Readonly<Record<string, [string, string]>> = {
  success: ["✅", "passed"],
  failed: ["❌", "failed"],
  canceled: ["⏹️", "was canceled"],
  cancelled: ["⏹️", "was canceled"],
  running: ["🔄", "is running"],
  pending: ["⏳", "is pending"],
  created: ["🆕", "was created"],
  skipped: ["⏭️", "was skipped"],
  manual: ["✋", "is waiting for a manual action"],
  scheduled: ["🕒", "is scheduled"],
  preparing: ["⏳", "is preparing"],
  waiting_for_resource: ["⏳", "is waiting for a resource"],
};

/** Emoji and words for a pipeline or job status. */
export function pipelineStatus(status: string | undefined): [string, string] {
  return (status !== undefined && Object.hasOwn(STATUSES, status) ? STATUSES[status] : undefined) ??
    ["❔", status === undefined ? "changed" : `is ${plain(status, 40)}`];
}

const ACTION_VERBS: Readonly<Record<string, string>> = {
  open: "opened",
  close: "closed",
  reopen: "reopened",
  update: "updated",
  merge: "merged",
  // `approval`/`unapproval`: one user's; `approved`/`unapproved`: the merge request gained or
  // lost every required approval, sent with the last approver's `approval` (GitLab's docs).
  approved: "gave the last required approval to",
  approval: "approved",
  unapproved: "withdrew a required approval from",
  unapproval: "removed their approval from",
  create: "created",
  delete: "deleted",
};

const verbOf = (action: string | undefined) => vcsVerbOf(action, ACTION_VERBS);

const ZERO_SHA = /^0+$/;

interface Ctx {
  readonly event: string;
  readonly body: JsonObject;
  /** `**Alice**` */
  readonly actor: string;
  /** `[group/project](web_url)` */
  readonly project: string;
  readonly projectUrl: string | undefined;
  readonly attrs: JsonObject;
}

function commitLines(commits: readonly unknown[], total: number): string[] {
  return listCommits(commits, total, 8, (commit) => ({
    sha: asString(commit["id"]) ?? "",
    title: asText(commit["title"]) ?? commitTitle(asString(commit["message"]) ?? ""),
    author: asText(path(commit, "author", "name")),
  }));
}

function renderPush(c: Ctx): string {
  const name = code(shortRef(asString(c.body["ref"]) ?? ""));
  const before = asString(c.body["before"]) ?? "";
  const after = asString(c.body["after"]) ?? "";
  if (ZERO_SHA.test(after)) return `**${c.actor}** deleted branch ${name} in ${c.project}`;
  const commits = asArray(c.body["commits"]);
  const total = Math.max(
    commits.length,
    Math.floor(asNumber(c.body["total_commits_count"]) ?? 0),
  );
  const created = ZERO_SHA.test(before);
  const compareUrl = !created && c.projectUrl !== undefined && before !== "" && after !== ""
    ? `${c.projectUrl}/-/compare/${encodeComponent(before)}...${encodeComponent(after)}`
    : c.projectUrl;
  const where = mdLink(
    asText(path(c.body, "project", "path_with_namespace")) ?? "project",
    compareUrl,
  );
  if (total === 0) {
    return created
      ? `**${c.actor}** created branch ${name} in ${where}`
      : `**${c.actor}** pushed to ${name} in ${where}`;
  }
  const target = created ? `new branch ${name}` : name;
  return [
    `**${c.actor}** pushed ${plural(total, "commit")} to ${target} in ${where}`,
    ...commitLines(commits, total),
  ]
    .join("\n");
}

function renderTagPush(c: Ctx): string {
  const tag = shortRef(asString(c.body["ref"]) ?? "");
  if (ZERO_SHA.test(asString(c.body["after"]) ?? "")) {
    return `**${c.actor}** deleted tag ${code(tag)} in ${c.project}`;
  }
  const url = c.projectUrl !== undefined
    ? `${c.projectUrl}/-/tags/${encodeComponent(tag)}`
    : undefined;
  const link = optLink(tag, url) ?? code(tag);
  return `**${c.actor}** pushed tag ${link} to ${c.project}`;
}

function renderPipeline(c: Ctx): string {
  const a = c.attrs;
  const id = asText(a["id"]);
  const [emoji, word] = pipelineStatus(asString(a["status"]) ?? asString(a["detailed_status"]));
  const url = a["url"] ??
    (c.projectUrl !== undefined && id !== undefined
      ? `${c.projectUrl}/-/pipelines/${id}`
      : undefined);
  const pipeline = mdLink(id !== undefined ? `Pipeline #${id}` : "Pipeline", url);
  const ref = asText(a["ref"]);
  const duration = asNumber(a["duration"]);
  const head = `${emoji} ${pipeline} ${word}${
    ref !== undefined ? ` on ${code(ref)}` : ""
  } in ${c.project}`;
  const lines = [
    joinParts([
      head,
      c.actor !== "" ? `triggered by **${c.actor}**` : undefined,
      duration !== undefined && duration > 0 ? spanText(duration * 1000) : undefined,
    ]),
  ];
  const commit = asObject(c.body["commit"]);
  if (commit !== undefined) {
    const sha = asString(commit["id"]) ?? "";
    const title = asText(commit["title"]) ?? commitTitle(asString(commit["message"]) ?? "");
    lines.push(`Commit ${mdLink(sha.slice(0, 8) || "commit", commit["url"])} ${plain(title, 120)}`);
  }
  const failed: string[] = [];
  let failedCount = 0;
  for (const item of asArray(c.body["builds"])) {
    const build = asObject(item);
    if (build?.["status"] !== "failed" || build["allow_failure"] === true) continue;
    failedCount++;
    if (failed.length >= MAX_FAILED_JOBS) continue;
    const name = asText(build["name"]) ?? "job";
    const jobUrl = c.projectUrl !== undefined && asText(build["id"]) !== undefined
      ? `${c.projectUrl}/-/jobs/${asText(build["id"])}`
      : undefined;
    const stage = asText(build["stage"]);
    failed.push(`${mdLink(name, jobUrl)}${stage !== undefined ? ` (${plain(stage, 40)})` : ""}`);
  }
  if (failed.length > 0) {
    const more = failedCount - failed.length;
    lines.push(`Failed jobs: ${failed.join(", ")}${more > 0 ? `, +${more} more` : ""}`);
  }
  return lines.join("\n");
}

function renderMergeRequest(c: Ctx): string {
  const a = c.attrs;
  const action = asString(a["action"]);
  const link = itemLink("!", a["iid"], a["title"], a["url"]);
  const lines = [`**${c.actor}** ${verbOf(action)} merge request ${link} in ${c.project}`];
  if (action === "open" || action === "merge") {
    const source = asText(a["source_branch"]);
    const target = asText(a["target_branch"]);
    if (source !== undefined && target !== undefined) {
      lines.push(`${code(source)} → ${code(target)}`);
    }
  }
  const description = asString(a["description"]);
  const shown = action === "open" ? bodyExcerpt(description) : undefined;
  if (shown !== undefined) lines.push(shown);
  return lines.join("\n");
}

function renderIssue(c: Ctx): string {
  const a = c.attrs;
  const action = asString(a["action"]);
  const confidential = a["confidential"] === true || c.event.startsWith("Confidential")
    ? "confidential "
    : "";
  const link = itemLink("#", a["iid"], a["title"], a["url"]);
  const lines = [`**${c.actor}** ${verbOf(action)} ${confidential}issue ${link} in ${c.project}`];
  const description = asString(a["description"]);
  const shown = action === "open" ? bodyExcerpt(description) : undefined;
  if (shown !== undefined) lines.push(shown);
  return lines.join("\n");
}

function renderNote(c: Ctx): string {
  const a = c.attrs;
  const type = asString(a["noteable_type"]);
  let target: string;
  if (type === "MergeRequest") {
    const mr = asObject(c.body["merge_request"]) ?? {};
    target = `merge request ${itemLink("!", mr["iid"], mr["title"], a["url"])}`;
  } else if (type === "Issue") {
    const issue = asObject(c.body["issue"]) ?? {};
    target = `issue ${itemLink("#", issue["iid"], issue["title"], a["url"])}`;
  } else if (type === "Commit") {
    const sha = asString(path(c.body, "commit", "id")) ?? "";
    target = `commit ${mdLink(sha.slice(0, 8) || "commit", a["url"])}`;
  } else if (type === "Snippet") {
    const snippet = asObject(c.body["snippet"]) ?? {};
    target = `snippet ${itemLink("$", snippet["id"], snippet["title"], a["url"])}`;
  } else {
    target = mdLink(type ?? "an item", a["url"]);
  }
  const lines = [`**${c.actor}** commented on ${target} in ${c.project}`];
  const note = asString(a["note"]);
  const shown = bodyExcerpt(note);
  if (shown !== undefined) lines.push(shown);
  return lines.join("\n");
}

function renderJob(c: Ctx): string {
  const b = c.body;
  const [emoji, word] = pipelineStatus(asString(b["build_status"]));
  const base = asString(path(b, "repository", "homepage")) ?? c.projectUrl;
  const id = asText(b["build_id"]);
  const url = base !== undefined && id !== undefined ? `${base}/-/jobs/${id}` : undefined;
  const job = mdLink(`Job ${asText(b["build_name"]) ?? id ?? ""}`.trim(), url);
  const stage = asText(b["build_stage"]);
  const ref = asText(b["ref"]);
  const duration = asNumber(b["build_duration"]);
  const reason = asString(b["build_status"]) === "failed"
    ? asText(b["build_failure_reason"])?.replace(/_/g, " ")
    : undefined;
  return joinParts([
    `${emoji} ${job}${stage !== undefined ? ` (stage ${plain(stage, 40)})` : ""} ${word}${
      ref !== undefined ? ` on ${code(ref)}` : ""
    } in ${c.project}`,
    duration !== undefined && duration > 0 ? spanText(duration * 1000) : undefined,
    reason !== undefined && reason !== "unknown failure" ? plain(reason, 60) : undefined,
  ]);
}

function renderRelease(c: Ctx): string {
  const b = c.body;
  const tag = asText(b["tag"]);
  const name = asText(b["name"]);
  const label = name !== undefined && tag !== undefined && name !== tag
    ? `${name} (${tag})`
    : name ?? tag ?? "release";
  return `🏷️ Release ${mdLink(label, b["url"])} ${verbOf(asString(b["action"]))} in ${c.project}`;
}

function renderDeployment(c: Ctx): string {
  const b = c.body;
  const [emoji, word] = pipelineStatus(asString(b["status"]));
  const id = asText(b["deployment_id"]);
  const env = asText(b["environment"]);
  const ref = asText(b["ref"]);
  const head = joinParts([
    `${emoji} Deployment${id !== undefined ? ` #${plain(id, 20)}` : ""}${
      ref !== undefined ? ` of ${code(ref)}` : ""
    }${env !== undefined ? ` to **${plain(env, 80)}**` : ""} ${word} in ${c.project}`,
    c.actor !== "" && c.actor !== "someone" ? `by **${c.actor}**` : undefined,
  ]);
  const links = joinParts([
    optLink("Job", b["deployable_url"]),
    optLink("Open environment", b["environment_external_url"]),
  ]);
  const lines = [links !== "" ? `${head} · ${links}` : head];
  const sha = asText(b["short_sha"]);
  const title = asString(b["commit_title"]);
  if (sha !== undefined || title !== undefined) {
    lines.push(
      `Commit ${mdLink(sha ?? "commit", b["commit_url"])}${
        title !== undefined ? ` ${plain(commitTitle(title), 120)}` : ""
      }`,
    );
  }
  return lines.join("\n");
}

/** A wiki page created, updated or deleted, with its commit message. */
function renderWikiPage(c: Ctx): string {
  const a = c.attrs;
  const page = mdLink(asText(a["title"]) ?? asText(a["slug"]) ?? "a page", a["url"]);
  const lines = [
    `**${c.actor}** ${verbOf(asString(a["action"]))} wiki page ${page} in ${c.project}`,
  ];
  const message = asString(a["message"]);
  if (message !== undefined && message.trim() !== "") lines.push(plain(message, 200));
  return lines.join("\n");
}

/** Group-level subgroup events (`subgroup_create`, `subgroup_destroy`). */
function renderSubgroup(c: Ctx): string {
  const b = c.body;
  const name = asText(b["full_path"]) ?? asText(b["name"]) ?? "a subgroup";
  const parent = asText(b["parent_full_path"]) ?? asText(b["parent_name"]);
  const event = asString(b["event_name"]) ?? "";
  const verb = event.endsWith("_destroy")
    ? "removed"
    : event.endsWith("_create")
    ? "created"
    : verbOf(event.replace(/^subgroup_/, ""));
  return `👥 Subgroup **${plain(name, 120)}** ${verb}${
    parent !== undefined ? ` in group **${plain(parent, 120)}**` : ""
  }`;
}

/**
 * An instance event of a system hook (`project_create`, `user_create`, `group_rename`, …): its
 * `event_name` and what it is about. These bodies have no project or user objects, only flat
 * fields, so the generic project line would say "on GitLab by someone".
 */
function renderSystemEvent(c: Ctx): string {
  const b = c.body;
  const name = asText(b["event_name"]);
  const subject = asText(b["path_with_namespace"]) ?? asText(b["full_path"]) ??
    asText(b["username"]) ?? asText(b["group_path"]) ?? asText(b["path"]) ?? asText(b["name"]);
  const by = asText(b["owner_name"]) ?? asText(b["user_name"]);
  return `GitLab system event${name !== undefined ? ` ${code(name, 60)}` : ""}${
    subject !== undefined ? `: ${bold(subject, 120)}` : ""
  }${by !== undefined ? ` by **${plain(by, 60)}**` : ""}`;
}

function renderGeneric(c: Ctx): string {
  if (c.event === "System Hook") return renderSystemEvent(c);
  const action = asString(c.attrs["action"]) ?? asString(c.body["action"]);
  return joinParts([
    `GitLab event ${code(c.event, 60)}${
      action !== undefined ? ` (action ${code(action, 40)})` : ""
    } on ${c.project}${c.actor !== "" ? ` by **${c.actor}**` : ""}`,
    optLink("Open", c.attrs["url"] ?? c.body["url"]),
  ]);
}

function render(c: Ctx): string {
  switch (c.event) {
    case "Push Hook":
      return renderPush(c);
    case "Tag Push Hook":
      return renderTagPush(c);
    case "Pipeline Hook":
      return renderPipeline(c);
    case "Merge Request Hook":
      return renderMergeRequest(c);
    case "Issue Hook":
    case "Confidential Issue Hook":
      return renderIssue(c);
    case "Note Hook":
    case "Confidential Note Hook":
      return renderNote(c);
    case "Job Hook":
      return renderJob(c);
    case "Release Hook":
      return renderRelease(c);
    case "Deployment Hook":
      return renderDeployment(c);
    case "Subgroup Hook":
      return renderSubgroup(c);
    case "Wiki Page Hook":
      return renderWikiPage(c);
    default:
      return renderGeneric(c);
  }
}

/** The GitLab webhook adapter (any event with an `X-Gitlab-Event` header). */
export const gitlabFormat: FormatAdapter = {
  name: "gitlab",
  detect(input: PayloadInput): boolean {
    return header(input.headers, "x-gitlab-event") !== undefined;
  },
  parse(input: PayloadInput): ParsedPayload {
    const body = eventBody(input, "GitLab");
    const headerEvent = header(input.headers, "x-gitlab-event");
    // System hooks send `X-Gitlab-Event: System Hook` with a project event inside, named by
    // `object_kind` (merge requests) or only by `event_name` (pushes, tag pushes).
    const kind = asString(body["object_kind"]) ?? asString(body["event_name"]);
    const event = headerEvent !== undefined && headerEvent !== "System Hook"
      ? headerEvent
      : (kind !== undefined && Object.hasOwn(KIND_TO_EVENT, kind)
        ? KIND_TO_EVENT[kind]
        : undefined) ??
        headerEvent ?? kind ?? "unknown";
    const projectUrl = asString(path(body, "project", "web_url")) ??
      asString(path(body, "repository", "homepage"));
    const projectName = asText(path(body, "project", "path_with_namespace")) ??
      asText(path(body, "project", "name")) ?? asText(path(body, "repository", "name")) ??
      asText(body["project_name"]);
    const project = projectName !== undefined ? mdLink(projectName, projectUrl) : "GitLab";
    const actor = plain(
      asText(body["user_name"]) ?? asText(path(body, "user", "name")) ??
        asText(body["user_username"]) ?? asText(path(body, "user", "username")) ?? "",
      60,
    );
    const text = render({
      event,
      body,
      actor: actor === "" ? (event === "Pipeline Hook" ? "" : "someone") : actor,
      project,
      projectUrl: projectUrl?.replace(/\/+$/, ""),
      attrs: asObject(body["object_attributes"]) ?? {},
    });
    const living = gitlabRun(event, body, projectName ?? "", projectUrl);
    return {
      format: "gitlab",
      message: eventMessage(text, living),
      reply: "json",
    };
  },
};

/** `Pipeline Hook` and `Deployment Hook` events of one pipeline / deployment as one living message. */
function gitlabRun(
  event: string,
  body: JsonObject,
  project: string,
  projectUrl: string | undefined,
): CiRun | undefined {
  const outcome = (status: string | undefined) =>
    status === "success"
      ? "success" as const
      : status === "failed"
      ? "failure" as const
      : status === "canceled" || status === "skipped"
      ? "other" as const
      : "running" as const;
  if (event === "Pipeline Hook") {
    const a = asObject(body["object_attributes"]) ?? {};
    const id = asText(a["id"]);
    if (id === undefined) return undefined;
    const title = `pipeline #${id}${project ? ` (${project})` : ""}`;
    const url = a["url"] ??
      (projectUrl ? `${projectUrl.replace(/\/+$/, "")}/-/pipelines/${id}` : undefined);
    return {
      group: ciGroup(`gl:pipeline:${project}:${id}`, title, outcome(asString(a["status"]))),
      buttons: groupButtons([["Pipeline", url]]),
    };
  }
  if (event === "Job Hook") {
    // Every state of a job is a Job Hook of its own: one message per job, like a pipeline.
    const id = asText(body["build_id"]);
    if (id === undefined) return undefined;
    const name = asText(body["build_name"]) ?? id;
    const base = asString(path(body, "repository", "homepage")) ?? projectUrl;
    return {
      group: ciGroup(
        `gl:job:${project}:${id}`,
        `job ${name}${project ? ` (${project})` : ""}`,
        outcome(asString(body["build_status"])),
      ),
      buttons: groupButtons([[
        "Job",
        base ? `${base.replace(/\/+$/, "")}/-/jobs/${id}` : undefined,
      ]]),
    };
  }
  if (event === "Deployment Hook") {
    const id = asText(body["deployment_id"]);
    if (id === undefined) return undefined;
    const env = asText(body["environment"]) ?? "environment";
    const title = `deploy to ${env}${project ? ` (${project})` : ""}`;
    return {
      group: ciGroup(`gl:deploy:${project}:${id}`, title, outcome(asString(body["status"]))),
      buttons: groupButtons([["Deployment", body["deployable_url"]], [
        "Open",
        body["environment_external_url"],
      ]]),
    };
  }
  return undefined;
}
