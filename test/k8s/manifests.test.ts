// The kustomize manifests in k8s/, rendered by the real kubectl as users apply
// them, and checked the way an operator reviewing them would: schema-valid,
// Pod Security "restricted", resources and probes everywhere, and the
// webhook's configuration, Service and server agreeing on name, path and port.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IMutatingWebhook } from 'kubernetes-models/admissionregistration.k8s.io/v1/MutatingWebhook';
import type { IMutatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1/MutatingWebhookConfiguration';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IService } from 'kubernetes-models/v1/Service';
import { run } from '../helpers/agent.ts';
import { containerEnv, expandArgs } from './downward.ts';
import type { K8sObject } from './kubectl.ts';
import { restrictedViolations } from './pod-security.ts';
import { find, NAMESPACE, podSpecs, targetNames, Workspace } from './render.ts';
import { validateObject } from './schemas.ts';
import { selects } from './selectors.ts';
import { argValue, container, servedBy, targetPortOf } from './wiring.ts';

describe('k8s manifests', { timeout: 120_000 }, () => {
  let ws: Workspace | null = null;
  before(async () => {
    ws = await Workspace.create();
  });
  after(() => ws?.remove());
  const base = () => ws!.render('base');

  for (const name of targetNames()) {
    describe(name, () => {
      test('kustomize renders it', () => {
        assert.ok(ws!.render(name).length > 0);
      });

      test('every object validates against the Kubernetes schemas (custom resources by hand)', () => {
        for (const obj of ws!.render(name)) validateObject(obj);
      });

      test('every pod template passes Pod Security "restricted"', () => {
        const specs = podSpecs(ws!.render(name));
        assert.ok(specs.length >= 2, 'the collector and the webhook');
        for (const { where, spec } of specs) assert.deepEqual(restrictedViolations(spec), [], where);
      });

      test('every container has CPU and memory requests and limits; every long-running one liveness and readiness probes', () => {
        for (const { where, spec } of podSpecs(ws!.render(name))) {
          for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
            for (const kind of ['requests', 'limits'] as const) {
              for (const resource of ['cpu', 'memory'])
                assert.ok(c.resources?.[kind]?.[resource], `${where} ${c.name}: resources.${kind}.${resource}`);
            }
          }
          for (const c of spec.containers) {
            assert.ok(c.livenessProbe, `${where} ${c.name}: livenessProbe`);
            assert.ok(c.readinessProbe, `${where} ${c.name}: readinessProbe`);
          }
        }
      });

      test('every namespaced object is in netready-system; no RBAC objects', () => {
        const clusterScoped = new Set(['Namespace', 'MutatingWebhookConfiguration']);
        for (const obj of ws!.render(name)) {
          if (!clusterScoped.has(obj.kind))
            assert.equal(obj.metadata.namespace, NAMESPACE, `${obj.kind}/${obj.metadata.name}`);
          assert.doesNotMatch(obj.kind, /^(Cluster)?Role(Binding)?$/, 'neither program calls the Kubernetes API');
        }
      });
    });
  }

  test('the namespace enforces Pod Security "restricted"', () => {
    const ns = find(base(), 'Namespace', NAMESPACE);
    assert.equal(ns.metadata.labels?.['pod-security.kubernetes.io/enforce'], 'restricted');
  });

  test('no service account token is mounted: the programs never call the API server', () => {
    for (const { where, spec } of podSpecs(base())) assert.equal(spec.automountServiceAccountToken, false, where);
    for (const sa of base().filter((o) => o.kind === 'ServiceAccount'))
      assert.equal(sa.automountServiceAccountToken, false);
  });

  describe('collector', () => {
    test('one replica, its args accepted by `netready collector --dry-run`, its store on the mounted volume', async () => {
      const deployment = find<IDeployment>(base(), 'Deployment', 'netready-collector');
      assert.equal(deployment.spec!.replicas, 1);
      const c = container(deployment, 'collector');
      assert.equal(c.image, 'netready:0.1.0');
      assert.deepEqual(c.args, ['collector', '--listen', '0.0.0.0:9470', '--data-dir', '/var/lib/netready']);
      assert.equal(c.securityContext?.readOnlyRootFilesystem, true);
      assert.equal(c.securityContext?.runAsUser, 65532);
      const mount = c.volumeMounts?.find((m) => m.mountPath === '/var/lib/netready');
      const volume = deployment.spec!.template.spec!.volumes?.find((v) => v.name === mount?.name);
      assert.ok(volume?.emptyDir, 'an emptyDir at /var/lib/netready');

      const r = await run([...c.args!, '--dry-run'], {
        env: containerEnv(c, deployment.spec!.template.metadata ?? {}),
      });
      assert.equal(r.code, 0, r.stderr);
      const config = JSON.parse(r.stdout);
      assert.equal(config.listen.port, c.ports![0]!.containerPort);
      assert.ok(config.db.startsWith('/var/lib/netready/'), config.db);
    });

    test('probes /healthz and /readyz on 9470; Prometheus scrape annotations; the Service reaches it on 9470', () => {
      const deployment = find<IDeployment>(base(), 'Deployment', 'netready-collector');
      const c = container(deployment, 'collector');
      const port = (p: string | number | undefined) =>
        typeof p === 'number' ? p : c.ports?.find((x) => x.name === p)?.containerPort;
      assert.equal(c.livenessProbe?.httpGet?.path, '/healthz');
      assert.equal(port(c.livenessProbe?.httpGet?.port), 9470);
      assert.equal(c.readinessProbe?.httpGet?.path, '/readyz');
      assert.equal(port(c.readinessProbe?.httpGet?.port), 9470);
      assert.deepEqual(deployment.spec!.template.metadata?.annotations, {
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': '9470',
        'prometheus.io/path': '/metrics',
      });

      const service = find<IService>(base(), 'Service', 'netready-collector');
      assert.equal(servedBy(base(), service).metadata.name, 'netready-collector');
      const sp = service.spec!.ports!.find((p) => p.port === 9470);
      assert.equal(targetPortOf(deployment, sp!), 9470);
    });
  });

  describe('webhook', () => {
    const deployment = () => find<IDeployment>(base(), 'Deployment', 'netready-webhook');
    const webhookConfig = () => find<IMutatingWebhookConfiguration>(base(), 'MutatingWebhookConfiguration', 'netready');

    test('two replicas spread across nodes, a PodDisruptionBudget keeping one', () => {
      const d = deployment();
      assert.equal(d.spec!.replicas, 2);
      const spread = d.spec!.template.spec!.topologySpreadConstraints ?? [];
      assert.ok(
        spread.some(
          (s) =>
            s.topologyKey === 'kubernetes.io/hostname' && selects(s.labelSelector, d.spec!.template.metadata!.labels!),
        ),
      );
      const pdb = find<IPodDisruptionBudget>(base(), 'PodDisruptionBudget', 'netready-webhook');
      assert.equal(pdb.spec!.minAvailable, 1);
      assert.ok(selects(pdb.spec!.selector, d.spec!.template.metadata!.labels!), 'the budget covers the webhook pods');
    });

    test('serves TLS on 9443 from the mounted Secret netready-webhook-tls; probes /healthz over HTTPS', () => {
      const d = deployment();
      const c = container(d, 'webhook');
      assert.deepEqual(c.args!.slice(0, 7), [
        'webhook',
        '--listen',
        '0.0.0.0:9443',
        '--tls-cert',
        '/tls/tls.crt',
        '--tls-key',
        '/tls/tls.key',
      ]);
      assert.ok(c.ports!.some((p) => p.containerPort === 9443 && p.name === 'https'));
      const mount = c.volumeMounts!.find((m) => m.mountPath === '/tls');
      assert.ok(mount && mount.subPath === undefined, 'the whole directory, so that renewals reach the webhook');
      const volume = d.spec!.template.spec!.volumes!.find((v) => v.name === mount.name);
      assert.equal(volume?.secret?.secretName, 'netready-webhook-tls');
      for (const probe of [c.livenessProbe, c.readinessProbe]) {
        assert.equal(probe?.httpGet?.scheme, 'HTTPS');
        assert.equal(probe?.httpGet?.path, '/healthz');
        assert.equal(probe?.httpGet?.port, 'https');
      }
    });

    test('tells injected agents the collector Service and runs them with its own image', () => {
      const d = deployment();
      const c = container(d, 'webhook');
      const url = new URL(argValue(c.args!, '--collector')!);
      const collector = find<IService>(base(), 'Service', 'netready-collector');
      assert.equal(url.hostname, `${collector.metadata!.name}.${collector.metadata!.namespace}.svc`);
      assert.ok(collector.spec!.ports!.some((p) => p.port === Number(url.port)));
      const env = containerEnv(c, { ...d.spec!.template.metadata, namespace: d.metadata!.namespace });
      assert.equal(env.NETREADY_WEBHOOK_IMAGE, c.image, 'the agent image follows the container image');
      assert.equal(env.NETREADY_WEBHOOK_NAMESPACE, NAMESPACE);
    });

    test('its args and environment are accepted by `netready webhook --dry-run`', async () => {
      const d = deployment();
      const c = container(d, 'webhook');
      const env = containerEnv(c, { ...d.spec!.template.metadata, namespace: d.metadata!.namespace });
      const r = await run([...expandArgs(c.args!, env), '--dry-run'], { env });
      assert.equal(r.code, 0, r.stderr);
    });

    test('every webhook entry calls the webhook Service at /mutate, whose port leads to the server on 9443', () => {
      const entries = webhookConfig().webhooks!;
      assert.equal(entries.length, 2);
      for (const w of entries) {
        const ref = w.clientConfig.service!;
        assert.deepEqual(
          { ...ref },
          { name: 'netready-webhook', namespace: NAMESPACE, path: '/mutate', port: 443 },
          w.name,
        );
        const service = find<IService>(base(), 'Service', ref.name);
        assert.equal(service.metadata!.namespace, ref.namespace);
        const sp = service.spec!.ports!.find((p) => p.port === ref.port);
        assert.ok(sp, `the Service has port ${ref.port}`);
        const served = servedBy(base(), service) as IDeployment & K8sObject;
        assert.equal(served.metadata.name, 'netready-webhook');
        const target = targetPortOf(served, sp);
        assert.equal(target, 9443);
        const listen = argValue(container(served, 'webhook').args!, '--listen')!;
        assert.equal(Number(listen.split(':').at(-1)), target, 'the server listens where the Service sends');
      }
    });

    test('fails open, answers fast, has no side effects, is re-invoked after other mutations, pods CREATE only', () => {
      for (const w of webhookConfig().webhooks!) {
        assert.equal(w.failurePolicy, 'Ignore', w.name);
        assert.ok(w.timeoutSeconds !== undefined && w.timeoutSeconds <= 5, `${w.name}: timeoutSeconds ≤ 5`);
        assert.equal(w.sideEffects, 'None');
        assert.equal(w.reinvocationPolicy, 'IfNeeded');
        assert.equal(w.matchPolicy, 'Equivalent');
        assert.deepEqual(w.admissionReviewVersions, ['v1']);
        assert.deepEqual(w.rules, [
          { operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' },
        ]);
        assert.deepEqual(
          w.matchConditions?.map((m) => m.name),
          ['not-host-network', 'not-mirror-pod'],
        );
        assert.equal(w.clientConfig.caBundle, undefined, 'the base leaves the CA to an overlay');
      }
    });

    // What a user sees: which pods the API server sends to the webhook.
    const OPT_IN: Array<[string, string, Record<string, string>, Record<string, string>, boolean]> = [
      ['namespace opted in', 'shop', { 'netready.io/inject': 'enabled' }, {}, true],
      [
        'pod opted out of an opted-in namespace',
        'shop',
        { 'netready.io/inject': 'enabled' },
        { 'netready.io/inject': 'disabled' },
        false,
      ],
      ['pod opted in, namespace not', 'shop', {}, { 'netready.io/inject': 'enabled' }, true],
      [
        'both opted in (sent once, not twice)',
        'shop',
        { 'netready.io/inject': 'enabled' },
        { 'netready.io/inject': 'enabled' },
        true,
      ],
      [
        'pod opted in, namespace labelled disabled',
        'shop',
        { 'netready.io/inject': 'disabled' },
        { 'netready.io/inject': 'enabled' },
        true,
      ],
      ['neither', 'shop', {}, { app: 'web' }, false],
      ['pod disabled, namespace not opted in', 'shop', {}, { 'netready.io/inject': 'disabled' }, false],
      [
        'only the value "enabled" opts in',
        'shop',
        { 'netready.io/inject': 'true' },
        { 'netready.io/inject': 'yes' },
        false,
      ],
      [
        'kube-system, both opted in',
        'kube-system',
        { 'netready.io/inject': 'enabled' },
        { 'netready.io/inject': 'enabled' },
        false,
      ],
      [
        'netready-system, both opted in',
        'netready-system',
        { 'netready.io/inject': 'enabled' },
        { 'netready.io/inject': 'enabled' },
        false,
      ],
    ];
    for (const [title, namespace, nsLabels, podLabels, injected] of OPT_IN) {
      test(`opt-in: ${title} -> ${injected ? 'sent to the webhook once' : 'not sent'}`, () => {
        // The API server labels every namespace with its name.
        const namespaceLabels = { ...nsLabels, 'kubernetes.io/metadata.name': namespace };
        const matching = webhookConfig().webhooks!.filter(
          (w: IMutatingWebhook) =>
            selects(w.namespaceSelector, namespaceLabels) && selects(w.objectSelector, podLabels),
        );
        assert.equal(matching.length, injected ? 1 : 0, matching.map((w) => w.name).join(', '));
      });
    }
  });

  describe('components/servicemonitor', () => {
    const objects = () => ws!.render('components/servicemonitor');
    const monitor = (name: string) =>
      find<{ spec: { selector: { matchLabels: Record<string, string> }; endpoints: Array<Record<string, any>> } }>(
        objects(),
        'ServiceMonitor',
        name,
      );
    const servicesOf = (name: string) =>
      objects().filter(
        (o) => o.kind === 'Service' && selects(monitor(name).spec.selector, o.metadata.labels ?? {}),
      ) as Array<IService & K8sObject>;

    test("each ServiceMonitor selects its program's Service alone and scrapes /metrics on a port it names", () => {
      for (const name of ['netready-collector', 'netready-webhook']) {
        assert.deepEqual(
          servicesOf(name).map((s) => s.metadata.name),
          [name],
        );
        const [ep] = monitor(name).spec.endpoints;
        assert.equal(ep!.path, '/metrics');
        assert.ok(
          servicesOf(name)[0]!.spec!.ports!.some((p) => p.name === ep!.port),
          `${name}: port ${ep!.port}`,
        );
      }
    });

    test("the collector's keeps the pods' namespace label (honorLabels); the webhook's verifies the serving certificate", () => {
      assert.equal(monitor('netready-collector').spec.endpoints[0]!.honorLabels, true);
      const ep = monitor('netready-webhook').spec.endpoints[0]!;
      assert.equal(ep.scheme, 'https');
      assert.equal(ep.tlsConfig.insecureSkipVerify, undefined);
      const tls = find<IDeployment>(objects(), 'Deployment', 'netready-webhook').spec!.template.spec!.volumes!.find(
        (v) => v.name === 'tls',
      );
      assert.deepEqual(ep.tlsConfig.ca, { secret: { name: tls!.secret!.secretName, key: 'ca.crt' } });
      const certificate = find<{ spec: { dnsNames: string[] } }>(
        ws!.render('overlays/cert-manager'),
        'Certificate',
        'netready-webhook',
      );
      assert.ok(certificate.spec.dnsNames.includes(ep.tlsConfig.serverName), ep.tlsConfig.serverName);
    });
  });
});
