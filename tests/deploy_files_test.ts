// The shipped deployment files, checked for what issue 17.8 found wrong in them (no Docker
// engine or running systemd on the build machine, so their content is what can be tested; where
// systemd-analyze, nginx and caddy are installed, as here, their own checkers judge the files too):
// stop grace periods that follow WEBHOOK_SHUTDOWN_GRACE_SECONDS, a liveness health check, no
// anonymous volume, OCI labels, an nginx example whose first part passes `nginx -t` before any
// certificate exists.
import assert from "node:assert/strict";
import { settingDefault, SETTINGS } from "../src/config.ts";
import { COMPOSE_END, COMPOSE_START, renderComposeEnvironment } from "../scripts/settings_docs.ts";
import { makeTestCertificates } from "./support/fake_trueconf.ts";
import { BOT_PROBLEMS, TRUECONF_PROBLEMS } from "../src/readiness.ts";

const read = (path: string) => Deno.readTextFile(new URL(`../${path}`, import.meta.url));
const graceSeconds = settingDefault("WEBHOOK_SHUTDOWN_GRACE_SECONDS");

/**
 * Seconds in a Compose duration: number-unit pairs added up, as compose 1.29's timeparse and Go's
 * ParseDuration (under the Go Compose's str2duration) both read them; null when it is not one.
 */
function durationSeconds(text: string): number | null {
  const units: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001 };
  const parts = [...text.matchAll(/(\d+)(ms|h|m|s)/g)];
  if (parts.map((p) => p[0]).join("") !== text || parts.length === 0) return null;
  return parts.reduce((sum, p) => sum + Number(p[1]) * units[p[2]!]!, 0);
}

/** `${VAR:-default}` in `text`, from `env` (blank counts as unset, as in compose). */
function interpolate(text: string, env: Record<string, string>): string {
  return text.replace(
    /\$\{(\w+):-([^}]*)\}/g,
    (_, name: string, dflt: string) => env[name] || dflt,
  );
}

Deno.test("stop grace periods give the bot its shutdown grace plus 20 s; compose's follows .env's grace", async () => {
  const compose = await read("docker-compose.yml");
  const unit = await read("deploy/trueconf-webhook-bot.service");
  const period = /^\s*stop_grace_period: (\S+)$/m.exec(compose)?.[1] ?? "";
  // A grace raised in .env (compose passes the same variable to the bot) moves Docker's too.
  for (const grace of ["", "0", "60", "3600"]) {
    const env = { WEBHOOK_SHUTDOWN_GRACE_SECONDS: grace };
    assert.equal(
      durationSeconds(interpolate(period, env)),
      (grace === "" ? graceSeconds : Number(grace)) + 20,
      `${period} with WEBHOOK_SHUTDOWN_GRACE_SECONDS=${grace}`,
    );
  }
  assert.match(
    compose,
    /^ {6}WEBHOOK_SHUTDOWN_GRACE_SECONDS: \$\{WEBHOOK_SHUTDOWN_GRACE_SECONDS:-\}$/m,
  );
  assert.equal(/^TimeoutStopSec=(\d+)$/m.exec(unit)?.[1], String(graceSeconds + 20));
  assert.match(unit, /^RestartPreventExitStatus=2$/m);
});

// Issue 7: HEALTHCHECK on /readyz; 17.8: not unhealthy while TrueConf is down. The
// `healthcheck` command does both (tests/cli/healthcheck_test.ts); --ready would break 17.8.
Deno.test("the container health check is the binary's healthcheck (/readyz, healthy while TrueConf is down)", async () => {
  const dockerfile = await read("Dockerfile");
  const compose = await read("docker-compose.yml");
  assert.match(dockerfile, /^ {2}CMD \["\/app\/trueconf-webhook-bot", "healthcheck"\]$/m);
  assert.match(compose, /test: \["CMD", "\/app\/trueconf-webhook-bot", "healthcheck"\]/);
  assert.doesNotMatch(dockerfile + compose, /healthcheck", "--ready"/);
  assert.match(
    dockerfile,
    /^# The image has no curl\/wget: the binary probes itself on loopback\. The health check asks\n# \/readyz/m,
  );
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

// Every URL form that carries a hook token must be masked in the proxies' logs (README: "both
// masking tokens in their logs"). The examples masked /hook/<token> and /hooks/<token> only,
// while Gotify senders put the token in `/message?token=`, ntfy senders post to `/<token>` and
// `/<token>/publish`, and a WEBHOOK_PUBLIC_URL with a path serves `/tc/hook/<token>`: those
// reached the access logs in full. nginx (PCRE) and Caddy (Go RE2) patterns are applied here with
// JavaScript's engine, which reads these constructs the same way; both examples were also run
// for real (nginx 1.22, Caddy 2.6 from Debian) with the same URLs.
const TOKEN = "Xk2fQ9aLr0T7mN3pV8sWcY1bZ4dE6gH5jK9uIo7wxyz";
const TOKEN_URIS = [
  `/hook/${TOKEN}`,
  `/hooks/${TOKEN}`,
  `/hook/${TOKEN}/messages/deploy-42`,
  `/hook/${TOKEN}/deliveries/houa57vnbc-9f9e332d`,
  `/tc/hook/${TOKEN}`,
  `/message?token=${TOKEN}`,
  `/message?title=Backup&token=${TOKEN}&priority=5`,
  `/${TOKEN}`,
  `/${TOKEN}/publish?message=done`,
  `/tc/${TOKEN}`,
];
const PLAIN_URIS = ["/healthz", "/readyz", "/metrics", "/hook", "/message", "/", "/tc/healthz"];

Deno.test("nginx example: its log map masks the token in every URL form that carries one", async () => {
  const nginx = await read("deploy/nginx.conf.example");
  const map = /^map \$request_uri \$trueconf_hook_masked_uri \{\n([\s\S]*?)^\}/m.exec(nginx)?.[1];
  assert.ok(map, "the map");
  const rules = [...map.matchAll(/^\s*"~(.*)" "(.*)";$/gm)].map(([, re, to]) => ({
    re: new RegExp(re!),
    to: to!.replace(/\$\{(\w+)\}/g, "$<$1>"),
  }));
  assert.ok(rules.length >= 3, map);
  // nginx's map takes the first regex that matches, else the default ($request_uri).
  const masked = (uri: string) => {
    const rule = rules.find((r) => r.re.test(uri));
    return rule ? uri.replace(rule.re, rule.to) : uri;
  };
  for (const uri of TOKEN_URIS) {
    assert.ok(!masked(uri).includes(TOKEN), `${uri} → ${masked(uri)}`);
    assert.ok(masked(uri).includes("[token]"), uri);
  }
  for (const uri of PLAIN_URIS) assert.equal(masked(uri), uri);
});

Deno.test("Caddy example: both log filters mask the token in every URL form that carries one", async () => {
  const caddy = await read("deploy/Caddyfile.example");
  const filters = [...caddy.matchAll(/^\s*request>uri regexp "(.*)" "(.*)"$/gm)];
  assert.equal(filters.length, 2, "the error log and the access log");
  for (const [, re, to] of filters) {
    // Caddy's regexp filter is Go's ReplaceAllString.
    const masked = (uri: string) =>
      uri.replace(new RegExp(re!, "g"), to!.replace(/\$\{(\w+)\}/g, "$$$1"));
    for (const uri of TOKEN_URIS) {
      assert.ok(!masked(uri).includes(TOKEN), `${uri} → ${masked(uri)}`);
      assert.ok(masked(uri).includes("[token]"), uri);
    }
    for (const uri of PLAIN_URIS) assert.equal(masked(uri), uri);
  }
});

// The examples blocked only the exact path /metrics, while the bot also answers /metrics/ (it
// routes without strict slashes, for pasted hook URLs) and, with a WEBHOOK_PUBLIC_URL path,
// /<path>/metrics: both went through to the public. (Checked for real with nginx 1.22 and
// Caddy 2.6 in front of the bot: 200 before, 404 now.)
const METRICS_URIS = ["/metrics", "/metrics/", "/tc/metrics", "/tc/metrics/", "/a/b/metrics"];
const SERVED_URIS = ["/healthz", "/readyz", "/tc/readyz", `/hook/${TOKEN}`, `/tc/hook/${TOKEN}`];

Deno.test("proxy examples: /metrics is refused under any path prefix and with a trailing slash", async () => {
  const nginx = await read("deploy/nginx.conf.example");
  const location = /^\s*location ~ (\S+) \{\n\s*return 404;/m.exec(nginx)?.[1];
  const caddy = await read("deploy/Caddyfile.example");
  const matcher = /^\s*@metrics path_regexp (\S+)$/m.exec(caddy)?.[1];
  assert.match(caddy, /^\s*respond @metrics 404$/m);
  for (const pattern of [location, matcher]) {
    assert.ok(pattern, "the metrics block");
    const re = new RegExp(pattern);
    for (const uri of METRICS_URIS) assert.ok(re.test(uri), `${pattern} lets ${uri} through`);
    for (const uri of SERVED_URIS) assert.ok(!re.test(uri), `${pattern} blocks ${uri}`);
  }
});

// ProtectSystem=strict leaves only the StateDirectory writable: a storage path anywhere else
// (or a typo in either line) and the bot cannot open its store under systemd.
Deno.test("systemd unit: the storage path lies in the StateDirectory, the only writable place", async () => {
  const unit = await read("deploy/trueconf-webhook-bot.service");
  const state = /^StateDirectory=(\S+)$/m.exec(unit)?.[1];
  const storage = /^Environment=WEBHOOK_STORAGE_PATH=(\S+)$/m.exec(unit)?.[1];
  assert.ok(state && storage, "StateDirectory and WEBHOOK_STORAGE_PATH are set");
  assert.equal(storage, `%S/${state}/webhooks.kv`);
  assert.equal(/^WorkingDirectory=(\S+)$/m.exec(unit)?.[1], `%S/${state}`);
  assert.match(unit, /^ProtectSystem=strict$/m);
});

// Issue 7: compose takes secrets by `${VAR}` interpolation; an operator expects only the bot's
// own settings to reach the container. `env_file: .env` passed the whole file (a shared .env's
// other secrets, compose's own WEBHOOK_HOST_PORT) into the container, and the `${VAR}` lines
// were commented out. Now every setting the bot reads is one `NAME: ${NAME:-}` line, generated
// from src/config.ts by `deno task settings` (a blank value is unset for the bot: its default).
const FIXED_BY_IMAGE = ["WEBHOOK_STORAGE_PATH", "WEBHOOK_HTTP_HOST", "WEBHOOK_HTTP_PORT"];

/** The `environment:` mapping of the bot service, as written (name → raw value). */
function composeEnvironment(compose: string): Map<string, string> {
  const block = /^ {4}environment:\n((?: {6}.*\n|\s*#.*\n)+)/m.exec(compose)?.[1];
  assert.ok(block, "the bot service has an environment: mapping");
  const env = new Map<string, string>();
  for (const [, name, value] of block.matchAll(/^ {6}([A-Z0-9_]+): (.*)$/gm)) {
    env.set(name!, value!);
  }
  return env;
}

Deno.test("compose passes exactly the bot's settings into the container, each by ${VAR} interpolation", async () => {
  const compose = await read("docker-compose.yml");
  assert.doesNotMatch(compose.replace(/^\s*#.*$/gm, ""), /env_file/, "no whole-file env_file");
  const env = composeEnvironment(compose);
  const bot = SETTINGS.filter((s) => !s.readBy).map((s) => s.name);
  assert.deepEqual([...env.keys()].sort(), [...bot].sort());
  for (const name of bot) {
    if (FIXED_BY_IMAGE.includes(name)) continue;
    const value = env.get(name)!;
    if (name === "WEBHOOK_TRUSTED_PROXIES") {
      assert.equal(value, "${WEBHOOK_TRUSTED_PROXIES:-172.30.80.1/32}");
    } else assert.equal(value, `\${${name}:-}`, name);
  }
  // Read by compose itself, never passed on.
  assert.ok(!env.has("WEBHOOK_HOST_PORT"));
  assert.match(compose, /"127\.0\.0\.1:\$\{WEBHOOK_HOST_PORT:-8080\}:8080"/);
  // The generated lines are what `deno task settings` writes now.
  assert.equal(
    compose.slice(compose.indexOf(COMPOSE_START), compose.indexOf(COMPOSE_END)),
    COMPOSE_START + "\n" + renderComposeEnvironment(),
    "run `deno task settings`",
  );
});

// Nothing of the settings can end up in the image: the build context is an allow-list without
// .env, and the Dockerfile bakes in no setting but the image's own layout.
Deno.test("the image gets no settings: .dockerignore allows only the sources, the Dockerfile sets only its layout", async () => {
  const ignore = (await read(".dockerignore")).split("\n").filter((l) => l && !l.startsWith("#"));
  assert.equal(ignore[0], "*", "everything is excluded first");
  assert.deepEqual(
    ignore.filter((l) => l.startsWith("!")).sort(),
    ["!deno.json", "!deno.lock", "!denort", "!src", "!src/**"],
  );
  const dockerfile = await read("Dockerfile");
  // Each ENV or ARG instruction with its continuation lines (a line ending in a backslash).
  const set = [...dockerfile.matchAll(/^(?:ENV|ARG)\s+((?:.*\\\n)*.*)$/gm)]
    .flatMap(([, body]) => [...body!.matchAll(/([A-Z][A-Z0-9_]*)=/g)].map(([, n]) => n!));
  assert.deepEqual(set.sort(), [...FIXED_BY_IMAGE, "DENO_VERSION", "VERSION"].sort());
});

// Issue 17: the operator's first hour starts from the README's commands, so the README holds
// them all (it only linked to docs/deploy.md); docs/deploy.md explains the same commands. Every
// command of the README's systemd and Docker blocks must be one docs/deploy.md explains, so
// the two cannot drift apart.
Deno.test("README's install commands (systemd, Docker) are the ones docs/deploy.md explains", async () => {
  const readme = await read("README.md");
  const deploy = (await read("docs/deploy.md")).split("\n").map((l) => l.trim());
  const install = readme.slice(
    readme.indexOf("## Install\n"),
    readme.indexOf("\n## ", readme.indexOf("## Install\n") + 3),
  );
  for (const section of ["### VM with systemd", "### Docker"]) {
    const from = install.indexOf(section);
    assert.ok(from > 0, section);
    const block = /```sh\n([\s\S]*?)```/.exec(install.slice(from))?.[1];
    assert.ok(block, section);
    const commands = block.split("\n").map((l) => l.replace(/\s+# .*$/, "").trim())
      .filter((l) => l !== "" && !l.startsWith("#"));
    assert.ok(commands.length >= 5, section);
    for (const c of commands) {
      assert.ok(
        deploy.some((l) => l === c || l.startsWith(`${c} `)),
        `${section}: ${c} is not in docs/deploy.md`,
      );
    }
  }
});

const systemdAnalyze = (() => {
  try {
    return new Deno.Command("systemd-analyze", { args: ["--version"] }).outputSync().success;
  } catch {
    return false;
  }
})();

// Where systemd's own checker is installed (the build machine has it, without a running
// systemd): the unit parses without a warning and its hardening scores "OK" (exposure ≤ 2.0 of
// 10; 1.4 when this was written). The binary's path is swapped for one that exists here.
Deno.test({
  name: "systemd unit: systemd-analyze verify is silent and security rates its exposure OK",
  ignore: !systemdAnalyze,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "unit_" });
    try {
      const unit = (await read("deploy/trueconf-webhook-bot.service"))
        .replace("/usr/local/bin/trueconf-webhook-bot", "/bin/true");
      const path = `${dir}/trueconf-webhook-bot.service`;
      await Deno.writeTextFile(path, unit);
      const run = async (...args: string[]) => {
        const out = await new Deno.Command("systemd-analyze", { args, cwd: dir }).output();
        const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
        return { code: out.code, text };
      };
      const verify = await run("verify", path);
      assert.equal(verify.code, 0, verify.text);
      assert.equal(verify.text.trim(), "", verify.text);
      const security = await run("security", "--offline=yes", path);
      const level = /Overall exposure level for \S+: (\d+(?:\.\d+)?)/.exec(security.text)?.[1];
      assert.ok(level, security.text);
      assert.ok(Number(level) <= 2, `exposure ${level}:\n${security.text}`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

const installed = (command: string, args: string[]) => {
  try {
    return new Deno.Command(command, { args, stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
};

// The braces test above is what can be checked anywhere; where nginx is installed (the build
// machine has 1.22) `nginx -t` itself judges both steps of the documented order: the port-80 part
// alone, then the whole file once a certificate exists (test certificates and log paths swapped in).
Deno.test({
  name:
    "nginx example: nginx -t passes the port-80 part alone and the whole file with a certificate",
  ignore: !installed("nginx", ["-v"]),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "nginx_" });
    try {
      const { certPem, keyPem } = await makeTestCertificates();
      await Deno.writeTextFile(`${dir}/fullchain.pem`, certPem);
      await Deno.writeTextFile(`${dir}/privkey.pem`, keyPem);
      const example = (await read("deploy/nginx.conf.example"))
        .replaceAll("/etc/letsencrypt/live/hooks.example.com", dir)
        .replaceAll("/var/log/nginx", dir);
      const steps = {
        "before certbot": example.slice(0, example.search(/^# ---- TLS/m)),
        "the whole file": example,
      };
      for (const [step, conf] of Object.entries(steps)) {
        await Deno.writeTextFile(`${dir}/site.conf`, conf);
        await Deno.writeTextFile(
          `${dir}/nginx.conf`,
          `pid ${dir}/nginx.pid;\nerror_log ${dir}/error.log;\nevents {}\n` +
            `http {\n  access_log ${dir}/access.log;\n  include ${dir}/site.conf;\n}\n`,
        );
        const out = await new Deno.Command("nginx", {
          args: ["-t", "-p", dir, "-c", `${dir}/nginx.conf`],
        }).output();
        const text = new TextDecoder().decode(out.stderr);
        assert.equal(out.code, 0, `${step}: ${text}`);
        assert.match(text, /test is successful/, step);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

// Likewise `caddy validate` where Caddy is installed (2.6 here): the example adapts and every
// module it names (log filters, request_body) exists. HOME and XDG folders point at a temp dir
// so Caddy writes nothing of its own elsewhere.
Deno.test({
  name: "Caddy example: caddy validate accepts it",
  ignore: !installed("caddy", ["version"]),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "caddy_" });
    try {
      const file = `${dir}/Caddyfile`;
      await Deno.writeTextFile(
        file,
        (await read("deploy/Caddyfile.example")).replaceAll("/var/log/caddy", dir),
      );
      const out = await new Deno.Command("caddy", {
        args: ["validate", "--adapter", "caddyfile", "--config", file],
        env: { HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir },
      }).output();
      const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, text);
      assert.match(text, /Valid configuration/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

// Where the compose plugin is installed (it is not on the build machine: Debian 12 ships only
// the old Python docker-compose 1.29, which rejects the Compose Specification's `name:`),
// `docker compose config` itself resolves the file with a .env written by the quoting rule of
// .env.example; it needs no Docker engine.
Deno.test({
  name: "docker compose config: .env's settings, quoted as .env.example says, and nothing else",
  ignore: !installed("docker", ["compose", "version"]),
  async fn() {
    const text = await composeConfig(
      ["docker", "compose", "config", "--format", "json"],
      await read("docker-compose.yml"),
      "TRUECONF_SERVER=video.example.com\nTRUECONF_PASSWORD='Pa$word#1'\n" +
        "WEBHOOK_HOST_PORT=8081\nOTHER_TOOLS_SECRET=leak\n",
    );
    const config = JSON.parse(text);
    const env = config.services.bot.environment as Record<string, string | null>;
    assert.equal(env.TRUECONF_SERVER, "video.example.com");
    assert.equal(env.TRUECONF_PASSWORD, "Pa$word#1");
    assert.equal(env.TRUECONF_USERNAME, "");
    assert.ok(!("OTHER_TOOLS_SECRET" in env) && !("WEBHOOK_HOST_PORT" in env), text);
    assert.equal(config.services.bot.ports[0].published, "8081");
    // The grace unset: the bot's default 10 s plus 20 s.
    assert.equal(config.services.bot.stop_grace_period, "30s");
  },
});

// Debian 12's Python docker-compose 1.29 (installed on the build machine) interpolates the file
// itself; it rejects the Compose Specification's top-level `name:`, which is left out here.
Deno.test({
  name: "docker-compose 1.29 config: stop_grace_period is .env's grace plus 20 s",
  ignore: !installed("docker-compose", ["version"]),
  async fn() {
    const compose = (await read("docker-compose.yml")).replace(/^name: .*\n/m, "");
    for (const [dotenv, seconds] of [["", graceSeconds + 20], ["75", 95]] as const) {
      const text = await composeConfig(
        ["docker-compose", "config"],
        compose,
        `WEBHOOK_SHUTDOWN_GRACE_SECONDS=${dotenv}\n`,
      );
      const period = /^ {4}stop_grace_period: (\S+)$/m.exec(text)?.[1] ?? text;
      assert.equal(durationSeconds(period), seconds, `.env grace "${dotenv}": ${period}`);
    }
  },
});

/**
 * What `command` (a compose's `config`) prints for `compose` beside `dotenv` as `.env`, in a
 * temporary folder and an environment holding only PATH; it must succeed.
 */
async function composeConfig(command: string[], compose: string, dotenv: string) {
  const dir = await Deno.makeTempDir({ prefix: "compose_" });
  try {
    await Deno.writeTextFile(`${dir}/docker-compose.yml`, compose);
    await Deno.writeTextFile(`${dir}/.env`, dotenv);
    const out = await new Deno.Command(command[0]!, {
      args: command.slice(1),
      cwd: dir,
      clearEnv: true,
      env: { PATH: Deno.env.get("PATH") ?? "" },
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    return new TextDecoder().decode(out.stdout);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

// Issue 7's container and service sentences, checked as far as files can be without a Docker
// engine: the paths each file names line up with the others (the compile task's output is what
// the runtime stage copies and runs; the port and data folder the image sets are what compose
// publishes and mounts; the unit runs the binary where the README installs it and reads the env
// file the README writes), and each directive the issue names is there.
Deno.test("Dockerfile, compose and systemd unit: what issue 7 names, with paths that line up", async () => {
  const dockerfile = (await read("Dockerfile")).replace(/^#.*$/gm, "");
  const compose = await read("docker-compose.yml");
  const unit = await read("deploy/trueconf-webhook-bot.service");
  const readme = await read("README.md");
  const tasks = JSON.parse(await read("deno.json")).tasks as Record<string, string>;

  // Multi-stage: the official Deno image builds with the repository's compile task...
  const stages = [...dockerfile.matchAll(/^FROM (\S+)(?: AS (\w+))?$/gm)];
  assert.equal(stages.length, 2, "a build stage and a runtime stage");
  assert.match(stages[0]![1]!, /^denoland\/deno:/);
  assert.equal(stages[0]![2], "build");
  assert.match(dockerfile, /^\s*deno task compile$/m);
  // ...whose output is what the minimal runtime stage copies, runs and probes.
  const output = /--output (\S+)/.exec(tasks.compile!)?.[1];
  assert.equal(output, "dist/trueconf-webhook-bot");
  const copied = /^COPY --from=build \/build\/(\S+) (\S+)$/m.exec(dockerfile);
  assert.equal(copied?.[1], output);
  const binary = copied![2]!;
  assert.match(dockerfile, new RegExp(`^ENTRYPOINT \\["${binary}"\\]$`, "m"));
  assert.match(dockerfile, /^CMD \["serve"\]$/m);
  assert.match(dockerfile, new RegExp(`^\\s*CMD \\["${binary}", "healthcheck"\\]$`, "m"));
  // A non-root user, numeric; the data folder is created for that user.
  const user = /^USER (\d+):(\d+)$/m.exec(dockerfile);
  assert.ok(user && user[1] !== "0" && user[2] !== "0", "USER is numeric and not root");
  assert.match(dockerfile, new RegExp(`--chown=${user[1]}:${user[2]} /rootfs/ /`));
  // The port and the data folder the image sets are the ones exposed, published and mounted.
  const port = /WEBHOOK_HTTP_PORT=(\d+)/.exec(dockerfile)?.[1];
  assert.equal(port, "8080");
  assert.match(dockerfile, new RegExp(`^EXPOSE ${port}$`, "m"));
  assert.match(compose, new RegExp(`"127\\.0\\.0\\.1:\\$\\{WEBHOOK_HOST_PORT:-8080\\}:${port}"`));
  const storage = /WEBHOOK_STORAGE_PATH=(\S+)/.exec(dockerfile)?.[1] ?? "";
  const dataDir = storage.slice(0, storage.lastIndexOf("/"));
  assert.equal(dataDir, "/data");
  assert.match(dockerfile, new RegExp(`mkdir -p /rootfs${dataDir} `));
  assert.match(compose, new RegExp(`^ {6}- bot-data:${dataDir}$`, "m"));
  assert.match(compose, new RegExp(`^ {6}WEBHOOK_STORAGE_PATH: ${storage}$`, "m"));
  // Compose: restarts, and the volume is a declared named one.
  assert.match(compose, /^ {4}restart: unless-stopped$/m);
  assert.match(compose, /^volumes:\n {2}bot-data:$/m);

  // The unit: the directives issue 7 names, with the paths the README's five steps install.
  for (
    const directive of [
      "Restart=always",
      "DynamicUser=yes",
      "ProtectSystem=strict",
      "NoNewPrivileges=yes",
      "PrivateTmp=yes",
      "CapabilityBoundingSet=",
      "StateDirectory=trueconf-webhook-bot",
    ]
  ) assert.match(unit, new RegExp(`^${directive}$`, "m"), directive);
  const exec = /^ExecStart=(\S+) serve$/m.exec(unit)?.[1];
  const envFile = /^EnvironmentFile=(\S+)$/m.exec(unit)?.[1];
  assert.ok(exec && envFile, "ExecStart runs serve; EnvironmentFile is set");
  assert.ok(readme.includes(`sudo install -m 0755 dist/trueconf-webhook-bot ${exec}\n`), exec);
  assert.ok(readme.includes(`sudo install -m 0600 .env.example ${envFile}\n`), envFile);
  assert.ok(readme.includes(`-p EnvironmentFile=${envFile} `), "step 3 reads the same file");
  assert.ok(readme.includes(`${exec} check-config\n`), "step 3 runs the same binary");
});

// /readyz is 503 while TrueConf is down, yet the bot accepts and queues hooks (202): a load
// balancer routed by /readyz turned those into its own errors, and docs/deploy.md told users to
// do that. Its "Health endpoints" section now says what each endpoint means and what a hook
// request gets for every problem /readyz can list: kept whole as problems are added.
Deno.test("docs/deploy.md's health endpoints: a load balancer watches /healthz, and every /readyz problem says what a hook request gets", async () => {
  const deploy = await read("docs/deploy.md");
  const section = /^## Health endpoints\n([\s\S]*?)^## /m.exec(deploy)?.[1] ?? "";
  assert.match(section, /\*\*a load balancer watches `\/healthz`, not `\/readyz`\.\*\*/);
  const rows = section.split("\n").filter((l) => l.startsWith("| `") && /`\d{3}/.test(l));
  for (const problem of [...Object.values(TRUECONF_PROBLEMS), ...Object.values(BOT_PROBLEMS)]) {
    assert.ok(
      rows.some((r) => r.split("|")[1]!.includes(`\`${problem}\``)),
      `no row says what a hook request gets while /readyz lists "${problem}"`,
    );
  }
  // The Docker section's pointer agrees.
  assert.match(deploy, /a load balancer watches `\/healthz` \(\[Health endpoints\]/);
});
