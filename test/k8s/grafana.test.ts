// The Grafana dashboard (k8s/grafana/netready-dashboard.json) checked three ways:
// its structure (ids, datasources, layout, variables, metric names from
// src/collector/metrics.ts), its ConfigMap as `kubectl kustomize` renders it, and
// every PromQL expression run by a real Prometheus (Debian's `prometheus`,
// loopback, 1 s scrapes) against a real collector fed by real agents and POSTed
// reports: each must be valid AND answer with data, with the labels its legend names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runWait } from '../helpers/agent.ts';
import { kill, query, startPrometheus, until } from '../helpers/prometheus.ts';
import { freePort, startTcpListener } from '../helpers/servers.ts';
import { which } from '../e2e/testbed-host.ts';
import { fixture, makeReport, postReport, send, startCollector } from '../collector/helpers.ts';
import { METRICS } from '../../src/collector/metrics.ts';
import { kustomize, parseYaml } from './kubectl.ts';
import { K8S } from './render.ts';

const DIR = join(K8S, 'grafana');
const FILE = 'netready-dashboard.json';
const dashboard = JSON.parse(readFileSync(join(DIR, FILE), 'utf8'));

interface Target {
  refId: string;
  expr: string;
  legendFormat?: string;
  format?: string;
  instant?: boolean;
  datasource?: { type: string; uid: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos?: { h: number; w: number; x: number; y: number };
  datasource?: { type: string; uid: string };
  targets?: Target[];
  panels?: Panel[];
}

/** Every panel, rows' nested panels included. */
function allPanels(): Panel[] {
  return (dashboard.panels as Panel[]).flatMap((p) => [p, ...(p.panels ?? [])]);
}
/** Every query of the dashboard, with the panel it belongs to. */
function allTargets(): Array<{ panel: Panel; target: Target }> {
  return allPanels().flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel, target })));
}

// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax in a plain string, not a template.
const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };
/** What Grafana puts in for the variables when a query runs: "All" of a multi-value variable is the regex `.*`. */
const VARIABLES: Record<string, string> = {
  node: '.*',
  namespace: '.*',
  __rate_interval: '1m',
  __interval: '15s',
  // Instant queries over the dashboard's time range: wider than the whole test.
  __range: '5m',
};

/** `expr` as Grafana would send it to Prometheus with every node and namespace selected. */
function substitute(expr: string): string {
  const value = (name: string) => {
    const v = VARIABLES[name];
    if (v === undefined) throw new Error(`unknown template variable $${name} in ${expr}`);
    return v;
  };
  return expr
    .replace(/\$\{(\w+)(?::\w+)?\}/g, (_m, name: string) => value(name))
    .replace(/\$(\w+)/g, (_m, name: string) => value(name));
}

/** The metric names a PromQL expression reads (netready's only: `up` and the like are Prometheus's). */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\bnetready_[a-z_]+\b/g)].map((m) => m[0]);
}

test('the dashboard: uid, schema, variables, unique ids, a datasource and a place for every panel', () => {
  assert.equal(dashboard.uid, 'netready');
  assert.ok(dashboard.schemaVersion >= 39, `schemaVersion ${dashboard.schemaVersion}`);

  const variables = Object.fromEntries((dashboard.templating.list as any[]).map((v) => [v.name, v]));
  assert.equal(variables.datasource?.type, 'datasource');
  assert.equal(variables.datasource?.query, 'prometheus');
  for (const [name, metric] of [
    ['node', METRICS.readyDelay.name],
    ['namespace', METRICS.namespaceDelay.name],
  ] as const) {
    const v = variables[name];
    assert.equal(v?.type, 'query', name);
    assert.deepEqual(v.datasource, DATASOURCE, name);
    assert.equal(v.query.query, `label_values(${metric}_count, ${name})`);
    // "All" must be a regex matching every value: the panels select with =~"$node".
    assert.equal(v.includeAll, true, name);
    assert.equal(v.allValue, '.*', name);
  }

  const panels = allPanels();
  const ids = panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length, `duplicate panel ids: ${ids}`);
  for (const p of panels) {
    assert.ok(Number.isInteger(p.id) && p.id > 0, `${p.title}: id ${p.id}`);
    const g = p.gridPos;
    assert.ok(g && [g.h, g.w, g.x, g.y].every(Number.isInteger), `${p.title}: gridPos ${JSON.stringify(g)}`);
    assert.ok(
      g.w > 0 && g.h > 0 && g.x >= 0 && g.x + g.w <= 24,
      `${p.title}: gridPos ${JSON.stringify(g)} outside the 24 columns`,
    );
    // Rows hold no queries; every other panel, and each of its queries, uses the variable's datasource.
    if (p.type === 'row') continue;
    assert.deepEqual(p.datasource, DATASOURCE, `${p.title}: panel datasource`);
    assert.ok((p.targets ?? []).length > 0, `${p.title}: no queries`);
    const refIds = p.targets!.map((t) => t.refId);
    assert.equal(new Set(refIds).size, refIds.length, `${p.title}: duplicate refIds`);
    for (const t of p.targets!) assert.deepEqual(t.datasource, DATASOURCE, `${p.title} ${t.refId}: target datasource`);
  }

  // Every metric a query reads is one the collector exports (histograms through _bucket/_count/_sum).
  const exported = new Set(
    Object.values(METRICS).flatMap((m) =>
      'buckets' in m ? ['_bucket', '_count', '_sum'].map((s) => m.name + s) : [m.name],
    ),
  );
  for (const { panel, target } of allTargets()) {
    const names = metricNames(target.expr);
    assert.ok(names.length > 0, `${panel.title}: ${target.expr} reads no netready metric`);
    for (const name of names)
      assert.ok(
        exported.has(name),
        `${panel.title}: ${name} is not exported by the collector (src/collector/metrics.ts)`,
      );
  }

  // The panels the operator's guide names.
  const byType = (type: string) => panels.filter((p) => p.type === type);
  const heatmap = byType('heatmap');
  assert.equal(heatmap.length, 1);
  assert.ok(
    heatmap[0]!.targets!.every((t) => t.format === 'heatmap' && /netready_ready_delay_seconds_bucket/.test(t.expr)),
  );
  const exprs = allTargets().map(({ target }) => target.expr);
  for (const q of [0.5, 0.9, 0.99]) {
    assert.ok(
      exprs.includes(
        `histogram_quantile(${q}, sum by (le, node) (rate(netready_ready_delay_seconds_bucket{node=~"$node", outcome="ready"}[$__rate_interval])))`,
      ),
      `p${q * 100} by node`,
    );
  }
  assert.ok(
    exprs.some((e) => /netready_ready_delay_seconds_count\{[^}]*outcome="timeout"/.test(e)),
    'timeouts',
  );
  assert.ok(
    exprs.some((e) => /rate\(netready_reports_total\[/.test(e)),
    'reports per second',
  );
  assert.ok(
    exprs.some((e) =>
      /histogram_quantile\(0\.99, sum by \(le, node\) \(rate\(netready_admission_to_ready_seconds_bucket/.test(e),
    ),
    'admission to ready p99',
  );
});

test('k8s/grafana renders to one ConfigMap with the dashboard, labelled for the Grafana sidecar', () => {
  const objects = parseYaml({ yaml: kustomize(DIR) });
  assert.deepEqual(
    objects.map((o) => `${o.kind}/${o.metadata.name}`),
    ['ConfigMap/netready-grafana-dashboard'],
  );
  const cm = objects[0]!;
  assert.equal(cm.metadata.namespace, 'netready-system');
  assert.equal(cm.metadata.labels?.grafana_dashboard, '1');
  assert.deepEqual(JSON.parse((cm.data as Record<string, string>)[FILE]!), dashboard);
});

const PROMETHEUS = which('prometheus');
// A missing binary fails the test, never skips it.
const MISSING = 'the Prometheus server is not installed (Debian package prometheus; sudo npm test installs it)';
/** POST batches, 500 ms apart: spread over ~3 scrapes, so rate() sees increases between samples. */
const BATCHES = 6;
const NODES = ['node-a', 'node-b'];
const NAMESPACES = ['shop', 'etl'];

interface Series {
  metric: Record<string, string>;
  values?: Array<[number, string]>;
  value?: [number, string];
}

test(
  'every dashboard query runs on a real Prometheus scraping a live collector, and returns data',
  { timeout: 60_000 },
  async (t) => {
    assert.ok(PROMETHEUS, MISSING);
    const dir = mkdtempSync(join(tmpdir(), 'netready-grafana-'));
    const spawned: ChildProcess[] = [];
    // One hook, in this order: Prometheus writes to the dir until it is dead.
    t.after(async () => {
      await Promise.all(spawned.map(kill));
      rmSync(dir, { recursive: true, force: true });
    });
    const started = Date.now() / 1000;

    const c = await startCollector(t, ['--db', ':memory:']);
    const target = await startTcpListener();
    t.after(() => target.close());
    const prom = await startPrometheus(PROMETHEUS, dir, `127.0.0.1:${c.port}`, spawned);
    await until(t, 'Prometheus reports the collector up', 10_000, async () => {
      const up = await query(prom.url, 'up{job="netready-collector"}');
      return up.length === 1 && up[0]!.value![1] === '1';
    });

    // Real agents: ready on both nodes, and one timeout (nothing listens), all admitted by the webhook.
    const closed = await freePort();
    const agentRound = async (round: number) => {
      const env = (i: number, node: string, namespace: string) => ({
        NETREADY_NODE_NAME: node,
        NETREADY_POD_NAMESPACE: namespace,
        NETREADY_POD_NAME: `agent-${round}-${i}`,
        NETREADY_POD_UID: `7a4e2b1c-0000-4000-8000-0000000${round}000${i}`,
        NETREADY_ADMITTED_AT: new Date(Date.now() - 1500).toISOString(),
      });
      // Delivery is asserted, not its budget: one delivery from an agent run from source took over the
      // default 1 s on a loaded machine ("report budget of 1000 ms used up", full npm test at load 5).
      const report = ['--collector', c.url, '--report-budget', '1m'];
      const runs = await Promise.all([
        runWait(['--check', `tcp://127.0.0.1:${target.port}`, ...report], { env: env(1, 'node-a', 'shop') }),
        runWait(['--check', `tcp://127.0.0.1:${target.port}`, ...report], { env: env(2, 'node-b', 'etl') }),
        runWait(['--check', `tcp://127.0.0.1:${closed}`, '--timeout', '300ms', ...report], {
          env: env(3, 'node-b', 'etl'),
        }),
      ]);
      assert.deepEqual(
        runs.map((r) => r.code),
        [0, 0, 1],
        runs.map((r) => r.stdout + r.stderr).join('\n'),
      );
      for (const r of runs)
        assert.ok(
          r.logs.some((l) => l.msg === 'report delivered'),
          r.stdout,
        );
    };
    await agentRound(1);

    // Volume by POST over ~3 scrapes: ready and timeout reports on both nodes and namespaces, a
    // retry of a stored report (a duplicate) and a malformed one (rejected), in every batch.
    const keepAlive = new Agent({ keepAlive: true, maxSockets: 8 });
    t.after(() => keepAlive.destroy());
    const timeout = fixture('valid-timeout.json');
    let i = 0;
    for (let batch = 0; batch < BATCHES; batch++) {
      const posts: Array<Promise<number>> = [];
      for (const node of NODES) {
        for (const namespace of NAMESPACES) {
          const ready = makeReport(i++, { node, namespace });
          posts.push(postReport(c.url, ready, {}, keepAlive).then((r) => r.status));
          const timedOut = {
            ...timeout,
            pod: {
              ...timeout.pod,
              node,
              namespace,
              name: `batch-${i}`,
              uid: `00000000-0000-4000-9000-${String(i++).padStart(12, '0')}`,
            },
          };
          posts.push(postReport(c.url, timedOut, {}, keepAlive).then((r) => r.status));
        }
      }
      assert.deepEqual(new Set(await Promise.all(posts)), new Set([202]));
      assert.equal(
        (await postReport(c.url, makeReport(i - 2, { node: 'node-b', namespace: 'etl' }), {}, keepAlive)).status,
        202,
        'a retry is accepted',
      );
      assert.equal(
        (await postReport(c.url, '{"schemaVersion": 1,', {}, keepAlive)).status,
        400,
        'malformed JSON is rejected',
      );
      await sleep(500);
    }
    await agentRound(2);

    // Wait until Prometheus has scraped every stored report.
    const stored = 2 * 3 + BATCHES * NODES.length * NAMESPACES.length * 2;
    await until(t, `Prometheus has all ${stored} reports`, 8_000, async () => {
      const total = await query(prom.url, 'netready_reports_total');
      return total.length === 1 && total[0]!.value![1] === String(stored);
    });

    const end = Math.ceil(Date.now() / 1000);
    const failures: string[] = [];
    const targets = allTargets();
    for (const { panel, target: tg } of targets) {
      const expr = substitute(tg.expr);
      assert.doesNotMatch(expr, /\$/, `${panel.title} ${tg.refId}: a variable left in ${expr}`);
      const what = `${panel.title} [${tg.refId}] ${expr}`;
      const res = tg.instant
        ? await send(prom.url, { path: `/api/v1/query?${new URLSearchParams({ query: expr, time: String(end) })}` })
        : await send(prom.url, {
            path: `/api/v1/query_range?${new URLSearchParams({ query: expr, start: String(Math.floor(started)), end: String(end), step: '1' })}`,
          });
      if (res.status !== 200 || res.json().status !== 'success') {
        failures.push(`${what}: HTTP ${res.status} ${res.text}`);
        continue;
      }
      const result = res.json().data.result as Series[];
      const values = result.flatMap((s) => (s.values ?? (s.value ? [s.value] : [])).map((v) => Number(v[1])));
      if (!values.some(Number.isFinite)) {
        failures.push(`${what}: no data (${result.length} series, no finite value)`);
        continue;
      }
      // The legend's labels are on every series: a typo in `by (...)` would leave {{node}} empty.
      for (const label of [...(tg.legendFormat ?? '').matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((m) => m[1]!)) {
        if (!result.every((s) => label in s.metric))
          failures.push(`${what}: a series without the legend's label "${label}"`);
      }
      t.diagnostic(`${panel.title} [${tg.refId}]: ${result.length} series`);
    }
    assert.deepEqual(failures, [], failures.join('\n'));
    assert.ok(targets.length >= 15, `${targets.length} queries`);

    // The variables' label_values() queries list what the agents reported.
    for (const [label, metric, expected] of [
      ['node', `${METRICS.readyDelay.name}_count`, NODES],
      ['namespace', `${METRICS.namespaceDelay.name}_count`, NAMESPACES.toSorted()],
    ] as const) {
      const res = await send(prom.url, {
        path: `/api/v1/label/${label}/values?${new URLSearchParams({ 'match[]': metric })}`,
      });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.json().data, expected, `label_values(${metric}, ${label})`);
    }
  },
);
