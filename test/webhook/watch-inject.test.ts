// The watch sidecar in the webhook's pure core, over real AdmissionReview
// fixtures: opted in by annotation (or the webhook's default), it lands right
// after netready-wait and before the app's own init containers, as a native
// sidecar with its readiness probe on the configured port; the patched pod is
// a valid Pod with no Pod Security "restricted" violation added, and admitting
// it again changes nothing. A port the app uses, or an opt-out, means no watch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { injectPod, type InjectConfig } from '../../src/webhook/inject.ts';
import { addedRestrictedViolations } from '../k8s/pod-security.ts';
import { applyPatch, assertValidPod, CONFIG, NOW, review } from './helpers.ts';

const fieldEnv = (name: string, fieldPath: string) => ({ name, valueFrom: { fieldRef: { fieldPath } } });

/** The watch injected with CONFIG, on `port`, as `uid`. */
const watchContainer = (port: number, uid = 65532, checks: string[] = []) => ({
  name: 'netready-watch',
  image: 'registry.example/netready:0.1.0',
  command: ['/nodejs/bin/node', '--max-semi-space-size=1', '--max-opt=0', '--no-memory-reducer', '/app/netready.mjs'],
  args: ['watch', `--listen=[::]:${port}`, ...checks.map((c) => `--check=${c}`)],
  restartPolicy: 'Always',
  ports: [{ name: 'netready-watch', containerPort: port, protocol: 'TCP' }],
  env: [
    { name: 'MALLOC_ARENA_MAX', value: '1' },
    { name: 'NETREADY_COLLECTOR_URL', value: 'http://netready-collector.netready-system.svc:9470' },
    fieldEnv('NETREADY_POD_NAME', 'metadata.name'),
    fieldEnv('NETREADY_POD_NAMESPACE', 'metadata.namespace'),
    fieldEnv('NETREADY_POD_UID', 'metadata.uid'),
    fieldEnv('NETREADY_NODE_NAME', 'spec.nodeName'),
    fieldEnv('NETREADY_POD_IPS', 'status.podIPs'),
  ],
  resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '200m', memory: '64Mi' } },
  readinessProbe: {
    httpGet: { path: '/readyz', port },
    periodSeconds: 2,
    timeoutSeconds: 1,
    failureThreshold: 1,
    successThreshold: 1,
  },
  securityContext: {
    runAsNonRoot: true,
    runAsUser: uid,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  },
  terminationMessagePolicy: 'FallbackToLogsOnError',
});

const WATCH_DEFAULT: InjectConfig = { ...CONFIG, defaults: { ...CONFIG.defaults, watch: true } };
const names = (pod: any) => (pod.spec.initContainers ?? []).map((c: any) => c.name);

/** fixture, its annotations added, the config, then the expected init container order and the watch's port and uid. */
const ROWS: {
  fixture: string;
  annotations: Record<string, string>;
  config?: InjectConfig;
  order: string[];
  port: number;
  uid?: number;
  checks?: string[];
}[] = [
  {
    fixture: 'deployment-pod',
    annotations: { 'netready.io/watch': 'true' },
    order: ['netready-wait', 'netready-watch'],
    port: 9471,
  },
  {
    fixture: 'init-containers',
    annotations: { 'netready.io/watch': 'true', 'netready.io/watch-port': '19471' },
    order: ['netready-wait', 'netready-watch', 'migrate', 'fetch-config'],
    port: 19471,
  },
  // A leading native sidecar stays first; the wait and the watch follow it, the app's init container after them.
  {
    fixture: 'native-sidecar',
    annotations: { 'netready.io/watch': 'true' },
    order: ['log-shipper', 'netready-wait', 'netready-watch', 'setup'],
    port: 9471,
  },
  {
    fixture: 'linkerd-native',
    annotations: {},
    config: WATCH_DEFAULT,
    order: ['linkerd-proxy', 'netready-wait', 'netready-watch', 'wait-db'],
    port: 9471,
  },
  {
    fixture: 'istio-classic',
    annotations: { 'netready.io/watch': 'true' },
    order: ['netready-wait', 'netready-watch', 'istio-validation'],
    port: 9471,
    uid: 1337,
  },
  {
    fixture: 'job-pod',
    annotations: { 'netready.io/watch': 'true' },
    order: ['netready-wait', 'netready-watch'],
    port: 9471,
    checks: ['dns:postgres.db.svc.cluster.local', 'tcp://postgres.db.svc:5432'],
  },
];

for (const row of ROWS) {
  test(`${row.fixture}: the watch right after netready-wait (${row.order.join(', ')}); valid, restricted, idempotent`, () => {
    const { request } = review(row.fixture);
    const pod = request.object;
    pod.metadata.annotations = { ...pod.metadata.annotations, ...row.annotations };
    const config = row.config ?? CONFIG;
    const result = injectPod(pod, { namespace: request.namespace, now: NOW }, config);
    assert.ok('patch' in result, `skipped: ${'skip' in result ? result.skip : ''}`);
    assert.deepEqual(
      result.warnings.filter((w) => w.includes('watch')),
      [],
    );
    const patched = applyPatch(pod, result.patch);
    assertValidPod(patched);
    assert.deepEqual(names(patched), row.order);
    const watch = patched.spec.initContainers.find((c: any) => c.name === 'netready-watch');
    const memory =
      row.fixture === 'job-pod'
        ? { limits: { cpu: '200m', memory: '96Mi' }, requests: { cpu: '10m', memory: '32Mi' } }
        : undefined;
    assert.deepEqual(watch, {
      ...watchContainer(row.port, row.uid, row.checks),
      ...(memory ? { resources: memory } : {}),
    });
    assert.deepEqual(addedRestrictedViolations(pod.spec, patched.spec), []);
    assert.deepEqual(injectPod(patched, { namespace: request.namespace, now: NOW }, config), {
      skip: 'already injected',
      warnings: [],
    });
  });
}

test('no watch without the opt-in, with netready.io/watch "false" under a webhook default, or with a bad value (warned)', () => {
  const cases: [Record<string, string>, InjectConfig, string[]][] = [
    [{}, CONFIG, []],
    [{ 'netready.io/watch': 'false' }, WATCH_DEFAULT, []],
    [
      { 'netready.io/watch': 'yes' },
      CONFIG,
      ['netready.io/watch "yes" ignored (using the default): expected "true" or "false"'],
    ],
    [
      { 'netready.io/watch': 'true', 'netready.io/watch-port': '0' },
      CONFIG,
      ['netready.io/watch-port "0" ignored (using the default): expected a port from 1 to 65535'],
    ],
  ];
  for (const [annotations, config, warnings] of cases) {
    const { request } = review('deployment-pod');
    request.object.metadata.annotations = { ...request.object.metadata.annotations, ...annotations };
    const result = injectPod(request.object, { namespace: request.namespace, now: NOW }, config);
    assert.ok('patch' in result);
    assert.deepEqual(result.warnings, warnings, JSON.stringify(annotations));
    const expected = annotations['netready.io/watch-port'] ? ['netready-wait', 'netready-watch'] : ['netready-wait'];
    assert.deepEqual(names(applyPatch(request.object, result.patch)), expected, JSON.stringify(annotations));
  }
});

test('a watch port the app already uses: no watch, and a warning naming the annotation and the container', () => {
  const { request } = review('deployment-pod');
  const pod = request.object;
  pod.metadata.annotations = { ...pod.metadata.annotations, 'netready.io/watch': 'true' };
  pod.spec.containers[0].ports = [{ containerPort: 9471 }];
  const result = injectPod(pod, { namespace: request.namespace, now: NOW }, CONFIG);
  assert.ok('patch' in result);
  assert.deepEqual(result.warnings, [
    `netready.io/watch-port "9471" ignored: container ${pod.spec.containers[0].name} uses it; no watch added`,
  ]);
  assert.deepEqual(names(applyPatch(pod, result.patch)), ['netready-wait']);
});

test('re-invoked after an injector put its init container first: the wait and the watch move back in front together', () => {
  const { request } = review('deployment-pod');
  const pod = request.object;
  pod.metadata.annotations = { ...pod.metadata.annotations, 'netready.io/watch': 'true' };
  const first = injectPod(pod, { namespace: request.namespace, now: NOW }, CONFIG);
  assert.ok('patch' in first);
  const patched = applyPatch(pod, first.patch);
  const [wait, watch] = patched.spec.initContainers;
  patched.spec.initContainers.unshift({ name: 'vault-agent-init', image: 'hashicorp/vault:1.18' });
  const again = injectPod(patched, { namespace: request.namespace, now: NOW }, CONFIG);
  assert.ok('patch' in again);
  assert.deepEqual(again.patch, [
    { op: 'remove', path: '/spec/initContainers/2' },
    { op: 'remove', path: '/spec/initContainers/1' },
    { op: 'add', path: '/spec/initContainers/0', value: wait },
    { op: 'add', path: '/spec/initContainers/1', value: watch },
  ]);
  const fixed = applyPatch(patched, again.patch);
  assert.deepEqual(names(fixed), ['netready-wait', 'netready-watch', 'vault-agent-init']);
  assert.deepEqual(injectPod(fixed, { namespace: request.namespace, now: NOW }, CONFIG), {
    skip: 'already injected',
    warnings: [],
  });
});
