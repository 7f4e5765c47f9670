/**
 * Jenkins' Notification plugin (jenkinsci/notification-plugin), the plugin Jenkins users add to
 * post build events to a URL: JSON (Gson, lower_case_with_underscores) `{name, display_name,
 * url, build: {full_url, number, phase, status, duration, scm {branch, commit, culprits}, log,
 * notes, test_summary {total, passed, failed, skipped, failed_tests}}}`, sent at each phase of a
 * build (`QUEUED`, `STARTED`, `COMPLETED`, `FINALIZED`; the endpoint's event filter may pick
 * fewer). Before this adapter such a body was posted as raw JSON, log included.
 *
 * Rendering: `✅ **[job #42](build url)** succeeded after 1m 23s`, then branch and commit,
 * the test summary with up to five failed tests, the culprits, the build notes and the log
 * lines the endpoint sends (the plugin's "log lines" setting; the tail is kept).
 *
 * One chat message per build (a living message, docs/messages.md): each phase edits it; the
 * group closes at `FINALIZED`, not `COMPLETED`, because the plugin sends both for every build
 * and a notification after the close would start a second message. A failure replies, since
 * an edit notifies nobody. Answered with the bot's JSON (the plugin reads no answer).
 *
 * @module
 */
import { spanText } from "../../span_text.ts";
import { block, joinParts, mdLink, plain } from "./_markup.ts";
import { asArray, asNumber, asObject, asText, isRecord, type JsonObject } from "./_read.ts";
import { ciGroup, eventMessage } from "./_vcs_event.ts";
import type { FormatAdapter, ParsedPayload, PayloadInput } from "./types.ts";
import { PayloadError } from "./types.ts";

const PHASES = new Set(["QUEUED", "STARTED", "COMPLETED", "FINALIZED"]);

/** Jenkins results (hudson.model.Result) as the chat shows them. */
const RESULTS: ReadonlyMap<string, { emoji: string; words: string; outcome: Outcome }> = new Map([
  ["SUCCESS", { emoji: "✅", words: "succeeded", outcome: "success" }],
  ["FAILURE", { emoji: "❌", words: "failed", outcome: "failure" }],
  ["UNSTABLE", { emoji: "⚠️", words: "is unstable", outcome: "other" }],
  ["ABORTED", { emoji: "⏹️", words: "was aborted", outcome: "other" }],
  ["NOT_BUILT", { emoji: "⏭️", words: "was not built", outcome: "other" }],
]);
type Outcome = "success" | "failure" | "other";

/** Failed tests named under the summary. */
const MAX_FAILED_TESTS = 5;
/** Characters of the log shown (its end, where a failure is). */
const MAX_LOG = 1500;

/** The Jenkins Notification plugin adapter. */
export const jenkinsFormat: FormatAdapter = {
  name: "jenkins",
  detect: (input) => jenkinsBody(input) !== undefined,
  parse(input: PayloadInput): ParsedPayload {
    const body = jenkinsBody(input);
    if (body === undefined) {
      throw new PayloadError(
        "invalid_payload",
        'A Jenkins Notification plugin body is JSON {"name", "build": {"number", "phase", …}}; set the endpoint\'s format to JSON.',
      );
    }
    return { format: "jenkins", message: render(body.job, body.build), reply: "json" };
  },
};

function jenkinsBody(input: PayloadInput): { job: JsonObject; build: JsonObject } | undefined {
  const { body } = input;
  if (body.kind !== "json" || !isRecord(body.value)) return undefined;
  const build = asObject(body.value.build);
  const phase = build?.["phase"];
  if (build === undefined || typeof phase !== "string" || !PHASES.has(phase)) return undefined;
  if (typeof body.value.name !== "string" || typeof build["number"] !== "number") return undefined;
  return { job: body.value, build };
}

function render(job: JsonObject, build: JsonObject) {
  const name = asText(job["display_name"]) ?? asText(job["name"]) ?? "build";
  const number = asNumber(build["number"]) ?? 0;
  const title = `${name} #${number}`;
  const phase = asText(build["phase"]) ?? "";
  const result = RESULTS.get(asText(build["status"]) ?? "");
  const ms = asNumber(build["duration"]);
  const took = ms !== undefined && ms > 0 ? ` after ${spanText(ms)}` : "";
  const link = `**${mdLink(title, build["full_url"])}**`;
  const head = phase === "QUEUED"
    ? `⏳ ${link} is queued`
    : phase === "STARTED" || result === undefined
    ? `🔄 ${link} started`
    : `${result.emoji} ${link} ${result.words}${took}`;

  const scm = asObject(build["scm"]);
  const commit = asText(scm?.["commit"])?.slice(0, 7);
  const lines = [
    head,
    joinParts([
      asText(scm?.["branch"]) !== undefined
        ? `Branch ${plain(asText(scm?.["branch"])!)}`
        : undefined,
      commit !== undefined ? `commit ${plain(commit)}` : undefined,
    ]),
    ...tests(asObject(build["test_summary"])),
  ];
  const culprits = asArray(scm?.["culprits"]).map(asText).filter((c) => c !== undefined);
  if (culprits.length > 0) lines.push(`Changes by ${plain(culprits.slice(0, 10).join(", "))}`);
  const notes = asText(build["notes"])?.trim();
  if (notes) lines.push(block(notes, 500));
  let text = lines.filter((l) => l !== "").join("\n");
  const log = asText(build["log"])?.trim();
  if (log) {
    text += `\n\n${block(log.length > MAX_LOG ? `…${log.slice(-MAX_LOG)}` : log, MAX_LOG + 1)}`;
  }

  // Open until FINALIZED: the plugin sends COMPLETED and then FINALIZED for each build.
  const outcome = phase === "FINALIZED" ? result?.outcome ?? "other" : "running";
  const id = `jenkins:${asText(job["url"]) ?? name}:${number}`;
  return eventMessage(text, { group: ciGroup(id, title, outcome), buttons: [] });
}

/** `Tests: 117 passed, 2 failed, 1 skipped` and the first failed tests. */
function tests(summary: JsonObject | undefined): string[] {
  if (summary === undefined) return [];
  const count = (k: string) => asNumber(summary[k]) ?? 0;
  const total = count("total");
  if (total === 0) return [];
  const parts = [
    `${count("passed")} passed`,
    count("failed") > 0 ? `${count("failed")} failed` : undefined,
    count("skipped") > 0 ? `${count("skipped")} skipped` : undefined,
  ];
  const failed = asArray(summary["failed_tests"]).map(asText).filter((t) => t !== undefined)
    .slice(0, MAX_FAILED_TESTS).map((t) => `• ${plain(t, 150)}`);
  return [`Tests: ${joinParts(parts, ", ")}`, ...failed];
}
