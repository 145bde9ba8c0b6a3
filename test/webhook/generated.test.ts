// 20,000 generated pods through the whole admission (review in, response out):
// every answer allows the pod, every patch applies, every result is a valid Pod
// with exactly one restricted netready-wait in the right place, and admitting
// the result again changes nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { admit, type AdmissionRequest } from '../../src/webhook/review.ts';
import { addedRestrictedViolations } from '../k8s/pod-security.ts';
import { applyPatch, assertValidPod, CONFIG, NOW } from './helpers.ts';

const NAMES = [
  'app',
  'web',
  'migrate',
  'setup',
  'log-shipper',
  'istio-proxy',
  'istio-validation',
  'linkerd-proxy',
  'vault-agent-init',
  'netready-wait',
  'x',
];
const ANNOTATION_VALUES: Record<string, string[]> = {
  'netready.io/checks': [
    'gateway',
    'dns:db.shop.svc.cluster.local,tcp://db:5432',
    'kubernetes https://api.example/healthz',
    '',
    'ftp://x',
    'tcp://[2001:db8::1]:53',
  ],
  'netready.io/timeout': ['30s', '0', '1m30s', 'soon', '48h', '-1s'],
  'netready.io/on-timeout': ['continue', 'fail', 'maybe'],
  'netready.io/settle': ['250ms', '0', '1h', 'x'],
  'netready.io/collector': ['http://c.netready-system.svc:9470', '', 'https://u:p@c', 'mailto:x'],
  'netready.io/image': ['registry.example/netready:0.2.0', 'bad image', ''],
  'netready.io/cpu-request': ['5m', '1', '0', 'lots'],
  'netready.io/cpu-limit': ['1', '2m', '100m'],
  'netready.io/memory-request': ['16Mi', '1Gi', '-1'],
  'netready.io/memory-limit': ['128Mi', '8Mi', '1e3'],
  'config.linkerd.io/proxy-uid': ['2500', '0', 'root'],
  'sidecar.istio.io/status': ['{"containers":["istio-proxy"]}'],
  'linkerd.io/proxy-version': ['edge-24.11.8'],
  'netready.io/admitted-at': ['2026-11-25T10:00:00.000Z'],
};
/** Annotations that make the webhook skip the pod: on a few pods only, so most get injected. */
const RARE: Record<string, string[]> = {
  'kubernetes.io/config.mirror': ['abc'],
  'netready.io/status': ['injected', 'other'],
};
/** `often` most of the time, `rarely` now and then. */
const mostly = <T>(often: T, ...rarely: T[]) =>
  fc.oneof({ weight: 8, arbitrary: fc.constant(often) }, { weight: 1, arbitrary: fc.constantFrom(...rarely) });

const annotationValue = (values: string[]) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...values) },
    { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
  );
const annotations = fc.option(
  fc
    .tuple(
      fc.record(Object.fromEntries(Object.entries(ANNOTATION_VALUES).map(([k, v]) => [k, annotationValue(v)])), {
        requiredKeys: [],
      }),
      fc.option(
        fc.record(Object.fromEntries(Object.entries(RARE).map(([k, v]) => [k, annotationValue(v)])), {
          requiredKeys: [],
        }),
        { nil: {}, freq: 8 },
      ),
    )
    .map(([common, rare]) => ({ ...common, ...rare })),
  { nil: undefined, freq: 3 },
);

const container = (name: string, init: boolean) =>
  fc.record(
    {
      name: fc.constant(name),
      image: fc.constantFrom('registry.example/app:1', 'docker.io/istio/proxyv2:1.24.2'),
      ...(init ? { restartPolicy: fc.constant('Always' as const) } : {}),
      securityContext: fc.record(
        { runAsUser: fc.integer({ min: 0, max: 70000 }), privileged: fc.boolean() },
        { requiredKeys: [] },
      ),
    },
    { requiredKeys: ['name', 'image'] },
  );

const pod = fc
  .uniqueArray(fc.constantFrom(...NAMES), { minLength: 1, maxLength: 6 })
  .chain((names) => fc.tuple(fc.constant(names), fc.integer({ min: 0, max: names.length - 1 }), fc.boolean()))
  .chain(([names, split, noInits]) =>
    fc.record(
      {
        apiVersion: fc.constant('v1'),
        kind: fc.constant('Pod'),
        metadata: fc.record(
          {
            generateName: fc.constantFrom('web-7d4b9c8f6d-', 'job-'),
            namespace: mostly('shop', 'kube-system'),
            labels: fc.record(
              { app: fc.constant('web'), 'netready.io/inject': mostly('enabled', 'disabled', 'yes') },
              { requiredKeys: [] },
            ),
            annotations,
          },
          { requiredKeys: ['generateName'] },
        ),
        spec: fc.record(
          {
            initContainers:
              noInits && split === 0
                ? fc.constant(undefined)
                : fc.tuple(...names.slice(0, split).map((n) => container(n, true))).map((cs) => cs.map((c) => c)),
            containers: fc
              .tuple(...names.slice(split).map((n) => container(n, false)))
              .map((cs) => cs.map(({ restartPolicy: _r, ...c }: any) => c)),
            hostNetwork: mostly(false, true),
            os: mostly({ name: 'linux' }, { name: 'windows' }),
            securityContext: fc.record(
              {
                runAsNonRoot: fc.boolean(),
                runAsUser: fc.integer({ min: 0, max: 70000 }),
                seccompProfile: fc.constant({ type: 'Unconfined' }),
              },
              { requiredKeys: [] },
            ),
          },
          { requiredKeys: ['containers'] },
        ),
      },
      { requiredKeys: ['apiVersion', 'kind', 'metadata', 'spec'] },
    ),
  )
  // Some init containers keep running (native sidecars), some do not.
  .chain((p: any) =>
    fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }).map((flags) => {
      p.spec.initContainers?.forEach((c: any, i: number) => {
        if (!flags[i]) delete c.restartPolicy;
      });
      if (p.spec.initContainers === undefined) delete p.spec.initContainers;
      return p;
    }),
  );

const request = (object: unknown, namespace: string): AdmissionRequest => ({
  uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
  resource: { group: '', version: 'v1', resource: 'pods' },
  operation: 'CREATE',
  namespace,
  object,
});

test(
  '20,000 generated pods: always allowed, patches apply, results valid and restricted, second admission a no-op',
  { timeout: 60_000 },
  () => {
    let injected = 0;
    fc.assert(
      fc.property(pod, mostly('shop', 'kube-system', 'netready-system', ''), (p, namespace) => {
        assertValidPod(p);
        const { response } = admit(request(p, namespace), CONFIG, NOW);
        assert.equal(response.allowed, true);
        for (const w of response.warnings ?? []) assert.ok(w.length < 120, w);
        if (response.patch === undefined) {
          assert.equal(response.patchType, undefined);
          return;
        }
        injected++;
        const patched = applyPatch(p, JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8')));
        assertValidPod(patched);
        const inits: any[] = patched.spec.initContainers;
        const mine = inits.filter((c) => c.name === 'netready-wait');
        assert.equal(mine.length, 1);
        assert.deepEqual(addedRestrictedViolations(p.spec, patched.spec), []);
        // After the leading native sidecars, before every regular init container.
        const at = inits.indexOf(mine[0]);
        assert.ok(
          inits.slice(0, at).every((c) => c.restartPolicy === 'Always'),
          'only native sidecars before it',
        );
        assert.equal(patched.metadata.annotations['netready.io/status'], 'injected');
        const again = admit(request(patched, namespace), CONFIG, new Date(NOW.getTime() + 5));
        assert.equal(again.response.patch, undefined, 'second admission changes nothing');
      }),
      { numRuns: 20_000, seed: Number(process.env.FC_SEED ?? Date.now() % 2 ** 31) },
    );
    // The generator must exercise injection, not only skips.
    assert.ok(injected > 4_000, `only ${injected} pods injected`);
  },
);
