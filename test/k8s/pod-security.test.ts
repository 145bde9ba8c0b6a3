// The "restricted" checker itself: a compliant pod passes, and each rule,
// broken alone, is reported (else the manifests' tests could pass vacuously).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import { addedRestrictedViolations, restrictedViolations } from './pod-security.ts';

const container = () => ({
  name: 'app',
  image: 'app',
  securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
});

/** Compliant through pod-level runAsNonRoot and seccomp, container-level the rest. */
const compliant = (): IPodSpec => ({
  securityContext: { runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } },
  initContainers: [container()],
  containers: [container()],
  volumes: [
    { name: 'tmp', emptyDir: {} },
    { name: 'tls', secret: { secretName: 'tls' } },
  ],
});

test('a compliant pod passes, with NET_BIND_SERVICE added and Localhost seccomp on a container', () => {
  const spec = compliant();
  spec.containers[0]!.securityContext = {
    ...spec.containers[0]!.securityContext,
    capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] },
    seccompProfile: { type: 'Localhost', localhostProfile: 'p.json' },
  };
  assert.deepEqual(restrictedViolations(spec), []);
});

const BROKEN: Array<[string, (s: IPodSpec) => void, RegExp]> = [
  ['hostNetwork', (s) => (s.hostNetwork = true), /spec\.hostNetwork/],
  ['hostPID', (s) => (s.hostPID = true), /spec\.hostPID/],
  ['hostIPC', (s) => (s.hostIPC = true), /spec\.hostIPC/],
  ['hostPath volume', (s) => s.volumes!.push({ name: 'h', hostPath: { path: '/' } }), /hostPath is not allowed/],
  [
    'nfs volume (allowed by baseline, not restricted)',
    (s) => s.volumes!.push({ name: 'n', nfs: { server: 'nfs.example', path: '/' } }),
    /nfs is not allowed/,
  ],
  ['privileged', (s) => (s.containers[0]!.securityContext!.privileged = true), /privileged/],
  ['hostPort', (s) => (s.containers[0]!.ports = [{ containerPort: 80, hostPort: 80 }]), /hostPort 80/],
  [
    'allowPrivilegeEscalation unset',
    (s) => delete s.initContainers![0]!.securityContext!.allowPrivilegeEscalation,
    /initContainers\[app\]\.securityContext\.allowPrivilegeEscalation/,
  ],
  ['runAsNonRoot nowhere', (s) => delete s.securityContext!.runAsNonRoot, /runAsNonRoot is not true/],
  [
    'runAsNonRoot false on a container overrides the pod',
    (s) => (s.containers[0]!.securityContext!.runAsNonRoot = false),
    /containers\[app\]: runAsNonRoot/,
  ],
  ['runAsUser 0 on the pod', (s) => (s.securityContext!.runAsUser = 0), /spec\.securityContext\.runAsUser is 0/],
  [
    'runAsUser 0 on a container',
    (s) => (s.containers[0]!.securityContext!.runAsUser = 0),
    /containers\[app\]\.securityContext\.runAsUser is 0/,
  ],
  ['no seccomp profile anywhere', (s) => delete s.securityContext!.seccompProfile, /no seccompProfile/],
  [
    'Unconfined seccomp on a container',
    (s) => (s.containers[0]!.securityContext!.seccompProfile = { type: 'Unconfined' }),
    /seccompProfile\.type is Unconfined/,
  ],
  [
    'capabilities not dropped',
    (s) => (s.containers[0]!.securityContext!.capabilities = { drop: ['NET_RAW'] }),
    /drop does not include ALL/,
  ],
  [
    'NET_RAW added',
    (s) => (s.containers[0]!.securityContext!.capabilities = { drop: ['ALL'], add: ['NET_RAW'] }),
    /add has NET_RAW/,
  ],
  ['procMount Unmasked', (s) => (s.containers[0]!.securityContext!.procMount = 'Unmasked'), /procMount/],
  [
    'an unsafe sysctl',
    (s) => (s.securityContext!.sysctls = [{ name: 'net.core.somaxconn', value: '1024' }]),
    /net\.core\.somaxconn/,
  ],
  ['SELinux user', (s) => (s.securityContext!.seLinuxOptions = { user: 'system_u' }), /seLinuxOptions\.user/],
  [
    'ephemeral container checked too',
    (s) => (s.ephemeralContainers = [{ name: 'debug', image: 'busybox' }]),
    /ephemeralContainers\[debug\]/,
  ],
];

for (const [rule, breakIt, message] of BROKEN) {
  test(`restricted: ${rule} is reported`, () => {
    const spec = compliant();
    breakIt(spec);
    const violations = restrictedViolations(spec);
    assert.ok(
      violations.some((v) => message.test(v)),
      `${message} in ${JSON.stringify(violations)}`,
    );
  });
}

test("what an injection added: the new container's violations, not those the pod already had", () => {
  const before = compliant();
  before.hostNetwork = true;
  const after = structuredClone(before);
  after.initContainers!.unshift({
    name: 'injected',
    image: 'x',
    securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
  });
  assert.deepEqual(addedRestrictedViolations(before, after), []);
  after.initContainers![0]!.securityContext!.privileged = true;
  assert.deepEqual(addedRestrictedViolations(before, after), [
    'spec.initContainers[injected].securityContext.privileged is true',
  ]);
});
