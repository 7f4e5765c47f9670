/**
 * A small Prometheus text-format (0.0.4) registry: counters, gauges and histograms with
 * labels, and nothing else. Written here because prom-client, though it runs under
 * `deno run`, cannot be built into the binary: its dependency `bintrees` makes
 * `deno compile` 2.9.6 abort with a stack overflow (any program whose lock file holds it).
 * It also trims about 6 MB from the idle process.
 *
 * @module
 */

/** Label values of one series, by label name. */
export type Labels = Readonly<Record<string, string | number>>;

interface MetricOptions {
  name: string;
  help: string;
  labelNames?: readonly string[];
  registers?: readonly Registry[];
  /** Called before each scrape; may update the metric. */
  collect?: (this: Gauge) => void;
}

function escapeHelp(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function escapeLabel(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function formatNumber(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  return String(n);
}

abstract class Metric {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  abstract readonly type: "counter" | "gauge" | "histogram";

  constructor(o: MetricOptions) {
    this.name = o.name;
    this.help = o.help;
    this.labelNames = o.labelNames ?? [];
    for (const r of o.registers ?? []) r.register(this);
  }

  /** A stable key for a label set, in declared label order. */
  protected key(labels: Labels | undefined): string {
    // A loop, not map().join(): this runs for every counted request. The key of the last
    // label set is kept: a busy series (one hook's deliveries) is counted again and again,
    // and a key of several labels is a new string each time it is built (issue 16).
    const names = this.labelNames;
    if (names.length <= 1) return names.length ? String(labels?.[names[0]!] ?? "") : "";
    const last = this.#lastValues;
    let same = last.length === names.length;
    for (let i = 0; same && i < names.length; i++) {
      same = last[i] === String(labels?.[names[i]!] ?? "");
    }
    if (same) return this.#lastKey;
    let key = "";
    const values: string[] = [];
    for (let i = 0; i < names.length; i++) {
      const value = String(labels?.[names[i]!] ?? "");
      if (i > 0) key += "\u0000";
      key += value;
      values.push(value);
    }
    this.#lastValues = values;
    this.#lastKey = key;
    return key;
  }

  #lastValues: string[] = [];
  #lastKey = "";

  /** `{a="x",b="y"}` for a key made by {@link key}, plus optional extra pairs. */
  protected labelText(key: string, extra: [string, string][] = []): string {
    const values = this.labelNames.length ? key.split("\u0000") : [];
    const pairs = this.labelNames.map((n, i) => [n, values[i] ?? ""] as [string, string])
      .concat(extra);
    if (pairs.length === 0) return "";
    return `{${pairs.map(([n, v]) => `${n}="${escapeLabel(v)}"`).join(",")}}`;
  }

  /** The exposition lines of this metric. */
  abstract lines(): string[];

  /** HELP and TYPE headers. */
  protected header(): string[] {
    return [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`];
  }
}

/** A monotonically increasing count per label set. */
export class Counter extends Metric {
  readonly type = "counter" as const;
  readonly #values = new Map<string, number>();

  /** Adds `value` (default 1) to the series of `labels`. */
  inc(labels?: Labels, value = 1): void {
    if (!(value >= 0)) throw new RangeError(`${this.name}: a counter only goes up`);
    const k = this.key(labels);
    this.#values.set(k, (this.#values.get(k) ?? 0) + value);
  }

  lines(): string[] {
    const out = this.header();
    if (this.#values.size === 0 && this.labelNames.length === 0) out.push(`${this.name} 0`);
    for (const [k, v] of this.#values) {
      out.push(`${this.name}${this.labelText(k)} ${formatNumber(v)}`);
    }
    return out;
  }
}

/** A value that goes up and down, per label set. */
export class Gauge extends Metric {
  readonly type = "gauge" as const;
  readonly #values = new Map<string, number>();
  readonly #collect: ((this: Gauge) => void) | undefined;

  constructor(o: MetricOptions) {
    super(o);
    this.#collect = o.collect;
  }

  /** `set(value)` for an unlabelled gauge, `set(labels, value)` otherwise. */
  set(labelsOrValue: Labels | number, value?: number): void {
    if (typeof labelsOrValue === "number") this.#values.set(this.key(undefined), labelsOrValue);
    else this.#values.set(this.key(labelsOrValue), value ?? 0);
  }

  lines(): string[] {
    this.#collect?.call(this);
    const out = this.header();
    if (this.#values.size === 0 && this.labelNames.length === 0) out.push(`${this.name} 0`);
    for (const [k, v] of this.#values) {
      out.push(`${this.name}${this.labelText(k)} ${formatNumber(v)}`);
    }
    return out;
  }
}

/** Observations counted into cumulative buckets, with their sum and count. */
export class Histogram extends Metric {
  readonly type = "histogram" as const;
  readonly #buckets: readonly number[];
  readonly #series = new Map<string, { counts: number[]; sum: number; count: number }>();

  constructor(o: MetricOptions & { buckets: readonly number[] }) {
    super(o);
    this.#buckets = [...o.buckets].sort((a, b) => a - b);
  }

  /** Records one observation in the series of `labels`. */
  observe(labels: Labels | undefined, value: number): void {
    const k = this.key(labels);
    let s = this.#series.get(k);
    if (!s) {
      s = { counts: this.#buckets.map(() => 0), sum: 0, count: 0 };
      this.#series.set(k, s);
    }
    // Counts are per bucket here and made cumulative when rendered. A loop, not findIndex
    // with a closure: this runs for every delivery.
    const buckets = this.#buckets;
    for (let i = 0; i < buckets.length; i++) {
      if (value <= buckets[i]!) {
        s.counts[i]!++;
        break;
      }
    }
    s.sum += value;
    s.count++;
  }

  lines(): string[] {
    const out = this.header();
    for (const [k, s] of this.#series) {
      let cumulative = 0;
      this.#buckets.forEach((b, i) => {
        cumulative += s.counts[i]!;
        out.push(
          `${this.name}_bucket${this.labelText(k, [["le", formatNumber(b)]])} ${cumulative}`,
        );
      });
      out.push(`${this.name}_bucket${this.labelText(k, [["le", "+Inf"]])} ${s.count}`);
      out.push(`${this.name}_sum${this.labelText(k)} ${formatNumber(s.sum)}`);
      out.push(`${this.name}_count${this.labelText(k)} ${s.count}`);
    }
    return out;
  }
}

/** A set of metrics rendered together for one scrape. */
export class Registry {
  /** The Content-Type of {@link metrics}' text. */
  readonly contentType = "text/plain; version=0.0.4; charset=utf-8";
  readonly #metrics = new Map<string, Metric>();

  /** Adds a metric; a second one with the same name is a programming error. */
  register(metric: Metric): void {
    if (this.#metrics.has(metric.name)) throw new Error(`metric ${metric.name} registered twice`);
    this.#metrics.set(metric.name, metric);
  }

  /** The exposition text of every metric. */
  metrics(): Promise<string> {
    const lines: string[] = [];
    for (const m of this.#metrics.values()) lines.push(...m.lines(), "");
    return Promise.resolve(lines.join("\n"));
  }
}
