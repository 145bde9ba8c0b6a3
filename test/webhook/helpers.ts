// Real parts for the webhook's tests: AdmissionReview fixtures, the patch applied
// with a JSON Patch library, the Kubernetes Pod schema, and the Pod Security
// "restricted" rules a container must pass.
import { readFileSync, readdirSync } from 'node:fs';
import jsonpatch from 'fast-json-patch';
import { Pod } from 'kubernetes-models/v1/Pod';
import type { InjectConfig } from '../../src/webhook/inject.ts';
import type { Operation } from '../../src/webhook/patch.ts';

const DIR = new URL('../fixtures/admission/', import.meta.url);

/** The configuration the fixtures are injected with. */
export const CONFIG: InjectConfig = Object.freeze({
  defaults: Object.freeze({
    image: 'registry.example/netready:0.1.0',
    checks: [],
    timeout: '2m',
    onTimeout: 'fail',
    settle: '0',
    collector: 'http://netready-collector.netready-system.svc:9470',
    cpuRequest: '10m',
    cpuLimit: '200m',
    memoryRequest: '32Mi',
    memoryLimit: '64Mi',
    watch: false,
    watchPort: 9471,
  }),
  runAsUser: 65532,
  ownNamespace: 'netready-system',
});

export const NOW = new Date('2026-11-25T10:15:30.123Z');

/** An AdmissionReview from test/fixtures/admission, parsed. */
export function review(name: string): any {
  return JSON.parse(readFileSync(new URL(`${name}.json`, DIR), 'utf8'));
}

/** Every fixture's name. */
export const FIXTURES = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .map((f) => f.slice(0, -5));

/** Applies `ops` to a copy of `pod` as the API server would (fast-json-patch, validating each op). */
export function applyPatch(pod: unknown, ops: readonly Operation[] | readonly object[]): any {
  return jsonpatch.applyPatch(structuredClone(pod), structuredClone(ops) as jsonpatch.Operation[], true, false)
    .newDocument;
}

/** Throws unless `pod` is valid against the Kubernetes Pod schema and has unique container names. */
export function assertValidPod(pod: any): void {
  new Pod(pod).validate();
  const names = [...(pod.spec.initContainers ?? []), ...pod.spec.containers].map((c: any) => c.name);
  if (new Set(names).size !== names.length) throw new Error(`duplicate container names: ${names.join(', ')}`);
}
