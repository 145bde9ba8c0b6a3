// The OTLP/HTTP push against a real receiver on loopback: the collector (the
// real CLI, from source and from the bundle) pushes to a node:http server
// that decodes each OTLP JSON request. What arrives must match the reports
// sent and what /metrics says; an endpoint that is down costs one warning and
// nothing else; SIGTERM sends the last totals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DELAY_BUCKETS, METRICS } from '../../src/collector/metrics.ts';
import type { Report } from '../../src/lib/report.ts';
import { VERSION } from '../../src/lib/version.ts';
import { ROOT } from '../helpers/agent.ts';
import { fixture, makeReport, postReport, samples, send, startCollector, tempDir } from './helpers.ts';
import {
  freePort,
  pushWith,
  reportsTotal,
  startReceiver,
  waitFor,
  type Attrs,
  type Point,
  type Push,
} from './otlp-receiver.ts';

// --- reports ---------------------------------------------------------------

/** A timed-out run on `node` after `delay` s, from valid-timeout.json, unique by `i`. */
function timeoutReport(i: number, node: string, delay: number): Report {
  const base = fixture('valid-timeout.json') as Report;
  return {
    ...base,
    pod: { ...base.pod, uid: `00000000-0000-4000-9000-${String(i).padStart(12, '0')}`, node },
    startedAt: new Date(Date.parse(base.startedAt) + i).toISOString(),
    delaySeconds: delay,
  };
}

/** Delays on both sides of bucket edges, the exact 5 s and 120 s edges, and beyond the last one. */
const SENT: readonly { node: string; outcome: 'ready' | 'timeout'; delay: number }[] = [
  { node: 'node-a', outcome: 'ready', delay: 0.0004 },
  { node: 'node-a', outcome: 'ready', delay: 1.84 },
  { node: 'node-a', outcome: 'ready', delay: 5 },
  { node: 'node-a', outcome: 'ready', delay: 5.001 },
  { node: 'node-b', outcome: 'ready', delay: 0.3 },
  { node: 'node-b', outcome: 'timeout', delay: 120 },
  { node: 'node-b', outcome: 'timeout', delay: 300.001 },
  { node: 'node-c', outcome: 'ready', delay: 2.5 },
  // --max-label-values 3: node-d and node-e are counted as "other".
  { node: 'node-d', outcome: 'ready', delay: 7 },
  { node: 'node-e', outcome: 'ready', delay: 0.012 },
  { node: 'node-e', outcome: 'timeout', delay: 60 },
];
const CAP = 3;

/** What the ready-delay histogram must hold per node and outcome, computed from SENT alone. */
function expectedDelays(): Map<string, { counts: number[]; sum: number; count: number }> {
  const kept = new Set<string>();
  const out = new Map<string, { counts: number[]; sum: number; count: number }>();
  for (const r of SENT) {
    if (kept.size < CAP) kept.add(r.node);
    const node = kept.has(r.node) ? r.node : 'other';
    const key = `${node}/${r.outcome}`;
    const e = out.get(key) ?? { counts: new Array(DELAY_BUCKETS.length + 1).fill(0), sum: 0, count: 0 };
    // Bucket i holds (bounds[i-1], bounds[i]]; the last one everything above the last edge.
    const i = DELAY_BUCKETS.findIndex((b) => r.delay <= b);
    e.counts[i === -1 ? DELAY_BUCKETS.length : i]++;
    e.sum += r.delay;
    e.count++;
    out.set(key, e);
  }
  return out;
}

async function sendAll(url: string): Promise<void> {
  for (const [i, r] of SENT.entries()) {
    const report =
      r.outcome === 'ready'
        ? makeReport(i, { node: r.node }, { delaySeconds: r.delay })
        : timeoutReport(i, r.node, r.delay);
    const res = await postReport(url, report);
    assert.equal(res.status, 202, res.text);
  }
  // One outage (netready watch) on a node already counted, so that its metrics are compared too.
  const base = fixture('valid-outage.json');
  const outage = await postReport(url, { ...base, pod: { ...base.pod, node: SENT[0]!.node }, dropped: 2 });
  assert.equal(outage.status, 202, outage.text);
}

const sameAttrs = (a: Attrs, b: Attrs) =>
  JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());

/** Every netready_ series of a /metrics text equals the pushed one: histograms bucket by bucket, counters and gauges by value. */
function assertSameAsPrometheus(push: Push, text: string): void {
  for (const m of Object.values(METRICS)) {
    const pushed = push.metrics.get(m.name);
    assert.ok(pushed, `${m.name} is pushed`);
    if ('buckets' in m) {
      assert.equal(pushed.kind, 'histogram', m.name);
      const counts = samples(text, `${m.name}_count`);
      assert.equal(pushed.points.length, counts.length, `${m.name}: as many series as /metrics`);
      for (const c of counts) {
        const point: Point | undefined = pushed.points.find((p) => sameAttrs(p.attributes, c.labels));
        assert.ok(point, `${m.name}${JSON.stringify(c.labels)} is pushed`);
        assert.equal(point.count, c.value, `${m.name}${JSON.stringify(c.labels)} count`);
        const sum = samples(text, `${m.name}_sum`).find((s) => sameAttrs(s.labels, c.labels))!.value;
        assert.ok(
          Math.abs(point.sum! - sum) < 1e-9 * Math.max(1, sum),
          `${m.name}${JSON.stringify(c.labels)} sum ${point.sum} vs ${sum}`,
        );
        assert.deepEqual(point.explicitBounds, [...m.buckets], `${m.name}: same bucket edges`);
        // Prometheus buckets are cumulative (le), OTLP's are per bucket.
        const cumulative: number[] = samples(text, `${m.name}_bucket`)
          .filter((s) => sameAttrs({ ...s.labels, le: '' }, { ...c.labels, le: '' }))
          .map((s) => s.value);
        const perBucket: number[] = cumulative.map((v, i) => v - (i === 0 ? 0 : cumulative[i - 1]!));
        assert.deepEqual(point.bucketCounts, perBucket, `${m.name}${JSON.stringify(c.labels)} buckets`);
      }
    } else {
      const series = samples(text, m.name);
      assert.equal(pushed.points.length, series.length, `${m.name}: as many series as /metrics`);
      for (const s of series) {
        const point: Point | undefined = pushed.points.find((p) => sameAttrs(p.attributes, s.labels));
        assert.equal(point?.value, s.value, `${m.name}${JSON.stringify(s.labels)}`);
      }
    }
  }
}

// --- tests -----------------------------------------------------------------

test(
  'the pushed ready-delay histogram matches the reports sent, per node and outcome, and every series matches /metrics',
  { timeout: 30_000 },
  async (t) => {
    const receiver = await startReceiver(t);
    const c = await startCollector(
      t,
      [
        '--db',
        ':memory:',
        '--otlp-endpoint',
        receiver.url,
        '--otlp-interval',
        '200ms',
        '--max-label-values',
        String(CAP),
      ],
      {
        env: {
          OTEL_EXPORTER_OTLP_HEADERS: 'x-scope-orgid=netready-test',
          OTEL_RESOURCE_ATTRIBUTES: 'k8s.cluster.name=test-cluster',
        },
      },
    );
    await sendAll(c.url);
    // Rejected requests are pushed too.
    assert.equal((await postReport(c.url, '{"truncated": ')).status, 400);
    const push = await waitFor('a push with every report and the rejection', () =>
      receiver.pushes.find(
        (p) =>
          reportsTotal(p) === SENT.length &&
          p.metrics
            .get(METRICS.rejected.name)
            ?.points.some((x) => x.attributes.reason === 'invalid_json' && x.value === 1),
      ),
    );
    assert.deepEqual(receiver.problems, []);

    assert.equal(push.resource['service.name'], 'netready-collector');
    assert.equal(push.resource['service.version'], VERSION);
    assert.equal(push.resource['k8s.cluster.name'], 'test-cluster');
    assert.match(push.resource['service.instance.id'] ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(push.headers['x-scope-orgid'], 'netready-test');

    const delay = push.metrics.get(METRICS.readyDelay.name)!;
    assert.equal(delay.kind, 'histogram');
    assert.equal(delay.unit, 's');
    assert.equal(delay.temporality, 2, 'cumulative, as Prometheus');
    const expected = expectedDelays();
    assert.deepEqual(
      delay.points.map((p) => `${p.attributes.node}/${p.attributes.outcome}`).sort(),
      [...expected.keys()].sort(),
    );
    for (const [key, e] of expected) {
      const [node, outcome] = key.split('/');
      const point = delay.points.find((p) => p.attributes.node === node && p.attributes.outcome === outcome)!;
      assert.deepEqual(point.explicitBounds, [...DELAY_BUCKETS], key);
      assert.deepEqual(point.bucketCounts, e.counts, `${key} bucket counts`);
      assert.equal(point.count, e.count, `${key} count`);
      assert.ok(Math.abs(point.sum! - e.sum) < 1e-9, `${key} sum ${point.sum} vs ${e.sum}`);
    }
    const folded = push.metrics.get(METRICS.folded.name)!.points.find((p) => p.attributes.label === 'node');
    assert.equal(folded?.value, 3, 'three reports from nodes beyond the cap');

    // Nothing is stored in between: the latest push and /metrics describe the same totals.
    const text = (await send(c.url, { path: '/metrics' })).text;
    assertSameAsPrometheus(receiver.pushes.at(-1)!, text);

    c.child.kill('SIGTERM');
    assert.equal((await c.exited).code, 0);
  },
);

test('SIGTERM pushes the last totals before the process exits', { timeout: 30_000 }, async (t) => {
  const receiver = await startReceiver(t);
  // An interval of an hour: the only push is the one at shutdown.
  const c = await startCollector(t, ['--db', ':memory:', '--otlp-endpoint', receiver.url, '--otlp-interval', '1h']);
  for (const i of [1, 2]) assert.equal((await postReport(c.url, makeReport(i, { node: 'node-z' }))).status, 202);
  assert.equal(receiver.pushes.length, 0);
  c.child.kill('SIGTERM');
  assert.equal((await c.exited).code, 0);
  assert.equal(receiver.pushes.length, 1, 'one push, at shutdown');
  assert.equal(reportsTotal(receiver.pushes[0]!), 2);
  const point = receiver.pushes[0]!.metrics.get(METRICS.readyDelay.name)!.points[0]!;
  assert.deepEqual(point.attributes, { node: 'node-z', outcome: 'ready' });
  assert.equal(point.count, 2);
});

test(
  'the OTLP endpoint down: one warning, the collector keeps serving, and the totals arrive once it is up',
  { timeout: 30_000 },
  async (t) => {
    const port = await freePort();
    const c = await startCollector(t, [
      '--db',
      ':memory:',
      '--otlp-endpoint',
      `http://127.0.0.1:${port}`,
      '--otlp-interval',
      '200ms',
    ]);
    assert.equal((await postReport(c.url, makeReport(1, { node: 'node-down' }))).status, 202);
    const warning = await waitFor('the warning', () =>
      c.logs().find((l) => l.level === 'warn' && /OTLP push failed/.test(l.msg)),
    );
    assert.equal(warning.err.code, 'ECONNREFUSED');
    // Several more intervals fail: still one warning, and every endpoint answers.
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal(c.logs().filter((l) => l.level === 'warn' || l.level === 'error').length, 1, JSON.stringify(c.logs()));
    assert.equal((await postReport(c.url, makeReport(2, { node: 'node-down' }))).status, 202);
    assert.equal((await send(c.url, { path: '/healthz' })).status, 200);
    const text = (await send(c.url, { path: '/metrics' })).text;
    assert.deepEqual(samples(text, 'netready_reports_total'), [{ labels: {}, value: 2 }]);

    // The endpoint comes up: the next push carries both reports, sent while it was down.
    const receiver = await startReceiver(t, port);
    const push = await pushWith(receiver, 2);
    assert.equal(push.metrics.get(METRICS.readyDelay.name)!.points[0]!.count, 2);
    await waitFor('the recovery line', () => c.logs().find((l) => l.msg === 'OTLP push works again'));
    c.child.kill('SIGTERM');
    assert.equal((await c.exited).code, 0);
    assert.equal(c.child.exitCode, 0);
  },
);

test(
  'the bundle, copied alone, pushes OTLP; no other file of dist/ carries OpenTelemetry code',
  { timeout: 60_000 },
  async (t) => {
    const dir = tempDir(t, 'netready-otlp-bundle-');
    execFileSync(process.execPath, ['scripts/build.ts', join(dir, 'build')], { cwd: ROOT, stdio: 'pipe' });
    const app = join(dir, 'alone', 'app');
    cpSync(join(dir, 'build'), app, { recursive: true });
    for (const file of readdirSync(app, { recursive: true, encoding: 'utf8' })) {
      if (!file.endsWith('.mjs') || file === join('chunks', 'collector.mjs')) continue;
      const code = readFileSync(join(app, file), 'utf8');
      for (const marker of ['OTEL_EXPORTER_OTLP', 'service.instance.id', 'v1/metrics'])
        assert.equal(code.includes(marker), false, `${file} carries ${marker}`);
    }
    const receiver = await startReceiver(t);
    const c = await startCollector(
      t,
      ['--db', ':memory:', '--otlp-endpoint', receiver.url, '--otlp-interval', '200ms'],
      { argv0: [process.execPath, join(app, 'netready.mjs')] },
    );
    assert.equal((await postReport(c.url, makeReport(1, { node: 'bundle-node' }))).status, 202);
    const push = await pushWith(receiver, 1);
    assert.deepEqual(
      push.metrics.get(METRICS.readyDelay.name)!.points.map((p) => p.attributes),
      [{ node: 'bundle-node', outcome: 'ready' }],
    );
    c.child.kill('SIGTERM');
    assert.equal((await c.exited).code, 0);
  },
);
