// parseWaitConfig: flags and NETREADY_* env into one frozen config; bad values
// fail with ERR_CONFIG naming the option and the value.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseWaitConfig, type WaitConfig } from '../../src/agent/config.ts';
import { CodedError } from '../../src/lib/errors.ts';
import { POD_ENV } from './pod-env.ts';

type Env = Record<string, string | undefined>;

function configError(argv: string[], env: Env): CodedError {
  try {
    parseWaitConfig(argv, env);
  } catch (err) {
    assert.ok(err instanceof CodedError, `expected a CodedError, got ${String(err)}`);
    return err;
  }
  assert.fail(`parseWaitConfig(${JSON.stringify(argv)}) did not throw`);
}

test('defaults with no flags and no NETREADY_* env', () => {
  const c = parseWaitConfig([], {});
  assert.deepEqual(c, {
    checks: [
      { kind: 'gateway', spec: 'gateway' },
      { kind: 'dns', spec: 'dns', name: null },
    ],
    timeoutMs: 300_000,
    onTimeout: 'fail',
    intervalMs: 20,
    attemptTimeoutMs: 900,
    maxInFlight: 64,
    settleMs: 0,
    httpStatus: null,
    dnsServers: [],
    collectorUrl: null,
    collectorToken: null,
    reportBudgetMs: 1000,
    terminationLog: '/dev/termination-log',
    logLevel: 'info',
    dryRun: false,
    pod: { name: '', namespace: '', uid: '', node: '', ips: [] },
    admittedAt: null,
  } satisfies WaitConfig);
});

test('pod identity comes from the downward-API env', () => {
  const c = parseWaitConfig([], POD_ENV);
  assert.deepEqual(c.pod, {
    name: 'web-7d9f8c6b5-x2k4q',
    namespace: 'shop',
    uid: '0b5d2f7e-6a1c-4a8e-9d53-2f1c7e4b9a10',
    node: 'ip-10-0-12-34.eu-west-1.compute.internal',
    ips: ['10.244.1.17', 'fd00:10:244:1::11'],
  });
  assert.equal(c.admittedAt, '2025-11-25T13:02:11Z');
});

const POD_IPS: { value: string; want: string[] }[] = [
  { value: '10.244.1.17', want: ['10.244.1.17'] },
  { value: '10.244.1.17,fd00:10:244:1::11', want: ['10.244.1.17', 'fd00:10:244:1::11'] },
  { value: '10.244.1.17, fd00:10:244:1::11', want: ['10.244.1.17', 'fd00:10:244:1::11'] },
  { value: '10.244.1.17 fd00:10:244:1::11', want: ['10.244.1.17', 'fd00:10:244:1::11'] },
  { value: '', want: [] },
];

for (const { value, want } of POD_IPS) {
  test(`NETREADY_POD_IPS=${JSON.stringify(value)}`, () => {
    assert.deepEqual(parseWaitConfig([], { ...POD_ENV, NETREADY_POD_IPS: value }).pod.ips, want);
  });
}

// Each good value, given as a flag, and the config field it sets.
const GOOD_FLAGS: { argv: string[]; pick: (c: WaitConfig) => unknown; want: unknown }[] = [
  { argv: ['--timeout', '90s'], pick: (c) => c.timeoutMs, want: 90_000 },
  { argv: ['--timeout', '1m30s'], pick: (c) => c.timeoutMs, want: 90_000 },
  { argv: ['--timeout', '0'], pick: (c) => c.timeoutMs, want: 0 },
  { argv: ['--timeout=2h'], pick: (c) => c.timeoutMs, want: 7_200_000 },
  { argv: ['--on-timeout', 'continue'], pick: (c) => c.onTimeout, want: 'continue' },
  { argv: ['--on-timeout', 'fail'], pick: (c) => c.onTimeout, want: 'fail' },
  { argv: ['--interval', '5ms'], pick: (c) => c.intervalMs, want: 5 },
  { argv: ['--interval', '10s'], pick: (c) => c.intervalMs, want: 10_000 },
  { argv: ['--attempt-timeout', '250ms'], pick: (c) => c.attemptTimeoutMs, want: 250 },
  { argv: ['--attempt-timeout', '10m'], pick: (c) => c.attemptTimeoutMs, want: 600_000 },
  { argv: ['--max-in-flight', '1'], pick: (c) => c.maxInFlight, want: 1 },
  { argv: ['--max-in-flight', '1024'], pick: (c) => c.maxInFlight, want: 1024 },
  { argv: ['--settle', '2s'], pick: (c) => c.settleMs, want: 2000 },
  { argv: ['--settle', '0'], pick: (c) => c.settleMs, want: 0 },
  { argv: ['--http-status', 'any'], pick: (c) => c.httpStatus, want: null },
  {
    argv: ['--http-status', '200-399,404'],
    pick: (c) => c.httpStatus,
    want: [
      [200, 399],
      [404, 404],
    ],
  },
  {
    argv: ['--http-status', ' 200 , 301-302 '],
    pick: (c) => c.httpStatus,
    want: [
      [200, 200],
      [301, 302],
    ],
  },
  { argv: ['--dns-server', '10.96.0.10'], pick: (c) => c.dnsServers, want: ['10.96.0.10'] },
  {
    argv: ['--dns-server', '192.0.2.10:5353', '--dns-server', '[2001:db8::1]:53', '--dns-server', '2001:db8::2'],
    pick: (c) => c.dnsServers,
    want: ['192.0.2.10:5353', '[2001:db8::1]:53', '2001:db8::2'],
  },
  {
    argv: ['--collector', 'http://netready-collector.netready.svc:8080'],
    pick: (c) => c.collectorUrl,
    want: 'http://netready-collector.netready.svc:8080',
  },
  {
    argv: ['--collector', 'https://collector.example.com/netready/'],
    pick: (c) => c.collectorUrl,
    want: 'https://collector.example.com/netready',
  },
  { argv: ['--report-budget', '500ms'], pick: (c) => c.reportBudgetMs, want: 500 },
  {
    argv: ['--termination-log', '/tmp/netready-summary'],
    pick: (c) => c.terminationLog,
    want: '/tmp/netready-summary',
  },
  { argv: ['--termination-log', ''], pick: (c) => c.terminationLog, want: null },
  { argv: ['--log-level', 'debug'], pick: (c) => c.logLevel, want: 'debug' },
  { argv: ['--log-level', 'error'], pick: (c) => c.logLevel, want: 'error' },
  { argv: ['--dry-run'], pick: (c) => c.dryRun, want: true },
  {
    argv: ['--check', 'dns:kubernetes.default.svc.cluster.local.'],
    pick: (c) => c.checks,
    want: [
      { kind: 'dns', spec: 'dns:kubernetes.default.svc.cluster.local.', name: 'kubernetes.default.svc.cluster.local.' },
    ],
  },
  {
    argv: ['--check', 'tcp://10.96.0.10:53', '--check', 'https://kubernetes.default.svc/healthz'],
    pick: (c) => c.checks,
    want: [
      { kind: 'tcp', spec: 'tcp://10.96.0.10:53', host: '10.96.0.10', port: 53 },
      { kind: 'http', spec: 'https://kubernetes.default.svc/healthz', url: 'https://kubernetes.default.svc/healthz' },
    ],
  },
];

for (const { argv, pick, want } of GOOD_FLAGS) {
  test(`flag ${JSON.stringify(argv)}`, () => {
    assert.deepEqual(pick(parseWaitConfig(argv, POD_ENV)), want);
  });
}

// The same option set by env alone, then by env and flag: the flag wins.
const FLAG_VS_ENV: {
  flag: string;
  env: string;
  envValue: string;
  flagValue: string;
  pick: (c: WaitConfig) => unknown;
  fromEnv: unknown;
  fromFlag: unknown;
}[] = [
  {
    flag: '--timeout',
    env: 'NETREADY_TIMEOUT',
    envValue: '30s',
    flagValue: '2m',
    pick: (c) => c.timeoutMs,
    fromEnv: 30_000,
    fromFlag: 120_000,
  },
  {
    flag: '--on-timeout',
    env: 'NETREADY_ON_TIMEOUT',
    envValue: 'continue',
    flagValue: 'fail',
    pick: (c) => c.onTimeout,
    fromEnv: 'continue',
    fromFlag: 'fail',
  },
  {
    flag: '--interval',
    env: 'NETREADY_INTERVAL',
    envValue: '50ms',
    flagValue: '10ms',
    pick: (c) => c.intervalMs,
    fromEnv: 50,
    fromFlag: 10,
  },
  {
    flag: '--attempt-timeout',
    env: 'NETREADY_ATTEMPT_TIMEOUT',
    envValue: '3s',
    flagValue: '2s',
    pick: (c) => c.attemptTimeoutMs,
    fromEnv: 3000,
    fromFlag: 2000,
  },
  {
    flag: '--max-in-flight',
    env: 'NETREADY_MAX_IN_FLIGHT',
    envValue: '8',
    flagValue: '16',
    pick: (c) => c.maxInFlight,
    fromEnv: 8,
    fromFlag: 16,
  },
  {
    flag: '--settle',
    env: 'NETREADY_SETTLE',
    envValue: '1s',
    flagValue: '500ms',
    pick: (c) => c.settleMs,
    fromEnv: 1000,
    fromFlag: 500,
  },
  {
    flag: '--http-status',
    env: 'NETREADY_HTTP_STATUS',
    envValue: '200-299',
    flagValue: 'any',
    pick: (c) => c.httpStatus,
    fromEnv: [[200, 299]],
    fromFlag: null,
  },
  {
    flag: '--dns-server',
    env: 'NETREADY_DNS_SERVERS',
    envValue: '10.96.0.10, 10.96.0.11',
    flagValue: '192.0.2.53',
    pick: (c) => c.dnsServers,
    fromEnv: ['10.96.0.10', '10.96.0.11'],
    fromFlag: ['192.0.2.53'],
  },
  {
    flag: '--collector',
    env: 'NETREADY_COLLECTOR_URL',
    envValue: 'http://collector.netready:8080',
    flagValue: 'http://127.0.0.1:9000',
    pick: (c) => c.collectorUrl,
    fromEnv: 'http://collector.netready:8080',
    fromFlag: 'http://127.0.0.1:9000',
  },
  {
    flag: '--report-budget',
    env: 'NETREADY_REPORT_BUDGET',
    envValue: '2s',
    flagValue: '250ms',
    pick: (c) => c.reportBudgetMs,
    fromEnv: 2000,
    fromFlag: 250,
  },
  {
    flag: '--termination-log',
    env: 'NETREADY_TERMINATION_LOG',
    envValue: '/var/log/netready',
    flagValue: '',
    pick: (c) => c.terminationLog,
    fromEnv: '/var/log/netready',
    fromFlag: null,
  },
  {
    flag: '--log-level',
    env: 'NETREADY_LOG_LEVEL',
    envValue: 'warn',
    flagValue: 'debug',
    pick: (c) => c.logLevel,
    fromEnv: 'warn',
    fromFlag: 'debug',
  },
  {
    flag: '--check',
    env: 'NETREADY_CHECKS',
    envValue: 'gateway',
    flagValue: 'dns',
    pick: (c) => c.checks.map((k) => k.spec),
    fromEnv: ['gateway'],
    fromFlag: ['dns'],
  },
];

for (const row of FLAG_VS_ENV) {
  test(`${row.env} sets the option and ${row.flag} wins over it`, () => {
    const env = { ...POD_ENV, [row.env]: row.envValue };
    assert.deepEqual(row.pick(parseWaitConfig([], env)), row.fromEnv);
    assert.deepEqual(row.pick(parseWaitConfig([row.flag, row.flagValue], env)), row.fromFlag);
  });
}

test('a bad env value is not looked at when the flag is given', () => {
  const c = parseWaitConfig(['--timeout', '10s'], { ...POD_ENV, NETREADY_TIMEOUT: 'forever' });
  assert.equal(c.timeoutMs, 10_000);
});

const CHECK_ENV: { value: string; specs: string[] }[] = [
  { value: 'gateway,dns', specs: ['gateway', 'dns'] },
  { value: 'gateway dns kubernetes', specs: ['gateway', 'dns', 'kubernetes'] },
  {
    value: ' gateway,  dns:example.com ,tcp://10.96.0.10:53\n',
    specs: ['gateway', 'dns:example.com', 'tcp://10.96.0.10:53'],
  },
  { value: 'gateway,,dns', specs: ['gateway', 'dns'] },
  // Empty counts as unset: the default set.
  { value: '', specs: ['gateway', 'dns', 'kubernetes'] },
];

for (const { value, specs } of CHECK_ENV) {
  test(`NETREADY_CHECKS=${JSON.stringify(value)}`, () => {
    const c = parseWaitConfig([], { ...POD_ENV, NETREADY_CHECKS: value });
    assert.deepEqual(
      c.checks.map((k) => k.spec),
      specs,
    );
  });
}

const DEFAULT_CHECKS: { name: string; env: Env; want: unknown[] }[] = [
  {
    name: 'no service env',
    env: {},
    want: [
      { kind: 'gateway', spec: 'gateway' },
      { kind: 'dns', spec: 'dns', name: null },
    ],
  },
  {
    name: 'service env set',
    env: { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' },
    want: [
      { kind: 'gateway', spec: 'gateway' },
      { kind: 'dns', spec: 'dns', name: null },
      { kind: 'tcp', spec: 'kubernetes', host: '10.96.0.1', port: 443 },
    ],
  },
  {
    name: 'host without port',
    env: { KUBERNETES_SERVICE_HOST: '10.96.0.1' },
    want: [
      { kind: 'gateway', spec: 'gateway' },
      { kind: 'dns', spec: 'dns', name: null },
    ],
  },
  {
    name: 'port without host',
    env: { KUBERNETES_SERVICE_PORT: '443' },
    want: [
      { kind: 'gateway', spec: 'gateway' },
      { kind: 'dns', spec: 'dns', name: null },
    ],
  },
  {
    name: 'empty host',
    env: { KUBERNETES_SERVICE_HOST: '', KUBERNETES_SERVICE_PORT: '443' },
    want: [
      { kind: 'gateway', spec: 'gateway' },
      { kind: 'dns', spec: 'dns', name: null },
    ],
  },
  {
    name: 'IPv6 single-stack service host',
    env: { KUBERNETES_SERVICE_HOST: 'fd00:10:96::1', KUBERNETES_SERVICE_PORT: '443' },
    want: [
      { kind: 'gateway', spec: 'gateway' },
      { kind: 'dns', spec: 'dns', name: null },
      { kind: 'tcp', spec: 'kubernetes', host: 'fd00:10:96::1', port: 443 },
    ],
  },
];

for (const { name, env, want } of DEFAULT_CHECKS) {
  test(`default checks: ${name}`, () => {
    assert.deepEqual(parseWaitConfig([], env).checks, want);
  });
}

test('--check kubernetes without the service env is a config error', () => {
  const err = configError(['--check', 'kubernetes'], {});
  assert.equal(err.code, 'ERR_CONFIG');
  assert.match(err.message, /^--check "kubernetes": .*KUBERNETES_SERVICE_HOST/);
});

// Every bad input: the error names the option as the user gave it (flag or env) and quotes the value.
const BAD: { name: string; argv: string[]; env?: Env; mentions: string[] }[] = [
  { name: 'unknown flag', argv: ['--timout', '5m'], mentions: ['--timout'] },
  { name: 'missing flag value', argv: ['--timeout'], mentions: ['--timeout'] },
  { name: 'flag value that looks like a flag', argv: ['--interval', '--timeout', '5m'], mentions: ['--interval'] },
  { name: 'positional argument', argv: ['gateway'], mentions: ['gateway'] },
  { name: 'value to a boolean flag', argv: ['--dry-run=yes'], mentions: ['--dry-run'] },
  { name: 'bad --timeout', argv: ['--timeout', '5 minutes'], mentions: ['--timeout', '"5 minutes"'] },
  { name: 'negative --timeout', argv: ['--timeout=-1s'], mentions: ['--timeout', '"-1s"'] },
  { name: 'unitless --timeout', argv: ['--timeout', '300'], mentions: ['--timeout', '"300"'] },
  {
    name: 'bad NETREADY_TIMEOUT',
    argv: [],
    env: { NETREADY_TIMEOUT: '5mins' },
    mentions: ['NETREADY_TIMEOUT', '"5mins"'],
  },
  { name: 'bad --on-timeout', argv: ['--on-timeout', 'ignore'], mentions: ['--on-timeout', '"ignore"'] },
  {
    name: 'bad NETREADY_ON_TIMEOUT',
    argv: [],
    env: { NETREADY_ON_TIMEOUT: 'Continue' },
    mentions: ['NETREADY_ON_TIMEOUT', '"Continue"'],
  },
  { name: '--interval 0', argv: ['--interval', '0'], mentions: ['--interval', '"0"'] },
  { name: '--interval above 10 s', argv: ['--interval', '11s'], mentions: ['--interval', '"11s"'] },
  {
    name: '--attempt-timeout above 10 m',
    argv: ['--attempt-timeout', '11m'],
    mentions: ['--attempt-timeout', '"11m"'],
  },
  { name: '--max-in-flight 0', argv: ['--max-in-flight', '0'], mentions: ['--max-in-flight', '"0"'] },
  { name: '--max-in-flight 1025', argv: ['--max-in-flight', '1025'], mentions: ['--max-in-flight', '"1025"'] },
  { name: '--max-in-flight 1.5', argv: ['--max-in-flight', '1.5'], mentions: ['--max-in-flight', '"1.5"'] },
  {
    name: 'bad NETREADY_MAX_IN_FLIGHT',
    argv: [],
    env: { NETREADY_MAX_IN_FLIGHT: 'lots' },
    mentions: ['NETREADY_MAX_IN_FLIGHT', '"lots"'],
  },
  { name: '--settle above 10 m', argv: ['--settle', '1h'], mentions: ['--settle', '"1h"'] },
  { name: 'bad --http-status', argv: ['--http-status', '2xx'], mentions: ['--http-status', '"2xx"'] },
  {
    name: 'reversed --http-status',
    argv: ['--http-status', '399-200'],
    mentions: ['--http-status', '"399-200"', 'reversed'],
  },
  { name: '--http-status 600', argv: ['--http-status', '200,600'], mentions: ['--http-status', '"200,600"'] },
  { name: 'empty --http-status', argv: ['--http-status', ''], mentions: ['--http-status', '""'] },
  {
    name: 'bad NETREADY_HTTP_STATUS',
    argv: [],
    env: { NETREADY_HTTP_STATUS: 'ok' },
    mentions: ['NETREADY_HTTP_STATUS', '"ok"'],
  },
  {
    name: 'name as --dns-server',
    argv: ['--dns-server', 'kube-dns.kube-system'],
    mentions: ['--dns-server', '"kube-dns.kube-system"'],
  },
  { name: '--dns-server port 0', argv: ['--dns-server', '10.96.0.10:0'], mentions: ['--dns-server', '"10.96.0.10:0"'] },
  {
    name: '--dns-server port 65536',
    argv: ['--dns-server', '10.96.0.10:65536'],
    mentions: ['--dns-server', '"10.96.0.10:65536"'],
  },
  {
    name: '--dns-server empty port',
    argv: ['--dns-server', '10.96.0.10:'],
    mentions: ['--dns-server', '"10.96.0.10:"'],
  },
  {
    name: 'second --dns-server bad',
    argv: ['--dns-server', '10.96.0.10', '--dns-server', '[2001:db8::zz]:53'],
    mentions: ['--dns-server', '"[2001:db8::zz]:53"'],
  },
  {
    name: 'bad entry in NETREADY_DNS_SERVERS',
    argv: [],
    env: { NETREADY_DNS_SERVERS: '10.96.0.10,dns.local' },
    mentions: ['NETREADY_DNS_SERVERS', '"dns.local"'],
  },
  {
    name: 'ftp --collector',
    argv: ['--collector', 'ftp://collector.example.com'],
    mentions: ['--collector', '"ftp://collector.example.com"'],
  },
  {
    name: 'not a URL --collector',
    argv: ['--collector', 'collector:8080'],
    mentions: ['--collector', '"collector:8080"'],
  },
  {
    name: '--collector with a query',
    argv: ['--collector', 'http://collector:8080/?token=x'],
    mentions: ['--collector', '"http://collector:8080/?token=x"'],
  },
  {
    name: 'bad NETREADY_COLLECTOR_URL',
    argv: [],
    env: { NETREADY_COLLECTOR_URL: 'http//collector' },
    mentions: ['NETREADY_COLLECTOR_URL', '"http//collector"'],
  },
  { name: '--report-budget 0', argv: ['--report-budget', '0'], mentions: ['--report-budget', '"0"'] },
  { name: 'bad --log-level', argv: ['--log-level', 'trace'], mentions: ['--log-level', '"trace"'] },
  { name: 'bad check spec', argv: ['--check', 'icmp://10.0.0.1'], mentions: ['--check', '"icmp://10.0.0.1"'] },
  {
    name: 'bad second check spec',
    argv: ['--check', 'gateway', '--check', 'tcp://10.96.0.10'],
    mentions: ['--check', '"tcp://10.96.0.10"'],
  },
  {
    name: 'bad check in NETREADY_CHECKS',
    argv: [],
    env: { NETREADY_CHECKS: 'gateway,dns:bad..name' },
    mentions: ['NETREADY_CHECKS', '"dns:bad..name"'],
  },
  {
    name: 'bad NETREADY_POD_IPS',
    argv: [],
    env: { NETREADY_POD_IPS: '10.244.1.17,10.244.1.300' },
    mentions: ['NETREADY_POD_IPS', '10.244.1.300'],
  },
  {
    name: 'bad NETREADY_ADMITTED_AT',
    argv: [],
    env: { NETREADY_ADMITTED_AT: '2025-11-25 13:02:11' },
    mentions: ['NETREADY_ADMITTED_AT', '"2025-11-25 13:02:11"'],
  },
  {
    name: 'NETREADY_ADMITTED_AT without a zone',
    argv: [],
    env: { NETREADY_ADMITTED_AT: 'yesterday' },
    mentions: ['NETREADY_ADMITTED_AT', '"yesterday"'],
  },
];

for (const { name, argv, env, mentions } of BAD) {
  test(`ERR_CONFIG: ${name}`, () => {
    const err = configError(argv, env ?? {});
    assert.equal(err.code, 'ERR_CONFIG');
    for (const m of mentions)
      assert.ok(err.message.includes(m), `message ${JSON.stringify(err.message)} should mention ${m}`);
  });
}

test('parseArgs hints about "--" are dropped from the message', () => {
  const err = configError(['--interval', '--timeout', '5m'], {});
  assert.doesNotMatch(err.message, /To specify/);
});

test('--dns-server with two ports is rejected', () => {
  const err = configError(['--dns-server', '192.0.2.10:53:99'], {});
  assert.equal(err.code, 'ERR_CONFIG');
});

test('NETREADY_TERMINATION_LOG="" disables the termination log, as --termination-log "" does', () => {
  assert.equal(parseWaitConfig([], { NETREADY_TERMINATION_LOG: '' }).terminationLog, null);
});

test('--help throws HELP with the usage text, even next to other options', () => {
  for (const argv of [['--help'], ['--timeout', 'bogus', '--help']]) {
    const err = configError(argv, {});
    assert.equal(err.code, 'HELP');
    assert.match(err.message, /^Usage: netready wait \[options\]/);
    // Every option, with its env var, is listed.
    for (const s of [
      '--check SPEC',
      'NETREADY_CHECKS',
      '--timeout DURATION',
      'default 5m',
      '--dns-server ADDR[:PORT]',
      'NETREADY_POD_IPS',
    ]) {
      assert.ok(err.message.includes(s), `help should mention ${s}`);
    }
  }
});

test('the result is deeply frozen', () => {
  const c = parseWaitConfig(['--http-status', '200-399', '--dns-server', '10.96.0.10'], POD_ENV);
  for (const part of [
    c,
    c.checks,
    c.checks[0],
    c.checks[2],
    c.pod,
    c.pod.ips,
    c.httpStatus,
    c.httpStatus![0],
    c.dnsServers,
  ]) {
    assert.ok(Object.isFrozen(part), `${JSON.stringify(part)} should be frozen`);
  }
  // Module code is strict: writes to frozen objects throw.
  assert.throws(() => ((c as { timeoutMs: number }).timeoutMs = 1), TypeError);
  assert.throws(() => (c.pod.ips as string[]).push('10.0.0.1'), TypeError);
  assert.throws(() => ((c.checks[0] as { spec: string }).spec = 'dns'), TypeError);
  assert.equal(c.timeoutMs, 300_000);
});

test('the env object passed in is not modified', () => {
  const env = { ...POD_ENV, NETREADY_CHECKS: 'gateway dns' };
  const before = { ...env };
  parseWaitConfig(['--timeout', '1m'], env);
  assert.deepEqual(env, before);
});
