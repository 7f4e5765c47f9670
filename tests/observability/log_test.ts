// Structured logs never carry a full hook token, however deep a caller nests it.
import assert from "node:assert/strict";
import { setImmediate } from "node:timers";
import { createLogger, createLogSink } from "../../src/log.ts";

const TOKEN = "Xk2fQ9aLr0T7mN3pV8sWcY1bZ4dE6gH5jK9uIo7wxyz";

Deno.test("a hook token is masked in every field, at any depth, in both formats", () => {
  for (const format of ["json", "pretty"] as const) {
    const lines: string[] = [];
    const log = createLogger({ format, write: (l) => lines.push(l) }).child({
      base: `/hook/${TOKEN}`,
    });
    const url = `https://hooks.example.com/hook/${TOKEN}?x=1`;
    log.info(`POST /hook/${TOKEN}`, {
      url,
      error: new Error(`failed ${url}`),
      list: [url, { url }],
      a: { b: { c: { d: { e: { url } } } } },
    });
    assert.equal(lines.length, 1);
    assert.ok(!lines[0]!.includes(TOKEN), `${format}: full token in ${lines[0]}`);
    assert.ok(lines[0]!.includes("/hook/Xk2f…wxyz"), lines[0]!);
  }
});

Deno.test("lines of one event-loop turn leave in one write at the end of the turn; error lines at once", async () => {
  const writes: string[] = [];
  const sink = createLogSink((text) => writes.push(text));
  const log = createLogger({ write: (line, level) => sink.write(line, level) });
  log.info("one", { n: 1 });
  log.info("two", { n: 2 });
  log.debug("dropped below info");
  assert.equal(writes.length, 0, "nothing written during the turn");
  await new Promise((r) => setImmediate(r)); // the end of this turn
  assert.equal(writes.length, 1);
  assert.deepEqual(writes[0]!.trimEnd().split("\n").map((l) => JSON.parse(l).msg), ["one", "two"]);
  assert.ok(writes[0]!.endsWith("}\n"));

  log.info("before the error");
  log.error("boom", { error: new Error("disk full") });
  assert.equal(writes.length, 2, "an error line flushes at once, with what was queued before it");
  const [before, boom] = writes[1]!.trimEnd().split("\n").map((l) => JSON.parse(l));
  assert.equal(before.msg, "before the error");
  assert.deepEqual(boom.error, { name: "Error", message: "disk full" });
});

Deno.test("a flood of lines is written in bounded chunks, not held until the turn ends", () => {
  const writes: string[] = [];
  const sink = createLogSink((text) => writes.push(text));
  const line = "x".repeat(1000);
  for (let i = 0; i < 200; i++) sink.write(line, "info");
  assert.ok(writes.length >= 3, `${writes.length} writes for 200 KB`);
  sink.flush();
  assert.equal(writes.join("").split("\n").filter(Boolean).length, 200);
});

/** Runs `code` (which may use `createLogger`) in a fresh Deno; returns its exit code and stderr. */
async function runLogging(code: string): Promise<{ code: number; stderr: string }> {
  const logUrl = new URL("../../src/log.ts", import.meta.url).href;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", `import { createLogger } from "${logUrl}";\n${code}`],
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("the last lines before Deno.exit and before an uncaught error reach stderr", async () => {
  const exit = await runLogging(
    `const log = createLogger();
     for (let i = 0; i < 500; i++) log.info("line", { i });
     Deno.exit(3);`,
  );
  assert.equal(exit.code, 3);
  const lines = exit.stderr.trimEnd().split("\n").map((l) => JSON.parse(l));
  assert.equal(lines.length, 500);
  assert.equal(lines.at(-1).i, 499);

  const crash = await runLogging(
    `const log = createLogger();
     log.info("last words", { hook: "h1" });
     throw new Error("crash after logging");`,
  );
  assert.equal(crash.code, 1);
  const first = crash.stderr.split("\n")[0]!;
  assert.equal(JSON.parse(first).msg, "last words", crash.stderr);
  assert.match(crash.stderr, /crash after logging/);
});
