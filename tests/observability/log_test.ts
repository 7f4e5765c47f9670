// Structured logs never carry a full hook token, however deep a caller nests it.
import assert from "node:assert/strict";
import { createLogger } from "../../src/log.ts";

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
