// The collector's metrics on a real prom-client registry: what real reports
// turn into, the cardinality cap under 100,000 distinct node names, and
// promtool's verdict on the exposition.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import {
  ADMISSION_BUCKETS,
  createMetrics,
  DELAY_BUCKETS,
  METRICS,
  REJECT_REASONS,
} from '../../src/collector/metrics.ts';
import { LabelCap, OTHER } from '../../src/collector/cardinality.ts';
import { exposition } from '../../src/collector/prometheus-families.ts';
import { fixture, makeReport, promtoolCheck, samples } from './helpers.ts';

const setup = (maxLabelValues = 1000, processMetrics = false) => {
  const registry = new Registry();
  const metrics = createMetrics(registry, { maxLabelValues, storeRows: () => 42, processMetrics });
  return { registry, metrics };
};

test('delay buckets span 1 ms to 120 s with an exact 5 s edge', () => {
  assert.equal(DELAY_BUCKETS[0], 0.001);
  assert.equal(DELAY_BUCKETS.at(-1), 120);
  assert.ok(DELAY_BUCKETS.includes(5));
  assert.ok(ADMISSION_BUCKETS.includes(5));
  for (const b of [DELAY_BUCKETS, ADMISSION_BUCKETS])
    assert.deepEqual(
      [...b].sort((x, y) => x - y),
      [...b],
    );
});

test('metric names follow Prometheus conventions: netready_ prefix, seconds, _total only on counters', () => {
  for (const m of Object.values(METRICS)) {
    assert.match(m.name, /^netready_[a-z_]+$/);
    const isCounter = m.name.endsWith('_total');
    assert.equal('buckets' in m && isCounter, false, m.name);
    assert.equal(
      /pod|uid/.test(('labelNames' in m ? m.labelNames : []).join()),
      false,
      `${m.name}: no pod or uid label`,
    );
  }
});

test('real reports: the delay per node and outcome, per namespace, per check kind, error classes, admission to ready', async () => {
  const { registry, metrics } = setup();
  metrics.stored(fixture('valid-ready.json'));
  metrics.stored(fixture('valid-timeout.json'));
  const text = await registry.metrics();

  const ready = { node: 'ip-10-0-12-34.eu-west-1.compute.internal', outcome: 'ready' };
  const buckets = samples(text, 'netready_ready_delay_seconds_bucket').filter((s) => s.labels.node === ready.node);
  // 1.84 s: below the 2.5 s edge, above 1 s.
  assert.equal(buckets.find((s) => s.labels.le === '1')!.value, 0);
  assert.equal(buckets.find((s) => s.labels.le === '2.5')!.value, 1);
  assert.equal(buckets.find((s) => s.labels.le === '5')!.value, 1);
  assert.deepEqual(
    samples(text, 'netready_ready_delay_seconds_sum').find((s) => s.labels.node === ready.node),
    { labels: ready, value: 1.84 },
  );

  const timeout = fixture('valid-timeout.json');
  const timedOut = samples(text, 'netready_ready_delay_seconds_count').find((s) => s.labels.outcome === 'timeout');
  assert.deepEqual(timedOut, { labels: { node: timeout.pod.node, outcome: 'timeout' }, value: 1 });

  assert.deepEqual(
    samples(text, 'netready_namespace_ready_delay_seconds_count').map((s) => s.labels),
    [
      { namespace: 'shop', outcome: 'ready' },
      { namespace: timeout.pod.namespace, outcome: 'timeout' },
    ],
  );
  // valid-ready.json: gateway 0.002 s, dns 1.83 s, tcp 1.84 s. Checks that never passed are not observed.
  const kinds = Object.fromEntries(
    samples(text, 'netready_check_ready_seconds_sum').map((s) => [s.labels.kind, s.value]),
  );
  assert.equal(kinds.gateway! >= 0.002, true);
  assert.equal(kinds.dns! >= 1.83, true);
  const errors = samples(text, 'netready_check_errors_total');
  const servfails = [fixture('valid-ready.json'), timeout].flatMap((r) =>
    r.checks.filter((c: any) => c.kind === 'dns').map((c: any) => c.errors.dns_servfail ?? 0),
  );
  assert.equal(
    errors.find((s) => s.labels.kind === 'dns' && s.labels.class === 'dns_servfail')?.value,
    servfails.reduce((a: number, b: number) => a + b),
  );
  assert.deepEqual(samples(text, 'netready_admission_to_ready_seconds_sum'), [
    { labels: { node: ready.node }, value: 3.258 },
  ]);
  assert.deepEqual(samples(text, 'netready_reports_total'), [{ labels: {}, value: 2 }]);
  assert.deepEqual(samples(text, 'netready_store_reports'), [{ labels: {}, value: 42 }]);
});

test('every rejection reason is exported from the start, at zero', async () => {
  const { registry, metrics } = setup();
  metrics.rejected('too_large');
  const rejected = samples(await registry.metrics(), 'netready_reports_rejected_total');
  assert.deepEqual(rejected.map((s) => s.labels.reason).sort(), [...REJECT_REASONS].sort());
  assert.equal(rejected.find((s) => s.labels.reason === 'too_large')!.value, 1);
});

test('negative admission-to-ready (clock skew) and empty pod identity: not observed, and "unknown" instead of an empty label', async () => {
  const { registry, metrics } = setup();
  metrics.stored(makeReport(1, { node: '', namespace: '' }, { admissionToReadySeconds: -0.12 }));
  const text = await registry.metrics();
  assert.deepEqual(samples(text, 'netready_admission_to_ready_seconds_count'), []);
  assert.deepEqual(samples(text, 'netready_ready_delay_seconds_count')[0]!.labels, {
    node: 'unknown',
    outcome: 'ready',
  });
});

test('100,000 distinct node names: the series count stays under the cap, the rest counts as "other"', async () => {
  const cap = 50;
  const { registry, metrics } = setup(cap);
  const started = performance.now();
  for (let i = 0; i < 100_000; i++) {
    const r = makeReport(i, { node: `node-${i}`, namespace: `ns-${i % 5000}` });
    r.checks[1]!.errors = { [`class_${i}`]: 1 };
    metrics.stored(r);
  }
  const elapsed = performance.now() - started;
  const text = await registry.metrics();
  const nodes = new Set(samples(text, 'netready_ready_delay_seconds_count').map((s) => s.labels.node));
  assert.equal(nodes.size, cap + 1);
  assert.ok(nodes.has(OTHER));
  assert.equal(
    new Set(samples(text, 'netready_namespace_ready_delay_seconds_count').map((s) => s.labels.namespace)).size,
    cap + 1,
  );
  // "unreachable" (the tcp check's class in the fixture) takes one of the cap's places.
  assert.equal(new Set(samples(text, 'netready_check_errors_total').map((s) => s.labels.class)).size, cap + 1);
  const other = samples(text, 'netready_ready_delay_seconds_count').find((s) => s.labels.node === OTHER)!;
  assert.equal(other.value, 100_000 - cap, 'every observation is still counted');
  const folded = Object.fromEntries(
    samples(text, 'netready_label_values_folded_total').map((s) => [s.labels.label, s.value]),
  );
  assert.ok(folded.node! >= 100_000 - cap);
  // Every series of the registry: bounded by the cap, not by the input.
  const series = text.split('\n').filter((l) => l && !l.startsWith('#')).length;
  assert.ok(series < 6000, `${series} series`);
  assert.ok(elapsed < 15_000, `took ${elapsed} ms`);
});

test('LabelCap: values seen before the cap stay themselves; each label has its own cap', () => {
  const folds: string[] = [];
  const cap = new LabelCap(2, (l) => folds.push(l));
  assert.deepEqual(
    ['a', 'b', 'c', 'a', 'b', 'c'].map((v) => cap.fold('node', v)),
    ['a', 'b', OTHER, 'a', 'b', OTHER],
  );
  assert.equal(cap.fold('namespace', 'c'), 'c');
  assert.equal(cap.fold('node', 'other'), 'other');
  assert.deepEqual(folds, ['node', 'node']);
  assert.equal(cap.size('node'), 2);
});

test('promtool check metrics passes without a warning, process metrics and hostile label values included', async () => {
  const { registry, metrics } = setup(1000, true);
  for (const f of ['valid-ready.json', 'valid-timeout.json', 'valid-newer-agent.json', 'hostile-proto-keys.json'])
    metrics.stored(fixture(f));
  metrics.stored(makeReport(7, { node: 'we"ird\\node\nname', namespace: 'ünïcode-ns' }));
  metrics.committed(10, 0.0003);
  metrics.rejected('invalid_json');
  metrics.duplicate();
  // What GET /metrics writes: the families' own text, in chunks (prometheus-families.ts).
  let text = '';
  for await (const chunk of exposition(registry)) text += chunk;
  assert.match(text, /^process_cpu_seconds_total /m);
  assert.match(text, /^netready_ready_delay_seconds_bucket\{le="0.001",node=/m);
  assert.match(text, /^netready_store_commit_batch_reports_count 1$/m);
  assert.match(text, /node="we\\"ird\\\\node\\nname"/);
  const r = promtoolCheck(text);
  assert.equal(r.output, '', r.output);
  assert.equal(r.code, 0);
});
