// The collector's compact histogram and counter families: the same text as
// prom-client's own for the same observations, and a scrape of thousands of
// series written in chunks while reports keep arriving, over HTTP too.
import { createServer } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { Counter, Histogram, Registry } from 'prom-client';
import { createMetrics, DELAY_BUCKETS, METRICS } from '../../src/collector/metrics.ts';
import { CounterFamily, exposition, HistogramFamily } from '../../src/collector/prometheus-families.ts';
import { createCollector } from '../../src/collector/collector.ts';
import { parseCollectorConfig } from '../../src/collector/config.ts';
import { createLogger } from '../../src/lib/log.ts';
import { makeReport, postReport, promtoolCheck, samples, send, serveCollector } from './helpers.ts';

/** Every chunk of the exposition, in order. */
async function chunksOf(registry: Registry): Promise<string[]> {
  const out: string[] = [];
  for await (const chunk of exposition(registry)) out.push(chunk);
  return out;
}

type Labels = Record<string, string>;
/** One instrument and what is recorded into it. */
interface Row {
  name: string;
  kind: 'histogram' | 'counter';
  labelNames: string[];
  record: [number, Labels | undefined][];
}

const HOSTILE = 'a"b\\c\nd é';
const ROWS: Row[] = [
  {
    name: 'delay per node and outcome: zero, on an edge, above the last edge, escaped values',
    kind: 'histogram',
    labelNames: ['node', 'outcome'],
    record: [
      [0, { node: 'n1', outcome: 'ready' }],
      [5, { node: 'n1', outcome: 'ready' }],
      [0.0011, { node: 'n2', outcome: 'timeout' }],
      [500, { node: 'n1', outcome: 'ready' }],
      [1.5, { node: HOSTILE, outcome: 'ready' }],
      [120, { node: 'n2', outcome: 'timeout' }],
    ],
  },
  { name: 'histogram without labels, nothing observed', kind: 'histogram', labelNames: [], record: [] },
  {
    name: 'histogram without labels',
    kind: 'histogram',
    labelNames: [],
    record: [
      [3, undefined],
      [0.25, undefined],
    ],
  },
  { name: 'histogram with labels, nothing observed', kind: 'histogram', labelNames: ['node'], record: [] },
  {
    name: 'counter per two labels, a series made at zero',
    kind: 'counter',
    labelNames: ['kind', 'class'],
    record: [
      [0, { kind: 'dns', class: 'timeout' }],
      [3, { kind: 'tcp', class: 'refused' }],
      [2, { kind: 'tcp', class: 'refused' }],
      [1, { kind: 'http', class: HOSTILE }],
    ],
  },
  { name: 'counter without labels, never counted', kind: 'counter', labelNames: [], record: [] },
  { name: 'counter without labels', kind: 'counter', labelNames: [], record: [[7, undefined]] },
];

for (const row of ROWS)
  test(`the families write prom-client's text: ${row.name}`, async () => {
    const theirs = new Registry();
    const ours = new Registry();
    const m = { name: 'netready_test', help: 'Help with a \\ backslash.', labelNames: row.labelNames };
    if (row.kind === 'histogram') {
      const h = new Histogram({ ...m, buckets: [...DELAY_BUCKETS], registers: [theirs] });
      const f = new HistogramFamily({ ...m, buckets: DELAY_BUCKETS }, ours);
      for (const [v, labels] of row.record) {
        if (labels) h.observe(labels, v);
        else h.observe(v);
        f.observe(v, labels);
      }
    } else {
      const c = new Counter({ ...m, registers: [theirs] });
      const f = new CounterFamily(m, ours);
      for (const [v, labels] of row.record) {
        if (labels) c.inc(labels, v);
        else c.inc(v);
        f.inc(v, labels);
      }
    }
    const text = await theirs.metrics();
    assert.equal((await chunksOf(ours)).join(''), text);
    // And through prom-client's own writer (what registry.metrics() gives).
    assert.equal(await ours.metrics(), text);
  });

test('a family refuses what prom-client refuses: a value that is not finite, a counter going down', () => {
  const registry = new Registry();
  const h = new HistogramFamily(METRICS.readyDelay, registry);
  const c = new CounterFamily(METRICS.reports, registry);
  assert.throws(() => h.observe(Number.NaN, { node: 'n', outcome: 'ready' }), /netready_ready_delay_seconds/);
  assert.throws(() => h.observe(Infinity, { node: 'n', outcome: 'ready' }), TypeError);
  assert.throws(() => c.inc(-1), /netready_reports_total/);
  assert.equal(h.size, 0);
});

test('a scrape of thousands of series comes in chunks of whole lines while reports arrive, and promtool accepts it', async () => {
  const registry = new Registry();
  const metrics = createMetrics(registry, { maxLabelValues: 5000, storeRows: () => 0, processMetrics: true });
  for (let i = 0; i < 2000; i++) metrics.stored(makeReport(i, { node: `node-${i}`, namespace: `ns-${i % 300}` }));
  const chunks: string[] = [];
  for await (const chunk of exposition(registry)) {
    chunks.push(chunk);
    // Reports stored between two chunks: new series and more counts in written ones.
    if (chunks.length <= 3)
      for (let i = 0; i < 100; i++) metrics.stored(makeReport(10_000 + chunks.length * 100 + i, { node: `late-${i}` }));
  }
  assert.ok(chunks.length > 20, `${chunks.length} chunks`);
  for (const [i, chunk] of chunks.entries()) {
    assert.ok(chunk.length <= 256 * 1024, `a chunk of ${chunk.length} characters`);
    // A chunk ends at a line's end: its own newline, or the next chunk's first.
    if (i < chunks.length - 1) assert.ok(chunk.endsWith('\n') || chunks[i + 1]!.startsWith('\n'), `chunk ${i}`);
  }
  const text = chunks.join('');
  assert.equal((text.match(/^# TYPE /gm) ?? []).length, registry.getMetricsAsArray().length);
  // Every histogram series whole: its +Inf bucket and its count agree.
  const counts = samples(text, 'netready_ready_delay_seconds_count');
  const inf = samples(text, 'netready_ready_delay_seconds_bucket').filter((s) => s.labels.le === '+Inf');
  assert.equal(counts.length, 2000 + 100);
  assert.deepEqual(
    inf.map((s) => [s.labels.node, s.value]),
    counts.map((s) => [s.labels.node, s.value]),
  );
  const { code, output } = promtoolCheck(text);
  assert.equal(code, 0, output);
});

test('GET /metrics writes the registry whole', async (t) => {
  const config = parseCollectorConfig(['--db', ':memory:', '--max-label-values', '2000'], {});
  const log = createLogger('test', 'error', () => {});
  const collector = await createCollector(config, { log, processMetrics: false, retention: false });
  const url = await serveCollector(t, collector);
  for (let i = 0; i < 1500; i++) collector.metrics.stored(makeReport(i, { node: `node-${i}` }));
  assert.equal((await postReport(url, makeReport(1_000_000))).status, 202);
  const res = await send(url, { path: '/metrics' });
  assert.equal(res.status, 200);
  assert.equal(res.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  assert.equal(res.text, await collector.registry.metrics());
  assert.equal(samples(res.text, 'netready_ready_delay_seconds_count').length, 1501);
});

test('a scraper that does not read: the collector holds a few chunks of the text, not the whole of it', async (t) => {
  const config = parseCollectorConfig(['--db', ':memory:', '--max-label-values', '20000'], {});
  const log = createLogger('test', 'error', () => {});
  const collector = await createCollector(config, { log, processMetrics: false, retention: false });
  // ~20,000 series of ~20 lines: tens of MB of text, more than loopback's socket buffers take.
  for (let i = 0; i < 10_000; i++) collector.metrics.stored(makeReport(i, { node: `node-${i}` }));
  let length = 0;
  for await (const chunk of exposition(collector.registry)) length += chunk.length;
  assert.ok(length > 16 * 1024 * 1024, `${length} characters`);

  const sockets: Socket[] = [];
  const server = createServer(collector.handler).on('connection', (s) => sockets.push(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
  t.after(async () => {
    client.destroy();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await collector.close();
  });
  client.pause();
  client.write('GET /metrics HTTP/1.1\r\nHost: collector\r\n\r\n');
  // Until the collector's side of the connection is full and waits for the client.
  while (sockets[0]?.writableNeedDrain !== true) await sleep(10);
  const held = sockets[0]!.writableLength;
  assert.ok(held < 1024 * 1024, `${held} bytes waiting in the collector for the client`);
  // The client reads on: the whole text arrives.
  let received = 0;
  client.on('data', (d: Buffer) => (received += d.length)).resume();
  while (received < length) await sleep(20);
});
