// The CLI's surface as a user meets it: help, version, dry-run, bad input -> exit 2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { run, runWait, ROOT } from './helpers/agent.ts';
import { startTcpListener } from './helpers/servers.ts';

const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8'));

test('version prints the package version', async () => {
  const r = await run(['version']);
  assert.equal(r.code, 0);
  assert.equal(r.stdout.trim(), pkg.version);
});

test('no command prints usage and exits 2; unknown command names it', async () => {
  const none = await run([]);
  assert.equal(none.code, 2);
  assert.match(none.stdout, /Usage: netready <command>/);
  const bad = await run(['frobnicate']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown command "frobnicate"/);
});

test('wait --help lists every option with its environment variable', async () => {
  const r = await run(['wait', '--help']);
  assert.equal(r.code, 0);
  for (const text of [
    '--check SPEC',
    'NETREADY_CHECKS',
    '--timeout DURATION',
    'NETREADY_COLLECTOR_URL',
    '--settle',
    '--dry-run',
  ]) {
    assert.ok(r.stdout.includes(text), `help mentions ${text}`);
  }
});

test('--dry-run prints the resolved configuration and probes nothing', async (t) => {
  const listener = await startTcpListener();
  t.after(() => listener.close());
  const r = await runWait(['--dry-run', '--check', `tcp://127.0.0.1:${listener.port}`, '--timeout', '90s'], {
    env: { NETREADY_ON_TIMEOUT: 'continue', NETREADY_POD_NAME: 'web-1', NETREADY_POD_IPS: '198.51.100.7,2001:db8::7' },
  });
  assert.equal(r.code, 0);
  const config = JSON.parse(r.stdout);
  assert.deepEqual(config.checks, [
    { kind: 'tcp', spec: `tcp://127.0.0.1:${listener.port}`, host: '127.0.0.1', port: listener.port },
  ]);
  assert.equal(config.timeoutMs, 90_000);
  assert.equal(config.onTimeout, 'continue');
  assert.deepEqual(config.pod.ips, ['198.51.100.7', '2001:db8::7']);
  assert.equal(config.pod.name, 'web-1');
  assert.equal(listener.accepted, 0);
});

test('bad configuration exits 2, names the option and the value, and probes nothing', async (t) => {
  const listener = await startTcpListener();
  t.after(() => listener.close());
  const target = `tcp://127.0.0.1:${listener.port}`;
  const cases: Array<{ args: string[]; env?: Record<string, string>; message: RegExp }> = [
    { args: ['--timeout', '5x'], message: /--timeout "5x": expected a duration/ },
    { args: ['--interval', '0'], message: /--interval "0": at least 1 ms/ },
    // 2^31 ms and more used to overflow Node's timer and fire after 1 ms (issue 13, defect 4).
    { args: ['--timeout', '600h'], message: /--timeout "600h": at most 24h/ },
    { args: ['--bogus'], message: /unknown option --bogus/ },
    { args: ['--timeout'], message: /--timeout needs a value/ },
    { args: ['extra'], message: /unexpected argument "extra"/ },
    { args: ['--check', 'tcp://nohost'], message: /--check "tcp:\/\/nohost": expected tcp:\/\/HOST:PORT/ },
    { args: ['--check', 'ftp://example.test'], message: /--check "ftp:\/\/example.test"/ },
    { args: ['--collector', 'not a url'], message: /--collector "not a url": expected an http/ },
    { args: ['--on-timeout', 'maybe'], message: /--on-timeout "maybe"/ },
    { args: ['--http-status', '200-1000'], message: /--http-status "200-1000"/ },
    { args: [], env: { NETREADY_TIMEOUT: 'soon' }, message: /NETREADY_TIMEOUT "soon"/ },
    { args: [], env: { NETREADY_ADMITTED_AT: 'yesterday' }, message: /NETREADY_ADMITTED_AT "yesterday"/ },
    {
      args: [],
      env: { NETREADY_POD_IPS: '198.51.100.7,banana' },
      message: /NETREADY_POD_IPS .*"banana" is not an IP address/,
    },
    { args: ['--check', 'kubernetes'], message: /"kubernetes" needs KUBERNETES_SERVICE_HOST/ },
  ];
  for (const c of cases) {
    const r = await runWait(['--check', target, ...c.args], { env: c.env ?? {} });
    assert.equal(r.code, 2, `${c.args.join(' ')} exits 2`);
    assert.match(r.stderr, c.message);
    assert.match(r.stderr, /^netready wait: /);
  }
  assert.equal(listener.accepted, 0, 'no probe ran');
});

test('flags win over environment variables', async () => {
  const r = await runWait(['--dry-run', '--timeout', '7s', '--check', 'dns:flag.example.'], {
    env: { NETREADY_TIMEOUT: '9s', NETREADY_CHECKS: 'gateway, dns' },
  });
  assert.equal(r.code, 0);
  const config = JSON.parse(r.stdout);
  assert.equal(config.timeoutMs, 7000);
  assert.deepEqual(
    config.checks.map((c: { spec: string }) => c.spec),
    ['dns:flag.example.'],
  );
});

test('default checks: gateway and dns, plus kubernetes when the service variables are set', async () => {
  const plain = JSON.parse((await runWait(['--dry-run'])).stdout);
  assert.deepEqual(
    plain.checks.map((c: { spec: string }) => c.spec),
    ['gateway', 'dns'],
  );
  const inCluster = JSON.parse(
    (await runWait(['--dry-run'], { env: { KUBERNETES_SERVICE_HOST: '2001:db8::1', KUBERNETES_SERVICE_PORT: '443' } }))
      .stdout,
  );
  assert.deepEqual(inCluster.checks.at(-1), { kind: 'tcp', spec: 'kubernetes', host: '2001:db8::1', port: 443 });
});
