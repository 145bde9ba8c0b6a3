// The dashboard's figures: real report documents stored in a real (in-memory)
// store, read back through its aggregates and window query and summarized;
// every figure checked exactly (a quantile is the largest delay really sent in
// the bucket that holds the nearest-rank quantile). Ground truth over
// thousands of nodes: summary-truth.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openStore } from '../../src/collector/store.ts';
import { bucketOf, bucketQuantile, BUCKETS } from '../../src/collector/aggregates.ts';
import { Totals } from '../../src/collector/totals.ts';
import { parseSummaryQuery, readSummary, SUMMARY_LIMITS, summarize } from '../../src/collector/dashboard/summary.ts';
import { DELAY_BUCKETS } from '../../src/collector/metrics.ts';
import type { Report } from '../../src/lib/report.ts';
import { fixture, makeReport } from './helpers.ts';

const NOW = Date.parse('2025-11-25T14:00:00Z');
const MIN = 60_000;

/** A histogram with `counts` at the given bins. */
function hist(counts: Record<number, number>): number[] {
  return Array.from({ length: BUCKETS }, (_, i) => counts[i] ?? 0);
}

function timeoutReport(i: number, node: string, delaySeconds: number): Report {
  const base = fixture('valid-timeout.json') as Report;
  return {
    ...makeReport(i, { node, namespace: 'etl', name: `batch-${i}` }),
    outcome: 'timeout',
    readyAt: null,
    admissionToReadySeconds: null,
    delaySeconds,
    checks: base.checks,
  };
}

const memoryStore = () => openStore(':memory:', { maxRows: 100_000, maxAgeMs: 0 });

test('summary: per-node quantiles, timeouts and histograms, slowest nodes first; totals; timeline; slowest pods', async () => {
  const store = await memoryStore();
  try {
    // [report, received ms ago]
    const sent: [Report, number][] = [
      // node-a: five ready reports.
      ...[0.004, 0.2, 0.3, 1.5, 7].map((d, i): [Report, number] => [
        makeReport(100 + i, { node: 'node-a' }, { delaySeconds: d }),
        50 * MIN - i * MIN,
      ]),
      // node-b: ten ready reports, 0.1 s to 1.0 s.
      ...Array.from({ length: 10 }, (_, i): [Report, number] => [
        makeReport(200 + i, { node: 'node-b' }, { delaySeconds: (i + 1) / 10 }),
        40 * MIN - i * MIN,
      ]),
      // node-c: one fast pod and one that gave up after 300 s.
      [makeReport(300, { node: 'node-c' }, { delaySeconds: 0.05 }), 20 * MIN],
      [timeoutReport(301, 'node-c', 300.001), 10 * MIN],
      // Outside the one-hour window: counts nowhere.
      [makeReport(400, { node: 'node-old' }, { delaySeconds: 99 }), 61 * MIN],
    ];
    // In the order received: the store's receive times never go backward.
    for (const [r, ago] of sent.toSorted((a, b) => b[1] - a[1])) await store.insertBatch([r], NOW - ago);

    const s = await readSummary(store, NOW - 60 * MIN, NOW);
    assert.equal(s.generatedAt, '2025-11-25T14:00:00.000Z');
    assert.equal(s.since, '2025-11-25T13:00:00.000Z');
    assert.deepEqual(s.buckets, DELAY_BUCKETS);
    assert.deepEqual(s.nodes, [
      // p90 300.001 (2 of 2 reports), then p90 7 (5 of 5), then p90 1: the 9th of 10 is 0.9,
      // in the bucket up to 1 s whose largest delay is 1.
      {
        node: 'node-c',
        reports: 2,
        timeouts: 1,
        p50: 0.05,
        p90: 300.001,
        p99: 300.001,
        max: 300.001,
        histogram: hist({ 5: 1, 17: 1 }),
      },
      {
        node: 'node-a',
        reports: 5,
        timeouts: 0,
        p50: 0.3,
        p90: 7,
        p99: 7,
        max: 7,
        histogram: hist({ 2: 1, 7: 1, 8: 1, 10: 1, 12: 1 }),
      },
      {
        node: 'node-b',
        reports: 10,
        timeouts: 0,
        p50: 0.5,
        p90: 1,
        p99: 1,
        max: 1,
        histogram: hist({ 6: 1, 7: 1, 8: 3, 9: 5 }),
      },
    ]);
    // 17 delays: 0.004 0.05 0.1 0.2 0.2 0.3 0.3 0.4 0.5 0.6 0.7 0.8 0.9 1 1.5 7 300.001
    assert.deepEqual(s.totals, {
      reports: 17,
      timeouts: 1,
      nodes: 3,
      namespaces: 2,
      p50: 0.5,
      p90: 7,
      p99: 300.001,
      max: 300.001,
    });
    assert.deepEqual(
      s.namespaces.map((n) => [n.namespace, n.reports, n.timeouts]),
      [
        ['etl', 1, 1],
        [sent[0]![0].pod.namespace, 16, 0],
      ],
    );

    assert.equal(s.timeline.length, 17);
    assert.deepEqual(s.timeline[0], {
      id: 18,
      receivedAt: '2025-11-25T13:50:00.000Z',
      node: 'node-c',
      namespace: 'etl',
      pod: 'batch-301',
      outcome: 'timeout',
      delaySeconds: 300.001,
    });
    assert.deepEqual(
      s.timeline.map((p) => Date.parse(p.receivedAt)),
      s.timeline.map((p) => Date.parse(p.receivedAt)).toSorted((a, b) => b - a),
      'newest first',
    );

    assert.deepEqual(
      s.slowest.map((p) => [p.pod.name, p.delaySeconds]),
      [
        ['batch-301', 300.001],
        ['web-104', 7],
        ['web-103', 1.5],
        ['web-209', 1],
        ['web-208', 0.9],
        ['web-207', 0.8],
        ['web-206', 0.7],
        ['web-205', 0.6],
        ['web-204', 0.5],
        ['web-203', 0.4],
      ],
    );
    // Only what the page shows: no uid, no IPs.
    assert.deepEqual(s.slowest[0], {
      id: 18,
      receivedAt: '2025-11-25T13:50:00.000Z',
      pod: { name: 'batch-301', namespace: 'etl', node: 'node-c' },
      outcome: 'timeout',
      delaySeconds: 300.001,
      checks: [
        { spec: 'gateway', kind: 'gateway', ok: true, readyAfterSeconds: 0.004, attempts: 1, errors: {} },
        {
          spec: 'dns',
          kind: 'dns',
          ok: false,
          readyAfterSeconds: null,
          attempts: 7512,
          errors: { timeout: 7388, dns_servfail: 121 },
        },
        {
          spec: 'https://storage.googleapis.com/',
          kind: 'http',
          ok: false,
          readyAfterSeconds: null,
          attempts: 7514,
          errors: { dns_servfail: 121, timeout: 7390 },
        },
      ],
    });
  } finally {
    await store.close();
  }
});

test('summary: nodes with equal p90 order by p99, timeouts, reports, then name; an empty window has no figures', () => {
  const rows = [
    ['n-z', 1, 'ready'],
    ['n-y', 1, 'ready'],
    ['n-x', 1, 'timeout'],
    ['n-w', 1, 'ready'],
    ['n-w', 1, 'ready'],
    ['n-v', 1, 'ready'],
    ['n-v', 2, 'ready'],
  ] as const;
  const totals = new Totals();
  for (const [node, delay, outcome] of rows)
    totals.add(0, node, bucketOf(delay), 1, outcome === 'timeout' ? 1 : 0, delay);
  const s = summarize({ fromMs: NOW - 60 * MIN, totals, rows: [], slowest: [] }, NOW);
  // n-v: p90 2; the rest p90 1 and p99 1: n-x has a timeout, n-w two reports, then n-y before n-z.
  assert.deepEqual(
    s.nodes.map((n) => n.node),
    ['n-v', 'n-x', 'n-w', 'n-y', 'n-z'],
  );

  const none = summarize({ fromMs: NOW - 60 * MIN, totals: new Totals(), rows: [], slowest: [] }, NOW);
  assert.deepEqual(none.totals, {
    reports: 0,
    timeouts: 0,
    nodes: 0,
    namespaces: 0,
    p50: null,
    p90: null,
    p99: null,
    max: null,
  });
  assert.deepEqual([none.nodes, none.namespaces, none.timeline, none.slowest], [[], [], [], []]);
});

test('summary: at most SUMMARY_LIMITS.nodes nodes, the slowest, counted over every report; the timeline is bounded', async () => {
  const store = await memoryStore();
  try {
    const n = SUMMARY_LIMITS.nodes + 5;
    await store.insertBatch(
      Array.from({ length: n }, (_, i) =>
        makeReport(i, { node: `node-${String(i).padStart(3, '0')}` }, { delaySeconds: i }),
      ),
      NOW - MIN,
    );
    const s = await readSummary(store, NOW - 60 * MIN, NOW);
    assert.equal(s.totals.nodes, n);
    assert.equal(s.totals.reports, n);
    assert.equal(s.nodes.length, SUMMARY_LIMITS.nodes);
    assert.equal(s.nodes[0]!.node, `node-0${n - 1}`);
    assert.equal(s.nodes.at(-1)!.node, 'node-005');

    const w = await store.window(NOW - 60 * MIN, NOW, { recent: 5, slowestOf: 10, slowest: 3 });
    assert.deepEqual(
      w.rows.map((r) => r.delaySeconds),
      [54, 53, 52, 51, 50],
    );
    // The slowest of the ten newest rows (ids 46..55, delays 45..54).
    assert.deepEqual(
      w.slowest.map((r) => r.report.delaySeconds),
      [54, 53, 52],
    );
    assert.equal(
      (await store.window(NOW, NOW, { recent: 10, slowestOf: 10, slowest: 3 })).rows.length,
      0,
      'received before since',
    );
  } finally {
    await store.close();
  }
});

test('bucket quantiles (nearest rank, the largest delay of its bucket) and buckets at their edges', () => {
  // [delays, q, want]
  const QUANTILES: [number[], number, number | null][] = [
    [[], 0.5, null],
    [[3], 0.99, 3],
    [[1, 2], 0.5, 1],
    [[1, 2], 0.51, 2],
    [[0.3, 0.4, 2, 2.4], 0.5, 0.4],
    [[0.3, 0.4, 2, 2.4], 0.75, 2.4],
    [Array.from({ length: 100 }, (_, i) => (i + 1) / 100), 0.5, 0.5],
    [Array.from({ length: 100 }, (_, i) => (i + 1) / 100), 0.9, 1],
    [Array.from({ length: 101 }, (_, i) => 200 + i), 0.99, 300],
  ];
  for (const [delays, q, want] of QUANTILES) {
    const t = new Totals();
    for (const d of delays) t.add(0, 'n', bucketOf(d), 1, 0, d);
    const f = t.get(0, 'n');
    assert.equal(
      f ? bucketQuantile(f.reports, f.max, delays.length, q) : bucketQuantile([], [], 0, q),
      want,
      `q${q} of ${delays.length}`,
    );
  }

  const EDGES: [number, number][] = [
    [0, 0],
    [0.001, 0],
    [0.00101, 1],
    [5, 11],
    [5.0001, 12],
    [120, 16],
    [120.5, 17],
    [1e9, 17],
  ];
  for (const [delay, want] of EDGES) assert.equal(bucketOf(delay), want, String(delay));
});

test('GET /v1/summary query: since as a duration or an RFC 3339 time, default 1h; anything else named', () => {
  const CASES: [string, number | RegExp][] = [
    ['', NOW - 60 * MIN],
    ['since=15m', NOW - 15 * MIN],
    ['since=168h', NOW - 168 * 60 * MIN],
    ['since=2025-11-25T13:30:00Z', NOW - 30 * MIN],
    ['since=2025-11-25T14:30:00%2B01:00', NOW - 30 * MIN],
    ['since=87600h', NOW - 87_600 * 60 * MIN],
    ['since=87600h1ms', /^since: a duration back from now is at most 87600h/],
    ['since=99999999999h', /^since: a duration back from now is at most 87600h/],
    ['since=yesterday', /^since: expected an RFC 3339 time/],
    ['since=', /^since: expected/],
    ['since=1h&since=2h', /^since: given more than once/],
    ['node=a', /^node: unknown parameter; expected since/],
  ];
  for (const [query, want] of CASES) {
    const r = parseSummaryQuery(new URLSearchParams(query), NOW);
    if (typeof want === 'number') assert.deepEqual(r, { ok: true, sinceMs: want }, query);
    else assert.match(r.ok ? 'ok' : r.error, want, query);
  }
});
