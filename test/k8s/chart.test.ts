// The Helm chart charts/netready, rendered by the real helm (pinned, from the npm package) for
// its defaults and each notable combination of values, and checked as the kustomize manifests
// are: `helm lint --strict`, every object against the Kubernetes schemas, every pod template
// against Pod Security "restricted", the programs' command lines through `--dry-run`, and the
// objects compared one by one with what kustomize renders from k8s/ where both should agree.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IMutatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1/MutatingWebhookConfiguration';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import { run } from '../helpers/agent.ts';
import { containerEnv, expandArgs } from './downward.ts';
import { CHART, helm, renderChart } from './helm.ts';
import { kustomize, parseYaml, type K8sObject } from './kubectl.ts';
import { restrictedViolations } from './pod-security.ts';
import { find, K8S, podSpecs, Workspace } from './render.ts';
import { validateObject } from './schemas.ts';
import { selects } from './selectors.ts';
import { argValue, container } from './wiring.ts';

const ALL_ON = {
  collector: { store: { sqlite: { persistence: { enabled: true } } } },
  serviceMonitor: { enabled: true },
  prometheusRule: { enabled: true },
  networkPolicy: { enabled: true },
  grafanaDashboard: { enabled: true },
};
const POSTGRESQL = {
  collector: {
    replicas: 3,
    store: {
      type: 'postgresql',
      postgresql: { existingSecret: 'netready-db', urlKey: 'url', passwordKey: 'password' },
    },
  },
};

/** The values that render what k8s/components/collector-postgres adds to the base. */
const POSTGRESQL_AS_COMPONENT = {
  collector: {
    replicas: 2,
    store: {
      type: 'postgresql',
      postgresql: { existingSecret: 'netready-collector-db', urlKey: 'url', passwordKey: 'password' },
    },
  },
};

/** The combinations users install: each is linted, rendered, validated and checked for restricted. */
const COMBINATIONS: Array<[string, object]> = [
  ['defaults (self-signed certificate)', {}],
  ['cert-manager', { webhook: { certManager: { enabled: true } } }],
  ['SQLite on a PVC, ServiceMonitors, PrometheusRule, NetworkPolicies, Grafana dashboard', ALL_ON],
  ['PostgreSQL from a Secret, three collectors', POSTGRESQL],
];

describe('Helm chart charts/netready', { timeout: 180_000 }, () => {
  for (const [title, values] of COMBINATIONS) {
    describe(title, () => {
      test('helm lint --strict passes', () => {
        const r = helm(['lint', '--strict', CHART], values);
        assert.ok(r.ok, r.stderr || r.stdout);
      });

      test('every object validates against the Kubernetes schemas; every pod template passes "restricted"', () => {
        const objects = renderChart(values);
        for (const obj of objects) validateObject(obj);
        const specs = podSpecs(objects);
        assert.equal(specs.length, 2, 'the collector and the webhook');
        for (const { where, spec } of specs) assert.deepEqual(restrictedViolations(spec), [], where);
      });

      test('every namespaced object is in the release namespace; no RBAC objects', () => {
        const clusterScoped = new Set(['MutatingWebhookConfiguration']);
        for (const obj of renderChart(values, 'ops')) {
          if (!clusterScoped.has(obj.kind))
            assert.equal(obj.metadata.namespace, 'ops', `${obj.kind}/${obj.metadata.name}`);
          assert.doesNotMatch(obj.kind, /^(Cluster)?Role(Binding)?$/);
        }
      });

      test("the webhook's and the collector's command lines are accepted by `--dry-run`", async () => {
        const objects = renderChart(values);
        for (const [name, program] of [
          ['netready-webhook', 'webhook'],
          ['netready-collector', 'collector'],
        ]) {
          const d = find<IDeployment>(objects, 'Deployment', name!);
          const c = withSampleSecrets(container(d, program!));
          const env = containerEnv(c, { ...d.spec!.template.metadata, namespace: d.metadata!.namespace });
          const r = await run([...expandArgs(c.args!, env), '--dry-run'], { env });
          assert.equal(r.code, 0, `${program}: ${r.stderr}`);
        }
      });
    });
  }

  describe('agrees with the kustomize manifests object by object', () => {
    let ws: Workspace | null = null;
    before(async () => {
      ws = await Workspace.create();
    });
    after(() => ws?.remove());

    test('defaults = k8s/base (less the Namespace), the webhook configuration and its certificate aside', () => {
      const chart = renderChart();
      const base = ws!.render('base').filter((o) => o.kind !== 'Namespace');
      for (const expected of base) {
        const actual = find(chart, expected.kind, expected.metadata.name);
        if (expected.kind === 'MutatingWebhookConfiguration') {
          const entries = (actual as IMutatingWebhookConfiguration).webhooks!.map(
            ({ clientConfig: { caBundle, ...cc }, ...w }) => {
              assert.ok(caBundle, `${w.name}: the chart sets the caBundle`);
              return { ...w, clientConfig: cc };
            },
          );
          assert.deepEqual(normalize({ ...actual, webhooks: entries }), normalize(expected));
        } else if (expected.kind === 'Deployment' && expected.metadata.name === 'netready-webhook') {
          assertWebhookDeploymentAgrees(actual as IDeployment & K8sObject, expected as IDeployment & K8sObject);
        } else {
          assert.deepEqual(normalize(actual), normalize(expected), `${expected.kind}/${expected.metadata.name}`);
        }
      }
      const extra = chart.filter((o) => !base.some((b) => b.kind === o.kind && b.metadata.name === o.metadata.name));
      assert.deepEqual(
        extra.map((o) => `${o.kind}/${o.metadata.name}`),
        ['Secret/netready-webhook-tls'],
      );
    });

    test('the webhook passes the agent defaults the base leaves to the webhook: same resolved configuration', async () => {
      const configOf = async (objects: K8sObject[]) => {
        const d = find<IDeployment>(objects, 'Deployment', 'netready-webhook');
        const c = container(d, 'webhook');
        const env = containerEnv(c, { ...d.spec!.template.metadata, namespace: d.metadata!.namespace });
        const r = await run([...expandArgs(c.args!, env), '--dry-run'], { env });
        assert.equal(r.code, 0, r.stderr);
        return JSON.parse(r.stdout);
      };
      assert.deepEqual(await configOf(renderChart()), await configOf(ws!.render('base')));
    });

    // chart values -> the kustomize target that adds the same objects, and the kinds to compare.
    const COMPONENTS: Array<[string, object, string, string[]]> = [
      [
        'collector.store.sqlite.persistence',
        ALL_ON,
        'components/collector-pvc',
        ['PersistentVolumeClaim', 'Deployment'],
      ],
      [
        'collector.store.postgresql',
        POSTGRESQL_AS_COMPONENT,
        'components/collector-postgres',
        ['PodDisruptionBudget', 'Deployment'],
      ],
      ['serviceMonitor', ALL_ON, 'components/servicemonitor', ['ServiceMonitor']],
      ['prometheusRule', ALL_ON, 'components/prometheusrule', ['PrometheusRule']],
      ['networkPolicy', ALL_ON, 'components/networkpolicy', ['NetworkPolicy']],
      [
        'webhook.certManager',
        { webhook: { certManager: { enabled: true } } },
        'overlays/cert-manager',
        ['Issuer', 'Certificate'],
      ],
    ];
    for (const [value, values, target, kinds] of COMPONENTS) {
      test(`${value} renders what ${target} adds (${kinds.join(', ')})`, () => {
        const chart = renderChart(values);
        const expected = ws!.render(target).filter((o) => kinds.includes(o.kind));
        assert.ok(expected.length > 0);
        for (const e of expected) {
          if (e.kind === 'Deployment' && e.metadata.name === 'netready-webhook') continue;
          const actual = find(chart, e.kind, e.metadata.name);
          // A component or overlay is not labelled by the base's `labels:`; the chart labels every object alike.
          for (const [k, v] of Object.entries(e.metadata.labels ?? {}))
            assert.equal(actual.metadata.labels?.[k], v, `${e.kind}/${e.metadata.name} label ${k}`);
          const labelless = (o: K8sObject) => ({
            ...normalize(o),
            metadata: {
              ...o.metadata,
              labels: undefined,
              annotations: (normalize(o) as K8sObject).metadata.annotations,
            },
          });
          assert.deepEqual(labelless(actual), labelless(e), `${e.kind}/${e.metadata.name}`);
        }
        assert.equal(
          chart.filter((o) => kinds.includes(o.kind) && o.kind !== 'Deployment').length,
          expected.filter((o) => o.kind !== 'Deployment').length,
        );
      });
    }

    test('webhook.certManager: cainjector fills the caBundle as in overlays/cert-manager; no Secret from the chart', () => {
      const chart = renderChart({ webhook: { certManager: { enabled: true } } });
      const overlay = find(ws!.render('overlays/cert-manager'), 'MutatingWebhookConfiguration', 'netready');
      const mwc = find<IMutatingWebhookConfiguration>(chart, 'MutatingWebhookConfiguration', 'netready');
      assert.equal(
        mwc.metadata!.annotations?.['cert-manager.io/inject-ca-from'],
        overlay.metadata.annotations?.['cert-manager.io/inject-ca-from'],
      );
      for (const w of mwc.webhooks!) assert.equal(w.clientConfig.caBundle, undefined);
      assert.equal(chart.filter((o) => o.kind === 'Secret').length, 0);
    });

    test("grafanaDashboard: the same ConfigMap as k8s/grafana, and the chart's copy of the JSON is byte-identical", () => {
      const chartCopy = readFileSync(join(CHART, 'dashboards', 'netready-dashboard.json'), 'utf8');
      assert.equal(
        chartCopy,
        readFileSync(join(K8S, 'grafana', 'netready-dashboard.json'), 'utf8'),
        'cp k8s/grafana/netready-dashboard.json charts/netready/dashboards/',
      );
      const expected = find<IConfigMap>(
        parseYaml({ yaml: kustomize(join(K8S, 'grafana')) }),
        'ConfigMap',
        'netready-grafana-dashboard',
      );
      const actual = find<IConfigMap>(renderChart(ALL_ON), 'ConfigMap', 'netready-grafana-dashboard');
      assert.deepEqual(normalize(actual), normalize(expected));
      assert.equal(actual.data!['netready-dashboard.json'], chartCopy);
      const elsewhere = find(
        renderChart({ grafanaDashboard: { enabled: true, namespace: 'monitoring' } }),
        'ConfigMap',
        'netready-grafana-dashboard',
      );
      assert.equal(elsewhere.metadata.namespace, 'monitoring');
    });
  });

  test('self-signed: a CA, a serving pair for the Service names signed by it, and the same CA in every caBundle', () => {
    const objects = renderChart({}, 'ops');
    const secret = find<ISecret>(objects, 'Secret', 'netready-webhook-tls');
    assert.equal(secret.type, 'kubernetes.io/tls');
    const pem = (key: string) => Buffer.from(secret.data![key]!, 'base64').toString('utf8');
    const ca = new X509Certificate(pem('ca.crt'));
    const cert = new X509Certificate(pem('tls.crt'));
    assert.ok(ca.ca, 'ca.crt is a CA');
    assert.ok(cert.verify(ca.publicKey), 'tls.crt is signed by ca.crt');
    assert.ok(cert.checkPrivateKey(createPrivateKey(pem('tls.key'))), 'tls.key is the key of tls.crt');
    for (const name of [
      'netready-webhook',
      'netready-webhook.ops',
      'netready-webhook.ops.svc',
      'netready-webhook.ops.svc.cluster.local',
    ]) {
      assert.ok(cert.checkHost(name), `tls.crt is valid for ${name}`);
    }
    const days = (Date.parse(cert.validTo) - Date.now()) / 86_400_000;
    assert.ok(days > 3640 && days <= 3650, `valid for webhook.selfSigned.validityDays (3650), is ${days}`);
    const mwc = find<IMutatingWebhookConfiguration>(objects, 'MutatingWebhookConfiguration', 'netready');
    for (const w of mwc.webhooks!) assert.equal(w.clientConfig.caBundle, secret.data!['ca.crt'], w.name);
  });

  test('another namespace: the webhook is called there, never injects there, and agents report there', () => {
    const objects = renderChart({ webhook: { excludeNamespaces: ['kube-system', 'monitoring'] } }, 'ops');
    const mwc = find<IMutatingWebhookConfiguration>(objects, 'MutatingWebhookConfiguration', 'netready');
    for (const w of mwc.webhooks!) {
      assert.equal(w.clientConfig.service!.namespace, 'ops');
      for (const ns of ['ops', 'kube-system', 'monitoring']) {
        const labels = { 'netready.io/inject': 'enabled', 'kubernetes.io/metadata.name': ns };
        assert.equal(selects(w.namespaceSelector, labels), false, `${w.name} excludes ${ns}`);
      }
      assert.equal(
        selects(w.namespaceSelector, {
          'netready.io/inject': w.name.startsWith('namespace') ? 'enabled' : 'x',
          'kubernetes.io/metadata.name': 'shop',
        }),
        true,
      );
    }
    const c = container(find<IDeployment>(objects, 'Deployment', 'netready-webhook'), 'webhook');
    assert.equal(argValue(c.args!, '--collector'), 'http://netready-collector.ops.svc:9470');
  });

  test("agent values become the webhook's defaults for injected agents", async () => {
    const agent = {
      checks: 'gateway dns tcp://db.shop.svc:5432',
      timeout: '5m',
      onTimeout: 'continue',
      settle: '2s',
      resources: { requests: { cpu: '5m', memory: '16Mi' }, limits: { cpu: '100m', memory: '48Mi' } },
      watch: { enabled: true, port: 19471 },
    };
    const d = find<IDeployment>(
      renderChart({ agent, image: { repository: 'registry.example/netready', tag: '1.2.3' } }),
      'Deployment',
      'netready-webhook',
    );
    const c = container(d, 'webhook');
    const env = containerEnv(c, { ...d.spec!.template.metadata, namespace: d.metadata!.namespace });
    const r = await run([...expandArgs(c.args!, env), '--dry-run'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).inject.defaults, {
      image: 'registry.example/netready:1.2.3',
      checks: ['gateway', 'dns', 'tcp://db.shop.svc:5432'],
      timeout: '5m',
      onTimeout: 'continue',
      settle: '2s',
      collector: 'http://netready-collector.netready-system.svc:9470',
      cpuRequest: '5m',
      cpuLimit: '100m',
      memoryRequest: '16Mi',
      memoryLimit: '48Mi',
      watch: true,
      watchPort: 19471,
    });
  });

  test('PostgreSQL: the URL from the Secret as --db, the password key as --db-password-file, no data volume', async () => {
    const d = find<IDeployment>(renderChart(POSTGRESQL), 'Deployment', 'netready-collector');
    assert.equal(d.spec!.replicas, 3);
    const c = container(d, 'collector');
    const db = c.env!.find((e) => e.name === 'NETREADY_COLLECTOR_DB');
    assert.deepEqual(db?.valueFrom?.secretKeyRef, { name: 'netready-db', key: 'url' });
    const file = argValue(c.args!, '--db-password-file')!;
    const mount = c.volumeMounts!.find((m) => file.startsWith(`${m.mountPath}/`));
    const volume = d.spec!.template.spec!.volumes!.find((v) => v.name === mount?.name);
    assert.equal(volume?.secret?.secretName, 'netready-db');
    assert.deepEqual(volume?.secret?.items, [{ key: 'password', path: file.slice(mount!.mountPath.length + 1) }]);
    assert.equal(
      c.volumeMounts!.some((m) => m.mountPath === '/var/lib/netready'),
      false,
    );

    const env = containerEnv(withSampleSecrets(c), d.spec!.template.metadata ?? {});
    const r = await run([...withSampleSecrets(c).args!, '--dry-run'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(JSON.parse(r.stdout).db, /^postgres:\/\/netready@db\.example:5432\/netready/);
  });

  // A wrong value fails at `helm install` (the same rendering as `helm template`), naming it.
  const WRONG: Array<[string, object, RegExp]> = [
    ['a misspelt key', { collector: { repliacs: 2 } }, /collector.*repliacs/],
    ['a negative replica count', { webhook: { replicas: -1 } }, /webhook\/replicas/],
    ['an unknown on-timeout', { agent: { onTimeout: 'ignore' } }, /agent\/onTimeout/],
    ['a duration without a unit', { agent: { timeout: '120' } }, /agent\/timeout/],
    ['an unknown store', { collector: { store: { type: 'mysql' } } }, /collector\/store\/type/],
    [
      'a memory quantity with a typo',
      { webhook: { resources: { limits: { cpu: '1', memory: '256MB' } } } },
      /webhook\/resources\/limits\/memory/,
    ],
    [
      'two collectors on SQLite',
      { collector: { replicas: 2 } },
      /collector\.replicas > 1 needs collector\.store\.type postgresql/,
    ],
    [
      'an alert share above 1',
      { prometheusRule: { nodeSlowNetwork: { share: 5 } } },
      /prometheusRule\/nodeSlowNetwork\/share/,
    ],
    [
      'an alert window in Go syntax',
      { prometheusRule: { reportsRejected: { window: '1h30m0.5s' } } },
      /prometheusRule\/reportsRejected\/window/,
    ],
    [
      'alerts without the ServiceMonitors they read',
      { prometheusRule: { enabled: true } },
      /prometheusRule\.enabled needs serviceMonitor\.enabled/,
    ],
    [
      'PostgreSQL without its Secret',
      { collector: { store: { type: 'postgresql' } } },
      /collector\.store\.postgresql\.existingSecret/,
    ],
  ];
  for (const [title, values, message] of WRONG) {
    test(`wrong values fail naming the value: ${title}`, () => {
      const r = helm(['template', 'netready', CHART], values);
      assert.equal(r.ok, false, 'helm template must fail');
      assert.match(r.stderr, message);
    });
  }
});

/** Labels Helm adds to every object besides the base's. */
const HELM_LABELS = ['app.kubernetes.io/instance', 'app.kubernetes.io/managed-by', 'helm.sh/chart'];

/** The object without what only Helm adds, for comparison with kustomize's rendering. */
function normalize(obj: object): object {
  const copy = structuredClone(obj) as K8sObject;
  const labels = copy.metadata.labels;
  if (labels) for (const l of HELM_LABELS) delete labels[l];
  // The chart keeps the PVC on `helm uninstall` (reports outlive the release); kustomize has no uninstall.
  if (copy.kind === 'PersistentVolumeClaim') delete copy.metadata.annotations?.['helm.sh/resource-policy'];
  if (copy.metadata.annotations && Object.keys(copy.metadata.annotations).length === 0)
    delete copy.metadata.annotations;
  return copy;
}

/** The chart's webhook Deployment is the base's, with the agent's defaults appended to its args. */
function assertWebhookDeploymentAgrees(actual: IDeployment & K8sObject, expected: IDeployment & K8sObject): void {
  const baseArgs = container(expected, 'webhook').args!;
  const chartArgs = container(actual, 'webhook').args!;
  assert.deepEqual(chartArgs.slice(0, baseArgs.length), baseArgs);
  const withBaseArgs = structuredClone(actual);
  container(withBaseArgs, 'webhook').args = baseArgs;
  assert.deepEqual(normalize(withBaseArgs), normalize(expected), 'Deployment/netready-webhook');
}

/** A sample for each value the kubelet would take from a Secret, which a local dry run cannot read. */
const SECRET_SAMPLES: Record<string, string> = {
  NETREADY_COLLECTOR_DB: 'postgres://netready@db.example:5432/netready',
};

/** A password file, as the kubelet would mount from the Secret; made once, removed at exit. */
let samplePasswordFile: string | undefined;
function passwordFile(): string {
  if (!samplePasswordFile) {
    const dir = mkdtempSync(join(tmpdir(), 'netready-chart-'));
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
    samplePasswordFile = join(dir, 'password');
    writeFileSync(samplePasswordFile, 'sample-password\n');
  }
  return samplePasswordFile;
}

/**
 * The container with what a local dry run cannot read from a Secret replaced by samples: its
 * secretKeyRef variables (throws for one without a sample) and the --db-password-file it mounts.
 */
function withSampleSecrets(c: IContainer): IContainer {
  const args = c.args?.map((a, i) => (c.args![i - 1] === '--db-password-file' ? passwordFile() : a));
  const env = c.env?.map((e) => {
    if (!e.valueFrom?.secretKeyRef) return e;
    const value = SECRET_SAMPLES[e.name];
    if (value === undefined) throw new Error(`no sample value for ${e.name} (from a Secret) in SECRET_SAMPLES`);
    return { name: e.name, value };
  });
  return { ...c, args, env };
}
