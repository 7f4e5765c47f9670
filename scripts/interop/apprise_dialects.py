#!/usr/bin/python3
"""Runs Debian's Apprise 1.2.0 plugins for Discord, MS Teams, Google Chat, ntfy, Gotify and
Rocket.Chat at a hook URL (or at scripts/interop/recorder.ts to capture bodies) and prints what
Apprise itself reported for each.

  /usr/bin/python3 scripts/interop/apprise_dialects.py http://127.0.0.1:18080/hook/<token>

Apprise builds Discord, Teams and Google Chat URLs from fixed hosts (discord.com,
*.webhook.office.com, chat.googleapis.com), so this script points those plugins' URL templates at
the hook URL; everything else (bodies, headers, answers checked) is the plugins' own code. ntfy
and Gotify take a custom host: ntfy posts JSON to the server root with the token as topic, Gotify
to <server>/message with X-Gotify-Key. Rocket.Chat's webhook mode needs an `id/token` pair and
posts to <server>/hooks/<id>/<token>, two path segments the bot's /hooks/<token> cannot take, so
its bodies were checked with the recorder only.
"""
import base64
import sys
import tempfile

import apprise
from apprise.plugins import NotifyDiscord, NotifyGoogleChat, NotifyMSTeams

hook = sys.argv[1].rstrip("/")
base, token = hook.rsplit("/hook/", 1)
hostport = base.split("://", 1)[1]

NotifyMSTeams.NotifyMSTeams.notify_url_v2 = hook + "?t={team}{token_a}{token_b}{token_c}"
NotifyMSTeams.NotifyMSTeams.notify_url_v1 = hook + "?t={token_a}{token_b}{token_c}"
NotifyGoogleChat.NotifyGoogleChat.notify_url = hook + "?w={workspace}"

png = tempfile.NamedTemporaryFile(suffix=".png", delete=False)
png.write(base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="))
png.close()


def run(label, url, title, body, attach=None, notify_type="info"):
    a = apprise.Apprise()
    if not a.add(url):
        print(f"{label:34} could not parse {url}")
        return
    ok = a.notify(title=title, body=body, attach=attach, notify_type=notify_type)
    print(f"{label:34} {'sent' if ok else 'FAILED'}")


# Discord posts to <notify_url>/<webhook_id>/<webhook_token>: ending the template in "?" turns
# that tail into a query string, so the request goes to the hook URL itself.
NotifyDiscord.NotifyDiscord.notify_url = hook + "?"
run("discord:// text", "discord://x/y", "Backup finished", "Nightly backup of **db1** done")
run("discord:// markdown (embed)", "discord://x/y?format=markdown", "Deploy", "# Release 1.2\n- fixed")
run("discord:// attach", "discord://Apprise@x/y?avatar=no", "Disk full", "2% left", attach=png.name)
run("msteams://", "msteams://team/a1b2-c3@d4e5-f6/b1c2d3/c1-d2", "Build failed", "Job **api** failed",
    notify_type="failure")
run("gchat://", "gchat://w/key/token", "Backup", "Backup *done*")
run("gchat:// thread key", "gchat://w/key/token/threadkey1", "", "threaded update")
run("ntfy:// (JSON at /)", f"ntfy://{hostport}/{token}", "Disk full", "Only 2% left")
run("ntfy:// priority, tags, click",
    f"ntfy://{hostport}/{token}?priority=max&tags=warning,skull&click=https://grafana.example.com/d/1",
    "Disk full", "Only 2% left")
run("ntfy:// attach (POST /<token>)", f"ntfy://{hostport}/{token}", "Chart", "see attached", attach=png.name)
run("gotify://", f"gotify://{hostport}/{token}", "Backup", "Backup done")
run("gotify:// markdown, high", f"gotify://{hostport}/{token}?priority=high&format=markdown", "Deploy",
    "**v1.2** is live")
