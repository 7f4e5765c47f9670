/**
 * The property behind the format fuzz test and `bench/fuzz.ts`: for any JSON, form or text
 * body with any mix of sender headers, every adapter's `detect` returns a boolean, every
 * adapter's `parse` (the `?format=` path) and `detectFormat` either return a well-formed,
 * bounded Message or throw a {@link PayloadError} with a 4xx status and a stable code.
 * Anything else (TypeError, RangeError, a 500-class status, a megabyte of text) fails.
 *
 * Bodies come from three generators: free JSON built from every format's field names,
 * the realistic fixtures with random subtrees replaced or deleted (reaches deep branches of
 * the renderers), and form/text bodies.
 *
 * @module
 */
import fc from "fast-check";
import process from "node:process";
import { PARSE_MODES } from "../../../src/message.ts";
import { detectFormat, DETECTION_ORDER } from "../../../src/ingest/formats/detect.ts";
import { loadSchemas } from "../../../src/ingest/formats/_schemas.ts";
import {
  PayloadError,
  type PayloadInput,
  type RequestBody,
} from "../../../src/ingest/formats/types.ts";

// The adapters parse synchronously once zod is loaded. Loaded here, not only by the test's
// other imports: `bench/fuzz.ts` imports this module alone, and every case of it threw
// SchemasNotLoaded (a "finding" at the first case, whatever the seed).
await loadSchemas();

/** Upper bound on rendered text; the real renderers stay far below (tens of KB at most). */
export const MAX_TEXT = 1_000_000;
/**
 * Upper bound on attachments per parse. The count limit itself is the HTTP layer's job (native
 * and Apprise keep every attachment sent), so this only catches output growing faster than the
 * input: the largest generated list has 500 entries.
 */
export const MAX_ATTACHMENTS = 600;
/**
 * One case (all adapters) taking more CPU time than this, plus {@link CASE_NS_PER_CHAR} per
 * character of its body, means something went quadratic. CPU time of this process, not wall
 * time: on a loaded machine (CI shares 2 cores) the wall time of a 14 MB body's case was
 * 2.9–5.7 s at load 12 while its CPU time stayed near 1 s; the wall-time check failed 3 seeds
 * in 10 there.
 */
export const MAX_CASE_MS = 2_000;
/**
 * The CPU time a case may take per character of its body (JSON length) on top of
 * {@link MAX_CASE_MS}. Linear work on a big body is no bug: the logs format's JSON.stringify
 * of a 24 MB record alone took 2.3 s of CPU at load 12 (about 100 ns a character; 2 seeds
 * in 300 failed the flat 2 s), while anything quadratic on such a body takes hours.
 */
export const CASE_NS_PER_CHAR = 250;
/**
 * Largest generated JSON body: the default WEBHOOK_MAX_UPLOAD_MB (25 MiB), over which the HTTP
 * layer answers 413 before any adapter sees the body. Nested "repeat" edits (500 copies of 500
 * copies) made 29 MB bodies that only stringifying took a second of.
 */
export const MAX_BODY_CHARS = 25 * 1024 * 1024;

/** Field names of every format, so generated objects hit the adapters' code paths. */
const KEYS = [
  // native / Slack / Mattermost
  "text",
  "parse_mode",
  "images",
  "files",
  "attachments",
  "blocks",
  "mrkdwn",
  "props",
  "priority",
  "root_id",
  "type",
  "channel",
  "username",
  "icon_url",
  "fields",
  "title_link",
  "pretext",
  "elements",
  "fallback",
  "color",
  "image_url",
  "thumb_url",
  // Alertmanager / Grafana
  "version",
  "groupKey",
  "status",
  "alerts",
  "labels",
  "annotations",
  "receiver",
  "groupLabels",
  "commonLabels",
  "commonAnnotations",
  "externalURL",
  "truncatedAlerts",
  "startsAt",
  "endsAt",
  "generatorURL",
  "fingerprint",
  "alertname",
  "severity",
  "instance",
  "summary",
  "description",
  "runbook_url",
  "orgId",
  "values",
  "valueString",
  "imageURL",
  "imageUrl",
  "dashboardURL",
  "panelURL",
  "silenceURL",
  "state",
  "title",
  "ruleName",
  "ruleUrl",
  "message",
  "evalMatches",
  "metric",
  "value",
  "tags",
  // Apprise
  "filename",
  "base64",
  "mimetype",
  "url",
  // GitHub / GitLab
  "zen",
  "hook",
  "hook_id",
  "events",
  "repository",
  "full_name",
  "html_url",
  "sender",
  "login",
  "pusher",
  "name",
  "ref",
  "before",
  "after",
  "created",
  "deleted",
  "forced",
  "compare",
  "commits",
  "id",
  "author",
  "pull_request",
  "number",
  "action",
  "merged",
  "draft",
  "head",
  "base",
  "body",
  "issue",
  "comment",
  "review",
  "workflow_run",
  "conclusion",
  "run_number",
  "head_branch",
  "check_suite",
  "release",
  "tag_name",
  "forkee",
  "ref_type",
  "object_kind",
  "object_attributes",
  "project",
  "web_url",
  "path_with_namespace",
  "user",
  "user_name",
  "builds",
  "iid",
  "source_branch",
  "target_branch",
  "note",
  "noteable_type",
  "total_commits_count",
  "build_status",
  "build_id",
  "homepage",
  // prototype-shaped keys
  "__proto__",
  "constructor",
  "toString",
  "hasOwnProperty",
];

const EVENTS_GITHUB = [
  "ping",
  "push",
  "pull_request",
  "pull_request_review",
  "pull_request_review_comment",
  "issues",
  "issue_comment",
  "workflow_run",
  "check_suite",
  "release",
  "star",
  "watch",
  "fork",
  "create",
  "delete",
  "discussion",
];
const EVENTS_GITLAB = [
  "Push Hook",
  "Tag Push Hook",
  "Pipeline Hook",
  "Merge Request Hook",
  "Issue Hook",
  "Confidential Issue Hook",
  "Note Hook",
  "Job Hook",
  "Release Hook",
  "System Hook",
  "Wiki Page Hook",
];

const FIXTURES = [
  "alertmanager_firing",
  "alertmanager_resolved",
  "alertmanager_truncated",
  "grafana_firing",
  "grafana_resolved",
  "grafana_legacy",
  "apprise_json",
  "apprise_bad_base64",
  "github_ping",
  "github_push",
  "github_pull_request_opened",
  "github_pull_request_merged",
  "github_issues_opened",
  "github_workflow_run",
  "github_unknown_event",
  "gitlab_push",
  "gitlab_pipeline_failed",
  "gitlab_pipeline_success",
  "gitlab_merge_request",
  "gitlab_issue",
  "github_check_run_completed",
  "github_deployment_status",
  "gitlab_deployment",
  "gitlab_subgroup_create",
  // The dialects of issue 15 (edits inside cards and embeds reach every renderer).
  "dialects/discord_embed",
  "dialects/jenkins_notification_finalized",
  "dialects/chatalot_seed",
  "dialects/teams_connector_sample",
  "dialects/teams_alertmanager_msteams",
  "dialects/teams_gitea_push",
  "dialects/teams_grafana_adaptive",
  "dialects/teams_workflow_activity",
  "dialects/googlechat_cardsv2",
  "dialects/googlechat_legacy_cards",
  "dialects/rocketchat_attachments",
];

const fixtureCache = new Map<string, unknown>();
function fixture(name: string): unknown {
  let value = fixtureCache.get(name);
  if (value === undefined) {
    value = JSON.parse(Deno.readTextFileSync(new URL(`../fixtures/${name}.json`, import.meta.url)));
    fixtureCache.set(name, value);
  }
  return structuredClone(value);
}

/** Strings the adapters treat specially, plus hostile ones. */
const specialString = fc.constantFrom(
  "4",
  "1",
  "1.0",
  "firing",
  "resolved",
  "alerting",
  "ok",
  "no_data",
  "info",
  "success",
  "warning",
  "failure",
  "markdown",
  "html",
  "text",
  "opened",
  "closed",
  "completed",
  "open",
  "merge",
  "failed",
  "refs/heads/main",
  "refs/tags/v1",
  "0000000000000000000000000000000000000000",
  "https://example.com/a(b)",
  "http://[::1]/x",
  "javascript:alert(1)",
  "data:image/png;base64,AAAA",
  "*b* _i_ [x](javascript:alert(1)) `c` ~~s~~ \\",
  "<b>x</b>&amp;",
  "iVBORw0KGgo=",
  "not*base64!",
  "0001-01-01T00:00:00Z",
  "2024-05-01T10:00:00Z",
  "9999-99-99T99:99:99Z",
  "",
  " ",
  "\n\n\n",
  "🔥".repeat(3000),
  "\ud800",
  "a".repeat(20_000),
);
const leaf: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 3, arbitrary: specialString },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
);
const key = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...KEYS) }, {
  weight: 1,
  arbitrary: fc.string({ maxLength: 12 }),
});

/** Arbitrary JSON-like values whose object keys are mostly real field names. */
const jsonTree: fc.Arbitrary<unknown> = fc.letrec<{ tree: unknown }>((tie) => ({
  tree: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    { weight: 3, arbitrary: leaf },
    { weight: 1, arbitrary: fc.array(tie("tree"), { maxLength: 6 }) },
    {
      weight: 2,
      arbitrary: fc.dictionary(key, tie("tree"), { maxKeys: 8, noNullPrototype: false }),
    },
  ),
})).tree;

/** One edit of a fixture: walk to a random node, then replace, delete or multiply it. */
const mutation = fc.record({
  walk: fc.array(fc.nat(), { minLength: 1, maxLength: 5 }),
  op: fc.constantFrom("replace", "delete", "repeat"),
  value: jsonTree,
});

function applyEdit(root: unknown, walk: number[], op: string, value: unknown): void {
  let parent: Record<string | number, unknown> | undefined;
  let slot: string | number | undefined;
  let node: unknown = root;
  for (const step of walk) {
    if (typeof node !== "object" || node === null) break;
    const keys = Array.isArray(node) ? node.map((_, i) => i) : Object.keys(node);
    if (keys.length === 0) break;
    const k = keys[step % keys.length] as string | number;
    parent = node as Record<string | number, unknown>;
    slot = k;
    node = parent[k];
  }
  if (parent === undefined || slot === undefined) return;
  if (op === "delete") {
    if (Array.isArray(parent)) parent.splice(slot as number, 1);
    else delete parent[slot];
  } else if (op === "repeat" && Array.isArray(node)) {
    // Many copies of the same element: big alert lists, many commits, many attachments.
    parent[slot] = Array.from({ length: 500 }, () => node[0] ?? value);
  } else {
    parent[slot] = value;
  }
}

const formBody: fc.Arbitrary<RequestBody> = fc.record({
  fields: fc.array(
    fc.tuple(
      fc.oneof(
        fc.constantFrom(
          "text",
          "message",
          "title",
          "type",
          "version",
          "payload",
          "parse_mode",
          "image_url",
          "file_url",
        ),
        fc.string({ maxLength: 10 }),
      ),
      fc.array(
        fc.oneof(
          fc.string({ maxLength: 60 }),
          specialString,
          jsonTree.map((v) => JSON.stringify(v) ?? ""),
        ),
        { minLength: 1, maxLength: 3 },
      ),
    ),
    { maxLength: 6 },
  ),
  files: fc.array(
    fc.record({
      field: fc.oneof(
        fc.constantFrom("image", "file", "file01", "attach"),
        fc.string({ maxLength: 10 }),
      ),
      filename: fc.oneof(
        fc.constantFrom("", "a.png", "b.txt", "c.svg", "../../etc/passwd"),
        fc.string({ maxLength: 20 }),
      ),
      contentType: fc.constantFrom(
        "",
        "image/png",
        "image/svg+xml",
        "text/plain",
        "application/octet-stream",
        "x",
      ),
      bytes: fc.uint8Array({ maxLength: 64 }),
    }),
    { maxLength: 4 },
  ),
}).map(({ fields, files }) => {
  const map = new Map<string, string[]>();
  for (const [k, vs] of fields) map.set(k, [...(map.get(k) ?? []), ...vs]);
  return { kind: "form" as const, fields: map, files };
});

/** The event header that goes with a fixture, so mutated GitHub/GitLab bodies reach their renderers. */
const FIXTURE_EVENTS: Readonly<Record<string, [string, string]>> = {
  github_ping: ["x-github-event", "ping"],
  github_push: ["x-github-event", "push"],
  github_pull_request_opened: ["x-github-event", "pull_request"],
  github_pull_request_merged: ["x-github-event", "pull_request"],
  github_issues_opened: ["x-github-event", "issues"],
  github_workflow_run: ["x-github-event", "workflow_run"],
  github_unknown_event: ["x-github-event", "discussion"],
  gitlab_push: ["x-gitlab-event", "Push Hook"],
  gitlab_pipeline_failed: ["x-gitlab-event", "Pipeline Hook"],
  gitlab_pipeline_success: ["x-gitlab-event", "Pipeline Hook"],
  gitlab_merge_request: ["x-gitlab-event", "Merge Request Hook"],
  gitlab_issue: ["x-gitlab-event", "Issue Hook"],
  github_check_run_completed: ["x-github-event", "check_run"],
  github_deployment_status: ["x-github-event", "deployment_status"],
  gitlab_deployment: ["x-gitlab-event", "Deployment Hook"],
  gitlab_subgroup_create: ["x-gitlab-event", "Subgroup Hook"],
};

/** Random sender headers; mostly absent so body detection gets exercised too. */
const randomHeaders: fc.Arbitrary<Map<string, string>> = fc.record({
  github: fc.oneof(
    { weight: 5, arbitrary: fc.constant(null) },
    {
      weight: 1,
      arbitrary: fc.oneof(fc.constantFrom(...EVENTS_GITHUB), fc.string({ maxLength: 20 })),
    },
  ),
  gitlab: fc.oneof(
    { weight: 5, arbitrary: fc.constant(null) },
    {
      weight: 1,
      arbitrary: fc.oneof(fc.constantFrom(...EVENTS_GITLAB), fc.string({ maxLength: 20 })),
    },
  ),
}).map(({ github, gitlab }) => {
  const map = new Map<string, string>();
  if (github !== null) map.set("x-github-event", github);
  if (gitlab !== null) map.set("x-gitlab-event", gitlab);
  return map;
});

/**
 * About the length of `value` as JSON (escapes are not counted), or of a form's fields and
 * files; counting stops once past `stopAt`, so a tree of 500 × 500 × 500 shared references
 * costs no more than `stopAt` to judge.
 */
function bodyChars(value: unknown, stopAt = Infinity): number {
  let size = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === "string") size += v.length + 2;
    else if (v instanceof Uint8Array) size += v.byteLength;
    else if (v instanceof Map) stack.push(...v);
    else if (v === null || typeof v !== "object") size += String(v).length;
    else if (Array.isArray(v)) {
      size += 1 + v.length;
      for (const item of v) stack.push(item);
    } else {
      for (const [k, item] of Object.entries(v)) {
        size += k.length + 4;
        stack.push(item);
      }
      size += 2;
    }
    if (size > stopAt) break;
  }
  return size;
}

/** A mutated fixture with its own event header (or, sometimes, random headers). */
const fixtureInput: fc.Arbitrary<PayloadInput> = fc.record({
  name: fc.constantFrom(...FIXTURES),
  edits: fc.array(mutation, { minLength: 1, maxLength: 4 }),
  ownHeader: fc.boolean(),
  event: fc.option(fc.constantFrom(...EVENTS_GITHUB, ...EVENTS_GITLAB), { freq: 3 }),
  headers: randomHeaders,
}).map(({ name, edits, ownHeader, event, headers }) => {
  const root = fixture(name);
  for (const edit of edits) applyEdit(root, edit.walk, edit.op, edit.value);
  const own = FIXTURE_EVENTS[name];
  let map = headers;
  if (own !== undefined && ownHeader) {
    // Sometimes another event name on the same body: a push body under "pull_request".
    map = new Map([[own[0], event === null ? own[1] : event]]);
  }
  return { body: { kind: "json" as const, value: root }, headers: map };
}).filter((input) =>
  bodyChars((input.body as { value: unknown }).value, MAX_BODY_CHARS) <= MAX_BODY_CHARS
);

const otherBody: fc.Arbitrary<RequestBody> = fc.oneof(
  { weight: 3, arbitrary: jsonTree.map((value) => ({ kind: "json" as const, value })) },
  { weight: 1, arbitrary: fc.jsonValue().map((value) => ({ kind: "json" as const, value })) },
  { weight: 2, arbitrary: formBody },
  {
    weight: 1,
    arbitrary: fc.string({ maxLength: 200 }).map((text) => ({ kind: "text" as const, text })),
  },
  {
    // A log shipper's batch (a JSON array, NDJSON), which only the logs format reads.
    weight: 1,
    arbitrary: fc.record({
      records: fc.array(fc.oneof(jsonTree, fc.jsonValue()), { maxLength: 40 }),
      framing: fc.constantFrom("array" as const, "lines" as const),
    }).map(({ records, framing }) => ({ kind: "records" as const, records, framing })),
  },
);

/** Generated adapter inputs. */
export const payloadInput: fc.Arbitrary<PayloadInput> = fc.oneof(
  { weight: 1, arbitrary: fixtureInput },
  { weight: 1, arbitrary: fc.record({ body: otherBody, headers: randomHeaders }) },
);

const REPLY_STYLES = [
  "json",
  "slack_ok",
  "discord",
  "teams_connector",
  "teams_workflow",
  "googlechat",
  "ntfy",
  "gotify",
  "rocketchat",
];

/** Throws unless `result` is a well-formed, bounded ParsedPayload. */
function checkResult(where: string, result: unknown): void {
  const r = result as { format?: unknown; reply?: unknown; message?: Record<string, unknown> };
  if (typeof r.format !== "string") throw new Error(`${where}: no format`);
  if (!REPLY_STYLES.includes(r.reply as string)) {
    throw new Error(`${where}: bad reply ${String(r.reply)}`);
  }
  const m = r.message;
  if (m === undefined || typeof m["text"] !== "string") {
    throw new Error(`${where}: text is not a string`);
  }
  if ((m["text"] as string).length > MAX_TEXT) {
    throw new Error(`${where}: text of ${(m["text"] as string).length} chars`);
  }
  if (!(PARSE_MODES as readonly unknown[]).includes(m["parseMode"])) {
    throw new Error(`${where}: parseMode ${String(m["parseMode"])}`);
  }
  const attachments = m["attachments"];
  if (!Array.isArray(attachments)) throw new Error(`${where}: attachments is not an array`);
  if (attachments.length > MAX_ATTACHMENTS) {
    throw new Error(`${where}: ${attachments.length} attachments`);
  }
  for (const a of attachments) {
    if (a.kind !== "photo" && a.kind !== "document") {
      throw new Error(`${where}: attachment kind ${a.kind}`);
    }
    const ok = a.source?.type === "bytes"
      ? a.source.bytes instanceof Uint8Array
      : a.source?.type === "url" && typeof a.source.url === "string" &&
        /^https?:\/\//i.test(a.source.url);
    if (!ok) throw new Error(`${where}: bad attachment source ${JSON.stringify(a.source)}`);
  }
}

/** Throws unless `e` is a client-facing PayloadError. */
function checkError(where: string, e: unknown): void {
  if (!(e instanceof PayloadError)) {
    throw new Error(
      `${where}: threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`,
      { cause: e },
    );
  }
  if (e.status < 400 || e.status > 499) {
    throw new Error(`${where}: status ${e.status} for ${e.code}`);
  }
  if (!/^[a-z][a-z0-9_]*$/.test(e.code)) throw new Error(`${where}: unstable code "${e.code}"`);
  if (e.message.trim() === "") throw new Error(`${where}: empty message for ${e.code}`);
}

function attempt(where: string, run: () => unknown): void {
  let result: unknown;
  try {
    result = run();
  } catch (e) {
    checkError(where, e);
    return;
  }
  checkResult(where, result);
}

/** Runs every check for one input; throws on the first violation. */
export function checkInput(input: PayloadInput): void {
  const started = process.cpuUsage();
  for (const adapter of DETECTION_ORDER) {
    const detected = adapter.detect(input);
    if (typeof detected !== "boolean") {
      throw new Error(`${adapter.name}.detect returned ${String(detected)}`);
    }
    attempt(`${adapter.name}.parse`, () => adapter.parse(input));
  }
  attempt("detectFormat", () => detectFormat(input));
  const { user, system } = process.cpuUsage(started);
  const ms = (user + system) / 1000;
  if (ms > MAX_CASE_MS) {
    const { body } = input;
    const chars = bodyChars(
      body.kind === "json"
        ? body.value
        : body.kind === "records"
        ? body.records
        : body.kind === "form"
        ? [body.fields, body.files]
        : body.kind === "text"
        ? body.text
        : body.bytes,
    );
    const budget = MAX_CASE_MS + chars * CASE_NS_PER_CHAR / 1e6;
    if (ms > budget) {
      throw new Error(
        `one case took ${ms.toFixed(0)} ms of CPU time, over ${
          budget.toFixed(0)
        } ms for ${chars} characters`,
      );
    }
  }
}

/**
 * Runs the property `numRuns` times (seeded when `seed` is given) and returns timing.
 * `shrink: false` reports the first failure as found: shrinking re-runs a slow case many
 * times, which can take minutes when the failure is "this case was too slow".
 */
export function runFuzz(
  numRuns: number,
  seed?: number,
  shrink = true,
): { runs: number; ms: number } {
  const started = performance.now();
  fc.assert(fc.property(payloadInput, (input) => checkInput(input)), {
    numRuns,
    endOnFailure: !shrink,
    ...(seed !== undefined && { seed }),
  });
  return { runs: numRuns, ms: performance.now() - started };
}
