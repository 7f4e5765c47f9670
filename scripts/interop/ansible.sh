#!/usr/bin/env bash
# Runs Ansible (Debian's ansible 7.7.0: ansible-core 2.14, community.general 6.x) at a hook
# URL: every module that can post to a webhook on a host you choose (mattermost, rocketchat,
# office_365_connector_card, bearychat, slack with `domain`, ansible.builtin.uri) as tasks of a
# local playbook, then the community.general.slack callback plugin. Prints one line per task:
# what the module itself reported (failed/changed/msg).
#
#   scripts/interop/ansible.sh http://127.0.0.1:8080/hook/<token>
#
# The slack module only speaks HTTPS, so a TLS front (scripts/interop/tls_front.ts, self-signed
# certificate, validate_certs: false) forwards to the hook's host on port 18443 (TLS_PORT=…).
# The callback plugin needs python3-prettytable.
set -uo pipefail
HOOK=${1:?usage: ansible.sh <hook url>}
BASE=${HOOK%/hook/*}
HOSTPORT=$(printf '%s' "$BASE" | sed -E 's#^https?://##')
TOKEN=${HOOK##*/}
TLS_PORT=${TLS_PORT:-18443}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DIR=$(mktemp -d /tmp/interop-ansible.XXXXXX)
FRONT=
cleanup() {
  [ -n "$FRONT" ] && kill "$FRONT" 2>/dev/null
  rm -rf "$DIR"
}
trap cleanup EXIT

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$DIR/key.pem" -out "$DIR/cert.pem" \
  -days 1 -subj /CN=127.0.0.1 2>/dev/null
"$ROOT/deno" run --allow-net=127.0.0.1 --allow-read="$DIR" "$ROOT/scripts/interop/tls_front.ts" \
  --port "$TLS_PORT" --to "$BASE" --cert "$DIR/cert.pem" --key "$DIR/key.pem" >"$DIR/front.log" 2>&1 &
FRONT=$!
for _ in $(seq 50); do grep -q "TLS front" "$DIR/front.log" 2>/dev/null && break; sleep 0.2; done

cat >"$DIR/notify.yml" <<'YAML'
- name: Notify a TrueConf chat through the webhook bot
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    hook: "{{ base }}/hook/{{ token }}"
  tasks:
    - name: mattermost text
      community.general.mattermost:
        url: "{{ base }}"
        api_key: "{{ token }}"
        text: "Deploy of **api** finished on `web1` :white_check_mark: [logs](https://ci.example.com/42)"
      register: r_mm_text
      ignore_errors: true
    - name: mattermost attachments
      community.general.mattermost:
        url: "{{ base }}"
        api_key: "{{ token }}"
        username: "Ansible on web1"
        attachments:
          - text: Display my system load on host A and B
            color: '#ff00dd'
            title: System load
            fields:
              - {title: System A, value: "load average: 0,74, 0,66, 0,63", short: true}
              - {title: System B, value: "load average: 5,16, 4,64, 2,43", short: true}
      register: r_mm_att
      ignore_errors: true
    - name: rocketchat text
      community.general.rocketchat:
        protocol: http
        domain: "{{ hostport }}"
        token: "hook/{{ token }}"
        msg: "Deploy of *api* finished on web1"
      register: r_rc_text
      ignore_errors: true
    - name: rocketchat danger colour
      community.general.rocketchat:
        protocol: http
        domain: "{{ hostport }}"
        token: "hook/{{ token }}"
        msg: "Deploy of api FAILED on web1"
        color: danger
      register: r_rc_danger
      ignore_errors: true
    - name: rocketchat special characters
      community.general.rocketchat:
        protocol: http
        domain: "{{ hostport }}"
        token: "hook/{{ token }}"
        msg: "Disk /var 93% full & rising: c++ build %41 ✅"
      register: r_rc_chars
      ignore_errors: true
    - name: office_365_connector_card
      community.general.office_365_connector_card:
        webhook: "{{ hook }}"
        summary: Deploy finished
        title: "Deploy of **api** finished"
        text: "Version **1.4.2** is live on web1 and web2."
        color: 2DC72D
        sections:
          - title: Hosts
            activity_title: Ansible
            activity_subtitle: playbook site.yml
            facts:
              - {name: web1, value: ok=12 changed=3}
              - {name: web2, value: ok=12 changed=0}
        actions:
          - "@type": OpenUri
            name: Open the job
            targets: [{os: default, uri: "https://ci.example.com/42"}]
      register: r_teams
      ignore_errors: true
    - name: office_365_connector_card in check mode
      community.general.office_365_connector_card:
        webhook: "{{ hook }}"
        text: check mode
      check_mode: true
      register: r_teams_check
      ignore_errors: true
    - name: uri with the README's JSON body
      ansible.builtin.uri:
        url: "{{ hook }}"
        method: POST
        body_format: json
        body:
          text: "**Deploy of api** finished on web1 ✅ [logs](https://ci.example.com/42)"
          parse_mode: markdown
      register: r_uri
      ignore_errors: true
    - name: uri with a form body
      ansible.builtin.uri:
        url: "{{ hook }}"
        method: POST
        body_format: form-urlencoded
        body:
          text: Deploy finished on web1
      register: r_uri_form
      ignore_errors: true
    - name: bearychat
      community.general.bearychat:
        url: "{{ hook }}"
        text: "Deploy of **api** finished"
        markdown: true
        channel: ops
        attachments:
          - {title: web1, text: ok=12 changed=3, color: "#00ff00", images: ["http://example.com/chart.png"]}
      register: r_beary
      ignore_errors: true
    - name: slack with domain (legacy incoming-webhook URL), colour
      community.general.slack:
        domain: "{{ https_hostport }}"
        token: "{{ token }}"
        validate_certs: false
        msg: "Deploy of *api* finished on <https://ci.example.com/42|web1>"
        color: good
      register: r_slack
      ignore_errors: true
    - name: slack with domain, plain text
      community.general.slack:
        domain: "{{ https_hostport }}"
        token: "{{ token }}"
        validate_certs: false
        msg: "Deploy of *api* finished & ok"
      register: r_slack_plain
      ignore_errors: true
    - name: what each module reported
      ansible.builtin.debug:
        msg: "{{ item.0 }}: failed={{ item.1.failed | default(false) }} changed={{ item.1.changed | default(false) }} status={{ item.1.status | default('-') }} msg={{ item.1.msg | default('') | truncate(200) }}"
      loop:
        - ["mattermost text", "{{ r_mm_text }}"]
        - ["mattermost attachments", "{{ r_mm_att }}"]
        - ["rocketchat text", "{{ r_rc_text }}"]
        - ["rocketchat danger", "{{ r_rc_danger }}"]
        - ["rocketchat special chars", "{{ r_rc_chars }}"]
        - ["office_365_connector_card", "{{ r_teams }}"]
        - ["office_365_connector_card check mode", "{{ r_teams_check }}"]
        - ["uri json", "{{ r_uri }}"]
        - ["uri form", "{{ r_uri_form }}"]
        - ["bearychat", "{{ r_beary }}"]
        - ["slack domain colour", "{{ r_slack }}"]
        - ["slack domain plain", "{{ r_slack_plain }}"]
YAML

cat >"$DIR/callback.yml" <<'YAML'
- name: Deploy api
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: a task that changes
      ansible.builtin.command: "true"
    - name: a task that fails
      ansible.builtin.command: "false"
      ignore_errors: true
YAML

export ANSIBLE_LOCALHOST_WARNING=false ANSIBLE_INVENTORY_UNPARSED_WARNING=false
ansible-playbook "$DIR/notify.yml" -e "base=$BASE" -e "hostport=$HOSTPORT" -e "token=$TOKEN" \
  -e "https_hostport=127.0.0.1:$TLS_PORT" 2>&1 |
  sed -nE 's/^ +"msg": "(.*)"$/\1/p'
echo "--- community.general.slack callback plugin (SLACK_WEBHOOK_URL=<hook>)"
ANSIBLE_CALLBACKS_ENABLED=community.general.slack SLACK_WEBHOOK_URL="$HOOK" SLACK_CHANNEL='#ops' \
  ansible-playbook "$DIR/callback.yml" 2>&1 | grep -E "WARNING|Could not|localhost +:" | sed 's/  */ /g'
