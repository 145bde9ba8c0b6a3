// The AdmissionReview layer: envelope checks naming the bad field, requests that
// are not a pod CREATE answered untouched, and an internal error still allowing
// the pod with a short warning.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { admit, decodeReview, encodeReview } from '../../src/webhook/review.ts';
import type { InjectConfig } from '../../src/webhook/inject.ts';
import { CONFIG, NOW, review } from './helpers.ts';

const DECODE: [string, (doc: any) => void, string][] = [
  [
    'v1beta1',
    (d) => (d.apiVersion = 'admission.k8s.io/v1beta1'),
    'apiVersion: Invalid input: expected "admission.k8s.io/v1"',
  ],
  ['wrong kind', (d) => (d.kind = 'Pod'), 'kind: Invalid input: expected "AdmissionReview"'],
  ['no request', (d) => delete d.request, 'request: Invalid input: expected object, received undefined'],
  ['empty uid', (d) => (d.request.uid = ''), 'request.uid: Too small: expected string to have >=1 characters'],
  [
    'no resource',
    (d) => delete d.request.resource,
    'request.resource: Invalid input: expected object, received undefined',
  ],
];
for (const [name, mutate, error] of DECODE) {
  test(`decodeReview rejects ${name}, naming the field`, () => {
    const doc = review('deployment-pod');
    mutate(doc);
    assert.deepEqual(decodeReview(doc), { ok: false, error });
  });
}

const UNTOUCHED: [string, (r: any) => void, string][] = [
  ['an UPDATE', (r) => (r.operation = 'UPDATE'), 'not a pod CREATE (pods UPDATE)'],
  [
    'a subresource',
    (r) => (r.subResource = 'ephemeralcontainers'),
    'not a pod CREATE (pods/ephemeralcontainers CREATE)',
  ],
  [
    'another resource',
    (r) => (r.resource = { group: 'apps', version: 'v1', resource: 'deployments' }),
    'not a pod CREATE (deployments CREATE)',
  ],
];
for (const [name, mutate, reason] of UNTOUCHED) {
  test(`admit: ${name} is allowed untouched`, () => {
    const decoded = decodeReview(review('deployment-pod'));
    assert.ok(decoded.ok);
    mutate(decoded.request);
    assert.deepEqual(admit(decoded.request, CONFIG, NOW), {
      response: { uid: '705ab4f5-6393-11e8-b7cc-42010a800002', allowed: true },
      outcome: { action: 'skipped', reason },
    });
  });
}

test('admit: an internal error allows the pod unchanged, with a warning under 120 characters', () => {
  const broken = {
    ...CONFIG,
    get defaults(): never {
      throw new TypeError('bug');
    },
  } as InjectConfig;
  const decoded = decodeReview(review('deployment-pod'));
  assert.ok(decoded.ok);
  const { response, outcome } = admit(decoded.request, broken, NOW);
  assert.deepEqual(response, {
    uid: decoded.request.uid,
    allowed: true,
    warnings: ['netready: internal error; pod admitted without netready-wait (see the webhook logs)'],
  });
  assert.equal(outcome.action, 'failed');
  assert.ok(response.warnings![0]!.length < 120);
});

test('encodeReview: apiVersion and kind of v1, the response as given', () => {
  assert.deepEqual(JSON.parse(encodeReview({ uid: 'u', allowed: true })), {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    response: { uid: 'u', allowed: true },
  });
});
