// buildReport / summaryLine / dominantError: the prober's result as the v1
// report (checked against the fixture documents and reportSchema) and the
// one-line summary written to the termination log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { buildReport, dominantError, summaryLine } from '../../src/agent/summary.ts';
import { parseWaitConfig } from '../../src/agent/config.ts';
import type { CheckProgress, ProbeOutcome } from '../../src/agent/prober.ts';
import { reportSchema } from '../../src/lib/report.ts';
import { POD_ENV } from './pod-env.ts';

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../fixtures/reports/${name}`, import.meta.url), 'utf8'));

const TIMEOUT_ENV = {
  NETREADY_POD_NAME: 'batch-import-28861945-vx9zq',
  NETREADY_POD_NAMESPACE: 'etl',
  NETREADY_POD_UID: '5e0c9a71-3f2b-4c1d-8e6a-b7d4f2a91c03',
  NETREADY_NODE_NAME: 'gke-prod-pool-2-4b1e9c7d-kq3m',
  NETREADY_POD_IPS: '10.52.3.41',
  NETREADY_ADMITTED_AT: '2025-11-25T02:00:05Z',
  NETREADY_CHECKS: 'gateway dns https://storage.googleapis.com/',
};

const progress = (
  spec: string,
  kind: CheckProgress['kind'],
  readySince: number | null,
  attempts: number,
  errors: Record<string, number>,
): CheckProgress => ({
  spec,
  kind,
  attempts,
  errors,
  lastError: Object.keys(errors).at(-1) ?? null,
  readySince,
  firstAttemptAt: attempts > 0 ? 0 : null,
});

const readyProgress = () => [
  progress('gateway', 'gateway', 2.4, 1, {}),
  progress('dns', 'dns', 1830.2, 71, { timeout: 3, dns_servfail: 2 }),
  progress('kubernetes', 'tcp', 1840, 74, { unreachable: 1 }),
];
const READY: ProbeOutcome = { ready: true, readyAt: 1840, detectedAt: 1851.3 };
const READY_START = Date.parse('2025-11-25T13:02:12.418Z');

const timeoutProgress = () => [
  progress('gateway', 'gateway', 4, 1, {}),
  progress('dns', 'dns', null, 7512, { timeout: 7388, dns_servfail: 121 }),
  progress('https://storage.googleapis.com/', 'http', null, 7514, { dns_servfail: 121, timeout: 7390 }),
];
const TIMEOUT_START = Date.parse('2025-11-25T02:00:07.913Z');

test('a ready run builds the valid-ready.json document', () => {
  const report = buildReport(parseWaitConfig([], POD_ENV), readyProgress(), READY, 1851.3, READY_START, '0.1.0');
  assert.deepEqual(report, fixture('valid-ready.json'));
  assert.deepEqual(reportSchema.parse(report), report);
  assert.equal(summaryLine(report), 'network ready after 1.840 s (gateway 0.002 s, dns 1.830 s, kubernetes 1.840 s)');
});

test('a timed-out run builds the valid-timeout.json document', () => {
  const config = parseWaitConfig([], TIMEOUT_ENV);
  const report = buildReport(config, timeoutProgress(), { ready: false }, 300_000.6, TIMEOUT_START, '0.1.0');
  assert.deepEqual(report, fixture('valid-timeout.json'));
  assert.deepEqual(reportSchema.parse(report), report);
  assert.equal(
    summaryLine(report),
    'network not ready after 300.001 s (gateway 0.004 s, dns failed: timeout, https://storage.googleapis.com/ failed: timeout)',
  );
});

// The admission fields, case by case.
const ADMISSION: {
  name: string;
  admittedAt?: string;
  outcome: ProbeOutcome;
  want: {
    readyAt: string | null;
    admittedAt: string | null;
    admissionToReadySeconds: number | null;
    delaySeconds: number;
  };
}[] = [
  {
    name: 'ready, admitted',
    admittedAt: '2025-11-25T13:02:11Z',
    outcome: READY,
    want: {
      readyAt: '2025-11-25T13:02:14.258Z',
      admittedAt: '2025-11-25T13:02:11Z',
      admissionToReadySeconds: 3.258,
      delaySeconds: 1.84,
    },
  },
  // Admission time with an offset: the same instant.
  {
    name: 'ready, admitted with an offset',
    admittedAt: '2025-11-25T14:02:11.500+01:00',
    outcome: READY,
    want: {
      readyAt: '2025-11-25T13:02:14.258Z',
      admittedAt: '2025-11-25T14:02:11.500+01:00',
      admissionToReadySeconds: 2.758,
      delaySeconds: 1.84,
    },
  },
  // The API server's clock ahead of the node's: negative, reported as is.
  {
    name: 'ready, admission clock ahead',
    admittedAt: '2025-11-25T13:02:15Z',
    outcome: READY,
    want: {
      readyAt: '2025-11-25T13:02:14.258Z',
      admittedAt: '2025-11-25T13:02:15Z',
      admissionToReadySeconds: -0.742,
      delaySeconds: 1.84,
    },
  },
  // A pod restarted 8 days after admission runs its init containers again: that figure is not this start's.
  {
    name: 'ready, admitted 8 days before (beyond the contract)',
    admittedAt: '2025-11-17T13:02:11Z',
    outcome: READY,
    want: {
      readyAt: '2025-11-25T13:02:14.258Z',
      admittedAt: '2025-11-17T13:02:11Z',
      admissionToReadySeconds: null,
      delaySeconds: 1.84,
    },
  },
  {
    name: 'ready, admitted 6 days before',
    admittedAt: '2025-11-19T13:02:14.258Z',
    outcome: READY,
    want: {
      readyAt: '2025-11-25T13:02:14.258Z',
      admittedAt: '2025-11-19T13:02:14.258Z',
      admissionToReadySeconds: 518_400,
      delaySeconds: 1.84,
    },
  },
  {
    name: 'ready, not admitted through the webhook',
    outcome: READY,
    want: { readyAt: '2025-11-25T13:02:14.258Z', admittedAt: null, admissionToReadySeconds: null, delaySeconds: 1.84 },
  },
  {
    name: 'timeout, admitted',
    admittedAt: '2025-11-25T13:02:11Z',
    outcome: { ready: false },
    want: { readyAt: null, admittedAt: '2025-11-25T13:02:11Z', admissionToReadySeconds: null, delaySeconds: 1.851 },
  },
  {
    name: 'timeout, not admitted',
    outcome: { ready: false },
    want: { readyAt: null, admittedAt: null, admissionToReadySeconds: null, delaySeconds: 1.851 },
  },
];

for (const { name, admittedAt, outcome, want } of ADMISSION) {
  test(`admission fields: ${name}`, () => {
    const env: Record<string, string> = { ...POD_ENV };
    if (admittedAt === undefined) delete env.NETREADY_ADMITTED_AT;
    else env.NETREADY_ADMITTED_AT = admittedAt;
    const report = reportSchema.parse(
      buildReport(parseWaitConfig([], env), readyProgress(), outcome, 1851.3, READY_START, '0.1.0'),
    );
    assert.deepEqual(
      {
        readyAt: report.readyAt,
        admittedAt: report.admittedAt,
        admissionToReadySeconds: report.admissionToReadySeconds,
        delaySeconds: report.delaySeconds,
      },
      want,
    );
    assert.equal(report.outcome, outcome.ready ? 'ready' : 'timeout');
  });
}

test('the report is a copy: later progress does not change it', () => {
  const config = parseWaitConfig([], POD_ENV);
  const live = readyProgress();
  const report = buildReport(config, live, READY, 1851.3, READY_START, '0.1.0');
  live[1]!.errors.timeout = 99;
  live[1]!.attempts = 500;
  assert.deepEqual(report.checks[1], {
    spec: 'dns',
    kind: 'dns',
    ok: true,
    readyAfterSeconds: 1.83,
    attempts: 71,
    errors: { timeout: 3, dns_servfail: 2 },
  });
  // And pod.ips is a plain, mutable array, not the frozen config's.
  assert.equal(Object.isFrozen(report.pod.ips), false);
  assert.deepEqual(report.pod.ips, ['10.244.1.17', 'fd00:10:244:1::11']);
});

test('a check that never got any answer is summarised as "no answer"', () => {
  const config = parseWaitConfig([], { ...TIMEOUT_ENV, NETREADY_CHECKS: 'tcp://10.96.0.10:53' });
  const report = buildReport(
    config,
    [progress('tcp://10.96.0.10:53', 'tcp', null, 1, {})],
    { ready: false },
    5000,
    TIMEOUT_START,
    '0.1.0',
  );
  reportSchema.parse(report);
  assert.deepEqual(report.checks, [
    { spec: 'tcp://10.96.0.10:53', kind: 'tcp', ok: false, readyAfterSeconds: null, attempts: 1, errors: {} },
  ]);
  assert.equal(summaryLine(report), 'network not ready after 5.000 s (tcp://10.96.0.10:53 failed: no answer)');
});

test('config refuses a pod identity the report schema would refuse, naming the variable', () => {
  const cases = [
    { NETREADY_POD_UID: 'u'.repeat(65), name: /NETREADY_POD_UID/ },
    {
      NETREADY_POD_IPS: Array.from({ length: 9 }, (_, i) => `198.51.100.${i + 1}`).join(','),
      name: /NETREADY_POD_IPS .*at most 8/,
    },
  ];
  for (const { name, ...env } of cases) {
    assert.throws(
      () => parseWaitConfig([], { ...POD_ENV, ...env }),
      (err: Error & { code?: string }) => err.code === 'ERR_CONFIG' && name.test(err.message),
    );
  }
  // At the limits, the report is accepted.
  const env = {
    ...POD_ENV,
    NETREADY_POD_UID: 'u'.repeat(64),
    NETREADY_POD_IPS: Array.from({ length: 8 }, (_, i) => `198.51.100.${i + 1}`).join(','),
  };
  const report = buildReport(parseWaitConfig([], env), readyProgress(), READY, 1851.3, READY_START, '0.1.0');
  assert.equal(reportSchema.safeParse(report).success, true);
});

const DOMINANT: { errors: Record<string, number>; want: string | null }[] = [
  { errors: {}, want: null },
  { errors: { timeout: 3 }, want: 'timeout' },
  { errors: { timeout: 3, dns_servfail: 5 }, want: 'dns_servfail' },
  { errors: { refused: 1, timeout: 7388, dns_servfail: 121 }, want: 'timeout' },
  // A tie goes to the class seen first.
  { errors: { unreachable: 2, timeout: 2 }, want: 'unreachable' },
  { errors: { timeout: 2, unreachable: 2 }, want: 'timeout' },
];

for (const { errors, want } of DOMINANT) {
  test(`dominantError(${JSON.stringify(errors)}) = ${want}`, () => {
    assert.equal(dominantError(errors), want);
  });
}
