import assert from "node:assert/strict";
import { Counter, Gauge, Histogram, Registry } from "../../src/observability/_exposition.ts";

Deno.test("exposition: counters, gauges and cumulative histogram buckets in Prometheus text", async () => {
  const r = new Registry();
  const c = new Counter({
    name: "x_total",
    help: "X.\nsecond line",
    labelNames: ["a"],
    registers: [r],
  });
  c.inc({ a: 'q"uote' });
  c.inc({ a: 'q"uote' }, 2);
  const g = new Gauge({ name: "g", help: "G", registers: [r] });
  g.set(5);
  let calls = 0;
  new Gauge({
    name: "lazy",
    help: "L",
    registers: [r],
    collect() {
      this.set(++calls);
    },
  });
  const h = new Histogram({
    name: "h_seconds",
    help: "H",
    labelNames: ["r"],
    buckets: [0.1, 1],
    registers: [r],
  });
  h.observe({ r: "ok" }, 0.05);
  h.observe({ r: "ok" }, 0.5);
  h.observe({ r: "ok" }, 5);
  const text = await r.metrics();
  assert.ok(text.includes("# HELP x_total X.\\nsecond line\n# TYPE x_total counter"));
  assert.ok(text.includes('x_total{a="q\\"uote"} 3'));
  assert.ok(text.includes("g 5"));
  assert.ok(text.includes("lazy 1"), "collect runs at scrape time");
  assert.ok(text.includes('h_seconds_bucket{r="ok",le="0.1"} 1'));
  assert.ok(text.includes('h_seconds_bucket{r="ok",le="1"} 2'));
  assert.ok(text.includes('h_seconds_bucket{r="ok",le="+Inf"} 3'));
  assert.ok(text.includes('h_seconds_sum{r="ok"} 5.55'));
  assert.ok(text.includes('h_seconds_count{r="ok"} 3'));
  assert.throws(() => c.inc({ a: "x" }, -1), RangeError);
  assert.throws(() => new Gauge({ name: "g", help: "dup", registers: [r] }), /twice/);
});

Deno.test("exposition: a series of several labels counts the same whether its labels repeat or alternate", async () => {
  const r = new Registry();
  const c = new Counter({
    name: "r_total",
    help: "R",
    labelNames: ["route", "status"],
    registers: [r],
  });
  for (
    const [route, status] of [["hook", 200], ["hook", 200], ["hook", 404], ["hooks", 200], [
      "hook",
      200,
    ]] as const
  ) {
    c.inc({ route, status });
  }
  const text = await r.metrics();
  assert.ok(text.includes('r_total{route="hook",status="200"} 3'), text);
  assert.ok(text.includes('r_total{route="hook",status="404"} 1'), text);
  assert.ok(text.includes('r_total{route="hooks",status="200"} 1'), text);
});
