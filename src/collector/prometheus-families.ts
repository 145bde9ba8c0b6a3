// The collector's labeled histograms and counters for Prometheus, kept in
// typed arrays and written out in chunks. Written by hand because prom-client
// does both at a cost that grows with the series: it keeps an object per
// series (a histogram's buckets as an object's properties) and, on every
// scrape, builds an object for each sample and the whole exposition as one
// string. With a node label (up to --max-label-values 1,000 nodes by default,
// 100,000 at most) that was ~11 MiB held and +53 MiB of heap for each scrape of
// the ~4,000 series, and ~0.5 s of the event loop: the collector's RSS peak
// (BENCHMARKS.md, "The collector's RSS peak was the scrape of /metrics"). Here a
// series is a row of numbers and its label text, and a scrape writes chunks of
// ~64 KiB as the socket takes them.
//
// The text is prom-client's, byte for byte (test/collector/prometheus-families.test.ts):
// families stay registered on prom-client's Registry (they answer its get()),
// in the order they were made, beside prom-client's own gauge and process
// metrics, so `registry.metrics()` still gives the whole exposition.
import type { Registry } from 'prom-client';

/** Label values by label name. */
type Labels = Readonly<Record<string, string>>;

/** Characters a label value must have escaped in the text format. */
const NEEDS_ESCAPE = /[\\"\n]/;

/** One label pair as the text format writes it (prom-client's escaping). */
function labelPair(name: string, value: string): string {
  const escaped = NEEDS_ESCAPE.test(value)
    ? value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')
    : value;
  return `${name}="${escaped}"`;
}

/** HELP text as prom-client writes it. */
function escapeHelp(help: string): string {
  return help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A sample's value as prom-client writes it. */
function sampleValue(v: number): string {
  if (Number.isNaN(v)) return 'Nan';
  if (!Number.isFinite(v)) return v < 0 ? '-Inf' : '+Inf';
  return String(v);
}

/** A histogram or counter family: series found by their label text, numbers in one growing array. */
abstract class Family {
  readonly name: string;
  readonly help: string;
  abstract readonly type: 'histogram' | 'counter';
  /** prom-client's Registry reads this. */
  readonly aggregator = 'sum';
  readonly #labelNames: readonly string[];
  /** Numbers per series. */
  readonly #stride: number;
  /** Series index by its label text, e.g. `node="a",outcome="ready"`; the text itself identifies it. */
  #index = new Map<string, number>();
  /** Label text of each series, in order of creation. */
  #series: string[] = [];
  /** Label values of each series, for get(). */
  #labels: Labels[] = [];
  protected values: Float64Array;

  constructor(name: string, help: string, labelNames: readonly string[], stride: number, registry: Registry) {
    this.name = name;
    this.help = help;
    this.#labelNames = labelNames;
    this.#stride = stride;
    this.values = new Float64Array(stride * 16);
    this.reset();
    registry.registerMetric(this as never);
  }

  /** The row of `labels`' series in `values`, made at zero if new. */
  protected row(labels: Labels | undefined): number {
    let text = '';
    if (labels !== undefined)
      for (const name of this.#labelNames) {
        const value = labels[name];
        if (value !== undefined) text += (text === '' ? '' : ',') + labelPair(name, value);
      }
    let i = this.#index.get(text);
    if (i === undefined) {
      i = this.#series.length;
      if ((i + 1) * this.#stride > this.values.length) {
        const grown = new Float64Array(this.values.length * 2);
        grown.set(this.values);
        this.values = grown;
      }
      this.#index.set(text, i);
      this.#series.push(text);
      this.#labels.push(labels === undefined ? {} : { ...labels });
    }
    return i * this.#stride;
  }

  /** Series so far. */
  get size(): number {
    return this.#series.length;
  }

  /** prom-client's Registry.resetMetrics(): no series, except the one of a family without labels. */
  reset(): void {
    this.#index = new Map();
    this.#series = [];
    this.#labels = [];
    this.values.fill(0);
    if (this.#labelNames.length === 0) this.row(undefined);
  }

  /** The text lines of series [from, to), pushed to `out`. */
  abstract lines(from: number, to: number, out: string[]): void;

  /** The label text of series `i` ('' without labels). */
  protected labelText(i: number): string {
    return this.#series[i]!;
  }

  /** The label values of series `i`. */
  protected labelsOf(i: number): Labels {
    return this.#labels[i]!;
  }

  /** prom-client's samples of series [from, to). */
  protected abstract samples(from: number, to: number): object[];

  /** The family in prom-client's form, for its Registry: `registry.metrics()` (tests) writes the same text. */
  async get(): Promise<object> {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      values: this.samples(0, this.size),
      aggregator: this.aggregator,
    };
  }
}

/** A histogram: per series the count of each bucket (not cumulative), then the sum and the count. */
export class HistogramFamily extends Family {
  readonly type = 'histogram';
  readonly #bounds: readonly number[];
  /** `le="…"` of each bound, made once. */
  readonly #le: readonly string[];

  constructor(
    m: { name: string; help: string; labelNames?: readonly string[]; buckets: readonly number[] },
    registry: Registry,
  ) {
    super(m.name, m.help, m.labelNames ?? [], m.buckets.length + 2, registry);
    this.#bounds = m.buckets;
    this.#le = [...m.buckets.map((b) => `le="${b}"`), 'le="+Inf"'];
  }

  observe(value: number, labels?: Labels): void {
    if (!Number.isFinite(value)) throw new TypeError(`${this.name}: value is not a finite number: ${value}`);
    const at = this.row(labels);
    const bounds = this.#bounds;
    const n = bounds.length;
    // Above the last bound: only in +Inf, which is the count.
    for (let b = 0; b < n; b++)
      if (value <= bounds[b]!) {
        this.values[at + b]! += 1;
        break;
      }
    this.values[at + n]! += value;
    this.values[at + n + 1]! += 1;
  }

  protected samples(from: number, to: number): object[] {
    const n = this.#bounds.length;
    const out: object[] = [];
    for (let i = from; i < to; i++) {
      const labels = this.labelsOf(i);
      const at = i * (n + 2);
      let acc = 0;
      for (let b = 0; b < n; b++) {
        acc += this.values[at + b]!;
        out.push({ labels: { le: this.#bounds[b], ...labels }, value: acc, metricName: `${this.name}_bucket` });
      }
      const count = this.values[at + n + 1]!;
      out.push(
        { labels: { le: '+Inf', ...labels }, value: count, metricName: `${this.name}_bucket` },
        { labels: { ...labels }, value: this.values[at + n]!, metricName: `${this.name}_sum` },
        { labels: { ...labels }, value: count, metricName: `${this.name}_count` },
      );
    }
    return out;
  }

  lines(from: number, to: number, out: string[]): void {
    const n = this.#bounds.length;
    const v = this.values;
    for (let i = from; i < to; i++) {
      const labels = this.labelText(i);
      const tail = labels === '' ? '}' : `,${labels}}`;
      const at = i * (n + 2);
      let acc = 0;
      for (let b = 0; b < n; b++) {
        acc += v[at + b]!;
        out.push(`${this.name}_bucket{${this.#le[b]}${tail} ${sampleValue(acc)}`);
      }
      const count = sampleValue(v[at + n + 1]!);
      const braces = labels === '' ? '' : `{${labels}}`;
      out.push(
        `${this.name}_bucket{${this.#le[n]}${tail} ${count}`,
        `${this.name}_sum${braces} ${sampleValue(v[at + n]!)}`,
        `${this.name}_count${braces} ${count}`,
      );
    }
  }
}

/** A counter: one number per series. */
export class CounterFamily extends Family {
  readonly type = 'counter';

  constructor(m: { name: string; help: string; labelNames?: readonly string[] }, registry: Registry) {
    super(m.name, m.help, m.labelNames ?? [], 1, registry);
  }

  inc(count: number, labels?: Labels): void {
    if (!Number.isFinite(count) || count < 0)
      throw new TypeError(`${this.name}: a counter only goes up by a finite number: ${count}`);
    this.values[this.row(labels)]! += count;
  }

  lines(from: number, to: number, out: string[]): void {
    for (let i = from; i < to; i++) {
      const labels = this.labelText(i);
      out.push(`${this.name}${labels === '' ? '' : `{${labels}}`} ${sampleValue(this.values[i]!)}`);
    }
  }

  protected samples(from: number, to: number): object[] {
    const out: object[] = [];
    for (let i = from; i < to; i++) out.push({ labels: { ...this.labelsOf(i) }, value: this.values[i]! });
    return out;
  }
}

/** Text of about this many characters per chunk. */
const CHUNK_CHARS = 64 * 1024;
/** Series written between two checks of a chunk's length. */
const SERIES_PER_STEP = 32;

/**
 * The registry's exposition (the text `registry.metrics()` gives) in chunks
 * of ~64 KiB: families series by series, prom-client's own metrics whole.
 * Between chunks the caller may wait (for the socket to drain), and ingest
 * runs meanwhile; a series is always written whole.
 */
export async function* exposition(registry: Registry): AsyncGenerator<string> {
  let chunk: string[] = [];
  let chars = 0;
  const metrics = registry.getMetricsAsArray();
  for (let m = 0; m < metrics.length; m++) {
    const metric = metrics[m] as unknown;
    const sep = m === metrics.length - 1 ? '\n' : '\n\n';
    if (!(metric instanceof Family)) {
      const text = `${await registry.getSingleMetricAsString((metric as { name: string }).name)}${sep}`;
      chunk.push(text);
      chars += text.length;
    } else {
      const head = `# HELP ${metric.name} ${escapeHelp(metric.help)}\n# TYPE ${metric.name} ${metric.type}`;
      chunk.push(head);
      chars += head.length;
      for (let i = 0; i < metric.size; i += SERIES_PER_STEP) {
        const lines: string[] = [];
        metric.lines(i, Math.min(metric.size, i + SERIES_PER_STEP), lines);
        const text = `\n${lines.join('\n')}`;
        chunk.push(text);
        chars += text.length;
        if (chars >= CHUNK_CHARS) {
          yield chunk.join('');
          chunk = [];
          chars = 0;
        }
      }
      chunk.push(sep);
      chars += sep.length;
    }
    if (chars >= CHUNK_CHARS) {
      yield chunk.join('');
      chunk = [];
      chars = 0;
    }
  }
  if (metrics.length === 0) chunk.push('\n');
  yield chunk.join('');
}
