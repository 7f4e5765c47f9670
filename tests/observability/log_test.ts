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
  const sink = createLogSink((bytes) => writes.push(new TextDecoder().decode(bytes)));
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
  const sink = createLogSink((bytes) => writes.push(new TextDecoder().decode(bytes)));
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

Deno.test("a line lists time, level, msg, the fixed fields, then the line's own, in every case", () => {
  const lines: string[] = [];
  for (const format of ["json", "journal"] as const) {
    const log = createLogger({ format, level: "debug", write: (l) => lines.push(l) })
      .child({ component: "http" });
    log.info("hook delivery", { hook: "h1", status: 200, skipped: undefined, ms: 3 });
    log.warn("plain");
    log.debug("fixed field overridden", { component: "other", n: 1 });
    log.info("reserved and index keys", { msg: "mine", 7: "seven", time: "t" });
    log.error("nested", { error: new Error("boom"), big: 12n });
  }
  const keys = lines.map((l) => Object.keys(JSON.parse(l.replace(/^<\d>/, ""))));
  const expected = [
    ["time", "level", "msg", "component", "hook", "status", "ms"],
    ["time", "level", "msg", "component"],
    ["time", "level", "msg", "component", "n"],
    ["7", "time", "level", "msg", "component"],
    ["time", "level", "msg", "component", "error", "big"],
  ];
  assert.deepEqual(keys, [...expected, ...expected]);
  const parsed = lines.map((l) => JSON.parse(l.replace(/^<\d>/, "")));
  assert.equal(parsed[0].status, 200);
  assert.equal(parsed[2].component, "other");
  assert.equal(parsed[3].msg, "mine");
  assert.equal(parsed[3].time, "t");
  assert.deepEqual(parsed[4].error, { name: "Error", message: "boom" });
  assert.equal(parsed[4].big, "12");
  assert.deepEqual(lines.slice(5).map((l) => l.slice(0, 3)), ["<6>", "<4>", "<7>", "<6>", "<3>"]);
});

Deno.test("the sink writes lines of any size whole and in order, a line larger than its buffer too", () => {
  const writes: string[] = [];
  const sink = createLogSink((bytes) => writes.push(new TextDecoder().decode(bytes)));
  const lines = ["a", "é".repeat(30_000), "b".repeat(100_000), "c"];
  for (const line of lines) sink.write(line, "info");
  sink.flush();
  assert.equal(writes.join(""), lines.join("\n") + "\n");
});
