#!/usr/bin/env bash
# Runs Netdata's own notifier (Debian's netdata 1.37.1: /usr/lib/netdata/plugins.d/alarm-notify.sh)
# at a hook URL, once per notification method that can post to a host of your choice: Slack,
# Mattermost (Netdata's Slack method at <public>/hooks/<token>), Discord (Netdata appends /slack),
# Microsoft Teams, Rocket.Chat, Google Chat ("hangouts"), Flock, Gotify and a `custom_sender`.
# Each gets `alarm-notify.sh test` (WARNING, CRITICAL, CLEAR) and one alarm the way the netdata
# daemon calls the script (all positional arguments; a disk-space alarm going critical). Prints
# the lines alarm-notify.sh itself logged ("sent …" / "failed …"). No daemon is needed.
#
#   scripts/interop/netdata.sh http://127.0.0.1:8080/hook/<token> [method …]
#
# NETDATA_ALARM_NOTIFY overrides the script's path (the upstream installer puts it under
# /usr/libexec/netdata/plugins.d/). Runs as the calling user; alarm-notify.sh needs no root.
set -uo pipefail
HOOK=${1:?usage: netdata.sh <hook url> [method …]}
shift
BASE=${HOOK%/hook/*}
TOKEN=${HOOK##*/}
NOTIFY=${NETDATA_ALARM_NOTIFY:-/usr/lib/netdata/plugins.d/alarm-notify.sh}
DIR=$(mktemp -d /tmp/interop-netdata.XXXXXX)
trap 'rm -rf "$DIR"' EXIT

# The health_alarm_notify.conf lines of each method (on top of the stock file, as
# /etc/netdata/health_alarm_notify.conf would be). Every method but the one run is off.
conf() {
  case "$1" in
  slack) printf '%s\n' "SLACK_WEBHOOK_URL=\"$HOOK\"" 'DEFAULT_RECIPIENT_SLACK="alarms"' ;;
  mattermost) printf '%s\n' "SLACK_WEBHOOK_URL=\"$BASE/hooks/$TOKEN\"" 'DEFAULT_RECIPIENT_SLACK="#"' ;;
  discord) printf '%s\n' "DISCORD_WEBHOOK_URL=\"$HOOK\"" 'DEFAULT_RECIPIENT_DISCORD="alarms"' ;;
  msteams) printf '%s\n' "MSTEAMS_WEBHOOK_URL=\"$HOOK\"" 'DEFAULT_RECIPIENT_MSTEAMS="alarms"' ;;
  rocketchat) printf '%s\n' "ROCKETCHAT_WEBHOOK_URL=\"$HOOK\"" 'DEFAULT_RECIPIENT_ROCKETCHAT="alarms"' ;;
  hangouts) printf '%s\n' "HANGOUTS_WEBHOOK_URI[alarms]=\"$HOOK\"" 'DEFAULT_RECIPIENT_HANGOUTS="alarms"' ;;
  flock) printf '%s\n' "FLOCK_WEBHOOK_URL=\"$HOOK\"" 'DEFAULT_RECIPIENT_FLOCK="alarms"' ;;
  gotify) printf '%s\n' "GOTIFY_APP_URL=\"$BASE\"" "GOTIFY_APP_TOKEN=\"$TOKEN\"" ;;
  custom)
    printf '%s\n' 'DEFAULT_RECIPIENT_CUSTOM="hook"'
    # A custom_sender as a user would write it after the stock file's example: the message
    # as Markdown with the dashboard link, form-encoded (curl does the escaping).
    cat <<CUSTOM
custom_sender() {
  local httpcode
  httpcode=\$(docurl -X POST --data-urlencode "parse_mode=markdown" \\
    --data-urlencode "text=**\${host} \${status_message}**: \${alarm} \${raised_for}
\${info} ([dashboard](\${goto_url}))" "$HOOK")
  if [ "\${httpcode}" = "200" ]; then
    info "sent custom notification for: \${host} \${chart}.\${name} is \${status}"
  else
    error "failed to send custom notification for: \${host} \${chart}.\${name} is \${status}, with HTTP response status code \${httpcode}."
    return 1
  fi
}
CUSTOM
    ;;
  esac
}

ALL="slack mattermost discord msteams rocketchat hangouts flock gotify custom"
for method in ${@:-$ALL}; do
  mkdir -p "$DIR/$method"
  {
    echo 'SEND_EMAIL="NO"'
    for m in SLACK DISCORD MSTEAMS ROCKETCHAT HANGOUTS FLOCK GOTIFY CUSTOM; do echo "SEND_$m=\"YES\""; done
    conf "$method"
  } >"$DIR/$method/health_alarm_notify.conf"
  export NETDATA_USER_CONFIG_DIR="$DIR/$method" NETDATA_CACHE_DIR="$DIR/$method" \
    NETDATA_REGISTRY_URL="http://db1.example.com:19999"
  echo "=== $method: alarm-notify.sh test"
  bash "$NOTIFY" test 2>&1 | grep -E "sent |failed |Can't|# (OK|FAILED)" | sed -E 's/^[0-9: -]+: //'
  echo "=== $method: a disk-space alarm as the daemon raises it"
  # role host unique_id alarm_id event_id when name chart family status old_status value
  # old_value src duration non_clear_duration units info value_string old_value_string
  # calc_expression calc_param_values total_warnings total_critical
  bash "$NOTIFY" sysadmin db1 101 7 2 "$(date +%s)" disk_space_usage "disk_space._" "/" CRITICAL \
    WARNING 97.3 84.1 "health.d/disks.conf:11" 300 600 "%" \
    "current disk space usage of / (97% is critical)" "97.3%" "84.1%" '$this' '' 0 1 2>&1 |
    grep -E "sent |failed |Can't" | sed -E 's/^[0-9: -]+: //'
  echo "exit=${PIPESTATUS[0]}"
done
