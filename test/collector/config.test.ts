// `netready collector` configuration: defaults, flags over environment, and a
// bad value of every option failing with the option's name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCollectorConfig, parseRetention } from '../../src/collector/config.ts';
import { COLLECTOR_OPTIONS } from '../../src/collector/options.ts';
import { CodedError } from '../../src/lib/errors.ts';
import { parseListenAddress } from '../../src/lib/listen.ts';
import { run } from '../helpers/agent.ts';
import { tempDir } from './helpers.ts';

const noFiles = (path: string): string => {
  throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
};

test('defaults: 0.0.0.0:9470, store under /var/lib/netready, 7 days or 500,000 reports, no token, 1000 values per label', () => {
  const c = parseCollectorConfig([], {}, noFiles);
  assert.deepEqual(c, {
    listen: { host: '0.0.0.0', port: 9470 },
    db: '/var/lib/netready/reports.db',
    dbPassword: null,
    dbPasswordFile: null,
    retentionAgeMs: 7 * 86_400_000,
    retentionRows: 500_000,
    token: null,
    tokenFile: null,
    reads: 'open',
    maxLabelValues: 1000,
    maxConnections: 1000,
    otlp: null,
    logLevel: 'info',
    dryRun: false,
  });
  assert.equal(Object.isFrozen(c), true);
  assert.equal(Object.isFrozen(c.listen), true);
});

test('flags win over environment variables; every option has a variable', () => {
  const env = {
    NETREADY_COLLECTOR_LISTEN: '[::]:9000',
    NETREADY_COLLECTOR_DATA_DIR: '/data',
    NETREADY_COLLECTOR_RETENTION_AGE: '12h',
    NETREADY_COLLECTOR_RETENTION_ROWS: '10',
    NETREADY_COLLECTOR_MAX_LABEL_VALUES: '5',
    NETREADY_COLLECTOR_LOG_LEVEL: 'debug',
  };
  const fromEnv = parseCollectorConfig([], env, noFiles);
  assert.deepEqual(fromEnv.listen, { host: '::', port: 9000 });
  assert.equal(fromEnv.db, '/data/reports.db');
  assert.equal(fromEnv.retentionAgeMs, 12 * 3_600_000);
  assert.equal(fromEnv.retentionRows, 10);
  assert.equal(fromEnv.maxLabelValues, 5);
  assert.equal(fromEnv.logLevel, 'debug');
  const fromFlags = parseCollectorConfig(
    ['--listen', '127.0.0.1:1', '--db=:memory:', '--retention-age', '0', '--retention-rows', '20'],
    env,
    noFiles,
  );
  assert.deepEqual(fromFlags.listen, { host: '127.0.0.1', port: 1 });
  assert.equal(fromFlags.db, ':memory:');
  assert.equal(fromFlags.retentionAgeMs, 0);
  assert.equal(fromFlags.retentionRows, 20);
  for (const [name, def] of Object.entries(COLLECTOR_OPTIONS)) {
    if (!('type' in def))
      assert.match((def as { env?: string }).env ?? '', /^NETREADY_COLLECTOR_[A-Z_]+$/, `--${name}`);
  }
});

test('the token file: trimmed content; unreadable or blank files are configuration errors naming the option', (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'token');
  writeFileSync(file, 's3cr3t-token\n');
  assert.equal(parseCollectorConfig(['--token-file', file], {}).token, 's3cr3t-token');
  assert.equal(parseCollectorConfig([], { NETREADY_COLLECTOR_TOKEN_FILE: file }).token, 's3cr3t-token');
  writeFileSync(file, 'two words\n');
  assert.throws(
    () => parseCollectorConfig([], { NETREADY_COLLECTOR_TOKEN_FILE: file }),
    /^CodedError: NETREADY_COLLECTOR_TOKEN_FILE ".*token": the token must be/,
  );
  writeFileSync(file, '\n');
  assert.throws(() => parseCollectorConfig(['--token-file', file], {}), /--token-file ".*token": the file is empty/);
  assert.throws(
    () => parseCollectorConfig(['--token-file', join(dir, 'missing')], {}),
    /--token-file ".*missing": cannot read it \(ENOENT\)/,
  );
});

const BAD: { argv: string[]; env?: Record<string, string>; message: RegExp }[] = [
  { argv: ['--listen', '9470'], message: /^--listen "9470": expected HOST:PORT/ },
  { argv: ['--listen', '::1:9470'], message: /^--listen "::1:9470": expected HOST:PORT/ },
  { argv: ['--listen', '[::1]:70000'], message: /^--listen "\[::1\]:70000": port must be 0-65535/ },
  { argv: ['--listen', '[10.0.0.1]:9470'], message: /not an IPv6 address/ },
  {
    argv: ['--listen', '300.1.1.1:9470'],
    message: /--listen "300.1.1.1:9470": "300.1.1.1" is not an IPv4 address or a host name/,
  },
  { argv: [], env: { NETREADY_COLLECTOR_LISTEN: 'nope' }, message: /^NETREADY_COLLECTOR_LISTEN "nope"/ },
  { argv: ['--db', ''], message: /^--db "": must not be empty/ },
  { argv: ['--data-dir='], message: /^--data-dir "": must not be empty/ },
  { argv: ['--retention-age', 'a week'], message: /^--retention-age "a week": expected a duration/ },
  { argv: ['--retention-age', '7days'], message: /^--retention-age "7days"/ },
  { argv: ['--retention-rows', '0'], message: /^--retention-rows "0": expected a whole number from 1/ },
  { argv: ['--retention-rows', '1e6'], message: /^--retention-rows "1e6"/ },
  { argv: ['--max-label-values', '-1'], message: /--max-label-values/ },
  { argv: ['--max-label-values', '100001'], message: /^--max-label-values "100001"/ },
  { argv: ['--reads', 'closed'], message: /^--reads "closed": expected open or token/ },
  { argv: ['--reads', 'token'], message: /^--reads "token": needs --token-file/ },
  {
    argv: [],
    env: { NETREADY_COLLECTOR_READS: 'token' },
    message: /^NETREADY_COLLECTOR_READS "token": needs --token-file/,
  },
  { argv: ['--max-connections', '0'], message: /^--max-connections "0": expected a whole number from 1 to 100000/ },
  { argv: ['--log-level', 'trace'], message: /^--log-level "trace": expected debug, info, warn or error/ },
  { argv: ['--no-such-flag'], message: /--no-such-flag/ },
  { argv: ['--listen'], message: /--listen/ },
  { argv: ['--dry-run=yes'], message: /--dry-run/ },
  { argv: ['extra'], message: /extra/ },
];

for (const { argv, env, message } of BAD) {
  test(`rejected: ${JSON.stringify(argv)} ${env ? JSON.stringify(env) : ''}`, () => {
    assert.throws(
      () => parseCollectorConfig(argv, env ?? {}, noFiles),
      (err: unknown) => err instanceof CodedError && err.code === 'ERR_CONFIG' && message.test(err.message),
    );
  });
}

test('--listen forms: IPv4, bracketed IPv6, host names, port 0', () => {
  const ok: [string, string, number][] = [
    ['0.0.0.0:9470', '0.0.0.0', 9470],
    ['[::]:9470', '::', 9470],
    ['[2001:db8::1]:80', '2001:db8::1', 80],
    ['localhost:0', 'localhost', 0],
    ['netready-collector.netready-system.svc:9470', 'netready-collector.netready-system.svc', 9470],
  ];
  for (const [text, host, port] of ok)
    assert.deepEqual(parseListenAddress(text), { ok: true, value: { host, port } }, text);
  for (const text of ['', ':9470', '[::1]', '[::1]9470', 'host:', 'a b:1', '[]:1'])
    assert.equal(parseListenAddress(text).ok, false, text);
});

test('retention durations count in days too', () => {
  assert.equal(parseRetention('7d'), 7 * 86_400_000);
  assert.equal(parseRetention('1d12h'), 36 * 3_600_000);
  assert.equal(parseRetention('90m'), 5_400_000);
  assert.equal(parseRetention('0'), 0);
  assert.equal(parseRetention('d'), null);
  assert.equal(parseRetention('1dx'), null);
});

test('the CLI: exit 2 naming the option, --help and --dry-run exit 0 with the token redacted', async (t) => {
  const bad = await run(['collector', '--retention-rows', 'lots']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^netready collector: --retention-rows "lots": expected a whole number/);
  const help = await run(['collector', '--help']);
  assert.equal(help.code, 0);
  for (const name of Object.keys(COLLECTOR_OPTIONS)) assert.match(help.stdout, new RegExp(`--${name}\\b`));
  const dir = tempDir(t);
  writeFileSync(join(dir, 'token'), 'hunter2');
  const dry = await run(['collector', '--dry-run', '--db', ':memory:'], {
    env: { NETREADY_COLLECTOR_TOKEN_FILE: join(dir, 'token') },
  });
  assert.equal(dry.code, 0, dry.stderr);
  const shown = JSON.parse(dry.stdout);
  assert.equal(shown.token, '(redacted)');
  assert.equal(dry.stdout.includes('hunter2'), false);
  assert.equal(shown.db, ':memory:');
  // A PostgreSQL password, in the URL or in its file, is never shown.
  writeFileSync(join(dir, 'pw'), 's3cret-file\n');
  const pg = await run([
    'collector',
    '--dry-run',
    '--db',
    'postgres://u:s3cret-url@db.example:5432/netready',
    '--db-password-file',
    join(dir, 'pw'),
  ]);
  assert.equal(pg.code, 0, pg.stderr);
  assert.equal(JSON.parse(pg.stdout).db, 'postgres://u:***@db.example:5432/netready');
  assert.equal(JSON.parse(pg.stdout).dbPassword, '(redacted)');
  assert.doesNotMatch(pg.stdout, /s3cret/);
  const badUrl = await run(['collector', '--db', 'postgres://u:s3cret@[bad', '--dry-run']);
  assert.equal(badUrl.code, 2);
  assert.doesNotMatch(badUrl.stderr, /s3cret/);
});
