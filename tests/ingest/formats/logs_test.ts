/**
 * Log shippers' batches (formats/logs.ts). Fixtures in `tests/ingest/fixtures/logs/`, written from
 * the senders' documentation and source:
 * - `fluentbit_json.json`: Fluent Bit's `http` output, `format json` (docs.fluentbit.io,
 *   pipeline/outputs/http and output_formats: "a single JSON array of JSON encoded records"),
 *   default `json_date_key date` / `json_date_format double`, records of the `tail` input with
 *   the `kubernetes` filter (CRI parser: `time`, `stream`, `_p`, `log`), one app logging JSON;
 * - `fluentbit_json_lines.ndjson`: `format json_lines` (`Content-Type: application/x-ndjson`
 *   since fluent-bit PR #8715), `json_date_format iso8601`, the `systemd` input's journald
 *   fields (`PRIORITY`, `SYSLOG_IDENTIFIER`, `MESSAGE`);
 * - `fluentbit_json_stream.json`: `format json_stream` ("no separator between records", sent
 *   as application/json), the `cpu` input's metrics (records without a message);
 * - `vector_json.json`: Vector's `http` sink, `encoding.codec = "json"` (a JSON array, the
 *   default framing), the `file` source's fields (`message`, `timestamp`, `host`, `file`,
 *   `source_type`) and a parsed `level`;
 * - `vector_ndjson.ndjson`: `framing.method = "newline_delimited"` (application/x-ndjson), the
 *   `kubernetes_logs` source, a logfmt line.
 *
 * @module
 */
import assert from "node:assert/strict";
import { post, refused } from "./_request.ts";
import { formatNames } from "../../../src/ingest/formats/detect.ts";
import { logsFormat, MAX_LOG_LINES, MAX_LOG_TEXT } from "../../../src/ingest/formats/logs.ts";
import { CHAT_ID, withEndpoint } from "../../support/endpoint_harness.ts";

const FLUENT_BIT = { "user-agent": "Fluent-Bit" };
const VECTOR = { "user-agent": "Vector/0.43.1 (x86_64-unknown-linux-gnu 1a2b3c4 2024-12-10)" };

function fixture(name: string): Uint8Array {
  return Deno.readFileSync(new URL(`../fixtures/logs/${name}`, import.meta.url));
}

Deno.test("Fluent Bit format json (a JSON array): one message, a line per record, levels counted", async () => {
  const r = await post(fixture("fluentbit_json.json"), "application/json", {
    headers: FLUENT_BIT,
  });
  assert.equal(r.format, "logs");
  assert.equal(r.reply, "json");
  assert.equal(r.message.parseMode, "markdown");
  assert.deepEqual(r.message.attachments, []);
  assert.equal(
    r.message.text,
    [
      "**Fluent Bit: 3 log records** (1 error, 1 warning, 1 info), 2026-12-07 08:01:36 to 08:01:42 UTC",
      // The line's own time is dropped (the record's is shown first), its level marks it red.
      "🔴 08:01:36 api-7d9f8b6c5-x2x9q: ERROR \\[db\\] connection refused to postgres:5432",
      // An app logging JSON: its msg and level are read out of the `log` line.
      "🟡 08:01:37 WARN api-7d9f8b6c5-x2x9q: retrying in 5 s",
      // Terminal colours are dropped.
      "08:01:42 api-7d9f8b6c5-x2x9q: INFO connected to postgres:5432 \\(pool 10\\)",
    ].join("\n"),
  );
});

Deno.test("Fluent Bit json_lines (application/x-ndjson) with journald records", async () => {
  const r = await post(fixture("fluentbit_json_lines.ndjson"), "application/x-ndjson", {
    headers: FLUENT_BIT,
  });
  assert.equal(r.format, "logs");
  assert.equal(
    r.message.text,
    [
      "**Fluent Bit: 2 log records** (1 error, 1 info), 2026-12-07 08:01:36 UTC",
      "🔴 08:01:36 ERROR nginx: \\[emerg\\] bind\\(\\) to 0.0.0.0:80 failed \\(98: Address already in use\\)",
      "08:01:36 INFO systemd: nginx.service: Main process exited, code=exited, status=1/FAILURE",
    ].join("\n"),
  );
  // Fluent Bit before 3.0.4 sent the same NDJSON labelled application/json.
  const old = await post(fixture("fluentbit_json_lines.ndjson"), "application/json", {
    headers: FLUENT_BIT,
  });
  assert.equal(old.message.text, r.message.text);
});

Deno.test("Fluent Bit json_stream (objects with nothing between, as application/json): records without a message show as JSON", async () => {
  const r = await post(fixture("fluentbit_json_stream.json"), "application/json", {
    headers: FLUENT_BIT,
  });
  assert.equal(
    r.message.text,
    [
      "**Fluent Bit: 2 log records**, 2026-12-07 08:01:36 to 08:01:37 UTC",
      '08:01:36 {"cpu\\_p":87.5,"user\\_p":80.25,"system\\_p":7.25,"cpu0.p\\_cpu":91,"cpu1.p\\_cpu":84}',
      '08:01:37 {"cpu\\_p":12,"user\\_p":9.5,"system\\_p":2.5,"cpu0.p\\_cpu":14,"cpu1.p\\_cpu":10}',
    ].join("\n"),
  );
});

Deno.test("Vector's http sink: codec json (an array) and newline_delimited framing", async () => {
  const array = await post(fixture("vector_json.json"), "application/json", { headers: VECTOR });
  assert.equal(
    array.message.text,
    [
      "**Vector: 2 log records** (1 error), 2026-12-07 08:01:36 to 08:01:37 UTC",
      "08:01:36 web-1: GET /healthz 200 1.2ms",
      // A multi-line message (a stack trace) shows its first line and how many follow.
      "🔴 08:01:37 ERROR web-1: POST /api/orders 500 42ms: Traceback \\(most recent call last\\): (+3 lines)",
    ].join("\n"),
  );
  const lines = await post(fixture("vector_ndjson.ndjson"), "application/x-ndjson", {
    headers: VECTOR,
  });
  assert.equal(
    lines.message.text,
    [
      "**Vector: 2 log records** (1 warning), 2026-12-07 08:01:36 to 08:01:39 UTC",
      "08:01:36 web-5d8c7f-abcde: listening on :8080",
      '🟡 08:01:39 web-5d8c7f-abcde: level=warning msg="slow request" path=/search ms=2300',
    ].join("\n"),
  );
});

Deno.test("a batch sent to the Mattermost-style /hooks/<token> is still read as logs", async () => {
  const r = await post(fixture("vector_ndjson.ndjson"), "application/x-ndjson", {
    route: "hooks",
    headers: VECTOR,
  });
  assert.equal(r.format, "logs");
  assert.match(r.message.text, /^\*\*Vector: 2 log records\*\*/);
});

Deno.test("NDJSON's other labels are read; a sender the bot does not know is not named", async () => {
  const body = '{"message":"one","level":"info"}\n{"message":"two","level":"debug"}\n';
  for (const type of ["application/ndjson", "application/jsonl", "application/x-jsonlines"]) {
    const r = await post(body, type);
    assert.equal(r.format, "logs", type);
    assert.match(r.message.text, /^\*\*2 log records\*\* \(1 info, 1 debug\)\n/);
  }
});

Deno.test("a batch over the cap: one message, errors and warnings first, the rest counted", async () => {
  const records = Array.from({ length: 300 }, (_, i) => ({
    date: 1796630496 + i,
    level: i === 150 || i === 299 ? "error" : i === 200 ? "warning" : "info",
    message: `event ${i}`,
  }));
  const r = await post(JSON.stringify(records), "application/json", { headers: FLUENT_BIT });
  const lines = r.message.text.split("\n");
  assert.equal(
    lines[0],
    "**Fluent Bit: 300 log records** (2 errors, 1 warning, 297 info), 2026-12-07 08:01:36 to 08:06:35 UTC",
  );
  const shown = lines.slice(1, -1);
  assert.equal(shown.length, MAX_LOG_LINES);
  // The errors and the warning are there, in their order among the first records.
  assert.ok(shown.some((l) => l.endsWith("event 150")), "the first error");
  assert.ok(shown.some((l) => l.endsWith("event 200")), "the warning");
  assert.ok(shown.at(-1)!.endsWith("event 299"), "the last error, last");
  assert.ok(shown[0]!.endsWith("event 0"), "then the first records");
  assert.equal(
    lines.at(-1),
    "… 280 more records not shown (300 in all; errors and warnings are shown first).",
  );
  assert.ok(r.message.text.length <= MAX_LOG_TEXT);
});

Deno.test("long records are cut to fit one message; the count says how many were left out", async () => {
  const records = Array.from({ length: 15 }, (_, i) => ({ log: `${i} ${"x".repeat(2000)}` }));
  const r = await post(JSON.stringify(records), "application/json");
  const lines = r.message.text.split("\n");
  assert.ok(r.message.text.length <= MAX_LOG_TEXT, `${r.message.text.length}`);
  const shown = lines.length - 2;
  assert.ok(shown >= 5 && shown < 15, `${shown} lines`);
  assert.ok(lines[1]!.length < 320, "a line is cut to about 300 characters");
  assert.equal(lines.at(-1), `… ${15 - shown} more records not shown (15 in all).`);
});

Deno.test("times in every json_date_format, epoch units and ISO forms are read; numbers that are no date are not", async () => {
  const at = (date: unknown) =>
    post(JSON.stringify([{ date, log: "x" }]), "application/json").then((r) =>
      r.message.text.split("\n")[0]
    );
  const expected = "**1 log record**, 2026-12-07 08:01:36 UTC";
  for (
    const date of [
      1796630496.5, // double
      1796630496, // epoch
      1796630496500, // ms
      "1796630496500000", // journald µs
      1796630496500000000, // ns
      "2026-12-07T08:01:36.500000Z", // iso8601
      "2026-12-07 08:01:36.500000", // java_sql_timestamp (UTC)
      "2026-12-07T11:01:36.5+03:00",
    ]
  ) {
    assert.equal(await at(date), expected, String(date));
  }
  assert.equal(await at(42), "**1 log record**");
  assert.equal(await at("yesterday-ish"), "**1 log record**");
});

Deno.test("?format=logs reads one JSON object as one record and a text body line by line", async () => {
  const one = await post(
    '{"message":"disk full","level":"crit","host":"db-1"}',
    "application/json",
    {
      format: "logs",
    },
  );
  assert.equal(one.message.text, "**1 log record** (1 error)\n🔴 CRIT db-1: disk full");
  const text = await post("backup started\nERROR backup failed: disk full\n", "text/plain", {
    format: "logs",
  });
  assert.equal(
    text.message.text,
    "**2 log records** (1 error)\nbackup started\n🔴 ERROR backup failed: disk full",
  );
});

Deno.test("bad batches are clear 4xx: empty, broken NDJSON; one broken object keeps its own error", async () => {
  const empty = await refused(post("[]", "application/json"));
  assert.equal(empty.code, "empty_payload");
  const garbage = await refused(post('{"a":1}\nnot json\n', "application/x-ndjson"));
  assert.equal(garbage.code, "invalid_json");
  assert.match(garbage.message, /position 8 \(line 2 column 1\)/);
  // NUL bytes are no whitespace: not an empty batch but a body that is not JSON.
  const zeros = await refused(post(new Uint8Array(64), "application/x-ndjson"));
  assert.equal(zeros.code, "invalid_json");
  const line = await refused(post('{"a":1}\n{"b":}\n', "application/x-ndjson"));
  assert.equal(line.code, "invalid_json");
  assert.match(line.message, /^Record 2 of the NDJSON body is not valid JSON/);
  // One object with a defect is not a stream: its error points at the defect, as before.
  const broken = await refused(post('{"text":"hi",}', "application/json"));
  assert.equal(broken.code, "invalid_json");
  assert.match(broken.message, /^The body is not valid JSON/);
  // A JSON scalar is still not a payload.
  assert.equal((await refused(post("42", "application/json"))).code, "invalid_payload");
});

Deno.test("a batch forced to any other format is a 400 naming ?format=logs, never a 500", async () => {
  for (const name of formatNames()) {
    if (name === "logs") continue;
    const error = await refused(post('[{"text":"hi"}]', "application/json", { format: name }));
    assert.equal(error.status, 400, `${name}: ${error.code} ${error.message}`);
  }
  const slack = await refused(post('[{"text":"hi"}]', "application/json", { format: "slack" }));
  assert.match(slack.message, /\?format=logs/);
});

Deno.test("100,000 records: counted, not all rendered, no stack overflow", async () => {
  const records = Array.from({ length: 100_000 }, (_, i) => ({ date: 1796630496 + i, log: "ok" }));
  const r = await post(JSON.stringify(records), "application/json");
  assert.match(
    r.message.text,
    /^\*\*100,000 log records\*\*, 2026-12-07 08:01:36 to 2026-12-08 11:48:15 UTC\n/,
  );
  assert.match(r.message.text, /\n… 99,980 more records not shown \(100,000 in all\)\.$/);
});

Deno.test("through the whole bot: Fluent Bit's array and Vector's gzip NDJSON each post one message and get 200", async () => {
  await withEndpoint({}, async (h) => {
    const token = await h.hook();
    const port = await h.listen();
    const url = `http://127.0.0.1:${port}/hook/${token}`;
    // What Fluent Bit's http output sends with `format json` (flb_http_client: POST, these
    // headers; `json_date_key date`).
    const fluent = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": "Fluent-Bit" },
      body: fixture("fluentbit_json.json") as BufferSource,
    });
    const answer = await fluent.json();
    const chat = h.fake.messagesIn(CHAT_ID);
    assert.equal(fluent.status, 200, JSON.stringify(answer));
    assert.deepEqual(answer, { ok: true, messages: [chat.at(-1)!.messageId] });
    assert.equal(chat.length, 1);
    assert.match(chat[0]!.text ?? "", /^\*\*Fluent Bit: 3 log records\*\* \(1 error, 1 warning/);

    // Vector with `compression = "gzip"` and `framing.method = "newline_delimited"`.
    const gzip = new Response(
      new Blob([fixture("vector_ndjson.ndjson") as BufferSource]).stream()
        .pipeThrough(new CompressionStream("gzip")),
    );
    const vector = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/x-ndjson",
        "content-encoding": "gzip",
        "user-agent": VECTOR["user-agent"],
      },
      body: await gzip.arrayBuffer(),
    });
    assert.equal(vector.status, 200, await vector.clone().text());
    assert.equal((await vector.json()).messages.length, 1);
    assert.match(h.fake.messagesIn(CHAT_ID).at(-1)!.text ?? "", /^\*\*Vector: 2 log records\*\*/);
  });
});

Deno.test("Logstash's default http output (format json: one event per request) is one record, not a JSON dump", async () => {
  // logstash-output-http: `format => "json"` (the default) posts each event as a JSON object,
  // through Manticore; the event as Logstash 8 shapes it with ECS fields.
  const event = {
    "@timestamp": "2026-12-07T08:01:36.123Z",
    "@version": "1",
    message: "Dec  7 08:01:36 web-1 sshd[123]: Failed password for root from 203.0.113.9",
    host: { name: "web-1" },
    log: { file: { path: "/var/log/auth.log" } },
    event: { original: "Dec  7 08:01:36 web-1 sshd[123]: Failed password" },
  };
  const r = await post(JSON.stringify(event), "application/json", {
    headers: { "user-agent": "Manticore 0.9.1" },
  });
  assert.equal(r.format, "logs");
  assert.equal(r.fallback, undefined);
  assert.equal(
    r.message.text,
    "**Logstash: 1 log record**, 2026-12-07 08:01:36 UTC\n" +
      "08:01:36 web-1: Dec 7 08:01:36 web-1 sshd\\[123\\]: Failed password for root from 203.0.113.9",
  );
});

Deno.test("a record that cannot be made JSON (a cycle, which only a caller's value can hold) is a line saying so, not a crash", () => {
  const record: Record<string, unknown> = { cpu_p: 1 };
  record.self = record;
  const r = logsFormat.parse({
    body: { kind: "records", records: [record, [record]], framing: "array" },
    headers: new Map(),
  });
  assert.equal(
    r.message.text,
    "**2 log records**\n\\(a record that cannot be shown as JSON\\)\n\\(a record that cannot be shown as JSON\\)",
  );
});

// A record whose level field and message both say it (`{"level":"error","log":"ERROR db
// timeout"}`, common with apps that print their own level) read "ERROR ERROR db timeout".
Deno.test("a level the message already starts with is not repeated", async () => {
  const r = await post(
    JSON.stringify([
      { date: 1765152001.5, log: "ERROR db timeout after 30s", level: "error" },
      { date: 1765152002, log: "[warn] disk 91%", level: "warn" },
      { date: 1765152003, log: "errors: none", level: "info" },
    ]),
    "application/json",
    { headers: FLUENT_BIT },
  );
  const lines = r.message.text.split("\n");
  assert.equal(lines[1], "🔴 00:00:01 ERROR db timeout after 30s");
  assert.equal(lines[2], "🟡 00:00:02 \\[warn\\] disk 91%");
  assert.equal(lines[3], "00:00:03 INFO errors: none");
});
