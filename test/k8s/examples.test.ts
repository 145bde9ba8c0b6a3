// k8s/examples/: the hand-written init container is the README's, passes Pod
// Security "restricted", and its command line is one `netready wait` accepts
// (run for real with --dry-run, the downward-API env filled with sample values);
// the opted-in namespace is one the webhook configuration serves.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IMutatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1/MutatingWebhookConfiguration';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IPod } from 'kubernetes-models/v1/Pod';
import { ROOT, run } from '../helpers/agent.ts';
import { containerEnv, expandArgs, SAMPLE_POD, SAMPLE_SERVICE_ENV } from './downward.ts';
import { kustomize, parseYaml, type K8sObject } from './kubectl.ts';
import { restrictedViolations } from './pod-security.ts';
import { find, K8S } from './render.ts';
import { validateObject } from './schemas.ts';
import { selects } from './selectors.ts';

const EXAMPLES = join(K8S, 'examples');

/** The README's hand-written init container block, as a Pod so that kubectl can parse it. */
function readmeInitContainer(): unknown {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const block = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)]
    .map((m) => m[1]!)
    .find((b) => /^initContainers:/m.test(b) && b.includes('name: netready-wait'));
  assert.ok(block, 'README.md has a ```yaml block with the netready-wait init container');
  const pod = [
    'apiVersion: v1',
    'kind: Pod',
    'metadata:',
    '  name: readme',
    'spec:',
    '  containers: [{ name: app, image: app }]',
    ...block
      .trimEnd()
      .split('\n')
      .map((l) => `  ${l}`),
  ].join('\n');
  const [parsed] = parseYaml({ yaml: pod }) as Array<IPod & K8sObject>;
  return parsed!.spec!.initContainers![0];
}

describe('k8s examples', { timeout: 60_000 }, () => {
  let parsed: K8sObject[] | undefined;
  const deployment = () =>
    find<IDeployment>(
      (parsed ??= parseYaml({ file: join(EXAMPLES, 'deployment.yaml') })),
      'Deployment',
      'netready-example',
    );
  const initContainer = () => deployment().spec!.template.spec!.initContainers![0]!;

  test('every example object validates against the Kubernetes schemas', () => {
    for (const file of ['deployment.yaml', 'namespace.yaml']) {
      for (const obj of parseYaml({ file: join(EXAMPLES, file) })) validateObject(obj);
    }
  });

  test('netready-wait is the first init container, and the pod passes Pod Security "restricted"', () => {
    assert.equal(initContainer().name, 'netready-wait');
    assert.deepEqual(restrictedViolations(deployment().spec!.template.spec!), []);
  });

  test("the init container is the README's, field for field", () => {
    assert.deepEqual(initContainer(), readmeInitContainer());
  });

  test('`netready wait --dry-run` accepts its args and environment (downward API filled in)', async () => {
    const c = initContainer();
    const meta = deployment().spec!.template.metadata ?? {};
    const env = containerEnv(c, meta);
    const r = await run([...expandArgs(c.args!, env), '--dry-run'], { env });
    assert.equal(r.code, 0, r.stderr);
    const config = JSON.parse(r.stdout);
    assert.deepEqual(
      config.checks.map((check: { spec: string }) => check.spec),
      ['gateway', 'dns', 'kubernetes'],
    );
    assert.equal(config.checks[2].host, SAMPLE_SERVICE_ENV.KUBERNETES_SERVICE_HOST);
    assert.equal(config.timeoutMs, 120_000);
    assert.equal(config.collectorUrl, 'http://netready-collector.netready-system.svc:9470');
    assert.deepEqual(config.pod, {
      name: SAMPLE_POD.name,
      namespace: SAMPLE_POD.namespace,
      uid: SAMPLE_POD.uid,
      node: SAMPLE_POD.nodeName,
      ips: [...SAMPLE_POD.podIPs],
    });
  });

  test('pods of the opted-in namespace are sent to the webhook (once); pods labelled disabled are not', () => {
    const [ns] = parseYaml({ file: join(EXAMPLES, 'namespace.yaml') });
    assert.equal(ns!.metadata.labels?.['netready.io/inject'], 'enabled');
    const labels = { ...ns!.metadata.labels, 'kubernetes.io/metadata.name': ns!.metadata.name };
    const base = parseYaml({ yaml: kustomize(join(K8S, 'base')) });
    const mwc = find<IMutatingWebhookConfiguration>(base, 'MutatingWebhookConfiguration', 'netready');
    const sent = (podLabels: Record<string, string>) =>
      mwc.webhooks!.filter((w) => selects(w.namespaceSelector, labels) && selects(w.objectSelector, podLabels)).length;
    assert.equal(sent(deployment().spec!.template.metadata!.labels!), 1);
    assert.equal(sent({ 'netready.io/inject': 'disabled' }), 0);
  });
});
