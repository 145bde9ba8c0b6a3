// The pure core over real AdmissionReview fixtures: every patch is applied with
// fast-json-patch to the original pod, the result must be a valid Pod to which the
// injection added no violation of Pod Security "restricted" (the whole pod checked,
// test/k8s/pod-security.ts), whose injected container equals the expected one in
// full, and admitting the result again must change nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { injectPod } from '../../src/webhook/inject.ts';
import { addedRestrictedViolations } from '../k8s/pod-security.ts';
import { applyPatch, assertValidPod, CONFIG, NOW, review } from './helpers.ts';

const fieldEnv = (name: string, fieldPath: string) => ({ name, valueFrom: { fieldRef: { fieldPath } } });

/** The container injected with CONFIG and no overrides. */
const DEFAULT_CONTAINER = {
  name: 'netready-wait',
  image: 'registry.example/netready:0.1.0',
  command: ['/nodejs/bin/node', '--max-semi-space-size=1', '/app/netready.mjs'],
  args: ['wait', '--timeout=2m', '--on-timeout=fail'],
  env: [
    { name: 'MALLOC_ARENA_MAX', value: '1' },
    { name: 'NETREADY_COLLECTOR_URL', value: 'http://netready-collector.netready-system.svc:9470' },
    fieldEnv('NETREADY_POD_NAME', 'metadata.name'),
    fieldEnv('NETREADY_POD_NAMESPACE', 'metadata.namespace'),
    fieldEnv('NETREADY_POD_UID', 'metadata.uid'),
    fieldEnv('NETREADY_NODE_NAME', 'spec.nodeName'),
    fieldEnv('NETREADY_POD_IPS', 'status.podIPs'),
    fieldEnv('NETREADY_ADMITTED_AT', "metadata.annotations['netready.io/admitted-at']"),
  ],
  resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '200m', memory: '64Mi' } },
  securityContext: {
    runAsNonRoot: true,
    runAsUser: 65532,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  },
  terminationMessagePolicy: 'FallbackToLogsOnError',
};
const withUid = (uid: number) => ({
  ...DEFAULT_CONTAINER,
  securityContext: { ...DEFAULT_CONTAINER.securityContext, runAsUser: uid },
});

interface Injects {
  fixture: string;
  /** Where the container lands in spec.initContainers. */
  index: number;
  container: object;
  warnings?: string[];
}

const INJECTS: Injects[] = [
  { fixture: 'deployment-pod', index: 0, container: DEFAULT_CONTAINER },
  {
    fixture: 'job-pod',
    index: 0,
    container: {
      ...DEFAULT_CONTAINER,
      args: [
        'wait',
        '--timeout=30s',
        '--on-timeout=continue',
        '--check=dns:postgres.db.svc.cluster.local',
        '--check=tcp://postgres.db.svc:5432',
      ],
      resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '200m', memory: '96Mi' } },
    },
  },
  {
    fixture: 'init-containers',
    index: 0,
    container: DEFAULT_CONTAINER,
    warnings: ['netready.io/timeout "soon" ignored (using the default): expected a duration such as 30s or 5m'],
  },
  { fixture: 'native-sidecar', index: 1, container: DEFAULT_CONTAINER },
  // Classic sidecar: Istio's CNI redirects before the proxy runs; uid 1337 is exempt.
  { fixture: 'istio-classic', index: 0, container: withUid(1337) },
  // Native sidecar, but istio-validation (a regular init container) comes first, so the proxy is not up before the agent.
  { fixture: 'istio-native', index: 0, container: withUid(1337) },
  { fixture: 'linkerd-classic', index: 0, container: withUid(2500) },
  // The proxy leads as a native sidecar: the agent runs after it, through it, as its own uid.
  { fixture: 'linkerd-native', index: 1, container: DEFAULT_CONTAINER },
  { fixture: 'pod-security-context', index: 0, container: DEFAULT_CONTAINER },
];

for (const row of INJECTS) {
  test(`${row.fixture}: injects netready-wait at initContainers[${row.index}]; valid, restricted, idempotent`, () => {
    const { request } = review(row.fixture);
    const pod = request.object;
    const result = injectPod(pod, { namespace: request.namespace, now: NOW }, CONFIG);
    assert.ok('patch' in result, `skipped: ${'skip' in result ? result.skip : ''}`);
    assert.deepEqual(result.warnings, row.warnings ?? []);

    // The whole patch: the container (whole array when there was none) and the two annotations.
    const annotations = { 'netready.io/status': 'injected', 'netready.io/admitted-at': '2026-11-25T10:15:30.123Z' };
    const expectedOps = [
      pod.spec.initContainers === undefined
        ? { op: 'add', path: '/spec/initContainers', value: [row.container] }
        : { op: 'add', path: `/spec/initContainers/${row.index}`, value: row.container },
      ...(pod.metadata.annotations === undefined
        ? [{ op: 'add', path: '/metadata/annotations', value: annotations }]
        : Object.entries(annotations).map(([k, value]) => ({
            op: 'add',
            path: `/metadata/annotations/${k.replace('/', '~1')}`,
            value,
          }))),
    ];
    assert.deepEqual(result.patch, expectedOps);

    const patched = applyPatch(pod, result.patch);
    assertValidPod(patched);
    const injected = patched.spec.initContainers[row.index];
    assert.deepEqual(injected, row.container);
    assert.deepEqual(addedRestrictedViolations(pod.spec, patched.spec), []);
    // Everything the pod had is still there, in order.
    assert.deepEqual(
      patched.spec.initContainers.filter((c: any) => c.name !== 'netready-wait'),
      pod.spec.initContainers ?? [],
    );
    assert.deepEqual(patched.spec.containers, pod.spec.containers);

    const again = injectPod(patched, { namespace: request.namespace, now: new Date(NOW.getTime() + 1000) }, CONFIG);
    assert.deepEqual(again, { skip: 'already injected', warnings: [] });
  });
}

/** Pods left alone, with the reason (logged by the server). */
const SKIPS: { name: string; fixture: string; namespace?: string; labels?: Record<string, string>; reason: RegExp }[] =
  [
    { name: 'hostNetwork', fixture: 'host-network', reason: /^hostNetwork pod/ },
    { name: 'mirror pod', fixture: 'mirror', reason: /^mirror pod/ },
    { name: 'already injected', fixture: 'already-injected', reason: /^already injected$/ },
    {
      name: 'kube-system (from request.namespace)',
      fixture: 'deployment-pod',
      namespace: 'kube-system',
      reason: /kube-system/,
    },
    {
      name: "the webhook's own namespace",
      fixture: 'deployment-pod',
      namespace: 'netready-system',
      reason: /webhook's own/,
    },
    {
      name: 'opted out by label',
      fixture: 'deployment-pod',
      labels: { 'netready.io/inject': 'disabled' },
      reason: /^opted out/,
    },
  ];

for (const row of SKIPS) {
  test(`skips: ${row.name}`, () => {
    const { request } = review(row.fixture);
    if (row.labels) Object.assign(request.object.metadata.labels, row.labels);
    const result = injectPod(request.object, { namespace: row.namespace ?? request.namespace, now: NOW }, CONFIG);
    assert.ok('skip' in result, 'expected a skip');
    assert.match(result.skip, row.reason);
  });
}

test('a hand-written netready-wait init container (no netready.io/status) is left alone', () => {
  const { request } = review('already-injected');
  delete request.object.metadata.annotations['netready.io/status'];
  const result = injectPod(request.object, { namespace: request.namespace, now: NOW }, CONFIG);
  assert.deepEqual(result, { skip: 'the pod already has a netready-wait init container of its own', warnings: [] });
});

test('re-invoked after Istio (classic): moves the one container first and gives it uid 1337', () => {
  const { request } = review('reinvoked-after-istio');
  const pod = request.object;
  const result = injectPod(pod, { namespace: request.namespace, now: NOW }, CONFIG);
  const moved = {
    ...pod.spec.initContainers[1],
    securityContext: { ...pod.spec.initContainers[1].securityContext, runAsUser: 1337 },
  };
  assert.deepEqual(result, {
    patch: [
      { op: 'remove', path: '/spec/initContainers/1' },
      { op: 'add', path: '/spec/initContainers/0', value: moved },
    ],
    action: 'fixed',
    uid: 1337,
    warnings: [],
  });
  const patched = applyPatch(pod, result.patch);
  assertValidPod(patched);
  assert.deepEqual(
    patched.spec.initContainers.map((c: any) => c.name),
    ['netready-wait', 'istio-validation'],
  );
  assert.deepEqual(addedRestrictedViolations(pod.spec, patched.spec), []);
  assert.deepEqual(injectPod(patched, { namespace: request.namespace, now: NOW }, CONFIG), {
    skip: 'already injected',
    warnings: [],
  });
});

test('re-invoked after Vault: moves the container ahead of vault-agent-init, uid unchanged', () => {
  const { request } = review('reinvoked-after-vault');
  const pod = request.object;
  const result = injectPod(pod, { namespace: request.namespace, now: NOW }, CONFIG);
  assert.deepEqual(result, {
    patch: [
      { op: 'remove', path: '/spec/initContainers/1' },
      { op: 'add', path: '/spec/initContainers/0', value: pod.spec.initContainers[1] },
    ],
    action: 'fixed',
    uid: 65532,
    warnings: [],
  });
  const patched = applyPatch(pod, result.patch);
  assertValidPod(patched);
  assert.deepEqual(
    patched.spec.initContainers.map((c: any) => c.name),
    ['netready-wait', 'vault-agent-init'],
  );
});

test('re-invoked when only the uid is wrong: one op replacing the security context', () => {
  const { request } = review('already-injected');
  const pod = request.object;
  pod.spec.containers.push({ name: 'linkerd-proxy', image: 'cr.l5d.io/linkerd/proxy:edge-24.11.8' });
  const result = injectPod(pod, { namespace: request.namespace, now: NOW }, CONFIG);
  assert.deepEqual(result, {
    patch: [{ op: 'add', path: '/spec/initContainers/0/securityContext', value: withUid(2102).securityContext }],
    action: 'fixed',
    uid: 2102,
    warnings: [],
  });
});

test('bad values warn, name the annotation or label, stay under 120 characters, and keep the defaults', () => {
  const { request } = review('linkerd-classic');
  const pod = request.object;
  Object.assign(pod.metadata.annotations, {
    'config.linkerd.io/proxy-uid': 'root',
    'netready.io/checks': 'gateway,ftp://files.example',
    'netready.io/cpu-request': '1',
    'netready.io/image': 'not an image',
    'netready.io/collector': `http://${'x'.repeat(300)}.example?token=secret`,
  });
  pod.metadata.labels['netready.io/inject'] = 'yes';
  const result = injectPod(pod, { namespace: request.namespace, now: NOW }, CONFIG);
  assert.ok('patch' in result);
  assert.deepEqual(result.warnings, [
    'label netready.io/inject "yes" ignored: expected enabled or disabled',
    'config.linkerd.io/proxy-uid "root" ignored (using 2102): expected a non-zero uid',
    'netready.io/checks "gateway,ftp://files.exa…" ignored (using the default): check "ftp://files.example": expected gatew…',
    'netready.io/collector "http://xxxxxxxxxxxxxxxx…" ignored (using the default): no credentials, query or fragment',
    'netready.io/image "not an image" ignored (using the default): not an image reference',
    'netready.io/cpu-request/limit "1>200m" ignored (using the defaults): request above limit',
  ]);
  for (const w of result.warnings) assert.ok(w.length < 120, w);
  const patched = applyPatch(pod, result.patch);
  assert.deepEqual(patched.spec.initContainers[0], withUid(2102));
});
