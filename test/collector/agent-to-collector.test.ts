// The real agent (`netready wait`) reporting to the real collector
// (`netready collector`), both as child processes on loopback: the reports are
// stored, /metrics reflects them and passes promtool, and SIGTERM finishes a
// request in flight before the collector exits 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { run, runWait, type RunResult } from '../helpers/agent.ts';
import { freePort, startTcpListener } from '../helpers/servers.ts';
import { makeReport, postReport, promtoolCheck, samples, send, startCollector, tempDir } from './helpers.ts';

test('agents report to a running collector: stored, listed, and in /metrics per node and outcome', async (t) => {
  const dir = tempDir(t);
  const target = await startTcpListener();
  t.after(() => target.close());
  const c = await startCollector(t, ['--data-dir', dir]);
  const admittedAt = new Date(Date.now() - 2000).toISOString();
  const identity = (i: number, node: string) => ({
    NETREADY_POD_NAME: `web-${i}`,
    NETREADY_POD_NAMESPACE: 'shop',
    NETREADY_POD_UID: `9d3c1a7e-0000-4000-8000-00000000000${i}`,
    NETREADY_NODE_NAME: node,
    NETREADY_POD_IPS: '192.0.2.10',
    NETREADY_ADMITTED_AT: admittedAt,
  });
  // Delivery is what this test checks, not its budget (scenarios-faults does): one delivery from an
  // agent run from source has taken longer than the default 1 s on a loaded machine.
  const report = ['--collector', c.url, '--report-budget', '1m'];
  const [ready1, ready2, ...timedOut] = await Promise.all([
    runWait(['--check', `tcp://127.0.0.1:${target.port}`, ...report], { env: identity(1, 'node-a') }),
    runWait(['--check', `tcp://127.0.0.1:${target.port}`, ...report], { env: identity(2, 'node-b') }),
    timedOutAgents(await freePort(), report, (i) => identity(i, 'node-b')),
  ]).then(([a, b, runs]) => [a, b, ...runs]);
  const agents = [ready1!, ready2!, ...timedOut];
  assert.deepEqual(
    agents.map((a) => a.code),
    [0, 0, ...timedOut.map(() => 1)],
  );
  for (const a of agents)
    assert.ok(
      a.logs.some((l) => l.msg === 'report delivered'),
      a.stdout,
    );

  const pods = agents.map((_, i) => `web-${i + 1}`);
  const listed = (await send(c.url, { path: '/v1/reports?namespace=shop' })).json();
  assert.deepEqual(listed.reports.map((r: any) => r.report.pod.name).sort(), pods.sort());
  const timeouts = (await send(c.url, { path: '/v1/reports?outcome=timeout' })).json().reports;
  assert.equal(timeouts.length, timedOut.length);
  for (const r of timeouts) {
    assert.equal(r.report.pod.node, 'node-b');
    assert.equal(r.report.checks[0].kind, 'tcp');
  }

  const text = (await send(c.url, { path: '/metrics' })).text;
  const counts = samples(text, 'netready_ready_delay_seconds_count').map(
    (s) => `${s.labels.node}/${s.labels.outcome}=${s.value}`,
  );
  assert.deepEqual(counts.sort(), ['node-a/ready=1', 'node-b/ready=1', `node-b/timeout=${timedOut.length}`]);
  const fastest = samples(text, 'netready_ready_delay_seconds_bucket').find(
    (s) => s.labels.node === 'node-a' && s.labels.le === '5',
  );
  assert.equal(fastest!.value, 1, 'a loopback connect is ready well under 5 s');
  assert.deepEqual(samples(text, 'netready_reports_total'), [{ labels: {}, value: agents.length }]);
  assert.equal(
    samples(text, 'netready_admission_to_ready_seconds_count').length,
    2,
    'both ready pods carried the admission time',
  );
  // Ground truth: the refused attempts the timed-out agents themselves reported (the last one got some).
  const refused = timeouts.reduce((n: number, r: any) => n + (r.report.checks[0].errors.refused ?? 0), 0);
  assert.ok(refused > 0, JSON.stringify(timeouts.map((r: any) => r.report.checks[0])));
  const refusedSeries = samples(text, 'netready_check_errors_total').filter(
    (s) => s.labels.kind === 'tcp' && s.labels.class === 'refused',
  );
  assert.deepEqual(
    refusedSeries.map((s) => s.value),
    [refused],
  );
  assert.deepEqual(samples(text, 'netready_store_reports'), [{ labels: {}, value: agents.length }]);
  assert.match(text, /^process_resident_memory_bytes \d+/m);
  const lint = promtoolCheck(text);
  assert.equal(lint.output, '', lint.output);
  assert.equal(lint.code, 0);
  t.diagnostic(
    `timed-out agent runs: ${timeouts.map((r: any) => JSON.stringify(r.report.checks[0].errors)).join(', ')}`,
  );
});

/**
 * Runs `netready wait` against `port`, where nothing listens, until it times out with at least one
 * refused attempt in its report; pod i = 3, 4, ... --timeout counts from the process start, and a
 * start-up from source on a loaded machine has taken longer than 4 s by itself (4.2 s at load
 * average 10; the deadline then passes with the first attempt still in flight): each run that got
 * no answer at all before its deadline is followed by one with twice the time, up to 64 s.
 */
async function timedOutAgents(
  port: number,
  args: string[],
  identity: (i: number) => Record<string, string>,
): Promise<RunResult[]> {
  const runs: RunResult[] = [];
  for (let timeout = 4; timeout <= 64; timeout *= 2) {
    const r = await runWait(['--check', `tcp://127.0.0.1:${port}`, '--timeout', `${timeout}s`, ...args], {
      env: identity(3 + runs.length),
    });
    runs.push(r);
    const answered = r.logs.find((l) => l.level === 'error')?.checks?.[0]?.errors;
    if (r.code !== 1 || !answered || Object.keys(answered).length > 0) break;
  }
  return runs;
}

test('SIGTERM: a request in flight is finished and stored, idle connections do not hold the exit, exit 0 within seconds', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'reports.db');
  const c = await startCollector(t, ['--db', db]);
  // An idle keep-alive connection, as a load balancer or an agent pool leaves one.
  const keepAlive = new Agent({ keepAlive: true });
  t.after(() => keepAlive.destroy());
  assert.equal((await postReport(c.url, makeReport(1), {}, keepAlive)).status, 202);

  // Headers and half of the body now; the rest after SIGTERM.
  const body = JSON.stringify(makeReport(2));
  const socket = connect(c.port, '127.0.0.1');
  t.after(() => socket.destroy());
  let answer = '';
  socket.setEncoding('utf8').on('data', (d: string) => (answer += d));
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  await new Promise<void>((r) => socket.once('connect', () => r()));
  socket.write(
    `POST /v1/reports HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 100)}`,
  );
  await new Promise((r) => setTimeout(r, 100));

  const signalled = Date.now();
  c.child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(c.child.exitCode, null, 'still finishing the request in flight');
  socket.write(body.slice(100));
  await closed;
  assert.match(answer, /^HTTP\/1\.1 202 /);
  assert.match(answer, /connection: close/i, 'the answer tells the client to reconnect elsewhere');

  const { code } = await c.exited;
  assert.equal(code, 0);
  assert.ok(Date.now() - signalled < 3000, `exited ${Date.now() - signalled} ms after SIGTERM`);
  assert.ok(c.logs().some((l) => l.msg === 'collector stopped; store closed' && l.reports === 2));

  // Both reports are in the store when it opens again.
  const again = await startCollector(t, ['--db', db]);
  assert.deepEqual(
    (await send(again.url, { path: '/v1/reports' })).json().reports.map((r: any) => r.report.pod.name),
    ['web-2', 'web-1'],
  );
});

test('a second SIGTERM during the grace period: requests cut, the store closed, exit 143', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'reports.db');
  const c = await startCollector(t, ['--db', db]);
  assert.equal((await postReport(c.url, makeReport(1))).status, 202);
  assert.ok(existsSync(`${db}-wal`), 'the store is open in WAL mode');
  // A request that never finishes holds the 5 s grace period open.
  const socket = connect(c.port, '127.0.0.1');
  t.after(() => socket.destroy());
  socket.on('error', () => {});
  await new Promise<void>((r) => socket.once('connect', () => r()));
  socket.write(
    'POST /v1/reports HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{',
  );

  c.child.kill('SIGTERM');
  await waitForLog(c, 'stopping: finishing requests in flight');
  c.child.kill('SIGTERM');
  const { code, signal } = await c.exited;
  assert.deepEqual({ code, signal }, { code: 143, signal: null });
  assert.ok(c.logs().some((l) => l.msg === 'second signal: requests cut, store closed' && l.reports === 1));
  // Closed, not killed: the last connection's close checkpoints the WAL into the file and removes it.
  assert.equal(existsSync(`${db}-wal`), false, 'the WAL was checkpointed and removed');
  const again = await startCollector(t, ['--db', db]);
  assert.deepEqual(
    (await send(again.url, { path: '/v1/reports' })).json().reports.map((r: any) => r.report.pod.name),
    ['web-1'],
  );
});

/** Resolves once `c` has logged `msg` (polled; the test's timeout bounds it). */
async function waitForLog(c: { logs(): Array<Record<string, any>> }, msg: string): Promise<void> {
  while (!c.logs().some((l) => l.msg === msg)) await new Promise((r) => setTimeout(r, 20));
}

test('exit 1 with a hint when the port is taken or the store cannot be opened', async (t) => {
  const dir = tempDir(t);
  const first = await startCollector(t, ['--db', ':memory:']);
  const taken = await run(['collector', '--listen', `127.0.0.1:${first.port}`, '--db', ':memory:']);
  assert.equal(taken.code, 1);
  assert.ok(taken.logs.some((l) => l.level === 'error' && /cannot listen; check --listen/.test(l.msg)));
  // A directory where the database file should be.
  const notAFile = await run(['collector', '--listen', '127.0.0.1:0', '--db', dir]);
  assert.equal(notAFile.code, 1);
  assert.ok(notAFile.logs.some((l) => l.level === 'error' && /cannot open the store/.test(l.msg)));
});

test('--listen [::1]:0: an IPv6 literal in brackets; the agent reports over IPv6', async (t) => {
  const target = await startTcpListener();
  t.after(() => target.close());
  // The last --listen wins over the helper's 127.0.0.1:0.
  const c = await startCollector(t, ['--listen', '[::1]:0', '--db', ':memory:']);
  assert.ok(c.logs().some((l) => l.msg === 'collector listening' && l.listen === `[::1]:${c.port}`));
  const url = `http://[::1]:${c.port}`;
  // A generous budget: delivery is what this checks (see the first test).
  const agent = await runWait(
    ['--check', `tcp://127.0.0.1:${target.port}`, '--collector', url, '--report-budget', '1m'],
    {
      env: { NETREADY_NODE_NAME: 'v6-node' },
    },
  );
  assert.equal(agent.code, 0);
  assert.ok(
    agent.logs.some((l) => l.msg === 'report delivered'),
    agent.stdout,
  );
  assert.equal((await send(url, { path: '/v1/reports' })).json().reports[0].report.pod.node, 'v6-node');
});
