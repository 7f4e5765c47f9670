#!/usr/bin/env bash
# Runs Apprise (Debian's apprise 1.2.0) at a hook URL with every Apprise URL scheme that can
# reach it, and prints what Apprise itself reported (exit code + its last log line).
#
#   scripts/interop/apprise.sh http://127.0.0.1:8080/hook/<token>
set -uo pipefail
HOOK=${1:?usage: apprise.sh <hook url>}
HOSTPORT=$(printf '%s' "$HOOK" | sed -E 's#^https?://([^/]+)/.*#\1#')
TOKEN=${HOOK##*/}
DIR=$(mktemp -d /tmp/interop-apprise.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
printf '%s' 'iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAEklEQVR4nGP4z8CAFWEXHbQSACj/P8Fu7N9hAAAAAElFTkSuQmCC' |
  base64 -d >"$DIR/red.png"
printf 'hello from a text file\nline 2\n' >"$DIR/note.txt"
run() { # $1 = label, rest = apprise args
  local label=$1
  shift
  local out rc
  out=$(apprise -vv "$@" 2>&1)
  rc=$?
  printf '%-26s exit=%s  %s\n' "$label" "$rc" \
    "$(printf '%s\n' "$out" | grep -E 'Sent|Failed|ERROR|Error|WARNING' | tail -1 | cut -c25-200)"
  sleep 0.5
}
run "mmost://" -t "Title" -b "Body" "mmost://$HOSTPORT/$TOKEN"
run "mmost:// ?channel, no title" -b "Only body" "mmost://$HOSTPORT/$TOKEN?channel=ops"
run "json://" -t "Title" -b "Body" "json://$HOSTPORT/hook/$TOKEN"
run "json:// --attach png+txt" -t "Title" -b "Body" --attach "$DIR/red.png" --attach "$DIR/note.txt" \
  "json://$HOSTPORT/hook/$TOKEN"
run "json:// -n failure" -n failure -t "Deploy failed" -b "See the logs" "json://$HOSTPORT/hook/$TOKEN"
run "form://" -t "Title" -b "Body" "form://$HOSTPORT/hook/$TOKEN"
run "form:// --attach png" -t "Title" -b "Body" --attach "$DIR/red.png" "form://$HOSTPORT/hook/$TOKEN"
run "xml://" -t "Title" -b "Body" "xml://$HOSTPORT/hook/$TOKEN"
run "slack:// custom host" -t "Title" -b "Body" "slack://$HOSTPORT/$TOKEN"
