// The shipped deployment files, checked for what issue 17.8 found wrong in them (no Docker
// engine, systemd or nginx runs on the build machine, so their content is what can be tested):
// stop grace periods that follow WEBHOOK_SHUTDOWN_GRACE_SECONDS, a liveness health check, no
// anonymous volume, OCI labels, an nginx example whose first part passes `nginx -t` before any
// certificate exists.
import assert from "node:assert/strict";
import { settingDefault } from "../src/config.ts";

const read = (path: string) => Deno.readTextFile(new URL(`../${path}`, import.meta.url));
const graceSeconds = settingDefault("WEBHOOK_SHUTDOWN_GRACE_SECONDS");

Deno.test("stop grace periods give the bot its shutdown grace plus 20 s", async () => {
  const compose = await read("docker-compose.yml");
  const unit = await read("deploy/trueconf-webhook-bot.service");
  assert.equal(/^\s*stop_grace_period: (\d+)s$/m.exec(compose)?.[1], String(graceSeconds + 20));
  assert.equal(/^TimeoutStopSec=(\d+)$/m.exec(unit)?.[1], String(graceSeconds + 20));
  assert.match(unit, /^RestartPreventExitStatus=2$/m);
});

Deno.test("the container health check asks liveness, not TrueConf's state", async () => {
  const dockerfile = await read("Dockerfile");
  const compose = await read("docker-compose.yml");
  assert.match(dockerfile, /^ {2}CMD \["\/app\/trueconf-webhook-bot", "healthcheck"\]$/m);
  assert.match(compose, /test: \["CMD", "\/app\/trueconf-webhook-bot", "healthcheck"\]/);
  assert.doesNotMatch(dockerfile + compose, /healthcheck", "--ready"/);
});

Deno.test("the image makes no anonymous volume and carries OCI labels", async () => {
  const dockerfile = await read("Dockerfile");
  assert.doesNotMatch(dockerfile, /^VOLUME/m);
  for (const label of ["title", "description", "version"]) {
    assert.match(dockerfile, new RegExp(`org\\.opencontainers\\.image\\.${label}=`), label);
  }
  assert.match(await read("docker-compose.yml"), /- bot-data:\/data$/m, "a named volume");
  assert.match(await read(".dockerignore"), /^!denort$/m, "an air-gapped build can add denort");
});

Deno.test("nginx example: the part installed before certbot names no certificate", async () => {
  const nginx = await read("deploy/nginx.conf.example");
  const marker = nginx.search(/^# ---- TLS/m);
  assert.ok(marker > 0, "the TLS part is marked for the sed line in the header");
  const first = nginx.slice(0, marker);
  assert.doesNotMatch(first.replace(/^#.*$/gm, ""), /ssl_certificate|listen 443/);
  assert.match(first, /location \/\.well-known\/acme-challenge\//);
  assert.match(nginx.slice(marker), /ssl_certificate \/etc\/letsencrypt\/live\//);
  // The header's sed command cuts exactly there.
  assert.match(nginx, /sed '\/\^# ---- TLS\/,\$d' deploy\/nginx\.conf\.example/);
  // Both halves balance their braces (nginx -t would fail otherwise).
  for (const part of [first, nginx]) {
    const code = part.replace(/^\s*#.*$/gm, "");
    assert.equal(code.split("{").length, code.split("}").length);
  }
});
