// The alerts of k8s/components/prometheusrule (the chart renders the same rules: chart.test.ts),
// checked with the real promtool: `check rules`, then `test rules` with a table of cases in which
// each alert fires on the series that should fire it and stays silent on healthy ones; every
// series an expression reads is one that a real collector or webhook exports on /metrics (or
// Prometheus's own `up`), and every runbook_url names a section of docs/operators-guide.md.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/agent.ts';
import { anchors } from '../helpers/markdown.ts';
import { makeReport, postReport, samples, startCollector, tempDir } from '../collector/helpers.ts';
import { review } from '../webhook/helpers.ts';
import { https, postReview, startWebhook } from '../webhook/process.ts';
import { issue, publishSecret } from '../webhook/tls-helpers.ts';
import { renderChart } from './helm.ts';
import { parseYaml } from './kubectl.ts';
import { find, K8S } from './render.ts';
import { selectors } from './promql.ts';

interface Rule {
  alert: string;
  expr: string;
  for: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
interface RuleSpec {
  groups: Array<{ name: string; rules: Rule[] }>;
}

const RULE = find(
  parseYaml({ file: join(K8S, 'components', 'prometheusrule', 'prometheusrule.yaml') }),
  'PrometheusRule',
  'netready',
);
const SPEC = RULE.spec as RuleSpec;
const RULES = SPEC.groups.flatMap((g) => g.rules);
const GUIDE = readFileSync(join(ROOT, 'docs', 'operators-guide.md'), 'utf8');

/** Runs promtool; its exit code and everything it printed. A missing promtool fails, naming the package. */
function promtool(args: string[], cwd: string): { code: number | null; output: string } {
  const r = spawnSync('promtool', args, { cwd, encoding: 'utf8', timeout: 60_000 });
  if (r.error)
    throw new Error(`promtool not runnable (Debian package prometheus; sudo npm test installs it): ${r.error.message}`);
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

// Target labels as prometheus-operator attaches them to what a ServiceMonitor scrapes.
const COLLECTOR =
  'job="netready-collector",namespace="netready-system",pod="netready-collector-7d9c",instance="10.0.0.7:9470"';
const WEBHOOK_A =
  'job="netready-webhook",namespace="netready-system",pod="netready-webhook-5f6b-a",instance="10.0.0.8:9443"';
const WEBHOOK_B =
  'job="netready-webhook",namespace="netready-system",pod="netready-webhook-5f6b-b",instance="10.0.0.9:9443"';
const RUNBOOK = 'https://netready.example/docs/operators-guide.md';

interface Expected {
  labels: Record<string, string>;
  description: string;
}
/** One promtool test: series at 1 m steps, and what each alert shows at `at` (none: silent). */
interface Case {
  title: string;
  series: Record<string, string>;
  at: string;
  alert: string;
  firing: Expected[];
}

const CASES: Case[] = [
  {
    title: 'a node where 10% of 10 pod starts a minute took over 5 s',
    series: {
      'netready_ready_delay_seconds_count{node="node-a",outcome="ready",COLLECTOR}': '0+10x60',
      'netready_ready_delay_seconds_bucket{le="5",node="node-a",outcome="ready",COLLECTOR}': '0+9x60',
      // Healthy: every start on node-b within 5 s; node-c half slow but only 3 starts in 30 min.
      'netready_ready_delay_seconds_count{node="node-b",outcome="ready",COLLECTOR}': '0+10x60',
      'netready_ready_delay_seconds_bucket{le="5",node="node-b",outcome="ready",COLLECTOR}': '0+10x60',
      'netready_ready_delay_seconds_count{node="node-c",outcome="ready",COLLECTOR}': '0+0.1x60',
      'netready_ready_delay_seconds_bucket{le="5",node="node-c",outcome="ready",COLLECTOR}': '0+0.05x60',
    },
    at: '60m',
    alert: 'NetreadyNodeSlowNetwork',
    firing: [
      {
        labels: { node: 'node-a', severity: 'warning' },
        description:
          '10% of the pods that started on node node-a in the last 30m waited longer than the 5 s start-up SLO for a working network (threshold 5%).',
      },
    ],
  },
  {
    title: 'the same slow node, before it has been slow for 15 min',
    series: {
      'netready_ready_delay_seconds_count{node="node-a",outcome="ready",COLLECTOR}': '0+10x60',
      'netready_ready_delay_seconds_bucket{le="5",node="node-a",outcome="ready",COLLECTOR}': '0+9x60',
    },
    at: '10m',
    alert: 'NetreadyNodeSlowNetwork',
    firing: [],
  },
  {
    title: 'a node with 4% of its starts over 5 s',
    series: {
      'netready_ready_delay_seconds_count{node="node-a",outcome="ready",COLLECTOR}': '0+100x60',
      'netready_ready_delay_seconds_bucket{le="5",node="node-a",outcome="ready",COLLECTOR}': '0+96x60',
    },
    at: '60m',
    alert: 'NetreadyNodeSlowNetwork',
    firing: [],
  },
  {
    title: 'an agent on node-a gives up at minute 20; node-b has only ready agents',
    series: {
      'netready_ready_delay_seconds_count{node="node-a",outcome="timeout",COLLECTOR}': '0x20 1x40',
      'netready_ready_delay_seconds_count{node="node-a",outcome="ready",COLLECTOR}': '0+5x60',
      'netready_ready_delay_seconds_count{node="node-b",outcome="timeout",COLLECTOR}': '0x60',
      'netready_ready_delay_seconds_count{node="node-b",outcome="ready",COLLECTOR}': '0+5x60',
    },
    at: '30m',
    alert: 'NetreadyAgentsGivingUp',
    firing: [
      {
        labels: { node: 'node-a', severity: 'critical' },
        description:
          'netready agents on node node-a gave up waiting for the network in the last 15m (count: 1); with on-timeout fail, their pods did not start.',
      },
    ],
  },
  {
    title: "a node's first timeout since the collector started: the series appears at minute 20 with 1",
    series: {
      'netready_ready_delay_seconds_count{node="node-c",outcome="timeout",COLLECTOR}': '_x20 1x40',
      'netready_ready_delay_seconds_count{node="node-c",outcome="ready",COLLECTOR}': '0+5x60',
    },
    at: '30m',
    alert: 'NetreadyAgentsGivingUp',
    firing: [
      {
        labels: { node: 'node-c', severity: 'critical' },
        description:
          'netready agents on node node-c gave up waiting for the network in the last 15m (count: 1); with on-timeout fail, their pods did not start.',
      },
    ],
  },
  {
    title: 'the agent that gave up at minute 20, half an hour later',
    series: {
      'netready_ready_delay_seconds_count{node="node-a",outcome="timeout",COLLECTOR}': '0x20 1x40',
    },
    at: '60m',
    alert: 'NetreadyAgentsGivingUp',
    firing: [],
  },
  {
    title: 'watches on node-a report two outages at minutes 20 and 25; node-b has one, an hour ago',
    series: {
      'netready_network_lost_total{node="node-a",COLLECTOR}': '0x20 1x5 2x20',
      'netready_network_lost_total{node="node-b",COLLECTOR}': '1x90',
    },
    at: '30m',
    alert: 'NetreadyNodeNetworkLost',
    firing: [
      {
        labels: { node: 'node-a', severity: 'warning' },
        description:
          'Running pods on node node-a lost their network in the last 15m (outages: 2); while lost, netready watch took them out of their Services.',
      },
    ],
  },
  {
    title: "a node's first outage since the collector started; then, 20 min later, quiet",
    series: { 'netready_network_lost_total{node="node-c",COLLECTOR}': '_x20 1x40' },
    at: '45m',
    alert: 'NetreadyNodeNetworkLost',
    firing: [],
  },
  {
    title: 'the only collector stops answering scrapes at minute 10',
    series: { 'up{COLLECTOR}': '1x10 0x20' },
    at: '20m',
    alert: 'NetreadyCollectorDown',
    firing: [
      {
        labels: { job: 'netready-collector', namespace: 'netready-system', severity: 'warning' },
        description:
          'No netready collector in namespace netready-system answers Prometheus: agents cannot deliver reports, and the delays go unmeasured.',
      },
    ],
  },
  {
    title: 'no collector scraped at all (only the webhook is)',
    series: { 'up{WEBHOOK_A}': '1x30' },
    at: '20m',
    alert: 'NetreadyCollectorDown',
    firing: [
      {
        labels: { job: 'netready-collector', namespace: 'netready-system', severity: 'warning' },
        description:
          'No netready collector in namespace netready-system answers Prometheus: agents cannot deliver reports, and the delays go unmeasured.',
      },
    ],
  },
  {
    title: 'one of two collectors down, the other up',
    series: {
      'up{COLLECTOR}': '0x30',
      'up{job="netready-collector",namespace="netready-system",pod="netready-collector-8e0d",instance="10.0.0.17:9470"}':
        '1x30',
    },
    at: '20m',
    alert: 'NetreadyCollectorDown',
    firing: [],
  },
  {
    title: 'the collector refuses 2 of 12 reports a minute as unauthorized',
    series: {
      'netready_reports_total{COLLECTOR}': '0+10x40',
      'netready_reports_duplicate_total{COLLECTOR}': '0x40',
      'netready_reports_rejected_total{reason="unauthorized",COLLECTOR}': '0+2x40',
      'netready_reports_rejected_total{reason="store_error",COLLECTOR}': '0x40',
    },
    at: '30m',
    alert: 'NetreadyCollectorRejectingReports',
    firing: [
      {
        labels: { namespace: 'netready-system', reason: 'unauthorized', severity: 'warning' },
        description:
          'The netready collector in namespace netready-system refused 16.67% of the reports sent in the last 10m as unauthorized (threshold 5%).',
      },
    ],
  },
  {
    title: 'one junk POST a minute among 100 reports; and no traffic at all',
    series: {
      'netready_reports_total{COLLECTOR}': '0+100x40',
      'netready_reports_duplicate_total{COLLECTOR}': '0+3x40',
      'netready_reports_rejected_total{reason="invalid_json",COLLECTOR}': '0+1x40',
      'netready_reports_total{job="netready-collector",namespace="ops",pod="netready-collector-1",instance="10.0.1.7:9470"}':
        '0x40',
      'netready_reports_rejected_total{reason="unauthorized",job="netready-collector",namespace="ops",pod="netready-collector-1",instance="10.0.1.7:9470"}':
        '0x40',
    },
    at: '30m',
    alert: 'NetreadyCollectorRejectingReports',
    firing: [],
  },
  {
    title: 'the webhook injects a pod a minute and no report is stored',
    series: {
      'netready_webhook_admissions_total{result="injected",WEBHOOK_A}': '0+1x40',
      'netready_reports_total{COLLECTOR}': '5x40',
    },
    at: '40m',
    alert: 'NetreadyInjectedPodsNotReporting',
    firing: [
      {
        labels: { namespace: 'netready-system', severity: 'warning' },
        description:
          'The netready webhook in namespace netready-system injected the agent in the last 30m (count: 30), and its collector stored no report.',
      },
    ],
  },
  {
    title: 'injected pods report; and two dry-run injections in an hour with no report',
    series: {
      'netready_webhook_admissions_total{result="injected",WEBHOOK_A}': '0+1x40',
      'netready_reports_total{COLLECTOR}': '0+1x40',
      'netready_webhook_admissions_total{result="injected",job="netready-webhook",namespace="ops",pod="netready-webhook-1",instance="10.0.1.8:9443"}':
        '0x10 1x10 2x20',
      'netready_reports_total{job="netready-collector",namespace="ops",pod="netready-collector-1",instance="10.0.1.7:9470"}':
        '0x40',
    },
    at: '40m',
    alert: 'NetreadyInjectedPodsNotReporting',
    firing: [],
  },
  {
    title: 'both webhook replicas stop answering scrapes at minute 10',
    series: { 'up{WEBHOOK_A}': '1x10 0x20', 'up{WEBHOOK_B}': '1x10 0x20' },
    at: '20m',
    alert: 'NetreadyWebhookDown',
    firing: [
      {
        labels: { job: 'netready-webhook', namespace: 'netready-system', severity: 'warning' },
        description:
          'No netready webhook in namespace netready-system answers Prometheus: pods start without the agent (the webhook fails open).',
      },
    ],
  },
  {
    title: 'one webhook replica down during a rollout, the other up',
    series: { 'up{WEBHOOK_A}': '1x10 0x20', 'up{WEBHOOK_B}': '1x30' },
    at: '20m',
    alert: 'NetreadyWebhookDown',
    firing: [],
  },
  {
    title: '1 of 10 admissions a minute ends in an error',
    series: {
      'netready_webhook_admissions_total{result="error",WEBHOOK_A}': '0+1x40',
      'netready_webhook_admissions_total{result="injected",WEBHOOK_A}': '0+6x40',
      'netready_webhook_admissions_total{result="skipped",WEBHOOK_A}': '0+3x40',
    },
    at: '30m',
    alert: 'NetreadyWebhookAdmissionErrors',
    firing: [
      {
        labels: { namespace: 'netready-system', severity: 'warning' },
        description:
          '10% of the admission requests to the netready webhook in namespace netready-system ended in an error over the last 10m (threshold 5%); those pods start without the agent.',
      },
    ],
  },
  {
    title: 'admissions without errors; and no admissions at all',
    series: {
      'netready_webhook_admissions_total{result="error",WEBHOOK_A}': '0x40',
      'netready_webhook_admissions_total{result="injected",WEBHOOK_A}': '0+6x40',
      'netready_webhook_admissions_total{result="error",WEBHOOK_B}': '0x40',
      'netready_webhook_admissions_total{result="injected",WEBHOOK_B}': '0x40',
    },
    at: '30m',
    alert: 'NetreadyWebhookAdmissionErrors',
    firing: [],
  },
  {
    // promtool evaluates from Unix time 0: at 20m, time() is 1200.
    title: 'one webhook serves a certificate ending in 3 days, the other one valid for 30 days',
    series: {
      'netready_webhook_certificate_expiry_timestamp_seconds{WEBHOOK_A}': '259200x30',
      'netready_webhook_certificate_expiry_timestamp_seconds{WEBHOOK_B}': '2592000x30',
    },
    at: '20m',
    alert: 'NetreadyWebhookCertificateExpiry',
    firing: [
      {
        labels: {
          job: 'netready-webhook',
          namespace: 'netready-system',
          pod: 'netready-webhook-5f6b-a',
          instance: '10.0.0.8:9443',
          severity: 'warning',
        },
        description:
          'The serving certificate of netready webhook pod netready-webhook-5f6b-a in namespace netready-system expires in 2d 23h 40m 0s (or has expired: a negative time); once it has, the API server cannot call the webhook and pods start without the agent.',
      },
    ],
  },
  {
    title: 'certificates valid for 8 and 30 more days',
    series: {
      'netready_webhook_certificate_expiry_timestamp_seconds{WEBHOOK_A}': '692400x30',
      'netready_webhook_certificate_expiry_timestamp_seconds{WEBHOOK_B}': '2592000x30',
    },
    at: '20m',
    alert: 'NetreadyWebhookCertificateExpiry',
    firing: [],
  },
];

/** The promtool test document (JSON is YAML) for the cases, reading rules.json beside it. */
function promtoolTests(cases: readonly Case[], rules: readonly Rule[] = RULES): object {
  const targets = (s: string) =>
    s.replace('COLLECTOR', COLLECTOR).replace('WEBHOOK_A', WEBHOOK_A).replace('WEBHOOK_B', WEBHOOK_B);
  return {
    rule_files: ['rules.json'],
    evaluation_interval: '1m',
    tests: cases.map((c) => {
      const rule = rules.find((r) => r.alert === c.alert);
      assert.ok(rule, `no alert ${c.alert}`);
      return {
        name: `${c.alert}: ${c.title}`,
        interval: '1m',
        input_series: Object.entries(c.series).map(([series, values]) => ({ series: targets(series), values })),
        alert_rule_test: [
          {
            eval_time: c.at,
            alertname: c.alert,
            exp_alerts: c.firing.map((e) => ({
              exp_labels: e.labels,
              exp_annotations: {
                summary: rule.annotations.summary,
                description: e.description,
                runbook_url: rule.annotations.runbook_url,
              },
            })),
          },
        ],
      };
    }),
  };
}

describe('alerts (k8s/components/prometheusrule)', { timeout: 60_000 }, () => {
  test('promtool check rules accepts the rules', (t) => {
    const dir = tempDir(t, 'netready-alerts-');
    writeFileSync(join(dir, 'rules.json'), JSON.stringify(SPEC));
    const r = promtool(['check', 'rules', 'rules.json'], dir);
    assert.equal(r.code, 0, r.output);
  });

  test('promtool test rules: each alert fires on the series that should fire it, and only on those', (t) => {
    for (const rule of RULES) {
      assert.ok(
        CASES.some((c) => c.alert === rule.alert && c.firing.length > 0),
        `${rule.alert}: a case where it fires`,
      );
      assert.ok(
        CASES.some((c) => c.alert === rule.alert && c.firing.length === 0),
        `${rule.alert}: a case where it stays silent`,
      );
    }
    const dir = tempDir(t, 'netready-alerts-');
    writeFileSync(join(dir, 'rules.json'), JSON.stringify(SPEC));
    writeFileSync(join(dir, 'tests.json'), JSON.stringify(promtoolTests(CASES), null, 2));
    const r = promtool(['test', 'rules', 'tests.json'], dir);
    assert.equal(r.code, 0, r.output);
  });

  test('promtool test rules fails when an alert does not fire as a case says (the cases can fail)', (t) => {
    const dir = tempDir(t, 'netready-alerts-');
    writeFileSync(join(dir, 'rules.json'), JSON.stringify(SPEC));
    // The healthy 4% node, expected to fire: promtool must disagree.
    const healthy = CASES.find((c) => c.title === 'a node with 4% of its starts over 5 s')!;
    const wrong = { ...healthy, firing: CASES[0]!.firing };
    writeFileSync(join(dir, 'tests.json'), JSON.stringify(promtoolTests([wrong])));
    const r = promtool(['test', 'rules', 'tests.json'], dir);
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, /a node with 4% of its starts over 5 s[\s\S]*got:\[\]/);
  });

  test("the chart's thresholds are its values: promtool accepts the rules, and a case moves with its threshold", (t) => {
    const thresholds = {
      nodeSlowNetwork: { share: 0.15, minPods: 20, window: '1h', for: '20m' },
      agentsGivingUp: { count: 2, window: '30m', for: '1m' },
      networkLost: { count: 1, window: '20m', for: '2m' },
      collectorDown: { for: '3m' },
      reportsRejected: { share: 0.25, window: '20m', for: '5m' },
      injectedNotReporting: { minInjected: 7, window: '45m', for: '10m' },
      webhookDown: { for: '2m' },
      admissionErrors: { share: 0.01, window: '5m', for: '6m' },
      certificateExpiry: { days: 14, for: '1h' },
    };
    const values = {
      serviceMonitor: { enabled: true },
      prometheusRule: { enabled: true, runbookBaseURL: 'https://docs.example/ops.md', ...thresholds },
    };
    const spec = find(renderChart(values, 'ops'), 'PrometheusRule', 'netready').spec as RuleSpec;
    const rules = spec.groups.flatMap((g) => g.rules);
    const rule = (alert: string) => rules.find((r) => r.alert === alert)!;
    const dir = tempDir(t, 'netready-alerts-');
    writeFileSync(join(dir, 'rules.json'), JSON.stringify(spec));
    const checked = promtool(['check', 'rules', 'rules.json'], dir);
    assert.equal(checked.code, 0, checked.output);

    const slow = rule('NetreadyNodeSlowNetwork');
    assert.match(slow.expr, /\[1h\]\)\) > 0\.15\n[\s\S]*\[1h\]\)\) >= 20\n/);
    assert.equal(slow.for, '20m');
    assert.match(slow.annotations.description!, /in the last 1h .*\(threshold 15%\)/);
    assert.match(rule('NetreadyAgentsGivingUp').expr, /\[30m\][\s\S]*offset 30m\)\n\s*\) > 2\n/);
    assert.match(rule('NetreadyNodeNetworkLost').expr, /\[20m\][\s\S]*offset 20m\)\n\s*\) > 1\n/);
    assert.match(rule('NetreadyCollectorDown').expr, /up\{job="netready-collector", namespace="ops"\}/);
    assert.match(rule('NetreadyCollectorRejectingReports').expr, /\[20m\][\s\S]*\) > 0\.25\n/);
    assert.match(rule('NetreadyInjectedPodsNotReporting').expr, /\[45m\]\)\) >= 7\n/);
    assert.match(rule('NetreadyWebhookAdmissionErrors').annotations.description!, /\(threshold 1%\)/);
    assert.match(rule('NetreadyWebhookCertificateExpiry').expr, /< 14 \* 86400\n/);
    for (const r of rules) assert.ok(r.annotations.runbook_url!.startsWith('https://docs.example/ops.md#'), r.alert);
    // `thresholds` lists the alerts in the rules' order.
    assert.deepEqual(
      rules.map((r) => r.for),
      Object.values(thresholds).map((v) => v.for),
    );

    // The 10% node of the first case, against a 15% threshold: silent.
    const tenPercent = { ...CASES[0]!, firing: [] };
    writeFileSync(join(dir, 'tests.json'), JSON.stringify(promtoolTests([tenPercent], rules)));
    const tested = promtool(['test', 'rules', 'tests.json'], dir);
    assert.equal(tested.code, 0, tested.output);
  });

  test('every alert has a severity, a summary, a description naming the node or namespace, and a runbook section', () => {
    const headings = anchors(GUIDE);
    for (const rule of RULES) {
      assert.match(rule.labels.severity ?? '', /^(warning|critical)$/, rule.alert);
      assert.ok(rule.annotations.summary, `${rule.alert}: summary`);
      assert.match(
        rule.annotations.description ?? '',
        /\{\{ \$labels\.(node|namespace) \}\}/,
        `${rule.alert}: description`,
      );
      const url = rule.annotations.runbook_url ?? '';
      assert.ok(url.startsWith(`${RUNBOOK}#`), `${rule.alert}: runbook_url ${url}`);
      const anchor = url.slice(RUNBOOK.length + 1);
      assert.equal(anchor, rule.alert.toLowerCase(), `${rule.alert}: the section is named after the alert`);
      assert.ok(headings.has(anchor), `${rule.alert}: docs/operators-guide.md has no section #${anchor}`);
    }
  });

  test("every series an alert reads is exported by a real collector or webhook (or is Prometheus's `up`)", async (t) => {
    // A collector with reports of both outcomes, so that every labelled series exists.
    const dir = tempDir(t, 'netready-alerts-');
    const collector = await startCollector(t, ['--db', join(dir, 'r.db')]);
    for (const [i, outcome] of [
      [1, 'ready'],
      [2, 'timeout'],
    ] as const) {
      const res = await postReport(collector.url, makeReport(i, { node: 'node-a' }, { outcome }));
      assert.equal(res.status, 202, res.text);
    }
    const outage = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'reports', 'valid-outage.json'), 'utf8'));
    assert.equal((await postReport(collector.url, outage)).status, 202, 'an outage from netready watch');
    assert.equal((await postReport(collector.url, '{')).status, 400);
    const collectorText = await fetch(`${collector.url}/metrics`).then((r) => r.text());

    // A webhook that has injected one pod.
    const pair = issue(dir, 'alerts');
    const files = publishSecret(join(dir, 'tls'), pair);
    const hook = await startWebhook(t, ['--tls-cert', files.cert, '--tls-key', files.key]);
    const injected = (await postReview(hook.port, [pair.caPem], review('deployment-pod'))).json();
    assert.equal(injected.response.patchType, 'JSONPatch');
    const webhookText = (await https(hook.port, { ca: [pair.caPem], path: '/metrics' })).text;

    // Added by Prometheus to what it scrapes, never exported by the programs.
    const targetLabels = new Set(['job', 'namespace', 'pod', 'instance', 'service', 'endpoint', 'container']);
    const read = RULES.flatMap((rule) => selectors(rule.expr).map((s) => ({ ...s, alert: rule.alert })));
    assert.ok(read.length >= RULES.length, 'the expressions name series');
    for (const { alert, name, equals } of read) {
      if (name === 'up') continue;
      const own = Object.entries(equals).filter(([label]) => !targetLabels.has(label));
      const match = [collectorText, webhookText].some((text) =>
        samples(text, name).some((e) => own.every(([label, value]) => e.labels[label] === value)),
      );
      assert.ok(
        match,
        `${alert}: ${name}${JSON.stringify(Object.fromEntries(own))} is not in the /metrics of a running collector or webhook`,
      );
    }
  });

  test('the series check finds what an expression reads', () => {
    assert.deepEqual(
      selectors(
        'sum by (node) (rate(a_total{x="1", y=~"z"}[5m])) / on (node) group_left b > 0.5 and absent(up{job="j"}) unless c - time() < 7 * 86400',
      ),
      [
        { name: 'a_total', equals: { x: '1' } },
        { name: 'b', equals: {} },
        { name: 'up', equals: { job: 'j' } },
        { name: 'c', equals: {} },
      ],
    );
  });
});
