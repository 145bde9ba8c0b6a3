// reportSchema, the v1 wire contract, over real report documents.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { REPORT_SCHEMA_VERSION, reportSchema } from '../../src/lib/report.ts';

const load = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../fixtures/reports/${name}`, import.meta.url), 'utf8'));
const doc = (name: string) => load(name) as Record<string, any>;

test('the schema version is 1', () => {
  assert.equal(REPORT_SCHEMA_VERSION, 1);
});

for (const file of ['valid-ready.json', 'valid-timeout.json']) {
  test(`${file} parses to itself`, () => {
    const input = load(file);
    assert.deepEqual(reportSchema.parse(input), input);
  });
}

test('valid-newer-agent.json parses and its unknown fields are stripped, at every level', () => {
  const out = reportSchema.parse(load('valid-newer-agent.json'));
  const input = doc('valid-newer-agent.json');
  delete input.traceId;
  delete input.pod.qosClass;
  delete input.checks[0].p50LatencyMs;
  assert.deepEqual(out, input);
  assert.equal('traceId' in out, false);
});

const INVALID_FILES: { file: string; path: (string | number)[] }[] = [
  { file: 'invalid-missing-outcome.json', path: ['outcome'] },
  { file: 'invalid-delay-as-string.json', path: ['delaySeconds'] },
  { file: 'invalid-error-class.json', path: ['checks', 0, 'errors', 'Host Unreachable'] },
  { file: 'invalid-schema-version-2.json', path: ['schemaVersion'] },
];

for (const { file, path } of INVALID_FILES) {
  test(`${file} is rejected at ${path.join('.')}`, () => {
    const r = reportSchema.safeParse(load(file));
    assert.equal(r.success, false);
    assert.deepEqual(
      r.error!.issues.map((i) => i.path),
      [path],
    );
  });
}

// One change to valid-ready.json each; the single issue must point at the changed field.
const MUTATIONS: { name: string; mutate: (d: Record<string, any>) => void; path: (string | number)[] }[] = [
  { name: 'schemaVersion missing', mutate: (d) => delete d.schemaVersion, path: ['schemaVersion'] },
  { name: 'schemaVersion as string', mutate: (d) => (d.schemaVersion = '1'), path: ['schemaVersion'] },
  { name: 'agentVersion missing', mutate: (d) => delete d.agentVersion, path: ['agentVersion'] },
  { name: 'agentVersion empty', mutate: (d) => (d.agentVersion = ''), path: ['agentVersion'] },
  { name: 'agentVersion of 65 characters', mutate: (d) => (d.agentVersion = '0'.repeat(65)), path: ['agentVersion'] },
  { name: 'pod missing', mutate: (d) => delete d.pod, path: ['pod'] },
  { name: 'pod.name missing', mutate: (d) => delete d.pod.name, path: ['pod', 'name'] },
  { name: 'pod.namespace a number', mutate: (d) => (d.pod.namespace = 7), path: ['pod', 'namespace'] },
  { name: 'pod.uid of 65 characters', mutate: (d) => (d.pod.uid = 'u'.repeat(65)), path: ['pod', 'uid'] },
  { name: 'pod.node of 254 characters', mutate: (d) => (d.pod.node = 'n'.repeat(254)), path: ['pod', 'node'] },
  { name: 'pod.ips a string', mutate: (d) => (d.pod.ips = '10.244.1.17'), path: ['pod', 'ips'] },
  { name: 'pod.ips with a name', mutate: (d) => (d.pod.ips = ['10.244.1.17', 'web-0.shop']), path: ['pod', 'ips', 1] },
  {
    name: 'pod.ips with 9 addresses',
    mutate: (d) => (d.pod.ips = Array.from({ length: 9 }, (_, i) => `10.0.0.${i + 1}`)),
    path: ['pod', 'ips'],
  },
  { name: 'outcome unknown', mutate: (d) => (d.outcome = 'ok'), path: ['outcome'] },
  { name: 'startedAt missing', mutate: (d) => delete d.startedAt, path: ['startedAt'] },
  { name: 'startedAt as epoch ms', mutate: (d) => (d.startedAt = 1764075732418), path: ['startedAt'] },
  { name: 'startedAt without a zone', mutate: (d) => (d.startedAt = '2025-11-25T13:02:12.418'), path: ['startedAt'] },
  { name: 'readyAt missing (null required)', mutate: (d) => delete d.readyAt, path: ['readyAt'] },
  { name: 'readyAt not a date', mutate: (d) => (d.readyAt = 'soon'), path: ['readyAt'] },
  { name: 'delaySeconds negative', mutate: (d) => (d.delaySeconds = -0.5), path: ['delaySeconds'] },
  { name: 'delaySeconds null', mutate: (d) => (d.delaySeconds = null), path: ['delaySeconds'] },
  // Bounded (7 days): 1e308 made a node's histogram _sum +Inf until the collector restarted.
  { name: 'delaySeconds 1e308', mutate: (d) => (d.delaySeconds = 1e308), path: ['delaySeconds'] },
  { name: 'delaySeconds 7 days + 1 ms', mutate: (d) => (d.delaySeconds = 604_800.001), path: ['delaySeconds'] },
  {
    name: 'admissionToReadySeconds 1e308',
    mutate: (d) => (d.admissionToReadySeconds = 1e308),
    path: ['admissionToReadySeconds'],
  },
  {
    name: 'admissionToReadySeconds -1e308',
    mutate: (d) => (d.admissionToReadySeconds = -1e308),
    path: ['admissionToReadySeconds'],
  },
  {
    name: 'check readyAfterSeconds 1e308',
    mutate: (d) => (d.checks[1].readyAfterSeconds = 1e308),
    path: ['checks', 1, 'readyAfterSeconds'],
  },
  { name: 'admittedAt missing (null required)', mutate: (d) => delete d.admittedAt, path: ['admittedAt'] },
  {
    name: 'admissionToReadySeconds as string',
    mutate: (d) => (d.admissionToReadySeconds = '3.258'),
    path: ['admissionToReadySeconds'],
  },
  { name: 'checks missing', mutate: (d) => delete d.checks, path: ['checks'] },
  { name: 'checks empty', mutate: (d) => (d.checks = []), path: ['checks'] },
  {
    name: 'checks over 64',
    mutate: (d) => (d.checks = Array.from({ length: 65 }, () => d.checks[0])),
    path: ['checks'],
  },
  { name: 'check spec empty', mutate: (d) => (d.checks[1].spec = ''), path: ['checks', 1, 'spec'] },
  { name: 'check kind unknown', mutate: (d) => (d.checks[2].kind = 'kubernetes'), path: ['checks', 2, 'kind'] },
  { name: 'check ok as string', mutate: (d) => (d.checks[0].ok = 'true'), path: ['checks', 0, 'ok'] },
  {
    name: 'check readyAfterSeconds missing',
    mutate: (d) => delete d.checks[1].readyAfterSeconds,
    path: ['checks', 1, 'readyAfterSeconds'],
  },
  { name: 'check attempts fractional', mutate: (d) => (d.checks[1].attempts = 70.5), path: ['checks', 1, 'attempts'] },
  { name: 'check attempts negative', mutate: (d) => (d.checks[1].attempts = -1), path: ['checks', 1, 'attempts'] },
  { name: 'check errors an array', mutate: (d) => (d.checks[1].errors = ['timeout']), path: ['checks', 1, 'errors'] },
  {
    name: 'check error count negative',
    mutate: (d) => (d.checks[1].errors.timeout = -3),
    path: ['checks', 1, 'errors', 'timeout'],
  },
  {
    name: 'check error class too long',
    mutate: (d) => (d.checks[1].errors['x'.repeat(41)] = 1),
    path: ['checks', 1, 'errors', 'x'.repeat(41)],
  },
];

for (const { name, mutate, path } of MUTATIONS) {
  test(`rejected: ${name}`, () => {
    const d = doc('valid-ready.json');
    mutate(d);
    const r = reportSchema.safeParse(d);
    assert.equal(r.success, false, 'the changed document was accepted');
    // One field is wrong; zod may report more than one issue about it.
    assert.deepEqual(new Set(r.error!.issues.map((i) => JSON.stringify(i.path))), new Set([JSON.stringify(path)]));
  });
}

const ACCEPTED: { name: string; mutate: (d: Record<string, any>) => void }[] = [
  { name: 'readyAt with a +02:00 offset', mutate: (d) => (d.readyAt = '2025-11-25T15:02:14.258+02:00') },
  { name: 'negative admissionToReadySeconds (clock skew)', mutate: (d) => (d.admissionToReadySeconds = -0.12) },
  { name: 'no pod IPs (downward API not wired)', mutate: (d) => (d.pod.ips = []) },
  { name: 'empty pod identity', mutate: (d) => (d.pod = { name: '', namespace: '', uid: '', node: '', ips: [] }) },
  { name: 'http_503 error class', mutate: (d) => (d.checks[2].errors = { http_503: 12 }) },
];

for (const { name, mutate } of ACCEPTED) {
  test(`accepted: ${name}`, () => {
    const d = doc('valid-ready.json');
    mutate(d);
    assert.deepEqual(reportSchema.parse(d), d);
  });
}

test('__proto__ keys in a POSTed body are dropped and pollute nothing', () => {
  // JSON.parse makes "__proto__" an own key: at the top, in pod, and as an error class.
  const input = load('hostile-proto-keys.json') as Record<string, any>;
  assert.equal(Object.hasOwn(input, '__proto__'), true);
  assert.equal(Object.hasOwn(input.checks[0].errors, '__proto__'), true);
  const out = reportSchema.parse(input);
  for (const o of [out, out.pod, out.checks[0]!, out.checks[0]!.errors]) {
    assert.equal(Object.getPrototypeOf(o), Object.prototype);
    assert.equal(Object.hasOwn(o, '__proto__'), false);
    assert.equal((o as Record<string, unknown>).polluted, undefined);
  }
  assert.deepEqual(out.checks[0]!.errors, {});
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(Object.hasOwn(Object.prototype, 'polluted'), false);
});

test('durations up to 7 days, and admission-to-ready down to -7 days, are taken', () => {
  const d = doc('valid-ready.json');
  Object.assign(d, { delaySeconds: 604_800, admissionToReadySeconds: -604_800 });
  d.checks[0].readyAfterSeconds = 604_800;
  assert.deepEqual(reportSchema.parse(d), d);
});
