// The OTLP push's configuration: --otlp-endpoint / --otlp-interval, their
// NETREADY_COLLECTOR_* variables and the standard OTEL_* ones, precedence, and
// every bad value failing with the name of the option or variable it came from.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCollectorConfig } from '../../src/collector/config.ts';
import { CodedError } from '../../src/lib/errors.ts';
import { run } from '../helpers/agent.ts';

const noFiles = (path: string): string => {
  throw new Error(`no file ${path}`);
};
const otlpOf = (argv: string[], env: Record<string, string> = {}) => parseCollectorConfig(argv, env, noFiles).otlp;

test('OTLP configuration: flags over NETREADY_ variables over the OTEL_ ones; off unless one is set', () => {
  assert.equal(otlpOf([]), null);
  assert.equal(otlpOf(['--otlp-interval', '5s']), null, 'an interval alone pushes nothing');
  const cases: [
    string[],
    Record<string, string>,
    { endpoint: string; intervalMs: number; timeoutMs: number } | null,
  ][] = [
    [
      ['--otlp-endpoint', 'http://otel:4318'],
      {},
      { endpoint: 'http://otel:4318/v1/metrics', intervalMs: 15_000, timeoutMs: 10_000 },
    ],
    [
      ['--otlp-endpoint', 'https://otel.example:4318/prefix/'],
      {},
      { endpoint: 'https://otel.example:4318/prefix/v1/metrics', intervalMs: 15_000, timeoutMs: 10_000 },
    ],
    [
      ['--otlp-endpoint', 'http://otel:4318/v1/metrics'],
      {},
      { endpoint: 'http://otel:4318/v1/metrics', intervalMs: 15_000, timeoutMs: 10_000 },
    ],
    [
      [],
      { NETREADY_COLLECTOR_OTLP_ENDPOINT: 'http://[::1]:4318', NETREADY_COLLECTOR_OTLP_INTERVAL: '500ms' },
      { endpoint: 'http://[::1]:4318/v1/metrics', intervalMs: 500, timeoutMs: 500 },
    ],
    [
      [],
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel:4318' },
      { endpoint: 'http://otel:4318/v1/metrics', intervalMs: 15_000, timeoutMs: 10_000 },
    ],
    // The signal-specific variable is used as is, and wins over the generic one.
    [
      [],
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://b:4318/custom' },
      { endpoint: 'http://b:4318/custom', intervalMs: 15_000, timeoutMs: 10_000 },
    ],
    [
      ['--otlp-endpoint', 'http://flag:1'],
      { NETREADY_COLLECTOR_OTLP_ENDPOINT: 'http://env:1', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel:1' },
      { endpoint: 'http://flag:1/v1/metrics', intervalMs: 15_000, timeoutMs: 10_000 },
    ],
    [
      [],
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel:4318',
        OTEL_METRIC_EXPORT_INTERVAL: '30000',
        OTEL_EXPORTER_OTLP_TIMEOUT: '20000',
      },
      { endpoint: 'http://otel:4318/v1/metrics', intervalMs: 30_000, timeoutMs: 20_000 },
    ],
    [
      ['--otlp-interval', '2s'],
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel:4318', OTEL_METRIC_EXPORT_INTERVAL: '30000' },
      { endpoint: 'http://otel:4318/v1/metrics', intervalMs: 2_000, timeoutMs: 2_000 },
    ],
    // Empty: off, whatever the OTEL_ variables say; an empty OTEL_ variable counts as unset.
    [['--otlp-endpoint', ''], { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel:4318' }, null],
    [[], { NETREADY_COLLECTOR_OTLP_ENDPOINT: '', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel:4318' }, null],
    [[], { OTEL_EXPORTER_OTLP_ENDPOINT: '' }, null],
  ];
  for (const [argv, env, expected] of cases)
    assert.deepEqual(otlpOf(argv, env), expected, `${JSON.stringify(argv)} ${JSON.stringify(env)}`);
});

const BAD: { argv: string[]; env?: Record<string, string>; message: RegExp }[] = [
  {
    argv: ['--otlp-endpoint', 'otel:4318'],
    message: /^--otlp-endpoint "otel:4318": expected an http:\/\/ or https:\/\/ URL/,
  },
  { argv: ['--otlp-endpoint', 'not a url'], message: /^--otlp-endpoint "not a url": expected an http/ },
  {
    argv: ['--otlp-endpoint', 'grpc://otel:4317'],
    message: /^--otlp-endpoint "grpc:\/\/otel:4317": expected an http:\/\/ or https:\/\/ URL \(OTLP\/HTTP\), not grpc:/,
  },
  {
    argv: ['--otlp-endpoint', 'https://user:secret@otel:4318'],
    message: /^--otlp-endpoint ".*": credentials in the URL are not accepted; set OTEL_EXPORTER_OTLP_HEADERS/,
  },
  {
    argv: [],
    env: { NETREADY_COLLECTOR_OTLP_ENDPOINT: 'ftp://otel' },
    message: /^NETREADY_COLLECTOR_OTLP_ENDPOINT "ftp:\/\/otel"/,
  },
  { argv: [], env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'otel:4318' }, message: /^OTEL_EXPORTER_OTLP_ENDPOINT "otel:4318"/ },
  {
    argv: [],
    env: { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'localhost' },
    message: /^OTEL_EXPORTER_OTLP_METRICS_ENDPOINT "localhost"/,
  },
  { argv: ['--otlp-interval', '0'], message: /^--otlp-interval "0": expected a duration from 1ms to 1h/ },
  { argv: ['--otlp-interval', 'often'], message: /^--otlp-interval "often"/ },
  { argv: ['--otlp-interval', '2h'], message: /^--otlp-interval "2h"/ },
  { argv: [], env: { NETREADY_COLLECTOR_OTLP_INTERVAL: '-1s' }, message: /^NETREADY_COLLECTOR_OTLP_INTERVAL "-1s"/ },
  {
    argv: ['--otlp-endpoint', 'http://otel:4318'],
    env: { OTEL_METRIC_EXPORT_INTERVAL: '15s' },
    message: /^OTEL_METRIC_EXPORT_INTERVAL "15s": expected whole milliseconds/,
  },
  {
    argv: ['--otlp-endpoint', 'http://otel:4318'],
    env: { OTEL_EXPORTER_OTLP_TIMEOUT: '0' },
    message: /^OTEL_EXPORTER_OTLP_TIMEOUT "0"/,
  },
];

for (const { argv, env, message } of BAD) {
  test(`OTLP configuration rejected: ${JSON.stringify(argv)} ${env ? JSON.stringify(env) : ''}`, () => {
    assert.throws(
      () => parseCollectorConfig(argv, env ?? {}, noFiles),
      (err: unknown) => err instanceof CodedError && err.code === 'ERR_CONFIG' && message.test(err.message),
    );
  });
}

test('the CLI: a bad OTLP endpoint exits 2 naming the option; --dry-run shows the push', async () => {
  const bad = await run(['collector', '--db', ':memory:', '--otlp-endpoint', 'otel-collector:4318']);
  assert.equal(bad.code, 2);
  assert.match(
    bad.stderr,
    /^netready collector: --otlp-endpoint "otel-collector:4318": expected an http:\/\/ or https:\/\/ URL/,
  );
  const dry = await run(['collector', '--dry-run', '--db', ':memory:'], {
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_METRIC_EXPORT_INTERVAL: '5000' },
  });
  assert.equal(dry.code, 0, dry.stderr);
  assert.deepEqual(JSON.parse(dry.stdout).otlp, {
    endpoint: 'http://127.0.0.1:4318/v1/metrics',
    intervalMs: 5000,
    timeoutMs: 5000,
  });
});
