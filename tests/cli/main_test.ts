// The real CLI as an operator runs it: `deno run src/main.ts …` as a subprocess with a clean
// environment and a temporary working directory (so no `.env` from the repository leaks in),
// against the fake TrueConf server over real sockets where TrueConf is involved.
import assert from "node:assert/strict";
import { join } from "node:path";
import { VERSION } from "../../src/version.ts";
import { FakeTrueConf, makeTestCertificates } from "../support/fake_trueconf.ts";
import { acquireLease } from "../../src/storage/mod.ts";
import { spawnServe } from "../support/serve_process.ts";
import { closedPort } from "../support/closed_port.ts";

const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;
// The config is found from the working directory, which is a temp dir here: name it.
const CONFIG = new URL("../../deno.json", import.meta.url).pathname;
const FIXTURE = new URL("../hooks/fixtures/webhooks.json", import.meta.url).pathname;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the CLI in `cwd` with only `env` plus what Deno itself needs to find its cache, and
 * `input` (if given) on its standard input.
 */
async function cli(
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
  input?: string,
  permissions: readonly string[] = ["-A"],
  signal?: AbortSignal,
): Promise<Run> {
  const base: Record<string, string> = { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" };
  for (const name of ["HOME", "DENO_DIR", "PATH", "XDG_CACHE_HOME"]) {
    const v = Deno.env.get(name);
    if (v !== undefined) base[name] = v;
  }
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...permissions, "--frozen", "--config", CONFIG, MAIN, ...args],
    cwd,
    env: { ...base, ...env },
    clearEnv: true,
    stdin: input === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    ...(signal ? { signal } : {}),
  }).spawn();
  if (input !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(input));
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function tempDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix: "cli-main-test-" });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  };
}

/** Settings of commands that only need the store: the storage path, nothing of TrueConf. */
function storeEnv(dir: string): Record<string, string> {
  return { WEBHOOK_STORAGE_PATH: join(dir, "data", "webhooks.kv") };
}

/** Settings `serve` and `check-config` accept (TrueConf is not reached by the tests using them). */
function serveEnv(dir: string): Record<string, string> {
  return {
    TRUECONF_SERVER: "video.example.com",
    TRUECONF_TOKEN: "static-token-not-used",
    WEBHOOK_PUBLIC_URL: "https://hooks.example.com",
    ...storeEnv(dir),
  };
}

/** `hooks create` through the CLI; the new hook's id. */
async function createHook(
  cwd: string,
  env: Record<string, string>,
  chat: string,
  name: string,
): Promise<string> {
  const made = await cli(["hooks", "create", "--chat", chat, "--name", name, "--json"], cwd, env);
  assert.equal(made.code, 0, made.stderr);
  return JSON.parse(made.stdout).id as string;
}

/** A WEBHOOK_SECRET_KEY value: base64 of 32 random bytes. */
function randomSecretKey(): string {
  return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
}

function fakeEnv(fake: FakeTrueConf, password = "secret"): Record<string, string> {
  return {
    // check-config tries the listen address: port 0 keeps it off ports others may use.
    WEBHOOK_HTTP_HOST: "127.0.0.1",
    WEBHOOK_HTTP_PORT: "0",
    TRUECONF_SERVER: "127.0.0.1",
    TRUECONF_HTTPS: "false",
    TRUECONF_WEB_PORT: String(fake.port),
    TRUECONF_USERNAME: "webhook_bot",
    TRUECONF_PASSWORD: password,
    WEBHOOK_PUBLIC_URL: "https://hooks.example.com",
  };
}

Deno.test("version prints the version, alone on stdout", async () => {
  await using dir = await tempDir();
  for (const args of [["version"], ["--version"], ["-V"], ["-v"]]) {
    const r = await cli(args, dir.path);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), VERSION);
  }
  // For scripts, as the other commands' --json.
  const json = await cli(["version", "--json"], dir.path);
  assert.equal(json.code, 0, json.stderr);
  assert.deepEqual(JSON.parse(json.stdout), { version: VERSION, deno: Deno.version.deno });
  const typo = await cli(["version", "--jsn"], dir.path);
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /version takes only --json, not "--jsn"/);
});

Deno.test("--help and <command> --help exit 0 with usage text", async () => {
  await using dir = await tempDir();
  const top = await cli(["--help"], dir.path);
  assert.equal(top.code, 0, top.stderr);
  for (const cmd of ["serve", "check-config", "hooks list", "import-json", "healthcheck"]) {
    assert.ok(top.stdout.includes(cmd), `top-level help mentions ${cmd}`);
  }
  // Every hooks subcommand is named there, backup and queue included (they were left out).
  const hooksLine = top.stdout.slice(
    top.stdout.indexOf("hooks list"),
    top.stdout.indexOf("import-json"),
  );
  for (const sub of ["create", "rotate", "revoke", "queue", "export", "import"]) {
    assert.match(hooksLine, new RegExp(`\\b${sub}\\b`), `top-level help names hooks ${sub}`);
  }
  // No settings are given: help must not need any.
  for (const cmd of ["serve", "check-config", "hooks", "import-json", "healthcheck", "version"]) {
    const r = await cli([cmd, "--help"], dir.path);
    assert.equal(r.code, 0, `${cmd} --help: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^Usage: trueconf-webhook-bot ${cmd}`), cmd);
  }
});

// Since session 17 a signal to a bot not serving yet (a standby) exits 0 at once; a supervisor
// reading serve --help should not expect the graceful stop's wait there.
Deno.test("serve --help says a signal before serving exits 0 at once", async () => {
  await using dir = await tempDir();
  const r = await cli(["serve", "--help"], dir.path);
  assert.match(r.stdout.replace(/\s+/g, " "), /before it serves[^.]*exits 0 at once/);
});

// README's CLI block and docs/chat_commands.md's operator block are what an operator types from;
// each command, hooks subcommand and option they show must be one the command's --help knows.
Deno.test("every command, hooks subcommand and option the README and chat_commands.md show is in its --help", async () => {
  await using dir = await tempDir();
  const help = new Map<string, string>();
  const helpOf = async (args: string[]) => {
    const key = args.join(" ");
    if (!help.has(key)) {
      const r = await cli([...args, "--help"], dir.path);
      assert.equal(r.code, 0, `${key} --help: ${r.stderr}`);
      help.set(key, r.stdout);
    }
    return help.get(key)!;
  };
  let shown = 0;
  for (const doc of ["README.md", "docs/chat_commands.md"]) {
    const text = await Deno.readTextFile(new URL(`../../${doc}`, import.meta.url));
    for (const [, command, rest] of text.matchAll(/^\s*trueconf-webhook-bot ([a-z-]+)(.*)$/gm)) {
      const typed = rest!.replace(/#.*/, "");
      const sub = command === "hooks" ? typed.trim().split(" ")[0]! : "";
      const page = await helpOf(sub === "queue" ? ["hooks", "queue"] : [command!]);
      for (const word of sub.split("|").filter(Boolean)) {
        assert.match(await helpOf(["hooks"]), new RegExp(`\\b${word}\\b`), `${doc}: hooks ${word}`);
      }
      for (const [option] of typed.matchAll(/--[a-z-]+/g)) {
        assert.ok(
          page.includes(option),
          `${doc}: ${command} ${sub} ${option} is not in its --help`,
        );
        shown++;
      }
    }
  }
  assert.ok(shown >= 12, `only ${shown} options found in the docs' command blocks`);
});

// `help <command>` is how git, cargo and go ask for one command's help; it printed the general
// usage, which only says to run '<command> --help'.
Deno.test("help <command> prints that command's help, as <command> --help does", async () => {
  await using dir = await tempDir();
  for (const args of [["check-config"], ["hooks"], ["import-json"], ["hooks", "queue"]]) {
    const asked = await cli(["help", ...args], dir.path);
    const same = await cli([...args, "--help"], dir.path);
    assert.equal(asked.code, 0, asked.stderr);
    assert.equal(asked.stdout, same.stdout, args.join(" "));
    assert.match(asked.stdout, new RegExp(`^Usage: trueconf-webhook-bot ${args.join(" ")}`));
  }
  const unknown = await cli(["help", "frobnicate"], dir.path);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /Unknown command "frobnicate"/);
});

// `hooks --help` sends the reader to `hooks queue --help`, which printed `hooks --help` again.
Deno.test("hooks queue --help shows the queue commands", async () => {
  await using dir = await tempDir();
  const r = await cli(["hooks", "queue", "--help"], dir.path);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Usage: trueconf-webhook-bot hooks queue /);
  assert.match(r.stdout, /retry/);
  assert.match(r.stdout, /drop/);
  // A command the bot could not carry out is answered as failed (exit 1) since session 17.
  assert.match(r.stdout, /could not carry out[^]*exit 1/);
});

Deno.test("an unknown command or bad arguments exit 2 with usage on stderr", async () => {
  await using dir = await tempDir();
  const r = await cli(["frobnicate"], dir.path);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /Unknown command "frobnicate"/);
  assert.match(r.stderr, /Usage:/);
  assert.equal(r.stdout, "");

  const env = serveEnv(dir.path);
  for (const args of [["hooks"], ["hooks", "delete", "x"], ["import-json"], ["serve", "extra"]]) {
    const bad = await cli(args, dir.path, env);
    assert.equal(bad.code, 2, args.join(" "));
    assert.match(bad.stderr, /Usage:/, args.join(" "));
  }
});

// A mistyped option is named, and named first: it was checked only after the settings, so
// `serve --standy` on a machine without settings listed the missing settings and never the
// typo, and with settings printed the usage without saying what was wrong.
Deno.test("serve and check-config name an unknown option, before any settings problem", async () => {
  await using dir = await tempDir();
  for (const env of [{}, serveEnv(dir.path)]) {
    for (
      const args of [["serve", "--standy"], ["check-config", "--send-tset"], ["healthcheck", "-x"]]
    ) {
      const r = await cli(args, dir.path, env);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`^error: unknown option "${args[1]}"\n`), args.join(" "));
      assert.match(r.stderr, new RegExp(`Usage: trueconf-webhook-bot ${args[0]}`));
      assert.doesNotMatch(r.stderr, /Configuration error/);
      assert.equal(r.stdout, "");
    }
  }
});

// serve meets the same busy port check-config warns about, and says the same: what is wrong and
// what to do (it logged only "cannot listen" with "Address already in use (os error 98)").
Deno.test("serve on a busy port: exit 1 with check-config's sentence naming the setting", async () => {
  await using dir = await tempDir();
  using busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const env = {
    ...serveEnv(dir.path),
    WEBHOOK_HTTP_HOST: "127.0.0.1",
    WEBHOOK_HTTP_PORT: String(busy.addr.port),
    LOG_FORMAT: "json",
  };
  const r = await cli(["serve"], dir.path, env);
  assert.equal(r.code, 1, r.stderr);
  const error = r.stderr.split("\n").filter(Boolean).map((l) => JSON.parse(l)).find((l) =>
    l.level === "error"
  );
  assert.equal(
    error?.msg,
    `127.0.0.1:${busy.addr.port} is in use by another program (\`ss -ltnp 'sport = :${busy.addr.port}'\` shows which): stop it or set WEBHOOK_HTTP_PORT`,
    r.stderr,
  );
  const check = await cli(["check-config"], dir.path, env);
  assert.ok(check.stdout.includes(`FAIL  listen    ${error.msg}`), check.stdout);
});

// WEBHOOK_HTTP_HOST was taken as written: "0.0.0.0:8080" failed at listen time with exit 1 and
// Deno's "invalid char found in FQDN", and a name that does not resolve said only that.
Deno.test("WEBHOOK_HTTP_HOST: address:port is exit 2 naming both settings; an unresolvable name is named", async () => {
  await using dir = await tempDir();
  const env = { ...serveEnv(dir.path), WEBHOOK_HTTP_HOST: "0.0.0.0:8080", LOG_FORMAT: "json" };
  const problem =
    'WEBHOOK_HTTP_HOST is "0.0.0.0:8080": give the address alone (WEBHOOK_HTTP_HOST=0.0.0.0, WEBHOOK_HTTP_PORT=8080)';
  for (const command of ["serve", "check-config"]) {
    const r = await cli([command], dir.path, env);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.ok(r.stderr.includes(`  - ${problem}\n`), r.stderr);
  }
  const unresolved = { ...env, WEBHOOK_HTTP_HOST: "no-such-host.invalid", WEBHOOK_HTTP_PORT: "0" };
  const sentence =
    "no-such-host.invalid:0: the host name no-such-host.invalid (WEBHOOK_HTTP_HOST) does not resolve on this machine: give one of its IP addresses (0.0.0.0 listens on all)";
  const fake = await FakeTrueConf.start();
  try {
    const check = await cli(["check-config"], dir.path, {
      ...fakeEnv(fake),
      ...storeEnv(dir.path),
      WEBHOOK_HTTP_HOST: "no-such-host.invalid",
    });
    assert.equal(check.code, 1, check.stdout + check.stderr);
    assert.ok(check.stdout.includes(`FAIL  listen    ${sentence}\n`), check.stdout);
  } finally {
    await fake.close();
  }
  const serve = await cli(["serve"], dir.path, unresolved);
  assert.equal(serve.code, 1, serve.stderr);
  const error = serve.stderr.split("\n").filter(Boolean).map((l) => JSON.parse(l)).find((l) =>
    l.level === "error"
  );
  assert.equal(error?.msg, sentence, serve.stderr);
});

Deno.test("serve with missing settings: exit 2, one message listing every problem, no secrets", async () => {
  await using dir = await tempDir();
  const password = "hunter2-do-not-print";
  const metricsToken = "metrics-secret-do-not-print";
  const r = await cli(["serve"], dir.path, {
    TRUECONF_PASSWORD: password,
    METRICS_TOKEN: metricsToken,
    TRUECONF_WEB_PORT: "not-a-port",
  });
  assert.equal(r.code, 2);
  assert.equal(r.stdout, "");
  const all = r.stdout + r.stderr;
  assert.equal(all.match(/Configuration error/g)?.length, 1, all);
  for (
    const name of [
      "TRUECONF_SERVER",
      "WEBHOOK_PUBLIC_URL",
      "TRUECONF_USERNAME",
      "TRUECONF_WEB_PORT",
    ]
  ) {
    assert.match(r.stderr, new RegExp(`^  - ${name} `, "m"), `${name} listed in:\n${r.stderr}`);
  }
  assert.match(r.stderr, /problems found/);
  assert.ok(!all.includes(password), "password printed");
  assert.ok(!all.includes(metricsToken), "metrics token printed");
  assert.ok(!all.includes("not-a-port"), "raw values are not echoed");
  // Nothing was started, so no storage folder was created either.
  assert.deepEqual([...Deno.readDirSync(dir.path)], []);
});

Deno.test("check-config against the fake: PASS (exit 0); wrong password: FAIL (exit 1)", async () => {
  await using dir = await tempDir();
  const fake = await FakeTrueConf.start();
  try {
    const ok = await cli(["check-config"], dir.path, fakeEnv(fake));
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /^settings: OK /m);
    assert.match(
      ok.stdout,
      new RegExp(`^PASS: the bot can log in to TrueConf as ${fake.botId}`, "m"),
    );
    assert.doesNotMatch(ok.stdout, /^FAIL/m);

    const bad = await cli(["check-config"], dir.path, fakeEnv(fake, "wrong-password-xyz"));
    assert.equal(bad.code, 1, bad.stdout + bad.stderr);
    const failLines = bad.stdout.split("\n").filter((l) => l.startsWith("FAIL"));
    assert.ok(failLines.length >= 2, bad.stdout);
    assert.match(bad.stdout, /^FAIL: the bot cannot work with these settings/m);
    // The failed step says which settings to look at, not only that TrueConf said no.
    assert.match(
      bad.stdout,
      /^FAIL {2}oauth {5}OAuth rejected the bot credentials \(HTTP 401[^)]*\): check TRUECONF_USERNAME \(the bot's login, without @server\) and TRUECONF_PASSWORD/m,
    );
    assert.doesNotMatch(bad.stdout, /^PASS/m);
    assert.ok(!(bad.stdout + bad.stderr).includes("wrong-password-xyz"), "password printed");
  } finally {
    await fake.close();
  }
});

// Each failed TrueConf step names what went wrong and what to check, in the words of
// trueconf/errors.ts: a code or a status alone sent the operator to TrueConf's documentation.
Deno.test("check-config: every failed TrueConf step says what to check (unreachable, disabled bot, refused send and upload)", async () => {
  await using dir = await tempDir();
  const fake = await FakeTrueConf.start();
  const failed = async (extra: Record<string, string>, args: string[] = []) => {
    const r = await cli(["check-config", ...args], dir.path, { ...fakeEnv(fake), ...extra });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const fails = r.stdout.split("\n").filter((l) => /^FAIL {2}\S+ +\S/.test(l));
    assert.equal(fails.length, 1, r.stdout);
    return fails[0]!.replace(/ \(\d+ ms\)$/, "");
  };
  try {
    const port = await closedPort();
    // The cause is the system's words ("Connection refused (os error 111)" on Linux).
    assert.match(
      await failed({ TRUECONF_WEB_PORT: String(port) }),
      new RegExp(
        `^FAIL  oauth     http://127\\.0\\.0\\.1:${port}/bridge/api/client/v1/oauth/token: ` +
          `Connection refused[^—]* — nothing accepts connections on 127\\.0\\.0\\.1 port ${port}: ` +
          `check TRUECONF_WEB_PORT \\(TrueConf's web port: 443 for HTTPS, 4309 for the Bridge over ` +
          `plain HTTP\\) and that TrueConf Server runs$`,
      ),
    );
    fake.failNextAuth(202);
    assert.equal(
      await failed({}),
      "FAIL  auth      TrueConf auth failed: error 202 (User is disabled) — the bot's account " +
        "is disabled on TrueConf Server: enable it in the administrator's panel",
    );
    fake.setMethodError("sendMessage", 303);
    assert.equal(
      await failed({}, ["--send-test"]),
      "FAIL  send      TrueConf sendMessage failed: error 303 (Forced error) — the bot may not " +
        "post in this chat (read-only channel?)",
    );
    fake.setMethodError("sendMessage", null);
    fake.failUploadsNamed("check-config.png", 413);
    assert.equal(
      await failed({}, ["--send-test"]),
      "FAIL  upload    file upload failed: HTTP 413 (upload failed) — the file is larger than " +
        "TrueConf Server (or a proxy in front of it) takes: the administrator's file size limit",
    );
  } finally {
    await fake.close();
  }
});

Deno.test("check-config on a storage file that is not a KV database says so once, in openKv's words", async () => {
  await using dir = await tempDir();
  const fake = await FakeTrueConf.start();
  try {
    const path = join(dir.path, "webhooks.kv");
    await Deno.writeTextFile(path, "not a database: ".repeat(64));
    const r = await cli(["check-config"], dir.path, {
      ...fakeEnv(fake),
      WEBHOOK_STORAGE_PATH: path,
    });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      new RegExp(
        `^FAIL  storage   Cannot open the storage file ${path} as a KV database: [^\\n]+\\.$`,
        "m",
      ),
    );
    assert.doesNotMatch(r.stdout, /cannot be opened as a KV database/);
  } finally {
    await fake.close();
  }
});

Deno.test("check-config: the server refuses the OAuth grant → FAIL, exit 1", async () => {
  await using dir = await tempDir();
  const fake = await FakeTrueConf.start();
  try {
    fake.setOAuthMode("wrong_password");
    const r = await cli(["check-config"], dir.path, fakeEnv(fake));
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^FAIL /m);
    assert.match(r.stdout, /^FAIL: /m);
  } finally {
    await fake.close();
  }
});

Deno.test(".env in the working directory is read, but never overrides the environment", async () => {
  await using dir = await tempDir();
  const fake = await FakeTrueConf.start();
  try {
    const env = fakeEnv(fake);
    // The file supplies what the environment lacks, and tries to override what it has.
    await Deno.writeTextFile(
      join(dir.path, ".env"),
      [
        `TRUECONF_SERVER=${env.TRUECONF_SERVER}`,
        `TRUECONF_HTTPS=false`,
        `TRUECONF_USERNAME=webhook_bot`,
        `TRUECONF_PASSWORD=secret`,
        `TRUECONF_WEB_PORT=1`,
        `WEBHOOK_PUBLIC_URL=https://from-dotenv.example.com`,
      ].join("\n") + "\n",
    );
    const r = await cli(["check-config"], dir.path, {
      // check-config tries the listen address: the default 8080 may be another program's (a bot
      // someone runs on this machine made this test fail); port 0 is always free.
      WEBHOOK_HTTP_HOST: "127.0.0.1",
      WEBHOOK_HTTP_PORT: "0",
      TRUECONF_WEB_PORT: String(fake.port),
      WEBHOOK_PUBLIC_URL: "https://from-env.example.com",
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /public URL https:\/\/from-env\.example\.com/);
    assert.match(r.stdout, new RegExp(`127\\.0\\.0\\.1:${fake.port}`));
    assert.match(r.stdout, /^PASS/m);
  } finally {
    await fake.close();
  }
});

Deno.test("hooks list / import-json / hooks revoke on a KV file, tokens never printed", async () => {
  await using dir = await tempDir();
  const env = storeEnv(dir.path);
  const fixture = JSON.parse(await Deno.readTextFile(FIXTURE)) as {
    webhooks: ({ token?: string } | string)[];
  };
  const tokens = fixture.webhooks.flatMap((w) =>
    typeof w === "object" && w.token && w.token.length > 8 ? [w.token] : []
  );
  assert.ok(tokens.length >= 3);
  const noTokens = (r: Run, what: string) => {
    for (const t of tokens) assert.ok(!(r.stdout + r.stderr).includes(t), `${what} printed ${t}`);
  };

  // No store yet: said so, and nothing created (it made an empty store and said "No webhooks.").
  const none = await cli(["hooks", "list"], dir.path, env);
  assert.equal(none.code, 1, none.stdout + none.stderr);
  assert.equal(none.stdout, "");
  assert.match(
    none.stderr,
    /^error: there is no store at .*\/data\/webhooks\.kv \(WEBHOOK_STORAGE_PATH\); nothing was created\. Point WEBHOOK_STORAGE_PATH at the bot's store\. On a systemd install run the command as the service/,
  );
  await assert.rejects(() => Deno.stat(join(dir.path, "data")), Deno.errors.NotFound);
  // A mistyped command line is exit 2 (README: "2 bad settings or usage") with or without a
  // store: it was exit 1 "no store" here, and exit 2 only once the store was found.
  const typos = [
    ["list", "--jsn"],
    ["queue", "--hook"],
    ["queue", "--jsn"],
    ["export", "a", "b"],
    ["info"],
    ["pause", "--chat", "ops"],
    // What follows the TARGET is read before the store is opened too: these were exit 1 "no
    // store" and exit 2 only once the store (and the hook) was found.
    ["expire", "deploys", "99x"],
    ["expire", "--chat", "ops", "--name", "deploys"],
    ["rotate", "deploys", "--grace", "8d"],
    ["verify", "deploys", "sha1"],
    ["allow", "deploys", "10.0.0.300"],
    ["rename", "deploys"],
    ["pause", "deploys", "now"],
  ];
  for (const args of typos) {
    const typo = await cli(["hooks", ...args], dir.path, env);
    assert.equal(typo.code, 2, `hooks ${args.join(" ")}: ${typo.stderr}`);
    assert.doesNotMatch(typo.stderr, /no store/);
  }
  await assert.rejects(() => Deno.stat(join(dir.path, "data")), Deno.errors.NotFound);

  const imported = await cli(["import-json", FIXTURE], dir.path, env);
  assert.equal(imported.code, 1, "records that cannot be imported: " + imported.stderr);
  noTokens(imported, "import-json");
  const importedLines = imported.stdout.split("\n").filter((l) => l.startsWith("imported"));
  const skippedLines = imported.stdout.split("\n").filter((l) => l.startsWith("skipped"));
  assert.ok(importedLines.length >= 2, imported.stdout);
  assert.ok(skippedLines.length >= 1, imported.stdout);
  assert.match(
    imported.stdout,
    new RegExp(
      `^Imported ${importedLines.length} \\(1 with adjusted fields, listed above\\), skipped ${skippedLines.length} \\(`,
      "m",
    ),
  );

  const again = await cli(["import-json", FIXTURE], dir.path, env);
  assert.equal(again.code, 1, again.stderr);
  assert.match(again.stdout, /^Imported 0, /m, "idempotent");

  const listed = await cli(["hooks", "list"], dir.path, env);
  assert.equal(listed.code, 0, listed.stderr);
  noTokens(listed, "hooks list");
  const rows = listed.stdout.trim().split("\n");
  assert.match(rows[0]!, /^ID +CHAT +TITLE +NAME +KIND +STATE +TOKEN/);
  assert.equal(rows.at(-1), `${importedLines.length} webhooks.`);
  const deploys = rows.find((l) => l.includes("Deploys"));
  assert.ok(deploys, listed.stdout);
  const first = tokens[0]!;
  assert.ok(deploys.includes(`${first.slice(0, 4)}…${first.slice(-4)}`), "masked token shown");
  const id = deploys.split(/\s+/)[0]!;

  const revoked = await cli(["hooks", "revoke", id], dir.path, env);
  assert.equal(revoked.code, 0, revoked.stdout + revoked.stderr);
  assert.match(revoked.stdout, /^Revoked webhook "Deploys"/m);
  noTokens(revoked, "hooks revoke");

  const after = await cli(["hooks", "list"], dir.path, env);
  assert.ok(!after.stdout.includes(id), "revoked hook is gone");
  assert.match(after.stdout, new RegExp(`^${importedLines.length - 1} webhooks?\\.$`, "m"));

  const unknown = await cli(["hooks", "revoke", id], dir.path, env);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /no webhook with id/);
});

// On standard error, as every other command's refusal: a migration script that keeps the
// import's report (stdout) must not take the refusal for one.
Deno.test("import-json and hooks import of a missing or unreadable file exit 1 with a reason on stderr", async () => {
  await using dir = await tempDir();
  const env = storeEnv(dir.path);
  const missing = await cli(["import-json", join(dir.path, "nope.json")], dir.path, env);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^Cannot import .*nope\.json/m);
  assert.equal(missing.stdout, "");
  const junk = join(dir.path, "junk.json");
  await Deno.writeTextFile(junk, "not json");
  const notJson = await cli(["import-json", junk], dir.path, env);
  assert.equal(notJson.code, 1);
  assert.match(notJson.stderr, /not valid JSON/);
  assert.equal(notJson.stdout, "");
  for (const file of [join(dir.path, "nope.jsonl"), junk]) {
    const restore = await cli(["hooks", "import", file], dir.path, env);
    assert.equal(restore.code, 1, restore.stdout + restore.stderr);
    assert.match(restore.stderr, /^Cannot (read|import) /m);
    assert.equal(restore.stdout, "");
  }
});

Deno.test("healthcheck with nothing listening exits 1 (no settings needed)", async () => {
  await using dir = await tempDir();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const r = await cli(["healthcheck"], dir.path, { WEBHOOK_HTTP_PORT: String(port) });
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, new RegExp(`^unhealthy: http://127\\.0\\.0\\.1:${port}/readyz`));
});

// serve refuses such a port (exit 2); healthcheck asked 8080 instead, where another service may
// answer "alive" for a bot that never started.
Deno.test("healthcheck with a WEBHOOK_HTTP_PORT serve would refuse, or 0, exits 2 naming it", async () => {
  await using dir = await tempDir();
  for (const value of ["80a", "70000", "0"]) {
    const r = await cli(["healthcheck"], dir.path, { WEBHOOK_HTTP_PORT: value });
    assert.equal(r.code, 2, `${value}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, new RegExp(`WEBHOOK_HTTP_PORT=${value}`));
    assert.doesNotMatch(r.stdout, /8080/);
  }
});

Deno.test("healthcheck against a real serve with TrueConf down: healthy from /readyz (exit 0); --ready not ready (exit 1)", async () => {
  await using dir = await tempDir();
  // TrueConf on a port nothing listens on: the bot runs, queues, and /readyz says 503.
  await using bot = spawnServe({ dir: dir.path });
  const { port } = await bot.listening();
  const env = { WEBHOOK_HTTP_PORT: String(port) };
  const health = await cli(["healthcheck"], dir.path, env);
  assert.equal(health.code, 0, health.stdout + health.stderr);
  assert.match(
    health.stdout,
    /^healthy \(not ready: not connected to TrueConf; hooks are queued\): http:\/\/127\.0\.0\.1:\d+\/readyz answered 503\n$/,
  );
  const ready = await cli(["healthcheck", "--ready"], dir.path, env);
  assert.equal(ready.code, 1, ready.stdout + ready.stderr);
  assert.match(ready.stdout, /^not ready: .*\/readyz answered 503 .*not connected to TrueConf/);
});

Deno.test("an unusable storage path: serve and hooks list exit 1 with the reason, no stack trace", async () => {
  await using dir = await tempDir();
  // A regular file where the storage folder should be: the folder cannot be created, whoever runs it.
  await Deno.writeTextFile(join(dir.path, "blocker"), "");
  const env = {
    ...serveEnv(dir.path),
    WEBHOOK_STORAGE_PATH: join(dir.path, "blocker/webhooks.kv"),
  };
  for (const args of [["serve"], ["hooks", "list"]]) {
    const r = await cli(args, dir.path, {
      ...env,
      WEBHOOK_HTTP_HOST: "127.0.0.1",
      WEBHOOK_HTTP_PORT: "0",
    });
    const all = r.stdout + r.stderr;
    assert.equal(r.code, 1, `${args.join(" ")}: ${all}`);
    assert.match(all, /Cannot create the folder .*blocker/, args.join(" "));
    assert.ok(
      !/Uncaught|\bat .*\.ts:\d+/.test(all),
      `${args.join(" ")} printed a stack trace:\n${all}`,
    );
  }
});

// Under the binary's permissions Deno refuses /proc with "run again with the --allow-all flag":
// advice for a developer, not for an operator running the binary, who cannot add flags.
Deno.test("a storage path under /proc: serve and check-config say to pick another path, not to add Deno flags", async () => {
  await using dir = await tempDir();
  const binary = (JSON.parse(await Deno.readTextFile(CONFIG)).tasks["compile:base"] as string)
    .split(/\s+/).filter((word) => word.startsWith("--allow-"));
  const env = {
    ...serveEnv(dir.path),
    WEBHOOK_STORAGE_PATH: "/proc/webhooks.kv",
    WEBHOOK_HTTP_HOST: "127.0.0.1",
    WEBHOOK_HTTP_PORT: "0",
  };
  const serve = await cli(["serve"], dir.path, env, undefined, binary);
  const check = await cli(["check-config"], dir.path, env, undefined, binary);
  assert.equal(serve.code, 1, serve.stdout + serve.stderr);
  assert.equal(check.code, 1, check.stdout + check.stderr);
  for (const all of [serve.stdout + serve.stderr, check.stdout]) {
    assert.match(all, /Cannot inspect the storage path \/proc\/webhooks\.kv/, all);
    assert.match(all, /set WEBHOOK_STORAGE_PATH to a file in a folder it can use/, all);
    assert.doesNotMatch(all, /--allow-|run again/, all);
  }
});

Deno.test("check-config with TRUECONF_HTTPS=false and the default port 443 says what to change", async () => {
  await using dir = await tempDir();
  const r = await cli(["check-config"], dir.path, {
    TRUECONF_SERVER: "127.0.0.1",
    TRUECONF_HTTPS: "false",
    TRUECONF_USERNAME: "webhook_bot",
    TRUECONF_PASSWORD: "secret",
    WEBHOOK_PUBLIC_URL: "https://hooks.example.com",
  });
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /TrueConf http:\/\/127\.0\.0\.1:443/);
  assert.match(r.stdout, /^note: TRUECONF_HTTPS=false but TRUECONF_WEB_PORT is 443.*4309/m);
});

Deno.test("check-config over TLS: TRUECONF_CA_FILE trusted → PASS; no CA → FAIL (exit 1); unreadable CA file → exit 2", async () => {
  await using dir = await tempDir();
  const certs = await makeTestCertificates();
  const fake = await FakeTrueConf.start({ tls: { certPem: certs.certPem, keyPem: certs.keyPem } });
  try {
    const caFile = join(dir.path, "ca.pem");
    await Deno.writeTextFile(caFile, certs.caPem);
    const env = { ...fakeEnv(fake), TRUECONF_HTTPS: "true" };
    const ok = await cli(["check-config"], dir.path, { ...env, TRUECONF_CA_FILE: caFile });
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /^PASS/m);
    const untrusted = await cli(["check-config"], dir.path, env);
    assert.equal(untrusted.code, 1, untrusted.stdout + untrusted.stderr);
    assert.match(untrusted.stdout, /^FAIL {2}oauth/m);
    // A CA file that is not PEM (a DER .cer): exit 2 naming the fix, instead of UnknownIssuer.
    const der = join(dir.path, "ca.cer");
    await Deno.writeFile(der, new Uint8Array([0x30, 0x82, 0x01, 0x0a, 0x02, 0x82]));
    const notPem = await cli(["check-config"], dir.path, { ...env, TRUECONF_CA_FILE: der });
    assert.equal(notPem.code, 2, notPem.stdout + notPem.stderr);
    assert.match(
      notPem.stdout,
      /TRUECONF_CA_FILE .*ca\.cer is not a PEM certificate file .*openssl x509 -inform der/,
    );
    // A CA file that cannot be read is a bad setting, as for serve: exit 2.
    const missing = join(dir.path, "missing.pem");
    const bad = await cli(["check-config"], dir.path, { ...env, TRUECONF_CA_FILE: missing });
    assert.equal(bad.code, 2, bad.stdout + bad.stderr);
    assert.match(bad.stdout + bad.stderr, /TRUECONF_CA_FILE .*missing\.pem/);
  } finally {
    await fake.close();
  }
});

Deno.test("offline commands need only the storage path: hooks list with no TrueConf settings", async () => {
  await using dir = await tempDir();
  // Before: exit 2 "TRUECONF_SERVER is required …" although the command never talks to TrueConf.
  await createHook(dir.path, storeEnv(dir.path), "ops", "ci");
  const r = await cli(["hooks", "list"], dir.path, storeEnv(dir.path));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout.trim(), /\n1 webhook\.$/);
  assert.equal(r.stderr, "");
  // The default store in the working directory, when none exists there: said, not created.
  const other = join(dir.path, "elsewhere");
  await Deno.mkdir(other);
  const elsewhere = await cli(["hooks", "list"], other, {});
  assert.equal(elsewhere.code, 1);
  assert.match(
    elsewhere.stderr,
    /^error: there is no store at .*\/elsewhere\/data\/webhooks\.kv \(WEBHOOK_STORAGE_PATH is not set: the default\)/,
  );
  assert.deepEqual([...Deno.readDirSync(other)], []);
  // A bad storage-related setting is still a configuration error; TrueConf ones are not read.
  const bad = await cli(["hooks", "list"], dir.path, {
    ...storeEnv(dir.path),
    WEBHOOK_PUBLIC_URL: "ftp://nope",
    TRUECONF_SERVER: "https://not-checked",
  });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^ {2}- WEBHOOK_PUBLIC_URL must be an http\(s\) URL/m);
  assert.ok(!bad.stderr.includes("TRUECONF_SERVER"), bad.stderr);
});

Deno.test("a misspelt setting is warned about by check-config and serve, with a did-you-mean", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(join(dir.path, "blocker"), "");
  const env = {
    ...serveEnv(dir.path),
    WEBHOOK_RATE_LIMIT_PER_MINUTES: "30",
    // serve stops right after its start-up warnings: the storage folder cannot be created.
    WEBHOOK_STORAGE_PATH: join(dir.path, "blocker/webhooks.kv"),
  };
  const served = await cli(["serve"], dir.path, env);
  assert.equal(served.code, 1, served.stderr);
  const warn = served.stderr.split("\n").map((l) => l.trim()).filter(Boolean)
    .map((l) => JSON.parse(l) as { level: string; msg: string })
    .find((l) => l.msg.startsWith("WEBHOOK_RATE_LIMIT_PER_MINUTES"));
  assert.equal(warn?.level, "warn", served.stderr);
  assert.match(warn!.msg, /did you mean WEBHOOK_RATE_LIMIT_PER_MINUTE\?/);

  // check-config prints it before reaching TrueConf (which is not there: exit 1).
  const checked = await cli(["check-config"], dir.path, {
    ...env,
    TRUECONF_SERVER: "127.0.0.1",
    TRUECONF_WEB_PORT: "1",
  });
  assert.match(
    checked.stdout,
    /^WARN {2}WEBHOOK_RATE_LIMIT_PER_MINUTES is not a setting of this bot and is ignored; did you mean WEBHOOK_RATE_LIMIT_PER_MINUTE\?$/m,
  );
});

// "TRUECONF_SERVER is required" was all serve said when the name was misspelt in .env (the
// did-you-mean came only once every required setting was there), or when an empty variable in
// the environment hid .env's value (the environment wins, even when empty).
Deno.test("exit 2 for a required setting also names a misspelt variable and an empty one hiding .env", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(
    join(dir.path, ".env"),
    "TRUECONF_SEVRER=video.example.com\nTRUECONF_PASSWORD=secret\n",
  );
  const r = await cli(["serve"], dir.path, {
    ...storeEnv(dir.path),
    TRUECONF_USERNAME: "webhook_bot",
    TRUECONF_PASSWORD: "",
    WEBHOOK_PUBLIC_URL: "https://hooks.example.com",
  });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^ {2}- TRUECONF_SERVER is required/m);
  assert.match(r.stderr, /^ {2}- TRUECONF_PASSWORD is required/m);
  assert.match(
    r.stderr,
    /^warning: TRUECONF_PASSWORD is set but empty in the environment, which wins over \.env: its value there is ignored \(unset TRUECONF_PASSWORD, or give it a value\)$/m,
  );
  assert.match(
    r.stderr,
    /^warning: TRUECONF_SEVRER is not a setting of this bot and is ignored; did you mean TRUECONF_SERVER\?$/m,
  );
  assert.ok(!r.stderr.includes("secret"), "a value printed");
});

Deno.test("an unreadable .env (a folder) is one clear error and exit 2, not a stack trace", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(join(dir.path, ".env"));
  for (const args of [["serve"], ["hooks", "list"], ["check-config"]]) {
    const r = await cli(args, dir.path, serveEnv(dir.path));
    assert.equal(r.code, 2, args.join(" "));
    assert.equal(r.stdout, "");
    assert.match(
      r.stderr.trim(),
      /^Configuration error: \.env in .* cannot be read: it is a folder, not a file\. Make it a file this user can read, or remove it and set the variables in the environment\.$/,
    );
  }
});

// A .env line the bot cannot read must say so: an unclosed quote swallowed every later line
// into one value, so the operator was told "TRUECONF_SERVER is required" about a file that
// sets it; a line that is not NAME=value was dropped without a word.
Deno.test(".env: an unclosed quote is exit 2 naming its line; a line that is not NAME=value is warned", async () => {
  await using dir = await tempDir();
  const env = serveEnv(dir.path);
  delete env.TRUECONF_SERVER;
  await Deno.writeTextFile(
    join(dir.path, ".env"),
    ["# settings", 'TRUECONF_PASSWORD="Pa$$word', "TRUECONF_SERVER=video.example.com", ""].join(
      "\n",
    ),
  );
  for (const args of [["check-config"], ["serve"], ["hooks", "list"]]) {
    const r = await cli(args, dir.path, env);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
    assert.match(
      r.stderr,
      /\.env line 2: the " after TRUECONF_PASSWORD= is never closed, so every line after it became part of that value/,
    );
    assert.doesNotMatch(r.stderr, /TRUECONF_SERVER is required/);
    assert.doesNotMatch(r.stderr, /Pa\$\$word/, "never the value");
  }

  await Deno.writeTextFile(
    join(dir.path, ".env"),
    ["TRUECONF_SERVER=video.example.com", "hunter2", "LOG LEVEL=debug", ""].join("\n"),
  );
  const list = await cli(
    ["hooks", "create", "--chat", "c", "--name", "n"],
    dir.path,
    storeEnv(dir.path),
  );
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stderr, /\.env line 2 is not NAME=value \(nor a # comment\) and was ignored/);
  assert.match(list.stderr, /\.env line 3 is not NAME=value/);
  assert.doesNotMatch(list.stderr, /hunter2/, "the line may be a secret: never shown");
  // check-config shows it among its warnings (a token that is no JWT ends it before any network).
  const check = await cli(["check-config"], dir.path, env);
  assert.equal(check.code, 1, check.stdout + check.stderr);
  assert.match(check.stdout, /^WARN {2}\.env line 2 is not NAME=value/m);
});

Deno.test("check-config checks what serve needs: a storage folder, a busy port, a held store", async () => {
  await using dir = await tempDir();
  const fake = await FakeTrueConf.start();
  try {
    // Before: PASS for all three, and serve then failed (or answered every command twice).
    const folder = join(dir.path, "store");
    await Deno.mkdir(folder);
    const asFolder = await cli(["check-config"], dir.path, {
      ...fakeEnv(fake),
      WEBHOOK_STORAGE_PATH: folder,
    });
    assert.equal(asFolder.code, 1, asFolder.stdout);
    assert.match(
      asFolder.stdout,
      new RegExp(`^FAIL {2}storage {3}${folder} is a folder; give a file path inside it`, "m"),
    );
    assert.match(asFolder.stdout, /^OK {4}auth/m, "TrueConf is still checked and reported");
    assert.doesNotMatch(asFolder.stdout, /^PASS/m);

    using busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (busy.addr as Deno.NetAddr).port;
    const storage = join(dir.path, "data", "webhooks.kv");
    const portTaken = await cli(["check-config"], dir.path, {
      ...fakeEnv(fake),
      WEBHOOK_STORAGE_PATH: storage,
      WEBHOOK_HTTP_PORT: String(port),
    });
    assert.equal(portTaken.code, 1, portTaken.stdout);
    assert.match(
      portTaken.stdout,
      new RegExp(`^FAIL {2}listen {4}127\\.0\\.0\\.1:${port} is in use by another program`, "m"),
    );
    assert.match(portTaken.stdout, /^OK {4}storage .*created at first start/m);
    assert.ok(!(await exists(storage)), "check-config created nothing");

    // A running instance holds the store (its lease, renewed): reported, and its port being
    // busy is expected rather than a failure.
    await Deno.mkdir(join(dir.path, "data"));
    const kv = await Deno.openKv(storage);
    const lease = await acquireLease(kv);
    try {
      const held = await cli(["check-config"], dir.path, {
        ...fakeEnv(fake),
        WEBHOOK_STORAGE_PATH: storage,
        WEBHOOK_HTTP_PORT: String(port),
      });
      assert.equal(held.code, 0, held.stdout);
      assert.match(
        held.stdout,
        new RegExp(
          `^note {2}lease {5}the store is in use by a running instance \\(pid ${Deno.pid} on host .*\\): a second serve would exit 1; stop that one first$`,
          "m",
        ),
      );
      assert.match(
        held.stdout,
        /^note {2}listen .* is in use, as expected while the instance above runs/m,
      );
      assert.match(held.stdout, /^PASS/m);
    } finally {
      await lease.release();
      kv.close();
    }
  } finally {
    await fake.close();
  }
});

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("under systemd's journal (JOURNAL_STREAM) each line carries its syslog priority", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(join(dir.path, "blocker"), "");
  const r = await cli(["serve"], dir.path, {
    ...serveEnv(dir.path),
    JOURNAL_STREAM: "8:4242", // what systemd sets when stderr goes to the journal
    WEBHOOK_TYPO_SETTING: "1", // a warning line
    WEBHOOK_STORAGE_PATH: join(dir.path, "blocker/webhooks.kv"), // an error line, then exit 1
  });
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stderr.trim().split("\n");
  const warn = lines.find((l) => l.includes("WEBHOOK_TYPO_SETTING"));
  const error = lines.find((l) => l.includes("cannot start"));
  assert.match(warn ?? "", /^<4>\{"time":/, r.stderr);
  assert.match(error ?? "", /^<3>\{"time":/, r.stderr);
  assert.equal(JSON.parse(error!.slice(3)).level, "error");
  for (const l of lines) assert.match(l, /^<[3467]>\{/, l);
});

// Deno KV's first read on a new handle waits for SQLite's write lock without limit: `hooks list`
// beside a process holding it hung, and then waited in silence. Each command that opens the store
// says after a second that it waits, and gives up after the bound (10 s) with the one busy
// sentence, exit 1.
Deno.test("hooks list, hooks export and check-config against a store another process keeps locked end with the busy sentence", async () => {
  await using dir = await tempDir();
  const env = storeEnv(dir.path);
  await createHook(dir.path, env, "team@trueconf.local", "deploys");
  const path = env.WEBHOOK_STORAGE_PATH!;
  const { DatabaseSync } = await import("node:sqlite");
  const other = new DatabaseSync(path);
  const fake = await FakeTrueConf.start();
  // Generous for a loaded machine; without the bound these runs never end.
  const deadline = AbortSignal.timeout(60_000);
  const run = (args: string[], extra: Record<string, string> = {}) =>
    cli(args, dir.path, { ...env, ...extra }, undefined, ["-A"], deadline);
  try {
    other.exec("BEGIN IMMEDIATE"); // what a serving bot's writer does while it commits
    const [list, exported, check] = await Promise.all([
      run(["hooks", "list"]),
      run(["hooks", "export", join(dir.path, "backup.jsonl")]),
      run(["check-config"], fakeEnv(fake)),
    ]);
    const sentence = `the store ${path} is busy: another process (most likely the running bot) ` +
      `kept it locked for more than 10 s; what this command had not saved by then is not saved. ` +
      `Run the command again; if it keeps happening, run it while the bot is less busy or stopped.`;
    // Not a silent wait: after a second the command says that it waits, and for how long.
    const notice = `the store ${path} is busy: another process (most likely the running bot) ` +
      `keeps it locked; still trying, for up to 10 s`;
    for (const r of [list, exported]) {
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.equal(r.stderr, `${notice}\nerror: ${sentence}\n`);
    }
    assert.equal(check.code, 1, check.stdout + check.stderr);
    assert.ok(
      check.stdout.includes(`note  storage   ${notice}\nFAIL  storage   ${sentence}\n`),
      check.stdout,
    );
  } finally {
    if (other.isTransaction) other.exec("ROLLBACK");
    other.close();
    await fake.close();
  }
  // Once the lock is gone, the same command works: nothing was left half-done.
  const again = await cli(["hooks", "list"], dir.path, env);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /deploys/);
});

Deno.test("hooks export / import: the whole store through a JSON-lines file, tokens only hashed", async () => {
  await using dir = await tempDir();
  const src = storeEnv(dir.path);
  const fixture = JSON.parse(await Deno.readTextFile(FIXTURE)) as { webhooks: unknown[] };
  const clean = join(dir.path, "clean.json");
  await Deno.writeTextFile(clean, JSON.stringify({ webhooks: fixture.webhooks.slice(0, 2) }));
  const imported = await cli(["import-json", clean], dir.path, src);
  assert.equal(imported.code, 0, imported.stdout + imported.stderr);
  // Values JSON alone cannot carry: bytes (spooled uploads), bigints, dates, u64 counters.
  const kv = await Deno.openKv(src.WEBHOOK_STORAGE_PATH!);
  await kv.set(["outbox_spool", "h", 1, 0, 0], new Uint8Array([0, 255, 7]));
  await kv.set(["misc", 2n, true], { at: new Date(86_400_000), n: new Deno.KvU64(5n), $: "x" });
  const before: [Deno.KvKey, unknown][] = [];
  for await (const e of kv.list({ prefix: [] })) before.push([e.key, e.value]);
  kv.close();

  const backup = join(dir.path, "backup.jsonl");
  const exported = await cli(["hooks", "export", backup], dir.path, src);
  assert.equal(exported.code, 0, exported.stderr);
  assert.match(exported.stderr, new RegExp(`^Exported ${before.length} entries to `));
  assert.equal((await Deno.stat(backup)).mode! & 0o777, 0o600);
  const text = await Deno.readTextFile(backup);
  for (const w of fixture.webhooks.slice(0, 2) as { token: string }[]) {
    assert.ok(!text.includes(w.token), "a token in the backup");
  }

  const restored = { WEBHOOK_STORAGE_PATH: join(dir.path, "restored", "webhooks.kv") };
  const back = await cli(["hooks", "import", backup], dir.path, restored);
  assert.equal(back.code, 0, back.stdout + back.stderr);
  assert.match(back.stdout, new RegExp(`^Imported ${before.length} entries from `));
  const kv2 = await Deno.openKv(restored.WEBHOOK_STORAGE_PATH);
  const after: [Deno.KvKey, unknown][] = [];
  for await (const e of kv2.list({ prefix: [] })) after.push([e.key, e.value]);
  kv2.close();
  assert.deepEqual(after, before);
  // The restored store serves the same hooks (their URLs keep working: same hashes).
  const listed = await cli(["hooks", "list", "--json"], dir.path, restored);
  assert.equal(JSON.parse(listed.stdout).length, 2);

  // A second import into the now non-empty store is refused; nothing is written.
  const again = await cli(["hooks", "import", backup], dir.path, restored);
  assert.equal(again.code, 1);
  assert.match(
    again.stderr,
    /the store already holds data; restore into a new WEBHOOK_STORAGE_PATH/,
  );
});

// On a systemd install the offline commands run as the service's transient user, and docker's
// container user is not root either: neither may open a root-owned file, nor /dev/stdin when it
// is a pipe root made (EACCES). docs/deploy.md had `twb hooks import /root/…` (unreadable);
// reading `-` takes the piped data without opening anything.
Deno.test("hooks import - and import-json - read standard input", async () => {
  await using dir = await tempDir();
  const fixture = JSON.parse(await Deno.readTextFile(FIXTURE)) as { webhooks: unknown[] };
  const src = storeEnv(dir.path);
  const json = JSON.stringify({ webhooks: fixture.webhooks.slice(0, 2) });
  const imported = await cli(["import-json", "-"], dir.path, src, json);
  assert.equal(imported.code, 0, imported.stdout + imported.stderr);
  assert.match(imported.stdout, /^Imported 2, skipped 0\. /m);
  const backup = await cli(["hooks", "export"], dir.path, src);
  assert.equal(backup.code, 0, backup.stderr);
  const restored = { WEBHOOK_STORAGE_PATH: join(dir.path, "restored", "webhooks.kv") };
  const back = await cli(["hooks", "import", "-"], dir.path, restored, backup.stdout);
  assert.equal(back.code, 0, back.stdout + back.stderr);
  assert.match(back.stdout, /^Imported \d+ entries from -\./);
  const listed = await cli(["hooks", "list", "--json"], dir.path, restored);
  assert.equal(JSON.parse(listed.stdout).length, 2);
});

// A store restored without its secret.key, or run with a new WEBHOOK_SECRET_KEY, passed
// check-config; serve then adopted the new key and every hook with /webhook_verify answered 500.
Deno.test("check-config says when the key serve would use cannot open the store's secrets", async () => {
  await using dir = await tempDir();
  const fake = await FakeTrueConf.start();
  try {
    const store = storeEnv(dir.path);
    const id = await createHook(dir.path, store, "ops", "ci");
    assert.equal((await cli(["hooks", "verify", id, "github"], dir.path, store)).code, 0);
    const env = { ...fakeEnv(fake), ...store };
    const fits = await cli(["check-config"], dir.path, env);
    assert.equal(fits.code, 0, fits.stdout);
    assert.match(fits.stdout, /^OK {4}secrets {3}the store's secrets open with .*secret\.key$/m);

    const otherKey = randomSecretKey();
    const other = await cli(["check-config"], dir.path, { ...env, WEBHOOK_SECRET_KEY: otherKey });
    assert.equal(other.code, 1, other.stdout);
    assert.match(
      other.stdout,
      /^FAIL {2}secrets {3}the store's secrets were sealed with another key than WEBHOOK_SECRET_KEY: serve would start with a new key, and hooks with \/webhook_verify would answer 500 /m,
    );
    assert.ok(!other.stdout.includes(otherKey), "the key printed");

    const keyFile = join(dir.path, "data", "secret.key");
    await Deno.rename(keyFile, `${keyFile}.away`);
    const missing = await cli(["check-config"], dir.path, env);
    assert.equal(missing.code, 1, missing.stdout);
    assert.match(
      missing.stdout,
      /^FAIL {2}secrets {3}the store's secrets were sealed with a key file .*secret\.key that is not there/m,
    );
    // check-config creates nothing: no new key file that serve would then take.
    await assert.rejects(() => Deno.stat(keyFile), Deno.errors.NotFound);
  } finally {
    await fake.close();
  }
});

Deno.test("check-config --send-test posts a text and a file into the bot's Favorites", async () => {
  await using dir = await tempDir();
  const fake = await FakeTrueConf.start();
  try {
    const r = await cli(["check-config", "--send-test"], dir.path, fakeEnv(fake));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^OK {4}favorites /m);
    assert.match(r.stdout, /^OK {4}send {6}message /m);
    assert.match(r.stdout, /^OK {4}upload {4}file message /m);
    assert.match(r.stdout, /^PASS: .* send and upload\.$/m);
    // What the chat shows: the bot's Favorites got both, nobody else got anything.
    const kinds = fake.sent.map((m) => [m.kind, m.chatId]);
    assert.equal(kinds.length, 2, JSON.stringify(kinds));
    assert.equal(new Set(kinds.map((k) => k[1])).size, 1);
    assert.deepEqual(kinds.map((k) => k[0]), ["text", "document"]);
    // Without the flag nothing is posted.
    const plain = await cli(["check-config"], dir.path, fakeEnv(fake));
    assert.equal(plain.code, 0);
    assert.equal(fake.sent.length, 2);
  } finally {
    await fake.close();
  }
});

// `hooks --help` shows the systemd recipe an operator pastes; it must be docs/deploy.md's. The
// help's copy lacked the EnvironmentFile, so a store whose key is WEBHOOK_SECRET_KEY got secrets
// sealed with a new secret.key instead (serve could not open them), and `hooks create` printed
// no full URL (WEBHOOK_PUBLIC_URL unset).
Deno.test("hooks --help gives docs/deploy.md's systemd-run recipe, with the env file", async () => {
  await using dir = await tempDir();
  const help = (await cli(["hooks", "--help"], dir.path)).stdout;
  const deploy = await Deno.readTextFile(new URL("../../docs/deploy.md", import.meta.url));
  const recipe = (text: string) => {
    const start = text.indexOf("sudo systemd-run --pipe --wait --collect -p User=");
    assert.ok(start >= 0, text);
    const end = text.indexOf("hooks list", start);
    return text.slice(start, end + "hooks list".length).replace(/\s*\\\n\s*/g, " ");
  };
  const fromDocs = recipe(deploy.slice(deploy.indexOf("## Offline commands")));
  assert.match(fromDocs, /-p EnvironmentFile=\/etc\/trueconf-webhook-bot\/env/);
  assert.equal(recipe(help), fromDocs);
});

// Secrets sealed with WEBHOOK_SECRET_KEY, and a command run without it (a root shell, a
// systemd-run without the env file): it created a secret.key, sealed the new verification
// secret with it and printed it; serve then answered every request of that hook 500. Now the
// store remembers the key its secrets are sealed with: the command is refused before it seals
// (exit 1, one sentence, nothing changed, no key file left behind), and reading still works.
Deno.test("a command with a key other than the store's is refused before it seals a secret", async () => {
  await using dir = await tempDir();
  const key = randomSecretKey();
  const env = { ...storeEnv(dir.path), WEBHOOK_SECRET_KEY: key };
  const id = await createHook(dir.path, env, "c1", "a");
  const first = await cli(["hooks", "verify", id, "bearer"], dir.path, env);
  assert.equal(first.code, 0, first.stderr);

  const keyFile = join(dir.path, "data", "secret.key");
  const wrong = await cli(["hooks", "verify", id, "github"], dir.path, storeEnv(dir.path));
  assert.equal(wrong.code, 1, wrong.stdout + wrong.stderr);
  assert.equal(wrong.stdout, "", "no secret printed");
  assert.match(
    wrong.stderr,
    /^error: The secrets in .*webhooks\.kv are sealed with another key than this process has \(it has the secret\.key file beside the store\)\. Run it with the WEBHOOK_SECRET_KEY serve uses/m,
  );
  assert.throws(() => Deno.statSync(keyFile), Deno.errors.NotFound, "no key file left behind");
  const info = await cli(["hooks", "info", id, "--json"], dir.path, storeEnv(dir.path));
  assert.equal(info.code, 0, "reading needs no key");
  assert.equal(JSON.parse(info.stdout).verification, "bearer", "nothing changed");
});
