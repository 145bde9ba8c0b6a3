// A real Prometheus server (Debian's `prometheus`) scraping a real collector
// every second, everything on loopback, the TSDB in a temp dir. Real agents
// (`netready wait`) report for two nodes, more reports come by POST for volume
// over a few scrapes, and the headline query of the dashboards,
// histogram_quantile over rate() of netready_ready_delay_seconds_bucket, must
// answer per node with the bucket the sent delays fall in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runWait } from '../helpers/agent.ts';
import { kill, query, startPrometheus, until, type PromSample } from '../helpers/prometheus.ts';
import { startTcpListener } from '../helpers/servers.ts';
import { which } from '../e2e/testbed-host.ts';
import type { Report } from '../../src/lib/report.ts';
import { makeReport, postReport, startCollector } from './helpers.ts';

const PROMETHEUS = which('prometheus');
// A missing binary fails the test, never skips it.
const MISSING = 'the Prometheus server is not installed (Debian package prometheus; sudo npm test installs it)';

const QUANTILE = 'histogram_quantile(0.99, sum by (le, node) (rate(netready_ready_delay_seconds_bucket[1m])))';
/** What each node's POSTed delays are drawn from: all inside one bucket of DELAY_BUCKETS (… 0.1, 0.25 … 1, 2.5 …). */
const NODES = {
  'node-a': { min: 1.05, max: 1.95, bucket: [1, 2.5] },
  'node-b': { min: 0.11, max: 0.24, bucket: [0.1, 0.25] },
} as const;
type NodeName = keyof typeof NODES;
/** POSTs per node: batches every 100 ms over ~3 scrape intervals. */
const BATCHES = 30;
const PER_BATCH = 10;
/** Real agent runs per node. */
const AGENT_RUNS = 2;

test(
  'a real Prometheus scraping the collector: p99 of netready_ready_delay_seconds per node',
  { timeout: 30_000 },
  async (t) => {
    assert.ok(PROMETHEUS, MISSING);
    const dir = mkdtempSync(join(tmpdir(), 'netready-prometheus-'));
    const spawned: ChildProcess[] = [];
    // One hook, in this order: Prometheus writes to the dir until it is dead.
    t.after(async () => {
      await Promise.all(spawned.map(kill));
      rmSync(dir, { recursive: true, force: true });
    });

    const c = await startCollector(t, ['--db', join(dir, 'r.db')]);
    const target = await startTcpListener();
    t.after(() => target.close());
    const prom = await startPrometheus(PROMETHEUS, dir, `127.0.0.1:${c.port}`, spawned);

    // The target is up: the collector has been scraped at least once. (Prometheus hands a new
    // target to its scrape loop up to 5 s after start: most of this test's time.)
    await until(t, 'Prometheus reports the collector up', 10_000, async () => {
      const up = await query(prom.url, 'up{job="netready-collector"}');
      return up.length === 1 && up[0]!.value[1] === '1';
    });

    // Real agents first, concurrently: delays of a few milliseconds on loopback.
    const agents = await Promise.all(
      Object.keys(NODES).flatMap((node, n) =>
        Array.from({ length: AGENT_RUNS }, (_x, i) =>
          runWait(['--check', `tcp://127.0.0.1:${target.port}`, '--collector', c.url], {
            env: {
              NETREADY_NODE_NAME: node,
              NETREADY_POD_NAME: `agent-${n}-${i}`,
              NETREADY_POD_NAMESPACE: 'shop',
              NETREADY_POD_UID: `5e1f0c2a-0000-4000-8000-0000000${n}000${i}`,
            },
          }),
        ),
      ),
    );
    for (const a of agents) {
      assert.equal(a.code, 0, a.stdout + a.stderr);
      assert.ok(
        a.logs.some((l) => l.msg === 'report delivered'),
        a.stdout,
      );
    }

    // Then volume by POST, spread over ~3 scrapes so that rate() sees increases.
    const keepAlive = new Agent({ keepAlive: true, maxSockets: 8 });
    t.after(() => keepAlive.destroy());
    const sent: Record<NodeName, number[]> = { 'node-a': [], 'node-b': [] };
    let i = 0;
    for (let batch = 0; batch < BATCHES; batch++) {
      const posts: Promise<unknown>[] = [];
      for (let k = 0; k < PER_BATCH; k++) {
        for (const [node, range] of Object.entries(NODES) as [NodeName, (typeof NODES)[NodeName]][]) {
          // Evenly spread over the range, not random: the test means the same thing every run.
          const delay = Number((range.min + ((range.max - range.min) * ((i * 37) % 101)) / 100).toFixed(3));
          const report = withDelay(makeReport(i++, { node, namespace: `team-${i % 3}` }), delay);
          sent[node].push(delay);
          posts.push(postReport(c.url, report, {}, keepAlive).then((r) => assert.equal(r.status, 202, r.text)));
        }
      }
      await Promise.all(posts);
      await sleep(100);
    }

    // Wait for a scrape after the last report, then for rate() to answer for both nodes.
    const expected = Object.fromEntries(
      Object.entries(sent).map(([node, delays]) => [node, String(delays.length + AGENT_RUNS)]),
    );
    await until(t, `Prometheus has every report: ${JSON.stringify(expected)}`, 8_000, async () => {
      const counts = await query(prom.url, 'sum by (node) (netready_ready_delay_seconds_count)');
      return (
        JSON.stringify(Object.fromEntries(counts.map((s) => [s.metric.node, s.value[1]]).sort())) ===
        JSON.stringify(expected)
      );
    });
    let p99: PromSample[] = [];
    await until(t, `${QUANTILE} answers for both nodes`, 5_000, async () => {
      p99 = await query(prom.url, QUANTILE);
      return p99.length === 2 && p99.every((s) => Number.isFinite(Number(s.value[1])));
    });

    const byNode = Object.fromEntries(p99.map((s) => [s.metric.node, Number(s.value[1])]));
    t.diagnostic(`p99 by node: ${JSON.stringify(byNode)}; reports per node: ${JSON.stringify(expected)}`);
    assert.deepEqual(Object.keys(byNode).sort(), Object.keys(NODES));
    for (const [node, { min, max, bucket }] of Object.entries(NODES)) {
      assert.ok(Math.min(...sent[node as NodeName]) >= min && Math.max(...sent[node as NodeName]) <= max);
      // Every POSTed delay of the node is in (bucket[0], bucket[1]], and they are more than 99 % of
      // its reports (the agents' few are faster): the 99th percentile interpolates inside that bucket.
      const value = byNode[node]!;
      assert.ok(
        value > bucket[0] && value <= bucket[1],
        `${node}: p99 ${value} s, expected within (${bucket[0]}, ${bucket[1]}] s`,
      );
    }
  },
);

/** The report made consistent with `delay`: ready that long after its start, no check later than that. */
function withDelay(report: Report, delay: number): Report {
  return {
    ...report,
    delaySeconds: delay,
    readyAt: new Date(Date.parse(report.startedAt) + delay * 1000).toISOString(),
    checks: report.checks.map((c) => ({
      ...c,
      readyAfterSeconds: c.readyAfterSeconds === null ? null : Math.min(c.readyAfterSeconds, delay),
    })),
  };
}
