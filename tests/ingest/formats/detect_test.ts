import assert from "node:assert/strict";
import { DETECTION_ORDER, jsonCodeBlock } from "../../../src/ingest/formats/detect.ts";
import { fixtureBytes, post, refused } from "./_request.ts";

const JSON_TYPE = "application/json";

Deno.test("detection order is explicit: headers, specific signatures, Mattermost, native, Slack", () => {
  assert.deepEqual(DETECTION_ORDER.map((a) => a.name), [
    "github",
    "gitlab",
    "ntfy",
    "grafana",
    "alertmanager",
    "jenkins",
    "uptimekuma",
    "teams",
    "googlechat",
    "discord",
    "apprise",
    "rocketchat",
    "mattermost",
    "slack",
    "native",
    "slack",
    "logs",
    "gotify",
  ]);
});

Deno.test("each sender's body goes to its adapter", async () => {
  const cases: Array<[string, string]> = [
    ["alertmanager_firing", "alertmanager"],
    ["grafana_firing", "grafana"],
    ["apprise_json", "apprise"],
    ["slack_grafana", "slack"],
    ["slack_blocks_alertmanager", "slack"],
    ["mattermost_card_priority", "mattermost"],
  ];
  for (const [fixture, format] of cases) {
    assert.equal((await post(fixtureBytes(fixture), JSON_TYPE)).format, format, fixture);
  }
  const github = await post(fixtureBytes("github_push"), JSON_TYPE, {
    headers: { "X-GitHub-Event": "push" },
  });
  assert.equal(github.format, "github");
});

Deno.test("native wins for a native-shaped body; a Slack key next to text makes it Slack", async () => {
  assert.equal((await post('{"text":"hi"}', JSON_TYPE)).format, "native");
  assert.equal((await post('{"text":"hi","parse_mode":"markdown"}', JSON_TYPE)).format, "native");
  const slack = await post(
    '{"text":"hi <https://x.io|x>","channel":"#ops","username":"bot"}',
    JSON_TYPE,
  );
  assert.equal(slack.format, "slack");
  assert.equal(slack.message.text, "hi [x](https://x.io)");
});

Deno.test("?format= forces an adapter; an unknown name is refused listing the names", async () => {
  const forced = await post('{"text":"hi"}', JSON_TYPE, { format: "Slack" });
  assert.equal(forced.format, "slack");
  const error = await refused(post('{"text":"hi"}', JSON_TYPE, { format: "skype" }));
  assert.equal(error.code, "unknown_format");
  assert.equal(error.status, 400);
  // Every name once, the new dialects included.
  const listed = error.message.replace(/^.*Use one of: /, "").replace(/\.$/, "").split(", ");
  assert.deepEqual(listed, [...new Set(listed)]);
  for (const name of ["native", "slack", "discord", "teams", "googlechat", "ntfy", "gotify"]) {
    assert.equal(listed.includes(name), true, name);
  }
});

Deno.test("unrecognised JSON is posted as readable pretty-printed text, not dropped", async () => {
  const result = await post('{"event":"backup","ok":false,"host":"nas-1"}', JSON_TYPE);
  assert.equal(result.fallback, "json_code_block");
  // Plain text: TrueConf Markdown has no code fences, and plain text needs no escaping.
  assert.equal(result.message.parseMode, "text");
  assert.equal(
    result.message.text,
    'Received JSON in a format this bot does not recognise:\n{\n  "event": "backup",\n  "ok": false,\n  "host": "nas-1"\n}',
  );
});

Deno.test("a huge unrecognised JSON is truncated with a note and stays small", () => {
  const message = jsonCodeBlock({ blob: "x".repeat(10_000), code: "```" }, 200);
  assert.equal(message.text.includes("… (truncated: 200 of "), true);
  assert.equal([...message.text].length < 400, true);
  // A 20 MB body is cut by index without spreading it into code points.
  const big = jsonCodeBlock({ blob: "😀".repeat(5_000_000) });
  assert.ok(big.text.length < 4000);
  assert.ok(
    !/[\ud800-\udbff]$/.test(big.text.split("\n…")[0]!),
    "no lone high surrogate at the cut",
  );
});

Deno.test("a misspelt native field gets a did-you-mean error instead of silently losing data", async () => {
  const typo = await refused(post('{"txt":"hello"}', JSON_TYPE));
  assert.equal(typo.code, "unknown_field");
  assert.equal(typo.message.startsWith('Unknown field "txt": did you mean "text"?'), true);
  const image = await refused(post('{"text":"x","image_url":"https://x.io/a.png"}', JSON_TYPE));
  assert.equal(image.message.includes('did you mean "images"'), true);
  const camel = await refused(post('{"text":"x","parseMode":"markdown"}', JSON_TYPE));
  assert.equal(camel.message.includes('did you mean "parse_mode"'), true);
});

Deno.test("text with unknown extra keys is posted as native text (extras ignored, like Slack does)", async () => {
  const result = await post('{"text":"Build failed","status":"error","build":17}', JSON_TYPE);
  assert.equal(result.format, "native");
  assert.equal(result.fallback, undefined);
  assert.equal(result.message.text, "Build failed");
});

Deno.test("an empty JSON object is refused with empty_payload, not posted as {}", async () => {
  const error = await refused(post("{}", JSON_TYPE));
  assert.equal(error.code, "empty_payload");
});

Deno.test("deeply nested unrecognised JSON is a 400, never a 500 or a giant pretty-print", async () => {
  // 100 000 nested arrays (200 kB): JSON.stringify overflowed the stack (500 internal_error).
  const deep = `{"a":${"[".repeat(100_000)}${"]".repeat(100_000)}}`;
  const error = await refused(post(deep, JSON_TYPE));
  assert.equal(error.code, "invalid_payload");
  assert.equal(error.status, 400);
  // Moderate depth with many values: pretty-printing would multiply the size by the indent.
  let nested: unknown = new Array(300_000).fill(0);
  for (let i = 0; i < 60; i++) nested = [nested];
  const wide = jsonCodeBlock({ x: nested });
  assert.ok(wide.text.length < 4000);
  // Real payloads of a few levels are still shown.
  const ok = await post('{"a":{"b":{"c":[1,{"d":2}]}}}', JSON_TYPE);
  assert.equal(ok.fallback, "json_code_block");
});
