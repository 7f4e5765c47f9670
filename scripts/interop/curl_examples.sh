#!/usr/bin/env bash
# Runs the curl examples from README.md and docs/formats.md against a hook URL and prints the
# HTTP status and response body each one got. Files are made in a temp dir (a tiny PNG and a
# text file). The README's "images by URL" example is left out: ci.example.com does not resolve
# here, and URL attachments are covered by the e2e tests.
#
#   scripts/interop/curl_examples.sh http://127.0.0.1:8080/hook/<token>
set -uo pipefail
HOOK=${1:?usage: curl_examples.sh <hook url>}
DIR=$(mktemp -d /tmp/interop-curl.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
cd "$DIR"
printf 'Line one of message.txt\nLine two\n' >message.txt
printf 'report body\n' >report.txt
# 8×8 red PNG
printf '%s' 'iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAEklEQVR4nGP4z8CAFWEXHbQSACj/P8Fu7N9hAAAAAElFTkSuQmCC' |
  base64 -d >chart.png
run() { # $1 = label, rest = curl args
  local label=$1
  shift
  local out
  out=$(curl -sS -w '\n%{http_code}' "$@")
  printf '%-28s %s  %s\n' "$label" "${out##*$'\n'}" "$(printf '%s' "${out%$'\n'*}" | tr -d '\n' | cut -c1-160)"
  sleep 0.3
}
run "form text=" -d text='Deploy finished' "$HOOK"
run "text/plain file" -H 'Content-Type: text/plain' --data-binary @message.txt "$HOOK"
run "json markdown" -H 'Content-Type: application/json' "$HOOK" -d '{
  "text": "**Build #42** passed ✅ [logs](https://ci.example.com/42)",
  "parse_mode": "markdown"
}'
run "json plain" -H 'Content-Type: application/json' -d '{"text":"Hello from curl 👋"}' "$HOOK"
run "json via -d (form CT)" -d '{"text":"hi from curl -d without a content type"}' "$HOOK"
run "multipart image+file" -F text='Nightly report' -F image=@chart.png -F file=@report.txt "$HOOK"
run "multipart file only" -F file=@report.txt "$HOOK"
run "multipart image only" -F image=@chart.png "$HOOK"
run "slack json" -H 'Content-Type: application/json' "$HOOK" \
  -d '{"text":"*Disk* almost full on <https://grafana.example.com|db-1>","attachments":[{"color":"danger","title":"db-1","fields":[{"title":"Used","value":"93%","short":true}]}]}'
run "slack payload= form" --data-urlencode 'payload={"text":"hello from a Slack tool"}' "$HOOK"
run "mattermost /hooks/" -H 'Content-Type: application/json' "${HOOK/\/hook\//\/hooks\/}" \
  -d '{"text":"hello","username":"Jenkins","props":{"card":"Build details"}}'
run "teams messagecard" -H 'Content-Type: application/json' "$HOOK" \
  -d '{"@type":"MessageCard","themeColor":"2EB886","title":"Deploy finished","text":"**api** v1.4.2 is live"}'
run "teams workflows" -H 'Content-Type: application/json' "$HOOK" -d '{"type":"message","attachments":[{"contentType":
  "application/vnd.microsoft.card.adaptive","content":{"type":"AdaptiveCard","body":[{"type":"TextBlock",
  "text":"Deploy finished","weight":"Bolder"},{"type":"FactSet","facts":[{"title":"Version","value":"1.4.2"}]}]}}]}'
run "google chat threadKey" -H 'Content-Type: application/json' "$HOOK?threadKey=deploys" -d '{"text":"Build *#1042* finished"}'
run "github ping" -H 'X-GitHub-Event: ping' -H 'Content-Type: application/json' "$HOOK" \
  -d '{"zen":"Design for failure.","hook_id":1,"hook":{"type":"Repository","events":["push"]}}'
run "gitlab push" -H 'X-Gitlab-Event: Push Hook' -H 'Content-Type: application/json' "$HOOK" -d '{"object_kind":"push",
  "ref":"refs/heads/main","user_name":"Alice","project":{"path_with_namespace":"ops/api",
  "web_url":"https://gitlab.example.com/ops/api"},"commits":[{"id":"a1b2c3d4","message":"Fix login",
  "url":"https://gitlab.example.com/ops/api/-/commit/a1b2c3d4"}],"total_commits_count":1}'
run "grafana unified" -H 'Content-Type: application/json' "$HOOK" -d '{"receiver":"trueconf","status":"firing","orgId":1,
  "title":"[FIRING:1] HighCPU","message":"CPU at 93% on db1","externalURL":"https://grafana.example.com/",
  "alerts":[{"status":"firing","labels":{"alertname":"HighCPU","instance":"db1"},"annotations":{"summary":"CPU at 93%"}}]}'
run "alertmanager resolved" -H 'Content-Type: application/json' "$HOOK" -d '{"version":"4","status":"resolved","receiver":"trueconf",
  "groupKey":"{}:{alertname=\"DiskFull\"}","externalURL":"http://alertmanager:9093","groupLabels":{"alertname":"DiskFull"},
  "commonLabels":{"alertname":"DiskFull"},"commonAnnotations":{},"alerts":[{"status":"resolved",
  "labels":{"alertname":"DiskFull","instance":"db1"},"annotations":{"summary":"/var back to 60%"}}]}'
run "empty body (error)" -X POST "$HOOK"
