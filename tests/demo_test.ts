// `deno task demo --smoke` exactly as the task line in deno.json runs it (same permission
// flags, so a missing permission shows up here), as a subprocess with a clean environment.
import assert from "node:assert/strict";
import { startBotWithFake } from "./support/bot_with_fake.ts";
import { RawHttp } from "./support/raw_http.ts";
import { createLogger } from "../src/log.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** The `demo` task's command line, without the leading `deno`. */
async function demoTaskArgs(): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  const task = String(config.tasks.demo);
  const [deno, ...args] = task.split(/\s+/);
  assert.equal(deno, "deno");
  assert.ok(args.at(-1)?.endsWith("demo/main.ts"), task);
  assert.ok(
    !args.includes("-A") && !args.includes("--allow-all"),
    "the demo asks for named permissions",
  );
  return args;
}

function cleanEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1", ...extra };
  for (const name of ["HOME", "DENO_DIR", "PATH", "XDG_CACHE_HOME", "TMPDIR"]) {
    const v = Deno.env.get(name);
    if (v !== undefined) env[name] = v;
  }
  return env;
}

Deno.test("demo --smoke: hook created by chat command, posts arrive, exit 0", async () => {
  // Hold a port so the demo has to take the fallback path, as on a machine running something on 8080.
  const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const busyPort = (busy.addr as Deno.NetAddr).port;
  const started = performance.now();
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(Deno.execPath(), {
      args: [...await demoTaskArgs(), "--smoke"],
      cwd: ROOT,
      env: cleanEnv({ DEMO_PORT: String(busyPort) }),
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
  } finally {
    busy.close();
  }
  const wallMs = Math.round(performance.now() - started);
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `stdout:\n${stdout}\nstderr:\n${stderr}`);

  assert.match(stdout, /^\[Ops\] Alice: @Webhook Bot \/webhook_create demo$/m);
  const url = /^ {3}(http:\/\/127\.0\.0\.1:(\d+)\/hook\/[A-Za-z0-9_-]{20,})$/m.exec(stdout);
  assert.ok(url, stdout);
  assert.notEqual(Number(url[2]), busyPort);
  assert.match(stdout, new RegExp(`Port ${busyPort} was busy`));
  assert.match(stdout, /^\[Ops\] smoke [0-9a-f]{8}: hello from --smoke$/m);
  assert.match(
    stdout,
    /^\[Ops\] 📷 photo smoke\.png \([\d.]+ [KM]?B, 64×48, preview [\d.]+ [KM]?B\)$/m,
  );
  assert.match(stdout, /^\[Ops\] 📄 document smoke\.txt \(\d+ B, text\/plain/m);
  for (const step of ["text", "photo", "document"]) {
    assert.match(stdout, new RegExp(`^OK +smoke ${step} `, "m"));
  }
  assert.match(stdout, /^SMOKE PASS$/m);
  // Warn level: a healthy run logs nothing.
  assert.equal(stderr.trim(), "", stderr);

  const ready = /hook ready after (\d+) ms/.exec(stdout);
  assert.ok(ready, stdout);
  console.log(
    `demo: hook ready ${ready[1]} ms after process start; whole --smoke run ${wallMs} ms`,
  );
});

Deno.test("demo --help exits 0; an unknown flag exits 2", async () => {
  const args = await demoTaskArgs();
  const run = (extra: string) =>
    new Deno.Command(Deno.execPath(), {
      args: [...args, extra],
      cwd: ROOT,
      env: cleanEnv({}),
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
  const help = await run("--help");
  assert.equal(help.code, 0);
  assert.match(new TextDecoder().decode(help.stdout), /^Usage: deno task demo/);
  const bad = await run("--frobnicate");
  assert.equal(bad.code, 2);
  assert.match(new TextDecoder().decode(bad.stderr), /Unknown argument --frobnicate/);
});

Deno.test("demo: one Ctrl+C that arrives twice (terminal and deno task) still stops gracefully", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: await demoTaskArgs(),
    cwd: ROOT,
    env: cleanEnv({ DEMO_PORT: "0" }),
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let stdout = "";
  // Ready once the banner shows the hook URL.
  while (!/\/hook\/[A-Za-z0-9_-]{20,}/.test(stdout)) {
    const { value, done } = await reader.read();
    if (done) break;
    stdout += value;
  }
  // What a terminal's Ctrl+C under `deno task demo` delivers: the process group's signal and
  // the task runner's forwarded copy, milliseconds apart (the second after the first was seen).
  child.kill("SIGINT");
  while (!/^SIGINT: stopping…$/m.test(stdout)) {
    const { value, done } = await reader.read();
    if (done) break;
    stdout += value;
  }
  child.kill("SIGINT");
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    stdout += value;
  }
  const { code } = await child.status;
  assert.equal(code, 0, `stdout:\n${stdout}\nstderr:\n${await stderr}`);
});

// The demo (tests/support/bot_with_fake.ts) built its HTTP server with listenHttp's own
// defaults and no hooks: `LOG_LEVEL=debug deno task demo` showed none of the client errors
// `serve` logs, and the HTTP settings (WEBHOOK_HTTP_*) did not apply. It builds it as serve does.
Deno.test("the demo's HTTP server is serve's: WEBHOOK_HTTP_* settings apply and client errors are logged", async () => {
  const lines: string[] = [];
  const dir = await Deno.makeTempDir({ prefix: "demo-http-" });
  const world = await startBotWithFake({
    dir,
    env: { WEBHOOK_HTTP_IDLE_TIMEOUT_SECONDS: "7", LOG_LEVEL: "debug" },
    logger: createLogger({ level: "debug", write: (l) => void lines.push(l) }),
  });
  try {
    const port = world.server.addr.port;
    const ok = await RawHttp.connect(port);
    await ok.write("GET /healthz HTTP/1.1\r\nHost: demo\r\n\r\n");
    const health = await ok.response();
    assert.equal(health?.status, 200);
    assert.equal(health?.headers.get("keep-alive"), "timeout=7", "the idle setting applies");
    ok.close();

    const bad = await RawHttp.connect(port);
    await bad.write("GET /healthz HTTP/1.1\r\nHo st: demo\r\n\r\n");
    assert.equal((await bad.response())?.status, 400);
    bad.close();
    assert.ok(
      lines.some((l) => l.includes("client error") && l.includes("invalid_request")),
      `serve's client-error log line:\n${lines.join("\n")}`,
    );
  } finally {
    await world.close();
    await Deno.remove(dir, { recursive: true });
  }
});
