// The summary against ground truth, on both stores: ~30,000 generated reports
// over 2,000 nodes and 200 namespaces, received over three days (so hours and
// days are rolled up), whose exact per-node and per-namespace counts,
// timeouts and nearest-rank quantiles this test computes itself from the
// reports it sent. Windows cut through the data at both ends. Every figure
// must match within the precision the API states (summary.ts PRECISION):
// counts exact; a quantile never below the exact one, in the same bucket of
// netready_ready_delay_seconds, and equal to the largest delay sent in it.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { bucketOf, figuresOf, MINUTE_MS, periodStart, SCOPE } from '../../src/collector/aggregates.ts';
import { readSummary, SUMMARY_LIMITS } from '../../src/collector/dashboard/summary.ts';
import { sweepOnce } from '../../src/collector/retention.ts';
import type { Report } from '../../src/lib/report.ts';
import { fixture } from './helpers.ts';
import { STORE_KINDS } from './stores.ts';

const NODES = 2000;
const NAMESPACES = 200;
const START = Date.parse('2025-11-22T00:00:13Z');
const DAYS = 3;
/** A batch of reports arrives every BATCH_EVERY_MS: ~300 batches of 100 over three days. */
const BATCH_EVERY_MS = 14 * MINUTE_MS + 26_000;
const BATCH = 100;
const HOUR = 3_600_000;

/** A small seeded PRNG (mulberry32): the same reports on every run. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Sent {
  readonly receivedMs: number;
  readonly node: string;
  readonly namespace: string;
  readonly delay: number;
  readonly timeout: boolean;
}

/** The batches to send, and every report as the truth sees it. */
function generate(): { batches: { receivedMs: number; reports: Report[] }[]; sent: Sent[] } {
  const rnd = random(20251122);
  const base = fixture('valid-ready.json') as Report;
  // Each node has its own speed: delays span 1 ms to minutes, so every bucket is used.
  const slowness = Array.from({ length: NODES }, () => rnd() * 3);
  const batches: { receivedMs: number; reports: Report[] }[] = [];
  const sent: Sent[] = [];
  let i = 0;
  for (let at = START; at < START + DAYS * 24 * HOUR; at += BATCH_EVERY_MS) {
    const reports: Report[] = [];
    for (let k = 0; k < BATCH; k++, i++) {
      const n = Math.floor(rnd() * NODES);
      const node = `node-${n}`;
      const namespace = `ns-${Math.floor(rnd() * NAMESPACES)}`;
      const timeout = rnd() < 0.03;
      // Rounded to the millisecond, as agents report it; log-uniform from 1 ms.
      const delay = timeout
        ? 30 + Math.floor(rnd() * 270)
        : Math.round(10 ** (-3 + rnd() * (2 + slowness[n]!)) * 1000) / 1000;
      const started = START - 60_000 + i;
      reports.push({
        ...base,
        pod: {
          ...base.pod,
          uid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
          name: `pod-${i}`,
          node,
          namespace,
        },
        startedAt: new Date(started).toISOString(),
        readyAt: timeout ? null : new Date(started + delay * 1000).toISOString(),
        outcome: timeout ? 'timeout' : 'ready',
        delaySeconds: delay,
      });
      sent.push({ receivedMs: at, node, namespace, delay, timeout });
    }
    batches.push({ receivedMs: at, reports });
  }
  return { batches, sent };
}

/** Exact figures of a set of delays: counts, nearest-rank quantiles, max. */
function exact(delays: number[], timeouts: number) {
  const sorted = delays.toSorted((a, b) => a - b);
  const q = (p: number) => sorted[Math.min(sorted.length, Math.max(1, Math.ceil(p * sorted.length))) - 1]!;
  return { reports: sorted.length, timeouts, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: sorted.at(-1)!, sorted };
}

/** `got` is the stated-precision quantile of `truth`: same bucket as the exact one, not below it, the largest delay sent in that bucket. */
function assertQuantile(got: number | null, exactValue: number, sorted: number[], what: string): void {
  assert.notEqual(got, null, what);
  const bucket = bucketOf(exactValue);
  const largestInBucket = sorted.filter((d) => bucketOf(d) === bucket).at(-1)!;
  assert.ok(got! >= exactValue, `${what}: ${got} below the exact ${exactValue}`);
  assert.equal(bucketOf(got!), bucket, `${what}: ${got} not in the bucket of the exact ${exactValue}`);
  assert.equal(got, largestInBucket, `${what}: ${got}, the bucket's largest is ${largestInBucket}`);
}

/** The truth of one window: per node and per namespace, and over all. */
function truthOf(sent: readonly Sent[], sinceMs: number, nowMs: number) {
  // The window as stated: whole minutes, from since rounded down to the minute through now's minute.
  const from = periodStart(sinceMs, 0);
  const until = periodStart(nowMs, 0) + MINUTE_MS;
  const inWindow = sent.filter((s) => s.receivedMs >= from && s.receivedMs < until);
  const group = (key: (s: Sent) => string) => {
    const m = new Map<string, Sent[]>();
    for (const s of inWindow) {
      const list = m.get(key(s));
      if (list) list.push(s);
      else m.set(key(s), [s]);
    }
    return new Map(
      [...m].map(([k, list]) => [
        k,
        exact(
          list.map((s) => s.delay),
          list.filter((s) => s.timeout).length,
        ),
      ]),
    );
  };
  return {
    all: exact(
      inWindow.map((s) => s.delay),
      inWindow.filter((s) => s.timeout).length,
    ),
    nodes: group((s) => s.node),
    namespaces: group((s) => s.namespace),
  };
}

const END = START + DAYS * 24 * HOUR;
const WINDOWS: readonly { name: string; since: number; now: number }[] = [
  { name: 'the last hour', since: END - HOUR + 17_000, now: END },
  { name: 'the last 24 hours and 7 minutes', since: END - 24 * HOUR - 7 * MINUTE_MS + 5_000, now: END },
  { name: 'all three days', since: START - HOUR, now: END },
  {
    name: 'hour 20:00:33 to hour 50:00:10, cutting both ends',
    since: START + 20 * HOUR + 33_000,
    now: START + 50 * HOUR + 10_000,
  },
];

const { batches, sent } = generate();

for (const kind of STORE_KINDS) {
  describe(`summary against ground truth: ${kind.name}`, { timeout: 300_000 }, () => {
    test(`${sent.length} reports over ${NODES} nodes and ${NAMESPACES} namespaces, rolled up: every node's and namespace's figures in four windows`, async (t) => {
      const { store } = await kind.open(t);
      for (const b of batches) await store.insertBatch(b.reports, b.receivedMs);
      const rolled = await sweepOnce(store, { now: () => END });
      assert.ok(rolled >= DAYS * 24, `hours and days rolled up (${rolled})`);

      for (const w of WINDOWS) {
        const truth = truthOf(sent, w.since, w.now);
        assert.ok(truth.nodes.size > 100, `${w.name}: the window holds reports of many nodes`);
        const window = await store.window(w.since, w.now, { recent: 10, slowestOf: 10, slowest: 1 });
        for (const [scope, expected] of [
          [SCOPE.node, truth.nodes],
          [SCOPE.namespace, truth.namespaces],
        ] as const) {
          const got = window.totals;
          assert.deepEqual(got.names(scope).sort(), [...expected.keys()].sort(), `${w.name}: the same keys`);
          for (const [key, e] of expected) {
            const f = figuresOf(got.get(scope, key)!);
            const what = `${w.name}, ${key}`;
            assert.deepEqual([f.reports, f.timeouts, f.max], [e.reports, e.timeouts, e.max], what);
            assertQuantile(f.p50, e.p50, e.sorted, `${what} p50`);
            assertQuantile(f.p90, e.p90, e.sorted, `${what} p90`);
            assertQuantile(f.p99, e.p99, e.sorted, `${what} p99`);
          }
        }

        const s = await readSummary(store, w.since, w.now);
        assert.equal(s.since, new Date(periodStart(w.since, 0)).toISOString());
        assert.deepEqual(
          [s.totals.reports, s.totals.timeouts, s.totals.nodes, s.totals.namespaces, s.totals.max],
          [truth.all.reports, truth.all.timeouts, truth.nodes.size, truth.namespaces.size, truth.all.max],
          w.name,
        );
        assertQuantile(s.totals.p50, truth.all.p50, truth.all.sorted, `${w.name}: all p50`);
        assertQuantile(s.totals.p99, truth.all.p99, truth.all.sorted, `${w.name}: all p99`);
        // The slowest nodes listed: the first SUMMARY_LIMITS.nodes of the truth ranked by p90, p99, timeouts, reports, name.
        const inBucket = (e: { sorted: number[] }, v: number) =>
          e.sorted.filter((d) => bucketOf(d) === bucketOf(v)).at(-1)!;
        const ranked = [...truth.nodes]
          .map(([node, e]) => ({
            node,
            p90: inBucket(e, e.p90),
            p99: inBucket(e, e.p99),
            timeouts: e.timeouts,
            reports: e.reports,
          }))
          .sort(
            (a, b) =>
              b.p90 - a.p90 ||
              b.p99 - a.p99 ||
              b.timeouts - a.timeouts ||
              b.reports - a.reports ||
              (a.node < b.node ? -1 : 1),
          )
          .slice(0, SUMMARY_LIMITS.nodes);
        assert.deepEqual(
          s.nodes.map((n) => n.node),
          ranked.map((n) => n.node),
          `${w.name}: the slowest nodes`,
        );
      }
    });
  });
}
