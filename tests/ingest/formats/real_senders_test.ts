/**
 * Requests captured from real senders (Debian bookworm packages: Apprise 1.2.0, Alertmanager
 * 0.25.0, curl 7.88.1) by `scripts/interop/recorder.ts`, replayed through the same
 * decodeBody → detectFormat path the endpoint uses, with the captured Content-Type and path.
 * These pin what those senders' users see in the chat; docs/interop.md says how each capture
 * was made. No real sender runs here.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { DetectedPayload } from "../../../src/ingest/formats/detect.ts";
import { capture, post, replay } from "./_request.ts";

function files(p: DetectedPayload) {
  return p.message.attachments.map((a) => ({
    kind: a.kind,
    filename: a.filename,
    mimeType: a.mimeType,
    size: a.source.type === "bytes" ? a.source.bytes.length : -1,
  }));
}

Deno.test("real Apprise 1.2.0 mmost:// → /hooks/<token>: Mattermost, answered ok, title and body", async () => {
  const p = await replay("apprise-1.2.0_mmost");
  assert.equal(capture("apprise-1.2.0_mmost").path, "/hooks/tok123");
  assert.equal(p.format, "mattermost");
  assert.equal(p.reply, "slack_ok");
  assert.equal(p.message.parseMode, "markdown");
  // Apprise folds the title into text with \r\n; no stray \r may reach the chat.
  assert.equal(p.message.text, "**Apprise**: Title\nBody");
});

Deno.test("real Apprise 1.2.0 mmost:// without a title, ?channel= is ignored", async () => {
  const p = await replay("apprise-1.2.0_mmost_channel_no_title");
  assert.equal(p.format, "mattermost");
  assert.equal(p.reply, "slack_ok");
  assert.equal(p.message.text, "**Apprise**: Only body");
});

Deno.test("real Apprise 1.2.0 json://: title bold, type emoji", async () => {
  const p = await replay("apprise-1.2.0_json");
  assert.equal(p.format, "apprise");
  assert.equal(p.reply, "json");
  assert.equal(p.message.text, "ℹ️ **Title**\nBody");
  assert.deepEqual(p.message.attachments, []);
});

Deno.test("real Apprise 1.2.0 json:// --attach png --attach txt: a photo and a document", async () => {
  const p = await replay("apprise-1.2.0_json_attach");
  assert.equal(p.format, "apprise");
  assert.equal(p.message.text, "ℹ️ **Title**\nBody");
  assert.deepEqual(files(p), [
    { kind: "photo", filename: "red.png", mimeType: "image/png", size: 75 },
    { kind: "document", filename: "note.txt", mimeType: "text/plain", size: 30 },
  ]);
  const [photo] = p.message.attachments;
  assert.ok(photo?.source.type === "bytes");
  assert.deepEqual([...photo.source.bytes.slice(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
});

Deno.test("real Apprise 1.2.0 json:// -n failure -i markdown: Markdown is sent raw and shown literally", async () => {
  // The JSON body does not say the message is Markdown, so it is escaped (docs/interop.md).
  const p = await replay("apprise-1.2.0_json_markdown_failure");
  assert.equal(p.format, "apprise");
  assert.equal(
    p.message.text,
    "❌ **Deploy \\*\\*failed\\*\\***\nSee \\*logs\\*: \\[link\\]\\(https://example.com/x\\)\n- one\n- two",
  );
});

Deno.test("real Apprise 1.2.0 form://: urlencoded version/title/message/type", async () => {
  const p = await replay("apprise-1.2.0_form");
  assert.equal(
    capture("apprise-1.2.0_form").headers["content-type"],
    "application/x-www-form-urlencoded",
  );
  assert.equal(p.format, "apprise");
  assert.equal(p.message.text, "ℹ️ **Title**\nBody");
  const w = await replay("apprise-1.2.0_form_warning");
  assert.equal(w.message.text, "⚠️ **Form warn**\nBody line 1\nline 2");
});

Deno.test("real Apprise 1.2.0 xml://: the SOAP notification renders like json://", async () => {
  const x = await replay("apprise-1.2.0_xml");
  assert.equal(x.format, "apprise");
  assert.equal(x.reply, "json");
  assert.equal(x.message.text, "ℹ️ **Title**\nBody");
});

Deno.test("Apprise xml:// escapes, types and base64 attachments (apprise/plugins/custom_xml.py)", async () => {
  const xml = `<?xml version='1.0' encoding='utf-8'?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">
    <soapenv:Body>
        <Notification xmlns:xsi="https://raw.githubusercontent.com/caronc/apprise/master/apprise/assets/NotifyXML-1.1.xsd">
            <Version>1.1</Version><Subject>Disk &lt;90%&gt; &amp; rising</Subject><MessageType>warning</MessageType><Message>line 1
line 2 &quot;quoted&quot; &#39;single&#39;</Message>
            <Attachments format="base64"><Attachment filename="r&amp;d.txt" mimetype="text/plain">aGVsbG8=</Attachment></Attachments>
       </Notification>
    </soapenv:Body>
</soapenv:Envelope>`;
  const x = await post(xml, "application/xml");
  assert.equal(x.format, "apprise");
  assert.equal(x.message.text, "⚠️ **Disk <90%> & rising**\nline 1\nline 2 \"quoted\" 'single'");
  assert.deepEqual(
    x.message.attachments.map((a) => [a.kind, a.filename, a.mimeType]),
    [["document", "r&d.txt", "text/plain"]],
  );
  // Other XML is text like any text/plain body: posted as sent rather than refused.
  const other = await post("<build><status>ok</status></build>", "text/xml; charset=utf-8");
  assert.equal(other.format, "native");
  assert.equal(other.message.text, "<build><status>ok</status></build>");
});

Deno.test("real Alertmanager 0.25.0 webhook_configs: firing and resolved", async () => {
  const firing = await replay("alertmanager-0.25.0_webhook_firing");
  assert.equal(firing.format, "alertmanager");
  assert.equal(firing.reply, "json");
  assert.equal(firing.fallback, undefined);
  const lines = firing.message.text.split("\n");
  assert.equal(lines[0], "🔥 **[FIRING:1] DiskFull**");
  assert.ok(lines.includes("Summary: Disk / is 97% full on db1"));
  assert.ok(lines.includes("Only 1.2 GiB left on /dev/sda1."));
  assert.match(firing.message.text, /\[Runbook\]\(https:\/\/runbooks\.example\.com\/disk\)/);
  assert.match(firing.message.text, /\[Silence\]\(http:\/\/vm:19093\/#\/silences\/new\?filter=/);

  const resolved = await replay("alertmanager-0.25.0_webhook_resolved");
  assert.equal(resolved.format, "alertmanager");
  assert.equal(resolved.message.text.split("\n")[0], "✅ **[RESOLVED:1] DiskFull**");
  assert.match(resolved.message.text, /Resolved 2026-11-25 05:50:55 UTC \(lasted 1m 1s\)/);
});

Deno.test("real Alertmanager 0.25.0 slack_configs: attachments-only body, answered ok", async () => {
  const firing = await replay("alertmanager-0.25.0_slack_firing");
  assert.equal(firing.format, "slack");
  assert.equal(firing.reply, "slack_ok");
  assert.equal(
    firing.message.text,
    "🔴 **[\\[FIRING:1\\] DiskFull (db1:9100 critical)](http://vm:19093/#/alerts?receiver=slack)**",
  );
  const resolved = await replay("alertmanager-0.25.0_slack_resolved");
  assert.equal(resolved.reply, "slack_ok");
  assert.equal(
    resolved.message.text,
    "🟢 **[\\[RESOLVED\\] DiskFull (db1:9100 critical)](http://vm:19093/#/alerts?receiver=slack)**",
  );
});

Deno.test("real curl 7.88.1: README examples", async () => {
  const multipart = await replay("curl-7.88.1_multipart_image_file");
  assert.equal(multipart.format, "native");
  assert.equal(multipart.message.text, "Nightly report");
  assert.deepEqual(files(multipart), [
    { kind: "photo", filename: "chart.png", mimeType: "image/png", size: 75 },
    { kind: "document", filename: "report.txt", mimeType: "text/plain", size: 12 },
  ]);

  const slackForm = await replay("curl-7.88.1_slack_payload_form");
  assert.equal(slackForm.format, "slack");
  assert.equal(slackForm.reply, "slack_ok");
  assert.equal(slackForm.message.text, "hello from a Slack tool");

  const jsonAsForm = await replay("curl-7.88.1_json_as_form");
  assert.equal(
    capture("curl-7.88.1_json_as_form").headers["content-type"],
    "application/x-www-form-urlencoded",
  );
  assert.equal(jsonAsForm.format, "native");
  assert.equal(jsonAsForm.message.text, "hi from curl -d without a content type");

  // `--data-binary @message.txt`: the file's final line break is not posted as an empty line.
  const plain = await replay("curl-7.88.1_text_plain");
  assert.equal(plain.format, "native");
  assert.equal(plain.message.parseMode, "text");
  assert.equal(plain.message.text, "Line one of message.txt\nLine two");
});
