// The real agent against real loopback servers: it waits for what is not there
// yet, passes on the answer each check asks for, and reports what it measured.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { reportSchema, type Report } from '../src/lib/report.ts';
import { logLineSeen, runWait } from './helpers/agent.ts';
import { freePort, startCollectorStub, startDnsServer, startHttpServer, startTcpListener } from './helpers/servers.ts';

const readyLine = (logs: Array<Record<string, any>>) => logs.find((l) => l.msg?.startsWith('network ready'));

test('a listener that starts late: exit 0 and the reported delay covers the wait', async (t) => {
  const collector = await startCollectorStub();
  const port = await freePort();
  let listenedAt = 0;
  let listener: Awaited<ReturnType<typeof startTcpListener>> | undefined;
  t.after(async () => {
    await collector.close();
    await listener?.close();
  });
  const dir = mkdtempSync(join(tmpdir(), 'netready-'));
  let waiting!: Promise<void>;
  const agent = runWait(
    [
      '--check',
      `tcp://127.0.0.1:${port}`,
      '--collector',
      collector.url,
      '--termination-log',
      join(dir, 'termination-log'),
    ],
    {
      env: {
        NETREADY_POD_NAME: 'web-7d4f9',
        NETREADY_POD_NAMESPACE: 'shop',
        NETREADY_POD_UID: '0c2f7a9e-1b7c-4f4e-9a57-8d1c2b3a4f5e',
        NETREADY_NODE_NAME: 'node-a',
        NETREADY_POD_IPS: '198.51.100.7',
      },
      onSpawn: (child) => (waiting = logLineSeen(child, 'waiting for the pod network')),
    },
  );
  // From the agent's first look, not its spawn: a from-source start-up on a busy machine can take
  // longer than the 1.5 s, and a listener already up at the first look is a 0 s wait.
  await waiting;
  await sleep(1500);
  listener = await startTcpListener(port);
  listenedAt = Date.now();
  const r = await agent;

  assert.equal(r.code, 0, r.stderr);
  assert.equal(collector.reports.length, 1);
  const report: Report = reportSchema.parse(collector.reports[0]);
  assert.equal(report.outcome, 'ready');
  assert.deepEqual(report.pod, {
    name: 'web-7d4f9',
    namespace: 'shop',
    uid: '0c2f7a9e-1b7c-4f4e-9a57-8d1c2b3a4f5e',
    node: 'node-a',
    ips: ['198.51.100.7'],
  });
  const readyAt = Date.parse(report.readyAt!);
  // Ground truth: the listener came up at listenedAt. The estimate may sit up
  // to half an attempt interval before it; generous bounds, this is no benchmark.
  assert.ok(
    readyAt >= listenedAt - 100 && readyAt <= listenedAt + 1000,
    `readyAt ${readyAt - listenedAt} ms from the listener start`,
  );
  assert.ok(report.delaySeconds >= 1.4, `delay ${report.delaySeconds} covers the 1.5 s wait`);
  assert.equal(Date.parse(report.startedAt) + report.delaySeconds * 1000, readyAt);
  const [check] = report.checks;
  assert.equal(check!.ok, true);
  assert.ok(check!.attempts > 10, `staggered attempts: ${check!.attempts}`);
  assert.ok(check!.errors.refused! > 0, 'refusals counted');
  assert.ok(listener.accepted >= 1);
  assert.match(
    readFileSync(join(dir, 'termination-log'), 'utf8'),
    /^network ready after \d+\.\d{3} s \(tcp:\/\/127\.0\.0\.1:\d+ \d+\.\d{3} s\)\n$/,
  );
  assert.ok(readyLine(r.logs), 'a ready log line');
});

test('a listener that never starts: exit 1 at the deadline, naming the check and its error', async (t) => {
  const collector = await startCollectorStub();
  t.after(() => collector.close());
  const port = await freePort();
  // --timeout counts from the process start: 3 s leaves a slow start-up from source time for attempts to come back.
  const r = await runWait(['--check', `tcp://127.0.0.1:${port}`, '--timeout', '3s', '--collector', collector.url]);
  assert.equal(r.code, 1);
  const failure = r.logs.find((l) => l.level === 'error');
  assert.match(failure?.msg, new RegExp(`never passed: tcp://127.0.0.1:${port} \\(refused\\)`));
  assert.equal(failure?.failing[0].error, 'refused');
  const elapsed = r.exitedAt - r.spawnedAt;
  assert.ok(elapsed >= 3000 && elapsed < 7000, `exited after ${elapsed} ms`);
  const report = reportSchema.parse(collector.reports[0]);
  assert.equal(report.outcome, 'timeout');
  assert.equal(report.readyAt, null);
  assert.equal(report.checks[0]!.ok, false);
  assert.ok(report.delaySeconds >= 3);
});

test('--on-timeout continue: exit 0 at the deadline, outcome still reported as timeout', async (t) => {
  const collector = await startCollectorStub();
  t.after(() => collector.close());
  const port = await freePort();
  const r = await runWait([
    '--check',
    `tcp://127.0.0.1:${port}`,
    '--timeout',
    '500ms',
    '--on-timeout',
    'continue',
    '--collector',
    collector.url,
  ]);
  assert.equal(r.code, 0);
  assert.equal(reportSchema.parse(collector.reports[0]).outcome, 'timeout');
});

test('every check must pass, not any', async (t) => {
  const up = await startTcpListener();
  t.after(() => up.close());
  const down = await freePort();
  // --timeout counts from the process start: 3 s leaves a slow start-up from source time for attempts to come back.
  const r = await runWait([
    '--check',
    `tcp://127.0.0.1:${up.port}`,
    '--check',
    `tcp://127.0.0.1:${down}`,
    '--timeout',
    '3s',
  ]);
  assert.equal(r.code, 1);
  const failure = r.logs.find((l) => l.level === 'error');
  assert.deepEqual(
    failure?.failing.map((f: { spec: string }) => f.spec),
    [`tcp://127.0.0.1:${down}`],
  );
});

test('http: any response passes by default; --http-status narrows it', async (t) => {
  const unavailable = await startHttpServer(503);
  t.after(() => unavailable.close());
  const any = await runWait(['--check', unavailable.url]);
  assert.equal(any.code, 0);
  assert.equal(readyLine(any.logs)?.checks[0].kind, 'http');

  const strict = await runWait(['--check', unavailable.url, '--http-status', '200-399', '--timeout', '3s']);
  assert.equal(strict.code, 1);
  assert.equal(strict.logs.find((l) => l.level === 'error')?.failing[0].error, 'http_503');
  assert.ok(unavailable.requests > 2, 'each attempt sent a request');
});

test('dns: an answer passes; NXDOMAIN and SERVFAIL fail with their class', async (t) => {
  const dns = await startDnsServer({ 'api.example.test': '203.0.113.10' });
  const broken = await startDnsServer({}, 'servfail');
  t.after(async () => {
    await dns.close();
    await broken.close();
  });
  const ok = await runWait(['--check', 'dns:api.example.test.', '--dns-server', dns.server]);
  assert.equal(ok.code, 0, ok.stderr);

  const cases = [
    { server: dns.server, name: 'missing.example.test.', error: 'dns_nxdomain' },
    { server: broken.server, name: 'api.example.test.', error: 'dns_servfail' },
  ];
  for (const c of cases) {
    const r = await runWait(['--check', `dns:${c.name}`, '--dns-server', c.server, '--timeout', '3s']);
    assert.equal(r.code, 1);
    assert.equal(r.logs.find((l) => l.level === 'error')?.failing[0].error, c.error);
  }
});

test('tcp to a host name resolves it through the configured DNS server', async (t) => {
  const listener = await startTcpListener();
  const dns = await startDnsServer({ 'db.example.test': '127.0.0.1' });
  t.after(async () => {
    await listener.close();
    await dns.close();
  });
  const r = await runWait(['--check', `tcp://db.example.test.:${listener.port}`, '--dns-server', dns.server]);
  assert.equal(r.code, 0, JSON.stringify(r.logs.at(-1)));
  assert.ok(listener.accepted >= 1);
  assert.ok(dns.queries >= 1);
});

test('http to a host name resolves it through the configured DNS server', async (t) => {
  const server = await startHttpServer(204);
  const dns = await startDnsServer({ 'web.example.test': '127.0.0.1' });
  t.after(async () => {
    await server.close();
    await dns.close();
  });
  const url = server.url.replace('127.0.0.1', 'web.example.test.');
  const r = await runWait(['--check', url, '--dns-server', dns.server, '--http-status', '204']);
  assert.equal(r.code, 0, JSON.stringify(r.logs.at(-1)));
  assert.ok(server.requests >= 1);
});

test('https: a certificate the agent cannot verify fails the check with class tls', async (t) => {
  const { execFileSync } = await import('node:child_process');
  const { createServer } = await import('node:https');
  const dir = mkdtempSync(join(tmpdir(), 'netready-tls-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  const server = createServer(
    { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) },
    (_req, res) => res.end('ok'),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as { port: number }).port;
  const r = await runWait(['--check', `https://127.0.0.1:${port}/`, '--timeout', '3s']);
  assert.equal(r.code, 1);
  assert.equal(r.logs.find((l) => l.level === 'error')?.failing[0].error, 'tls');
});
