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

// Ansible 7.7.0 (ansible-core 2.14, community.general 6.x): playbook tasks run by
// scripts/interop/ansible.sh against the recorder (UA `ansible-httpget`; the Slack callback
// plugin's `Python-urllib`). docs/interop.md has what each module reported against the bot.

Deno.test("real Ansible mattermost module → /hooks/<api_key>: username prefix, Slack emoji, attachments", async () => {
  const text = await replay("ansible-7.7.0_mattermost");
  assert.equal(capture("ansible-7.7.0_mattermost").path, "/hooks/tok123");
  assert.equal(text.format, "mattermost");
  assert.equal(text.reply, "slack_ok");
  assert.equal(
    text.message.text,
    "**Ansible**: Deploy of **api** finished on `web1` ✅ [logs](https://ci.example.com/42)",
  );
  const att = await replay("ansible-7.7.0_mattermost_attachments");
  assert.equal(
    att.message.text,
    "**Ansible on web1**\n\n🟣 **System load**\nDisplay my system load on host A and B\n" +
      "**System A**: load average: 0,74, 0,66, 0,63\n**System B**: load average: 5,16, 4,64, 2,43",
  );
});

Deno.test("real Ansible rocketchat module: payload= form, colour as an attachment", async () => {
  assert.equal(capture("ansible-7.7.0_rocketchat").path, "/hooks/ansible/tok123");
  const text = await replay("ansible-7.7.0_rocketchat");
  assert.equal(text.reply, "slack_ok");
  assert.equal(text.message.text, "**Ansible**: Deploy of *api* finished on web1");
  const danger = await replay("ansible-7.7.0_rocketchat_danger");
  assert.equal(danger.message.text, "**Ansible**\n\n🔴 Deploy of api FAILED on web1");
});

Deno.test("real Ansible rocketchat/bearychat modules send payload=<JSON> unencoded: %, + and & stay as written", async () => {
  // `"payload=" + module.jsonify(payload)`: nothing is percent-encoded, so a form parser
  // would split the JSON at "&", turn "+" into spaces and "%41" into "A".
  const chars = await replay("ansible-7.7.0_rocketchat_special_chars");
  assert.equal(chars.format, "mattermost");
  assert.equal(chars.message.text, "**Ansible**: Disk /var 93% full & rising: c++ build %41 ✅");
  const beary = await replay("ansible-7.7.0_bearychat");
  assert.equal(beary.format, "slack");
  assert.equal(beary.message.text, "Deploy of **api** finished\n\n🟢 **web1**\nok=12 changed=3");
});

Deno.test("real Ansible office_365_connector_card: the card title's Markdown is rendered, not shown as asterisks", async () => {
  const card = await replay("ansible-7.7.0_office_365_connector_card");
  assert.equal(card.format, "teams");
  assert.equal(card.reply, "teams_connector");
  assert.equal(
    card.message.text,
    "🟢 Deploy of **api** finished\nVersion **1.4.2** is live on web1 and web2.\n\n" +
      "**Hosts**\n**Ansible**\nplaybook site.yml\n**web1**: ok=12 changed=3\n**web2**: ok=12 changed=0\n\n" +
      "[Open the job](https://ci.example.com/42)",
  );
});

Deno.test("real Ansible uri module: the README's native JSON and form bodies", async () => {
  const json = await replay("ansible-7.7.0_uri_json");
  assert.equal(json.format, "native");
  assert.equal(json.message.parseMode, "markdown");
  assert.equal(
    json.message.text,
    "**Deploy of api** finished on web1 ✅ [logs](https://ci.example.com/42)",
  );
  const form = await replay("ansible-7.7.0_uri_form");
  assert.equal(form.format, "native");
  assert.equal(form.message.text, "Deploy finished on web1");
});

Deno.test("real Ansible slack module (legacy domain + token URL) and Slack callback plugin", async () => {
  assert.equal(
    capture("ansible-7.7.0_slack_legacy").path,
    "/services/hooks/incoming-webhook?token=tok123",
  );
  const plain = await replay("ansible-7.7.0_slack_legacy", "slack");
  assert.equal(plain.reply, "slack_ok");
  assert.equal(plain.message.text, "Deploy of **api** finished & ok");
  const color = await replay("ansible-7.7.0_slack_legacy_color", "slack");
  assert.equal(
    color.message.text,
    "🟢 Deploy of **api** finished on [web1](https://ci.example.com/42)",
  );

  const start = await replay("ansible-7.7.0_callback_slack_start");
  assert.equal(start.format, "slack");
  assert.equal(start.message.text, "🟡 **Playbook initiated** (_262da2_) \n\n**cb.yml**");
  const play = await replay("ansible-7.7.0_callback_slack_play");
  assert.equal(play.message.text, "🟡 **Starting play** (_262da2_)\n\n**Deploy api**");
  const stats = await replay("ansible-7.7.0_callback_slack_stats");
  const lines = stats.message.text.split("\n");
  assert.deepEqual(lines.slice(0, 4), [
    "🟢 **Playbook Complete** (_262da2_)",
    "",
    "**Success!**",
    "```",
  ]);
  assert.ok(
    lines.includes("| localhost | 2  |    2    |      0      |    0     |    0    |    1    |"),
  );
  assert.equal(lines.at(-1), "```");
});

// Netdata 1.37.1's alarm-notify.sh, run by scripts/interop/netdata.sh: `alarm-notify.sh test`
// and a disk-space alarm with the daemon's arguments, one notification method at a time.

const NETDATA_GOTO =
  "http://db1.example.com:19999/goto-host-from-alarm.html?host=db1&chart=disk_space._&family=%2f&alarm=disk_space_usage&alarm_unique_id=101&alarm_id=7&alarm_event_id=2&alarm_when=";

Deno.test("real Netdata Slack, Mattermost (/hooks/), Discord (<hook>/slack) and Rocket.Chat methods: alarm, link, severity", async () => {
  const slack = await replay("netdata-1.37.1_slack_disk_critical");
  assert.equal(slack.format, "slack");
  assert.equal(slack.reply, "slack_ok");
  const lines = slack.message.text.split("\n");
  assert.equal(lines[0], "db1 is critical, `disk_space._` (_/_), **disk space usage = 97.3%**");
  assert.ok(
    lines[2]?.startsWith(`🔴 **[disk space usage = 97.3%](${NETDATA_GOTO}`),
    String(lines[2]),
  );
  assert.equal(lines[3], "current disk space usage of / (97% is critical)");
  // The status icon in thumb_url (alert-128-red.png) repeats the 🔴: no photo after each alarm,
  // and no failed part where the bot cannot reach registry.my-netdata.io.
  assert.deepEqual(slack.message.attachments, []);

  const warning = await replay("netdata-1.37.1_slack_test_warning");
  assert.match(
    warning.message.text,
    /^vm needs attention, .*\n\n🟡 \*\*\[test alarm = new value\]/,
  );

  const mattermost = await replay("netdata-1.37.1_mattermost_test_critical");
  assert.equal(mattermost.format, "mattermost");
  assert.match(mattermost.message.text, /^\*\*netdata on vm\*\*: vm is critical, /);

  assert.equal(capture("netdata-1.37.1_discord_disk_critical").path, "/hook/tok123/slack");
  const discord = await replay("netdata-1.37.1_discord_disk_critical", "slack");
  assert.equal(discord.reply, "slack_ok");
  assert.match(discord.message.text, /\n🔴 \*\*\[disk space usage = 97\.3%\]\(/);

  const rocket = await replay("netdata-1.37.1_rocketchat_disk_critical");
  assert.equal(rocket.reply, "slack_ok");
  assert.match(rocket.message.text, /\n🔴 \*\*\[disk space usage = 97\.3%\]\(/);
  for (const r of [warning, mattermost, discord, rocket]) {
    assert.deepEqual(r.message.attachments, []);
  }
});

Deno.test("real Netdata MS Teams method: Netdata's own status icon, no second colour emoji", async () => {
  const warning = await replay("netdata-1.37.1_msteams_test_warning");
  assert.equal(warning.format, "teams");
  assert.equal(warning.reply, "teams_connector");
  assert.equal(warning.message.text.split("\n")[0], "**⚠️ Alert WARNING from netdata for vm**");
  const critical = await replay("netdata-1.37.1_msteams_disk_critical");
  const lines = critical.message.text.split("\n");
  assert.equal(lines[0], "**🔥 Alert CRITICAL from netdata for db1**");
  assert.equal(lines[1], "db1 is critical, disk_space._ (_/_), *disk space usage = 97.3%*");
  assert.ok(lines[3]?.startsWith(`[Netdata](${NETDATA_GOTO}`), String(lines[3]));
});

Deno.test("real Netdata Google Chat (hangouts) method: a <b> section header is bold once, not ****", async () => {
  const chat = await replay("netdata-1.37.1_hangouts_disk_critical");
  assert.equal(chat.format, "googlechat");
  const lines = chat.message.text.split("\n");
  assert.deepEqual(lines.slice(0, 3), ["**Netdata on db1**", "", "**db1**"]);
  assert.ok(lines[3]?.startsWith(`**Status Message**: [**is critical**](${NETDATA_GOTO}`));
  assert.equal(lines[4], "**disk\\_space.\\_ | /**: disk space usage = 97.3%");
  assert.match(chat.message.text, /\n\[Go to db1\]\(http:\/\/db1\.example\.com:19999\//);
});

Deno.test("real Netdata Flock method: the attachment's url links its title", async () => {
  // Flock's attachments carry the link in `url` (Slack's have `title_link`); Netdata puts
  // the dashboard link there.
  const flock = await replay("netdata-1.37.1_flock_disk_critical");
  assert.equal(flock.format, "slack");
  const lines = flock.message.text.split("\n");
  assert.equal(lines[0], "db1 **is critical**");
  assert.ok(
    lines[2]?.startsWith(`🔴 **[disk space usage = 97.3%](${NETDATA_GOTO}`),
    String(lines[2]),
  );
});

Deno.test("real Netdata Gotify method and a custom_sender posting form-encoded Markdown", async () => {
  assert.equal(capture("netdata-1.37.1_gotify_disk_critical").path, "/message?token=tok123");
  const critical = await replay("netdata-1.37.1_gotify_disk_critical", "gotify");
  assert.equal(critical.reply, "gotify");
  assert.equal(
    critical.message.text,
    "🚨 **CRITICAL, disk\\_space\\_usage = 97.3%, on db1**\nMon Dec  7 10:48:02 UTC 2026: disk\\_space.\\_ 97.3%",
  );
  const warning = await replay("netdata-1.37.1_gotify_test_warning", "gotify");
  assert.match(warning.message.text, /^\*\*WARNING, test\\_alarm = new value, on vm\*\*\n/);

  const custom = await replay("netdata-1.37.1_custom_disk_critical");
  assert.equal(custom.format, "native");
  assert.equal(custom.message.parseMode, "markdown");
  assert.ok(
    custom.message.text.startsWith(
      "**db1 is critical**: disk space usage = 97.3% (alarm is raised for 10 minutes)\n" +
        `current disk space usage of / (97% is critical) ([dashboard](${NETDATA_GOTO}`,
    ),
  );
});
