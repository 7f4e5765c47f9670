#!/usr/bin/env bash
# Drives a real Alertmanager (Debian's prometheus-alertmanager, 0.25) at a hook URL:
# one receiver with webhook_configs, one with slack_configs (api_url = the hook), both with
# send_resolved. Posts a firing alert, then resolves it, and prints Alertmanager's notify log
# lines. Everything stays on 127.0.0.1.
#
#   scripts/interop/alertmanager.sh http://127.0.0.1:8080/hook/<token> [am-port]
#
# Needs: prometheus-alertmanager, amtool is not needed (the v2 API is driven with curl).
set -euo pipefail
HOOK_URL=${1:?usage: alertmanager.sh <hook url> [alertmanager port]}
AM_PORT=${2:-19093}
AM_BIN=$(command -v alertmanager || command -v prometheus-alertmanager)
WORK=$(mktemp -d /tmp/interop-am.XXXXXX)
cat >"$WORK/alertmanager.yml" <<YML
route:
  receiver: webhook
  group_by: [alertname]
  group_wait: 1s
  group_interval: 3s
  repeat_interval: 1h
  routes:
    - receiver: webhook
      continue: true
    - receiver: slack
receivers:
  - name: webhook
    webhook_configs:
      - url: $HOOK_URL
        send_resolved: true
  - name: slack
    slack_configs:
      - api_url: $HOOK_URL
        channel: '#ops'
        send_resolved: true
YML
"$AM_BIN" --config.file="$WORK/alertmanager.yml" --storage.path="$WORK/data" \
  --web.listen-address="127.0.0.1:$AM_PORT" --cluster.listen-address="" \
  --log.level=debug >"$WORK/alertmanager.log" 2>&1 &
AM_PID=$!
trap 'kill $AM_PID 2>/dev/null || true; echo "config and log kept in $WORK"' EXIT
for _ in $(seq 50); do
  curl -fsS "http://127.0.0.1:$AM_PORT/-/ready" >/dev/null 2>&1 && break
  sleep 0.2
done
alert() { # $1 = endsAt (RFC3339) or empty for firing
  local ends=""
  [ -n "$1" ] && ends=",\"endsAt\":\"$1\""
  curl -sS -o /dev/null -w "POST /api/v2/alerts → %{http_code}\n" -XPOST \
    -H 'Content-Type: application/json' "http://127.0.0.1:$AM_PORT/api/v2/alerts" -d "[{
      \"labels\":{\"alertname\":\"DiskFull\",\"severity\":\"critical\",\"instance\":\"db1:9100\"},
      \"annotations\":{\"summary\":\"Disk / is 97% full on db1\",\"description\":\"Only 1.2 GiB left on /dev/sda1.\",\"runbook_url\":\"https://runbooks.example.com/disk\"},
      \"generatorURL\":\"http://prometheus.local:9090/graph?g0.expr=disk_used%3E0.95\",
      \"startsAt\":\"$STARTS\"$ends}]"
}
STARTS=$(date -u -d '-1 min' +%Y-%m-%dT%H:%M:%SZ)
echo "firing…"
alert ""
sleep 6
echo "resolving…"
alert "$(date -u -d '-5 sec' +%Y-%m-%dT%H:%M:%SZ)"
sleep 8
echo "--- alertmanager notify log lines:"
grep -iE 'notif|error|warn' "$WORK/alertmanager.log" | grep -v 'level=debug component=dispatcher msg="Received alert"' || true
if grep -qiE 'level=(error|warn).*notif' "$WORK/alertmanager.log"; then
  echo "NOTIFY ERRORS: yes"
  exit 1
fi
echo "NOTIFY ERRORS: none"
