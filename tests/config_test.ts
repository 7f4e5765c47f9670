import assert from "node:assert/strict";
import {
  configWarnings,
  formatProblems,
  ignoredSettings,
  mergeDotenv,
  parseConfig,
  parseStorageConfig,
  readCaFile,
  SETTING_TABLE,
  settingDefault,
  SETTINGS,
  unknownVariables,
} from "../src/config.ts";
import { parseEnvFile } from "../src/env_file.ts";
import { readmeRows, readReadmeRows, renderEnvExample } from "../scripts/settings_docs.ts";

const MINIMAL = {
  TRUECONF_SERVER: "video.example.com",
  TRUECONF_USERNAME: "webhook_bot",
  TRUECONF_PASSWORD: "pw",
  WEBHOOK_PUBLIC_URL: "https://hooks.example.com/",
};

Deno.test("parseConfig() applies the reference bot's defaults", () => {
  const r = parseConfig(MINIMAL);
  assert.ok(r.ok);
  const c = r.config;
  assert.deepEqual(c.trueconf.auth, { username: "webhook_bot", password: "pw", clientId: null });
  assert.equal(c.trueconf.https, true);
  assert.equal(c.trueconf.verifyTls, true);
  assert.equal(c.trueconf.port, 443);
  assert.equal(c.publicUrl, "https://hooks.example.com");
  assert.deepEqual(c.http, {
    host: "0.0.0.0",
    port: 8080,
    headersTimeoutMs: 10_000,
    idleTimeoutMs: 75_000,
  });
  assert.equal(c.storagePath, "data/webhooks.kv");
  assert.equal(c.adminOnly, true);
  assert.deepEqual(c.rateLimit, { perTokenPerMinute: 60, perIpPerMinute: 120 });
  assert.equal(c.maxUploadBytes, 25 * 1024 * 1024);
  assert.equal(c.maxAttachments, 10);
  assert.equal(c.log.format, "json");
});

Deno.test("parseConfig() prefers TRUECONF_TOKEN over username and password", () => {
  const r = parseConfig({ ...MINIMAL, TRUECONF_TOKEN: "jwt" });
  assert.ok(r.ok);
  assert.deepEqual(r.config.trueconf.auth, { token: "jwt" });
  const tokenOnly = parseConfig({
    TRUECONF_SERVER: "srv",
    TRUECONF_TOKEN: "jwt",
    WEBHOOK_PUBLIC_URL: "http://x",
  });
  assert.ok(tokenOnly.ok);
});

Deno.test("parseConfig() reads booleans and numbers the way a sysadmin writes them", () => {
  const r = parseConfig({
    ...MINIMAL,
    TRUECONF_HTTPS: "false",
    TRUECONF_VERIFY_SSL: "0",
    TRUECONF_WEB_PORT: "4309",
    WEBHOOK_ADMIN_ONLY: "no",
    WEBHOOK_MAX_UPLOAD_MB: " 5 ",
    LOG_FORMAT: "pretty",
  });
  assert.ok(r.ok);
  assert.equal(r.config.trueconf.https, false);
  assert.equal(r.config.trueconf.verifyTls, false);
  assert.equal(r.config.trueconf.port, 4309);
  assert.equal(r.config.adminOnly, false);
  assert.equal(r.config.maxUploadBytes, 5 * 1024 * 1024);
  assert.equal(r.config.log.format, "pretty");
});

Deno.test("parseConfig() lists every problem at once, each with a good example", () => {
  const r = parseConfig({
    TRUECONF_SERVER: "https://video.example.com/",
    TRUECONF_VERIFY_SSL: "maybe",
    TRUECONF_WEB_PORT: "80x",
    WEBHOOK_PUBLIC_URL: "not a url",
    WEBHOOK_HTTP_PORT: "70000",
    WEBHOOK_URL_ALLOWLIST: "10.0.0.0/99",
    LOG_LEVEL: "loud",
  });
  assert.ok(!r.ok);
  const names = r.problems.map((p) => p.split(" ")[0]);
  for (
    const n of [
      "TRUECONF_SERVER",
      "TRUECONF_USERNAME",
      "TRUECONF_PASSWORD",
      "TRUECONF_VERIFY_SSL",
      "TRUECONF_WEB_PORT",
      "WEBHOOK_PUBLIC_URL",
      "WEBHOOK_HTTP_PORT",
      "WEBHOOK_URL_ALLOWLIST",
      "LOG_LEVEL",
    ]
  ) assert.ok(names.includes(n), `${n} missing from ${JSON.stringify(r.problems)}`);
  // Each problem shows a good value: an example, or the exact line to write instead.
  for (const p of r.problems) assert.match(p, /e\.g\. |[A-Z_]+=\S/, `no example in: ${p}`);
  const text = formatProblems(r.problems);
  assert.match(text, /^Configuration error: \d+ problems found\./);
});

Deno.test("parseConfig() reports missing auth together with missing required settings", () => {
  // zod skips object refinements after a type error; an empty environment must still list
  // every problem in one go (and in the documented order).
  const r = parseConfig({});
  assert.ok(!r.ok);
  assert.deepEqual(r.problems.map((p) => p.split(" ")[0]), [
    "TRUECONF_SERVER",
    "TRUECONF_USERNAME",
    "TRUECONF_PASSWORD",
    "WEBHOOK_PUBLIC_URL",
  ]);
});

Deno.test("parseConfig() never prints secret values in its problems", () => {
  const r = parseConfig({
    TRUECONF_SERVER: "",
    TRUECONF_USERNAME: "bot",
    TRUECONF_PASSWORD: "hunter2-very-secret",
    METRICS_TOKEN: "metrics-secret-value",
    WEBHOOK_PUBLIC_URL: "ftp://x",
  });
  assert.ok(!r.ok);
  const text = formatProblems(r.problems);
  assert.ok(!text.includes("hunter2-very-secret"));
  assert.ok(!text.includes("metrics-secret-value"));
});

Deno.test("mergeDotenv() never overrides variables already set", () => {
  const env: Record<string, string | undefined> = { A: "from-env" };
  const set = mergeDotenv(env, 'A=from-file\nB="two words"\n# comment\nexport C=3\n');
  assert.equal(env.A, "from-env");
  assert.equal(env.B, "two words");
  assert.equal(env.C, "3");
  assert.deepEqual(set.sort(), ["B", "C"]);
});

Deno.test("parseEnvFile() reads a value the way systemd's EnvironmentFile does", () => {
  const { values, badLines } = parseEnvFile([
    "PLAIN=Pa$word#1", // systemd: literal, # and $ included (node's parseEnv cut it at #)
    `SINGLE='Pa$w"ord #1'`,
    String.raw`DOUBLE="a\"b\$c\n"`,
    "  SPACED =  x y  ",
    "; a systemd comment",
    "  # an indented comment",
    String.raw`ESCAPED=a\#b`,
    "CONT=one\\",
    "two",
    "MULTI='line1",
    "line2'",
    "not a setting line",
    "EMPTY=",
  ].join("\n"));
  assert.deepEqual(values, {
    PLAIN: "Pa$word#1",
    SINGLE: 'Pa$w"ord #1',
    DOUBLE: String.raw`a"b$c\n`,
    SPACED: "x y",
    ESCAPED: "a#b",
    CONT: "onetwo",
    MULTI: "line1\nline2",
    EMPTY: "",
  });
  assert.deepEqual(badLines, [12]);
});

Deno.test("parseEnvFile() reports the first quote never closed, with its line and variable", () => {
  assert.equal(parseEnvFile("A='x'\nB=\"y\"\n").unclosed, null);
  assert.deepEqual(parseEnvFile('# c\nA="x\nB=2\n').unclosed, { line: 2, name: "A", quote: '"' });
  assert.deepEqual(parseEnvFile("A=1\nexport  P='it''s\nB=2").unclosed, {
    line: 2,
    name: "P",
    quote: "'",
  });
});

Deno.test(".env.example and the README table are generated from the settings table", async () => {
  // `deno task settings` rewrites both; this fails when someone edits one by hand or adds a
  // setting without regenerating them.
  const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
  const example = await Deno.readTextFile(new URL("../.env.example", import.meta.url));
  assert.equal(example, renderEnvExample(), "run `deno task settings`");
  const rows = readReadmeRows(readme);
  assert.deepEqual(rows, readmeRows(), "run `deno task settings`");
  // And the files really carry each default, not only the generator's idea of it.
  for (const s of SETTINGS) {
    const row = rows.find((r) => r[0] === `\`${s.name}\``);
    assert.equal(row?.[2], s.default === "" ? "—" : `\`${s.default}\``, s.name);
    const block = example.split("\n\n").find((b) => new RegExp(`^#? ?${s.name}=`, "m").test(b));
    assert.ok(block?.includes(`Default: ${s.default || "(empty)"}.`), s.name);
  }
});

// The generated table cannot keep the prose true: docs/delivery.md named a
// `WEBHOOK_DELIVERY_TIMEOUT` no bot reads (session 14's audit). Every name with one of the
// settings' prefixes in the README, docs/ and the deploy files is a setting, or one of the few
// names listed here that stand for something else.
Deno.test("every setting name the README, docs/ and deploy files write is one the bot reads", async () => {
  const notSettings: Record<string, string> = {
    WEBHOOK_RATE_LIMIT_PER_MINUTES: "docs/deploy.md: a misspelt name, on purpose",
    WEBHOOK_SECRET: "docs/outgoing.md: the receiving service's own variable",
    TRUECONF_PROBLEMS: "docs/design.md: a constant in src/readiness.ts",
  };
  const known = new Set(SETTINGS.map((s) => s.name as string));
  const root = new URL("../", import.meta.url);
  const files = ["README.md", ".env.example", "Dockerfile", "docker-compose.yml"];
  for (const dir of ["docs", "deploy"]) {
    for await (const e of Deno.readDir(new URL(dir, root))) files.push(`${dir}/${e.name}`);
  }
  const unknown: string[] = [];
  for (const file of files) {
    const text = await Deno.readTextFile(new URL(file, root));
    for (
      const [name] of text.matchAll(/\b(?:TRUECONF|WEBHOOK|METRICS|LOG)_[A-Z0-9_]*[A-Z0-9]\b/g)
    ) {
      if (!known.has(name) && !(name in notSettings)) unknown.push(`${file}: ${name}`);
    }
  }
  assert.deepEqual(unknown, []);
});

Deno.test("parseConfig() takes every default from the settings table", () => {
  const r = parseConfig(MINIMAL);
  assert.ok(r.ok);
  assert.equal(SETTING_TABLE.WEBHOOK_HTTP_PORT.default, "8080");
  assert.equal(r.config.http.port, settingDefault("WEBHOOK_HTTP_PORT"));
  assert.equal(r.config.storagePath, settingDefault("WEBHOOK_STORAGE_PATH"));
  assert.equal(r.config.shutdownGraceMs, settingDefault("WEBHOOK_SHUTDOWN_GRACE_SECONDS") * 1000);
  assert.equal(r.config.queue.maxTotal, settingDefault("WEBHOOK_QUEUE_MAX_TOTAL"));
});

Deno.test("booleans accept true/false, yes/no, on/off, 1/0, and the error says so", () => {
  const words = [["yes", true], ["On", true], ["1", true], ["off", false], ["NO", false], [
    "0",
    false,
  ]] as const;
  for (const [word, value] of words) {
    const r = parseConfig({ ...MINIMAL, WEBHOOK_ADMIN_ONLY: word });
    assert.ok(r.ok, word);
    assert.equal(r.config.adminOnly, value, word);
  }
  const bad = parseConfig({ ...MINIMAL, WEBHOOK_ADMIN_ONLY: "maybe" });
  assert.ok(!bad.ok);
  assert.equal(
    bad.problems[0],
    "WEBHOOK_ADMIN_ONLY must be true or false (yes/no, on/off and 1/0 are read the same way) (e.g. WEBHOOK_ADMIN_ONLY=true)",
  );
});

// A `# comment` after a value is part of the value, for the bot and for systemd alike:
// `WEBHOOK_HTTP_PORT=8080 # the bot` in a .env was "must be a whole number", a riddle.
Deno.test("a # comment after a value is named as the cause; a list's bad entry is named once", () => {
  const problems = (env: Record<string, string>) => {
    const r = parseConfig({ ...MINIMAL, ...env });
    assert.ok(!r.ok);
    return r.problems;
  };
  assert.deepEqual(problems({ WEBHOOK_HTTP_PORT: "8080 # the bot" }), [
    "WEBHOOK_HTTP_PORT must be a whole number from 0 to 65535; its value has a # after a blank, which is part of the value (as systemd reads it too): put comments on their own line (e.g. WEBHOOK_HTTP_PORT=8080)",
  ]);
  assert.deepEqual(problems({ LOG_LEVEL: "verbose" }), [
    "LOG_LEVEL must be debug, info, warn or error (e.g. LOG_LEVEL=info)",
  ]);
  // A list names its bad entry (the setting's name was printed twice for the allowlist).
  assert.deepEqual(problems({ WEBHOOK_URL_ALLOWLIST: "grafana.intra,bad entry" }), [
    'WEBHOOK_URL_ALLOWLIST has a bad entry "bad entry": expected a host name, *.domain, an IP address or a CIDR (e.g. WEBHOOK_URL_ALLOWLIST=10.0.0.0/8,grafana.intra)',
  ]);
  assert.deepEqual(problems({ WEBHOOK_TRUSTED_PROXIES: "10.0.0.0/8,10.0.0.300" }), [
    'WEBHOOK_TRUSTED_PROXIES has a bad entry: "10.0.0.300" is not an IP address or CIDR range (e.g. WEBHOOK_TRUSTED_PROXIES=127.0.0.1/32,10.1.2.3/32)',
  ]);
  const secret = problems({ METRICS_TOKEN: "has space" });
  assert.ok(!secret[0]!.includes("has space"), secret[0]!);
});

Deno.test("TRUECONF_SERVER given as a URL: the value repeated and where each part goes", () => {
  const problem = (v: string) => {
    const r = parseConfig({ ...MINIMAL, TRUECONF_SERVER: v });
    assert.ok(!r.ok);
    return r.problems[0]!;
  };
  assert.equal(
    problem("https://video.example.com"),
    'TRUECONF_SERVER is "https://video.example.com": give the host name alone and the rest in their own settings: TRUECONF_SERVER=video.example.com, TRUECONF_HTTPS=true',
  );
  assert.equal(
    problem("video.example.com/"),
    'TRUECONF_SERVER is "video.example.com/": give the host name alone and the rest in their own settings: TRUECONF_SERVER=video.example.com',
  );
  assert.equal(
    problem("video.example.com:4309"),
    'TRUECONF_SERVER is "video.example.com:4309": give the host name alone and the rest in their own settings: TRUECONF_SERVER=video.example.com, TRUECONF_WEB_PORT=4309',
  );
  assert.match(
    problem("http://tc:8080/api"),
    /TRUECONF_HTTPS=false, TRUECONF_WEB_PORT=8080 \(a path is not used/,
  );
});

Deno.test("WEBHOOK_SECRET_KEY must be 32 bytes of base64, and is never echoed", () => {
  const key = btoa(String.fromCharCode(...new Uint8Array(32).fill(7)));
  const r = parseConfig({ ...MINIMAL, WEBHOOK_SECRET_KEY: key });
  assert.ok(r.ok);
  assert.equal(r.config.secretKey, key);
  const short = parseConfig({ ...MINIMAL, WEBHOOK_SECRET_KEY: "c2hvcnQta2V5" });
  assert.ok(!short.ok);
  assert.match(
    short.problems[0]!,
    /^WEBHOOK_SECRET_KEY must be the base64 text of 32 random bytes/,
  );
  assert.ok(!short.problems[0]!.includes("c2hvcnQta2V5"));
});

Deno.test("METRICS_TOKEN must be a bearer token, and its value is never echoed", () => {
  assert.ok(parseConfig({ ...MINIMAL, METRICS_TOKEN: "abc.DEF_~+/-==" }).ok);
  const r = parseConfig({ ...MINIMAL, METRICS_TOKEN: "has space#secret" });
  assert.ok(!r.ok);
  assert.equal(
    r.problems[0],
    "METRICS_TOKEN may contain only letters, digits and . _ ~ + / - (and = at the end), the characters of a bearer token (e.g. METRICS_TOKEN=change-me)",
  );
});

Deno.test("LOG_FORMAT=auto (the default) is journal under systemd's journal, json elsewhere", () => {
  const format = (env: Record<string, string>) => {
    const r = parseConfig({ ...MINIMAL, ...env });
    assert.ok(r.ok);
    return r.config.log.format;
  };
  assert.equal(format({}), "json");
  assert.equal(format({ JOURNAL_STREAM: "8:12345" }), "journal");
  assert.equal(format({ JOURNAL_STREAM: "8:12345", LOG_FORMAT: "json" }), "json");
  assert.equal(format({ LOG_FORMAT: "journal" }), "journal");
});

Deno.test("an empty WEBHOOK_PUBLIC_URL= is reported as required", () => {
  const r = parseConfig({ ...MINIMAL, WEBHOOK_PUBLIC_URL: "  " });
  assert.ok(!r.ok);
  assert.deepEqual(r.problems, [
    "WEBHOOK_PUBLIC_URL is required (e.g. WEBHOOK_PUBLIC_URL=https://hooks.example.com)",
  ]);
});

Deno.test("parseStorageConfig() needs nothing but the storage path", () => {
  const r = parseStorageConfig({ WEBHOOK_STORAGE_PATH: "/srv/bot/webhooks.kv" });
  assert.ok(r.ok);
  assert.deepEqual(r.config, {
    storagePath: "/srv/bot/webhooks.kv",
    publicUrl: null,
    secretKey: null,
    log: { level: "info", format: "json" },
  });
  const withUrl = parseStorageConfig({ WEBHOOK_PUBLIC_URL: "https://x.example/tc/" });
  assert.ok(withUrl.ok);
  assert.equal(withUrl.config.storagePath, "data/webhooks.kv");
  assert.equal(withUrl.config.publicUrl, "https://x.example/tc");
  const bad = parseStorageConfig({ WEBHOOK_PUBLIC_URL: "ftp://x", TRUECONF_SERVER: "https://x" });
  assert.ok(!bad.ok);
  assert.deepEqual(bad.problems.map((p) => p.split(" ")[0]), ["WEBHOOK_PUBLIC_URL"]);
});

Deno.test("unknownVariables() warns about our prefixes with a did-you-mean, never a value", () => {
  const warnings = unknownVariables({
    WEBHOOK_RATE_LIMIT_PER_MINUTES: "secret-ish-30",
    TRUECONF_PASSWROD: "x",
    LOG_LEVLE: "debug",
    METRICS_TOKN: "t",
    WEBHOOK_SOMETHING_ELSE_ENTIRELY: "1",
    WEBHOOK_HOST_PORT: "8081", // read by docker compose from the same .env: known
    TRUECONF_SERVER: "x",
    PATH: "/usr/bin",
    HOME: "/root",
  });
  assert.deepEqual(warnings, [
    "LOG_LEVLE is not a setting of this bot and is ignored; did you mean LOG_LEVEL?",
    "METRICS_TOKN is not a setting of this bot and is ignored; did you mean METRICS_TOKEN?",
    "TRUECONF_PASSWROD is not a setting of this bot and is ignored; did you mean TRUECONF_PASSWORD?",
    "WEBHOOK_RATE_LIMIT_PER_MINUTES is not a setting of this bot and is ignored; did you mean WEBHOOK_RATE_LIMIT_PER_MINUTE?",
    "WEBHOOK_SOMETHING_ELSE_ENTIRELY is not a setting of this bot and is ignored; the settings are listed in .env.example",
  ]);
});

Deno.test("configWarnings() flags plain HTTP to port 443 (the default) and a public URL without TLS", () => {
  const warn = (env: Record<string, string>) => {
    const r = parseConfig({ ...MINIMAL, ...env });
    assert.ok(r.ok);
    return configWarnings(r.config);
  };
  assert.deepEqual(warn({}), []);
  assert.deepEqual(warn({ TRUECONF_HTTPS: "false", TRUECONF_WEB_PORT: "4309" }), []);
  assert.deepEqual(warn({ TRUECONF_HTTPS: "true", TRUECONF_WEB_PORT: "8443" }), []);
  const w = warn({ TRUECONF_HTTPS: "false" });
  assert.equal(w.length, 1);
  assert.match(w[0]!, /TRUECONF_HTTPS=false .*443.*TRUECONF_WEB_PORT=4309/);
  // Hook URLs are secrets: handed out over plain HTTP they travel readable, unless only to
  // this machine (a demo, a test).
  // A CA file the connection never uses: the operator believes TrueConf's certificate is checked.
  assert.deepEqual(warn({ TRUECONF_CA_FILE: "/etc/ca.pem", TRUECONF_VERIFY_SSL: "false" }), [
    "TRUECONF_CA_FILE is set but not used: TRUECONF_VERIFY_SSL=false verifies nothing. Remove one of the two settings.",
  ]);
  assert.deepEqual(warn({ TRUECONF_CA_FILE: "/etc/ca.pem" }), []);
  assert.deepEqual(warn({ WEBHOOK_PUBLIC_URL: "http://127.0.0.1:8080" }), []);
  assert.deepEqual(warn({ WEBHOOK_PUBLIC_URL: "http://localhost:8080/tc" }), []);
  assert.deepEqual(warn({ WEBHOOK_PUBLIC_URL: "http://bot.intra:8080/tc" }), [
    "WEBHOOK_PUBLIC_URL is plain HTTP (http://bot.intra:8080): every hook URL carries its secret token, readable by anyone on the way. Serve it over HTTPS through a reverse proxy with TLS (deploy/Caddyfile.example, deploy/nginx.conf.example).",
  ]);
});

// Deno's own words were "invalid host 'http://0.0.0.0': invalid char found in FQDN", at listen
// time and with exit 1, naming no setting.
Deno.test("WEBHOOK_HTTP_HOST: a URL or address:port names the parts; addresses and names pass", () => {
  const host = (v: string) => parseConfig({ ...MINIMAL, WEBHOOK_HTTP_HOST: v });
  const accepted: [string, string][] = [
    ["0.0.0.0", "0.0.0.0"],
    ["::", "::"],
    ["[::1]", "::1"],
    ["localhost", "localhost"],
    ["bot.internal.example.com", "bot.internal.example.com"],
  ];
  for (const [given, wanted] of accepted) {
    const r = host(given);
    assert.ok(r.ok, given);
    assert.equal(r.config.http.host, wanted);
  }
  const problem = (v: string) => {
    const r = host(v);
    assert.ok(!r.ok, v);
    return r.problems;
  };
  assert.deepEqual(problem("0.0.0.0:8080"), [
    'WEBHOOK_HTTP_HOST is "0.0.0.0:8080": give the address alone (WEBHOOK_HTTP_HOST=0.0.0.0, WEBHOOK_HTTP_PORT=8080)',
  ]);
  assert.deepEqual(problem("http://127.0.0.1"), [
    'WEBHOOK_HTTP_HOST is "http://127.0.0.1": give the address alone (WEBHOOK_HTTP_HOST=127.0.0.1)',
  ]);
  assert.deepEqual(problem("[::1]:9000"), [
    'WEBHOOK_HTTP_HOST is "[::1]:9000": give the address alone (WEBHOOK_HTTP_HOST=::1, WEBHOOK_HTTP_PORT=9000)',
  ]);
  assert.deepEqual(problem("my host"), [
    'WEBHOOK_HTTP_HOST is "my host": give an IP address of this machine or a host name (0.0.0.0 listens on every interface, 127.0.0.1 only for a reverse proxy on this host)',
  ]);
});

// "~/data/webhooks.kv" made a folder named "~" in the working directory (nothing expands it),
// and "data/" passed check-config, then serve failed with "not writable by this user: Is a
// directory".
Deno.test("WEBHOOK_STORAGE_PATH: ~, $VARIABLES and a trailing / are refused with the fix", () => {
  const problem = (v: string) => {
    const r = parseConfig({ ...MINIMAL, WEBHOOK_STORAGE_PATH: v });
    assert.ok(!r.ok, v);
    return r.problems;
  };
  const expand =
    "nothing expands ~ or $VARIABLES here (neither the bot nor systemd's EnvironmentFile does): write the full path, e.g. WEBHOOK_STORAGE_PATH=/var/lib/trueconf-webhook-bot/webhooks.kv";
  assert.deepEqual(problem("~/data/webhooks.kv"), [
    `WEBHOOK_STORAGE_PATH is "~/data/webhooks.kv": ${expand}`,
  ]);
  assert.deepEqual(problem("${STATE_DIRECTORY}/webhooks.kv"), [
    `WEBHOOK_STORAGE_PATH is "\${STATE_DIRECTORY}/webhooks.kv": ${expand}`,
  ]);
  assert.deepEqual(problem("/srv/bot/data/"), [
    'WEBHOOK_STORAGE_PATH is "/srv/bot/data/", a folder: name the database file inside it, e.g. WEBHOOK_STORAGE_PATH=/srv/bot/data/webhooks.kv',
  ]);
  // The offline commands read the same setting the same way.
  assert.ok(!parseStorageConfig({ WEBHOOK_STORAGE_PATH: "~/x.kv" }).ok);
  for (
    const fine of [
      "data/webhooks.kv",
      "/var/lib/x/webhooks.kv",
      ":memory:",
      "https://kv.internal:4512",
    ]
  ) {
    const key = btoa("k".repeat(32));
    const r = parseConfig({ ...MINIMAL, WEBHOOK_STORAGE_PATH: fine, WEBHOOK_SECRET_KEY: key });
    assert.ok(r.ok, fine);
    assert.equal(r.config.storagePath, fine);
  }
  // A KV Connect store keeps no key file: the key must be given (serve stopped at start with
  // this while check-config passed).
  for (const parse of [parseConfig, parseStorageConfig]) {
    const r = parse({ ...MINIMAL, WEBHOOK_STORAGE_PATH: "https://kv.internal:4512" });
    assert.ok(!r.ok);
    assert.deepEqual(r.problems, [
      "WEBHOOK_SECRET_KEY is required with a KV Connect WEBHOOK_STORAGE_PATH (an http(s) URL has no folder for the secret.key file): generate one with openssl rand -base64 32",
    ]);
  }
  const v6 = parseConfig({ ...MINIMAL, TRUECONF_SERVER: "fd00::5" });
  assert.ok(!v6.ok);
  assert.deepEqual(v6.problems, [
    'TRUECONF_SERVER is "fd00::5": an IPv6 address goes in brackets: TRUECONF_SERVER=[fd00::5]',
  ]);
});

// The README says a ready token wins over the login, but nothing told an operator who left both:
// they believed the bot renewed its token from the password until the static one expired.
Deno.test("ignoredSettings(): a login beside TRUECONF_TOKEN is named as ignored, never its value", () => {
  assert.deepEqual(ignoredSettings({ TRUECONF_USERNAME: "bot", TRUECONF_PASSWORD: "pw" }), []);
  assert.deepEqual(ignoredSettings({ TRUECONF_TOKEN: "eyJ.x.y" }), []);
  const [w] = ignoredSettings({
    TRUECONF_TOKEN: "eyJ.x.y",
    TRUECONF_USERNAME: "bot",
    TRUECONF_PASSWORD: "hunter2",
    TRUECONF_CLIENT_ID: " ",
  });
  assert.equal(
    w,
    "TRUECONF_USERNAME, TRUECONF_PASSWORD are ignored: TRUECONF_TOKEN is set and wins, and is never renewed (the bot stops working when it expires). Remove TRUECONF_TOKEN to log in with the password (renewed automatically), or remove those settings.",
  );
});

Deno.test({
  name: "readCaFile: a file Deno may not read is named without Deno's --allow-read advice",
  permissions: { read: false },
  async fn() {
    const path = "/etc/trueconf/ca.pem";
    const err = await readCaFile(path).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof Error, "the read should be refused");
    assert.equal(
      err.message,
      `TRUECONF_CA_FILE ${path} cannot be read: Requires read access to "${path}"`,
    );
  },
});
