// Report delivery never holds the pod back: a collector that is down, hangs or
// fails costs at most the report budget, and the exit code stays the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runWait } from './helpers/agent.ts';
import { freePort, startCollectorStub, startDnsServer, startTcpListener } from './helpers/servers.ts';

test('collector down, hanging or failing: exit code unchanged, within the report budget', async (t) => {
  const target = await startTcpListener();
  const hanging = await startCollectorStub('hang');
  const failing = await startCollectorStub('fail');
  t.after(async () => {
    await target.close();
    await hanging.close();
    await failing.close();
  });
  const down = `http://127.0.0.1:${await freePort()}`;
  const budgetMs = 800;
  for (const [name, url] of [
    ['down', down],
    ['hanging', hanging.url],
    ['failing', failing.url],
  ] as const) {
    const r = await runWait([
      '--check',
      `tcp://127.0.0.1:${target.port}`,
      '--collector',
      url,
      '--report-budget',
      `${budgetMs}ms`,
    ]);
    assert.equal(r.code, 0, `${name}: exit code`);
    const ready = r.logs.find((l) => l.msg?.startsWith('network ready'));
    const warning = r.logs.find((l) => l.msg?.startsWith('report not delivered'));
    assert.ok(warning, `${name}: warns`);
    assert.equal(warning.level, 'warn');
    assert.match(warning.error, /report budget of 800 ms used up|collector answered/);
    // From the ready line to the last line: the budget plus a generous margin for a loaded machine.
    const spent = Date.parse(warning.time) - Date.parse(ready!.time);
    assert.ok(spent <= budgetMs + 700, `${name}: report took ${spent} ms`);
  }
  assert.ok(failing.requests > 1, 'a 500 is retried');
  assert.equal(hanging.requests >= 1, true);
});

test('a slow collector gets the report once: a request written is not cut at its try and sent again', async (t) => {
  const target = await startTcpListener();
  // Answers after 700 ms: past a try's connect slice (a third of the 1.5 s budget), within the budget.
  const slow = await startCollectorStub('ok', 700);
  t.after(async () => {
    await target.close();
    await slow.close();
  });
  const r = await runWait([
    '--check',
    `tcp://127.0.0.1:${target.port}`,
    '--collector',
    slow.url,
    '--report-budget',
    '1500ms',
  ]);
  assert.equal(r.code, 0);
  assert.equal(slow.requests, 1, 'copies of the report sent');
  const delivered = r.logs.find((l) => l.msg === 'report delivered');
  assert.ok(delivered, JSON.stringify(r.logs));
  assert.equal(delivered.attempts, 1);
});

test('a 4xx is not retried: the collector will not take the report', async (t) => {
  const target = await startTcpListener();
  t.after(() => target.close());
  const { createServer } = await import('node:http');
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    req.resume();
    res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"pod.uid: expected string"}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const r = await runWait(['--check', `tcp://127.0.0.1:${target.port}`, '--collector', url]);
  assert.equal(r.code, 0);
  assert.equal(requests, 1);
  assert.match(r.logs.find((l) => l.level === 'warn')?.error, /collector answered 400: .*pod\.uid/);
});

test('a timeout is reported too, and exit 1 stays exit 1 when the collector is down', async () => {
  const r = await runWait([
    '--check',
    `tcp://127.0.0.1:${await freePort()}`,
    '--timeout',
    '300ms',
    '--collector',
    `http://127.0.0.1:${await freePort()}`,
    '--report-budget',
    '300ms',
  ]);
  assert.equal(r.code, 1);
  assert.ok(r.logs.some((l) => l.msg?.startsWith('report not delivered')));
});

test('--collector-token-file: the token goes in the Authorization header, is redacted in --dry-run, and a missing file exits 2', async (t) => {
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { createServer } = await import('node:http');
  const target = await startTcpListener();
  const seen: Array<string | undefined> = [];
  const server = createServer((req, res) => {
    seen.push(req.headers.authorization);
    req.resume();
    res.writeHead(req.headers.authorization === 'Bearer s3cret' ? 202 : 401).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(async () => {
    await target.close();
    await new Promise<void>((r) => server.close(() => r()));
  });
  const dir = mkdtempSync(join(tmpdir(), 'netready-token-'));
  writeFileSync(join(dir, 'token'), 's3cret\n');
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

  const r = await runWait(['--check', `tcp://127.0.0.1:${target.port}`, '--collector', url], {
    env: { NETREADY_COLLECTOR_TOKEN_FILE: join(dir, 'token') },
  });
  assert.equal(r.code, 0);
  assert.deepEqual(seen, ['Bearer s3cret']);
  assert.ok(r.logs.some((l) => l.msg === 'report delivered'));

  const dry = await runWait(['--dry-run', '--collector-token-file', join(dir, 'token')]);
  assert.equal(JSON.parse(dry.stdout).collectorToken, '(redacted)');
  assert.ok(!dry.stdout.includes('s3cret'));

  const missing = await runWait(['--collector-token-file', join(dir, 'nope')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--collector-token-file ".*nope": cannot read it \(ENOENT\)/);
});

test("the collector's name resolves through the checks' DNS client (--dns-server), not getaddrinfo", async (t) => {
  const target = await startTcpListener();
  const collector = await startCollectorStub();
  const dns = await startDnsServer({ 'collector.example.test': '127.0.0.1' });
  t.after(async () => {
    await target.close();
    await collector.close();
    await dns.close();
  });
  const url = collector.url.replace('127.0.0.1', 'collector.example.test.');
  const r = await runWait([
    '--check',
    `tcp://127.0.0.1:${target.port}`,
    '--collector',
    url,
    '--dns-server',
    dns.server,
  ]);
  assert.equal(r.code, 0);
  assert.ok(
    r.logs.some((l) => l.msg === 'report delivered'),
    r.stdout,
  );
  assert.equal(collector.reports.length, 1);
  assert.ok(dns.queries >= 1, 'the name was asked of the configured server');
});

test("a collector name that DNS never answers: the report budget holds, the checks' resolver was asked", async (t) => {
  const { createSocket } = await import('node:dgram');
  const target = await startTcpListener();
  // A DNS server that takes every query and answers none.
  const silent = createSocket('udp4');
  let queries = 0;
  silent.on('message', () => queries++);
  await new Promise<void>((r) => silent.bind(0, '127.0.0.1', r));
  t.after(async () => {
    await target.close();
    await new Promise<void>((r) => silent.close(() => r()));
  });
  const budgetMs = 800;
  const r = await runWait([
    '--check',
    `tcp://127.0.0.1:${target.port}`,
    '--collector',
    'http://collector.example.test.:9470',
    '--dns-server',
    `127.0.0.1:${silent.address().port}`,
    '--report-budget',
    `${budgetMs}ms`,
  ]);
  assert.equal(r.code, 0);
  const warning = r.logs.find((l) => l.msg?.startsWith('report not delivered'));
  assert.match(warning?.error, /report budget of 800 ms used up/, r.stdout);
  assert.ok(queries >= 1, 'the collector name was asked of --dns-server');
  const ready = r.logs.find((l) => l.msg?.startsWith('network ready'));
  const spent = Date.parse(warning!.time) - Date.parse(ready!.time);
  assert.ok(spent <= budgetMs + 700, `report took ${spent} ms`);
});
